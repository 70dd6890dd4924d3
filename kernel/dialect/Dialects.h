#pragma once
// Which dialect serves a call on a backend. A new client protocol or backend
// kind is a new dialect and a line here.

#include "Dialect.h"

namespace sluice::kernel {

// The dialect for this route on this backend, or nullptr when the backend
// cannot serve the route's protocol (an Ollama-only call, such as /api/ps,
// on an OpenAI-compatible backend). Dialects live as long as the process.
const Dialect* dialectFor(const Route& route, const Backend& backend);

} // namespace sluice::kernel
