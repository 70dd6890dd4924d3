#pragma once
// affinity: requests that share a conversation prefix (the system prompt and
// the first user turn) go to the same backend while it is available, so that
// backend's prompt cache is reused. Hosts are ranked by rendezvous hashing of
// the prefix with each backend's name: adding a backend moves only the
// conversations it now ranks first for (about 1/n), and when the first
// backend fails the conversation moves to its second choice, the same one on
// every gateway instance. Requests without a prefix keep config order.

#include <cstdint>
#include <optional>
#include <string>

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class AffinityRouter final : public OrderingRouter {
public:
    explicit AffinityRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;
};

// The conversation prefix's hash: system messages before the first user
// message plus that message (chat), or system plus prompt (generate,
// completions). Stable across processes and builds. nullopt: no prefix.
std::optional<std::uint64_t> conversationKey(const nlohmann::json& body);

} // namespace sluice::router
