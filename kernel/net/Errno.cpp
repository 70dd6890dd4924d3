#include "Errno.h"

#include <cerrno>

namespace sluice::kernel {

// Out of line, in a file of its own: no caller can see it is errno.
int lastErrno() { return errno; }

} // namespace sluice::kernel
