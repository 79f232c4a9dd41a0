// Loading, validating and printing the TOML configuration (DESIGN.md decision 10).
// Every error names the file, the line and the key, e.g.
//   "drosera.toml:12: limits.max_body_bytes: must be at least 1 (got 0)".
// Pure functions, except loadConfigFile and validateConfigOnHost, which look at this host
// (files, users); all thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace drosera::core {

// Reads and validates `path`: a regular file (a folder, a pipe or a device is refused), then
// loadConfigString, then validateConfigOnHost. Unknown keys, wrong types and out-of-range values
// are errors. `drosera config check` and every start go through here.
Result<Config> loadConfigFile(const std::string& path);
// Same, from text; `name` stands for the file in messages. Does not look at the host: the text
// may name paths and users of another machine (tests, the fuzzer).
Result<Config> loadConfigString(std::string_view text, const std::string& name);
// What each key must be (addresses, URLs, tags...) and the checks that need several keys at once
// (duplicate ports, PROXY protocol without trusted proxies, TLS certificate without its key...).
Status validateConfig(const Config& config);
// What the configuration names on this host: general.user exists (and is not root), the site
// folders (site.root, each listener's site, builtin:<name>) and the TLS files given exist. A
// path this process may not look into passes (config check may run as another user than the
// start).
Status validateConfigOnHost(const Config& config);
// collector.listen: "address:port" -> the IP address to bind ("0.0.0.0" when empty; IPv6 in
// brackets or not) and the port (0: any free port). Errors name collector.listen.
Status parseListenAddress(const std::string& listen, std::string* address, uint16_t* port);
// Why `id` cannot name a sensor, or nothing: 1 to 80 bytes of ASCII letters, digits and
// . _ : @ + - (80: the ids earlier versions made, a 64-byte host name and 7 more, still pass).
// A sensor's name travels in an HTTP header (X-Drosera-Sensor), the store, tags and file names.
std::optional<std::string> sensorIdProblem(std::string_view id);
// The full default configuration as TOML, with a comment on every key.
std::string defaultConfigToml();

}  // namespace drosera::core
