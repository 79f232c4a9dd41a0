// The ModSecurity v3 adapter: the only code that includes libmodsecurity's headers. It loads
// the engine configuration, the OWASP CRS and any extra rules once, at start-up (bad rules are
// fatal there, naming the file), and runs one Transaction per capture through every phase.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "engine/inspector.h"

namespace drosera::engine {

struct RuleText {
  std::string name;  // shown in errors, e.g. "honeytrap rules"
  std::string text;
};

struct EngineOptions {
  core::EngineConfig config;
  uint64_t request_body_limit = 1048576;
  std::string tmp_dir = "/tmp";          // SecTmpDir / SecDataDir
  std::vector<RuleText> extra_rule_texts; // generated rules (honeytraps), loaded after the CRS
};

// A rule hit's `data` (the rule's logdata, CRS: "Matched Data: ... found within ARGS:a: <the
// whole value>") and `match` (the operator's message, which names the variable) are cut to
// these many bytes, at a character boundary, with " ... (N bytes omitted)" after them:
// ModSecurity v2 cut logdata at 512 bytes, and v3 copies the whole value, so one padded
// argument made every rule that matched it carry a megabyte into the event.
inline constexpr size_t kMaxRuleDataBytes = 512;
inline constexpr size_t kMaxRuleMatchBytes = 512;

// The configuration text handed to ModSecurity (also what `drosera rules show` would print).
// Fails with a clear message when the CRS or another named file is missing.
core::Result<std::string> buildEngineConfig(const EngineOptions& options);

core::Result<std::unique_ptr<Inspector>> makeModSecInspector(const EngineOptions& options);

}  // namespace drosera::engine
