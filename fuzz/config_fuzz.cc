// Fuzz target: the TOML configuration loader (core::loadConfigString). Input: the file's text.
// Seeds: the default configuration, the shipped examples, small files for each section.
// Invariants:
//  - no exception escapes and nothing crashes, whatever the text (toml11 throws; the loader must
//    turn that into a Status);
//  - a configuration that loads passes validateConfig, and every value is in its documented
//    range (durations finite and not negative...);
//  - an error names the file, and its message is bounded by the input;
//  - loading is deterministic, and a comment appended on a line of its own changes nothing.
#include <cmath>
#include <set>
#include <string>

#include "core/config_load.h"
#include "fuzz_check.h"

namespace {

using drosera::core::Config;
using drosera::core::loadConfigString;

constexpr char kName[] = "fuzz.toml";

bool duration(double s) { return std::isfinite(s) && s >= 0; }

void checkConfig(const Config& c) {
  FUZZ_CHECK(drosera::core::validateConfig(c).isOk());
  FUZZ_CHECK(!c.server.listeners.empty() && !c.server.bind.empty());
  std::set<uint16_t> ports;
  for (const auto& l : c.server.listeners) {
    FUZZ_CHECK(l.kind == "real" || l.kind == "fake");
    FUZZ_CHECK(l.port == 0 || ports.insert(l.port).second);
  }
  FUZZ_CHECK(c.server.persona == "apache" || c.server.persona == "nginx" ||
             c.server.persona == "iis");
  FUZZ_CHECK(c.limits.max_header_line <= c.limits.max_header_bytes);
  FUZZ_CHECK(duration(c.sensor.status_interval_s) && c.sensor.status_interval_s > 0);
  // 0: the persona's own timeouts and idle time (http/timeouts.h).
  FUZZ_CHECK(duration(c.limits.header_timeout_s) &&
             (c.limits.header_timeout_s == 0 || c.limits.header_timeout_s >= 0.05));
  FUZZ_CHECK(duration(c.limits.body_timeout_s) &&
             (c.limits.body_timeout_s == 0 || c.limits.body_timeout_s >= 0.05));
  FUZZ_CHECK(duration(c.limits.keepalive_timeout_s) &&
             (c.limits.keepalive_timeout_s == 0 || c.limits.keepalive_timeout_s >= 0.05));
  FUZZ_CHECK(duration(c.inspection.shutdown_drain_s));
  FUZZ_CHECK(duration(c.inspection.fsync_interval_s) && c.inspection.fsync_interval_s > 0);
  FUZZ_CHECK(duration(c.event_log.fsync_interval_s) && c.event_log.fsync_interval_s > 0);
  FUZZ_CHECK(duration(c.collector.retention_days));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The printed defaults load, and load to a valid configuration.
  const auto defaults = loadConfigString(drosera::core::defaultConfigToml(), kName);
  FUZZ_CHECK(defaults.isOk());
  checkConfig(*defaults);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto r = loadConfigString(text, kName);
  if (r.isOk()) {
    checkConfig(*r);
  } else {
    const std::string& m = r.status().message();
    FUZZ_CHECK(!m.empty());
    FUZZ_CHECK(m.find(kName) != std::string::npos);
    FUZZ_CHECK(m.size() <= 4 * size + 4096);
  }
  const auto again = loadConfigString(text, kName);
  FUZZ_CHECK(again.isOk() == r.isOk());
  if (!r.isOk()) FUZZ_CHECK(again.status().message() == r.status().message());

  if (text.empty() || text.back() == '\n') {
    const auto commented = loadConfigString(text + "# a comment\n", kName);
    FUZZ_CHECK(commented.isOk() == r.isOk());
  }
  return 0;
}
