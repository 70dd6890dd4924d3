#pragma once
// sluicectl's command line: positional words, `--name value` / `--name=value`
// options and `--flag` switches, checked against what each command accepts,
// so a typo is one clear line and exit status 2 rather than a silent default.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluicectl {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Bad arguments; main prints "sluicectl: MESSAGE" and exits 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A command failed for a reason other than its arguments; exit 1.
class CommandFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CommandLine {
public:
    // Splits argv. Options that take a value are named in `valued`; every
    // other `--x` is a switch. Global options (--config, --json, --url) are
    // accepted anywhere.
    CommandLine(const std::vector<std::string>& args, const std::set<std::string>& valued);

    const std::vector<std::string>& words() const { return _words; }
    // The n-th positional word, or UsageError naming `what`.
    const std::string& word(std::size_t n, const std::string& what) const;
    std::optional<std::string> value(const std::string& name) const;
    bool has(const std::string& name) const;
    bool json() const { return has("--json"); }
    // --config FILE, else SLUICE_CONFIG; UsageError saying the command needs
    // it to find `what` ("the store", "the backends").
    std::string configPath(const std::string& what) const;

    // Refuses options and extra words the command does not take.
    void allow(const std::string& command, const std::set<std::string>& options, std::size_t maxWords) const;

    // --name N as a whole number in [min, max].
    std::optional<std::int64_t> number(const std::string& name, std::int64_t min, std::int64_t max) const;
    // --name on|off.
    std::optional<bool> onOff(const std::string& name) const;
    // --name a,b,c (trimmed, empties dropped; at least one).
    std::optional<std::vector<std::string>> list(const std::string& name) const;

private:
    std::vector<std::string> _words;
    std::map<std::string, std::string> _values;
    std::set<std::string> _switches;
};

} // namespace sluicectl
