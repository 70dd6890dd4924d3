#include "DrainDeadline.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace sluice::kernel::drain {

namespace {
std::atomic<bool> passed{false};
int descriptor() {
    static const int made = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return made;
}
} // namespace

int fd() { return descriptor(); }

void end() {
    if (passed.exchange(true)) return;
    // Never read back: the counter stays above zero, so every later poll sees it too.
    const std::uint64_t one = 1;
    if (descriptor() >= 0) [[maybe_unused]] auto written = ::write(descriptor(), &one, sizeof one);
}

bool ended() { return passed.load(); }

} // namespace sluice::kernel::drain
