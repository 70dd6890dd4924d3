#include "HttpClient.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

namespace sluice::test {

std::string HttpResult::header(const std::string& lowerCaseName) const {
    auto it = headers.find(lowerCaseName);
    return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(int port, std::chrono::seconds timeout, bool tls) {
    const auto address = static_cast<Poco::UInt16>(port);
    if (tls) {
        static const bool initialized = (Poco::Net::initializeSSL(), true);
        (void)initialized;
        static Poco::Net::Context::Ptr context =
            new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE);
        _session = std::make_unique<Poco::Net::HTTPSClientSession>("127.0.0.1", address, context);
    } else {
        _session = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", address);
    }
    _session->setKeepAlive(true);
    _session->setTimeout(Poco::Timespan(timeout.count(), 0));
}

std::istream& HttpClient::open(const std::string& method, const std::string& path, const std::string& body,
                               Poco::Net::HTTPResponse& response, const Headers& headers) {
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    for (const auto& [name, value] : headers) request.set(name, value);
    if (method == "POST" || !body.empty()) {
        if (!request.has("Content-Type")) request.setContentType("application/json");
        request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    _session->sendRequest(request) << body;
    return _session->receiveResponse(response);
}

HttpResult HttpClient::send(const std::string& method, const std::string& path, const std::string& body,
                            const Headers& headers) {
    Poco::Net::HTTPResponse response;
    auto& in = open(method, path, body, response, headers);
    HttpResult result;
    result.status = static_cast<int>(response.getStatus());
    for (const auto& [name, value] : response) result.headers[Poco::toLower(name)] = value;
    Poco::StreamCopier::copyToString(in, result.body);
    return result;
}

HttpResult HttpClient::get(const std::string& path, const Headers& headers) { return send("GET", path, "", headers); }
HttpResult HttpClient::post(const std::string& path, const std::string& body, const Headers& headers) {
    return send("POST", path, body, headers);
}

HttpResult httpGet(int port, const std::string& path, const Headers& headers) { return HttpClient(port).get(path, headers); }
HttpResult httpPost(int port, const std::string& path, const std::string& body, const Headers& headers) {
    return HttpClient(port).post(path, body, headers);
}

} // namespace sluice::test
