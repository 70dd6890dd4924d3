#pragma once
// One audit record as a row of the store and back: what the database sink
// writes and what `sluicectl audit tail` reads. Its JSON, the same for every
// output, is sluice/AuditJson.h.

#include "sluice/AuditRecord.h"
#include "sluice/store/AuditStore.h"

namespace sluice::audit {

store::AuditRow toRow(const AuditRecord& record);
// The record a stored row holds (no prompt text: rows read back carry none).
AuditRecord fromRow(const store::AuditRow& row);

} // namespace sluice::audit
