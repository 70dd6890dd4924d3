#pragma once
// The router's answer: backends to try, in order. The forwarder walks it and
// fails over to the next candidate on connect errors, timeouts, 5xx, 429, a
// 404 for the model, or a stream that dies before its first complete chunk.

#include <string>
#include <vector>

namespace sluice {

struct Candidate {
    std::string backend;        // a configured backend name
    std::string upstreamModel;  // the model name to send to that backend
    std::string reason;         // why the router picked it ("priority 1", "resident"): for logs
};

struct RoutePlan {
    std::vector<Candidate> candidates;
    std::string alias;  // the alias the client asked for, if the router expanded one
};

} // namespace sluice
