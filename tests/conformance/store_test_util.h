// Helpers for the Store conformance suite: a temporary folder, events (plain, random and
// hostile), and a brute-force model of what the store must answer.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/classify.h"
#include "core/event.h"
#include "store/store.h"

namespace drosera::store::testutil {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/drosera-store-test-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 2026-11-30T00:00:00Z: a day boundary.
constexpr int64_t kBase = 1795996800LL * 1'000'000;

inline core::RuleHit rule(int id, const std::string& msg, std::vector<std::string> tags,
                          int severity = 2) {
  core::RuleHit r;
  r.id = id;
  r.severity = severity;
  r.message = msg;
  r.data = "Matched Data: x found within ARGS:id";
  r.match = "Matched \"Operator `Rx' ...";
  r.tags = std::move(tags);
  r.file = "/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf";
  r.line = 45;
  r.ver = "OWASP_CRS/3.3.4";
  return r;
}

inline core::Event event(const std::string& uid, int64_t time_us,
                         const std::string& ip = "203.0.113.7",
                         const std::string& sensor = "sensor-1") {
  core::Event e;
  e.sensor = sensor;
  e.unique_id = uid;
  e.format = "drosera";
  e.time_us = time_us;
  e.src_ip = ip;
  e.src_port = 40000;
  e.dst_ip = "192.0.2.1";
  e.dst_port = 80;
  e.listener_kind = "real";
  e.method = "GET";
  e.uri = "/index.php?id=1";
  e.http_version = "1.1";
  e.host = "www.example.com";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
  e.status = 200;
  e.request_headers = {{"Host", "www.example.com"}, {"User-Agent", e.user_agent},
                       {"Accept", "*/*"}};
  e.raw_record = "{\"transaction\":{\"unique_id\":\"" + uid + "\",\"client_ip\":\"" + ip + "\"}}";
  return e;
}

// Fills rules, traps, categories (as the parsers would: core::classify).
inline void classify(core::Event* e) { e->categories = core::classify(e->rules, e->traps); }

// A rich, varied event: the aggregate tests count these by brute force.
inline core::Event randomEvent(std::mt19937_64& rng, int i, int64_t base, int64_t span) {
  static const std::vector<std::string> kIps = {
      "203.0.113.1", "203.0.113.2", "203.0.113.3", "198.51.100.4", "198.51.100.5",
      "2001:db8::1", "2001:db8::2", "192.0.2.77",  "10.0.0.1",     std::string("1.2.3.4\0x", 9)};
  static const std::vector<std::string> kSensors = {"sensor-a", "sensor-b", "sensor-c"};
  static const std::vector<std::string> kUris = {
      "/", "/index.php?id=1", "/index.php?id=2'--", "/wp-login.php", "/.env", "/admin/",
      "/robots.txt", "/phpinfo.php?x=1", "/cgi-bin/test.cgi?a=%00", "/UPPER/Case?Q=Select"};
  static const std::vector<std::string> kUas = {
      "Mozilla/5.0", "sqlmap/1.7.2#stable (https://sqlmap.org)", "", "curl/8.0.1",
      "Nikto/2.5.0", std::string("bad\xff\xfe ua", 9)};
  static const std::vector<std::string> kMethods = {"GET", "POST", "HEAD", "PUT", "get"};
  static const std::vector<int> kStatus = {200, 404, 301, 500, 0};
  static const std::vector<uint16_t> kPorts = {80, 443, 8080, 2222};
  static const std::vector<core::RuleHit> kRules = {
      rule(942100, "SQL Injection Attack Detected via libinjection", {}),
      rule(941100, "XSS Attack Detected via libinjection",
           {"application-multi", "attack-xss", "OWASP_CRS", "paranoia-level/1"}),
      rule(930120, "OS File Access Attempt", {"attack-lfi", "OWASP_CRS", "paranoia-level/1"}),
      rule(913100, "Found User-Agent associated with security scanner",
           {"attack-reputation-scanner", "OWASP_CRS"}),
      rule(920350, "Host header is a numeric IP address", {"attack-protocol", "OWASP_CRS"}),
      rule(949110, "Inbound Anomaly Score Exceeded", {"attack-generic"}),
      rule(980130, "Inbound Anomaly Score Exceeded (Total Inbound Score: 10)",
           {"event-correlation"}),
      rule(990001, "drosera honeytrap: robots", {"honeytrap/robots", "drosera"})};
  static const std::vector<std::string> kTraps = {"robots", "cookie", "fake_port",
                                                  "sensitive_file"};
  core::Event e = event("r" + std::to_string(i), base + static_cast<int64_t>(rng() % span),
                        kIps[rng() % kIps.size()], kSensors[rng() % kSensors.size()]);
  e.uri = kUris[rng() % kUris.size()];
  e.user_agent = kUas[rng() % kUas.size()];
  e.method = kMethods[rng() % kMethods.size()];
  e.status = kStatus[rng() % kStatus.size()];
  e.dst_port = kPorts[rng() % kPorts.size()];
  const int nrules = static_cast<int>(rng() % 5);
  for (int k = 0; k < nrules; ++k) e.rules.push_back(kRules[rng() % kRules.size()]);
  if (rng() % 6 == 0) {
    core::TrapHit t;
    t.kind = kTraps[rng() % kTraps.size()];
    t.bait = "/secret-" + std::to_string(rng() % 3);
    t.captured = "admin:hunter2";
    t.rule_id = 990001;
    e.traps.push_back(t);
  }
  e.attacker_flagged = rng() % 20 == 0;
  classify(&e);
  return e;
}

// `n` of them, numbered first, first + 1, ... (the same events as calling randomEvent in turn).
inline std::vector<core::Event> randomEvents(std::mt19937_64& rng, int first, int n, int64_t base,
                                             int64_t span) {
  std::vector<core::Event> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(randomEvent(rng, first + i, base, span));
  return out;
}

// The brute-force model: every stored event with its seq.
struct Model {
  std::vector<std::pair<uint64_t, core::Event>> events;

  static std::string pathOf(const std::string& uri) { return uri.substr(0, uri.find('?')); }
  static std::string lower(std::string s) {
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
  }
  static bool hasRules(const core::Event& e) {
    for (const auto& r : e.rules) {
      if (!core::isScoringRule(r.id)) return true;
    }
    return false;
  }
  static bool alert(const core::Event& e) { return hasRules(e) || !e.traps.empty(); }

  static bool matches(const EventFilter& f, const core::Event& e) {
    if (f.from_us != 0 && e.time_us < f.from_us) return false;
    if (f.to_us != 0 && e.time_us >= f.to_us) return false;
    if (!f.ip.empty() && e.src_ip != f.ip) return false;
    if (!f.sensor.empty() && e.sensor != f.sensor) return false;
    if (f.rule_id != 0 && std::none_of(e.rules.begin(), e.rules.end(),
                                       [&](const auto& r) { return r.id == f.rule_id; })) {
      return false;
    }
    if (!f.tag.empty() && std::none_of(e.rules.begin(), e.rules.end(), [&](const auto& r) {
          return std::find(r.tags.begin(), r.tags.end(), f.tag) != r.tags.end();
        })) {
      return false;
    }
    if (!f.category.empty() &&
        std::find(e.categories.begin(), e.categories.end(), f.category) == e.categories.end()) {
      return false;
    }
    if (!f.trap.empty() && std::none_of(e.traps.begin(), e.traps.end(),
                                        [&](const auto& t) { return t.kind == f.trap; })) {
      return false;
    }
    if (!f.text.empty()) {
      const std::string n = lower(f.text);
      if (lower(e.uri).find(n) == std::string::npos &&
          lower(e.user_agent).find(n) == std::string::npos) {
        return false;
      }
    }
    return true;
  }

  static std::set<std::string> keys(Dimension d, const core::Event& e) {
    std::set<std::string> k;
    switch (d) {
      case Dimension::kSourceIp: k.insert(e.src_ip); break;
      case Dimension::kSensor: k.insert(e.sensor); break;
      case Dimension::kMethod: k.insert(e.method); break;
      case Dimension::kUri: k.insert(pathOf(e.uri)); break;
      case Dimension::kUserAgent: k.insert(e.user_agent); break;
      case Dimension::kDstPort: k.insert(std::to_string(e.dst_port)); break;
      case Dimension::kStatus: k.insert(std::to_string(e.status)); break;
      case Dimension::kRule:
        for (const auto& r : e.rules) k.insert(std::to_string(r.id));
        break;
      case Dimension::kTag:
        for (const auto& r : e.rules) k.insert(r.tags.begin(), r.tags.end());
        break;
      case Dimension::kCategory: k.insert(e.categories.begin(), e.categories.end()); break;
      case Dimension::kTrap:
        for (const auto& t : e.traps) k.insert(t.kind);
        break;
    }
    return k;
  }

  std::vector<std::pair<std::string, uint64_t>> top(Dimension d, const EventFilter& f,
                                                    size_t limit) const {
    std::map<std::string, uint64_t> counts;
    for (const auto& [seq, e] : events) {
      if (!matches(f, e)) continue;
      for (const auto& k : keys(d, e)) ++counts[k];
    }
    std::vector<std::pair<std::string, uint64_t>> v(counts.begin(), counts.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (v.size() > limit) v.resize(limit);
    return v;
  }

  static int64_t floorTo(int64_t t, int64_t g) {
    int64_t r = t % g;
    if (r < 0) r += g;
    return t - r;
  }

  std::vector<CountBucket> counts(const EventFilter& f, int64_t bucket) const {
    std::map<int64_t, CountBucket> m;
    for (const auto& [seq, e] : events) {
      if (!matches(f, e)) continue;
      const int64_t b = floorTo(e.time_us, bucket);
      m[b].start_us = b;
      ++m[b].count;
      if (alert(e)) ++m[b].alerts;
    }
    std::vector<CountBucket> out;
    if (f.from_us != 0 && f.to_us != 0 && f.from_us >= f.to_us) return out;
    if (f.from_us != 0 && f.to_us != 0) {
      for (int64_t b = floorTo(f.from_us, bucket); b < f.to_us; b += bucket) {
        auto it = m.find(b);
        out.push_back(it != m.end() ? it->second : CountBucket{b, 0, 0});
      }
    } else {
      for (const auto& [b, c] : m) out.push_back(c);
    }
    return out;
  }

  // Newest first.
  std::vector<uint64_t> list(const EventFilter& f) const {
    std::vector<uint64_t> out;
    for (const auto& [seq, e] : events) {
      if (matches(f, e)) out.push_back(seq);
    }
    std::sort(out.rbegin(), out.rend());
    return out;
  }

  std::map<std::string, AttackerRow> attackers() const {
    std::map<std::string, AttackerRow> m;
    for (const auto& [seq, e] : events) {
      auto [it, fresh] = m.try_emplace(e.src_ip);
      AttackerRow& a = it->second;
      if (fresh) {
        a.ip = e.src_ip;
        a.first_seen_us = e.time_us;
        a.last_seen_us = e.time_us;
      }
      a.first_seen_us = std::min(a.first_seen_us, e.time_us);
      a.last_seen_us = std::max(a.last_seen_us, e.time_us);
      ++a.events;
      if (hasRules(e)) ++a.events_with_rules;
      std::set<std::string> cats(a.categories.begin(), a.categories.end());
      cats.insert(e.categories.begin(), e.categories.end());
      a.categories.assign(cats.begin(), cats.end());
      std::set<std::string> traps(a.traps.begin(), a.traps.end());
      for (const auto& t : e.traps) traps.insert(t.kind);
      a.traps.assign(traps.begin(), traps.end());
      std::set<std::string> sensors(a.sensors.begin(), a.sensors.end());
      sensors.insert(e.sensor);
      a.sensors.assign(sensors.begin(), sensors.end());
      a.flagged = a.flagged || !e.traps.empty() || e.attacker_flagged;
    }
    return m;
  }
};

}  // namespace drosera::store::testutil
