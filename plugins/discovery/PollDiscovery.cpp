#include "PollDiscovery.h"

#include "sluice/BackendTls.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>

namespace sluice::discovery {

namespace {
struct Fetched {
    bool ok = false;
    std::string error;
    nlohmann::json body;
};

Fetched fetch(const Backend& backend, const std::string& path, std::chrono::milliseconds timeout) {
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (backend.scheme == "https") {
            session = std::make_unique<Poco::Net::HTTPSClientSession>(backend.host, backend.port,
                                                                      makeBackendTlsContext(backend));
        } else {
            session = std::make_unique<Poco::Net::HTTPClientSession>(backend.host, backend.port);
        }
        session->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, backend.basePath + path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("User-Agent", "sluice/0.1");
        if (const auto auth = backend.authHeaderValue(); !auth.empty()) request.set(backend.authHeader, auth);
        session->sendRequest(request);
        Poco::Net::HTTPResponse response;
        auto& in = session->receiveResponse(response);
        std::string text;
        Poco::StreamCopier::copyToString(in, text);
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
            return {false, path + " answered " + std::to_string(response.getStatus()), {}};
        auto body = nlohmann::json::parse(text, nullptr, false);
        if (body.is_discarded()) return {false, path + " answered invalid JSON", {}};
        return {true, {}, std::move(body)};
    } catch (const Poco::Exception& e) {
        // displayText() names the failure (refused, timeout), never the token.
        return {false, path + ": " + e.displayText(), {}};
    }
}
} // namespace

std::vector<ModelEntry> parseModelList(const nlohmann::json& answer, BackendKind kind) {
    std::vector<ModelEntry> models;
    const char* listKey = kind == BackendKind::Ollama ? "models" : "data";
    const char* nameKey = kind == BackendKind::Ollama ? "name" : "id";
    if (!answer.is_object() || !answer.contains(listKey) || !answer[listKey].is_array()) return models;
    for (const auto& entry : answer[listKey]) {
        if (!entry.is_object()) continue;
        auto name = entry.find(nameKey);
        if (kind == BackendKind::Ollama && name == entry.end()) name = entry.find("model");
        if (name == entry.end() || !name->is_string() || name->get<std::string>().empty()) continue;
        models.push_back({name->get<std::string>(), entry});
    }
    return models;
}

DiscoveryResult PollDiscovery::poll(const Backend& backend, std::chrono::milliseconds timeout) {
    DiscoveryResult result;
    const auto listPath = backend.kind == BackendKind::Ollama ? "/api/tags" : "/models";
    auto list = fetch(backend, listPath, timeout);
    if (!list.ok) {
        result.error = list.error;
        return result;
    }
    result.ok = true;
    result.models = parseModelList(list.body, backend.kind);
    if (backend.kind == BackendKind::Ollama) {
        // Loaded models are a hint for routing; a failed /api/ps keeps the list.
        auto loaded = fetch(backend, "/api/ps", timeout);
        if (loaded.ok) result.loaded = parseModelList(loaded.body, backend.kind);
    }
    return result;
}

} // namespace sluice::discovery
