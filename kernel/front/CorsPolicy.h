#pragma once
// Which browser origins may call the gateway (`server.cors.origins`: a comma
// list of origins such as https://chat.example.com, or `*` for any), and the
// headers that say so. Without the key no CORS header is ever sent, so
// browsers keep pages of other origins out, as they do for any API.
// Immutable once built; read by request threads without locks.

#include <string>
#include <utility>
#include <vector>

namespace sluice::kernel {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsPolicy {
public:
    CorsPolicy() = default;
    // Throws std::invalid_argument naming an entry that is not an origin.
    explicit CorsPolicy(const std::vector<std::string>& origins);

    bool enabled() const { return _any || !_origins.empty(); }
    // False for every origin when none is configured.
    bool allows(const std::string& origin) const;

    // For an ordinary answer to an allowed origin: who may read it, and the
    // gateway's own headers a page may see.
    HeaderList answerHeaders(const std::string& origin) const;
    // For a preflight (OPTIONS with Access-Control-Request-Method) from an
    // allowed origin: the methods, the requested headers (as asked, minus
    // anything that is not a header name), and how long to cache it.
    HeaderList preflightHeaders(const std::string& origin, const std::string& requestedHeaders) const;

private:
    bool _any = false;
    std::vector<std::string> _origins;  // lower case, no trailing slash
};

} // namespace sluice::kernel
