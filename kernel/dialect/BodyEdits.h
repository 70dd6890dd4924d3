#pragma once
// Edits of a client's JSON body made on its bytes, for a pass-through that
// changes one member: the model's name (the backend knows "llama3.2" as
// "llama3.2:latest"), or the ask for a stream's usage.
//
// Why: the other way copies the request's tree, changes it and dumps it
// (10,000 instructions of a proxied request's 112,000, callgrind), and
// reorders the client's members besides. An edit here leaves every other
// byte as the client sent it.
//
// Each returns nullopt when the bytes are not as simple as it needs (a key
// spelled with escapes, the member twice, a value of another type): the
// caller then edits the tree, as before. `body` is a JSON object already
// parsed (parseJson) by the caller.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::kernel {

// `body` with the value of its top-level member `key` (a string, there
// exactly once) replaced by `value`, written as a JSON string.
std::optional<std::string> withStringMember(std::string_view body, std::string_view key, const std::string& value);

// `body` with `member` ("\"name\":value", not already in it) added as its
// first member.
std::optional<std::string> withFirstMember(std::string_view body, std::string_view member);

} // namespace sluice::kernel
