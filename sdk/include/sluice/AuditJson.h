#pragma once
// An AuditRecord as JSON, in the one vocabulary of the audit trail: the
// store's column names (audit_records, audit_prompts). The kernel's spill
// file and access log, the jsonl sink and `sluicectl audit tail --json` all
// write through here, so a field has one name wherever an operator meets it;
// a sink of your own can use it too. Times are whole milliseconds, as stored.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Abi.h"
#include "sluice/AuditRecord.h"

namespace sluice {

// Whether auditRecordJson carries the prompt and answer text.
enum class AuditText {
    Omit,     // never: what a log line or an audit row shows
    Include,  // prompt_logged, prompt and answer for a record with promptLogged: a spill file line
};

// time (ISO 8601, UTC), then the columns of audit_records in their order:
// request_id, at_ms, tenant, key_id, client_address, route, requested_model,
// served_backend, served_model, alias, status, failovers, prompt_tokens,
// completion_tokens, first_byte_ms, latency_ms, bytes_in, bytes_out, outcome,
// tokens_estimated, retries, continued_by.
SLUICE_API nlohmann::ordered_json auditRecordJson(const AuditRecord& record, AuditText text = AuditText::Omit);

// The text of a record with promptLogged, as audit_prompts holds it:
// time, request_id, at_ms, tenant, prompt, answer.
SLUICE_API nlohmann::ordered_json auditPromptJson(const AuditRecord& record);

// The record `json` holds (what auditRecordJson wrote, with its text), or
// nullopt when it is not one (no request_id, a field of the wrong type).
// Also reads the names spill files used before ABI 4.0 (time_ms, client,
// model, backend, tokens_in, tokens_out, ttfb_ms), so records spilled by an
// older sluiced are replayed whole after an upgrade.
SLUICE_API std::optional<AuditRecord> auditRecordFromJson(const nlohmann::json& json);

SLUICE_API std::int64_t epochMillis(std::chrono::system_clock::time_point time);
// "2026-11-23T18:15:37.123Z"
SLUICE_API std::string isoTime(std::int64_t epochMs);

} // namespace sluice
