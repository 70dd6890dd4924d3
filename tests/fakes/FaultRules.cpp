#include "FaultRules.h"

#include <stdexcept>

#include "ModelCatalog.h"

namespace sluice::fake {

namespace {

const char* const knownFields[] = {"model",  "path",        "times",  "delay_first_byte_ms", "status",
                                   "retry_after", "reset_before_first_byte", "chunks", "chunk_interval_ms",
                                   "die_after_chunks", "hang_after_chunks", "headers", "sse_comments", "comments_after_chunks", "pad_bytes", "stall_after_bytes", "message",
                                   "close_delimited", "cut_after_chunks", "raw_body", "no_usage", "code",
                                   "reject_prefill", "malformed_after_chunks", "omit_done", "close_when_idle"};

int intField(const nlohmann::json& rule, const char* name, int minimum) {
    const auto& value = rule[name];
    if (!value.is_number_integer() || value.get<long long>() < minimum || value.get<long long>() > 100000000)
        throw std::invalid_argument(std::string("rule field \"") + name + "\" must be an integer >= " +
                                    std::to_string(minimum));
    return value.get<int>();
}

std::string stringField(const nlohmann::json& rule, const char* name) {
    if (!rule[name].is_string()) throw std::invalid_argument(std::string("rule field \"") + name + "\" must be a string");
    return rule[name].get<std::string>();
}

}  // namespace

FaultRule FaultRule::fromJson(const nlohmann::json& rule) {
    if (!rule.is_object()) throw std::invalid_argument("each rule must be a JSON object");
    for (const auto& item : rule.items()) {
        bool known = false;
        for (const char* field : knownFields) known = known || item.key() == field;
        if (!known) throw std::invalid_argument("unknown rule field \"" + item.key() + "\"");
    }
    FaultRule parsed;
    if (rule.contains("model") && !rule["model"].is_null()) parsed.model = stringField(rule, "model");
    if (rule.contains("path") && !rule["path"].is_null()) parsed.path = stringField(rule, "path");
    if (rule.contains("times") && !rule["times"].is_null()) parsed.times = intField(rule, "times", 1);
    if (rule.contains("delay_first_byte_ms")) parsed.delayFirstByteMs = intField(rule, "delay_first_byte_ms", 0);
    if (rule.contains("status")) {
        parsed.status = intField(rule, "status", 100);
        if (parsed.status > 599) throw std::invalid_argument("rule field \"status\" must be an HTTP status");
    }
    if (rule.contains("retry_after")) {
        // Any integer: a negative one asks for a 429 with no Retry-After header at all.
        const auto& value = rule["retry_after"];
        if (!value.is_number_integer() || value.get<long long>() < -100000000 || value.get<long long>() > 100000000)
            throw std::invalid_argument("rule field \"retry_after\" must be an integer (negative: no Retry-After header)");
        parsed.retryAfter = value.get<int>();
    }
    if (rule.contains("reset_before_first_byte")) {
        if (!rule["reset_before_first_byte"].is_boolean())
            throw std::invalid_argument("rule field \"reset_before_first_byte\" must be a boolean");
        parsed.resetBeforeFirstByte = rule["reset_before_first_byte"].get<bool>();
    }
    if (rule.contains("chunks")) parsed.chunks = intField(rule, "chunks", 0);
    if (rule.contains("chunk_interval_ms")) parsed.chunkIntervalMs = intField(rule, "chunk_interval_ms", 0);
    if (rule.contains("die_after_chunks")) parsed.dieAfterChunks = intField(rule, "die_after_chunks", 0);
    if (rule.contains("hang_after_chunks")) parsed.hangAfterChunks = intField(rule, "hang_after_chunks", 0);
    if (rule.contains("sse_comments")) parsed.sseComments = intField(rule, "sse_comments", 0);
    if (rule.contains("comments_after_chunks")) parsed.commentsAfterChunks = intField(rule, "comments_after_chunks", 0);
    if (rule.contains("pad_bytes")) parsed.padBytes = static_cast<std::size_t>(intField(rule, "pad_bytes", 0));
    if (rule.contains("stall_after_bytes")) parsed.stallAfterBytes = static_cast<std::size_t>(intField(rule, "stall_after_bytes", 0));
    if (rule.contains("cut_after_chunks")) parsed.cutAfterChunks = intField(rule, "cut_after_chunks", 0);
    if (rule.contains("raw_body")) {
        if (!rule["raw_body"].is_string()) throw std::invalid_argument("\"raw_body\" must be a string");
        parsed.rawBody = rule["raw_body"].get<std::string>();
    }
    if (rule.contains("close_delimited")) {
        if (!rule["close_delimited"].is_boolean()) throw std::invalid_argument("\"close_delimited\" must be a boolean");
        parsed.closeDelimited = rule["close_delimited"].get<bool>();
    }
    if (rule.contains("close_when_idle")) {
        if (!rule["close_when_idle"].is_boolean()) throw std::invalid_argument("\"close_when_idle\" must be a boolean");
        parsed.closeWhenIdle = rule["close_when_idle"].get<bool>();
    }
    if (rule.contains("no_usage")) {
        if (!rule["no_usage"].is_boolean()) throw std::invalid_argument("\"no_usage\" must be a boolean");
        parsed.noUsage = rule["no_usage"].get<bool>();
    }
    if (rule.contains("malformed_after_chunks"))
        parsed.malformedAfterChunks = intField(rule, "malformed_after_chunks", 0);
    if (rule.contains("omit_done")) {
        if (!rule["omit_done"].is_boolean()) throw std::invalid_argument("\"omit_done\" must be a boolean");
        parsed.omitDone = rule["omit_done"].get<bool>();
    }
    if (rule.contains("message")) {
        if (!rule["message"].is_string()) throw std::invalid_argument("\"message\" must be a string");
        parsed.message = rule["message"].get<std::string>();
    }
    if (rule.contains("code")) {
        if (!rule["code"].is_string() || rule["code"].get<std::string>().empty())
            throw std::invalid_argument("\"code\" must be a non-empty string");
        // Only a "status" answer carries it; alone it would silently do nothing.
        if (parsed.status == 0) throw std::invalid_argument("\"code\" needs \"status\"");
        parsed.code = rule["code"].get<std::string>();
    }
    if (rule.contains("reject_prefill")) {
        if (!rule["reject_prefill"].is_boolean()) throw std::invalid_argument("\"reject_prefill\" must be a boolean");
        parsed.rejectPrefill = rule["reject_prefill"].get<bool>();
    }
    if (rule.contains("headers")) {
        const auto& headers = rule["headers"];
        if (!headers.is_object()) throw std::invalid_argument("\"headers\" must be an object of strings");
        for (const auto& item : headers.items()) {
            if (!item.value().is_string()) throw std::invalid_argument("\"headers\" must be an object of strings");
            parsed.headers.emplace_back(item.key(), item.value().get<std::string>());
        }
    }
    return parsed;
}

nlohmann::json FaultRule::toJson() const {
    nlohmann::json out = nlohmann::json::object();
    if (model) out["model"] = *model;
    if (path) out["path"] = *path;
    if (times) out["times"] = *times;
    if (delayFirstByteMs) out["delay_first_byte_ms"] = delayFirstByteMs;
    if (status) out["status"] = status;
    // A 429 always shows what it sends; a retry_after posted without one still echoes.
    if (status == 429 || retryAfter != 1) out["retry_after"] = retryAfter;
    if (resetBeforeFirstByte) out["reset_before_first_byte"] = true;
    if (chunks) out["chunks"] = *chunks;
    if (chunkIntervalMs) out["chunk_interval_ms"] = chunkIntervalMs;
    if (dieAfterChunks) out["die_after_chunks"] = *dieAfterChunks;
    if (hangAfterChunks) out["hang_after_chunks"] = *hangAfterChunks;
    if (sseComments > 0) out["sse_comments"] = sseComments;
    if (commentsAfterChunks) out["comments_after_chunks"] = *commentsAfterChunks;
    if (padBytes > 0) out["pad_bytes"] = padBytes;
    if (stallAfterBytes) out["stall_after_bytes"] = *stallAfterBytes;
    if (message) out["message"] = *message;
    if (code) out["code"] = *code;
    if (rejectPrefill) out["reject_prefill"] = true;
    if (closeDelimited) out["close_delimited"] = true;
    if (cutAfterChunks) out["cut_after_chunks"] = *cutAfterChunks;
    if (rawBody) out["raw_body"] = *rawBody;
    if (noUsage) out["no_usage"] = true;
    if (malformedAfterChunks) out["malformed_after_chunks"] = *malformedAfterChunks;
    if (omitDone) out["omit_done"] = true;
    if (closeWhenIdle) out["close_when_idle"] = true;
    if (!headers.empty()) {
        out["headers"] = nlohmann::json::object();
        for (const auto& [name, value] : headers) out["headers"][name] = value;
    }
    return out;
}

bool FaultRule::matches(const std::string& requestModel, const std::string& requestPath, bool prefill) const {
    if (rejectPrefill && !prefill) return false;
    if (path && *path != requestPath) return false;
    if (model && (requestModel.empty() || !sameModelName(*model, requestModel))) return false;
    return true;
}

void FaultRules::replace(std::vector<FaultRule> rules) {
    std::lock_guard lock(_mutex);
    _rules = std::move(rules);
}

void FaultRules::clear() { replace({}); }

std::optional<FaultRule> FaultRules::take(const std::string& model, const std::string& path, bool prefill) {
    std::lock_guard lock(_mutex);
    for (auto it = _rules.begin(); it != _rules.end(); ++it) {
        if (!it->matches(model, path, prefill)) continue;
        FaultRule chosen = *it;
        if (it->times && --*it->times <= 0) _rules.erase(it);
        return chosen;
    }
    return std::nullopt;
}

nlohmann::json FaultRules::toJson() const {
    std::lock_guard lock(_mutex);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& rule : _rules) list.push_back(rule.toJson());
    return {{"rules", list}};
}

}  // namespace sluice::fake
