#include "ecs/index_template.h"

#include <nlohmann/json.hpp>

namespace drosera::ecs {

extern const std::string_view kBuiltinIndexTemplate;

std::string_view builtinIndexTemplate() { return kBuiltinIndexTemplate; }

namespace {

// wildcard and match_only_text are Elasticsearch types (7.9 and 7.14); OpenSearch releases
// before 2.15 / 2.12 do not know them. keyword keeps ignore_above so a long URL is kept in
// _source instead of failing the document.
void downgradeForOpenSearch(nlohmann::json& node) {
  if (node.is_object()) {
    auto type = node.find("type");
    if (type != node.end() && type->is_string()) {
      if (*type == "wildcard") {
        *type = "keyword";
        if (!node.contains("ignore_above")) node["ignore_above"] = 8191;
      } else if (*type == "match_only_text") {
        *type = "text";
      }
    }
    for (auto& [k, v] : node.items()) downgradeForOpenSearch(v);
  } else if (node.is_array()) {
    for (auto& v : node) downgradeForOpenSearch(v);
  }
}

}  // namespace

core::Result<std::string> buildIndexTemplate(std::string_view template_json,
                                             const TemplateOptions& options) {
  nlohmann::json t = nlohmann::json::parse(template_json, nullptr, /*allow_exceptions=*/false);
  if (t.is_discarded() || !t.is_object()) {
    return core::Status::invalidArgument("the index template is not a JSON object");
  }
  if (!t.contains("template") || !t["template"].is_object()) {
    return core::Status::invalidArgument("the index template has no \"template\" object");
  }
  t["index_patterns"] = nlohmann::json::array({options.index_pattern});
  t["priority"] = options.priority;
  if (options.data_stream) {
    t["data_stream"] = nlohmann::json::object();
  } else {
    t.erase("data_stream");
  }
  if (options.flavor == Flavor::kOpenSearch) downgradeForOpenSearch(t["template"]);
  return t.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Flavor flavorFromRootAnswer(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("version") && j["version"].is_object()) {
    const auto& v = j["version"];
    auto d = v.find("distribution");
    if (d != v.end() && d->is_string() && *d == "opensearch") return Flavor::kOpenSearch;
  }
  return Flavor::kElasticsearch;
}

}  // namespace drosera::ecs
