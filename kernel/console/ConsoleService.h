#pragma once
// What the operator console needs from the store, as the kernel sees it:
// sessions, and the pages that read or change tenants, keys and the audit
// trail. The kernel serves the console's HTTP (front/ConsoleRoutes) and
// stays free of the store; sluiced's main hands it an implementation
// (admin/StoreConsole), the same code sluicectl changes the store with.
//
// Thread: any; every call may block on the store, so the kernel makes them
// off its I/O threads.

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Principal.h"

namespace sluice::kernel {

// A console session: who opened it, and the token every change must carry.
struct ConsoleSession {
    std::string keyId;
    std::string tenant;
    std::string csrf;
    Principal principal;  // rebuilt from the store at each call: a revoked key ends the session
};

struct OpenedSession {
    std::string token;  // the cookie's value; the store keeps only its digest
    std::string csrf;
};

// One call of /console/api/ that the store answers.
struct ConsoleCall {
    std::string method;                        // GET or POST
    std::string path;                          // after /console/api/: "keys", "keys/k_1/revoke", ...
    std::map<std::string, std::string> query;  // decoded
    nlohmann::json body;                       // POST: the JSON object sent
    std::string clientAddress;
};

struct ConsoleReply {
    int status = 200;
    nlohmann::json body;  // errors: {"error": {"code", "message"}}
};

class ConsoleService {
public:
    virtual ~ConsoleService() = default;

    // A new session for `admin`, whom the auth stage has just let in.
    virtual OpenedSession open(const Principal& admin, const std::string& clientAddress) = 0;
    // The live session `token` names, when its key may still open the
    // console (an admin, enabled, not revoked or expired); extends it.
    virtual std::optional<ConsoleSession> resume(const std::string& token) = 0;
    virtual void close(const std::string& token) = 0;
    // tenants, keys, usage and requests: read, and changed on behalf of `who`.
    virtual ConsoleReply call(const ConsoleCall& call, const ConsoleSession& who) = 0;
};

} // namespace sluice::kernel
