#pragma once
// The pipeline's stage interfaces, in the order the kernel runs them:
// auth -> limits -> (model policy, in the kernel) -> router -> forward -> audit.
// Discovery runs in the background. Each stage is created once per pipeline
// by its factory and shared by all request threads: it must be thread-safe
// and keep per-request state in the RequestContext only.
//
// Where the calls run: a request is served on its connection's I/O thread,
// which serves many connections; a call that may block (a store read, a
// Redis round trip, an argon2 verify) is made on a stage thread instead
// (server.stage_threads), and the request comes back after. A stage says
// which calls may block with mayBlock(); one request's calls may come from
// different threads (docs/plugins.md, "Threads").

#include <chrono>
#include <string>
#include <vector>

#include "sluice/Abi.h"
#include "sluice/AuditRecord.h"
#include "sluice/Backend.h"
#include "sluice/Catalog.h"
#include "sluice/RequestContext.h"
#include "sluice/Verdict.h"

namespace sluice {

// Establishes who is calling. Sets ctx.principal and returns Continue, or
// sets ctx.reply (401) and returns Respond. Thread: request threads; may
// block briefly (a store lookup), never on the network for long.
class SLUICE_API AuthStage {
public:
    virtual ~AuthStage();
    virtual Verdict authenticate(RequestContext& ctx) = 0;
    // Whether authenticate() may block for this request. Say false only
    // when the call returns at once (a key found in a cache): a call that
    // blocks on an I/O thread stalls every connection that thread serves.
    // Default: true. Called just before authenticate(); must not block.
    virtual bool mayBlock(const RequestContext& ctx) const;
};

// Admits or refuses (429 with Retry-After in ctx.responseHeaders).
// complete() is called exactly once for every request admit() let through,
// when its answer ends however it ends, with ctx.usage filled: the place to
// release a concurrency lease and charge tokens. For a whole (not streamed)
// answer it runs just before the answer's bytes go out, so a client that
// sends its next request at once finds the lease free. Thread: request threads.
class SLUICE_API LimitsStage {
public:
    virtual ~LimitsStage();
    virtual Verdict admit(RequestContext& ctx) = 0;
    virtual void complete(RequestContext& ctx) noexcept = 0;
    // Whether admit() and complete() may block for this request (as
    // AuthStage::mayBlock says). Default: true. Must not block.
    virtual bool mayBlock(const RequestContext& ctx) const;
};

// Turns ctx.model into ctx.plan: candidates in the order to try them.
// An empty plan means no backend can serve it (the kernel answers 403
// "model not allowed", the same body as a policy refusal). Thread: request
// threads, an I/O thread among them. Must not block: read snapshots
// (catalog, health) only.
class SLUICE_API RouterStage {
public:
    virtual ~RouterStage();
    virtual Verdict route(RequestContext& ctx) = 0;
};

struct SinkResult {
    bool ok = true;
    std::string error;  // why the batch was not written; the writer retries it
};

// Stores finished request records. Thread: the kernel's audit writer thread
// for this sink only, never a request thread; may block on its database or
// disk. write() must be idempotent by requestId: after a failure, or when
// records spilled to disk are replayed, a batch may come again, and a record
// already stored must not be stored twice.
class SLUICE_API AuditSink {
public:
    virtual ~AuditSink();
    virtual SinkResult write(const std::vector<AuditRecord>& batch) = 0;
    // Housekeeping, called by the same thread about once a minute while it is
    // idle: purging what is past retention, in small batches. Default: none.
    virtual void maintain(std::chrono::system_clock::time_point now);
};

struct DiscoveryResult {
    bool ok = false;
    std::string error;  // for logs; must not contain the backend's token
    std::vector<ModelEntry> models;
    std::vector<ModelEntry> loaded;
};

// Asks one backend which models it hosts and which are loaded. Thread: the
// kernel's discovery threads, one call per backend per tick, in parallel;
// must return within `timeout`.
class SLUICE_API DiscoverySource {
public:
    virtual ~DiscoverySource();
    virtual DiscoveryResult poll(const Backend& backend, std::chrono::milliseconds timeout) = 0;
};

} // namespace sluice
