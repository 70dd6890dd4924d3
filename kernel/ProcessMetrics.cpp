#include "ProcessMetrics.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

namespace sluice::kernel {

namespace {
// The fields of /proc/self/stat after the command's closing parenthesis
// (the name may hold spaces): index 0 is field 3, `state`.
std::vector<std::string> statFields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    std::istringstream rest(close == std::string::npos ? std::string() : line.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;
}

long long bootTime() {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime") {
            long long seconds = 0;
            in >> seconds;
            return seconds;
        }
        std::string skipped;
        std::getline(in, skipped);
    }
    return 0;
}

void series(std::ostringstream& out, const char* name, const char* type, const char* help, double value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}
} // namespace

std::string processMetricsText() {
    const auto fields = statFields();
    if (fields.size() < 22) return {};
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double pageSize = static_cast<double>(::sysconf(_SC_PAGESIZE));
    // Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss): indexes 11, 12, 19, 20, 21.
    const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    const double start = static_cast<double>(bootTime()) + std::stod(fields[19]) / ticks;
    std::size_t open = 0;
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error); !error && it != std::filesystem::directory_iterator();
         it.increment(error))
        ++open;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    std::ostringstream out;
    out.precision(15);
    series(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpu);
    series(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::stod(fields[21]) * pageSize);
    series(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::stod(fields[20]));
    series(out, "process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(open));
    series(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur));
    series(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", start);
    return out.str();
}

} // namespace sluice::kernel
