// MITRE ATT&CK techniques for what a honeypot sees: CRS attack categories and honeytrap kinds.
// The table is data taken from ../shared/misp (crs-category-to-misp-tags.json for the
// categories, the mitre-attack-pattern galaxy for names, references and tactics); the trap rows
// are drosera's own reading of each bait (docs/ecs.md). tests/unit/ecs/attack_map_test.cc checks
// the table against those files. Pure functions over static data; thread-safe.
#pragma once

#include <string_view>
#include <vector>

namespace drosera::ecs {

struct Technique {
  std::string_view id;       // "T1190", "T1595.002"
  std::string_view name;     // "Exploit Public-Facing Application"
  std::string_view tactics;  // kill-chain phases, comma-separated: "initial-access"
};

struct Tactic {
  std::string_view phase;  // "initial-access"
  std::string_view id;     // "TA0001"; empty when not known here
  std::string_view name;   // "Initial Access"
};

// Techniques for an attack category ("attack-sqli") or a trap kind ("sensitive_file").
// Empty for categories that are not an attack technique (attack-protocol...).
std::vector<const Technique*> techniquesForCategory(std::string_view category);
std::vector<const Technique*> techniquesForTrap(std::string_view trap_kind);
// The technique row for an id, including parents of sub-techniques ("T1595" for "T1595.002").
const Technique* techniqueById(std::string_view id);
const Tactic* tacticByPhase(std::string_view phase);
// Every row (the test compares them with the galaxy).
const std::vector<Technique>& allTechniques();
// Category -> technique ids, trap kind -> technique ids (the test compares the first with
// crs-category-to-misp-tags.json).
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& categoryTable();
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& trapTable();

}  // namespace drosera::ecs
