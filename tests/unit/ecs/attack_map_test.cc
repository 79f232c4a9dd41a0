// The ATT&CK table against its sources: technique names and tactics as in the MISP galaxy, and
// the category rows as in crs-category-to-misp-tags.json (../shared/misp).
#include "ecs/attack_map.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

namespace drosera::ecs {
namespace {

using nlohmann::json;

json load(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return json::parse(in, nullptr, false);
}

struct GalaxyRow {
  std::string name;
  std::set<std::string> phases;
};

std::map<std::string, GalaxyRow> galaxy() {
  const json g = load(DROSERA_SHARED_DIR "/misp/galaxy/mitre-attack-pattern.subset.json");
  std::map<std::string, GalaxyRow> out;
  for (const auto& v : g["values"]) {
    GalaxyRow r;
    const std::string value = v["value"];
    const std::string id = v["meta"]["external_id"];
    r.name = value.substr(0, value.rfind(" - "));
    for (const auto& k : v["meta"]["kill_chain"]) {
      const std::string s = k;
      r.phases.insert(s.substr(s.find(':') + 1));
    }
    out[id] = r;
  }
  return out;
}

std::set<std::string> split(std::string_view s) {
  std::set<std::string> out;
  while (!s.empty()) {
    const size_t c = s.find(',');
    out.insert(std::string(s.substr(0, c)));
    s = c == std::string_view::npos ? std::string_view() : s.substr(c + 1);
  }
  return out;
}

TEST(AttackMap, TechniquesMatchTheGalaxy) {
  const auto g = galaxy();
  ASSERT_GT(g.size(), 10u);
  for (const auto& t : allTechniques()) {
    SCOPED_TRACE(std::string(t.id));
    auto it = g.find(std::string(t.id));
    if (it == g.end()) {
      // Only parents of sub-techniques the galaxy has may be missing from the subset.
      bool parent = false;
      for (const auto& [id, row] : g) parent |= id.rfind(std::string(t.id) + ".", 0) == 0;
      EXPECT_TRUE(parent) << "neither in the galaxy nor a parent of a galaxy row";
      continue;
    }
    EXPECT_EQ(std::string(t.name), it->second.name);
    EXPECT_EQ(split(t.tactics), it->second.phases);
    for (const auto& phase : split(t.tactics)) {
      EXPECT_NE(tacticByPhase(phase), nullptr) << phase;
    }
  }
}

TEST(AttackMap, CategoriesMatchTheMispTagMapping) {
  const json m = load(DROSERA_SHARED_DIR "/misp/crs-category-to-misp-tags.json");
  const std::regex technique(R"(mitre-attack-pattern="[^"]* - (T\d{4}(\.\d{3})?)\")");
  size_t compared = 0;
  for (const auto& [category, tags] : m.items()) {
    if (category.empty() || category[0] == '_') continue;
    std::vector<std::string> want;
    for (const auto& tag : tags) {
      std::smatch sm;
      const std::string s = tag;
      if (std::regex_search(s, sm, technique)) want.push_back(sm[1]);
    }
    std::vector<std::string> got;
    for (const auto* t : techniquesForCategory(category)) got.emplace_back(t->id);
    EXPECT_EQ(got, want) << category;
    ++compared;
  }
  EXPECT_GT(compared, 15u);
  // Every row of the table is one of the file's categories.
  for (const auto& [category, ids] : categoryTable()) {
    EXPECT_TRUE(m.contains(std::string(category))) << category;
  }
}

TEST(AttackMap, EveryTrapKindHasATechnique) {
  for (const char* kind : {"fake_port", "robots", "comment", "hidden_field", "cookie",
                           "sensitive_file", "admin_login", "honeytoken"}) {
    EXPECT_FALSE(techniquesForTrap(kind).empty()) << kind;
  }
  EXPECT_TRUE(techniquesForTrap("unheard_of").empty());
  EXPECT_TRUE(techniquesForCategory("attack-protocol").empty());
  for (const auto& [kind, ids] : trapTable()) {
    for (auto id : ids) EXPECT_NE(techniqueById(id), nullptr) << id;
  }
}

}  // namespace
}  // namespace drosera::ecs
