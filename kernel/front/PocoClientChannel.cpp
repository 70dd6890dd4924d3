#include "PocoClientChannel.h"

#include <algorithm>
#include <utility>

#include <Poco/Net/StreamSocket.h>

#include "dialect/ErrorBody.h"
#include "http/FieldNames.h"

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
    // Only this names them, once per answer: straight into the head.
    _response.addOwnField("X-Request-ID", _ctx.requestId);
    if (!_ctx.servedBackend.empty()) {
        _response.addOwnField("X-Sluice-Backend", _ctx.servedBackend);
        _response.addOwnField("X-Sluice-Model", _ctx.servedModel);
        // How hard it was to get: an operator (or a client's log) sees a
        // provider that needed retries or a fallback without the audit trail.
        _response.addOwnField("X-Sluice-Failovers", std::to_string(_ctx.failovers));
        _response.addOwnField("X-Sluice-Retries", std::to_string(_ctx.retries));
    }
    // The stages' and CORS's: of a name given twice the last stands, and
    // one the answer has in Poco's fields already is replaced there; the
    // rest go straight into the head. With the limits' six X-RateLimit-*
    // fields, set() for each was 23,000 instructions a request.
    const auto& fields = _ctx.responseHeaders;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& [name, value] = fields[i];
        const auto sameName = [&name](const std::string& other) { return sameFieldName(other, name); };
        if (std::any_of(fields.begin() + static_cast<std::ptrdiff_t>(i) + 1, fields.end(),
                        [&](const auto& later) { return sameName(later.first); }))
            continue;
        const bool answerHasIt = std::any_of(_response.begin(), _response.end(), [&](const auto& field) { return sameName(field.first); });
        if (answerHasIt) _response.set(name, value);
        else _response.addOwnField(name, value);
    }
}

} // namespace sluice::kernel
