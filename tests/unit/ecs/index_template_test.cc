// The index template: the compiled-in text is config/elastic/index-template.json, its mappings
// give ECS fields their ECS types, and every field a document can carry is mapped (the template
// says dynamic: false, so an unmapped field would be silently unsearchable).
#include "ecs/index_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "ecs/ecs_mapping.h"
#include "ecs_validator.h"
#include "test_support.h"

namespace drosera::ecs {
namespace {

using nlohmann::json;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const testing::EcsSchema& schema() {
  static const testing::EcsSchema s(DROSERA_SHARED_DIR "/ecs/fields.csv");
  return s;
}

json builtin() { return json::parse(builtinIndexTemplate()); }

// Mapped leaf fields: name -> mapping (multi-fields under "fields" are not leaves here).
void collect(const json& props, const std::string& prefix, std::map<std::string, json>& out) {
  for (const auto& [k, v] : props.items()) {
    const std::string name = prefix.empty() ? k : prefix + "." + k;
    if (v.contains("properties")) {
      collect(v["properties"], name, out);
    } else {
      out[name] = v;
    }
  }
}

// The mapping that applies to a document path: explicit, or dynamic under an object that says
// dynamic: true. Null when the path is not indexed.
const json* mappingFor(const json& mappings, const std::string& path) {
  const json* props = &mappings["properties"];
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string seg = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!props->contains(seg)) return nullptr;
    const json& node = (*props)[seg];
    if (dot == std::string::npos) return &node;
    if (node.contains("dynamic") && node["dynamic"] == true && !node.contains("properties")) {
      return &node;
    }
    if (!node.contains("properties")) return nullptr;
    props = &node["properties"];
    start = dot + 1;
  }
}

void leaves(const json& v, const std::string& path, std::set<std::string>& out) {
  if (v.is_object()) {
    if (path.size() > 9 && path.compare(path.size() - 9, 9, ".location") == 0) {
      out.insert(path);  // geo_point
      return;
    }
    for (const auto& [k, c] : v.items()) leaves(c, path.empty() ? k : path + "." + k, out);
  } else if (v.is_array()) {
    for (const auto& c : v) leaves(c, path, out);
  } else {
    out.insert(path);
  }
}

TEST(IndexTemplate, BuiltinIsTheShippedFile) {
  const std::string file = readFile(DROSERA_SOURCE_DIR "/config/elastic/index-template.json");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(std::string(builtinIndexTemplate()), file);
}

TEST(IndexTemplate, EcsFieldsHaveTheirEcsTypes) {
  ASSERT_TRUE(schema().ok()) << schema().error();
  const json t = builtin();
  std::map<std::string, json> fields;
  collect(t["template"]["mappings"]["properties"], "", fields);
  ASSERT_GT(fields.size(), 50u);
  for (const auto& [name, m] : fields) {
    SCOPED_TRACE(name);
    if (name.rfind("drosera.", 0) == 0) continue;
    const auto* def = schema().find(name);
    ASSERT_NE(def, nullptr) << "not an ECS field";
    ASSERT_TRUE(m.contains("type"));
    EXPECT_EQ(m["type"], def->type);
    if (m.contains("fields")) {
      for (const auto& [sub, sm] : m["fields"].items()) {
        const auto* subdef = schema().find(name + "." + sub);
        ASSERT_NE(subdef, nullptr) << sub;
        EXPECT_EQ(sm["type"], subdef->type);
      }
    }
  }
  EXPECT_EQ(fields["source.ip"]["type"], "ip");
  EXPECT_EQ(fields["source.geo.location"]["type"], "geo_point");
  EXPECT_EQ(fields["@timestamp"]["type"], "date");
}

TEST(IndexTemplate, EveryDocumentFieldIsMapped) {
  const json t = builtin();
  const json& mappings = t["template"]["mappings"];
  EXPECT_EQ(mappings["dynamic"], false);
  EcsMappingConfig cfg;
  cfg.labels = {{"region", "eu"}};
  cfg.include_original = true;
  const EcsMapper mapper(cfg);
  const GeoInfo geo = testing::fullGeo();
  std::set<std::string> paths;
  for (const auto& e : testing::corpus()) leaves(json::parse(mapper.map(e, 1, &geo)), "", paths);
  ASSERT_GT(paths.size(), 60u);
  for (const auto& p : paths) {
    EXPECT_NE(mappingFor(mappings, p), nullptr) << p << " is not mapped";
  }
}

TEST(IndexTemplate, BuildSetsPatternPriorityAndDataStream) {
  TemplateOptions o;
  o.index_pattern = "hp-*";
  o.priority = 321;
  auto body = buildIndexTemplate(builtinIndexTemplate(), o);
  ASSERT_TRUE(body) << body.status().toString();
  json j = json::parse(*body);
  EXPECT_EQ(j["index_patterns"], json::array({"hp-*"}));
  EXPECT_EQ(j["priority"], 321);
  EXPECT_FALSE(j.contains("data_stream"));
  EXPECT_EQ(body->find('\n'), std::string::npos);
  o.data_stream = true;
  j = json::parse(*buildIndexTemplate(builtinIndexTemplate(), o));
  EXPECT_TRUE(j["data_stream"].is_object());
  EXPECT_FALSE(buildIndexTemplate("[1,2]", o));
  EXPECT_FALSE(buildIndexTemplate("{\"index_patterns\":[]}", o));
  EXPECT_FALSE(buildIndexTemplate("{not json", o));
}

TEST(IndexTemplate, OpenSearchGetsTypesItKnows) {
  TemplateOptions o;
  o.flavor = Flavor::kOpenSearch;
  const std::string body = *buildIndexTemplate(builtinIndexTemplate(), o);
  EXPECT_EQ(body.find("\"wildcard\""), std::string::npos);
  EXPECT_EQ(body.find("match_only_text"), std::string::npos);
  std::map<std::string, json> fields;
  collect(json::parse(body)["template"]["mappings"]["properties"], "", fields);
  EXPECT_EQ(fields["url.original"]["type"], "keyword");
  EXPECT_EQ(fields["url.original"]["ignore_above"], 8191);
  EXPECT_EQ(fields["user_agent.original"]["fields"]["text"]["type"], "text");
  EXPECT_EQ(fields["source.ip"]["type"], "ip");
  // Elasticsearch keeps them.
  o.flavor = Flavor::kElasticsearch;
  EXPECT_NE(buildIndexTemplate(builtinIndexTemplate(), o)->find("\"wildcard\""), std::string::npos);
}

TEST(IndexTemplate, FlavorFromTheRootEndpoint) {
  EXPECT_EQ(flavorFromRootAnswer(
                R"({"version":{"distribution":"opensearch","number":"2.11.0"},"tagline":"x"})"),
            Flavor::kOpenSearch);
  EXPECT_EQ(flavorFromRootAnswer(R"({"version":{"number":"8.13.0","build_flavor":"default"}})"),
            Flavor::kElasticsearch);
  EXPECT_EQ(flavorFromRootAnswer("garbage"), Flavor::kElasticsearch);
}

}  // namespace
}  // namespace drosera::ecs
