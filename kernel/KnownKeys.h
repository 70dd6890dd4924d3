#pragma once
// Which configuration keys exist: the kernel's own, and those each loaded
// plugin library declares (StageRegistry::declareKeys). A key nobody knows,
// in a section somebody knows, is a typo: `server.prot = 9090` would
// otherwise pass as "configuration OK" and serve on the default port.
//
// A section no one declares (`myvars.token`, a value other keys refer to
// with ${myvars.token}) is left alone, unless the key is a near miss of a
// known one (`sever.port`).

#include <string>
#include <string_view>
#include <vector>

#include <Poco/Util/AbstractConfiguration.h>

namespace sluice::kernel {

class KnownKeys {
public:
    // The keys the kernel itself reads, and a KnownKeys of only those; the
    // stages' subtrees (auth., limits., router., audit., discovery.) are
    // known sections whatever the loaded libraries declare.
    static const std::vector<std::string>& kernelPatterns();
    static KnownKeys kernel();

    // `pattern` is a full key; a `*` part matches any one part.
    void add(const std::string& pattern);
    void add(const std::vector<std::string>& patterns);

    bool knows(std::string_view key) const;
    // The known key (its `*` filled from `key`) closest to `key`, if it is
    // close enough to be what was meant; else "".
    std::string nearest(std::string_view key) const;

    // Throws ConfigError naming the first unknown key of `config` (and the
    // nearest known one). Keys are checked in sorted order, so the message is stable.
    void check(const Poco::Util::AbstractConfiguration& config) const;

private:
    bool sectionKnown(std::string_view key) const;

    std::vector<std::vector<std::string>> _patterns;  // each split at '.'
    std::vector<std::string> _sections;               // known even with no key declared in them
};

} // namespace sluice::kernel
