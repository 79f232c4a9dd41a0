#include "ecs/attack_map.h"

#include <utility>

namespace drosera::ecs {
namespace {

using Row = std::pair<std::string_view, std::vector<std::string_view>>;

// Names and kill-chain phases as in the MISP mitre-attack-pattern galaxy (ATT&CK).
const std::vector<Technique>& techniques() {
  static const std::vector<Technique> kRows = {
      {"T1046", "Network Service Discovery", "discovery"},
      {"T1059", "Command and Scripting Interpreter", "execution"},
      {"T1078", "Valid Accounts", "initial-access,persistence,privilege-escalation,stealth"},
      {"T1083", "File and Directory Discovery", "discovery"},
      {"T1105", "Ingress Tool Transfer", "command-and-control"},
      {"T1110", "Brute Force", "credential-access"},
      {"T1190", "Exploit Public-Facing Application", "initial-access"},
      {"T1552", "Unsecured Credentials", "credential-access"},
      {"T1552.001", "Credentials In Files", "credential-access"},
      {"T1592", "Gather Victim Host Information", "reconnaissance"},
      {"T1595", "Active Scanning", "reconnaissance"},
      {"T1595.002", "Vulnerability Scanning", "reconnaissance"},
      {"T1595.003", "Wordlist Scanning", "reconnaissance"},
  };
  return kRows;
}

}  // namespace

const std::vector<Technique>& allTechniques() { return techniques(); }

const std::vector<Row>& categoryTable() {
  // From ../shared/misp/crs-category-to-misp-tags.json (its mitre-attack-pattern tags).
  static const std::vector<Row> kRows = {
      {"attack-sqli", {"T1190"}},
      {"attack-xss", {"T1190"}},
      {"attack-rce", {"T1190", "T1059"}},
      {"attack-injection-php", {"T1190"}},
      {"attack-injection-java", {"T1190"}},
      {"attack-injection-generic", {"T1190"}},
      {"attack-ssti", {"T1190"}},
      {"attack-ssrf", {"T1190"}},
      {"attack-lfi", {"T1190", "T1083"}},
      {"attack-rfi", {"T1190", "T1105"}},
      {"attack-fixation", {"T1190"}},
      {"attack-generic", {"T1190"}},
      {"attack-reputation-scanner", {"T1595.002"}},
  };
  return kRows;
}

const std::vector<Row>& trapTable() {
  // drosera's reading of each bait (docs/ecs.md, "ATT&CK").
  static const std::vector<Row> kRows = {
      {"fake_port", {"T1046"}},           // probing a port nothing real listens on
      {"robots", {"T1595.003"}},          // following a Disallow line: path discovery
      {"comment", {"T1592"}},             // acting on a hint read in the page source
      {"hidden_field", {"T1190"}},        // tampering with a form the application built
      {"cookie", {"T1190"}},              // tampering with a cookie the application set
      {"sensitive_file", {"T1552.001"}},  // fetching a fake .env, backup, key file
      {"admin_login", {"T1110"}},         // credentials tried on a fake login
      {"honeytoken", {"T1078"}},          // a credential we handed out, used
  };
  return kRows;
}

const Technique* techniqueById(std::string_view id) {
  for (const auto& t : techniques()) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const Tactic* tacticByPhase(std::string_view phase) {
  // ATT&CK enterprise tactics (https://attack.mitre.org/tactics/enterprise/).
  static const Tactic kTactics[] = {
      {"reconnaissance", "TA0043", "Reconnaissance"},
      {"resource-development", "TA0042", "Resource Development"},
      {"initial-access", "TA0001", "Initial Access"},
      {"execution", "TA0002", "Execution"},
      {"persistence", "TA0003", "Persistence"},
      {"privilege-escalation", "TA0004", "Privilege Escalation"},
      {"defense-evasion", "TA0005", "Defense Evasion"},
      {"stealth", "", "Stealth"},
      {"defense-impairment", "", "Defense Impairment"},
      {"credential-access", "TA0006", "Credential Access"},
      {"discovery", "TA0007", "Discovery"},
      {"lateral-movement", "TA0008", "Lateral Movement"},
      {"collection", "TA0009", "Collection"},
      {"command-and-control", "TA0011", "Command and Control"},
      {"exfiltration", "TA0010", "Exfiltration"},
      {"impact", "TA0040", "Impact"},
  };
  for (const auto& t : kTactics) {
    if (t.phase == phase) return &t;
  }
  return nullptr;
}

namespace {
std::vector<const Technique*> lookup(const std::vector<Row>& table, std::string_view key) {
  std::vector<const Technique*> out;
  for (const auto& [k, ids] : table) {
    if (k != key) continue;
    for (auto id : ids) {
      if (const Technique* t = techniqueById(id)) out.push_back(t);
    }
  }
  return out;
}
}  // namespace

std::vector<const Technique*> techniquesForCategory(std::string_view category) {
  return lookup(categoryTable(), category);
}

std::vector<const Technique*> techniquesForTrap(std::string_view trap_kind) {
  return lookup(trapTable(), trap_kind);
}

}  // namespace drosera::ecs
