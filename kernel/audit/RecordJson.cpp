#include "RecordJson.h"

#include <array>

namespace sluice::kernel {

namespace {
constexpr std::array kOutcomes{Outcome::Ok,         Outcome::RefusedAuth,   Outcome::RefusedLimit, Outcome::RefusedPolicy,
                               Outcome::BadRequest, Outcome::UpstreamError, Outcome::ClientCancel, Outcome::InternalError};

template <class T>
T field(const nlohmann::json& json, const char* key, T fallback = {}) {
    auto it = json.find(key);
    if (it == json.end() || it->is_null()) return fallback;
    return it->get<T>();
}
} // namespace

nlohmann::json recordToJson(const AuditRecord& record) {
    nlohmann::json json{
        {"time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(record.time.time_since_epoch()).count()},
        {"request_id", record.requestId},
        {"tenant", record.tenant},
        {"key_id", record.keyId},
        {"client", record.clientAddress},
        {"route", record.route},
        {"model", record.requestedModel},
        {"backend", record.servedBackend},
        {"served_model", record.servedModel},
        {"alias", record.alias},
        {"status", record.status},
        {"failovers", record.failovers},
        {"tokens_in", record.tokensIn},
        {"tokens_out", record.tokensOut},
        {"ttfb_ms", record.timeToFirstByteMs},
        {"latency_ms", record.latencyMs},
        {"bytes_in", record.bytesIn},
        {"bytes_out", record.bytesOut},
        {"outcome", outcomeName(record.outcome)}};
    if (record.promptLogged) {
        json["prompt_logged"] = true;
        json["prompt"] = record.prompt;
        json["answer"] = record.answer;
    }
    return json;
}

std::optional<AuditRecord> recordFromJson(const nlohmann::json& json) {
    if (!json.is_object() || !json.contains("request_id")) return std::nullopt;
    try {
        AuditRecord record;
        record.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(field<std::int64_t>(json, "time_ms")));
        record.requestId = field<std::string>(json, "request_id");
        record.tenant = field<std::string>(json, "tenant");
        record.keyId = field<std::string>(json, "key_id");
        record.clientAddress = field<std::string>(json, "client");
        record.route = field<std::string>(json, "route");
        record.requestedModel = field<std::string>(json, "model");
        record.servedBackend = field<std::string>(json, "backend");
        record.servedModel = field<std::string>(json, "served_model");
        record.alias = field<std::string>(json, "alias");
        record.status = field<int>(json, "status");
        record.failovers = field<int>(json, "failovers");
        record.tokensIn = field<std::uint64_t>(json, "tokens_in");
        record.tokensOut = field<std::uint64_t>(json, "tokens_out");
        record.timeToFirstByteMs = field<double>(json, "ttfb_ms");
        record.latencyMs = field<double>(json, "latency_ms");
        record.bytesIn = field<std::uint64_t>(json, "bytes_in");
        record.bytesOut = field<std::uint64_t>(json, "bytes_out");
        const auto outcome = field<std::string>(json, "outcome", "ok");
        for (auto candidate : kOutcomes)
            if (outcome == outcomeName(candidate)) record.outcome = candidate;
        record.promptLogged = field<bool>(json, "prompt_logged", false);
        if (record.promptLogged) {
            record.prompt = field<std::string>(json, "prompt");
            record.answer = field<std::string>(json, "answer");
        }
        return record;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // a field of the wrong type: not a line we wrote
    }
}

} // namespace sluice::kernel
