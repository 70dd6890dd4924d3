#pragma once
// Plain HTTP/1.1 calls from tests to a server on loopback.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPResponse.h>
#include <nlohmann/json.hpp>

namespace sluice::test {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;

    std::string header(const std::string& lowerCaseName) const;
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

using Headers = std::map<std::string, std::string>;

// A keep-alive session to one port; each call reuses the connection.
class HttpClient {
public:
    // tls: speak HTTPS without checking the certificate (test servers only).
    explicit HttpClient(int port, std::chrono::seconds timeout = std::chrono::seconds(30), bool tls = false);
    HttpResult get(const std::string& path, const Headers& headers = {});
    HttpResult post(const std::string& path, const std::string& body, const Headers& headers = {});
    HttpResult send(const std::string& method, const std::string& path, const std::string& body, const Headers& headers);

    // Starts a request and returns the open answer stream (for reading a stream as it comes).
    std::istream& open(const std::string& method, const std::string& path, const std::string& body,
                       Poco::Net::HTTPResponse& response, const Headers& headers = {});
    Poco::Net::HTTPClientSession& session() { return *_session; }

private:
    std::unique_ptr<Poco::Net::HTTPClientSession> _session;
};

HttpResult httpGet(int port, const std::string& path, const Headers& headers = {});
HttpResult httpPost(int port, const std::string& path, const std::string& body, const Headers& headers = {});

} // namespace sluice::test
