#pragma once
// The running gateway's shared state: the current pipeline (swapped whole on
// reload), the forwarder and the process-wide metrics. Request threads take
// a shared_ptr to the pipeline once at the start and use only that one.

#include <atomic>
#include <chrono>
#include <memory>

#include "Pipeline.h"
#include "upstream/Forwarder.h"

namespace sluice::kernel {

class Gateway {
public:
    explicit Gateway(MetricsRegistry& metrics);

    std::shared_ptr<Pipeline> pipeline() const { return _pipeline.load(); }
    // Publishes a new pipeline; returns the old one (still alive while requests use it).
    std::shared_ptr<Pipeline> install(std::shared_ptr<Pipeline> pipeline);

    MetricsRegistry& metrics() { return _metrics; }
    Forwarder& forwarder() { return _forwarder; }
    std::uint64_t generation() const { return _generation.load(); }
    std::chrono::system_clock::time_point loadedAt() const { return _loadedAt.load(); }

private:
    MetricsRegistry& _metrics;
    Forwarder _forwarder;
    std::atomic<std::shared_ptr<Pipeline>> _pipeline;
    std::atomic<std::uint64_t> _generation{0};
    std::atomic<std::chrono::system_clock::time_point> _loadedAt{};
    Gauge& _generationGauge;
    Gauge& _loadedAtGauge;
};

} // namespace sluice::kernel
