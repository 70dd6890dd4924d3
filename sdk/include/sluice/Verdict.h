#pragma once
// What a stage tells the kernel to do next. Stages answer with a verdict,
// never by throwing: an exception escaping a stage becomes a 500.

namespace sluice {

enum class Verdict {
    // The stage did its part (for example set ctx.principal); run the next stage.
    Continue,
    // The stage set ctx.reply (an error answer); the kernel sends it in the
    // client's protocol shape and runs no further stage.
    Respond,
};

} // namespace sluice
