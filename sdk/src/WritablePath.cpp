#include "sluice/WritablePath.h"

#include <unistd.h>

namespace sluice {

std::string whyNotWritable(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code error;
    const auto target = fs::absolute(path, error).lexically_normal();
    auto at = target;
    if (error) return "cannot resolve " + path.string() + ": " + error.message();
    while (!fs::exists(at, error)) {
        if (error) return "cannot look at " + at.string() + ": " + error.message();
        if (at == at.root_path()) return "no folder above " + path.string() + " exists";
        at = at.parent_path();
    }
    if (at != target && !fs::is_directory(at, error)) return at.string() + " is not a folder";
    if (::access(at.c_str(), W_OK) != 0) return at.string() + " is not writable";
    return {};
}

} // namespace sluice
