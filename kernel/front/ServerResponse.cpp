#include "ServerResponse.h"

#include <string>

#include <Poco/CountingStream.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Net/HTTPChunkedStream.h>
#include <Poco/Net/HTTPFixedLengthStream.h>
#include <Poco/Net/HTTPHeaderStream.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/HTTPStream.h>
#include <Poco/StreamCopier.h>

#include "ClientSession.h"

namespace sluice::kernel {

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
        Poco::CountingOutputStream counter;
        write(counter);
        _stream = std::make_unique<Poco::Net::HTTPFixedLengthOutputStream>(_session, counter.chars());
        write(*_stream);
    } else if (getChunkedTransferEncoding()) {
        Poco::Net::HTTPHeaderOutputStream head(_session);
        write(head);
        _stream = std::make_unique<Poco::Net::HTTPChunkedOutputStream>(_session);
    } else if (hasContentLength()) {
        Poco::CountingOutputStream counter;
        write(counter);
        _stream = std::make_unique<Poco::Net::HTTPFixedLengthOutputStream>(_session, getContentLength64() + counter.chars());
        write(*_stream);
    } else {
        // No length and not chunked: the end of the body is the end of the connection.
        _stream = std::make_unique<Poco::Net::HTTPOutputStream>(_session);
        setKeepAlive(false);
        write(*_stream);
    }
    return *_stream;
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
    write(*_stream);
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
    wire.append(getVersion()).append(" ").append(std::to_string(static_cast<int>(getStatus()))).append(" ").append(getReason());
    wire.append("\r\n");
    for (const auto& [name, value] : *this) wire.append(name).append(": ").append(value).append("\r\n");
    wire.append("\r\n");
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

void ServerResponse::redirect(const std::string& uri, HTTPStatus status) {
    poco_assert(!sent());
    setContentLength(0);
    setChunkedTransferEncoding(false);
    setStatusAndReason(status);
    set("Location", uri);
    _stream = std::make_unique<Poco::Net::HTTPHeaderOutputStream>(_session);
    write(*_stream);
}

void ServerResponse::requireAuthentication(const std::string& realm) {
    poco_assert(!sent());
    setStatusAndReason(HTTP_UNAUTHORIZED);
    set("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
}

} // namespace sluice::kernel
