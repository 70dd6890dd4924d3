#pragma once
// errno, read through a call the compiler cannot see into. errno's address
// is the thread's, and glibc declares the function that finds it `const`:
// the compiler may ask once per function and keep the answer. Code that may
// park (net/Fiber) between a failed call and its look at errno, or in a
// loop around both, would then read the errno of the thread it ran on
// before. Thread: any.

namespace sluice::kernel {

int lastErrno();

} // namespace sluice::kernel
