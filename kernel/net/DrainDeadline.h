#pragma once
// The end of SIGTERM's drain time (`server.drain_s`), seen by every upstream
// wait in the process at once: an eventfd that becomes readable for good
// when the deadline passes. Each wait on a backend polls it beside the
// backend's socket, so a request still waiting then ends at once, with the
// protocol's error (a 503 before any byte, an error frame mid-stream),
// instead of holding the process past its deadline.
// Thread: any.

namespace sluice::kernel::drain {

// The descriptor to poll for POLLIN; -1 if the eventfd could not be made
// (then only the backends' own time-outs end requests).
int fd();
// The deadline has passed: wake every waiter, now and from now on.
void end();
bool ended();

} // namespace sluice::kernel::drain
