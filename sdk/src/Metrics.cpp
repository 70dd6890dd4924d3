#include "sluice/Metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string_view>

namespace sluice {

Histogram::Histogram(std::vector<double> bounds)
    : _bounds(std::move(bounds)), _counts(new std::atomic<std::uint64_t>[_bounds.size() + 1]) {
    std::sort(_bounds.begin(), _bounds.end());
    for (std::size_t i = 0; i <= _bounds.size(); ++i) _counts[i].store(0);
}

void Histogram::observe(double seconds) {
    auto bucket = static_cast<std::size_t>(std::lower_bound(_bounds.begin(), _bounds.end(), seconds) - _bounds.begin());
    _counts[bucket].fetch_add(1, std::memory_order_relaxed);
    _sumMicros.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6), std::memory_order_relaxed);
    _count.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::buckets() const {
    std::vector<std::uint64_t> counts(_bounds.size() + 1);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = _counts[i].load(std::memory_order_relaxed);
    return counts;
}

double Histogram::sum() const { return static_cast<double>(_sumMicros.load(std::memory_order_relaxed)) / 1e6; }
std::uint64_t Histogram::count() const { return _count.load(std::memory_order_relaxed); }

std::vector<double> latencyBuckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

namespace {
// A label value as the exposition format quotes it, appended in runs: a
// series is looked up by this rendering on every request.
void appendLabelValue(std::string& out, std::string_view value) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        const char* escaped = c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : nullptr;
        if (!escaped) continue;
        out.append(value.substr(run, i - run)).append(escaped);
        run = i + 1;
    }
    out.append(value.substr(run));
}

std::string escapeHelp(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string renderLabels(const MetricLabels& labels, const std::string& extra = {}) {
    if (labels.empty() && extra.empty()) return {};
    std::string out;
    out.reserve(64);
    out += '{';
    for (const auto& [name, value] : labels) {
        if (out.size() > 1) out += ',';
        out.append(name).append("=\"");
        appendLabelValue(out, value);
        out += '"';
    }
    if (!extra.empty()) {
        if (out.size() > 1) out += ',';
        out += extra;
    }
    out += '}';
    return out;
}

std::string formatNumber(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    std::ostringstream out;
    out.precision(10);
    out << value;
    return out.str();
}
} // namespace

MetricsRegistry::Series& MetricsRegistry::series(const std::string& name, const std::string& help, Type type,
                                                 const MetricLabels& labels, const std::vector<double>* bounds) {
    const std::string key = renderLabels(labels);
    {
        std::shared_lock lock(_mutex);
        auto family = _families.find(name);
        if (family != _families.end()) {
            auto found = family->second.series.find(key);
            if (found != family->second.series.end()) {
                if (family->second.type != type) throw std::logic_error("metric type clash: " + name);
                return found->second;
            }
        }
    }
    std::unique_lock lock(_mutex);
    auto& family = _families.try_emplace(name, Family{type, help, {}}).first->second;
    if (family.type != type) throw std::logic_error("metric type clash: " + name);
    auto [it, inserted] = family.series.try_emplace(key);
    if (inserted) {
        it->second.labels = labels;
        if (type == Type::Counter) it->second.counter = std::make_unique<Counter>();
        if (type == Type::Gauge) it->second.gauge = std::make_unique<Gauge>();
        if (type == Type::Histogram) it->second.histogram = std::make_unique<Histogram>(*bounds);
    }
    return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
    return *series(name, help, Type::Counter, labels, nullptr).counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const MetricLabels& labels) {
    return *series(name, help, Type::Gauge, labels, nullptr).gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const MetricLabels& labels,
                                      const std::vector<double>& bounds) {
    return *series(name, help, Type::Histogram, labels, &bounds).histogram;
}

std::string MetricsRegistry::render() const {
    std::shared_lock lock(_mutex);
    std::string out;
    for (const auto& [name, family] : _families) {
        const char* type = family.type == Type::Counter ? "counter" : family.type == Type::Gauge ? "gauge" : "histogram";
        out += "# HELP " + name + ' ' + escapeHelp(family.help) + '\n';
        out += "# TYPE " + name + ' ' + type + '\n';
        for (const auto& [key, s] : family.series) {
            if (s.counter) out += name + key + ' ' + std::to_string(s.counter->value()) + '\n';
            if (s.gauge) out += name + key + ' ' + std::to_string(s.gauge->value()) + '\n';
            if (s.histogram) {
                const auto counts = s.histogram->buckets();
                const auto& bounds = s.histogram->bounds();
                std::uint64_t cumulative = 0;
                for (std::size_t i = 0; i < counts.size(); ++i) {
                    cumulative += counts[i];
                    const double le = i < bounds.size() ? bounds[i] : INFINITY;
                    out += name + "_bucket" + renderLabels(s.labels, "le=\"" + formatNumber(le) + '"') + ' ' +
                           std::to_string(cumulative) + '\n';
                }
                out += name + "_sum" + key + ' ' + formatNumber(s.histogram->sum()) + '\n';
                out += name + "_count" + key + ' ' + std::to_string(cumulative) + '\n';
            }
        }
    }
    return out;
}

} // namespace sluice
