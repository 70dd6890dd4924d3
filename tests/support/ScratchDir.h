#pragma once
// A fresh folder under the system's temporary directory for one test, removed
// with everything in it when the object goes away. Make it in setUp(), not in
// a fixture's constructor: CppUnit builds every fixture of every suite, run
// or not, and the runner never destroys the ones it does not run.

#include <filesystem>
#include <random>
#include <string>

namespace sluice::test {

struct ScratchDir {
    explicit ScratchDir(const std::string& prefix) {
        std::random_device random;
        path = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(random()));
        std::filesystem::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    std::filesystem::path path;
};

} // namespace sluice::test
