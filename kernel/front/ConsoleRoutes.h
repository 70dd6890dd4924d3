#pragma once
// The operator console's HTTP (docs/console.md): its pages, and its API
// under /console/api/. The kernel answers what it knows itself (sessions'
// cookies, the overview from the health it keeps, the model list, the
// playground's chat through the pipeline); the store's pages go to the
// ConsoleService sluiced was given.
//
// Who gets in: login runs the pipeline's own auth stage on the key sent,
// and lets in only a principal with the admin flag. Everything after rides
// a session cookie (HttpOnly, SameSite=Strict, Secure over TLS); every
// change also carries the session's CSRF token, a JSON body and, when the
// browser says, a same-origin Origin. Answers carry a Content-Security-Policy
// that allows no inline script, and never any CORS header.

#include <optional>
#include <string>
#include <string_view>

#include "../Gateway.h"
#include "../console/Console.h"
#include "PocoClientChannel.h"
#include "StageDriver.h"

namespace sluice::kernel {

class ConsoleRoutes {
public:
    ConsoleRoutes(Console& console, Gateway& gateway, Pipeline& pipeline, RequestContext& ctx, PocoClientChannel& client,
                  StageDriver& stages, std::string uri, bool secure)
        : _console(console), _gateway(gateway), _pipeline(pipeline), _ctx(ctx), _client(client), _stages(stages),
          _uri(std::move(uri)), _secure(secure) {}

    enum class Next {
        Answered,
        // The playground's chat: the front forwards `body` as a chat
        // completion, as ctx.principal (the session's), without auth.
        ForwardChat,
    };
    // `body` is the request's body, read whole (POST), else empty.
    Next serve(const std::string& body);

private:
    void serveFile(std::string_view relative);
    Next serveApi(std::string_view call, const std::string& body);
    void login();
    // The session the cookie names, if it is live; a store that cannot
    // answer has been answered for (nullopt, client.sent()).
    std::optional<ConsoleSession> session();
    // A change's guards: CSRF token, JSON body, same origin. Answers 403 when one fails.
    bool changeAllowed(const ConsoleSession& session);
    // The browser's own word that the request comes from the console's origin (or from no page).
    bool fromOwnOrigin() const;
    nlohmann::json overview();
    // Runs `work` off the I/O thread (it waits on the store); false after
    // answering 503 (stage threads busy) or 500 (the store failed).
    template <class Work>
    bool blocking(Work&& work);
    void replyJson(int status, const nlohmann::json& body);
    void refuse(int status, const std::string& code, const std::string& message);
    void setSessionCookie(const std::string& value, long long maxAgeSeconds);

    Console& _console;
    Gateway& _gateway;
    Pipeline& _pipeline;
    RequestContext& _ctx;
    PocoClientChannel& _client;
    StageDriver& _stages;
    std::string _uri;
    bool _secure;
};

} // namespace sluice::kernel
