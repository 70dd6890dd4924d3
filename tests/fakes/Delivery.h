#pragma once
// Delivers a model answer the way the matching fault rule asks: at a token
// rate, or breaking off mid-stream (reset or hang). It is also where a client
// that went away is noticed and counted as a cancelled answer.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Answers.h"
#include "Exchange.h"
#include "FakeStats.h"
#include "FaultRules.h"

namespace sluice::fake {

// The shape of one answer, from the defaults and the fault rule that matched.
struct AnswerPlan {
    int chunks = 5;
    int chunkIntervalMs = 0;
    std::optional<int> dieAfterChunks;
    std::optional<int> hangAfterChunks;
    int sseComments = 0;  // ": keep-alive" comment events before the first chunk (SSE only)
    std::optional<int> commentsAfterChunks;  // then only comments, chunk_interval_ms apart (SSE only)
    bool closeDelimited = false;
    std::optional<int> cutAfterChunks;
    std::optional<std::string> rawBody;
    std::size_t padBytes = 0;
    std::optional<std::size_t> stallAfterBytes;
    bool noUsage = false;  // leave out token counts (Ollama's *eval_count, OpenAI's usage)
    std::optional<int> malformedAfterChunks;  // one non-JSON frame after N chunks (streams only)
    bool omitDone = false;                    // leave out the stream's end marker (streams only)
    bool closeWhenIdle = false;               // close the connection right after a whole answer

    static AnswerPlan from(const std::optional<FaultRule>& rule);
};

// Builds an event when it is sent, so timestamps tell the real time.
using EventMaker = std::function<std::string(std::size_t index)>;

// The parts of one streamed answer, as its route builds them; Delivery decides
// which are sent, and when, from the plan.
struct StreamEvents {
    std::string contentType;  // application/x-ndjson or text/event-stream
    // Events before the first content event (Anthropic message_start…ping,
    // Responses created…content_part.added, an OpenAI tool call's id/name delta).
    // They travel in one write with the first content event, so "after N chunks"
    // counts content events alone. Empty: none. Called at most once.
    std::function<std::string()> opening;
    std::size_t count = 0;  // content events, each its own chunk, chunk_interval_ms apart
    EventMaker content;
    std::size_t tailCount = 0;  // after the content: done line, finish chunk, usage, [DONE], …
    EventMaker tail;
    // How many of the last tail events are the stream's end marker, left out by omit_done.
    std::size_t endMarkers = 1;
    // The SSE event name a content event carries (event: NAME), so a malformed
    // frame looks like a delta whose data broke; empty for unnamed events.
    std::string deltaEvent;
};

class Delivery {
public:
    // How long a hang holds the connection when the client stays.
    static constexpr long long hangLimitMs = 60000;

    Delivery(Exchange& exchange, FakeStats& stats) : _exchange(exchange), _stats(stats) {}

    void error(Protocol protocol, int status, const std::string& message, const std::string& code = {},
               const std::string& param = {}, const HeaderList& headers = {});
    // A non-stream answer: takes chunks × chunk_interval_ms like a model
    // generating; with die/hang_after_chunks it resets/hangs before any byte.
    void whole(const AnswerPlan& plan, const nlohmann::json& answer);
    // A stream: the opening and `count` content events, each its own chunk,
    // chunk_interval_ms apart, then the tail events unless the plan dies or
    // hangs first (and without the end marker with omit_done).
    void stream(const AnswerPlan& plan, const StreamEvents& events);

private:
    // The frame malformed_after_chunks sends: the line or data is `{"broken`.
    static std::string malformedFrame(const StreamEvents& events);
    void hang();
    // ": keep-alive" comments, `intervalMs` apart, until the client leaves or hangLimitMs.
    void keepWarm(int intervalMs);
    void cancelled();

    Exchange& _exchange;
    FakeStats& _stats;
};

}  // namespace sluice::fake
