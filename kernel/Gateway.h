#pragma once
// The running gateway's shared state: the current pipeline (swapped whole on
// reload), the forwarder and the process-wide metrics. Request threads take
// a shared_ptr to the pipeline once at the start and use only that one.
// It joins the front (kernel/front) to the upstream side (kernel/upstream):
// neither includes the other, and this header includes nothing of upstream/.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "Pipeline.h"
#include "http/ClientChannel.h"

namespace sluice::kernel {

class Capacity;
class Forwarder;
struct Console;

class Gateway {
public:
    explicit Gateway(MetricsRegistry& metrics);
    ~Gateway();

    std::shared_ptr<Pipeline> pipeline() const { return _pipeline.load(); }
    // Publishes a new pipeline; returns the old one (still alive while requests use it).
    std::shared_ptr<Pipeline> install(std::shared_ptr<Pipeline> pipeline);

    MetricsRegistry& metrics() { return _metrics; }
    // Hands an admitted request to the upstream side, which answers the client
    // (upstream/Forwarder.h).
    void forward(Pipeline& pipeline, RequestContext& ctx, std::string_view body, ClientChannel& client);
    std::uint64_t generation() const { return _generation.load(); }
    // Backend slots and their queue (capacity/Capacity.h).
    const Capacity& capacity() const { return *_capacity; }
    std::chrono::system_clock::time_point loadedAt() const { return _loadedAt.load(); }
    // The operator console, when console.enabled; given once at start,
    // before any request is served, and never changed after.
    void useConsole(std::unique_ptr<Console> console);
    Console* console() const { return _console.get(); }

private:
    // Points the backend slots at the pipeline's redis.url (or this process).
    void shareSlots(Pipeline& pipeline);

    MetricsRegistry& _metrics;
    std::unique_ptr<Capacity> _capacity;  // backend slots and their queue: process-wide, across reloads
    std::unique_ptr<Forwarder> _forwarder;
    std::unique_ptr<Console> _console;
    std::atomic<std::shared_ptr<Pipeline>> _pipeline;
    std::atomic<std::uint64_t> _generation{0};
    std::atomic<std::chrono::system_clock::time_point> _loadedAt{};
    Gauge& _generationGauge;
    Gauge& _loadedAtGauge;
    std::string _slotsUrl;  // where slots are counted now ("" in this process); install()'s thread only
    std::chrono::milliseconds _slotsTtl{0};
};

} // namespace sluice::kernel
