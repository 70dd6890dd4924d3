#pragma once
// A small Prometheus registry shared by the kernel and plugins. A metric is
// created (or found) by name and labels; the returned reference stays valid
// for the life of the registry, so hot paths look it up once and keep it.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "sluice/Abi.h"

namespace sluice {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class SLUICE_API Counter {
public:
    void inc(std::uint64_t by = 1) { _value.fetch_add(by, std::memory_order_relaxed); }
    std::uint64_t value() const { return _value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> _value{0};
};

class SLUICE_API Gauge {
public:
    void set(std::int64_t v) { _value.store(v, std::memory_order_relaxed); }
    void add(std::int64_t by) { _value.fetch_add(by, std::memory_order_relaxed); }
    std::int64_t value() const { return _value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> _value{0};
};

// Observations in seconds against fixed upper bounds.
class SLUICE_API Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double seconds);
    const std::vector<double>& bounds() const { return _bounds; }
    // Non-cumulative bucket counts (last one is +Inf), the sum in micro-units, and the count.
    std::vector<std::uint64_t> buckets() const;
    double sum() const;
    std::uint64_t count() const;

private:
    std::vector<double> _bounds;
    std::unique_ptr<std::atomic<std::uint64_t>[]> _counts;
    std::atomic<std::uint64_t> _sumMicros{0};
    std::atomic<std::uint64_t> _count{0};
};

// Default latency buckets, 1 ms to 5 min: they span a cached answer and a cold model load.
SLUICE_API std::vector<double> latencyBuckets();

class SLUICE_API MetricsRegistry {
public:
    Counter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help, const MetricLabels& labels = {},
                         const std::vector<double>& bounds = latencyBuckets());

    // Prometheus text exposition format 0.0.4.
    std::string render() const;

private:
    enum class Type { Counter, Gauge, Histogram };
    struct Series {
        MetricLabels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
    };
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, Series> series;  // key: rendered label set
    };
    Series& series(const std::string& name, const std::string& help, Type type, const MetricLabels& labels,
                   const std::vector<double>* bounds);

    mutable std::shared_mutex _mutex;
    std::map<std::string, Family> _families;
};

} // namespace sluice
