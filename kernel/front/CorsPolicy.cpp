#include "CorsPolicy.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace sluice::kernel {

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// scheme://host[:port], nothing after it: what a browser sends in Origin.
bool looksLikeOrigin(const std::string& origin) {
    const auto scheme = origin.find("://");
    if (scheme == std::string::npos || scheme == 0) return false;
    const auto rest = origin.substr(scheme + 3);
    if (rest.empty() || rest.find_first_of("/?#@ ") != std::string::npos) return false;
    return origin.compare(0, scheme, "http") == 0 || origin.compare(0, scheme, "https") == 0;
}

bool tokenChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; }

} // namespace

CorsPolicy::CorsPolicy(const std::vector<std::string>& origins) {
    for (const auto& entry : origins) {
        if (entry == "*") {
            _any = true;
            continue;
        }
        auto origin = lower(entry);
        while (!origin.empty() && origin.back() == '/') origin.pop_back();
        if (!looksLikeOrigin(origin)) throw std::invalid_argument("'" + entry + "' is not an origin (https://host[:port], or *)");
        _origins.push_back(origin);
    }
}

bool CorsPolicy::allows(const std::string& origin) const {
    if (origin.empty() || origin.size() > 512) return false;
    if (_any) return true;
    return std::find(_origins.begin(), _origins.end(), lower(origin)) != _origins.end();
}

HeaderList CorsPolicy::answerHeaders(const std::string& origin) const {
    // The origin itself rather than *: correct with or without credentials,
    // and Vary keeps shared caches from serving one origin's answer to another.
    return {{"Access-Control-Allow-Origin", origin},
            {"Vary", "Origin"},
            {"Access-Control-Expose-Headers", "X-Request-ID, X-Sluice-Backend, X-Sluice-Model, Retry-After"}};
}

HeaderList CorsPolicy::preflightHeaders(const std::string& origin, const std::string& requestedHeaders) const {
    // Clients add headers of their own (the OpenAI SDK's x-stainless-*), so
    // the requested list is allowed as asked, names only.
    std::string allowed;
    std::string name;
    auto flush = [&] {
        if (!name.empty() && name.size() <= 64) allowed += (allowed.empty() ? "" : ", ") + name;
        name.clear();
    };
    bool bad = false;
    for (const char c : requestedHeaders.substr(0, 4096)) {
        if (c == ',') {
            if (!bad) flush();
            name.clear();
            bad = false;
        } else if (c == ' ' || c == '\t') {
            continue;
        } else if (tokenChar(static_cast<unsigned char>(c))) {
            name += c;
        } else {
            bad = true;
        }
    }
    if (!bad) flush();
    HeaderList headers{{"Access-Control-Allow-Origin", origin},
                       {"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
                       {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                       {"Access-Control-Max-Age", "600"}};
    if (!allowed.empty()) headers.emplace_back("Access-Control-Allow-Headers", allowed);
    return headers;
}

} // namespace sluice::kernel
