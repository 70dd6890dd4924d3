#pragma once
// One HTTP request and its answer, with the I/O moves a fake backend needs:
// plain answers with a Content-Length (so keep-alive survives), chunked
// streams flushed per event, abrupt TCP resets, and noticing a client that
// went away while the fake was sleeping or writing.

#include <atomic>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <nlohmann/json.hpp>

namespace sluice::fake {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class Exchange {
public:
    Exchange(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
             const std::atomic<bool>& stopping);

    const std::string& method() const { return _request.getMethod(); }
    // The decoded path, without the query string.
    const std::string& path() const { return _path; }
    std::string header(const std::string& name) const { return _request.get(name, ""); }
    // Every header, names lower-cased.
    nlohmann::json headersJson() const;
    // The whole request body, read on first call.
    const std::string& body();

    // Adds a header to the answer about to be sent.
    void setHeader(const std::string& name, const std::string& value);
    void sendJson(int status, const nlohmann::json& value, const HeaderList& extraHeaders = {});
    void sendText(int status, const std::string& text, const std::string& contentType = "text/plain; charset=utf-8");
    // A whole keep-alive answer, written out, then the connection closed at
    // once (fault rule close_when_idle).
    void sendJsonThenClose(const nlohmann::json& value);
    // Runs once, just before a whole answer's bytes are written.
    void beforeWholeAnswer(std::function<void()> hook) { _beforeWhole = std::move(hook); }

    // Sends the headers of a chunked answer; events follow with writeEvent().
    // closeDelimited: no chunking and no length; the body ends when the connection closes.
    void beginStream(const std::string& contentType, bool closeDelimited = false);
    // Ends the connection with a FIN (not a reset), as a backend that stopped cleanly would.
    void closeGracefully();
    // Writes one event as its own chunk; false when the write failed or
    // (with probePeer) the client has closed its end.
    bool writeEvent(const std::string& event, bool probePeer = true);

    // Closes the TCP connection with SO_LINGER 0: the peer sees a reset.
    void abort();
    // True when the peer closed or reset its end (checked without blocking).
    bool clientGone();
    // Sleeps up to `ms`, waking early if the client goes away (returns false)
    // or the server is stopping (returns true).
    bool waitWhileConnected(long long ms);

private:
    std::function<void()> _beforeWhole;
    Poco::Net::HTTPServerRequest& _request;
    Poco::Net::HTTPServerResponse& _response;
    const std::atomic<bool>& _stopping;
    Poco::Net::StreamSocket* _socket = nullptr;
    std::ostream* _out = nullptr;
    std::string _path;
    std::string _body;
    bool _bodyRead = false;
    bool _aborted = false;
};

}  // namespace sluice::fake
