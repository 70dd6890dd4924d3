// libFuzzer target for FrameSplitter, which cuts a backend's stream into the
// NDJSON lines or SSE events the forwarder may pass on whole. The frames
// must not depend on how the socket cut the bytes, nothing may be lost or
// doubled between the frames taken, the complete ones and the partial one,
// every complete frame must end at its first delimiter, and the partial
// one must hold none.
//
// Input layout: byte 0 picks the framing (bit 0: SSE) and the frame bound
// (bits 1-3); bytes 1-2 seed where the stream is cut and when the complete
// frames are taken; the rest is the stream.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "FuzzSupport.h"
#include "http/FrameSplitter.h"

namespace {

using sluice::fuzz::check;
using sluice::fuzz::PieceSizes;
using sluice::kernel::FrameSplitter;
using sluice::kernel::frameEnd;
using Framing = sluice::kernel::Framing;

constexpr std::size_t kHeaderBytes = 3;
constexpr auto npos = std::string_view::npos;

// Where the first delimiter in `text` ends, found the plain way.
std::size_t firstDelimiterEnd(Framing framing, std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n') continue;
        if (framing == Framing::Ndjson) return i + 1;
        if (i + 1 < text.size() && text[i + 1] == '\n') return i + 2;
        if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') return i + 3;
    }
    return npos;
}

// Complete frames as forEachFrame visits them: back to back, each ending at
// its own first delimiter.
void checkCompleteFrames(Framing framing, std::string_view frames) {
    std::string joined;
    FrameSplitter::forEachFrame(framing, frames, [&](std::string_view frame) {
        check(!frame.empty(), "no empty frame is visited");
        check(firstDelimiterEnd(framing, frame) == frame.size(), "a complete frame ends at its first delimiter");
        joined.append(frame);
    });
    check(joined == frames, "complete frames join back to complete()");
}

void checkSplitter(const FrameSplitter& splitter, Framing framing, std::size_t maxFrame) {
    check(firstDelimiterEnd(framing, splitter.partial()) == npos, "the partial frame holds no delimiter");
    check(splitter.oversized() == (splitter.partial().size() > maxFrame), "oversized() is the partial frame past the bound");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return 0;
    static constexpr std::array<std::size_t, 8> kBounds{0, 1, 3, 16, 100, 4096, 65536, 1 << 24};
    const auto framing = (data[0] & 1) ? Framing::Sse : Framing::Ndjson;
    const auto maxFrame = kBounds[(data[0] >> 1) & 7];
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const auto stream = all.substr(kHeaderBytes);
    PieceSizes sizes(sluice::fuzz::seedFrom(all.substr(1), 2));

    // frameEnd alone, from any start.
    const auto from = static_cast<std::size_t>(sizes.below(stream.size() + 1));
    const auto end = frameEnd(framing, stream, from);
    check(end == npos || (end > from && end <= stream.size()), "frameEnd is past its start and within the text");
    const auto expectedEnd = firstDelimiterEnd(framing, stream.substr(from));
    check(end == (expectedEnd == npos ? npos : from + expectedEnd), "frameEnd finds the first delimiter after its start");

    // forEachFrame on any bytes (the forwarder also passes a last partial frame).
    std::string visited;
    FrameSplitter::forEachFrame(framing, stream, [&](std::string_view frame) {
        check(!frame.empty(), "no empty frame is visited");
        visited.append(frame);
    });
    check(visited == stream, "forEachFrame's frames join back to its input");

    // All at once.
    FrameSplitter whole(framing, maxFrame);
    whole.append(stream);
    checkSplitter(whole, framing, maxFrame);
    checkCompleteFrames(framing, whole.complete());
    check(std::string(whole.complete()) + std::string(whole.partial()) == stream, "complete() + partial() is the stream");

    // In pieces, taking the complete frames now and then as the forwarder does.
    FrameSplitter pieces(framing, maxFrame);
    std::string taken;
    for (std::size_t at = 0; at < stream.size();) {
        const auto piece = stream.substr(at, sizes.next(stream.size() - at));
        pieces.append(piece);
        at += piece.size();
        checkSplitter(pieces, framing, maxFrame);
        check(taken + std::string(pieces.complete()) + std::string(pieces.partial()) == stream.substr(0, at),
              "frames taken + complete() + partial() is every byte appended");
        if (sizes.below(3) != 0) {
            checkCompleteFrames(framing, pieces.complete());
            taken.append(pieces.complete());
            pieces.takeComplete();
            check(pieces.complete().empty(), "nothing is complete right after takeComplete()");
        }
    }
    taken.append(pieces.complete());
    check(taken == whole.complete(), "the same complete frames however the stream is cut");
    check(pieces.partial() == whole.partial(), "the same partial frame however the stream is cut");
    return 0;
}
