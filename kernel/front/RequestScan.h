#pragma once
// How far a request has arrived, judged by an I/O thread from the bytes read
// so far: is its head in, and how long is its body? A quick look, not the
// parse: ServerRequest reads the head for real (and refuses what is wrong)
// once a worker has it. When the look is unsure it says Hand, and the worker
// reads what is missing itself, as it always could.
// Thread: any (pure functions).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::kernel {

struct HeadScan {
    enum class Kind {
        More,  // the head is not all in yet
        Head,  // the head is in: `bytes` long, its blank line included
        Hand,  // give it to a worker as it is (too long, odd: the parser answers)
    };
    Kind kind = Kind::More;
    std::size_t bytes = 0;
};

// `limit`: the most a head may take (request line, fields and line ends).
// `scanned`: how much of `input` an earlier call looked at and found no end
// in, so a head that comes a byte at a time is not scanned again from its start.
HeadScan scanHead(std::string_view input, std::size_t limit, std::size_t scanned = 0);

struct BodyFraming {
    enum class Kind {
        None,     // no body: neither Content-Length nor Transfer-Encoding
        Length,   // `length` bytes
        Chunked,  // chunked, to be decoded to its end
        Unsure,   // both, several lengths, another coding, another expectation
    };
    Kind kind = Kind::None;
    std::uint64_t length = 0;
    bool expectContinue = false;  // Expect: 100-continue: the client waits for it before its body
};

// The framing `head` (as scanHead found it) declares.
BodyFraming framingOf(std::string_view head);

// Whether `bytes` begin with a whole request: its head, and all of a body
// of at most `maxBody` bytes (a Content-Length, or chunks to the last one).
// False when unsure (odd framing, Expect: 100-continue): the I/O thread then reads it.
bool wholeRequest(std::string_view bytes, std::size_t headLimit, std::size_t maxBody);

// The method and the request target of `head`'s request line, "" when there is none yet.
std::string_view requestMethod(std::string_view head);
std::string_view requestTarget(std::string_view head);

} // namespace sluice::kernel
