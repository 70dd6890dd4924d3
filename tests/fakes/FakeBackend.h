#pragma once
// A scriptable stand-in for an Ollama, OpenAI-compatible or Anthropic server, so
// Sluice's tests need no real model: deterministic answers in their wire formats, fault
// rules posted at run time, and counters that let a test see what reached the
// backend (requests, connections, concurrency, cancelled streams).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include "Exchange.h"
#include "FakeStats.h"
#include "FaultRules.h"
#include "ModelCatalog.h"
#include "Routes.h"

namespace sluice::fake {

// The command line, parsed.
struct FakeOptions {
    std::string kind = "ollama";  // "ollama": /api/* and /v1/*; "openai": /v1/* only; "anthropic": Anthropic's /v1/*
    // The extra APIs served ("messages", "responses"); absent: the kind's
    // default (ollama: both, openai: none, anthropic: messages).
    std::optional<std::vector<std::string>> apis;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: the OS picks
    std::string name;        // empty: the kind
    ModelLists models;
    std::string token;  // empty: no authentication
    std::string authHeader;  // empty: Authorization; for kind anthropic x-api-key or Authorization (Bearer)
    std::string tlsCertificate;  // PEM files: when set, the fake speaks HTTPS
    std::string tlsKey;
    bool rejectPrefill = false;  // every chat ending with an assistant prefill is a 400
};

class FakeBackend {
public:
    explicit FakeBackend(FakeOptions options);
    ~FakeBackend();
    FakeBackend(const FakeBackend&) = delete;
    FakeBackend& operator=(const FakeBackend&) = delete;

    // Binds and starts serving; returns the bound port.
    std::uint16_t start();
    // Stops accepting and tells running streams and hangs to end.
    void stop();
    const FakeStats& stats() const { return _stats; }

    // Entry point of every HTTP request.
    void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

private:
    void handleControl(Exchange& exchange);
    void handleModelRoute(Exchange& exchange);
    bool authorized(const Exchange& exchange) const;

    FakeOptions _options;
    BackendKind _kind = BackendKind::Ollama;
    bool _servesMessages = false;   // POST /v1/messages
    bool _servesResponses = false;  // POST /v1/responses
    ModelCatalog _catalog;
    FaultRules _rules;
    FakeStats _stats;
    std::atomic<bool> _stopping{false};
    std::unique_ptr<Poco::ThreadPool> _pool;
    std::unique_ptr<Poco::Net::TCPServer> _server;
};

}  // namespace sluice::fake
