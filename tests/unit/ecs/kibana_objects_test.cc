// config/elastic/kibana-dashboard.ndjson: one saved object per line, every reference resolves to
// an object in the file, the dashboard's panels name their references, and every field a
// visualisation aggregates on is mapped by config/elastic/index-template.json with an
// aggregatable type. The panels the seed system had are there, plus traps and attack categories.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ecs/ecs_mapping.h"
#include "ecs/index_template.h"

namespace drosera::ecs {
namespace {

using nlohmann::json;

std::vector<json> objects() {
  std::ifstream in(DROSERA_SOURCE_DIR "/config/elastic/kibana-dashboard.ndjson");
  EXPECT_TRUE(in);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line.substr(0, 200);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// field -> mapping type, from the template's properties.
void types(const json& props, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [k, v] : props.items()) {
    const std::string name = prefix.empty() ? k : prefix + "." + k;
    if (v.contains("properties")) {
      types(v["properties"], name, out);
    } else if (v.contains("type")) {
      out[name] = v["type"];
    }
  }
}

TEST(KibanaObjects, EveryReferenceResolves) {
  const auto objs = objects();
  ASSERT_GE(objs.size(), 10u);
  std::set<std::pair<std::string, std::string>> ids;
  for (const auto& o : objs) {
    ASSERT_TRUE(o.contains("id") && o.contains("type") && o.contains("attributes"));
    EXPECT_TRUE(ids.insert({o["type"].get<std::string>(), o["id"].get<std::string>()}).second)
        << "duplicate " << o["id"];
  }
  for (const auto& o : objs) {
    for (const auto& r : o["references"]) {
      EXPECT_TRUE(ids.count({r["type"].get<std::string>(), r["id"].get<std::string>()}))
          << o["id"] << " refers to missing " << r["type"] << " " << r["id"];
    }
  }
}

TEST(KibanaObjects, DashboardPanelsNameTheirReferences) {
  const auto objs = objects();
  const json* dash = nullptr;
  for (const auto& o : objs) {
    if (o["type"] == "dashboard") dash = &o;
  }
  ASSERT_NE(dash, nullptr);
  const json panels = json::parse(dash->at("attributes").at("panelsJSON").get<std::string>());
  ASSERT_GE(panels.size(), 8u);
  std::set<std::string> ref_names;
  for (const auto& r : (*dash)["references"]) ref_names.insert(r["name"]);
  std::set<std::string> panel_ids;
  for (const auto& p : panels) {
    const std::string pid = p["panelIndex"];
    EXPECT_TRUE(panel_ids.insert(pid).second);
    EXPECT_EQ(p["gridData"]["i"], pid);
    EXPECT_TRUE(ref_names.count(pid + ":" + p["panelRefName"].get<std::string>())) << pid;
  }
  EXPECT_EQ(ref_names.size(), panels.size());
  EXPECT_TRUE(json::parse(dash->at("attributes").at("optionsJSON").get<std::string>()).is_object());
  EXPECT_TRUE(json::parse(dash->at("attributes")
                              .at("kibanaSavedObjectMeta")
                              .at("searchSourceJSON")
                              .get<std::string>())
                  .is_object());
}

TEST(KibanaObjects, LensLayersHaveTheirDataViewAndMappedFields) {
  const json tpl = json::parse(builtinIndexTemplate());
  std::map<std::string, std::string> mapped;
  types(tpl["template"]["mappings"]["properties"], "", mapped);
  const std::set<std::string> aggregatable = {"keyword",  "long",    "ip",   "date",
                                              "wildcard", "boolean", "float"};
  std::set<std::string> fields;
  std::string data_view_title;
  for (const auto& o : objects()) {
    if (o["type"] == "index-pattern") {
      data_view_title = o["attributes"]["title"];
      EXPECT_EQ(o["attributes"]["timeFieldName"], "@timestamp");
    }
    if (o["type"] == "search") {
      for (const auto& c : o["attributes"]["columns"]) {
        EXPECT_TRUE(mapped.count(c.get<std::string>())) << c;
      }
    }
    if (o["type"] != "lens") continue;
    const auto& layers = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"];
    ASSERT_FALSE(layers.empty()) << o["id"];
    std::set<std::string> ref_names;
    for (const auto& r : o["references"]) ref_names.insert(r["name"]);
    for (const auto& [layer_id, layer] : layers.items()) {
      EXPECT_TRUE(ref_names.count("indexpattern-datasource-layer-" + layer_id)) << o["id"];
      std::set<std::string> cols;
      for (const auto& [col_id, col] : layer["columns"].items()) {
        cols.insert(col_id);
        const std::string f = col["sourceField"];
        if (f == "___records___") continue;
        fields.insert(f);
        ASSERT_TRUE(mapped.count(f)) << o["id"] << ": " << f << " is not mapped";
        EXPECT_TRUE(aggregatable.count(mapped[f])) << f << " is " << mapped[f];
        if (col.contains("params") && col["params"].contains("orderBy") &&
            col["params"]["orderBy"].contains("columnId")) {
          EXPECT_TRUE(layer["columns"].contains(col["params"]["orderBy"]["columnId"]));
        }
      }
      std::set<std::string> order(layer["columnOrder"].begin(), layer["columnOrder"].end());
      EXPECT_EQ(order, cols) << o["id"];
    }
  }
  EXPECT_EQ(data_view_title, indexWildcard(EcsBulkConfig().index));
  // The seed's five panels, then traps and attack categories.
  for (const char* f : {"destination.port", "source.ip", "user_agent.original", "@timestamp",
                        "rule.name", "drosera.traps.kind", "drosera.categories"}) {
    EXPECT_TRUE(fields.count(f)) << "no panel on " << f;
  }
}

}  // namespace
}  // namespace drosera::ecs
