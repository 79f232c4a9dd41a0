// Attack categories of rule hits: the OWASP CRS "attack-*" classes, by rule file first (the id's
// first three digits), because libmodsecurity 3.0.9 drops the tags of some rules (942100 among
// them), and by tag second. Data: ../shared/misp/crs-category-to-misp-tags.json uses the same
// keys. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace drosera::core {

// "attack-sqli" for 942100, "" for ids outside the CRS attack files (e.g. 949110, 980130).
std::string categoryOfRule(int rule_id, const std::vector<std::string>& tags);
// The sorted, de-duplicated categories of all hits, plus "honeytrap" when a trap fired.
std::vector<std::string> classify(const std::vector<RuleHit>& rules,
                                  const std::vector<TrapHit>& traps);
// True for rule ids of the CRS scoring/correlation rules (949110, 959100, 980130, ...): they
// summarise other hits and are not evidence by themselves.
bool isScoringRule(int rule_id);

}  // namespace drosera::core
