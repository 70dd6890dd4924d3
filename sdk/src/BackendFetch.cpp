#include "sluice/BackendFetch.h"

#include <algorithm>
#include <memory>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>

#include "sluice/BackendTls.h"
#include "sluice/Json.h"

namespace sluice {

namespace {
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxAnswerBytes = 64 * 1024 * 1024;

// What is left until `deadline`, at least 1 ms: Poco reads a zero timeout as "wait forever".
Poco::Timespan timeLeft(Clock::time_point deadline) {
    const auto rest = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
    return Poco::Timespan(std::max<Poco::Timespan::TimeDiff>(rest, 1000));
}

// A short, stable reason for the failures operators meet most; Poco's own
// text for the rest.
std::string reasonFor(const Poco::Exception& e, std::chrono::milliseconds timeout) {
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
        return "timed out (limit " + std::to_string(timeout.count()) + " ms)";
    if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr) return "connection refused";
    if (dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr) return "connection reset";
    if (dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr) return "closed the connection without answering";
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr)
        return "TLS: " + (e.message().empty() ? e.displayText() : e.message());
    return e.displayText();
}

} // namespace

std::string backendSafeLine(std::string text, const Backend& backend) {
    std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    const auto& token = backend.authToken.reveal();
    if (token.empty()) return text;
    for (auto at = text.find(token); at != std::string::npos; at = text.find(token, at + 3)) text.replace(at, token.size(), "***");
    return text;
}

FetchResult fetchJson(const Backend& backend, const std::string& path, std::chrono::milliseconds timeout) {
    FetchResult result;
    const auto started = Clock::now();
    const auto deadline = started + timeout;
    auto finish = [&](std::string error) {
        result.roundTrip = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        if (!error.empty()) result.error = backendSafeLine(path + error, backend);
        return std::move(result);  // each path finishes once
    };
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (backend.scheme == "https") {
            session = std::make_unique<Poco::Net::HTTPSClientSession>(backend.host, backend.port,
                                                                      makeBackendTlsContext(backend));
        } else {
            session = std::make_unique<Poco::Net::HTTPClientSession>(backend.host, backend.port);
        }
        const auto limit = timeLeft(deadline);
        session->setTimeout(limit, limit, limit);
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, backend.basePath + path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("User-Agent", "sluice/0.1");
        if (const auto auth = backend.authHeaderValue(); !auth.empty()) request.set(backend.authHeader, auth);
        for (const auto& [name, value] : backend.apiHeaders()) request.set(name, value);
        session->sendRequest(request);  // connects first

        session->socket().setReceiveTimeout(timeLeft(deadline));
        Poco::Net::HTTPResponse response;
        auto& answer = *session->receiveResponse(response).rdbuf();
        result.status = response.getStatus();
        // The stream buffer itself, not the istream: a time-out then throws
        // instead of ending the body early, and each sgetc() waits on the
        // network at most once, with only the time that is left.
        std::string text;
        char buffer[8192];
        while (true) {
            if (Clock::now() >= deadline) throw Poco::TimeoutException();
            session->socket().setReceiveTimeout(timeLeft(deadline));
            if (answer.sgetc() == std::char_traits<char>::eof()) break;
            const auto available = std::min<std::streamsize>(answer.in_avail(), sizeof buffer);
            text.append(buffer, static_cast<std::size_t>(answer.sgetn(buffer, std::max<std::streamsize>(available, 1))));
            if (text.size() > kMaxAnswerBytes) return finish(" answered more than 64 MiB");
        }

        auto parsed = parseJson(text);
        const bool isJson = !parsed.is_discarded();
        if (isJson) result.body = std::move(parsed);
        if (result.status != Poco::Net::HTTPResponse::HTTP_OK) return finish(" answered " + std::to_string(result.status));
        if (!isJson) return finish(" answered invalid JSON");
        result.ok = true;
        return finish({});
    } catch (const Poco::Exception& e) {
        return finish(": " + reasonFor(e, timeout));
    } catch (const std::exception& e) {
        return finish(std::string(": ") + e.what());
    }
}

} // namespace sluice
