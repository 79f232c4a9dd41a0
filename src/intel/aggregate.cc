#include "intel/aggregate.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/classify.h"
#include "intel/misp_values.h"
#include "intel/payload_urls.h"

namespace drosera::intel {
namespace {

using nlohmann::json;

constexpr size_t kMaxUriBytes = 4096;
constexpr size_t kMaxUserAgentBytes = 1024;
constexpr size_t kMaxSummaryBytes = 1024;
constexpr size_t kMaxUrlsPerEvent = 16;
constexpr size_t kMaxScanBytes = 65536;

template <typename T>
void insertSorted(std::vector<T>& v, const T& x, size_t max = SIZE_MAX) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it != v.end() && *it == x) return;
  if (v.size() >= max) return;
  v.insert(it, x);
}

// Names we put in tags, comments and state: lower-case letters, digits, '-' and '_' only.
bool isPlainName(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::string headerValue(const core::Event& e, std::string_view name) {
  for (const auto& h : e.request_headers) {
    if (h.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i) {
      const char a =
          h.name[i] >= 'A' && h.name[i] <= 'Z' ? static_cast<char>(h.name[i] + 32) : h.name[i];
      eq = a == name[i];
    }
    if (eq) return h.value;
  }
  return "";
}

bool scansForUrls(const std::vector<std::string>& categories) {
  for (const auto& c : categories) {
    if (c == "attack-rce" || c == "attack-rfi" || c == "attack-injection-php" ||
        c == "attack-injection-java" || c == "attack-injection-generic") {
      return true;
    }
  }
  return false;
}

// Form-encoded ('+' a space): so declared, or not declared at all, as exploit scripts post
// their "cmd=wget+http://..." (a device's CGI decodes it as a form whatever the header says).
bool isFormBody(const core::Event& e) {
  std::string type = headerValue(e, "content-type");
  for (char& c : type) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  return type.empty() || type.rfind("application/x-www-form-urlencoded", 0) == 0;
}

// The URLs that are part of the attack: in the request target and the body, where parameters
// (and so injected commands, included files, lookups) travel, and in a header value only from its
// command or lookup expression on (headerPayloadStart: shellshock, ${jndi:...}). A URL that is
// simply a header's value is the name of a site, not a payload: the scanner's home page in a
// User-Agent ("Nmap Scripting Engine; https://nmap.org/book/nse.html"), a search in a Referer, an
// Origin. Reported, those would become IDS indicators against innocent sites.
std::vector<std::string> payloadUrlsOf(const core::Event& e) {
  std::vector<std::string> found = findPayloadUrls(std::string_view(e.uri).substr(0, kMaxScanBytes),
                                                   kMaxUrlsPerEvent, UrlSource::kRequestTarget);
  const auto more = [&](std::string_view text, UrlSource source) {
    if (found.size() >= kMaxUrlsPerEvent || text.empty()) return;
    for (auto& u :
         findPayloadUrls(text.substr(0, kMaxScanBytes), kMaxUrlsPerEvent - found.size(), source)) {
      if (std::find(found.begin(), found.end(), u) == found.end()) found.push_back(u);
    }
  };
  more(e.request_body, isFormBody(e) ? UrlSource::kForm : UrlSource::kText);
  for (const auto& h : e.request_headers) {
    const size_t start = headerPayloadStart(h.value);
    if (start != std::string::npos) more(std::string_view(h.value).substr(start), UrlSource::kText);
  }
  return found;
}

bool hidesCredentials(const core::Event& e, const FoldOptions& o) {
  if (o.share_credentials) return false;
  for (const auto& t : e.traps) {
    if ((t.kind == "admin_login" || t.kind == "honeytoken") && !t.captured.empty()) return true;
  }
  return false;
}

std::string summaryOf(const core::Event& e, const Evidence& ev) {
  std::string s;
  size_t shown = 0;
  for (const auto& r : e.rules) {
    if (r.id <= 0 || core::isScoringRule(r.id)) continue;
    if (++shown > 5) break;
    if (!s.empty()) s += "; ";
    const std::string cat = core::categoryOfRule(r.id, r.tags);
    s += (cat.empty() ? "rule " : "CRS ") + std::to_string(r.id);
    if (!cat.empty() && isPlainName(cat, 40)) s += " " + cat;
    if (!r.message.empty()) s += ": " + cleanLine(r.message, 200);
  }
  for (const auto& t : ev.traps) {
    if (!s.empty()) s += "; ";
    s += "trap " + t;
  }
  if (!ev.payload_urls.empty()) {
    if (!s.empty()) s += "; ";
    s += "payload URL " + ev.payload_urls.front();
  }
  return cleanText(s, kMaxSummaryBytes);
}

json strings(const std::vector<std::string>& v) { return json(v); }

std::vector<std::string> getStrings(const json& j, const char* k) {
  std::vector<std::string> out;
  if (j.contains(k) && j[k].is_array()) {
    for (const auto& x : j[k]) {
      if (x.is_string()) out.push_back(x.get<std::string>());
    }
  }
  return out;
}

template <typename T>
T get(const json& j, const char* k, T dflt) {
  if (!j.contains(k)) return dflt;
  try {
    return j[k].get<T>();
  } catch (const json::exception&) {
    return dflt;
  }
}

}  // namespace

void DayPart::reindex() {
  ip_index.clear();
  for (size_t i = 0; i < ips.size(); ++i) ip_index[ips[i].ip] = i;
}

IpRecord* DayPart::findIp(const std::string& ip) {
  auto it = ip_index.find(ip);
  return it == ip_index.end() ? nullptr : &ips[it->second];
}

const IpRecord* DayPart::findIp(const std::string& ip) const {
  auto it = ip_index.find(ip);
  return it == ip_index.end() ? nullptr : &ips[it->second];
}

bool isExploitCategory(std::string_view c) {
  return c == "attack-sqli" || c == "attack-xss" || c == "attack-rce" || c == "attack-lfi" ||
         c == "attack-rfi" || c == "attack-injection-php" || c == "attack-injection-java" ||
         c == "attack-injection-generic" || c == "attack-ssti" || c == "attack-ssrf" ||
         c == "attack-fixation" || c == "attack-generic";
}

bool isExploitTrap(std::string_view k) {
  // Tampering with a bait the server signed, or using a planted credential, is an attack on
  // the application, not reconnaissance.
  return k == "hidden_field" || k == "cookie" || k == "honeytoken";
}

bool isReportable(const IpRecord& ip, bool report_unclassified) {
  return ip.evidence_requests > 0 || (report_unclassified && ip.requests > 0);
}

Evidence evidenceOf(const core::Event& e, const FoldOptions& o) {
  Evidence ev;
  std::vector<std::string> cats = e.categories;
  if (cats.empty() && !e.rules.empty()) cats = core::classify(e.rules, {});
  for (const auto& c : cats) {
    if (c == "honeytrap" || c.rfind("attack-", 0) != 0 || !isPlainName(c, 40)) continue;
    insertSorted(ev.categories, c);
  }
  for (const auto& t : e.traps) {
    if (isPlainName(t.kind, 32)) insertSorted(ev.traps, t.kind);
  }
  for (const auto& r : e.rules) {
    if (r.id > 0 && !core::isScoringRule(r.id)) insertSorted(ev.rules, r.id);
  }
  if (scansForUrls(ev.categories)) {
    for (auto& u : payloadUrlsOf(e)) {
      if (!o.url_allowed || o.url_allowed(u, e)) ev.payload_urls.push_back(std::move(u));
    }
  }
  ev.exploit = !ev.payload_urls.empty();
  for (const auto& c : ev.categories) ev.exploit = ev.exploit || isExploitCategory(c);
  for (const auto& t : ev.traps) ev.exploit = ev.exploit || isExploitTrap(t);
  return ev;
}

std::string utcDate(int64_t time_us) {
  int64_t s = time_us / 1000000;
  if (time_us < 0 && time_us % 1000000 != 0) --s;
  const time_t t = static_cast<time_t>(s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

int64_t endOfDayUs(const std::string& date) {
  int y = 0, m = 0, d = 0;
  if (date.size() != 10 || std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3) return 0;
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  const time_t start = timegm(&tm);
  return (static_cast<int64_t>(start) + 86400) * 1000000;
}

void touch(DayPart& part, int64_t now_s) {
  if (part.touched) return;
  part.touched = true;
  ++part.version;
  part.timestamp = std::max(part.timestamp + 1, now_s);
}

void foldEvent(DayPart& part, const core::Event& e, const std::string& ip, const Evidence& ev,
               uint64_t seq, int64_t now_s, const FoldOptions& o) {
  touch(part, now_s);
  part.applied_seq = std::max(part.applied_seq, seq);
  IpRecord* r = part.findIp(ip);
  if (r == nullptr) {
    IpRecord fresh;
    fresh.ip = ip;
    fresh.first_us = e.time_us;
    fresh.last_us = e.time_us;
    part.ips.push_back(std::move(fresh));
    part.ip_index[ip] = part.ips.size() - 1;
    r = &part.ips.back();
  }
  const int64_t t = e.time_us;
  const bool was_reportable = isReportable(*r, o.report_unclassified);

  // A repeat observation of an IP already reported becomes a sighting, at most one per
  // interval (REST only; a feed carries last_seen instead).
  if (o.sightings && was_reportable && t - r->last_sighting_us >= o.sighting_interval_us) {
    part.sightings.push_back({part.sighting_next++, ip, t / 1000000});
    r->last_sighting_us = t;
    if (part.sightings.size() > kMaxPendingSightings) {
      part.sightings.erase(part.sightings.begin());
      ++part.sightings_dropped;
    }
  }

  ++r->requests;
  r->first_us = std::min(r->first_us, t);
  r->last_us = std::max(r->last_us, t);
  if (ev.any()) ++r->evidence_requests;
  if (ev.exploit) ++r->exploit_requests;
  for (const auto& c : ev.categories) insertSorted(r->categories, c);
  for (const auto& k : ev.traps) insertSorted(r->traps, k);
  for (int id : ev.rules) insertSorted(r->rules, id, kMaxRulesPerIp);
  if (!e.sensor.empty()) {
    insertSorted(r->sensors, cleanLine(e.sensor, 64), kMaxSensorsPerIp);
  }
  if (!was_reportable && isReportable(*r, o.report_unclassified)) {
    r->last_sighting_us = std::max(r->last_sighting_us, t);  // the first observation is no sighting
  }
  r->changed = part.timestamp;

  // A notable request: the first one of each class (category, trap, payload URL) for this IP.
  if (ev.any() && r->objects < o.max_requests_per_ip) {
    std::vector<std::string> keys = ev.categories;
    keys.insert(keys.end(), ev.traps.begin(), ev.traps.end());
    if (!ev.payload_urls.empty()) keys.push_back("payload-url");
    bool adds_class = false;
    for (const auto& k : keys) {
      if (!std::binary_search(r->covered.begin(), r->covered.end(), k)) adds_class = true;
    }
    std::string uri = e.uri;
    if (hidesCredentials(e, o)) uri = uri.substr(0, uri.find('?'));
    uri = cleanUri(uri, kMaxUriBytes);
    if (adds_class && !uri.empty()) {
      RequestRecord q;
      q.unique_id = cleanLine(e.unique_id, 128);
      q.sensor = cleanLine(e.sensor, 64);
      q.key = q.sensor + "|" + q.unique_id;
      q.ip = ip;
      q.time_us = t;
      q.method = normaliseValue("http-method", e.method).value_or("");
      q.uri = std::move(uri);
      q.user_agent = cleanLine(e.user_agent, kMaxUserAgentBytes);
      q.content_type = cleanLine(headerValue(e, "content-type"), 256);
      q.summary = summaryOf(e, ev);
      q.exploit = ev.exploit;
      q.changed = part.timestamp;
      part.requests.push_back(std::move(q));
      ++r->objects;
      for (const auto& k : keys) insertSorted(r->covered, k);
    }
  }

  for (const auto& u : ev.payload_urls) {
    auto it = std::find_if(part.urls.begin(), part.urls.end(),
                           [&](const UrlRecord& x) { return x.url == u; });
    if (it != part.urls.end()) {
      it->first_us = std::min(it->first_us, t);
      it->last_us = std::max(it->last_us, t);
      ++it->count;
      for (const auto& c : ev.categories) insertSorted(it->categories, c);
      it->changed = part.timestamp;
    } else if (r->urls < o.max_urls_per_ip) {
      UrlRecord x;
      x.url = u;
      x.ip = ip;
      x.first_us = x.last_us = t;
      x.count = 1;
      x.categories = ev.categories;
      x.changed = part.timestamp;
      part.urls.push_back(std::move(x));
      ++r->urls;
    }
  }

  if (o.share_credentials) {
    for (const auto& trap : e.traps) {
      if (trap.kind != "admin_login" || trap.captured.empty()) continue;
      const std::string v = cleanText(trap.captured, 256);
      if (v.empty()) continue;
      auto it = std::find_if(part.credentials.begin(), part.credentials.end(),
                             [&](const CredentialRecord& x) { return x.value == v; });
      if (it != part.credentials.end()) {
        it->first_us = std::min(it->first_us, t);
        it->last_us = std::max(it->last_us, t);
        ++it->count;
        it->changed = part.timestamp;
      } else if (r->credentials < kMaxCredentialsPerIp) {
        part.credentials.push_back({v, ip, t, t, 1, part.timestamp});
        ++r->credentials;
      }
    }
  }
}

std::string serializePart(const DayPart& p) {
  json j;
  j["v"] = 1;
  j["group"] = p.group;
  j["date"] = p.date;
  j["part"] = p.part;
  j["applied_seq"] = p.applied_seq;
  j["version"] = p.version;
  j["timestamp"] = p.timestamp;
  j["closed"] = p.closed;
  json ips = json::array();
  for (const auto& r : p.ips) {
    ips.push_back({{"ip", r.ip},
                   {"first", r.first_us},
                   {"last", r.last_us},
                   {"n", r.requests},
                   {"ev", r.evidence_requests},
                   {"ex", r.exploit_requests},
                   {"cat", strings(r.categories)},
                   {"trap", strings(r.traps)},
                   {"rules", r.rules},
                   {"sensors", strings(r.sensors)},
                   {"covered", strings(r.covered)},
                   {"objects", r.objects},
                   {"urls", r.urls},
                   {"creds", r.credentials},
                   {"sight", r.last_sighting_us},
                   {"changed", r.changed}});
  }
  j["ips"] = std::move(ips);
  json reqs = json::array();
  for (const auto& q : p.requests) {
    reqs.push_back({{"key", q.key},
                    {"ip", q.ip},
                    {"sensor", q.sensor},
                    {"time", q.time_us},
                    {"method", q.method},
                    {"uri", q.uri},
                    {"ua", q.user_agent},
                    {"ct", q.content_type},
                    {"summary", q.summary},
                    {"uid", q.unique_id},
                    {"exploit", q.exploit},
                    {"changed", q.changed}});
  }
  j["requests"] = std::move(reqs);
  json urls = json::array();
  for (const auto& u : p.urls) {
    urls.push_back({{"url", u.url},
                    {"ip", u.ip},
                    {"first", u.first_us},
                    {"last", u.last_us},
                    {"n", u.count},
                    {"cat", strings(u.categories)},
                    {"changed", u.changed}});
  }
  j["urls"] = std::move(urls);
  json creds = json::array();
  for (const auto& c : p.credentials) {
    creds.push_back({{"value", c.value},
                     {"ip", c.ip},
                     {"first", c.first_us},
                     {"last", c.last_us},
                     {"n", c.count},
                     {"changed", c.changed}});
  }
  j["creds"] = std::move(creds);
  j["sighting_next"] = p.sighting_next;
  j["sightings_dropped"] = p.sightings_dropped;
  json s = json::array();
  for (const auto& x : p.sightings) s.push_back({x.index, x.ip, x.time_s});
  j["sightings"] = std::move(s);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

core::Result<DayPart> parsePart(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || get<int>(j, "v", 0) != 1) {
    return core::Status::corruption("MISP reporter state is not a day aggregate");
  }
  DayPart p;
  p.group = get<std::string>(j, "group", "");
  p.date = get<std::string>(j, "date", "");
  p.part = get<int>(j, "part", 1);
  p.applied_seq = get<uint64_t>(j, "applied_seq", 0);
  p.version = get<uint64_t>(j, "version", 0);
  p.timestamp = get<int64_t>(j, "timestamp", 0);
  p.closed = get<bool>(j, "closed", false);
  if (j.contains("ips") && j["ips"].is_array()) {
    for (const auto& x : j["ips"]) {
      IpRecord r;
      r.ip = get<std::string>(x, "ip", "");
      r.first_us = get<int64_t>(x, "first", 0);
      r.last_us = get<int64_t>(x, "last", 0);
      r.requests = get<uint64_t>(x, "n", 0);
      r.evidence_requests = get<uint64_t>(x, "ev", 0);
      r.exploit_requests = get<uint64_t>(x, "ex", 0);
      r.categories = getStrings(x, "cat");
      r.traps = getStrings(x, "trap");
      r.rules = get<std::vector<int>>(x, "rules", {});
      r.sensors = getStrings(x, "sensors");
      r.covered = getStrings(x, "covered");
      r.objects = get<uint64_t>(x, "objects", 0);
      r.urls = get<uint64_t>(x, "urls", 0);
      r.credentials = get<uint64_t>(x, "creds", 0);
      r.last_sighting_us = get<int64_t>(x, "sight", 0);
      r.changed = get<int64_t>(x, "changed", 0);
      p.ips.push_back(std::move(r));
    }
  }
  if (j.contains("requests") && j["requests"].is_array()) {
    for (const auto& x : j["requests"]) {
      RequestRecord q;
      q.key = get<std::string>(x, "key", "");
      q.ip = get<std::string>(x, "ip", "");
      q.sensor = get<std::string>(x, "sensor", "");
      q.time_us = get<int64_t>(x, "time", 0);
      q.method = get<std::string>(x, "method", "");
      q.uri = get<std::string>(x, "uri", "");
      q.user_agent = get<std::string>(x, "ua", "");
      q.content_type = get<std::string>(x, "ct", "");
      q.summary = get<std::string>(x, "summary", "");
      q.unique_id = get<std::string>(x, "uid", "");
      q.exploit = get<bool>(x, "exploit", false);
      q.changed = get<int64_t>(x, "changed", 0);
      p.requests.push_back(std::move(q));
    }
  }
  if (j.contains("urls") && j["urls"].is_array()) {
    for (const auto& x : j["urls"]) {
      UrlRecord u;
      u.url = get<std::string>(x, "url", "");
      u.ip = get<std::string>(x, "ip", "");
      u.first_us = get<int64_t>(x, "first", 0);
      u.last_us = get<int64_t>(x, "last", 0);
      u.count = get<uint64_t>(x, "n", 0);
      u.categories = getStrings(x, "cat");
      u.changed = get<int64_t>(x, "changed", 0);
      p.urls.push_back(std::move(u));
    }
  }
  if (j.contains("creds") && j["creds"].is_array()) {
    for (const auto& x : j["creds"]) {
      CredentialRecord c;
      c.value = get<std::string>(x, "value", "");
      c.ip = get<std::string>(x, "ip", "");
      c.first_us = get<int64_t>(x, "first", 0);
      c.last_us = get<int64_t>(x, "last", 0);
      c.count = get<uint64_t>(x, "n", 0);
      c.changed = get<int64_t>(x, "changed", 0);
      p.credentials.push_back(std::move(c));
    }
  }
  p.sighting_next = get<uint64_t>(j, "sighting_next", 0);
  p.sightings_dropped = get<uint64_t>(j, "sightings_dropped", 0);
  if (j.contains("sightings") && j["sightings"].is_array()) {
    for (const auto& x : j["sightings"]) {
      if (!x.is_array() || x.size() != 3) continue;
      PendingSighting s;
      s.index = x[0].is_number_integer() ? x[0].get<uint64_t>() : 0;
      s.ip = x[1].is_string() ? x[1].get<std::string>() : "";
      s.time_s = x[2].is_number_integer() ? x[2].get<int64_t>() : 0;
      p.sightings.push_back(std::move(s));
    }
  }
  p.reindex();
  return p;
}

}  // namespace drosera::intel
