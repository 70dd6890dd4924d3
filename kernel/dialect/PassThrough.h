#pragma once
// The dialect for a client and a backend that speak the same protocol: an
// Ollama client to an Ollama backend (or an OpenAI client to either kind, as
// Ollama serves /v1/ too), and an Anthropic Messages or Responses client to
// a backend that serves that API natively. The body goes as it came, unless the model is
// renamed for the backend, the front changed it, or usage has to be asked
// for; answers and frames pass unchanged, but for a usage event the gateway
// asked for and the client did not.

#include "ClientShaped.h"

namespace sluice::kernel {

class PassThrough final : public ClientShaped {
public:
    using ClientShaped::ClientShaped;

    UpstreamRequest request(const DialectCall& call) const override;
    std::optional<ClientAnswer> whole(const DialectCall& call, AnswerJson& answer,
                                      const std::string& contentType, std::chrono::nanoseconds elapsed) const override;
    std::optional<StreamPlan> stream(const DialectCall& call, std::string_view contentType,
                                     std::chrono::steady_clock::time_point started) const override;
};

} // namespace sluice::kernel
