#include "core/classify.h"

#include <algorithm>

namespace drosera::core {

std::string categoryOfRule(int id, const std::vector<std::string>& tags) {
  switch (id / 1000) {
    case 913: return "attack-reputation-scanner";
    case 920:
    case 921: return "attack-protocol";
    case 922: return "attack-multipart-header";
    case 930: return "attack-lfi";
    case 931: return "attack-rfi";
    case 932: return "attack-rce";
    case 933: return "attack-injection-php";
    case 934: return "attack-injection-generic";
    case 941: return "attack-xss";
    case 942: return "attack-sqli";
    case 943: return "attack-fixation";
    case 944: return "attack-injection-java";
    case 950:
    case 951:
    case 952:
    case 953:
    case 954: return "attack-disclosure";
    default: break;
  }
  if (isScoringRule(id)) return "";
  for (const auto& t : tags) {
    if (t.rfind("attack-", 0) == 0) return t;
  }
  return "";
}

bool isScoringRule(int id) {
  const int file = id / 1000;
  return file == 949 || file == 959 || file == 980 || file == 901 || file == 905 ||
         (id >= 200000 && id <= 200010);
}

std::vector<std::string> classify(const std::vector<RuleHit>& rules,
                                  const std::vector<TrapHit>& traps) {
  std::vector<std::string> out;
  for (const auto& r : rules) {
    std::string c = categoryOfRule(r.id, r.tags);
    if (!c.empty()) out.push_back(std::move(c));
  }
  if (!traps.empty()) out.push_back("honeytrap");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace drosera::core
