// MISP's own rules, applied to what drosera emits, written independently of src/intel so that
// they can catch it out: category/type pairs and sane defaults from describeTypes
// (schemas/pymisp-describeTypes.json), the value checks of MISP's AttributeValidationTool for
// the types drosera emits, object templates (objects/*.definition.json), tag names
// (taxonomies/*.machinetag.json, galaxy/*.json) and the lax JSON schema
// (schemas/pymisp-schema-lax.json) through a small JSON-schema checker for the keywords that
// schema uses (type, properties, required, items, uniqueItems, $ref), which refuses any other.
// Data files: data/misp in the source tree, verbatim copies of the MISP repositories (provenance
// and checksums in data/misp/README.md and data/misp/SHA256SUMS, checked by catalog_test.cc), so
// the suite runs from a clean checkout.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace drosera::testutil {

using nlohmann::json;

inline std::string mispDataDir() { return std::string(DROSERA_SOURCE_DIR) + "/data/misp"; }

inline json readJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "cannot parse " << path;
  return j;
}

// std::regex_match against a pattern compiled once: the fake MISP checks every attribute it
// receives, and compiling a std::regex costs far more than matching it.
inline bool fullMatch(const std::string& v, const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex> compiled;
  const std::regex* re = nullptr;
  {
    std::lock_guard lock(mu);
    auto it = compiled.find(pattern);
    if (it == compiled.end()) it = compiled.emplace(pattern, std::regex(pattern)).first;
    re = &it->second;  // map nodes stay put; a compiled regex is only read from here on
  }
  return std::regex_match(v, *re);
}

// MISP's value rules (AttributeValidationTool) for the types drosera emits. The value must
// also be in the form MISP stores (already normalised): nullopt when it passes.
inline std::optional<std::string> valueProblem(const std::string& type, const std::string& v) {
  if (v.size() > 65535) return "longer than 65535 bytes";
  if (v.empty()) return "empty";
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (space(v.front()) || space(v.back())) return "surrounding whitespace (MISP strips it)";
  for (unsigned char c : v) {
    if (c >= 0xF0) return "4-byte UTF-8 character (MISP turns it into '?')";
  }
  if (type == "ip-src" || type == "ip-dst") {
    char buf[INET6_ADDRSTRLEN];
    in_addr a4{};
    in6_addr a6{};
    if (inet_pton(AF_INET, v.c_str(), &a4) == 1) {
      if (std::string(inet_ntop(AF_INET, &a4, buf, sizeof buf)) != v) return "not canonical IPv4";
      return std::nullopt;
    }
    if (inet_pton(AF_INET6, v.c_str(), &a6) == 1) {
      if (std::string(inet_ntop(AF_INET6, &a6, buf, sizeof buf)) != v) {
        return "IPv6 not compressed (MISP compresses it)";
      }
      return std::nullopt;
    }
    return "IP address has an invalid format.";
  }
  if (type == "port") {
    if (!fullMatch(v, "[1-9][0-9]{0,4}") || std::stoi(v) > 65535) {
      return "Port numbers have to be integers between 1 and 65535.";
    }
    return std::nullopt;
  }
  if (type == "http-method") {
    static const std::set<std::string> kMethods = {
        "OPTIONS",         "GET",        "HEAD",     "POST",     "PUT",
        "DELETE",          "TRACE",      "CONNECT",  "PROPFIND", "PROPPATCH",
        "MKCOL",           "COPY",       "MOVE",     "LOCK",     "UNLOCK",
        "VERSION-CONTROL", "REPORT",     "CHECKOUT", "CHECKIN",  "UNCHECKOUT",
        "MKWORKSPACE",     "UPDATE",     "LABEL",    "MERGE",    "BASELINE-CONTROL",
        "MKACTIVITY",      "ORDERPATCH", "ACL",      "PATCH",    "SEARCH"};
    if (!kMethods.count(v)) return "Unknown HTTP method.";
    return std::nullopt;
  }
  if (type == "hostname" || type == "domain") {
    if (!fullMatch(v, "[A-Za-z0-9.\\-_]+\\.[A-Za-z0-9\\-]{2,}")) {
      return "Hostname has an invalid format.";
    }
    for (char c : v) {
      if (c >= 'A' && c <= 'Z') return "not lower-case (MISP lower-cases it)";
    }
    return std::nullopt;
  }
  if (type == "url" || type == "uri" || type == "user-agent") {
    if (v.find('\n') != std::string::npos) return "Value must not contain new line character.";
    return std::nullopt;
  }
  if (type == "datetime") {
    if (!fullMatch(v, "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?"
                          "(Z|[+-][0-9]{2}:[0-9]{2})")) {
      return "Datetime has to be in the ISO 8601 format.";
    }
    return std::nullopt;
  }
  if (type == "AS" || type == "counter") {
    if (!fullMatch(v, "[0-9]+")) return "not a whole number";
    return std::nullopt;
  }
  if (type == "text" || type == "other" || type == "comment" || type == "pattern-in-traffic") {
    return std::nullopt;
  }
  return "no value check written for type " + type;
}

// A JSON-schema (draft-04) checker for the keywords schema-lax.json uses.
class MiniSchema {
 public:
  explicit MiniSchema(json schema) : root_(std::move(schema)) {}

  // Keywords in the schema that this checker does not implement (must be empty).
  std::set<std::string> unsupportedKeywords() const {
    std::set<std::string> out;
    walk(root_, &out, true);
    return out;
  }

  std::vector<std::string> validate(const json& instance) const {
    std::vector<std::string> errors;
    check(root_, instance, "$", &errors);
    return errors;
  }

 private:
  static bool isKeyword(const std::string& k) {
    static const std::set<std::string> kKnown = {"$schema",     "title",      "id",       "defs",
                                                 "type",        "properties", "required", "items",
                                                 "uniqueItems", "$ref"};
    return kKnown.count(k) > 0;
  }
  void walk(const json& s, std::set<std::string>* out, bool is_schema) const {
    if (!s.is_object()) return;
    for (const auto& [k, v] : s.items()) {
      if (is_schema && !isKeyword(k)) out->insert(k);
      if (k == "properties" || k == "defs") {
        for (const auto& [name, sub] : v.items()) walk(sub, out, true);
      } else if (k == "items") {
        walk(v, out, true);
      }
    }
  }
  static bool typeMatches(const std::string& t, const json& v) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "null") return v.is_null();
    return false;
  }
  void check(const json& s, const json& v, const std::string& path,
             std::vector<std::string>* errors) const {
    if (s.contains("$ref")) {
      const std::string ref = s["$ref"].get<std::string>();
      const std::string prefix = "#/defs/";
      if (ref.rfind(prefix, 0) != 0 || !root_["defs"].contains(ref.substr(prefix.size()))) {
        errors->push_back(path + ": unresolvable $ref " + ref);
        return;
      }
      check(root_["defs"][ref.substr(prefix.size())], v, path, errors);
      return;
    }
    if (s.contains("type")) {
      bool ok = false;
      if (s["type"].is_string()) ok = typeMatches(s["type"].get<std::string>(), v);
      if (s["type"].is_array()) {
        for (const auto& t : s["type"]) ok = ok || typeMatches(t.get<std::string>(), v);
      }
      if (!ok) errors->push_back(path + ": not of type " + s["type"].dump());
    }
    if (s.contains("required") && v.is_object()) {
      for (const auto& k : s["required"]) {
        if (!v.contains(k.get<std::string>())) {
          errors->push_back(path + ": missing required " + k.get<std::string>());
        }
      }
    }
    if (s.contains("properties") && v.is_object()) {
      for (const auto& [k, sub] : s["properties"].items()) {
        if (v.contains(k)) check(sub, v[k], path + "." + k, errors);
      }
    }
    if (s.contains("items") && v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        check(s["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
      }
    }
    if (s.value("uniqueItems", false) && v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        for (size_t j = i + 1; j < v.size(); ++j) {
          if (v[i] == v[j])
            errors->push_back(path + ": items " + std::to_string(i) + " and " + std::to_string(j) +
                              " are equal");
        }
      }
    }
  }
  json root_;
};

class MispRules {
 public:
  static const MispRules& get() {
    static const MispRules rules;
    return rules;
  }

  const json& describe() const { return describe_; }
  const MiniSchema& laxSchema() const { return *lax_; }
  bool tagExists(const std::string& t) const { return tags_.count(t) > 0; }
  const json* objectTemplate(const std::string& name) const {
    auto it = templates_.find(name);
    return it == templates_.end() ? nullptr : &it->second;
  }

  bool categoryAllows(const std::string& category, const std::string& type) const {
    const json& m = describe_["category_type_mappings"];
    if (!m.contains(category)) return false;
    for (const auto& t : m[category]) {
      if (t == type) return true;
    }
    return false;
  }

  std::vector<std::string> checkTag(const json& tag, const std::string& where) const {
    std::vector<std::string> out;
    if (!tag.is_object() || !tag.contains("name") || !tag["name"].is_string()) {
      out.push_back(where + ": tag without a name");
    } else if (!tagExists(tag["name"].get<std::string>())) {
      out.push_back(where + ": tag " + tag["name"].get<std::string>() +
                    " is in no taxonomy or galaxy");
    }
    return out;
  }

  // One attribute (event level, or inside an object when in_object).
  std::vector<std::string> checkAttribute(const json& a, const std::string& where,
                                          bool in_object) const {
    std::vector<std::string> out;
    const auto str = [&](const char* k) { return a.contains(k) && a[k].is_string(); };
    if (!str("type") || !str("category") || !str("value") || !str("uuid")) {
      out.push_back(where + ": type, category, value and uuid must be strings");
      return out;
    }
    const std::string type = a["type"], category = a["category"], value = a["value"];
    if (!describe_["types"].is_array() ||
        std::find(describe_["types"].begin(), describe_["types"].end(), type) ==
            describe_["types"].end()) {
      out.push_back(where + ": unknown type " + type);
    }
    if (!categoryAllows(category, type)) {
      out.push_back(where + ": category " + category + " does not allow type " + type);
    }
    if (auto p = valueProblem(type, value))
      out.push_back(where + ": " + type + " '" + value + "': " + *p);
    if (!fullMatch(a["uuid"].get<std::string>(), "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
      out.push_back(where + ": bad uuid " + a["uuid"].get<std::string>());
    }
    if (!a.contains("to_ids") || !a["to_ids"].is_boolean())
      out.push_back(where + ": to_ids not a boolean");
    if (a.contains("deleted") && (!a["deleted"].is_boolean() || a["deleted"] == true)) {
      out.push_back(where + ": deleted must be false");
    }
    if (a.contains("disable_correlation") && !a["disable_correlation"].is_boolean()) {
      out.push_back(where + ": disable_correlation not a boolean");
    }
    if (a.contains("timestamp") &&
        (!a["timestamp"].is_string() ||
         !fullMatch(a["timestamp"].get<std::string>(), "[0-9]+"))) {
      out.push_back(where + ": timestamp not a string of digits");
    }
    if (a.contains("distribution") &&
        (!a["distribution"].is_string() ||
         !fullMatch(a["distribution"].get<std::string>(), "[0-5]"))) {
      out.push_back(where + ": bad distribution");
    }
    for (const char* k : {"first_seen", "last_seen"}) {
      if (a.contains(k) && valueProblem("datetime", a[k].get<std::string>())) {
        out.push_back(where + ": " + k + " not ISO 8601");
      }
    }
    if (a.contains("first_seen") && a.contains("last_seen") &&
        a["first_seen"].get<std::string>().substr(0, 19) >
            a["last_seen"].get<std::string>().substr(0, 19)) {
      out.push_back(where + ": first_seen after last_seen");
    }
    if (in_object != a.contains("object_relation")) {
      out.push_back(where +
                    (in_object ? ": no object_relation" : ": object_relation outside an object"));
    }
    if (a.contains("Tag")) {
      for (const auto& t : a["Tag"]) {
        auto more = checkTag(t, where);
        out.insert(out.end(), more.begin(), more.end());
      }
    }
    return out;
  }

  std::vector<std::string> checkObject(const json& o, const std::string& where) const {
    std::vector<std::string> out;
    const std::string name = o.value("name", "");
    const json* tpl = objectTemplate(name);
    if (tpl == nullptr) {
      out.push_back(where + ": no template for object " + name);
      return out;
    }
    if (o.value("template_uuid", "") != (*tpl)["uuid"].get<std::string>()) {
      out.push_back(where + ": template_uuid differs from the template");
    }
    if (o.value("template_version", "") != std::to_string((*tpl)["version"].get<int>())) {
      out.push_back(where + ": template_version differs from the template");
    }
    if (o.value("meta-category", "") != (*tpl)["meta-category"].get<std::string>()) {
      out.push_back(where + ": meta-category differs from the template");
    }
    if (o.value("description", "") != (*tpl)["description"].get<std::string>()) {
      out.push_back(where + ": description differs from the template");
    }
    std::map<std::string, int> seen;
    const json& rels = (*tpl)["attributes"];
    for (const auto& a : o.value("Attribute", json::array())) {
      const std::string rel = a.value("object_relation", "");
      const std::string aw = where + "." + rel;
      auto more = checkAttribute(a, aw, true);
      out.insert(out.end(), more.begin(), more.end());
      if (!rels.contains(rel)) {
        out.push_back(aw + ": relation not in the template");
        continue;
      }
      const json& r = rels[rel];
      if (a.value("type", "") != r["misp-attribute"].get<std::string>()) {
        out.push_back(aw + ": type " + a.value("type", "") + " but the template says " +
                      r["misp-attribute"].get<std::string>());
      }
      if (r.contains("categories")) {
        bool ok = false;
        for (const auto& c : r["categories"]) ok = ok || c == a.value("category", "");
        if (!ok) out.push_back(aw + ": category not allowed by the template");
      }
      if (++seen[rel] > 1 && !r.value("multiple", false)) {
        out.push_back(aw + ": relation repeated but not multiple");
      }
    }
    for (const auto& req : tpl->value("required", json::array())) {
      if (!seen.count(req.get<std::string>())) {
        out.push_back(where + ": required relation " + req.get<std::string>() + " missing");
      }
    }
    if (tpl->contains("requiredOneOf")) {
      bool any = false;
      for (const auto& r : (*tpl)["requiredOneOf"]) any = any || seen.count(r.get<std::string>());
      if (!any) out.push_back(where + ": none of requiredOneOf present");
    }
    return out;
  }

  // A whole {"Event": {...}} document, core or feed form.
  std::vector<std::string> checkEvent(const json& doc) const {
    std::vector<std::string> out = lax_->validate(doc);
    if (!doc.contains("Event")) return out;
    const json& e = doc["Event"];
    const auto needStr = [&](const char* k, const char* re) {
      if (!e.contains(k) || !e[k].is_string() ||
          !fullMatch(e[k].get<std::string>(), re)) {
        out.push_back(std::string("Event.") + k + " missing or malformed");
      }
    };
    needStr("uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    needStr("info", "[^\n]{1,256}");
    needStr("date", "[0-9]{4}-[0-9]{2}-[0-9]{2}");
    needStr("threat_level_id", "[1-4]");
    needStr("analysis", "[0-2]");
    needStr("timestamp", "[0-9]+");
    needStr("publish_timestamp", "[0-9]+");
    if (e.contains("distribution")) needStr("distribution", "[0-4]");
    if (!e.contains("published") || !e["published"].is_boolean())
      out.push_back("Event.published not a boolean");
    if (!e.contains("Orgc") || !e["Orgc"].contains("name") || !e["Orgc"].contains("uuid")) {
      out.push_back("Event.Orgc needs name and uuid");
    }
    for (const auto& t : e.value("Tag", json::array())) {
      auto more = checkTag(t, "Event.Tag");
      out.insert(out.end(), more.begin(), more.end());
    }
    std::set<std::string> uuids;
    std::set<std::string> triples;
    for (const auto& a : e.value("Attribute", json::array())) {
      const std::string w = "Attribute " + a.value("type", "?") + " " + a.value("value", "?");
      auto more = checkAttribute(a, w, false);
      out.insert(out.end(), more.begin(), more.end());
      if (!uuids.insert(a.value("uuid", "")).second) out.push_back(w + ": uuid repeated");
      if (!triples
               .insert(a.value("type", "") + "|" + a.value("category", "") + "|" +
                       a.value("value", ""))
               .second) {
        out.push_back(w + ": A similar attribute already exists for this event.");
      }
    }
    for (const auto& o : e.value("Object", json::array())) {
      const std::string w = "Object " + o.value("uuid", "?");
      auto more = checkObject(o, w);
      out.insert(out.end(), more.begin(), more.end());
      if (!uuids.insert(o.value("uuid", "")).second) out.push_back(w + ": uuid repeated");
      for (const auto& a : o.value("Attribute", json::array())) {
        if (!uuids.insert(a.value("uuid", "")).second)
          out.push_back(w + ": attribute uuid repeated");
      }
    }
    return out;
  }

 private:
  MispRules() {
    namespace fs = std::filesystem;
    const std::string dir = mispDataDir();
    describe_ = readJsonFile(dir + "/schemas/pymisp-describeTypes.json")["result"];
    lax_ = std::make_unique<MiniSchema>(readJsonFile(dir + "/schemas/pymisp-schema-lax.json"));
    for (const auto& f : fs::directory_iterator(dir + "/objects")) {
      const std::string n = f.path().filename().string();
      if (!n.ends_with(".definition.json") || n == "relationships.definition.json") continue;
      json t = readJsonFile(f.path().string());
      templates_[t["name"].get<std::string>()] = t;
    }
    for (const auto& f : fs::directory_iterator(dir + "/taxonomies")) {
      if (!f.path().string().ends_with(".machinetag.json")) continue;
      json t = readJsonFile(f.path().string());
      const std::string ns = t["namespace"];
      std::set<std::string> valued;
      for (const auto& v : t.value("values", json::array())) {
        valued.insert(v["predicate"].get<std::string>());
        for (const auto& e : v["entry"]) {
          tags_.insert(ns + ":" + v["predicate"].get<std::string>() + "=\"" +
                       e["value"].get<std::string>() + "\"");
        }
      }
      for (const auto& p : t["predicates"]) {
        if (!valued.count(p["value"].get<std::string>()))
          tags_.insert(ns + ":" + p["value"].get<std::string>());
      }
    }
    json g = readJsonFile(dir + "/galaxy/mitre-attack-pattern.subset.json");
    for (const auto& v : g["values"]) {
      tags_.insert("misp-galaxy:" + g["type"].get<std::string>() + "=\"" +
                   v["value"].get<std::string>() + "\"");
    }
  }
  json describe_;
  std::unique_ptr<MiniSchema> lax_;
  std::map<std::string, json> templates_;
  std::set<std::string> tags_;
};

}  // namespace drosera::testutil
