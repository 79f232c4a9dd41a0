#include "intel/misp_json.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace drosera::intel {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j, int indent = -1) {
  return j.dump(indent, ' ', false, ojson::error_handler_t::replace);
}

ojson tagList(const std::vector<std::string>& tags) {
  ojson out = ojson::array();
  for (const auto& t : tags) out.push_back({{"name", t}});
  return out;
}

ojson feedTagList(const std::vector<std::string>& tags, const TagColour& colour) {
  ojson out = ojson::array();
  for (const auto& t : tags) {
    out.push_back({{"colour", colour ? colour(t) : "#ffffff"},
                   {"local", false},
                   {"name", t},
                   {"relationship_type", ""}});
  }
  return out;
}

ojson coreAttribute(const MispAttribute& a, bool with_tags, bool with_timestamp) {
  ojson j;
  j["uuid"] = a.uuid;
  j["type"] = a.type;
  j["category"] = a.category;
  j["value"] = a.value;
  j["to_ids"] = a.to_ids;
  j["distribution"] = "5";
  if (with_timestamp) j["timestamp"] = std::to_string(a.timestamp);
  j["comment"] = a.comment;
  j["deleted"] = false;
  j["disable_correlation"] = a.disable_correlation;
  if (!a.first_seen.empty()) j["first_seen"] = a.first_seen;
  if (!a.last_seen.empty()) j["last_seen"] = a.last_seen;
  if (!a.object_relation.empty()) j["object_relation"] = a.object_relation;
  if (with_tags && !a.tags.empty()) j["Tag"] = tagList(a.tags);
  return j;
}

ojson coreObject(const MispObject& o, bool with_timestamp) {
  ojson j;
  j["uuid"] = o.uuid;
  j["name"] = o.name;
  j["meta-category"] = o.meta_category;
  j["description"] = o.description;
  j["template_uuid"] = o.template_uuid;
  j["template_version"] = std::to_string(o.template_version);
  j["distribution"] = "5";
  if (with_timestamp) j["timestamp"] = std::to_string(o.timestamp);
  j["comment"] = o.comment;
  j["deleted"] = false;
  if (!o.first_seen.empty()) j["first_seen"] = o.first_seen;
  ojson attrs = ojson::array();
  for (const auto& a : o.attributes) attrs.push_back(coreAttribute(a, true, with_timestamp));
  j["Attribute"] = std::move(attrs);
  return j;
}

ojson feedAttribute(const MispAttribute& a, const TagColour& colour) {
  ojson j;
  j["category"] = a.category;
  j["comment"] = a.comment;
  j["deleted"] = false;
  j["disable_correlation"] = a.disable_correlation;
  if (!a.first_seen.empty()) j["first_seen"] = a.first_seen;
  if (!a.last_seen.empty()) j["last_seen"] = a.last_seen;
  if (!a.object_relation.empty()) j["object_relation"] = a.object_relation;
  j["timestamp"] = std::to_string(a.timestamp);
  j["to_ids"] = a.to_ids;
  j["type"] = a.type;
  j["uuid"] = a.uuid;
  j["value"] = a.value;
  if (!a.tags.empty()) j["Tag"] = feedTagList(a.tags, colour);
  return j;
}

}  // namespace

std::string md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  DROSERA_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr) == 1);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

std::string coreEventJson(const MispEvent& e) {
  ojson ev;
  ev["uuid"] = e.uuid;
  ev["info"] = e.info;
  ev["date"] = e.date;
  ev["threat_level_id"] = std::to_string(e.threat_level_id);
  ev["analysis"] = std::to_string(e.analysis);
  ev["distribution"] = std::to_string(e.distribution);
  ev["published"] = false;
  ev["timestamp"] = std::to_string(e.timestamp);
  ev["publish_timestamp"] = "0";
  ev["Orgc"] = {{"name", e.org_name}, {"uuid", e.org_uuid}};
  ev["Tag"] = tagList(e.tags);
  ojson attrs = ojson::array();
  for (const auto& a : e.attributes) attrs.push_back(coreAttribute(a, true, true));
  ev["Attribute"] = std::move(attrs);
  ojson objs = ojson::array();
  for (const auto& o : e.objects) objs.push_back(coreObject(o, true));
  ev["Object"] = std::move(objs);
  ojson j;
  j["Event"] = std::move(ev);
  return dump(j);
}

std::string feedEventJson(const MispEvent& e, const TagColour& colour) {
  ojson ev;
  ev["analysis"] = std::to_string(e.analysis);
  ev["date"] = e.date;
  ev["extends_uuid"] = "";
  ev["info"] = e.info;
  ev["protected"] = false;
  ev["publish_timestamp"] = "0";
  ev["published"] = false;
  ev["threat_level_id"] = std::to_string(e.threat_level_id);
  ev["timestamp"] = std::to_string(e.timestamp);
  ev["uuid"] = e.uuid;
  ev["Orgc"] = {{"name", e.org_name}, {"uuid", e.org_uuid}};
  ev["Tag"] = feedTagList(e.tags, colour);
  ojson attrs = ojson::array();
  for (const auto& a : e.attributes) attrs.push_back(feedAttribute(a, colour));
  ev["Attribute"] = std::move(attrs);
  ojson objs = ojson::array();
  for (const auto& o : e.objects) {
    ojson j;
    j["comment"] = o.comment;
    j["deleted"] = false;
    j["description"] = o.description;
    if (!o.first_seen.empty()) j["first_seen"] = o.first_seen;
    j["meta-category"] = o.meta_category;
    j["name"] = o.name;
    j["template_uuid"] = o.template_uuid;
    j["template_version"] = std::to_string(o.template_version);
    j["timestamp"] = std::to_string(o.timestamp);
    j["uuid"] = o.uuid;
    ojson oa = ojson::array();
    for (const auto& a : o.attributes) oa.push_back(feedAttribute(a, colour));
    j["Attribute"] =
        std::move(oa);  // no ObjectReference: drosera makes none (PyMISP omits empty ones)
    objs.push_back(std::move(j));
  }
  ev["Object"] = std::move(objs);
  ojson j;
  j["Event"] = std::move(ev);
  return dump(j, 2) + "\n";
}

std::string manifestEntryJson(const MispEvent& e, const TagColour& colour) {
  ojson j;
  j["Orgc"] = {{"name", e.org_name}, {"uuid", e.org_uuid}};
  j["Tag"] = feedTagList(e.tags, colour);
  j["info"] = e.info;
  j["date"] = e.date;
  j["analysis"] = e.analysis;
  j["threat_level_id"] = e.threat_level_id;
  j["timestamp"] = e.timestamp;
  return dump(j);
}

std::vector<std::string> hashLines(const MispEvent& e) {
  std::vector<std::string> out;
  const auto add = [&](const MispAttribute& a) {
    out.push_back(md5Hex(a.value) + "," + e.uuid);  // no composite (a|b) types are emitted
  };
  for (const auto& a : e.attributes) add(a);
  for (const auto& o : e.objects) {
    for (const auto& a : o.attributes) add(a);
  }
  return out;
}

std::string attributeAddBody(const MispAttribute& a) {
  ojson j;
  j["Attribute"] = coreAttribute(a, false, false);
  return dump(j);
}

std::string attributeEditBody(const MispAttribute& a) {
  ojson at;
  at["uuid"] = a.uuid;
  at["category"] = a.category;
  at["value"] = a.value;
  at["to_ids"] = a.to_ids;
  at["distribution"] = "5";
  at["comment"] = a.comment;
  at["disable_correlation"] = a.disable_correlation;
  if (!a.first_seen.empty()) at["first_seen"] = a.first_seen;
  if (!a.last_seen.empty()) at["last_seen"] = a.last_seen;
  ojson j;
  j["Attribute"] = std::move(at);
  return dump(j);
}

std::string objectAddBody(const MispObject& o) {
  ojson j;
  ojson obj = coreObject(o, false);
  j["Object"] = std::move(obj);
  return dump(j);
}

std::string eventEditBody(const MispEvent& e) {
  ojson ev;
  ev["uuid"] = e.uuid;
  ev["info"] = e.info;
  ev["date"] = e.date;
  ev["threat_level_id"] = std::to_string(e.threat_level_id);
  ev["analysis"] = std::to_string(e.analysis);
  ev["distribution"] = std::to_string(e.distribution);
  ojson j;
  j["Event"] = std::move(ev);
  return dump(j);
}

std::string attributeDigest(const MispAttribute& a) {
  return md5Hex(attributeEditBody(a)).substr(0, 16);
}

std::string eventMetaDigest(const MispEvent& e) { return md5Hex(eventEditBody(e)).substr(0, 16); }

}  // namespace drosera::intel
