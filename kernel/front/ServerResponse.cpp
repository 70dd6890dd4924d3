#include "ServerResponse.h"

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

namespace sluice::kernel {

ServerResponse::ServerResponse(Poco::Net::HTTPServerSession& session) : _session(session) {}

ServerResponse::~ServerResponse() = default;

bool ServerResponse::bodyless() const {
    return _head || getStatus() < 200 || getStatus() == HTTP_NO_CONTENT || getStatus() == HTTP_NOT_MODIFIED;
}

void ServerResponse::sendContinue() {
    Poco::Net::HTTPHeaderOutputStream out(_session);
    out << getVersion() << " 100 Continue\r\n\r\n";
}

std::ostream& ServerResponse::send() {
    poco_assert(!_stream);
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
    poco_assert(!_stream);
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
    poco_assert(!_stream);
    setContentLength64(static_cast<Poco::Int64>(length));
    setChunkedTransferEncoding(false);
    _stream = std::make_unique<Poco::Net::HTTPHeaderOutputStream>(_session);
    write(*_stream);
    if (!bodyless()) _stream->write(static_cast<const char*>(buffer), static_cast<std::streamsize>(length));
    _stream->flush();
}

void ServerResponse::redirect(const std::string& uri, HTTPStatus status) {
    poco_assert(!_stream);
    setContentLength(0);
    setChunkedTransferEncoding(false);
    setStatusAndReason(status);
    set("Location", uri);
    _stream = std::make_unique<Poco::Net::HTTPHeaderOutputStream>(_session);
    write(*_stream);
}

void ServerResponse::requireAuthentication(const std::string& realm) {
    poco_assert(!_stream);
    setStatusAndReason(HTTP_UNAUTHORIZED);
    set("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
}

} // namespace sluice::kernel
