// header-auth: the caller is whoever the single sign-on proxy in front of
// Sluice says it is. The proxy (oauth2-proxy, Pomerium, an nginx auth_request
// setup…) signs the user in and passes the name in a header; this stage
// believes that header only on connections whose TCP peer is in
// auth.header.proxies, so a client that reaches Sluice directly, or through
// any other proxy, cannot name itself.
//
//   plugins.load = header-auth, discovery, router
//   pipeline.auth = header
//   auth.header.proxies = 10.0.0.5               # the SSO proxy: addresses, CIDR ranges
//   auth.header.user_header = x-forwarded-user   # the default
//   auth.header.tenant_header = x-forwarded-groups   # or: auth.header.tenant = sso
//   auth.header.models = llama3.2, qwen2.5       # empty: every model
//
// The proxy must drop these headers from what its clients send: it is the
// only writer of them that Sluice trusts.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "sluice/AddressRanges.h"
#include "sluice/ConfigError.h"
#include "sluice/Plugin.h"

namespace {

// The longest user or tenant name believed; a longer one is refused as a mistake.
constexpr std::size_t kMaxNameBytes = 256;

// HTTP header names are case-insensitive; the kernel hands them over lower-cased.
std::string headerName(const sluice::ConfigReader& reader, const std::string& key, const std::string& fallback) {
    auto name = reader.text(key, fallback);
    if (name.empty()) return name;
    for (auto& c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isalnum(u) && c != '-' && c != '_') throw sluice::ConfigError(reader.fullKey(key), "not a header name: " + name);
        c = static_cast<char>(std::tolower(u));
    }
    return name;
}

// A usable name: not empty, not too long, no control characters, and no
// comma: a proxy that merges a client's header line with its own sends
// "root, ada", and a comma list of groups names no single tenant.
bool plausible(const std::string& name) {
    return !name.empty() && name.size() <= kMaxNameBytes && std::none_of(name.begin(), name.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ',';
           });
}

// The proxies whose identity headers are believed. Not server.trusted_proxies:
// a load balancer trusted for X-Forwarded-For passes its clients' headers on.
sluice::AddressRanges signOnProxies(const sluice::ConfigReader& reader) {
    const auto entries = reader.list("header.proxies");
    if (entries.empty())
        throw sluice::ConfigError(reader.fullKey("header.proxies"), "must name the sign-on proxy's addresses");
    try {
        return sluice::AddressRanges(entries);
    } catch (const std::invalid_argument& e) {
        throw sluice::ConfigError(reader.fullKey("header.proxies"), e.what());
    }
}

class HeaderAuth final : public sluice::AuthStage {
public:
    explicit HeaderAuth(const sluice::StageSetup& setup)
        : _proxies(signOnProxies(setup.reader)),
          _userHeader(headerName(setup.reader, "header.user_header", "x-forwarded-user")),
          _tenantHeader(headerName(setup.reader, "header.tenant_header", "")),
          _fixedTenant(setup.reader.text("header.tenant", "sso")),
          _models(setup.reader.list("header.models")),
          _logPrompts(setup.reader.flag("header.log_prompts", false)),
          _accepted(count(setup, "accepted")),
          _untrustedPeer(count(setup, "untrusted_peer")),
          _missing(count(setup, "missing")) {
        if (_userHeader.empty()) throw sluice::ConfigError("auth.header.user_header", "must name a header");
        if (_tenantHeader.empty() && !plausible(_fixedTenant))
            throw sluice::ConfigError("auth.header.tenant", "must be a name of 1 to 256 printable characters, without a comma");
    }

    // Headers and memory only: the kernel may call it on the connection's
    // I/O thread, with no hop to a stage thread (sluice/Stages.h).
    bool mayBlock(const sluice::RequestContext&) const override { return false; }

    sluice::Verdict authenticate(sluice::RequestContext& ctx) override {
        if (!_proxies.contains(ctx.peerAddress)) {
            _untrustedPeer.inc();
            ctx.refuse(401, "sign in through the gateway's single sign-on proxy", "unauthenticated");
            return sluice::Verdict::Respond;
        }
        const auto user = single(ctx, _userHeader);
        const auto tenant = _tenantHeader.empty() ? _fixedTenant : single(ctx, _tenantHeader);
        if (!plausible(user) || !plausible(tenant)) {
            _missing.inc();
            ctx.refuse(401, "the sign-on proxy sent no usable identity", "unauthenticated");
            return sluice::Verdict::Respond;
        }
        sluice::Principal principal;
        principal.tenant = tenant;
        principal.keyId = user;  // audit and per-key limits count per signed-in user
        principal.allowAllModels = _models.empty();
        principal.allowedModels = _models;
        principal.logPrompts = _logPrompts;
        ctx.principal = std::move(principal);
        _accepted.inc();
        return sluice::Verdict::Continue;
    }

private:
    static sluice::Counter& count(const sluice::StageSetup& setup, const std::string& result) {
        return setup.services.metrics().counter("sluice_header_auth_total", "Identity header checks by result",
                                                {{"result", result}});
    }

    // The header's value when it appears exactly once, else "": two lines
    // mean a client's own header slipped past the proxy next to its one.
    static std::string single(const sluice::RequestContext& ctx, const std::string& name) {
        const std::string* found = nullptr;
        for (const auto& [header, value] : ctx.headers) {
            if (header != name) continue;
            if (found) return {};
            found = &value;
        }
        return found ? *found : std::string{};
    }

    const sluice::AddressRanges _proxies;
    const std::string _userHeader;
    const std::string _tenantHeader;  // "" when every user belongs to _fixedTenant
    const std::string _fixedTenant;
    const std::vector<std::string> _models;
    const bool _logPrompts;
    sluice::Counter& _accepted;
    sluice::Counter& _untrustedPeer;
    sluice::Counter& _missing;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("header", [](const sluice::StageSetup& setup) { return std::make_unique<HeaderAuth>(setup); });
    registry.declareKeys({"auth.header.user_header", "auth.header.tenant_header", "auth.header.tenant", "auth.header.models", "auth.header.proxies",
                          "auth.header.log_prompts"});
}

} // namespace

SLUICE_PLUGIN("header-auth", "1.0.0", registerStages)
