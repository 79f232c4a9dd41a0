#include "intel/catalog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace drosera::intel {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uint64_t kMaxDataFileBytes = 16ull << 20;

core::Result<json> readJson(const fs::path& p) {
  std::error_code ec;
  const uint64_t size = fs::file_size(p, ec);
  if (ec) return core::Status::notFound("cannot read " + p.string() + ": " + ec.message());
  if (size > kMaxDataFileBytes) {
    return core::Status::resourceExhausted(p.string() + " is too large");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return core::Status::ioError("cannot open " + p.string());
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return core::Status::invalidArgument(p.string() + " is not valid JSON");
  return j;
}

std::vector<fs::path> filesEnding(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string strOr(const json& j, const char* key, const std::string& dflt = "") {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : dflt;
}

std::vector<std::string> strList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array()) {
    for (const auto& v : j[key]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace

void MispCatalog::addTag(const std::string& tag, const std::string& colour) {
  tags_.insert(tag);
  if (!colour.empty()) colours_[tag] = colour;
}

std::string MispCatalog::tagColour(std::string_view tag) const {
  auto it = colours_.find(std::string(tag));
  return it == colours_.end() ? "#ffffff" : it->second;
}

const ObjectTemplate* MispCatalog::objectTemplate(std::string_view name) const {
  auto it = templates_.find(name);
  return it == templates_.end() ? nullptr : &it->second;
}

const std::vector<std::string>& MispCatalog::crsTags(std::string_view category) const {
  static const std::vector<std::string> kNone;
  auto it = crs_.find(std::string(category));
  return it == crs_.end() ? kNone : it->second;
}

core::Result<MispCatalog> MispCatalog::load(const std::string& dir_text) {
  MispCatalog c;
  const fs::path dir(dir_text);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return core::Status::notFound("MISP data folder " + dir_text + " does not exist");
  }

  // Taxonomies: namespace:predicate, or namespace:predicate="value" where values exist.
  const auto taxonomies = filesEnding(dir / "taxonomies", ".machinetag.json");
  if (taxonomies.empty()) {
    return core::Status::notFound("no taxonomies in " + (dir / "taxonomies").string());
  }
  for (const fs::path& p : taxonomies) {
    auto j = readJson(p);
    if (!j) return j.status();
    const std::string ns = strOr(*j, "namespace");
    if (ns.empty() || !j->contains("predicates") || !(*j)["predicates"].is_array()) {
      return core::Status::invalidArgument(p.string() + " is not a MISP taxonomy");
    }
    std::set<std::string> with_values;
    if (j->contains("values") && (*j)["values"].is_array()) {
      for (const auto& v : (*j)["values"]) {
        const std::string pred = strOr(v, "predicate");
        if (pred.empty() || !v.contains("entry") || !v["entry"].is_array()) continue;
        with_values.insert(pred);
        for (const auto& e : v["entry"]) {
          const std::string value = strOr(e, "value");
          if (value.empty()) continue;
          c.addTag(ns + ":" + pred + "=\"" + value + "\"", strOr(e, "colour"));
        }
      }
    }
    for (const auto& pr : (*j)["predicates"]) {
      const std::string pred = strOr(pr, "value");
      if (pred.empty() || with_values.count(pred)) continue;
      c.addTag(ns + ":" + pred, strOr(pr, "colour"));
    }
  }

  // Galaxy clusters: their tag_name (misp-galaxy:<type>="<value>").
  for (const fs::path& p : filesEnding(dir / "galaxy", ".json")) {
    auto j = readJson(p);
    if (!j) return j.status();
    if (!j->contains("values") || !(*j)["values"].is_array()) continue;  // a galaxy definition
    const std::string type = strOr(*j, "type");
    for (const auto& v : (*j)["values"]) {
      std::string tag = strOr(v, "tag_name");
      if (tag.empty() && !type.empty() && v.contains("value")) {
        tag = "misp-galaxy:" + type + "=\"" + strOr(v, "value") + "\"";
      }
      if (!tag.empty()) c.addTag(tag);
    }
  }

  // Object templates.
  for (const fs::path& p : filesEnding(dir / "objects", ".definition.json")) {
    if (p.filename() == "relationships.definition.json") continue;
    auto j = readJson(p);
    if (!j) return j.status();
    ObjectTemplate t;
    t.name = strOr(*j, "name");
    t.uuid = strOr(*j, "uuid");
    t.description = strOr(*j, "description");
    t.meta_category = strOr(*j, "meta-category");
    if (j->contains("version") && (*j)["version"].is_number_integer()) {
      t.version = (*j)["version"].get<int>();
    }
    if (t.name.empty() || t.uuid.empty() || !j->contains("attributes") ||
        !(*j)["attributes"].is_object()) {
      return core::Status::invalidArgument(p.string() + " is not a MISP object template");
    }
    for (const auto& [rel, a] : (*j)["attributes"].items()) {
      TemplateRelation r;
      r.type = strOr(a, "misp-attribute");
      r.categories = strList(a, "categories");
      r.multiple =
          a.contains("multiple") && a["multiple"].is_boolean() && a["multiple"].get<bool>();
      r.disable_correlation = a.contains("disable_correlation") &&
                              a["disable_correlation"].is_boolean() &&
                              a["disable_correlation"].get<bool>();
      if (a.contains("to_ids") && a["to_ids"].is_boolean()) r.to_ids = a["to_ids"].get<bool>();
      t.relations.emplace(rel, std::move(r));
    }
    t.required = strList(*j, "required");
    t.required_one_of = strList(*j, "requiredOneOf");
    std::string name = t.name;
    c.templates_.emplace(std::move(name), std::move(t));
  }

  // The CRS mapping: only the "attack-*" keys are categories.
  auto crs = readJson(dir / "crs-category-to-misp-tags.json");
  if (!crs) return crs.status();
  for (const auto& [key, tags] : crs->items()) {
    if (key.rfind("attack-", 0) != 0 || !tags.is_array()) continue;
    std::vector<std::string> list;
    for (const auto& t : tags) {
      if (t.is_string()) list.push_back(t.get<std::string>());
    }
    c.crs_[key] = std::move(list);
  }
  if (c.crs_.empty()) {
    return core::Status::invalidArgument((dir / "crs-category-to-misp-tags.json").string() +
                                         " maps no attack-* category");
  }
  return c;
}

}  // namespace drosera::intel
