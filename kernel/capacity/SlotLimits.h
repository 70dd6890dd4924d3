#pragma once
// How many generations a backend takes at once (docs/capacity.md):
// backends.NAME.slots for the backend as a whole and backends.NAME.model_slots
// for single models on it (`llama3.2:3b=2, qwen2.5:7b=1`: one key, because a
// model name's `:` would end a key in a properties file). 0, the default, is
// no bound: the backend gets what the gateway admits, as before slots.
// Also queue.max_wait_ms and queue.max_depth, which bound the wait for one.

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "sluice/ConfigReader.h"

namespace sluice::kernel {

struct SlotLimits {
    int total = 0;  // 0: no bound
    std::vector<std::pair<std::string, int>> perModel;  // (model, slots), each > 0

    // The bound on one model (0: none of its own).
    int forModel(const std::string& model) const;
    // Nothing is bounded: requests never count against slots or queue.
    bool unbounded() const { return total == 0 && perModel.empty(); }
};

// backends.NAME.slots and backends.NAME.model_slots. Throws ConfigError naming the key.
SlotLimits parseSlotLimits(const ConfigReader& reader, const std::string& backendName);

struct QueueSettings {
    std::chrono::milliseconds maxWait{30000};  // queue.max_wait_ms
    std::size_t maxDepth = 1000;               // queue.max_depth: requests waiting, across models
};

QueueSettings parseQueueSettings(const ConfigReader& reader);

} // namespace sluice::kernel
