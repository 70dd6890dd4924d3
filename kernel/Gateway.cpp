#include "Gateway.h"

namespace sluice::kernel {

std::shared_ptr<Pipeline> Gateway::install(std::shared_ptr<Pipeline> pipeline) {
    auto old = _pipeline.exchange(std::move(pipeline));
    _generation.fetch_add(1);
    _loadedAt.store(std::chrono::system_clock::now());
    return old;
}

} // namespace sluice::kernel
