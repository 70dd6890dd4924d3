#pragma once
// Splits a streamed body into complete frames: NDJSON lines or SSE events.
// The forwarder passes only complete frames to the client, so a stream that
// dies mid-frame can still be ended with a well-formed error frame.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::kernel {

enum class Framing { Ndjson, Sse };

class FrameSplitter {
public:
    FrameSplitter(Framing framing, std::size_t maxFrameBytes) : _framing(framing), _maxFrame(maxFrameBytes) {}

    void append(std::string_view bytes);
    // The complete frames received so far and not yet taken, back to back.
    std::string_view complete() const { return std::string_view(_buffer).substr(0, _completeEnd); }
    // Drops the complete frames (after they were written to the client).
    void takeComplete();
    // Bytes of an unfinished frame held back.
    std::string_view partial() const { return std::string_view(_buffer).substr(_completeEnd); }
    // True when an unfinished frame grew past the bound.
    bool oversized() const { return _buffer.size() - _completeEnd > _maxFrame; }

    // Calls visit(frame) for each complete frame in `frames` (as from complete()).
    template <class Visit>
    static void forEachFrame(Framing framing, std::string_view frames, Visit&& visit);

private:
    Framing _framing;
    std::size_t _maxFrame;
    std::string _buffer;
    std::size_t _completeEnd = 0;  // end of the last complete frame in _buffer
    std::size_t _scanned = 0;      // where the search for a frame end resumes
};

// An SSE event's data: its data lines joined by LF (one optional blank after
// "data:" dropped), or nothing when it has none (a comment, a keep-alive).
std::optional<std::string> sseEventData(std::string_view event);

// Where the frame starting at `frames` ends (one past its delimiter), or npos.
std::size_t frameEnd(Framing framing, std::string_view frames, std::size_t from = 0);

template <class Visit>
void FrameSplitter::forEachFrame(Framing framing, std::string_view frames, Visit&& visit) {
    std::size_t start = 0;
    while (start < frames.size()) {
        auto end = frameEnd(framing, frames, start);
        if (end == std::string_view::npos) end = frames.size();
        visit(frames.substr(start, end - start));
        start = end;
    }
}

} // namespace sluice::kernel
