#include "intel/misp_model.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "intel/misp_values.h"
#include "intel/uuid5.h"

namespace drosera::intel {
namespace {

const std::string kScanner = "rsit:information-gathering=\"scanner\"";
const std::string kExploit = "rsit:intrusion-attempts=\"exploit\"";
const std::string kBruteForce = "rsit:intrusion-attempts=\"brute-force\"";
const std::string kMalwareDistribution = "rsit:malicious-code=\"malware-distribution\"";

std::string attack(const std::string& cluster) {
  return "misp-galaxy:mitre-attack-pattern=\"" + cluster + "\"";
}

// Trap kinds (DESIGN decision 3) as MISP tags: what using each bait tells about the visitor.
const std::map<std::string, std::vector<std::string>, std::less<>>& trapTable() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kTable = {
      {"fake_port", {kScanner, attack("Active Scanning - T1595")}},
      {"robots", {kScanner, attack("Wordlist Scanning - T1595.003")}},
      {"comment", {kScanner, attack("Gather Victim Host Information - T1592")}},
      {"sensitive_file", {kScanner, attack("Credentials In Files - T1552.001")}},
      {"hidden_field", {kExploit, attack("Exploit Public-Facing Application - T1190")}},
      {"cookie", {kExploit, attack("Exploit Public-Facing Application - T1190")}},
      {"admin_login", {kBruteForce, attack("Password Guessing - T1110.001")}},
      {"honeytoken", {kExploit, attack("Valid Accounts - T1078")}},
  };
  return kTable;
}

const std::vector<std::string>& urlTags() {
  static const std::vector<std::string> kTags = {kMalwareDistribution,
                                                 attack("Ingress Tool Transfer - T1105")};
  return kTags;
}

const std::vector<std::string>& credentialTags() {
  static const std::vector<std::string> kTags = {kBruteForce,
                                                 attack("Password Guessing - T1110.001")};
  return kTags;
}

void addUnique(std::vector<std::string>& v, const std::string& x) {
  if (!x.empty() && std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::string join(const std::vector<std::string>& v, const char* sep, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) {
    if (i) s += sep;
    s += v[i];
  }
  if (v.size() > max_items) s += " (+" + std::to_string(v.size() - max_items) + " more)";
  return s;
}

std::string who(const IpRecord& r, const std::string& group) {
  if (r.sensors.empty() || r.sensors.size() > 3) return group;
  return join(r.sensors, ", ", 3);
}

std::string ipComment(const IpRecord& r, const std::string& group) {
  std::string c = who(r, group) + ": " + std::to_string(r.requests) +
                  (r.requests == 1 ? " request" : " requests");
  if (!r.categories.empty()) c += ", CRS categories: " + join(r.categories, ", ", 12);
  if (!r.traps.empty()) c += "; traps: " + join(r.traps, ", ", 12);
  if (!r.rules.empty()) {
    std::vector<std::string> ids;
    for (int id : r.rules) ids.push_back(std::to_string(id));
    c += "; rules: " + join(ids, ", ", 10);
  }
  return cleanText(c, 1024);
}

// The category drosera files each type under (all valid per describeTypes; tests check).
std::string defaultCategory(const std::string& type) {
  if (type == "text" || type == "datetime" || type == "counter") return "Other";
  return "Network activity";
}

MispAttribute makeAttribute(const std::string& uuid, const std::string& type,
                            const std::string& category, const std::string& value,
                            int64_t timestamp) {
  MispAttribute a;
  a.uuid = uuid;
  a.type = type;
  a.category = category;
  a.value = value;
  a.timestamp = timestamp;
  return a;
}

}  // namespace

std::string eventUuid(const std::string& ns, const std::string& group, const std::string& date,
                      int part) {
  std::string name = group + "|" + date;
  if (part > 1) name += "|" + std::to_string(part);
  return uuid5(ns, name);
}

std::string attributeUuid(const std::string& event_uuid, const std::string& type,
                          const std::string& value) {
  return uuid5(event_uuid, type + "|" + value);
}

std::string isoTime(int64_t time_us) {
  int64_t s = time_us / 1000000;
  int64_t frac = time_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --s;
  }
  const time_t t = static_cast<time_t>(s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(frac));
  }
  return buf;
}

const std::vector<std::string>& trapTags(std::string_view kind) {
  static const std::vector<std::string> kNone;
  auto it = trapTable().find(kind);
  return it == trapTable().end() ? kNone : it->second;
}

std::vector<std::string> possibleTags(const ModelOptions& o, const MispCatalog& catalog) {
  std::vector<std::string> all;
  addUnique(all, o.tlp);
  addUnique(all, o.pap);
  for (const auto& t : o.honeypot_tags) addUnique(all, t);
  for (const auto& t : o.event_tags) addUnique(all, t);
  for (const auto& [cat, tags] : catalog.crsMapping()) {
    for (const auto& t : tags) addUnique(all, t);
  }
  for (const auto& [kind, tags] : trapTable()) {
    for (const auto& t : tags) addUnique(all, t);
  }
  for (const auto& t : urlTags()) addUnique(all, t);
  for (const auto& t : credentialTags()) addUnique(all, t);
  return all;
}

MispEvent buildEvent(const DayPart& part, const ModelOptions& o, const MispCatalog& catalog) {
  MispEvent ev;
  ev.uuid = eventUuid(o.namespace_uuid, part.group, part.date, part.part);
  std::string info = "Web honeypot " + part.group + ": attacks observed " + part.date;
  if (part.part > 1) info += " (part " + std::to_string(part.part) + ")";
  ev.info = cleanLine(info, 256);
  ev.date = part.date;
  ev.threat_level_id = o.threat_level;
  ev.analysis = part.closed ? 2 : 1;
  ev.distribution = o.distribution;
  ev.timestamp = part.timestamp;
  ev.org_name = o.org_name;
  ev.org_uuid = o.org_uuid;

  std::set<std::string> reportable;
  for (const IpRecord& r : part.ips) {
    if (!isReportable(r, o.report_unclassified)) continue;
    const auto value = normaliseValue("ip-src", r.ip);
    if (!value) continue;
    reportable.insert(r.ip);
    MispAttribute a = makeAttribute(attributeUuid(ev.uuid, "ip-src", *value), "ip-src",
                                    "Network activity", *value, r.changed);
    a.to_ids = r.exploit_requests > 0 || r.urls > 0;  // to_ids only on exploit evidence
    a.comment = ipComment(r, part.group);
    a.first_seen = isoTime(r.first_us);
    a.last_seen = isoTime(r.last_us);
    for (const auto& c : r.categories) {
      for (const auto& t : catalog.crsTags(c)) addUnique(a.tags, t);
    }
    for (const auto& k : r.traps) {
      for (const auto& t : trapTags(k)) addUnique(a.tags, t);
    }
    ev.attributes.push_back(std::move(a));
  }

  for (const UrlRecord& u : part.urls) {
    if (!reportable.count(u.ip)) continue;
    const auto value = normaliseValue("url", u.url);
    if (!value) continue;
    MispAttribute a = makeAttribute(attributeUuid(ev.uuid, "url", *value), "url",
                                    "Payload delivery", *value, u.changed);
    a.to_ids = true;
    std::string comment = "URL in a payload";
    if (!u.categories.empty()) comment += " (" + join(u.categories, ", ", 6) + ")";
    comment += " from " + u.ip;
    if (u.count > 1) comment += ", seen " + std::to_string(u.count) + " times";
    a.comment = cleanText(comment, 1024);
    a.first_seen = isoTime(u.first_us);
    a.last_seen = isoTime(u.last_us);
    a.tags = urlTags();
    ev.attributes.push_back(std::move(a));
  }

  for (const CredentialRecord& c : part.credentials) {
    if (!reportable.count(c.ip)) continue;
    const auto value = normaliseValue("text", c.value);
    if (!value) continue;
    MispAttribute a =
        makeAttribute(attributeUuid(ev.uuid, "text", *value), "text", "Other", *value, c.changed);
    a.comment = cleanText("credentials typed into a fake login page by " + c.ip +
                              (c.count > 1 ? ", " + std::to_string(c.count) + " times" : ""),
                          1024);
    a.first_seen = isoTime(c.first_us);
    a.last_seen = isoTime(c.last_us);
    a.tags = credentialTags();
    ev.attributes.push_back(std::move(a));
  }

  const ObjectTemplate* tpl = catalog.objectTemplate("http-request");
  if (tpl != nullptr) {
    for (const RequestRecord& q : part.requests) {
      if (!reportable.count(q.ip)) continue;
      MispObject obj;
      obj.uuid = uuid5(ev.uuid, "http-request|" + q.key);
      obj.name = tpl->name;
      obj.meta_category = tpl->meta_category;
      obj.description = tpl->description;
      obj.template_uuid = tpl->uuid;
      obj.template_version = tpl->version;
      obj.comment = cleanLine("request " + q.unique_id + " on " + q.sensor, 256);
      obj.first_seen = isoTime(q.time_us);
      obj.timestamp = q.changed;
      const std::pair<const char*, const std::string*> rels[] = {{"ip-src", &q.ip},
                                                                 {"method", &q.method},
                                                                 {"uri", &q.uri},
                                                                 {"user-agent", &q.user_agent},
                                                                 {"content-type", &q.content_type},
                                                                 {"text", &q.summary}};
      bool has_uri = false;
      for (const auto& [rel, raw] : rels) {
        if (raw->empty()) continue;
        auto it = tpl->relations.find(rel);
        if (it == tpl->relations.end()) continue;
        const TemplateRelation& tr = it->second;
        const auto value = normaliseValue(tr.type, *raw);
        if (!value) continue;
        const std::string category =
            tr.categories.empty() ? defaultCategory(tr.type) : tr.categories.front();
        MispAttribute a = makeAttribute(uuid5(obj.uuid, std::string(rel) + "|" + *value), tr.type,
                                        category, *value, q.changed);
        a.object_relation = rel;
        a.disable_correlation = tr.disable_correlation;
        a.to_ids =
            tr.to_ids >= 0 ? tr.to_ids == 1 : (std::string_view(rel) == "ip-src" && q.exploit);
        if (std::string_view(rel) == "uri") has_uri = true;
        obj.attributes.push_back(std::move(a));
      }
      if (has_uri) ev.objects.push_back(std::move(obj));
    }
  }

  addUnique(ev.tags, o.tlp);
  addUnique(ev.tags, o.pap);
  for (const auto& t : o.honeypot_tags) addUnique(ev.tags, t);
  for (const auto& t : o.event_tags) addUnique(ev.tags, t);
  // What was seen that day: the attack classes (rsit) and ATT&CK techniques of its attributes.
  std::set<std::string> rsit;
  std::set<std::string> galaxy;
  for (const auto& a : ev.attributes) {
    for (const auto& t : a.tags) {
      if (t.rfind("rsit:", 0) == 0) rsit.insert(t);
      if (t.rfind("misp-galaxy:", 0) == 0) galaxy.insert(t);
    }
  }
  for (const auto& t : rsit) addUnique(ev.tags, t);
  for (const auto& t : galaxy) addUnique(ev.tags, t);
  return ev;
}

std::vector<MispSighting> pendingSightings(const DayPart& part, const MispEvent& event) {
  std::set<std::string> present;
  for (const auto& a : event.attributes) present.insert(a.uuid);
  std::vector<MispSighting> out;
  for (const PendingSighting& s : part.sightings) {
    const auto value = normaliseValue("ip-src", s.ip);
    if (!value) continue;
    std::string uuid = attributeUuid(event.uuid, "ip-src", *value);
    if (!present.count(uuid)) continue;
    out.push_back({s.index, std::move(uuid), part.group, s.time_s});
  }
  return out;
}

}  // namespace drosera::intel
