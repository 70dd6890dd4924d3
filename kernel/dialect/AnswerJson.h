#pragma once
// A backend's whole answer: its bytes, checked once for being JSON, and read
// only as far as its dialect needs.
//
// Why: a pass-through answer goes to the client byte for byte; the gateway
// needs to know only that it is JSON and what tokens it reports. Building
// nlohmann's tree of it cost more than the rest of a proxied request
// together (44,000 instructions for a 276-byte answer; simdjson checks it
// and reads the counts in about 3,000: parseJsonFields). A translating
// dialect still asks for the tree, built on first ask.
//
// Thread: one answer on one thread at a time.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/RequestContext.h"

namespace sluice::kernel {

class AnswerJson {
public:
    explicit AnswerJson(std::string bytes);
    AnswerJson(const AnswerJson&) = delete;
    AnswerJson& operator=(const AnswerJson&) = delete;

    // Whether the bytes are one JSON value nested at most kMaxJsonDepth deep,
    // exactly as parseJson decides.
    bool valid() const { return _valid; }
    // The parsed value (a discarded one when not valid), built on first ask.
    const nlohmann::json& tree();
    // The token counts the answer reports, as readUsage reads them.
    Usage usage() const;
    // The bytes, for the client. Ask for the tree before: it is built from them.
    std::string takeBytes() { return std::move(_bytes); }

private:
    std::string _bytes;
    nlohmann::json _countFields;  // the fields that carry counts, read at once (parseJsonFields)
    bool _valid;
    std::optional<nlohmann::json> _tree;  // on first ask
};

} // namespace sluice::kernel
