// The one stream relay: every dialect's streamed answer goes through it.
// It owns, once, what no dialect may change (docs/architecture.md,
// "Forwarding, failover and streams"):
// - the first-frame window: nothing reaches the client until the dialect's
//   filter has taken a frame that carries answer data, so a backend that
//   dies, errs or says nothing but comments before that is failed over;
// - only whole frames reach the client, each bounded in size;
// - after the first byte, a break, a stall, an error from the backend or
//   timeout.max_stream_s ends the stream with an error frame in the client's
//   protocol;
// - a clean end (the backend's end marker, or the body's end with an answer
//   the filter calls whole) ends the chunked body properly and gives the
//   connection back when it can carry another request.
#include <Poco/Logger.h>

#include "Attempt.h"
#include "dialect/Usage.h"

namespace sluice::kernel {

namespace {
constexpr std::size_t kMaxFrame = 8 * 1024 * 1024;
} // namespace

std::optional<Failure> Attempt::relayStream(ResponseReader& reader, StreamPlan& plan) {
    using Step = StreamFilter::Step;
    StreamFilter& filter = *plan.filter;
    FrameSplitter splitter(plan.framing, kMaxFrame);
    auto step = Step::Quiet;
    bool begun = false;  // the filter took answer data: the failover window is over
    bool fresh = false;  // it took answer data since the last delivery (for the idle deadline)
    std::string payload;
    std::string out;  // for the client, not yet written

    auto feed = [&](std::string_view frames) {
        FrameSplitter::forEachFrame(plan.framing, frames, [&](std::string_view frame) {
            if (step == Step::Done || step == Step::Error) return;
            step = filter.take(frame, out);
            if (step == Step::Answer || step == Step::Done) begun = fresh = true;
        });
        // Counted as soon as known: a stream that breaks after its usage was still spent.
        if (filter.usage().reported) _ctx.usage = filter.usage();
    };
    // Reads the next bytes and feeds the frames they complete. False: the body ended cleanly.
    // Feeds the frames `payload`'s bytes complete.
    auto takeIn = [&] {
        splitter.append(payload);
        feed(splitter.complete());
        splitter.takeComplete();
    };
    auto readMore = [&](Clock::time_point deadline) {
        payload.clear();
        if (!reader.readBody(payload, deadline)) return false;
        takeIn();
        return true;
    };
    // After a clean end of the body: a last frame without its delimiter still
    // counts (unless only the backend's close ended the body, which may have
    // cut it), and the filter says whether the answer was whole.
    auto takeEnd = [&] {
        if (step == Step::Done) return true;
        if (!splitter.partial().empty()) {
            if (reader.closeDelimited()) return false;
            feed(splitter.partial());
            if (step == Step::Done) return true;
        }
        return step != Step::Error && filter.finish(out);
    };
    // A continuation's counts include the parts before it (addEarlierUsage).
    const bool ndjsonClient = _ctx.route.protocol == Protocol::Ollama;
    // Takes what the filter made for the client: counted, and given to `send`.
    auto handOut = [&](auto&& send) {
        if (fresh) _lastFrameAt = Clock::now();
        fresh = false;
        if (out.empty()) return true;
        if (_continuing) addEarlierUsage(out, ndjsonClient, _continuing->usage);
        countDelivered(out);
        const bool written = send(out);
        out.clear();
        return written;
    };
    auto deliver = [&] { return handOut([&](const std::string& bytes) { return _client.writeStream(bytes); }); };
    // The parked relay's delivery: chunks for the I/O thread to write.
    auto deliverTo = [&](std::string& wire) {
        handOut([&](const std::string& bytes) {
            appendChunk(wire, bytes);
            return true;
        });
    };

    bool ended = false;
    const auto firstFrameDeadline = firstByteDeadline();
    while (!begun && step != Step::Error && !ended) {
        ended = !readMore(firstFrameDeadline);
        if (splitter.oversized()) return Failure{UpstreamOutcome::Broken, "first frame too large", {}};
    }
    bool whole = ended && takeEnd();
    // Nothing has reached the client yet: an error, or an end before the
    // answer was whole, is failed over.
    if (step == Step::Error) return Failure{UpstreamOutcome::Status5xx, "stream began with an error", {}};
    if (ended && !whole)
        return Failure{UpstreamOutcome::Broken, begun ? "stream ended before its answer did" : "stream ended before its first frame", {}};

    noteFirstByte();
    finishServed();
    if (!_continuing) {
        _ctx.status = reader.head().status;
        if (!_client.startStream(_ctx.status, plan.contentType)) return clientWentAway();
        _ctx.firstByteAt = Clock::now();
    }
    fresh = true;
    if (!deliver()) return clientWentAway();

    // The rest of the stream, relayed until it ends, breaks or errs: by the
    // client's I/O thread with this request parked (no thread held) when
    // the client's channel and the backend's connection allow it, else here.
    std::string failure;
    const auto over = [&] { return ended || step == Step::Done || step == Step::Error || !failure.empty(); };
    // After each read: a clean end's verdict, an oversized frame's failure.
    const auto afterRead = [&](bool more) {
        if (!more) {
            ended = true;
            whole = takeEnd();
        }
        if (splitter.oversized()) failure = "the backend sent an oversized frame";
    };
    bool clientGone = false;
    StreamPump pump;
    pump.upstreamFd = _connection->secure() ? -1 : _connection->fd();
    pump.pump = [&](std::string& toClient) {
        const auto had = toClient.size();
        ResponseReader::Turn turn;
        try {
            while (!over()) {
                // One turn takes a bounded share: the loop's other connections wait meanwhile.
                if (toClient.size() - had >= StreamPump::kTurnBytes) return true;
                ResponseReader::Now read;
                try {
                    payload.clear();
                    read = reader.readBodyNow(payload, turn);
                } catch (const UpstreamError& error) {
                    failure = midStreamFailureOf(error);
                    break;
                }
                if (read == ResponseReader::Now::Wait) return true;
                if (read == ResponseReader::Now::Data) takeIn();
                afterRead(read == ResponseReader::Now::Data);
                if (!failure.empty()) break;
                deliverTo(toClient);
            }
        } catch (const std::exception& e) {
            // A filter that threw, memory that ran out: the stream ends with an error, never as a whole answer.
            _services.log.error("request %s: the stream's relay failed: %s", _ctx.requestId, std::string(e.what()));
            failure = "the gateway could not relay the stream";
        }
        return false;
    };
    pump.deadline = [&] { return streamDeadline(); };
    pump.cut = [&](StreamPump::Cut why) {
        if (why == StreamPump::Cut::ClientGone) clientGone = true;
        else if (why == StreamPump::Cut::Draining) failure = midStreamFailureOf(UpstreamError(UpstreamError::Kind::Draining, ""));
        // The stall or timeout.max_stream_s: the deadline was asked again just before.
        else failure = midStreamFailureOf(UpstreamError(UpstreamError::Kind::Timeout, ""));
    };
    if (!over() && pump.upstreamFd >= 0 && _client.relayParked(pump)) {
        if (clientGone) return clientWentAway();
    } else {
        while (!over()) {
            try {
                afterRead(readMore(streamDeadline()));
            } catch (const UpstreamError& error) {
                if (error.kind() == UpstreamError::Kind::ClientGone) return clientWentAway();
                failure = midStreamFailureOf(error);
                break;
            }
            if (!failure.empty()) break;
            if (!deliver()) return clientWentAway();
        }
    }
    if (failure.empty() && step == Step::Error) failure = clientSafeMessage(filter.error());
    if (failure.empty() && ended && !whole) failure = "the backend's stream broke off";
    // A break after the answer's last content frame (waiting for a usage
    // chunk or the end marker) lost nothing: the answer ends as a whole one.
    if (!failure.empty() && step != Step::Error && filter.answered() && filter.finish(out)) {
        _connection->abort();
        if (!deliver()) return clientWentAway();
        _client.endStream();
        addEarlierParts();
        return std::nullopt;
    }
    // Frames taken before the failure or the end are the backend's answer too.
    if (!deliver()) return clientWentAway();
    if (!failure.empty()) {
        if (auto kept = keepOpenForContinuation(failure)) return kept;
        failStream(failure, filter);
        return std::nullopt;
    }
    _client.endStream();
    // The end marker came: the body should end right after it; reading that
    // end lets the connection serve another request.
    if (!ended) {
        try {
            const auto deadline = Clock::now() + std::min<Clock::duration>(_backend.idleTimeout, std::chrono::seconds(1));
            for (std::size_t drained = 0; drained < kMaxFrame && readMore(deadline); drained += payload.size()) {}
        } catch (const UpstreamError&) {
            // The answer is whole; only the connection is not reused.
        }
    }
    // After the drain: a frame read there would set the usage to this part's alone.
    addEarlierParts();
    if (reader.reusable()) _upstream.pool.giveBack(std::move(_connection));
    return std::nullopt;
}

} // namespace sluice::kernel
