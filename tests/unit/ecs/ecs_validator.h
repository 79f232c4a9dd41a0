// Checks a document against the ECS field definitions (../shared/ecs/fields.csv): every leaf is
// an ECS field (or under drosera.*, or under an ECS object/flattened/nested field such as
// labels), and its JSON value fits the field's type. Arrays are accepted for any field (as
// Elasticsearch does); their elements are checked one by one.
#pragma once

#include <arpa/inet.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace drosera::ecs::testing {

struct EcsField {
  std::string type;
  bool array = false;  // ECS normalization "array"
};

// RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines.
inline std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

class EcsSchema {
 public:
  // Loads fields.csv; `ok()` false (and `error()` set) when it cannot.
  explicit EcsSchema(const std::string& csv_path) {
    std::ifstream in(csv_path, std::ios::binary);
    if (!in) {
      error_ = "cannot read " + csv_path;
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const auto rows = parseCsv(ss.str());
    if (rows.empty()) {
      error_ = "empty " + csv_path;
      return;
    }
    const auto& head = rows.front();
    int f = -1, t = -1, n = -1;
    for (size_t i = 0; i < head.size(); ++i) {
      if (head[i] == "Field") f = static_cast<int>(i);
      if (head[i] == "Type") t = static_cast<int>(i);
      if (head[i] == "Normalization") n = static_cast<int>(i);
    }
    if (f < 0 || t < 0 || n < 0) {
      error_ = "fields.csv has no Field/Type/Normalization columns";
      return;
    }
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (row.size() <= static_cast<size_t>(std::max({f, t, n}))) continue;
      EcsField def;
      def.type = row[static_cast<size_t>(t)];
      def.array = row[static_cast<size_t>(n)].find("array") != std::string::npos;
      const std::string& name = row[static_cast<size_t>(f)];
      fields_[name] = def;
      // Every dotted prefix is an object on the way to a leaf.
      for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
        prefixes_.insert(name.substr(0, dot));
      }
    }
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t size() const { return fields_.size(); }
  const EcsField* find(const std::string& name) const {
    auto it = fields_.find(name);
    return it == fields_.end() ? nullptr : &it->second;
  }

  // Problems of `doc`, one string each; empty when it is a valid ECS document.
  std::vector<std::string> validate(const nlohmann::json& doc) const {
    std::vector<std::string> errors;
    if (!doc.is_object()) {
      errors.push_back("the document is not a JSON object");
      return errors;
    }
    for (const auto& [k, v] : doc.items()) walk(v, k, errors);
    return errors;
  }

  static bool isIp(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
  }
  static bool isIsoDate(const std::string& s) {
    static const std::regex re(
        R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$)");
    return std::regex_match(s, re);
  }

 private:
  // Under an ECS object, flattened or nested field (labels.*, ...): ES takes any content.
  bool underFreeObject(const std::string& path) const {
    for (size_t dot = path.rfind('.'); dot != std::string::npos && dot > 0;
         dot = path.rfind('.', dot - 1)) {
      const EcsField* f = find(path.substr(0, dot));
      if (f && (f->type == "object" || f->type == "flattened" || f->type == "nested")) {
        return true;
      }
      if (dot == 0) break;
    }
    return false;
  }

  void checkLeaf(const nlohmann::json& v, const std::string& path, const EcsField& f,
                 std::vector<std::string>& errors) const {
    const std::string& t = f.type;
    auto bad = [&](const std::string& why) {
      errors.push_back(path + " (" + t + "): " + why + ": " + v.dump());
    };
    if (v.is_null()) return bad("null");
    if (v.is_object()) return bad("an object where ECS has a value");
    if (t == "keyword" || t == "text" || t == "wildcard" || t == "match_only_text" ||
        t == "constant_keyword") {
      if (!v.is_string()) bad("not a string");
    } else if (t == "long" || t == "integer" || t == "short" || t == "byte" ||
               t == "unsigned_long") {
      if (!v.is_number_integer()) return bad("not an integer");
      if (t == "unsigned_long" && !v.is_number_unsigned()) bad("negative");
      if (t == "integer" && (v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX)) {
        bad("out of the integer range");
      }
    } else if (t == "float" || t == "double" || t == "scaled_float" || t == "half_float") {
      if (!v.is_number()) bad("not a number");
    } else if (t == "boolean") {
      if (!v.is_boolean()) bad("not a boolean");
    } else if (t == "date") {
      if (!v.is_string() || !isIsoDate(v.get<std::string>())) bad("not an ISO 8601 date");
    } else if (t == "ip") {
      if (!v.is_string() || !isIp(v.get<std::string>())) bad("not an IP address");
    } else {
      bad("a type this validator does not know");
    }
  }

  void walk(const nlohmann::json& v, const std::string& path,
            std::vector<std::string>& errors) const {
    if (path == "drosera" || path.rfind("drosera.", 0) == 0) return;  // our own object
    if (const EcsField* f = find(path)) {
      if (f->type == "object" || f->type == "flattened" || f->type == "nested") {
        if (!v.is_object() && !v.is_array()) {
          errors.push_back(path + " (" + f->type + "): not an object: " + v.dump());
        }
        return;
      }
      if (f->type == "geo_point") {
        auto checkPoint = [&](const nlohmann::json& p) {
          if (!p.is_object() || p.size() != 2 || !p.contains("lat") || !p.contains("lon") ||
              !p["lat"].is_number() || !p["lon"].is_number() || p["lat"].get<double>() < -90 ||
              p["lat"].get<double>() > 90 || p["lon"].get<double>() < -180 ||
              p["lon"].get<double>() > 180) {
            errors.push_back(path + " (geo_point): not {lat, lon}: " + p.dump());
          }
        };
        if (v.is_array()) {
          for (const auto& p : v) checkPoint(p);
        } else {
          checkPoint(v);
        }
        return;
      }
      if (v.is_array()) {
        for (const auto& e : v) checkLeaf(e, path, *f, errors);
      } else {
        checkLeaf(v, path, *f, errors);
      }
      return;
    }
    if (underFreeObject(path)) return;
    if (v.is_object() && prefixes_.count(path) > 0) {
      for (const auto& [k, c] : v.items()) walk(c, path + "." + k, errors);
      return;
    }
    if (v.is_array() && prefixes_.count(path) > 0) {
      for (const auto& e : v) {
        if (!e.is_object()) {
          errors.push_back(path + ": a value where ECS has an object: " + e.dump());
          continue;
        }
        for (const auto& [k, c] : e.items()) walk(c, path + "." + k, errors);
      }
      return;
    }
    errors.push_back(path + ": not an ECS field");
  }

  std::string error_;
  std::map<std::string, EcsField> fields_;
  std::set<std::string> prefixes_;
};

}  // namespace drosera::ecs::testing
