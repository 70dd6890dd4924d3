#include "SlotLimits.h"

#include <charconv>

#include "sluice/ConfigError.h"

namespace sluice::kernel {

int SlotLimits::forModel(const std::string& model) const {
    for (const auto& [name, slots] : perModel)
        if (name == model) return slots;
    return 0;
}

SlotLimits parseSlotLimits(const ConfigReader& reader, const std::string& backendName) {
    const std::string prefix = "backends." + backendName + ".";
    SlotLimits limits;
    limits.total = static_cast<int>(reader.integer(prefix + "slots", 0, 0, 100000));
    const auto key = prefix + "model_slots";
    for (const auto& entry : reader.list(key)) {
        // The last '=' splits: a model name has none, its tag may have ':'.
        const auto split = entry.rfind('=');
        const auto model = split == std::string::npos ? std::string() : entry.substr(0, split);
        int slots = 0;
        const char* first = split == std::string::npos ? nullptr : entry.data() + split + 1;
        const char* last = entry.data() + entry.size();
        const bool number = first && first != last && std::from_chars(first, last, slots).ptr == last;
        if (model.empty() || !number || slots < 1 || slots > 100000)
            throw ConfigError(key, "'" + entry + "' is not MODEL=SLOTS with SLOTS from 1 to 100000");
        if (limits.forModel(model) != 0) throw ConfigError(key, "names " + model + " twice");
        limits.perModel.emplace_back(model, slots);
    }
    return limits;
}

QueueSettings parseQueueSettings(const ConfigReader& reader) {
    QueueSettings settings;
    settings.maxWait = std::chrono::milliseconds(reader.integer("queue.max_wait_ms", 30000, 0, 3600000));
    settings.maxDepth = static_cast<std::size_t>(reader.integer("queue.max_depth", 1000, 0, 1000000));
    return settings;
}

} // namespace sluice::kernel
