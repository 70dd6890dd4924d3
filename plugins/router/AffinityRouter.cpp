#include "AffinityRouter.h"

#include <algorithm>
#include <map>

namespace sluice::router {

namespace {
// FNV-1a: fixed, so every gateway instance ranks a conversation the same way.
std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 14695981039346656037ULL) {
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    return hash;
}

// splitmix64's finalizer: spreads FNV's weak low bits before comparing scores.
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::string textOf(const nlohmann::json& content) {
    if (content.is_string()) return content.get<std::string>();
    if (content.is_null()) return {};
    return content.dump();  // OpenAI content parts: their JSON is as stable as their text
}
} // namespace

std::optional<std::uint64_t> conversationKey(const nlohmann::json& body) {
    if (!body.is_object()) return std::nullopt;
    std::string prefix;
    if (auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
        for (const auto& message : *messages) {
            if (!message.is_object()) continue;
            // value() would throw on a role that is not a string; a client's odd JSON is not a 500.
            const auto found = message.find("role");
            const auto role = found != message.end() && found->is_string() ? found->get<std::string>() : std::string();
            const auto content = message.contains("content") ? textOf(message["content"]) : std::string();
            prefix += role + '\x1f' + content + '\x1e';
            if (role == "user") break;
        }
    } else {
        if (auto system = body.find("system"); system != body.end()) prefix += "system\x1f" + textOf(*system) + '\x1e';
        if (auto prompt = body.find("prompt"); prompt != body.end()) prefix += "user\x1f" + textOf(*prompt) + '\x1e';
    }
    if (prefix.empty()) return std::nullopt;
    return fnv1a(prefix);
}

void AffinityRouter::order(const RequestContext& ctx, std::vector<Candidate>& step) {
    const auto key = conversationKey(ctx.body);
    if (!key) {
        for (auto& candidate : step) candidate.reason = "affinity: no conversation, priority";
        return;
    }
    std::map<std::string, std::uint64_t> score;
    for (const auto& candidate : step) score.emplace(candidate.backend, mix(fnv1a(candidate.backend, *key)));
    std::stable_sort(step.begin(), step.end(),
                     [&](const Candidate& a, const Candidate& b) { return score[a.backend] > score[b.backend]; });
    for (std::size_t i = 0; i < step.size(); ++i) step[i].reason = "affinity choice " + std::to_string(i + 1);
}

} // namespace sluice::router
