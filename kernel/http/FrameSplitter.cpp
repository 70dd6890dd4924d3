#include "FrameSplitter.h"

namespace sluice::kernel {

std::optional<std::string> sseEventData(std::string_view event) {
    std::optional<std::string> data;
    while (!event.empty()) {
        auto end = event.find('\n');
        auto line = event.substr(0, end);
        event = end == std::string_view::npos ? std::string_view() : event.substr(end + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (!line.starts_with("data:")) continue;
        line.remove_prefix(5);
        if (line.starts_with(' ')) line.remove_prefix(1);
        if (data) *data += '\n';
        else data.emplace();
        *data += line;
    }
    return data;
}


std::size_t frameEnd(Framing framing, std::string_view frames, std::size_t from) {
    if (framing == Framing::Ndjson) {
        const auto newline = frames.find('\n', from);
        return newline == std::string_view::npos ? newline : newline + 1;
    }
    // SSE: an event ends with a blank line (LF LF, or CRLF CRLF).
    for (auto newline = frames.find('\n', from); newline != std::string_view::npos;
         newline = frames.find('\n', newline + 1)) {
        const auto next = newline + 1;
        if (next < frames.size() && frames[next] == '\n') return next + 1;
        if (next + 1 < frames.size() && frames[next] == '\r' && frames[next + 1] == '\n') return next + 2;
    }
    return std::string_view::npos;
}

void FrameSplitter::append(std::string_view bytes) {
    _buffer.append(bytes);
    const std::string_view all(_buffer);
    // Resume a little before the old end: a delimiter may straddle two reads.
    std::size_t from = std::max(_completeEnd, _scanned > 3 ? _scanned - 3 : 0);
    while (true) {
        const auto end = frameEnd(_framing, all, std::max(from, _completeEnd));
        if (end == std::string_view::npos) break;
        _completeEnd = end;
        from = end;
    }
    _scanned = _buffer.size();
}

void FrameSplitter::takeComplete() {
    _buffer.erase(0, _completeEnd);
    _scanned -= _completeEnd;
    _completeEnd = 0;
}

} // namespace sluice::kernel
