#pragma once
// The JSON types a forwarded request's well-known fields must have.
//
// A wrong type ("stream": "yes", "options": 5, "messages": {}) is refused
// here with a 400 naming the field, instead of being forwarded for the
// backend to answer in its own way, or worse, read differently by the
// gateway (which decides streaming and token budgets from these fields)
// and the backend. Fields the gateway does not know pass untouched.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Route.h"

namespace sluice::kernel {

// Empty when every known field has an acceptable type; else the message for
// the 400, naming the first field that has not ("stream must be a boolean").
// null counts as absent.
std::optional<std::string> wrongFieldType(const nlohmann::json& body, const Route& route);

// The first problem of a request body for its route, or nullopt: for the
// agents' APIs (Anthropic Messages, Responses) what the gateway reads and the
// JSON types of the fields it knows, as those APIs check them
// (kernel/translate, RequestCheck::Envelope), whatever backend serves it;
// the translating dialects check the rest before they translate. For the
// others, wrongFieldType().
std::optional<std::string> requestProblem(const nlohmann::json& body, const Route& route);

} // namespace sluice::kernel
