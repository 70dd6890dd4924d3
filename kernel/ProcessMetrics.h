#pragma once
// The standard process_* series Prometheus's client libraries export
// (process_cpu_seconds_total, process_resident_memory_bytes, …), read from
// /proc/self when /metrics is scraped, as text to append to the page.
// Rendered here rather than kept in the registry: they are samples of the
// process's state, not counts the gateway keeps.

#include <string>

namespace sluice::kernel {

std::string processMetricsText();

} // namespace sluice::kernel
