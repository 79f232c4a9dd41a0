#include "sensor/traps/rules.h"

namespace drosera::sensor::traps {

void RuleSet::comment(const std::string& lines) {
  size_t start = 0;
  while (start <= lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    text += "# " + lines.substr(start, end - start) + "\n";
    start = end + 1;
  }
}

void RuleSet::rule(const RuleSpec& spec, const std::string& rule_text) {
  specs.push_back(spec);
  text += rule_text;
  if (!rule_text.empty() && rule_text.back() != '\n') text += '\n';
}

std::string ruleArg(const std::string& value) {
  // ModSecurity (v2 and v3) keeps backslashes in quoted arguments as they are (regexes rely on
  // it); only a quote needs one. Bait values are restricted to safe characters at start.
  std::string out;
  for (char c : value) {
    if (c == '"') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

std::string actionArg(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') continue;
    out += c;
  }
  return out;
}

TrapPath trapPath(RuleFlavor flavor) {
  if (flavor == RuleFlavor::kSensor) return {"TX:drosera_path", "t:none", "%{TX.drosera_path}"};
  return {"REQUEST_FILENAME", "t:none,t:urlDecodeUni,t:normalizePath", "%{REQUEST_FILENAME}"};
}

std::string regexLiteral(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace drosera::sensor::traps
