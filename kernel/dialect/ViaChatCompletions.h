#pragma once
// The part the agents' APIs share when their backend does not serve them:
// the request goes to the backend's Chat Completions endpoint, translated
// (kernel/translate), and its answer comes back translated, whole or as a
// stream of the client's own events. Subclasses say how to translate.

#include "ClientShaped.h"

namespace sluice::kernel {

class ViaChatCompletions : public ClientShaped {
public:
    using ClientShaped::ClientShaped;

    // A request the translation cannot take (a block or item type it has no
    // counterpart for) is answered 400 here: a backend that serves the API
    // natively might have taken it, so the front let it through.
    std::optional<ClientAnswer> ownAnswer(const DialectCall& call) const override;
    UpstreamRequest request(const DialectCall& call) const final;
    std::optional<ClientAnswer> whole(const DialectCall& call, AnswerJson& answer,
                                      const std::string& contentType, std::chrono::nanoseconds elapsed) const final;
    std::optional<StreamPlan> stream(const DialectCall& call, std::string_view contentType,
                                     std::chrono::steady_clock::time_point started) const final;

protected:
    // Why the client's request cannot be translated, or nullopt.
    virtual std::optional<std::string> untranslatable(const DialectCall& call) const = 0;
    // The Chat Completions request for the client's.
    virtual nlohmann::json chatRequest(const DialectCall& call) const = 0;
    // The client's whole answer for a chat completion, or nullopt when it is not one.
    virtual std::optional<std::string> wholeAnswer(const DialectCall& call, const nlohmann::json& completion) const = 0;
    // A filter that turns a chat-completion stream into the client's events.
    virtual std::unique_ptr<StreamFilter> streamFilter(const DialectCall& call) const = 0;
};

// The model name an answer reports: the one the client asked for, so its
// own bookkeeping (and Claude Code's model checks) match what it sent.
const std::string& reportedModel(const DialectCall& call);

} // namespace sluice::kernel
