#include "SharedKeyCache.h"

#include <nlohmann/json.hpp>

namespace sluice::auth {

namespace {
nlohmann::json limitsToJson(const PrincipalLimits& limits) {
    nlohmann::json out = nlohmann::json::object();
    if (limits.requestsPerMinute) out["rpm"] = *limits.requestsPerMinute;
    if (limits.tokensPerMinute) out["tpm"] = *limits.tokensPerMinute;
    if (limits.concurrentRequests) out["concurrent"] = *limits.concurrentRequests;
    if (limits.queuePriority) out["queue_priority"] = *limits.queuePriority == QueuePriority::Batch ? "batch" : "interactive";
    if (limits.queueWeight) out["queue_weight"] = *limits.queueWeight;
    return out;
}

PrincipalLimits limitsFromJson(const nlohmann::json& in) {
    PrincipalLimits limits;
    if (in.contains("rpm")) limits.requestsPerMinute = in.at("rpm").get<std::uint32_t>();
    if (in.contains("tpm")) limits.tokensPerMinute = in.at("tpm").get<std::uint64_t>();
    if (in.contains("concurrent")) limits.concurrentRequests = in.at("concurrent").get<std::uint32_t>();
    if (in.contains("queue_priority"))
        limits.queuePriority = in.at("queue_priority") == "batch" ? QueuePriority::Batch : QueuePriority::Interactive;
    if (in.contains("queue_weight")) limits.queueWeight = in.at("queue_weight").get<std::uint32_t>();
    return limits;
}
} // namespace

std::string redisEntryKey(const std::string& keyId) { return "sluice:auth:key:" + keyId; }

std::string principalToJson(const Principal& principal) {
    nlohmann::json out;
    out["tenant"] = principal.tenant;
    out["key_id"] = principal.keyId;
    out["tenant_limits"] = limitsToJson(principal.tenantLimits);
    out["key_limits"] = limitsToJson(principal.keyLimits);
    out["allow_all_models"] = principal.allowAllModels;
    out["models"] = principal.allowedModels;
    out["log_prompts"] = principal.logPrompts;
    out["admin"] = principal.admin;
    return out.dump();
}

Principal principalFromJson(const std::string& text) {
    const auto in = nlohmann::json::parse(text);
    Principal principal;
    principal.tenant = in.at("tenant").get<std::string>();
    principal.keyId = in.at("key_id").get<std::string>();
    principal.tenantLimits = limitsFromJson(in.at("tenant_limits"));
    principal.keyLimits = limitsFromJson(in.at("key_limits"));
    principal.allowAllModels = in.at("allow_all_models").get<bool>();
    principal.allowedModels = in.at("models").get<std::vector<std::string>>();
    principal.logPrompts = in.at("log_prompts").get<bool>();
    // An entry an instance of the last release cached has no flag: not an admin.
    principal.admin = in.value("admin", false);
    return principal;
}

SharedKeyCache::SharedKeyCache(std::shared_ptr<redis::Client> client, std::chrono::seconds ttl)
    : _client(std::move(client)), _ttl(ttl) {}

std::optional<SharedKeyCache::Entry> SharedKeyCache::find(const std::string& keyId, const Digest& digest) {
    // One round trip: the entry and the current generation together.
    const auto reply = _client->command({"MGET", redisEntryKey(keyId), kRedisGenerationKey});
    const auto& values = reply.array();
    if (values.size() != 2 || !values[0].isString()) return std::nullopt;
    const std::string generation = values[1].isString() ? values[1].string() : "0";
    try {
        const auto entry = nlohmann::json::parse(values[0].string());
        if (entry.at("digest").get<std::string>() != hex(digest)) return std::nullopt;
        if (entry.at("generation").get<std::string>() != generation) return std::nullopt;
        const auto until = entry.at("until").get<long long>();
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
        if (until <= now) return std::nullopt;
        return Entry{principalFromJson(entry.at("principal").get<std::string>()), until};
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // written by another version, or damaged: verify instead
    }
}

std::string SharedKeyCache::generation() {
    const auto value = _client->get(kRedisGenerationKey);
    return value ? *value : "0";
}

void SharedKeyCache::store(const std::string& keyId, const Digest& digest, const Principal& principal,
                           const std::string& generation, std::chrono::seconds ttl, long long until) {
    nlohmann::json entry;
    entry["until"] = until;
    entry["digest"] = hex(digest);
    entry["generation"] = generation;
    entry["principal"] = principalToJson(principal);
    _client->setex(redisEntryKey(keyId), std::min(ttl, _ttl), entry.dump());
}

void SharedKeyCache::retire(const std::string& subject) {
    static const std::string kKey = "key:";
    if (subject.rfind(kKey, 0) == 0) _client->del({redisEntryKey(subject.substr(kKey.size()))});
    _client->command({"INCR", kRedisGenerationKey});
}

void announceChanges(redis::Client& client, const std::vector<std::string>& keyIds,
                     const std::vector<std::string>& subjects) {
    std::vector<std::string> entries;
    for (const auto& keyId : keyIds) entries.push_back(redisEntryKey(keyId));
    if (!entries.empty()) client.del(entries);
    client.command({"INCR", kRedisGenerationKey});
    for (const auto& subject : subjects) client.publish(kRedisChangesChannel, subject);
}

} // namespace sluice::auth
