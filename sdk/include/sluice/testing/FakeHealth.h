#pragma once
// A HealthView a test sets by hand: which circuits are open, how many
// requests each backend has in flight, and the time-to-first-byte averages.
// Every backend is available, idle and untimed unless the test says otherwise.
// Set it up before the stage under test reads it: unlike the kernel's, this
// view is not safe to change while other threads read it.
// Part of the SDK's test helpers (Sluice::testing), for plugin authors'
// unit tests; nothing here is used by sluiced.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "sluice/Health.h"

namespace sluice::testing {

class FakeHealth final : public HealthView {
public:
    // A half-open backend is available: its one trial is not yet taken.
    bool isAvailable(const std::string& backend) const override { return !open.contains(backend); }
    int inFlight(const std::string& backend) const override {
        auto it = busy.find(backend);
        return it == busy.end() ? 0 : it->second;
    }
    CircuitState circuit(const std::string& backend) const override {
        if (open.contains(backend)) return CircuitState::Open;
        return halfOpen.contains(backend) ? CircuitState::HalfOpen : CircuitState::Closed;
    }
    std::optional<double> firstByteMillis(const std::string& backend, const std::string& model) const override {
        auto it = firstByte.find({backend, model});
        if (it == firstByte.end()) return std::nullopt;
        return it->second;
    }

    CircuitState modelCircuit(const std::string& backend, const std::string& model) const override {
        return openModels.contains({backend, model}) ? CircuitState::Open : CircuitState::Closed;
    }
    bool isModelAvailable(const std::string& backend, const std::string& model) const override {
        return !openModels.contains({backend, model});
    }

    std::set<std::string> open;                                       // backends whose circuit is open
    std::set<std::pair<std::string, std::string>> openModels;         // (backend, model) circuits open
    std::set<std::string> halfOpen;                                   // backends waiting for their trial
    std::map<std::string, int> busy;                                  // requests in flight per backend
    std::map<std::pair<std::string, std::string>, double> firstByte;  // (backend, model) -> ms
};

} // namespace sluice::testing
