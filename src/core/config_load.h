// Loading, validating and printing the TOML configuration (DESIGN.md decision 10).
// Every error names the file, the line and the key, e.g.
//   "drosera.toml:12: limits.max_body_bytes: must be at least 1 (got 0)".
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace drosera::core {

// Reads and validates `path`. Unknown keys, wrong types and out-of-range values are errors.
Result<Config> loadConfigFile(const std::string& path);
// Same, from text; `name` stands for the file in messages.
Result<Config> loadConfigString(std::string_view text, const std::string& name);
// Checks that need several keys at once (duplicate ports, a listener without TLS material...).
Status validateConfig(const Config& config);
// The full default configuration as TOML, with a comment on every key.
std::string defaultConfigToml();

}  // namespace drosera::core
