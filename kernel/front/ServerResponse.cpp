#include "ServerResponse.h"

#include <streambuf>
#include <string>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Net/HTTPFixedLengthStream.h>
#include <Poco/Net/HTTPHeaderStream.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/HTTPStream.h>
#include <Poco/StreamCopier.h>

#include "ClientSession.h"
#include "http/StreamPump.h"

namespace sluice::kernel {

// A chunked body over the session: each flush is one chunk and one write,
// and the answer's head waits for the first of them, so a stream's head
// and first frame leave in one send (Poco's header and chunked streams
// made two, and cut a frame past their 4 KiB buffer into more chunks and
// sends). The last chunk goes when the stream closes.
namespace {
class ChunkedBody final : public std::streambuf {
public:
    ChunkedBody(ClientSession& session, std::string head) : _session(session), _wire(std::move(head)) {}

    // Bytes framed as chunks already (a parked relay's last): they go with
    // the next chunk, or with the last.
    void hold(std::string framed) { _wire.append(framed); }

    // The last chunk, after what is pending. Once only; never throws.
    void close() {
        if (_closed) return;
        _closed = true;
        framePending();
        _wire.append("0\r\n\r\n");
        sendWire();
    }

protected:
    std::streamsize xsputn(const char* bytes, std::streamsize count) override {
        _chunk.append(bytes, static_cast<std::size_t>(count));
        return count;
    }

    int_type overflow(int_type byte) override {
        if (traits_type::eq_int_type(byte, traits_type::eof())) return traits_type::not_eof(byte);
        _chunk.push_back(traits_type::to_char_type(byte));
        return byte;
    }

    int sync() override {
        framePending();
        return sendWire() ? 0 : -1;
    }

private:
    // What was written since the last flush, as one chunk for the wire.
    void framePending() {
        appendChunk(_wire, _chunk);
        _chunk.clear();
    }

    bool sendWire() {
        if (_failed) return false;
        if (_wire.empty()) return true;
        try {
            _session.sendAll(_wire);
        } catch (...) {
            _failed = true;  // the client is gone: the stream goes bad, as Poco's did
            return false;
        }
        _wire.clear();
        return true;
    }

    ClientSession& _session;
    std::string _wire;   // for the socket: the head until the first chunk, then each chunk
    std::string _chunk;  // written since the last flush
    bool _failed = false;
    bool _closed = false;
};
} // namespace

class ServerResponse::ChunkedBodyStream final : public std::ostream {
public:
    ChunkedBodyStream(ClientSession& session, std::string head) : std::ostream(nullptr), _body(session, std::move(head)) {
        rdbuf(&_body);
    }
    ~ChunkedBodyStream() override { _body.close(); }

    void hold(std::string framed) { _body.hold(std::move(framed)); }

private:
    ChunkedBody _body;
};

ServerResponse::ServerResponse(ClientSession& session) : _session(session) {}

ServerResponse::~ServerResponse() = default;

bool ServerResponse::bodyless() const {
    return _head || getStatus() < 200 || getStatus() == HTTP_NO_CONTENT || getStatus() == HTTP_NOT_MODIFIED;
}

void ServerResponse::sendContinue() {
    Poco::Net::HTTPHeaderOutputStream out(_session);
    out << getVersion() << " 100 Continue\r\n\r\n";
}

std::ostream& ServerResponse::send() {
    poco_assert(!sent());
    if (bodyless()) {
        // A stream exactly as long as the head: whatever the handler writes after it is dropped.
        sendFixedLength(0);
    } else if (getChunkedTransferEncoding()) {
        std::string head;
        appendHead(head);
        auto chunked = std::make_unique<ChunkedBodyStream>(_session, std::move(head));
        _chunkedBody = chunked.get();
        _stream = std::move(chunked);
    } else if (hasContentLength()) {
        sendFixedLength(static_cast<std::uint64_t>(getContentLength64()));
    } else {
        // No length and not chunked: the end of the body is the end of the connection.
        _stream = std::make_unique<Poco::Net::HTTPOutputStream>(_session);
        setKeepAlive(false);
        writeHead(*_stream);
    }
    return *_stream;
}

void ServerResponse::sendFixedLength(std::uint64_t bodyBytes) {
    std::string head;
    appendHead(head);
    _stream = std::make_unique<Poco::Net::HTTPFixedLengthOutputStream>(_session, bodyBytes + head.size());
    *_stream << head;
}

void ServerResponse::sendFile(const std::string& path, const std::string& mediaType) {
    poco_assert(!sent());
    Poco::File file(path);
    set("Last-Modified", Poco::DateTimeFormatter::format(file.getLastModified(), Poco::DateTimeFormat::HTTP_FORMAT));
    setContentLength64(static_cast<Poco::Int64>(file.getSize()));
    setContentType(mediaType);
    setChunkedTransferEncoding(false);
    Poco::FileInputStream in(path);
    if (!in.good()) throw Poco::OpenFileException(path);
    _stream = std::make_unique<Poco::Net::HTTPHeaderOutputStream>(_session);
    writeHead(*_stream);
    if (!bodyless()) Poco::StreamCopier::copyStream(in, *_stream);
}

void ServerResponse::sendBuffer(const void* buffer, std::size_t length) {
    poco_assert(!sent());
    setContentLength64(static_cast<Poco::Int64>(length));
    setChunkedTransferEncoding(false);
    // The head as HTTPResponse::write words it, and the body, in one string
    // and one write: every whole answer comes here, and Poco's stream cost
    // an allocation, a locale and a formatted insertion per field.
    std::string wire;
    wire.reserve(256 + length);
    appendHead(wire);
    if (!bodyless()) wire.append(static_cast<const char*>(buffer), length);
    _sentWhole = true;
    try {
        _session.sendAll(wire);
    } catch (...) {
        // As Poco's stream did: a client that is gone fails its write
        // quietly; the request still ends (and is audited), and the
        // connection's next read finds it closed.
    }
}

void ServerResponse::finishBody() {
    if (!_chunkedBody && _stream && !_stream->bad()) _stream->flush();
}

void ServerResponse::holdChunks(std::string framed) {
    if (_chunkedBody && !framed.empty()) _chunkedBody->hold(std::move(framed));
}

void ServerResponse::addOwnField(std::string_view name, std::string_view value) {
    _ownFields.append(name).append(": ").append(value).append("\r\n");
}

void ServerResponse::appendHead(std::string& wire) const {
    wire.append(getVersion()).append(" ").append(std::to_string(static_cast<int>(getStatus()))).append(" ").append(getReason());
    wire.append("\r\n");
    for (const auto& [name, value] : *this) wire.append(name).append(": ").append(value).append("\r\n");
    wire.append(_ownFields);
    wire.append("\r\n");
}

void ServerResponse::writeHead(std::ostream& out) const {
    std::string head;
    appendHead(head);
    out << head;
}

void ServerResponse::redirect(const std::string& uri, HTTPStatus status) {
    poco_assert(!sent());
    setContentLength(0);
    setChunkedTransferEncoding(false);
    setStatusAndReason(status);
    set("Location", uri);
    _stream = std::make_unique<Poco::Net::HTTPHeaderOutputStream>(_session);
    writeHead(*_stream);
}

void ServerResponse::requireAuthentication(const std::string& realm) {
    poco_assert(!sent());
    setStatusAndReason(HTTP_UNAUTHORIZED);
    set("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
}

} // namespace sluice::kernel
