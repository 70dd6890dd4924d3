#pragma once
// One verify at a time per credential. After a start or a reload the key
// cache is empty, and a client's many connections arrive with the same key
// at once: each verifying it would spend an argon2 run and a verify slot per
// connection, and each miss counts as a failed attempt of the address until
// its verify ends, so a valid key could be throttled (429) by its own burst.
// The first miss leads; the others wait for its outcome. Thread: any.

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>

#include "KeyCache.h"
#include "sluice/Principal.h"

namespace sluice::auth {

class VerifyFlights {
public:
    // The leader's outcome: the principal of a valid key, or nothing (refused,
    // throttled, unavailable: a follower then takes the ordinary path itself).
    using Outcome = std::optional<Principal>;

    // Publishes the outcome when it goes, on every path out of the lead.
    class Lead {
    public:
        Lead(VerifyFlights& flights, Digest digest, std::promise<Outcome> promise)
            : _flights(&flights), _digest(digest), _promise(std::move(promise)) {}
        Lead(Lead&& other) noexcept
            : _flights(std::exchange(other._flights, nullptr)), _digest(other._digest), _promise(std::move(other._promise)) {}
        Lead& operator=(Lead&&) = delete;
        ~Lead() {
            if (_flights) finish(std::nullopt);
        }
        void finish(Outcome outcome) {
            if (!_flights) return;
            _flights->end(_digest);
            _promise.set_value(std::move(outcome));
            _flights = nullptr;
        }

    private:
        VerifyFlights* _flights;
        Digest _digest;
        std::promise<Outcome> _promise;
    };

    // Leads the verify of `digest`, or follows the one under way.
    std::variant<Lead, std::shared_future<Outcome>> joinOrLead(const Digest& digest) {
        std::lock_guard lock(_mutex);
        if (auto it = _flights.find(digest); it != _flights.end()) return it->second;
        std::promise<Outcome> promise;
        _flights.emplace(digest, promise.get_future().share());
        return Lead(*this, digest, std::move(promise));
    }

private:
    void end(const Digest& digest) {
        std::lock_guard lock(_mutex);
        _flights.erase(digest);
    }

    std::mutex _mutex;
    std::map<Digest, std::shared_future<Outcome>> _flights;
};

} // namespace sluice::auth
