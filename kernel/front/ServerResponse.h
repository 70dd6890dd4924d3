#pragma once
// The answer side of one request (front/RequestServer): Poco's
// HTTPServerResponseImpl, made to work without Poco's HTTPServerRequestImpl.
//
// Why not HTTPServerResponseImpl itself: it learns the request method only
// through attachRequest(HTTPServerRequestImpl*), and without an attached
// request its sendBuffer() writes the headers but never the body (measured on
// Poco 1.11). Our ServerRequest is not an HTTPServerRequestImpl, so the
// connection tells this class about HEAD itself.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerResponse.h>

namespace sluice::kernel {

class ClientSession;

class ServerResponse final : public Poco::Net::HTTPServerResponse {
public:
    // Ownership: the session outlives the response (both live in RequestServer::serveOne).
    explicit ServerResponse(ClientSession& session);
    ~ServerResponse() override;

    // An answer to HEAD: headers only, whatever the handler writes.
    void setHeadRequest(bool head) { _head = head; }

    void sendContinue() override;
    std::ostream& send() override;
    void sendFile(const std::string& path, const std::string& mediaType) override;
    void sendBuffer(const void* buffer, std::size_t length) override;
    void redirect(const std::string& uri, HTTPStatus status = HTTP_FOUND) override;
    void requireAuthentication(const std::string& realm) override;
    bool sent() const override { return _stream != nullptr || _sentWhole; }
    // The body is all written. A chunked one keeps what is pending for its
    // last chunk, which goes when this response goes, in one write: after
    // the request's limits are settled, so a client that reads the end and
    // sends its next request at once finds them so. Another is flushed.
    void finishBody();
    // A field only the gateway names, written straight into the head's
    // text: Poco's collection searches its fields case-insensitively on
    // every add as on every set (about 2,300 instructions each, and
    // sluice-full names eleven an answer). Not seen by get() or has().
    void addOwnField(std::string_view name, std::string_view value);
    // Bytes framed as chunks (a parked relay's last): they go out with the
    // body's next chunk, or with its last. Dropped unless the body is chunked.
    void holdChunks(std::string framed);

private:
    bool bodyless() const;
    // The head as HTTPResponse::write words it (status line, fields, blank
    // line), with the own fields after Poco's; every head goes out this way.
    void appendHead(std::string& wire) const;
    void writeHead(std::ostream& out) const;
    // _stream: the head, then up to `bodyBytes` of body; what is written past them is dropped.
    void sendFixedLength(std::uint64_t bodyBytes);

    ClientSession& _session;
    std::unique_ptr<std::ostream> _stream;  // set once the head is made; flushed and ended on destruction
    class ChunkedBodyStream;
    ChunkedBodyStream* _chunkedBody = nullptr;  // _stream, when it is a chunked body
    bool _sentWhole = false;                // sendBuffer wrote head and body
    bool _head = false;
    std::string _ownFields;  // addOwnField's, as the head's text
};

} // namespace sluice::kernel
