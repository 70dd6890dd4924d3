#pragma once
// One audit record as the store keeps it and as JSON, the same for every
// sink and for `sluicectl audit tail --json`.

#include <nlohmann/json.hpp>

#include "sluice/AuditRecord.h"
#include "sluice/store/AuditStore.h"

namespace sluice::audit {

store::AuditRow toRow(const AuditRecord& record);
long long epochMillis(std::chrono::system_clock::time_point time);
// "2026-11-23T18:15:37.123Z"
std::string isoTime(long long epochMs);

// The record without prompt text; field names are the store's column names,
// in the order of the table (ordered_json keeps them so).
nlohmann::ordered_json recordJson(const store::AuditRow& row);
// time, at_ms, request_id, tenant, prompt, answer.
nlohmann::ordered_json promptJson(const store::AuditRow& row);

} // namespace sluice::audit
