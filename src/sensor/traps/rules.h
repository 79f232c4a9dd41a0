// What every trap kind contributes to the identification rules: ModSecurity rule text in the
// reserved id range with tag 'honeytrap/<kind>', a severity and the captured value in logdata,
// plus the table that turns a matched rule id back into a structured trap hit.
#pragma once

#include <string>
#include <vector>

namespace drosera::sensor::traps {

// kSensor: rules for drosera's own engine, which may match on server facts (TX:DROSERA_*).
// kExport: rules for any ModSecurity v2 (Apache) or v3 (nginx) in front of a real application.
enum class RuleFlavor { kSensor, kExport };

struct RuleSpec {
  int id = 0;
  std::string kind;   // fake_port, robots, comment, hidden_field, cookie, sensitive_file, ...
  std::string bait;   // which bait
};

struct RuleSet {
  std::string text;            // rules with a comment block per bait
  std::vector<RuleSpec> specs;

  void comment(const std::string& lines);  // each line prefixed with "# "
  void rule(const RuleSpec& spec, const std::string& text);
};

// The path a bait's rule matches, with its transformations and how logdata names it. In the
// sensor: the path the site resolved when it chose what to serve (fact "path": an absolute-form
// target's path, backslashes as separators, decoded once and normalised, Site::normalizePath),
// so that a bait served is a bait recorded. Exported: the engine's REQUEST_FILENAME, decoded
// and normalised by the rule.
struct TrapPath {
  std::string variable;    // TX:drosera_path | REQUEST_FILENAME
  std::string transforms;  // the rule's t: actions, from t:none
  std::string logdata;     // %{...} of the variable
};
TrapPath trapPath(RuleFlavor flavor);

// A value inside a double-quoted ModSecurity operator argument (quotes escaped, backslashes
// kept as they are: they belong to regexes).
std::string ruleArg(const std::string& value);
// Escapes a value for use inside a single-quoted action argument (msg, logdata).
std::string actionArg(const std::string& value);
// Escapes a literal for use inside a regular expression.
std::string regexLiteral(const std::string& value);

}  // namespace drosera::sensor::traps
