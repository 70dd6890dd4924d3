// libFuzzer target for the configuration path Sluice owns: loadConfig
// (Poco's properties parser, `include`, `${env.NAME}`) on a fuzzed file, then
// ConfigReader's typed getters on what it loaded, on the whole tree and on a
// view of one subtree as a plugin factory gets it.
//
// Invariants: loadConfig returns or throws ConfigError, nothing else, and
// neither crashes nor hangs; it keeps every key of the file (but `include`) with its value expanded;
// every typed getter returns a value that meets its contract (trimmed text,
// a header value without control characters, an integer in its range, a
// list of trimmed non-empty items) or throws ConfigError naming the full
// key, nothing else.
//
// Input layout: byte 0 picks the integer range and the fallbacks; the rest
// is the main file, up to an optional 0xff byte after which comes a second
// file, b.properties, which the main file may include. Includes are followed
// only when every name they list is a plain file name, so a fuzzed
// `include = /dev/zero` is never opened.
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/Ascii.h>
#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "Config.h"
#include "FuzzSupport.h"
#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace {

using sluice::ConfigError;
using sluice::ConfigReader;
using sluice::fuzz::check;
using sluice::fuzz::ignored;
using sluice::fuzz::violated;

constexpr std::string_view kUnsetVariable = "SLUICE_FUZZ_UNSET";

// The parsed file's entries, which Poco shows only to subclasses. The test
// must not list keys the way Config.cpp does: that is under test.
class ParsedFile : public Poco::Util::PropertyFileConfiguration {
public:
    explicit ParsedFile(std::istream& in) : PropertyFileConfiguration(in) {}
    std::vector<std::pair<std::string, std::string>> entries() const { return {begin(), end()}; }

protected:
    ~ParsedFile() override = default;
};

// A folder of its own for the files loadConfig reads, removed at exit. In
// memory where there is /dev/shm: the files are rewritten on every run, and
// on a disk that costs more than the run.
const std::filesystem::path& folder() {
    static const std::filesystem::path path = [] {
        const std::filesystem::path parent = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path();
        std::string pattern = (parent / "sluice-fuzz-properties-XXXXXX").string();
        check(::mkdtemp(pattern.data()) != nullptr, "harness: mkdtemp");
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(folder(), ignored);
        });
        return std::filesystem::path(pattern);
    }();
    return path;
}

void write(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    check(out.good(), "harness: write the properties file");
}

std::string exceptionName(const std::exception& error) {
    if (const auto* poco = dynamic_cast<const Poco::Exception*>(&error)) return std::string(poco->name()) + ": " + poco->displayText();
    return error.what();
}

// Where following a file's includes leads.
enum class Includes {
    Here,       // plain file names: files in the folder, or none
    Elsewhere,  // a path: never opened by the fuzzer
    Directory,  // "." or "..": see the check in LLVMFuzzerTestOneInput
};

Includes whereIncludesLead(const Poco::Util::AbstractConfiguration& file) {
    try {
        auto lead = Includes::Here;
        for (const auto& name : ConfigReader(file).list("include")) {
            if (!std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; }))
                return Includes::Elsewhere;
            if (name == "." || name == "..") lead = Includes::Directory;
        }
        return lead;
    } catch (const std::exception&) {
        return Includes::Here;  // loadConfig stops at the same list, before opening anything
    }
}

bool trimmed(std::string_view text) {
    auto space = [](char c) { return Poco::Ascii::isSpace(c); };
    return text.empty() || (!space(text.front()) && !space(text.back()));
}

// Runs one getter: it returns (and `check` judges the value) or throws
// ConfigError naming the full key.
template <class Get, class Check>
void expectValueOrConfigError(const ConfigReader& reader, const std::string& key, const char* getter, Get&& get, Check&& checkValue) {
    try {
        checkValue(get());
    } catch (const ConfigError& error) {
        check(error.key() == reader.fullKey(key), "a ConfigError names the full key", std::string(getter) + " " + key + ": " + error.what());
    } catch (const Poco::CircularReferenceException& error) {
        // Found by this target: Poco's ${key} expansion gives up after ten
        // levels with its own exception. Named apart so a campaign can go on past it.
        check(false, "a circular ${key} reference is a ConfigError", std::string(getter) + " " + key + ": " + exceptionName(error));
    } catch (const std::exception& error) {
        violated("typed getters throw only ConfigError", std::string(getter) + " " + key + ": " + exceptionName(error));
    }
}

void readEveryWay(const ConfigReader& reader, const std::string& key, std::uint8_t choice) {
    static constexpr std::array<std::pair<std::int64_t, std::int64_t>, 4> kRanges{{
        {0, 100}, {1, 65535}, {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}, {-5, 5}}};
    const auto min = kRanges[choice & 3].first;  // not a structured binding: clang 14 cannot capture one
    const auto max = kRanges[choice & 3].second;
    const std::int64_t fallback = (choice & 4) ? min - (min > std::numeric_limits<std::int64_t>::min() ? 1 : 0) : max;

    try {
        reader.has(key);
    } catch (const std::exception& error) {
        violated("has() does not throw", key + ": " + exceptionName(error));
    }
    expectValueOrConfigError(reader, key, "text", [&] { return reader.text(key, " fall back "); },
                             [&](const std::string& value) { check(trimmed(value), "text() is trimmed", value); });
    expectValueOrConfigError(reader, key, "requiredText", [&] { return reader.requiredText(key); }, [&](const std::string& value) {
        check(!value.empty() && trimmed(value), "requiredText() is trimmed and not empty", value);
    });
    expectValueOrConfigError(reader, key, "headerValue", [&] { return reader.headerValue(key); }, [&](const std::string& value) {
        check(std::none_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
              "headerValue() holds no control character", value);
    });
    expectValueOrConfigError(reader, key, "integer", [&] { return reader.integer(key, fallback, min, max); }, [&](std::int64_t value) {
        check(value == fallback || (value >= min && value <= max), "integer() is in its range or the fallback");
    });
    expectValueOrConfigError(reader, key, "flag", [&] { return reader.flag(key, choice & 8); }, [](bool) {});
    expectValueOrConfigError(reader, key, "millis", [&] { return reader.millis(key, std::chrono::milliseconds(7)); },
                             [](std::chrono::milliseconds value) {
                                 check(value.count() == 7 || (value.count() >= 1 && value.count() <= 24LL * 3600 * 1000),
                                       "millis() is in 1 ms..24 h or the fallback");
                             });
    expectValueOrConfigError(reader, key, "list", [&] { return reader.list(key); }, [](const std::vector<std::string>& items) {
        for (const auto& item : items)
            check(!item.empty() && trimmed(item) && item.find(',') == std::string::npos, "list() items are trimmed, non-empty, without commas", item);
    });
}

void readAll(const Poco::Util::AbstractConfiguration& config, const std::vector<std::pair<std::string, std::string>>& entries,
             std::uint8_t choice) {
    const ConfigReader reader(config);
    for (const auto& [key, value] : entries) readEveryWay(reader, key, choice);
    readEveryWay(reader, "no.such.key", choice);

    // A plugin's view of its subtree, named after the first key's first part.
    if (entries.empty()) return;
    const auto& first = entries.front().first;
    const auto prefix = first.substr(0, first.find('.'));
    if (prefix.empty() || prefix.size() == first.size()) return;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> view(config.createView(prefix));
    const ConfigReader viewReader(*view, prefix + ".");
    for (const auto& [key, value] : entries)
        if (key.starts_with(prefix + ".")) readEveryWay(viewReader, key.substr(prefix.size() + 1), choice);
}

std::vector<std::pair<std::string, std::string>> parse(std::string_view text, Poco::AutoPtr<ParsedFile>& file) {
    std::istringstream in{std::string(text)};
    try {
        file = new ParsedFile(in);
    } catch (const std::exception& error) {
        violated("Poco parses any properties text", exceptionName(error));
    }
    return file->entries();
}

constexpr std::string_view kCrashes = "loadConfig returns or throws, without crashing";
constexpr std::string_view kHangs = "loadConfig returns or throws, without hanging";

enum class LoadEnd { Returned, Crashed, Hung };

// loadConfig in a child process, which may crash or be killed after a few seconds.
LoadEnd loadInChild(const std::filesystem::path& path) {
    const pid_t child = ::fork();
    check(child >= 0, "harness: fork");
    if (child == 0) {
        // A crash here only ends the child: no sanitizer report, no libFuzzer artifact.
        for (const int deadly : {SIGSEGV, SIGBUS, SIGABRT}) std::signal(deadly, SIG_DFL);
        __sanitizer_set_death_callback(nullptr);
        const int devNull = ::open("/dev/null", O_WRONLY);
        ::dup2(devNull, STDERR_FILENO);
        try {
            sluice::kernel::loadConfig(path.string());
        } catch (...) {
            // Which exceptions may leave is checked in the parent.
        }
        ::_exit(0);
    }
    int status = 0;
    for (int waited = 0; waited < 300; ++waited) {
        if (::waitpid(child, &status, WNOHANG) == child)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? LoadEnd::Returned : LoadEnd::Crashed;
        ::usleep(10 * 1000);
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    return LoadEnd::Hung;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // The environment a config file may name, the same in every run.
    ::setenv("SLUICE_FUZZ_TOKEN", "sk-test-123", 1);
    ::setenv("SLUICE_FUZZ_EMPTY", "", 1);
    ::unsetenv(std::string(kUnsetVariable).c_str());
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto choice = data[0];
    const std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto split = all.find('\xff');
    const auto mainText = all.substr(0, split);

    Poco::AutoPtr<ParsedFile> file;
    const auto entries = parse(mainText, file);
    auto includes = whereIncludesLead(*file);
    bool emptyFirstPart = std::any_of(entries.begin(), entries.end(), [](const auto& entry) {
        return entry.first.empty() || entry.first.front() == '.';
    });
    const auto mainPath = folder() / "main.properties";
    const auto otherPath = folder() / "b.properties";
    write(mainPath, mainText);
    std::filesystem::remove(otherPath);
    if (split != std::string_view::npos) {
        const auto otherText = all.substr(split + 1);
        Poco::AutoPtr<ParsedFile> other;
        for (const auto& [key, value] : parse(otherText, other)) emptyFirstPart = emptyFirstPart || key.empty() || key.front() == '.';
        includes = std::max(includes, whereIncludesLead(*other));
        write(otherPath, otherText);
    }
    if (includes == Includes::Elsewhere) {
        readAll(*file, entries, choice);
        return 0;
    }
    if (includes == Includes::Directory || emptyFirstPart) {
        // Found by this target: loadConfig hangs on an include naming a
        // directory (Poco's PropertyFileConfiguration::load waits for eof on
        // a stream that only fails), and overflows the stack on a key whose
        // first part is empty ("= x", ".a = x": Config.cpp's collectKeys
        // lists the keys under "" again and again). Such inputs are tried in
        // a child process, so a run reports them instead of dying or timing
        // out, and a campaign can go on past them.
        if (ignored(kCrashes) && ignored(kHangs)) {
            readAll(*file, entries, choice);
            return 0;
        }
        const auto end = loadInChild(mainPath);
        check(end != LoadEnd::Hung, kHangs);
        if (end == LoadEnd::Crashed && !ignored(kCrashes)) {
            // Again in this process, for the sanitizer's report.
            try {
                sluice::kernel::loadConfig(mainPath.string());
            } catch (...) {
            }
            violated(kCrashes, "it crashed in a child process only");
        }
        if (end != LoadEnd::Returned) {
            readAll(*file, entries, choice);
            return 0;
        }
    }

    Poco::AutoPtr<Poco::Util::AbstractConfiguration> config;
    try {
        config = sluice::kernel::loadConfig(mainPath.string());
    } catch (const ConfigError&) {
        readAll(*file, entries, choice);
        return 0;
    } catch (const Poco::CircularReferenceException& error) {
        check(false, "a circular ${key} reference is a ConfigError", "loadConfig (an include list): " + exceptionName(error));
        return 0;
    } catch (const std::exception& error) {
        violated("loadConfig throws only ConfigError", exceptionName(error));
    }
    // Every key of the main file is there, its value expanded as the file
    // said (the main file's keys win over included ones).
    for (const auto& [key, value] : entries) {
        if (key == "include" || key == "config.dir") continue;
        check(config->hasProperty(key), "loadConfig keeps every key", key);
        check(config->getRawString(key) == sluice::kernel::expandEnvironment(key, value), "loadConfig keeps every value, expanded", key);
    }
    check(!config->hasProperty("include"), "include is not a setting");
    check(config->getRawString("config.dir") == folder().string() + "/", "config.dir is the file's folder", config->getRawString("config.dir"));
    readAll(*config, entries, choice);
    return 0;
}
