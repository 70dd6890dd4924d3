#include "Delivery.h"

#include <algorithm>

namespace sluice::fake {

AnswerPlan AnswerPlan::from(const std::optional<FaultRule>& rule) {
    AnswerPlan plan;
    if (!rule) return plan;
    if (rule->chunks) plan.chunks = *rule->chunks;
    plan.chunkIntervalMs = rule->chunkIntervalMs;
    plan.dieAfterChunks = rule->dieAfterChunks;
    plan.hangAfterChunks = rule->hangAfterChunks;
    plan.sseComments = rule->sseComments;
    plan.commentsAfterChunks = rule->commentsAfterChunks;
    plan.closeDelimited = rule->closeDelimited;
    plan.cutAfterChunks = rule->cutAfterChunks;
    plan.rawBody = rule->rawBody;
    plan.padBytes = rule->padBytes;
    plan.stallAfterBytes = rule->stallAfterBytes;
    plan.noUsage = rule->noUsage;
    plan.malformedAfterChunks = rule->malformedAfterChunks;
    plan.omitDone = rule->omitDone;
    plan.closeWhenIdle = rule->closeWhenIdle;
    return plan;
}

void Delivery::error(Protocol protocol, int status, const std::string& message, const std::string& code,
                     const std::string& param, const HeaderList& headers) {
    _exchange.sendJson(status, errorBody(protocol, status, message, code, param), headers);
}

void Delivery::whole(const AnswerPlan& plan, const nlohmann::json& plainAnswer) {
    auto answer = plainAnswer;
    if (plan.padBytes > 0 && answer.is_object()) answer["padding"] = std::string(plan.padBytes, 'x');
    if (plan.stallAfterBytes) {
        // The start of a big answer, then silence: the gateway holds what came.
        _exchange.beginStream("application/json");
        _exchange.writeEvent(answer.dump().substr(0, *plan.stallAfterBytes), false);
        hang();
        return;
    }
    if (plan.rawBody) {
        _exchange.sendText(200, *plan.rawBody, "text/html");
        return;
    }
    if (plan.cutAfterChunks) {
        // Half the answer with no length, then a clean close: only the JSON shows it is cut.
        const auto text = answer.dump();
        _exchange.beginStream("application/json", true);
        _exchange.writeEvent(text.substr(0, text.size() / 2), false);
        _exchange.closeGracefully();
        return;
    }
    if (plan.dieAfterChunks) {
        _exchange.abort();
        return;
    }
    if (plan.hangAfterChunks) {
        hang();
        return;
    }
    if (plan.chunkIntervalMs > 0 && plan.chunks > 0 &&
        !_exchange.waitWhileConnected(static_cast<long long>(plan.chunkIntervalMs) * plan.chunks)) {
        cancelled();
        return;
    }
    if (plan.closeWhenIdle) _exchange.sendJsonThenClose(answer);
    else _exchange.sendJson(200, answer);
}

void Delivery::stream(const AnswerPlan& plan, const StreamEvents& events) {
    const auto& contentType = events.contentType;
    const std::size_t count = events.count;
    _exchange.beginStream(contentType, plan.closeDelimited);
    // Some providers keep a connection warm with SSE comments while a model loads.
    if (contentType.find("event-stream") != std::string::npos)
        for (int i = 0; i < plan.sseComments; ++i)
            if (!_exchange.writeEvent(": keep-alive\n\n")) {
                cancelled();
                return;
            }
    const auto malformedAt = plan.malformedAfterChunks ? std::optional<std::size_t>(*plan.malformedAfterChunks)
                                                       : std::nullopt;
    // Content event i as written: the opening rides with the first one, and a
    // malformed frame due after N chunks rides just before chunk index N.
    auto contentEvent = [&](std::size_t i) {
        std::string event = i == 0 && events.opening ? events.opening() : std::string();
        if (malformedAt == i) event += malformedFrame(events);
        return event + events.content(i);
    };
    for (std::size_t i = 0; i <= count; ++i) {
        const auto written = static_cast<int>(i);
        if (plan.dieAfterChunks && written >= *plan.dieAfterChunks) {
            _exchange.abort();
            return;
        }
        if (plan.hangAfterChunks && written >= *plan.hangAfterChunks) {
            hang();
            return;
        }
        if (plan.commentsAfterChunks && written >= *plan.commentsAfterChunks) {
            keepWarm(plan.chunkIntervalMs > 0 ? plan.chunkIntervalMs : 50);
            return;
        }
        if (plan.cutAfterChunks && written >= *plan.cutAfterChunks && i < count) {
            const auto event = contentEvent(i);
            _exchange.writeEvent(event.substr(0, event.size() / 2), false);
            _exchange.closeGracefully();
            return;
        }
        if (i == count) break;
        if (i > 0 && plan.chunkIntervalMs > 0 && !_exchange.waitWhileConnected(plan.chunkIntervalMs)) {
            cancelled();
            return;
        }
        if (!_exchange.writeEvent(contentEvent(i))) {
            cancelled();
            return;
        }
    }
    // After the last chunk: on its own, before the tail (or alone, with omit_done and no tail left).
    if (malformedAt == count && !_exchange.writeEvent(malformedFrame(events))) {
        cancelled();
        return;
    }
    const std::size_t tailCount =
        plan.omitDone ? events.tailCount - std::min(events.endMarkers, events.tailCount) : events.tailCount;
    for (std::size_t i = 0; i < tailCount; ++i) {
        // No peer probe here: a client may close as soon as it has the end.
        if (!_exchange.writeEvent(events.tail(i), false)) {
            cancelled();
            return;
        }
    }
}

std::string Delivery::malformedFrame(const StreamEvents& events) {
    // A JSON text cut short: no parser takes it, and it reads like a real frame.
    if (events.contentType.find("event-stream") == std::string::npos) return "{\"broken\n";
    const std::string data = "data: {\"broken\n\n";
    return events.deltaEvent.empty() ? data : "event: " + events.deltaEvent + "\n" + data;
}

void Delivery::hang() {
    if (!_exchange.waitWhileConnected(hangLimitMs)) {
        cancelled();
        return;
    }
    _exchange.abort();
}

void Delivery::keepWarm(int intervalMs) {
    for (long long waited = 0; waited < hangLimitMs; waited += intervalMs)
        if (!_exchange.waitWhileConnected(intervalMs) || !_exchange.writeEvent(": keep-alive\n\n")) {
            cancelled();
            return;
        }
    _exchange.abort();
}

void Delivery::cancelled() {
    _stats.streamCancelled();
    _exchange.abort();
}

}  // namespace sluice::fake
