#pragma once
// An AuditRecord as one JSON object and back: the spill file's line format.
// Prompt and answer appear only for records with promptLogged.

#include <optional>

#include <nlohmann/json.hpp>

#include "sluice/AuditRecord.h"

namespace sluice::kernel {

// The outcome's name ("ok", "refused-auth", …). The SDK's outcomeName() says
// the same but is not exported from libsluice-sdk, so the kernel keeps its own.
const char* auditOutcomeName(Outcome outcome);

nlohmann::json recordToJson(const AuditRecord& record);
// The record a line held, or nullopt if it is not one (a torn or foreign line).
std::optional<AuditRecord> recordFromJson(const nlohmann::json& json);

} // namespace sluice::kernel
