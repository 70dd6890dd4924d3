#include "Exchange.h"

#include <utility>

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

namespace sluice::fake {

namespace {

std::string lowerCase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

}  // namespace

Exchange::Exchange(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                   const std::atomic<bool>& stopping)
    : _request(request), _response(response), _stopping(stopping) {
    if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request)) _socket = &impl->socket();
    const std::string& uri = request.getURI();
    try {
        _path = Poco::URI(uri).getPath();
    } catch (const Poco::Exception&) {
        _path = uri.substr(0, uri.find('?'));
    }
}

nlohmann::json Exchange::headersJson() const {
    nlohmann::json headers = nlohmann::json::object();
    for (auto it = _request.begin(); it != _request.end(); ++it) headers[lowerCase(it->first)] = it->second;
    return headers;
}

const std::string& Exchange::body() {
    if (_bodyRead) return _body;
    _bodyRead = true;
    // A POST with neither length nor chunking (curl -X POST without data) has
    // no body; reading to EOF would wait for the keep-alive connection to end.
    if (_request.hasContentLength() || _request.getChunkedTransferEncoding())
        Poco::StreamCopier::copyToString(_request.stream(), _body);
    return _body;
}

void Exchange::setHeader(const std::string& name, const std::string& value) { _response.set(name, value); }

void Exchange::sendJson(int status, const nlohmann::json& value, const HeaderList& extraHeaders) {
    for (const auto& [name, headerValue] : extraHeaders) _response.set(name, headerValue);
    sendText(status, value.dump(), "application/json; charset=utf-8");
}

void Exchange::sendText(int status, const std::string& text, const std::string& contentType) {
    _response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    _response.setContentType(contentType);
    _response.setContentLength64(static_cast<Poco::Int64>(text.size()));
    if (_beforeWhole) std::exchange(_beforeWhole, nullptr)();
    _response.sendBuffer(text.data(), text.size());
}

void Exchange::sendJsonThenClose(const nlohmann::json& value) {
    const auto text = value.dump();
    _response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
    _response.setContentType("application/json; charset=utf-8");
    _response.setContentLength64(static_cast<Poco::Int64>(text.size()));
    if (_beforeWhole) std::exchange(_beforeWhole, nullptr)();
    // Flushed here: Poco's sendBuffer would write it only after the handler,
    // and the close would come first.
    _out = &_response.send();
    _out->write(text.data(), static_cast<std::streamsize>(text.size()));
    closeGracefully();
    // Closed, not only shut: a request the gateway sends on this connection
    // must never be read (after a shutdown Poco's server could still read
    // one that came in time, and count it, though its answer could not go out).
    try {
        if (_socket) _socket->close();
    } catch (...) {
    }
}

void Exchange::beginStream(const std::string& contentType, bool closeDelimited) {
    _response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
    _response.setContentType(contentType);
    _response.set("Cache-Control", "no-cache");
    _response.setChunkedTransferEncoding(!closeDelimited);
    if (closeDelimited) _response.setKeepAlive(false);
    _out = &_response.send();
}

bool Exchange::writeEvent(const std::string& event, bool probePeer) {
    if (!_out || _aborted) return false;
    try {
        _out->write(event.data(), static_cast<std::streamsize>(event.size()));
        _out->flush();
    } catch (...) {
        return false;
    }
    return _out->good() && !(probePeer && clientGone());
}

void Exchange::closeGracefully() {
    if (_aborted) return;
    _aborted = true;
    try {
        if (_out) _out->flush();
        if (_socket) _socket->shutdown();
    } catch (...) {
    }
}

void Exchange::abort() {
    if (_aborted) return;
    _aborted = true;
    if (_out) {
        try {
            _out->flush();
        } catch (...) {
        }
    }
    if (!_socket) return;
    try {
        _socket->setLinger(true, 0);
    } catch (...) {
    }
    try {
        _socket->close();
    } catch (...) {
    }
}

bool Exchange::clientGone() {
    if (_aborted) return true;
    if (!_socket) return false;
    try {
        if (!_socket->poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR))
            return false;
        char probe = 0;
        return _socket->receiveBytes(&probe, 1, MSG_PEEK) <= 0;
    } catch (...) {
        return true;
    }
}

bool Exchange::waitWhileConnected(long long ms) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    while (!_stopping.load()) {
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
        if (left <= 0) return true;
        const long long slice = std::min<long long>(left, 100000);
        bool readable = false;
        if (_socket) {
            try {
                readable = _socket->poll(Poco::Timespan(slice), Poco::Net::Socket::SELECT_READ |
                                                                    Poco::Net::Socket::SELECT_ERROR);
            } catch (...) {
                return false;
            }
        } else {
            std::this_thread::sleep_for(std::chrono::microseconds(slice));
        }
        if (readable) {
            if (clientGone()) return false;
            // Pipelined bytes of a next request: not a departure, just wait.
            std::this_thread::sleep_for(std::chrono::microseconds(slice));
        }
    }
    return true;
}

}  // namespace sluice::fake
