#pragma once
// An AuditRecord as one JSON object and back: the spill file's line format.
// Prompt and answer appear only for records with promptLogged.

#include <optional>

#include <nlohmann/json.hpp>

#include "sluice/AuditRecord.h"

namespace sluice::kernel {

nlohmann::json recordToJson(const AuditRecord& record);
// The record a line held, or nullopt if it is not one (a torn or foreign line).
std::optional<AuditRecord> recordFromJson(const nlohmann::json& json);

} // namespace sluice::kernel
