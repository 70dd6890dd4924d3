#include "RequestScan.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "../http/ChunkedDecoder.h"
#include "../http/FieldNames.h"

namespace sluice::kernel {

namespace {
constexpr int kMaxLeadingEmptyLines = 8;  // as ServerRequest allows (RFC 9112 2.2)

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

} // namespace

HeadScan scanHead(std::string_view input, std::size_t limit, std::size_t scanned) {
    // Empty lines before the request line are skipped, as the parser does.
    std::size_t start = 0;
    for (int skipped = 0;; ++skipped) {
        if (input.substr(start, 2) == "\r\n") start += 2;
        else if (input.substr(start, 1) == "\n") start += 1;
        else break;
        if (skipped == kMaxLeadingEmptyLines) return {HeadScan::Kind::Hand, 0};
    }
    // The head ends at its first empty line: LF LF or LF CR LF. An end may
    // straddle what was scanned before and what is new: look 2 bytes back.
    const auto from = std::max(start, scanned >= 2 ? scanned - 2 : std::size_t{0});
    for (auto at = input.find('\n', from); at != std::string_view::npos; at = input.find('\n', at + 1)) {
        if (input.substr(at + 1, 1) == "\n") return {HeadScan::Kind::Head, at + 2};
        if (input.substr(at + 1, 2) == "\r\n") return {HeadScan::Kind::Head, at + 3};
    }
    if (input.size() - start > limit) return {HeadScan::Kind::Hand, 0};
    return {HeadScan::Kind::More, 0};
}

BodyFraming framingOf(std::string_view head) {
    BodyFraming framing;
    bool haveLength = false;
    bool chunked = false;
    auto line_end = head.find('\n');
    for (auto at = line_end; at != std::string_view::npos && at + 1 < head.size(); at = line_end) {
        line_end = head.find('\n', at + 1);
        const auto line = head.substr(at + 1, line_end == std::string_view::npos ? std::string_view::npos : line_end - at - 1);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const auto name = line.substr(0, colon);
        const auto value = trim(line.substr(colon + 1));
        if (sameFieldName(name, "content-length")) {
            std::uint64_t length = 0;
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (haveLength || error != std::errc() || end != value.data() + value.size() || value.empty())
                return {BodyFraming::Kind::Unsure, 0};
            haveLength = true;
            framing.length = length;
        } else if (sameFieldName(name, "transfer-encoding")) {
            if (chunked || !sameFieldName(value, "chunked")) return {BodyFraming::Kind::Unsure, 0};
            chunked = true;
        } else if (sameFieldName(name, "expect")) {
            if (framing.expectContinue || !sameFieldName(value, "100-continue")) return {BodyFraming::Kind::Unsure, 0};
            framing.expectContinue = true;
        }
    }
    if (haveLength && chunked) return {BodyFraming::Kind::Unsure, 0, false};
    if (chunked) framing.kind = BodyFraming::Kind::Chunked;
    else if (haveLength) framing.kind = BodyFraming::Kind::Length;
    return framing;
}

bool wholeRequest(std::string_view bytes, std::size_t headLimit, std::size_t maxBody) {
    const auto head = scanHead(bytes, headLimit);
    if (head.kind != HeadScan::Kind::Head) return false;
    const auto framing = framingOf(bytes.substr(0, head.bytes));
    if (framing.expectContinue) return false;
    const auto body = bytes.substr(head.bytes);
    switch (framing.kind) {
    case BodyFraming::Kind::None: return true;
    case BodyFraming::Kind::Length: return framing.length <= maxBody && body.size() >= framing.length;
    case BodyFraming::Kind::Chunked: {
        ChunkedDecoder decoder;
        std::string payload;
        decoder.feed(body, payload);
        return decoder.done();
    }
    case BodyFraming::Kind::Unsure: return false;
    }
    return false;
}

namespace {
// The request line's first two words.
std::pair<std::string_view, std::string_view> requestLineStart(std::string_view head) {
    while (!head.empty() && (head.front() == '\r' || head.front() == '\n')) head.remove_prefix(1);
    const auto line = head.substr(0, head.find('\n'));
    const auto first = line.find(' ');
    if (first == std::string_view::npos) return {};
    const auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos) return {};
    return {line.substr(0, first), line.substr(first + 1, second - first - 1)};
}
} // namespace

std::string_view requestMethod(std::string_view head) { return requestLineStart(head).first; }

std::string_view requestTarget(std::string_view head) { return requestLineStart(head).second; }

} // namespace sluice::kernel
