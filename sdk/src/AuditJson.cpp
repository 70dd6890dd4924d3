#include "sluice/AuditJson.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <type_traits>

namespace sluice {

namespace {

// A field by its name, else by the name spill files gave it before ABI 4.0.
// Throws nlohmann::json::type_error when the value has the wrong type.
template <class T>
T field(const nlohmann::json& json, const char* name, const char* formerName = nullptr, T fallback = {}) {
    auto it = json.find(name);
    if ((it == json.end() || it->is_null()) && formerName != nullptr) it = json.find(formerName);
    if (it == json.end() || it->is_null()) return fallback;
    return it->get<T>();
}

} // namespace

std::int64_t epochMillis(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::string isoTime(std::int64_t epochMs) {
    // The date and time to the second are formatted once a second per
    // thread, the milliseconds each time: gmtime_r and snprintf were 4,000
    // instructions a record, and the access log asks for every request's.
    thread_local std::int64_t formattedSecond = -1;
    thread_local char formatted[96];  // room for any int the compiler imagines
    thread_local int formattedLength = 0;
    const auto second = epochMs / 1000;
    if (second != formattedSecond || epochMs < 0) {
        const auto seconds = static_cast<std::time_t>(second);
        std::tm utc{};
        gmtime_r(&seconds, &utc);
        formattedLength = std::snprintf(formatted, sizeof formatted, "%04d-%02d-%02dT%02d:%02d:%02d", utc.tm_year + 1900,
                                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
        formattedSecond = second;
    }
    std::string text(formatted, static_cast<std::size_t>(formattedLength));
    if (epochMs < 0) {
        char millis[16];  // as before the cache, sign and all: no time a gateway writes
        return text.append(millis, static_cast<std::size_t>(std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(epochMs % 1000))));
    }
    const auto ms = static_cast<int>(epochMs % 1000);
    const char tail[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10), 'Z'};
    return text.append(tail, sizeof tail);
}

nlohmann::ordered_json auditRecordJson(const AuditRecord& record, AuditText text) {
    auto json = nlohmann::ordered_json::object();
    visitAuditFields(record, [&json](std::string_view name, const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string_view>)
            json.emplace(std::string(name), std::string(value));
        else
            json.emplace(std::string(name), value);
    });
    if (text == AuditText::Include && record.promptLogged) {
        json["prompt_logged"] = true;
        json["prompt"] = record.prompt;
        json["answer"] = record.answer;
    }
    return json;
}

nlohmann::ordered_json auditPromptJson(const AuditRecord& record) {
    const auto atMs = epochMillis(record.time);
    return {{"time", isoTime(atMs)},  {"request_id", record.requestId}, {"at_ms", atMs},
            {"tenant", record.tenant}, {"prompt", record.prompt},        {"answer", record.answer}};
}

std::optional<AuditRecord> auditRecordFromJson(const nlohmann::json& json) {
    if (!json.is_object() || !json.contains("request_id")) return std::nullopt;
    try {
        AuditRecord record;
        record.time = std::chrono::system_clock::time_point(
            std::chrono::milliseconds(field<std::int64_t>(json, "at_ms", "time_ms")));
        record.requestId = field<std::string>(json, "request_id");
        record.tenant = field<std::string>(json, "tenant");
        record.keyId = field<std::string>(json, "key_id");
        record.clientAddress = field<std::string>(json, "client_address", "client");
        record.route = field<std::string>(json, "route");
        record.requestedModel = field<std::string>(json, "requested_model", "model");
        record.servedBackend = field<std::string>(json, "served_backend", "backend");
        record.servedModel = field<std::string>(json, "served_model");
        record.alias = field<std::string>(json, "alias");
        record.status = field<int>(json, "status");
        record.failovers = field<int>(json, "failovers");
        record.tokensIn = field<std::uint64_t>(json, "prompt_tokens", "tokens_in");
        record.tokensOut = field<std::uint64_t>(json, "completion_tokens", "tokens_out");
        record.timeToFirstByteMs = field<double>(json, "first_byte_ms", "ttfb_ms");
        record.latencyMs = field<double>(json, "latency_ms");
        record.bytesIn = field<std::uint64_t>(json, "bytes_in");
        record.bytesOut = field<std::uint64_t>(json, "bytes_out");
        // An outcome this build does not name is kept as ok, as before: the record is not dropped.
        record.outcome = outcomeFromName(field<std::string>(json, "outcome", nullptr, "ok")).value_or(Outcome::Ok);
        record.tokensEstimated = field<bool>(json, "tokens_estimated", nullptr, false);
        record.retries = field<int>(json, "retries", nullptr, 0);
        record.continuedBy = field<std::string>(json, "continued_by", nullptr, "");
        record.queueMs = field<std::int64_t>(json, "queue_ms", nullptr, 0);
        record.promptLogged = field<bool>(json, "prompt_logged", nullptr, false);
        if (record.promptLogged) {
            record.prompt = field<std::string>(json, "prompt");
            record.answer = field<std::string>(json, "answer");
        }
        return record;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // a field of the wrong type: not a line we wrote
    }
}

} // namespace sluice
