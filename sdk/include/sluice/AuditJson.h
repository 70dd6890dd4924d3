#pragma once
// An AuditRecord as JSON, in the one vocabulary of the audit trail: the
// store's column names (audit_records, audit_prompts). The kernel's spill
// file and access log, the jsonl sink and `sluicectl audit tail --json` all
// write through here, so a field has one name wherever an operator meets it;
// a sink of your own can use it too. Times are whole milliseconds, as stored.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
// tokens_estimated, retries, continued_by, queue_ms.
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

// Each field auditRecordJson writes without the text, in its order, as
// visit(name, value): the value a std::string_view (valid during the
// call), an integer or a bool. The one list of a record's fields: the JSON,
// the kernel's access log line and a sink of your own that writes its own
// format all go through it, so a new field is added here once. Builds no
// JSON (the access line is written per request).
template <class Visit>
void visitAuditFields(const AuditRecord& record, Visit&& visit) {
    const auto wholeMillis = [](double ms) -> long long { return ms <= 0 ? 0 : std::llround(ms); };
    const auto atMs = epochMillis(record.time);
    visit(std::string_view("time"), std::string_view(isoTime(atMs)));
    visit(std::string_view("request_id"), std::string_view(record.requestId));
    visit(std::string_view("at_ms"), atMs);
    visit(std::string_view("tenant"), std::string_view(record.tenant));
    visit(std::string_view("key_id"), std::string_view(record.keyId));
    visit(std::string_view("client_address"), std::string_view(record.clientAddress));
    visit(std::string_view("route"), std::string_view(record.route));
    visit(std::string_view("requested_model"), std::string_view(record.requestedModel));
    visit(std::string_view("served_backend"), std::string_view(record.servedBackend));
    visit(std::string_view("served_model"), std::string_view(record.servedModel));
    visit(std::string_view("alias"), std::string_view(record.alias));
    visit(std::string_view("status"), record.status);
    visit(std::string_view("failovers"), record.failovers);
    visit(std::string_view("prompt_tokens"), record.tokensIn);
    visit(std::string_view("completion_tokens"), record.tokensOut);
    visit(std::string_view("first_byte_ms"), wholeMillis(record.timeToFirstByteMs));
    visit(std::string_view("latency_ms"), wholeMillis(record.latencyMs));
    visit(std::string_view("bytes_in"), record.bytesIn);
    visit(std::string_view("bytes_out"), record.bytesOut);
    visit(std::string_view("outcome"), std::string_view(outcomeName(record.outcome)));
    visit(std::string_view("tokens_estimated"), record.tokensEstimated);
    visit(std::string_view("retries"), record.retries);
    visit(std::string_view("continued_by"), std::string_view(record.continuedBy));
    visit(std::string_view("queue_ms"), record.queueMs);
}

} // namespace sluice
