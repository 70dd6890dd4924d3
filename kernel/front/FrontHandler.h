#pragma once
// The request path: classify, read and check the body, then run the stages
// in their fixed order (auth, limits, model policy, router), forward, and
// account. Every answer carries X-Request-ID; every error is in the client's
// protocol shape; an exception from a plugin becomes a 500, never a crash.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "../Gateway.h"

namespace sluice::kernel {

class FrontHandler final : public Poco::Net::HTTPRequestHandler {
public:
    explicit FrontHandler(Gateway& gateway) : _gateway(gateway) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

private:
    Gateway& _gateway;
};

class FrontHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit FrontHandlerFactory(Gateway& gateway) : _gateway(gateway) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new FrontHandler(_gateway);
    }

private:
    Gateway& _gateway;
};

// A request id the client sent, if it is sane (1-128 of [A-Za-z0-9._:-]); else a
// new one: 32 hex digits, the first 12 the milliseconds since the epoch.
std::string chooseRequestId(const std::string* offered);

} // namespace sluice::kernel
