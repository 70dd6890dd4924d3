#include "CommandLine.h"

#include <charconv>
#include <cstdlib>

namespace sluicectl {

namespace {
const std::set<std::string> kGlobalValued = {"--config", "--url"};
const std::set<std::string> kGlobalSwitches = {"--json"};
} // namespace

CommandLine::CommandLine(const std::vector<std::string>& args, const std::set<std::string>& valued) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& arg = args[i];
        if (!arg.starts_with("--")) {
            _words.push_back(arg);
            continue;
        }
        const auto equals = arg.find('=');
        const auto name = arg.substr(0, equals);
        const bool takesValue = valued.count(name) != 0 || kGlobalValued.count(name) != 0;
        if (!takesValue) {
            if (equals != std::string::npos) throw UsageError(name + " takes no value");
            _switches.insert(name);
            continue;
        }
        if (equals != std::string::npos) {
            _values[name] = arg.substr(equals + 1);
        } else if (i + 1 < args.size()) {
            _values[name] = args[++i];
        } else {
            throw UsageError(name + " needs a value");
        }
    }
}

const std::string& CommandLine::word(std::size_t n, const std::string& what) const {
    if (n >= _words.size()) throw UsageError("missing " + what);
    return _words[n];
}

std::optional<std::string> CommandLine::value(const std::string& name) const {
    const auto found = _values.find(name);
    if (found == _values.end()) return std::nullopt;
    return found->second;
}

bool CommandLine::has(const std::string& name) const { return _switches.count(name) != 0 || _values.count(name) != 0; }

std::string CommandLine::configPath(const std::string& what) const {
    if (auto path = value("--config")) return *path;
    if (const char* env = std::getenv("SLUICE_CONFIG"); env != nullptr && *env != '\0') return env;
    throw UsageError("this command needs --config FILE (or SLUICE_CONFIG) to find " + what);
}

void CommandLine::allow(const std::string& command, const std::set<std::string>& options, std::size_t maxWords) const {
    auto check = [&](const std::string& name) {
        if (options.count(name) == 0 && kGlobalValued.count(name) == 0 && kGlobalSwitches.count(name) == 0)
            throw UsageError("unknown option " + name + " for '" + command + "'");
    };
    for (const auto& name : _switches) check(name);
    for (const auto& [name, value] : _values) check(name);
    if (_words.size() > maxWords) throw UsageError("unexpected argument '" + _words[maxWords] + "' for '" + command + "'");
}

std::optional<std::int64_t> CommandLine::number(const std::string& name, std::int64_t min, std::int64_t max) const {
    const auto text = value(name);
    if (!text) return std::nullopt;
    std::int64_t parsed = 0;
    const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (error != std::errc() || end != text->data() + text->size() || parsed < min || parsed > max)
        throw UsageError(name + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
                         ", not '" + *text + "'");
    return parsed;
}

std::optional<bool> CommandLine::onOff(const std::string& name) const {
    const auto text = value(name);
    if (!text) return std::nullopt;
    if (*text == "on") return true;
    if (*text == "off") return false;
    throw UsageError(name + " must be on or off, not '" + *text + "'");
}

std::optional<std::vector<std::string>> CommandLine::list(const std::string& name) const {
    const auto text = value(name);
    if (!text) return std::nullopt;
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text->size()) {
        auto comma = text->find(',', start);
        if (comma == std::string::npos) comma = text->size();
        auto item = text->substr(start, comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(0, 1);
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
    }
    if (items.empty()) throw UsageError(name + " needs at least one name");
    return items;
}

} // namespace sluicectl
