// counting: an audit sink for the audit writer's integration tests. It appends
// each record's request id, one per line, to the file `audit.counting.path`,
// and fails every write while the file `audit.counting.fail_flag` exists. Like
// a real sink it is idempotent by request id: an id already in the file (a
// batch sent again after a failure, or replayed after a restart) is not
// appended twice. `audit.counting.records` (optional) names a second file
// that gets each new record as a JSON line (sluice/AuditJson.h, prompt text
// included), for tests that check its fields.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "sluice/AuditJson.h"
#include "sluice/Plugin.h"

namespace {

class CountingSink final : public sluice::AuditSink {
public:
    explicit CountingSink(const sluice::StageSetup& setup)
        : _path(setup.reader.requiredText("counting.path")),
          _failFlag(setup.reader.text("counting.fail_flag")),
          _recordsPath(setup.reader.text("counting.records")) {
        std::ifstream existing(_path);
        for (std::string id; std::getline(existing, id);)
            if (!id.empty()) _seen.insert(id);
    }

    sluice::SinkResult write(const std::vector<sluice::AuditRecord>& batch) override {
        if (!_failFlag.empty() && std::filesystem::exists(_failFlag)) return {false, "fail flag is set"};
        std::ofstream ids(_path, std::ios::app);
        std::ofstream records;
        if (!_recordsPath.empty()) records.open(_recordsPath, std::ios::app);
        for (const auto& record : batch) {
            if (!_seen.insert(record.requestId).second) continue;
            ids << record.requestId << '\n';
            if (records.is_open()) records << sluice::auditRecordJson(record, sluice::AuditText::Include).dump() << '\n';
        }
        ids.flush();
        if (!ids) return {false, "cannot append to " + _path};
        return {};
    }

private:
    std::string _path;
    std::string _failFlag;
    std::string _recordsPath;
    std::set<std::string> _seen;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuditSink("counting", [](const sluice::StageSetup& setup) { return std::make_unique<CountingSink>(setup); });
    registry.declareKeys({"audit.counting.path", "audit.counting.fail_flag", "audit.counting.records"});
}

} // namespace

SLUICE_PLUGIN("counting-sink", "0.0.1", registerStages)
