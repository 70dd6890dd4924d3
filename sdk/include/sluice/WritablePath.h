#pragma once
// Whether a place a stage would write to can be written, found out without
// writing: for stages built for a check (BuildPurpose::Check in
// sluice/Plugin.h), which validate where they would write but make nothing.

#include <filesystem>
#include <string>

#include "sluice/Abi.h"

namespace sluice {

// "" when `path` is a writable file or folder, or is not there yet and the
// nearest folder above it that is there is writable (so it, and the folders
// between, could be made); otherwise why not ("/srv/audit is not a folder",
// "/srv is not writable").
SLUICE_API std::string whyNotWritable(const std::filesystem::path& path);

} // namespace sluice
