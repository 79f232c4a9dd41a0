#include "ecs/ecs_mapping.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/classify.h"
#include "core/json_text.h"
#include "ecs/attack_map.h"

namespace drosera::ecs {
namespace {

using core::JsonWriter;

// Keeps the first occurrence of each value, in order. Small sets stay a vector scan; a hostile
// record with thousands of tags switches to a hash set.
class Unique {
 public:
  bool add(std::string_view v) {
    if (items_.size() < 32) {
      if (std::find(items_.begin(), items_.end(), v) != items_.end()) return false;
    } else {
      if (index_.empty()) index_.insert(items_.begin(), items_.end());
      if (!index_.insert(v).second) return false;
    }
    items_.push_back(v);
    return true;
  }
  const std::vector<std::string_view>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<std::string_view> items_;
  std::unordered_set<std::string_view> index_;
};

void writeArray(JsonWriter& w, std::string_view key, const std::vector<std::string_view>& v) {
  w.key(key).beginArray();
  for (auto s : v) w.value(s);
  w.endArray();
}

// The longest prefix of `s` of at most `n` bytes that does not split a UTF-8 sequence.
std::string_view cut(std::string_view s, uint64_t n) {
  if (s.size() <= n) return s;
  size_t len = static_cast<size_t>(n);
  for (int back = 0; back < 3 && len > 0; ++back) {
    const auto c = static_cast<unsigned char>(s[len]);
    if ((c & 0xC0) != 0x80) break;  // s[len] starts a character: cutting before it is clean
    --len;
  }
  return s.substr(0, len);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

const std::string* header(const core::Event& e, std::string_view name) {
  for (const auto& h : e.request_headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

struct UrlParts {
  std::string_view scheme;     // absolute-form only
  std::string_view authority;  // absolute-form (without its user info) or authority-form
  std::string_view userinfo;   // "user:password@" of an absolute-form target, without the '@'
  bool authority_form = false;  // CONNECT host:port: no path, no query
  std::string_view path;
  std::string_view query;
  std::string_view fragment;
  bool has_query = false;
  bool has_fragment = false;
};

UrlParts splitUri(std::string_view uri, std::string_view method) {
  UrlParts p;
  std::string_view rest = uri;
  // authority-form (CONNECT example.com:443, open-proxy probes): a host and port, no path.
  if (iequals(method, "CONNECT") && !rest.empty() && rest.front() != '/' &&
      rest.find("://") == std::string_view::npos) {
    p.authority = rest;
    p.authority_form = true;
    return p;
  }
  // absolute-form: scheme "://" authority path
  if (size_t colon = rest.find("://");
      colon != std::string_view::npos && colon > 0 && rest.front() != '/') {
    bool scheme_ok = std::isalpha(static_cast<unsigned char>(rest.front())) != 0;
    for (size_t i = 0; i < colon && scheme_ok; ++i) {
      const auto c = static_cast<unsigned char>(rest[i]);
      scheme_ok = std::isalnum(c) || c == '+' || c == '-' || c == '.';
    }
    if (scheme_ok) {
      p.scheme = rest.substr(0, colon);
      rest.remove_prefix(colon + 3);
      const size_t end = rest.find_first_of("/?#");
      p.authority = rest.substr(0, end);
      if (const size_t at = p.authority.rfind('@'); at != std::string_view::npos) {
        p.userinfo = p.authority.substr(0, at);
        p.authority.remove_prefix(at + 1);
      }
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    p.fragment = rest.substr(hash + 1);
    p.has_fragment = true;
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    p.query = rest.substr(q + 1);
    p.has_query = true;
    rest = rest.substr(0, q);
  }
  p.path = rest;
  return p;
}

// Host header without its port; IPv6 literals keep their brackets (as ECS asks).
std::pair<std::string_view, std::string_view> splitHostPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return {host, {}};
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') return {host.substr(0, close + 1), rest.substr(1)};
    return {host.substr(0, close + 1), {}};
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    return {host.substr(0, colon), host.substr(colon + 1)};
  }
  return {host, {}};
}

std::string_view extensionOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = last.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= last.size()) return {};
  std::string_view ext = last.substr(dot + 1);
  if (ext.size() > 16) return {};
  return ext;
}

// "CVE-2021-44228" from a tag holding it anywhere ("cve/CVE-2021-44228"), upper-cased.
bool findCve(std::string_view tag, std::string& out) {
  for (size_t i = 0; i + 13 <= tag.size(); ++i) {  // "CVE-" + 4 digits + "-" + 4 digits
    if (std::tolower(static_cast<unsigned char>(tag[i])) != 'c' ||
        std::tolower(static_cast<unsigned char>(tag[i + 1])) != 'v' ||
        std::tolower(static_cast<unsigned char>(tag[i + 2])) != 'e' || tag[i + 3] != '-') {
      continue;
    }
    size_t j = i + 4;
    size_t year = 0;
    while (j < tag.size() && std::isdigit(static_cast<unsigned char>(tag[j])) && year < 5) {
      ++j;
      ++year;
    }
    if (year != 4 || j >= tag.size() || tag[j] != '-') continue;
    size_t k = j + 1;
    size_t num = 0;
    while (k < tag.size() && std::isdigit(static_cast<unsigned char>(tag[k])) && num < 8) {
      ++k;
      ++num;
    }
    if (num < 4) continue;
    out = "CVE-";
    out.append(tag.substr(i + 4, k - i - 4));
    return true;
  }
  return false;
}

std::string_view rulesetOf(const core::RuleHit& r, bool is_trap) {
  if (is_trap) return "drosera-honeytraps";
  for (const auto& t : r.tags) {
    if (t.rfind("honeytrap", 0) == 0) return "drosera-honeytraps";
  }
  if (!r.ver.empty()) {
    const size_t slash = r.ver.find('/');
    return std::string_view(r.ver).substr(0, slash);
  }
  if (r.id >= 900000 && r.id < 1000000) return "OWASP_CRS";
  return {};
}

std::string_view versionOf(const core::RuleHit& r) {
  const size_t slash = r.ver.find('/');
  if (slash == std::string::npos) return {};
  return std::string_view(r.ver).substr(slash + 1);
}

bool scoreNameOk(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '_')) return false;
  }
  return true;
}

// Degrees with six decimals (about 0.1 m), trailing zeros dropped; JsonWriter's %g would keep
// six significant digits only (about 100 m at longitude 120).
std::string coordinate(double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.6f", v);
  while (n > 1 && buf[n - 1] == '0' && buf[n - 2] != '.') --n;
  return std::string(buf, static_cast<size_t>(n));
}

void writeGeo(JsonWriter& w, const GeoInfo& g) {
  w.key("geo").beginObject();
  auto str = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) w.key(k).value(v);
  };
  str("continent_code", g.continent_code);
  str("continent_name", g.continent_name);
  str("country_iso_code", g.country_iso_code);
  str("country_name", g.country_name);
  str("region_iso_code", g.region_iso_code);
  str("region_name", g.region_name);
  str("city_name", g.city_name);
  str("postal_code", g.postal_code);
  str("timezone", g.timezone);
  if (g.lat && g.lon && *g.lat >= -90 && *g.lat <= 90 && *g.lon >= -180 && *g.lon <= 180) {
    w.key("location").beginObject();
    w.key("lat").raw(coordinate(*g.lat));
    w.key("lon").raw(coordinate(*g.lon));
    w.endObject();
  }
  w.endObject();
}

}  // namespace

bool isIpAddress(std::string_view text) {
  if (text.empty() || text.size() > 45 || text.find('\0') != std::string_view::npos) return false;
  char buf[64];
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  unsigned char addr[16];
  return ::inet_pton(AF_INET, buf, addr) == 1 || ::inet_pton(AF_INET6, buf, addr) == 1;
}

std::string formatTimestamp(int64_t time_us) {
  int64_t secs = time_us / 1000000;
  int64_t micros = time_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[48];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(micros));
  return std::string(buf, static_cast<size_t>(n));
}

std::string indexName(std::string_view pattern, int64_t time_us) {
  if (pattern.find('%') == std::string_view::npos) return std::string(pattern);
  int64_t secs = time_us / 1000000;
  if (time_us % 1000000 < 0) --secs;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  const std::string fmt(pattern);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  if (n == 0) return fmt;
  return std::string(buf, n);
}

std::string indexWildcard(std::string_view pattern) {
  std::string s;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      s += '*';
      ++i;
    } else {
      s += pattern[i];
    }
  }
  // One '*' for a run of conversions and the separators between them ("*.*.*" -> "*").
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '*') {
      out += s[i++];
      continue;
    }
    size_t j = i + 1;
    for (;;) {
      size_t k = j;
      while (k < s.size() && s[k] != '*' && !std::isalnum(static_cast<unsigned char>(s[k]))) ++k;
      if (k < s.size() && s[k] == '*') {
        j = k + 1;
      } else {
        break;
      }
    }
    out += '*';
    i = j;
  }
  return out;
}

std::string checkIndexPattern(std::string_view pattern) {
  if (pattern.empty()) return "the index name is empty";
  if (pattern.size() > 200) return "the index name is longer than 200 bytes";
  if (pattern.front() == '-' || pattern.front() == '_' || pattern.front() == '+') {
    return "an index name cannot start with '-', '_' or '+'";
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    const auto c = static_cast<unsigned char>(pattern[i]);
    if (c == '%') {
      // Numeric conversions only: %B, %a, %c, %D, %T, %e... give capitals, '/', ':' or spaces,
      // which Elasticsearch refuses in an index name (every document would be refused).
      static constexpr std::string_view kNumeric = "YymdHjGgVUWuw";
      if (i + 1 >= pattern.size() || kNumeric.find(pattern[i + 1]) == std::string_view::npos) {
        return "only the numeric date conversions (%Y %y %m %d %H %j %G %g %V %U %W %u %w) are "
               "allowed in index names";
      }
      ++i;
      continue;
    }
    if (std::isupper(c)) return "index names must be lower case";
    if (c <= ' ' || c == '\\' || c == '/' || c == '*' || c == '?' || c == '"' || c == '<' ||
        c == '>' || c == '|' || c == ',' || c == '#' || c == ':') {
      return std::string("character '") + static_cast<char>(c) + "' is not allowed in index names";
    }
  }
  return {};
}

std::string documentId(const core::Event& e) {
  std::string id = e.sensor;
  id += ':';
  id += e.unique_id;
  bool plain = id.size() <= 256 && core::isValidUtf8(id);
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) plain = false;
  }
  if (plain) return id;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(id.data(), id.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "h:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

EcsMapper::EcsMapper(EcsMappingConfig config) : config_(std::move(config)) {}

void EcsMapper::append(const core::Event& e, uint64_t seq, const GeoInfo* geo,
                       std::string& out) const {
  out.reserve(out.size() + 1536 + e.uri.size() + e.user_agent.size());
  JsonWriter w(out);
  const bool alert = !e.rules.empty() || !e.traps.empty();
  const bool src_ip_ok = isIpAddress(e.src_ip);
  const bool dst_ip_ok = isIpAddress(e.dst_ip);

  // Unique rule hits (by id, first wins) and what derives from them.
  std::vector<const core::RuleHit*> hits;
  {
    // A handful of hits is the rule; a hostile record may carry thousands.
    std::unordered_set<int> seen;
    for (const auto& r : e.rules) {
      const bool fresh =
          e.rules.size() <= 32
              ? std::none_of(hits.begin(), hits.end(), [&](const auto* h) { return h->id == r.id; })
              : seen.insert(r.id).second;
      if (fresh) hits.push_back(&r);
    }
  }
  std::vector<std::string> categories =
      e.categories.empty() ? core::classify(e.rules, e.traps) : e.categories;

  w.beginObject();
  w.key("@timestamp").value(formatTimestamp(e.time_us));
  w.key("ecs").beginObject().key("version").value(kEcsVersion).endObject();

  // event
  w.key("event").beginObject();
  w.key("kind").value(alert ? "alert" : "event");
  w.key("category").beginArray().value("web");
  if (alert) w.value("intrusion_detection");
  w.endArray();
  w.key("type").beginArray().value("access");
  if (alert) w.value(e.status == 403 ? "denied" : "allowed");
  w.endArray();
  w.key("action").value(!e.traps.empty()   ? "trap-hit"
                        : !e.rules.empty() ? "rule-match"
                                           : "request");
  w.key("module").value("drosera");
  w.key("dataset").value(config_.dataset);
  if (!e.unique_id.empty()) w.key("id").value(e.unique_id);
  if (seq > 0) w.key("sequence").value(seq);
  {
    int severity = -1;
    for (const auto& r : e.rules) {
      if (r.severity >= 0 && r.severity <= 7 && (severity < 0 || r.severity < severity)) {
        severity = r.severity;
      }
    }
    if (severity >= 0) w.key("severity").value(severity);
  }
  if (e.inbound_score > 0) w.key("risk_score").value(e.inbound_score);  // an integral float
  if (config_.include_original && !e.raw_record.empty()) {
    w.key("original").value(cut(e.raw_record, config_.max_original_bytes));
  }
  w.endObject();

  // source / destination / network / related
  if (!e.src_ip.empty() || e.src_port != 0 || geo) {
    w.key("source").beginObject();
    if (!e.src_ip.empty()) w.key("address").value(e.src_ip);
    if (src_ip_ok) w.key("ip").value(e.src_ip);
    if (e.src_port != 0) w.key("port").value(static_cast<int64_t>(e.src_port));
    if (geo && geo->hasGeo()) writeGeo(w, *geo);
    if (geo && geo->hasAs()) {
      w.key("as").beginObject();
      if (geo->as_number != 0) w.key("number").value(static_cast<int64_t>(geo->as_number));
      if (!geo->as_organization.empty()) {
        w.key("organization").beginObject().key("name").value(geo->as_organization).endObject();
      }
      w.endObject();
    }
    w.endObject();
  }
  if (!e.dst_ip.empty() || e.dst_port != 0) {
    w.key("destination").beginObject();
    if (!e.dst_ip.empty()) w.key("address").value(e.dst_ip);
    if (dst_ip_ok) w.key("ip").value(e.dst_ip);
    if (e.dst_port != 0) w.key("port").value(static_cast<int64_t>(e.dst_port));
    w.endObject();
  }
  w.key("network").beginObject().key("transport").value("tcp").key("protocol").value("http");
  if (src_ip_ok) w.key("type").value(e.src_ip.find(':') == std::string::npos ? "ipv4" : "ipv6");
  w.endObject();
  if (src_ip_ok || dst_ip_ok) {
    w.key("related").beginObject().key("ip").beginArray();
    if (src_ip_ok) w.value(e.src_ip);
    if (dst_ip_ok && e.dst_ip != e.src_ip) w.value(e.dst_ip);
    w.endArray().endObject();
  }
  if (e.tls) w.key("tls").beginObject().key("established").value(true).endObject();

  // url
  const UrlParts url = splitUri(e.uri, e.method);
  std::string_view host = !url.authority.empty() ? url.authority : std::string_view(e.host);
  if (host.empty()) {
    if (const std::string* h = header(e, "host")) host = *h;
  }
  // A Host header that is no host (it holds a path, query, user info or blanks) would make a
  // url.full that parses otherwise than url.path and url.query say: it names no domain.
  if (url.authority.empty() && host.find_first_of("/?#@ \t\\") != std::string_view::npos) {
    host = {};
  }
  const auto [domain, host_port] = splitHostPort(host);
  const std::string_view scheme = !url.scheme.empty() ? url.scheme
                                  : e.tls             ? std::string_view("https")
                                                      : std::string_view("http");
  if (!e.uri.empty() || !host.empty()) {
    w.key("url").beginObject();
    if (!e.uri.empty()) w.key("original").value(e.uri);
    if (url.authority_form) {
      // No URL to speak of: the host and port it asked to reach (below).
    } else if (!url.authority.empty()) {
      w.key("full").value(e.uri);
    } else if (!host.empty() && !e.uri.empty() && e.uri.front() == '/') {
      std::string full(scheme);
      full += "://";
      full += host;
      full += e.uri;
      w.key("full").value(full);
    }
    if (!url.authority_form) w.key("scheme").value(scheme);
    if (!domain.empty()) w.key("domain").value(domain);
    if (!url.userinfo.empty()) {
      const size_t colon = url.userinfo.find(':');
      w.key("username").value(url.userinfo.substr(0, colon));
      if (colon != std::string_view::npos) w.key("password").value(url.userinfo.substr(colon + 1));
    }
    // The URL's own port (ECS), as url.full says it: the one in the authority or Host header,
    // else the scheme's. The port the request reached (the listener, perhaps behind a proxy) is
    // destination.port.
    int64_t port = 0;
    if (!host_port.empty() && host_port.size() <= 5 &&
        host_port.find_first_not_of("0123456789") == std::string_view::npos) {
      port = std::stoll(std::string(host_port));
      if (port > 65535) port = 0;
    } else if (host_port.empty() && !url.authority_form) {
      port = scheme == "https" ? 443 : scheme == "http" ? 80 : 0;
    }
    if (port > 0) w.key("port").value(port);
    if (!e.uri.empty() && !url.authority_form) {
      if (!url.path.empty()) w.key("path").value(url.path);
      if (url.has_query) w.key("query").value(url.query);
      if (url.has_fragment) w.key("fragment").value(url.fragment);
      if (auto ext = extensionOf(url.path); !ext.empty()) w.key("extension").value(ext);
    }
    w.endObject();
  }

  // http
  {
    const std::string* referrer = header(e, "referer");
    const bool body = config_.max_body_bytes > 0 && !e.request_body.empty();
    w.key("http").beginObject();
    if (!e.http_version.empty()) w.key("version").value(e.http_version);
    if (!e.method.empty() || referrer || body) {
      w.key("request").beginObject();
      if (!e.method.empty()) w.key("method").value(e.method);
      if (referrer) w.key("referrer").value(*referrer);
      if (body) {
        w.key("body").beginObject();
        w.key("content").value(cut(e.request_body, config_.max_body_bytes));
        w.endObject();
      }
      w.endObject();
    }
    if (e.status > 0) {
      w.key("response").beginObject().key("status_code").value(e.status).endObject();
    }
    w.endObject();
  }
  {
    std::string_view ua = e.user_agent;
    if (ua.empty()) {
      if (const std::string* h = header(e, "user-agent")) ua = *h;
    }
    if (!ua.empty()) w.key("user_agent").beginObject().key("original").value(ua).endObject();
  }

  // rule
  std::vector<int> trap_rule_ids;
  for (const auto& t : e.traps) {
    if (t.rule_id != 0) trap_rule_ids.push_back(t.rule_id);
  }
  if (!hits.empty()) {
    Unique rulesets, versions, rule_categories;
    std::vector<std::string> category_of(hits.size());
    for (size_t i = 0; i < hits.size(); ++i) {
      const auto* r = hits[i];
      const bool is_trap =
          std::find(trap_rule_ids.begin(), trap_rule_ids.end(), r->id) != trap_rule_ids.end();
      if (auto rs = rulesetOf(*r, is_trap); !rs.empty()) rulesets.add(rs);
      if (auto v = versionOf(*r); !v.empty()) versions.add(v);
      category_of[i] = core::categoryOfRule(r->id, r->tags);
      if (!category_of[i].empty()) rule_categories.add(category_of[i]);
    }
    w.key("rule").beginObject();
    w.key("id").beginArray();
    for (const auto* r : hits) w.value(std::to_string(r->id));
    w.endArray();
    // One name per id, in the same order (a rule without msg is named by its id): a skipped
    // name would pair the next rule's message with this rule's id.
    w.key("name").beginArray();
    for (const auto* r : hits) {
      w.value(!r->message.empty() ? r->message : "rule " + std::to_string(r->id));
    }
    w.endArray();
    if (!rulesets.empty()) writeArray(w, "ruleset", rulesets.items());
    if (!versions.empty()) writeArray(w, "version", versions.items());
    if (!rule_categories.empty()) writeArray(w, "category", rule_categories.items());
    w.endObject();
  }

  // threat (ATT&CK)
  {
    std::vector<const Technique*> techs;
    auto addTech = [&](const std::vector<const Technique*>& v) {
      for (const auto* t : v) {
        if (std::find(techs.begin(), techs.end(), t) == techs.end()) techs.push_back(t);
      }
    };
    for (const auto& c : categories) addTech(techniquesForCategory(c));
    for (const auto& t : e.traps) addTech(techniquesForTrap(t.kind));
    if (!techs.empty()) {
      std::vector<const Technique*> parents, subs;
      auto addUnique = [](std::vector<const Technique*>& v, const Technique* t) {
        if (t && std::find(v.begin(), v.end(), t) == v.end()) v.push_back(t);
      };
      for (const auto* t : techs) {
        const size_t dot = t->id.find('.');
        if (dot == std::string_view::npos) {
          addUnique(parents, t);
        } else {
          addUnique(parents, techniqueById(t->id.substr(0, dot)));
          addUnique(subs, t);
        }
      }
      auto reference = [](std::string_view id) {
        std::string r = "https://attack.mitre.org/techniques/";
        for (char c : id) r += c == '.' ? '/' : c;
        return r;
      };
      std::vector<const Tactic*> tactics;
      for (const auto* t : techs) {
        std::string_view phases = t->tactics;
        while (!phases.empty()) {
          const size_t comma = phases.find(',');
          const Tactic* tac = tacticByPhase(phases.substr(0, comma));
          if (tac && std::find(tactics.begin(), tactics.end(), tac) == tactics.end()) {
            tactics.push_back(tac);
          }
          phases = comma == std::string_view::npos ? std::string_view() : phases.substr(comma + 1);
        }
      }
      w.key("threat").beginObject();
      w.key("framework").value("MITRE ATT&CK");
      w.key("technique").beginObject();
      w.key("id").beginArray();
      for (const auto* t : parents) w.value(t->id);
      w.endArray();
      w.key("name").beginArray();
      for (const auto* t : parents) w.value(t->name);
      w.endArray();
      w.key("reference").beginArray();
      for (const auto* t : parents) w.value(reference(t->id));
      w.endArray();
      if (!subs.empty()) {
        w.key("subtechnique").beginObject();
        w.key("id").beginArray();
        for (const auto* t : subs) w.value(t->id);
        w.endArray();
        w.key("name").beginArray();
        for (const auto* t : subs) w.value(t->name);
        w.endArray();
        w.key("reference").beginArray();
        for (const auto* t : subs) w.value(reference(t->id));
        w.endArray();
        w.endObject();
      }
      w.endObject();
      if (!tactics.empty()) {
        w.key("tactic").beginObject();
        w.key("name").beginArray();
        for (const auto* t : tactics) w.value(t->name);
        w.endArray();
        w.key("id").beginArray();
        for (const auto* t : tactics) {
          if (!t->id.empty()) w.value(t->id);
        }
        w.endArray();
        w.key("reference").beginArray();
        for (const auto* t : tactics) {
          if (!t->id.empty()) w.value("https://attack.mitre.org/tactics/" + std::string(t->id));
        }
        w.endArray();
        w.endObject();
      }
      w.endObject();
    }
  }

  // vulnerability (CVE tags) and tags
  {
    std::vector<std::string> cves;
    std::string cve;
    for (const auto& r : e.rules) {
      for (const auto& t : r.tags) {
        if (findCve(t, cve) && std::find(cves.begin(), cves.end(), cve) == cves.end()) {
          cves.push_back(cve);
        }
      }
    }
    if (!cves.empty()) {
      w.key("vulnerability").beginObject();
      w.key("id").beginArray();
      for (const auto& c : cves) w.value(c);
      w.endArray();
      w.key("enumeration").value("CVE");
      w.endObject();
    }
    Unique tags;
    for (const auto& t : config_.tags) tags.add(t);
    std::vector<std::string> trap_tags;
    trap_tags.reserve(e.traps.size());
    for (const auto& t : e.traps) trap_tags.push_back("honeytrap/" + t.kind);
    for (const auto& t : trap_tags) tags.add(t);
    for (const auto& r : e.rules) {
      for (const auto& t : r.tags) {
        if (!t.empty()) tags.add(t);
      }
    }
    if (!tags.empty()) writeArray(w, "tags", tags.items());
  }
  if (!config_.labels.empty()) {
    w.key("labels").beginObject();
    for (const auto& [k, v] : config_.labels) w.key(k).value(v);
    w.endObject();
  }

  // observer: the sensor
  {
    const bool ours = e.format.empty() || e.format == "drosera";
    w.key("observer").beginObject();
    w.key("type").value("honeypot");
    if (!e.sensor.empty()) w.key("name").value(e.sensor);
    w.key("product").value(ours ? "drosera" : "ModSecurity");
    if (ours) {
      w.key("vendor").value("drosera");
      if (!config_.observer_version.empty()) w.key("version").value(config_.observer_version);
    }
    w.endObject();
  }

  // drosera: what ECS has no field for
  w.key("drosera").beginObject();
  if (!e.format.empty()) w.key("format").value(e.format);
  if (!e.listener_kind.empty()) {
    w.key("listener").beginObject().key("kind").value(e.listener_kind).endObject();
  }
  w.key("tls").value(e.tls);
  w.key("inspected").value(e.inspected);
  w.key("attacker_flagged").value(e.attacker_flagged);
  w.key("score").beginObject();
  w.key("inbound").value(e.inbound_score).key("outbound").value(e.outbound_score);
  w.endObject();
  {
    bool open = false;
    Unique names;
    for (const auto& [name, value] : e.scores) {
      if (!scoreNameOk(name) || !names.add(name)) continue;
      if (!open) {
        w.key("scores").beginObject();
        open = true;
      }
      w.key(name).value(value);
    }
    if (open) w.endObject();
  }
  if (!categories.empty()) {
    w.key("categories").beginArray();
    for (const auto& c : categories) w.value(c);
    w.endArray();
  }
  if (!e.traps.empty()) {
    w.key("traps").beginArray();
    for (const auto& t : e.traps) {
      w.beginObject();
      w.key("kind").value(t.kind);
      if (!t.bait.empty()) w.key("bait").value(t.bait);
      if (!t.captured.empty())
        w.key("captured").value(cut(t.captured, config_.max_rule_data_bytes));
      if (t.rule_id != 0) w.key("rule_id").value(std::to_string(t.rule_id));
      if (!t.origin.empty()) w.key("origin").value(t.origin);
      w.endObject();
    }
    w.endArray();
  }
  if (!e.anomalies.empty()) {
    w.key("anomalies").beginArray();
    for (const auto& a : e.anomalies) w.value(a);
    w.endArray();
  }
  if (!e.limits_hit.empty()) {
    w.key("limits_hit").beginArray();
    for (const auto& l : e.limits_hit) w.value(l);
    w.endArray();
  }
  if (!hits.empty()) {
    w.key("rules").beginArray();
    for (const auto* r : hits) {
      w.beginObject();
      w.key("id").value(std::to_string(r->id));
      if (!r->message.empty()) w.key("message").value(r->message);
      if (r->severity >= 0) w.key("severity").value(r->severity);
      if (!r->data.empty()) w.key("data").value(cut(r->data, config_.max_rule_data_bytes));
      if (!r->match.empty()) w.key("match").value(cut(r->match, config_.max_rule_data_bytes));
      w.endObject();
    }
    w.endArray();
  }
  w.endObject();

  w.endObject();
}

}  // namespace drosera::ecs
