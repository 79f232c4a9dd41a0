// The MISP vocabulary drosera may use, loaded from the MISP data folder (data/misp in the
// repository, see misp_config.h): tag names from the taxonomies (taxonomies/*.machinetag.json)
// and galaxy clusters (galaxy/*.json), object templates (objects/*.definition.json) and the
// CRS category -> MISP tag mapping (crs-category-to-misp-tags.json). The reporter refuses to
// start if a tag it would emit is not in here. Built once, then read-only and thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace drosera::intel {

struct TemplateRelation {
  std::string type;                     // the MISP attribute type (misp-attribute)
  std::vector<std::string> categories;  // allowed categories; empty: the type's
  bool multiple = false;
  bool disable_correlation = false;
  int to_ids = -1;  // -1: not set by the template
};

struct ObjectTemplate {
  std::string name;
  std::string uuid;
  int version = 0;
  std::string description;
  std::string meta_category;
  std::map<std::string, TemplateRelation> relations;
  std::vector<std::string> required;
  std::vector<std::string> required_one_of;
};

class MispCatalog {
 public:
  // Reads the folder; a missing or malformed file is an error naming it.
  static core::Result<MispCatalog> load(const std::string& misp_data_dir);

  bool tagExists(std::string_view tag) const { return tags_.count(std::string(tag)) > 0; }
  // The colour the taxonomy gives the tag, "#ffffff" when it gives none.
  std::string tagColour(std::string_view tag) const;
  size_t tagCount() const { return tags_.size(); }
  // nullptr when there is no such template.
  const ObjectTemplate* objectTemplate(std::string_view name) const;
  // MISP tags for a CRS category ("attack-sqli"); empty when the mapping has none.
  const std::vector<std::string>& crsTags(std::string_view category) const;
  const std::map<std::string, std::vector<std::string>>& crsMapping() const { return crs_; }

  // For tests and tools: add vocabulary by hand.
  void addTag(const std::string& tag, const std::string& colour = "");

 private:
  std::set<std::string> tags_;
  std::map<std::string, std::string> colours_;
  std::map<std::string, ObjectTemplate, std::less<>> templates_;
  std::map<std::string, std::vector<std::string>> crs_;
};

}  // namespace drosera::intel
