#include "PocoClientChannel.h"

#include <utility>

#include <Poco/Net/StreamSocket.h>

#include "dialect/ErrorBody.h"

namespace sluice::kernel {

PocoClientChannel::PocoClientChannel(ServerRequest& request, ServerResponse& response, RequestContext& ctx)
    : _response(response), _ctx(ctx), _relays(request.parkedRelays()) {
    try {
        _fd = request.socket().impl()->sockfd();
    } catch (...) {
        _fd = -1;
    }
}

void PocoClientChannel::sendWhole(int status, const std::string& contentType, std::string_view body) {
    // The limits stage gives its lease back first: a client that sends its
    // next request the moment it reads this answer must find it free.
    if (_beforeWhole) std::exchange(_beforeWhole, nullptr)();
    prepare(status, contentType);
    _response.sendBuffer(body.data(), body.size());  // it sets the length
    _sent = true;
}

bool PocoClientChannel::startStream(int status, const std::string& contentType) {
    prepare(status, contentType);
    _response.setChunkedTransferEncoding(true);
    _response.set("Cache-Control", "no-cache");
    _out = &_response.send();
    _sent = true;
    return _out->good();
}

bool PocoClientChannel::writeStream(std::string_view bytes) {
    if (!_out || _out->bad()) return false;
    _out->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    _out->flush();
    return !_out->bad();
}

void PocoClientChannel::endStream() { _response.finishBody(); }

bool PocoClientChannel::relayParked(StreamPump& pump) {
    // The relay writes HTTP chunks to the socket itself, after the ones this
    // stream wrote (flushed: the head too, if no chunk took it yet), and
    // the stream writes the last chunk after it, as the response goes.
    if (!_relays || !_out || _out->bad() || !_response.getChunkedTransferEncoding() || _ctx.method == "HEAD") return false;
    _out->flush();
    if (!_relays->relayParked(pump)) return false;
    _response.holdChunks(std::move(pump.unsent));
    return true;
}

void PocoClientChannel::replyError(int status, const std::string& message, const std::string& code) {
    _ctx.status = status;
    sendWhole(status, "application/json", errorBody(_ctx.route.protocol, status, message, code));
}

void PocoClientChannel::prepare(int status, const std::string& contentType) {
    if (_beforeAnswer) std::exchange(_beforeAnswer, nullptr)();
    _response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    _response.setContentType(contentType);
    // Added, not set: only this names them, once per answer, and set()
    // searches the fields so far for each (a case-insensitive compare each).
    _response.add("X-Request-ID", _ctx.requestId);
    if (!_ctx.servedBackend.empty()) {
        _response.add("X-Sluice-Backend", _ctx.servedBackend);
        _response.add("X-Sluice-Model", _ctx.servedModel);
        // How hard it was to get: an operator (or a client's log) sees a
        // provider that needed retries or a fallback without the audit trail.
        _response.add("X-Sluice-Failovers", std::to_string(_ctx.failovers));
        _response.add("X-Sluice-Retries", std::to_string(_ctx.retries));
    }
    // The stages' and CORS's may name one twice: the last one stands.
    for (const auto& [name, value] : _ctx.responseHeaders) _response.set(name, value);
}

} // namespace sluice::kernel
