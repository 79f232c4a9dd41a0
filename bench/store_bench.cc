// The store under a collector's load (issue: "make bench"), run pinned to one core:
//   taskset -c 1 build/release/bench/store_bench [--events N] [--fill N] [--pg-events N]
//       [--batch N] [--dir DIR] [--no-ceiling] [--no-queries] [--no-fill]
//       [--packed-only]
//
// 1. Ingest of realistic events (ModSecurity v3 JSON records of 3-5 KB with the normalised
//    event the collector derives: headers, bodies, 0-4 CRS rule hits, traps) into SQLite, in
//    batches of 1000, in events/s; goal >= 50,000/s. Twice: as drosera sensors send them by
//    default, packed (docs/store.md, "Packed batches": the collector decodes each record and
//    stores the body the sensor compressed; the sensor's part timed apart), then as event lines
//    (the collector encodes and compresses; its JSON parsing is not timed). Printed with the
//    ratio of the second to the ceiling: a bare insert of the same rows (the 14 columns the store
//    writes, bodies already compressed, one table, no index, one prepared statement, same
//    batches, same pragmas).
// 2. The same ingest into PostgreSQL when DROSERA_PG_CONNINFO is set (bench/run.sh starts a
//    private server with tests/conformance/pg_server.sh).
// 3. SQLite filled to 1,000,000 events over 14 days; each dashboard aggregate timed (first call,
//    then the worst of 4 more) against the goal of 100 ms.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/base64.h"
#include "core/classify.h"
#include "core/json_text.h"
#include "store/codec.h"
#include "store/packed.h"
#include "store/store.h"
#include "store/testing.h"

namespace {

using drosera::core::Event;
using drosera::store::Dimension;
using drosera::store::EventFilter;
namespace internal = drosera::store::internal;

constexpr int64_t kHourUs = 3600LL * 1000000;
constexpr int64_t kDayUs = 24 * kHourUs;
constexpr int64_t kT0 = 1794787200LL * 1000000;  // 2026-11-16T00:00:00Z
constexpr int64_t kSpanUs = 14 * kDayUs;
size_t kBatch = 1000;  // events per insert() (--batch)

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of this thread: on a shared host, what the work cost whatever else ran meanwhile.
double cpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct RuleDef {
  int id;
  int severity;
  const char* msg;
  const char* file;
  std::vector<std::string> tags;
};

// A slice of CRS 3.3.4 as libmodsecurity reports it (942100 arrives without its tags).
const std::vector<RuleDef>& crsRules() {
  static const std::vector<RuleDef> rules = [] {
    const std::vector<std::string> common = {"application-multi", "language-multi",
                                             "platform-multi", "paranoia-level/1", "OWASP_CRS"};
    auto t = [&](std::vector<std::string> extra) {
      std::vector<std::string> v = common;
      v.insert(v.begin() + 3, extra.begin(), extra.end());
      return v;
    };
    return std::vector<RuleDef>{
        {942100, 2, "SQL Injection Attack Detected via libinjection",
         "REQUEST-942-APPLICATION-ATTACK-SQLI.conf", {}},
        {942110, 2, "SQL Injection Attack: Common Injection Testing Detected",
         "REQUEST-942-APPLICATION-ATTACK-SQLI.conf", t({"attack-sqli", "capec/1000/152/248/66"})},
        {942190, 2, "Detects MSSQL code execution and information gathering attempts",
         "REQUEST-942-APPLICATION-ATTACK-SQLI.conf", t({"attack-sqli", "capec/1000/152/248/66"})},
        {942260, 2, "Detects basic SQL authentication bypass attempts 2/3",
         "REQUEST-942-APPLICATION-ATTACK-SQLI.conf", t({"attack-sqli", "capec/1000/152/248/66"})},
        {941100, 2, "XSS Attack Detected via libinjection",
         "REQUEST-941-APPLICATION-ATTACK-XSS.conf", t({"attack-xss", "capec/1000/152/242"})},
        {941160, 2, "NoScript XSS InjectionChecker: HTML Injection",
         "REQUEST-941-APPLICATION-ATTACK-XSS.conf", t({"attack-xss", "capec/1000/152/242"})},
        {930100, 2, "Path Traversal Attack (/../)", "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
         t({"attack-lfi", "capec/1000/255/153/126"})},
        {930120, 2, "OS File Access Attempt", "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
         t({"attack-lfi", "capec/1000/255/153/126"})},
        {930130, 2, "Restricted File Access Attempt", "REQUEST-930-APPLICATION-ATTACK-LFI.conf",
         t({"attack-lfi", "capec/1000/255/153/126"})},
        {932100, 2, "Remote Command Execution: Unix Command Injection",
         "REQUEST-932-APPLICATION-ATTACK-RCE.conf", t({"attack-rce", "capec/1000/152/248/88"})},
        {932160, 2, "Remote Command Execution: Unix Shell Code Found",
         "REQUEST-932-APPLICATION-ATTACK-RCE.conf", t({"attack-rce", "capec/1000/152/248/88"})},
        {933160, 2, "PHP Injection Attack: High-Risk PHP Function Call Found",
         "REQUEST-933-APPLICATION-ATTACK-PHP.conf", t({"attack-injection-php",
                                                       "capec/1000/152/242"})},
        {913100, 2, "Found User-Agent associated with security scanner",
         "REQUEST-913-SCANNER-DETECTION.conf", t({"attack-reputation-scanner",
                                                  "capec/1000/118/224/541/310"})},
        {920350, 4, "Host header is a numeric IP address", "REQUEST-920-PROTOCOL-ENFORCEMENT.conf",
         t({"attack-protocol", "capec/1000/210/272"})},
        {920440, 2, "URL file extension is restricted by policy",
         "REQUEST-920-PROTOCOL-ENFORCEMENT.conf", t({"attack-protocol", "capec/1000/210/272"})},
        {920170, 2, "GET or HEAD Request with Body Content.",
         "REQUEST-920-PROTOCOL-ENFORCEMENT.conf", t({"attack-protocol", "capec/1000/210/272"})},
        {921110, 2, "HTTP Request Smuggling Attack", "REQUEST-921-PROTOCOL-ATTACK.conf",
         t({"attack-protocol", "capec/1000/210/272/220/33"})},
        {944100, 2, "Remote Command Execution: Suspicious Java class detected",
         "REQUEST-944-APPLICATION-ATTACK-JAVA.conf", t({"attack-injection-java",
                                                        "capec/1000/152/137/6"})},
        {950100, 2, "The Application Returned a 500-Level Status Code",
         "RESPONSE-950-DATA-LEAKAGES.conf", t({"attack-disclosure", "capec/1000/152"})},
        {990011, 2, "drosera honeytrap: sensitive file requested", "drosera-honeytraps.conf",
         {"honeytrap/sensitive_file", "drosera", "attack-honeytrap"}},
    };
  }();
  return rules;
}

const std::vector<std::string>& userAgents() {
  static const std::vector<std::string> v = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0", "curl/7.88.1", "Go-http-client/1.1",
      "sqlmap/1.7.2#stable (https://sqlmap.org)", "Mozilla/5.0 (Nikto/2.5.0)",
      "gobuster/3.6", "Fuzz Faster U Fool v2.1.0-dev", "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.1 Safari/605.1.15",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
      "Wget/1.21.3", "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
      "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
      "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "libwww-perl/6.67",
      "Apache-HttpClient/4.5.14 (Java/17.0.9)", "", "Mozilla/4.0 (compatible; MSIE 6.0)",
      "okhttp/4.12.0", "Hello, World", "Expanse, a Palo Alto Networks company"};
  return v;
}

const std::vector<std::string>& paths() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> p = {
        "/", "/index.php", "/.env", "/.git/config", "/wp-login.php", "/xmlrpc.php",
        "/wp-admin/admin-ajax.php", "/admin/", "/login", "/phpmyadmin/index.php", "/server-status",
        "/robots.txt", "/favicon.ico", "/phpinfo.php", "/config.php.bak", "/.aws/credentials",
        "/actuator/health", "/api/v1/users", "/cgi-bin/luci/;stok=/locale", "/boaform/admin/formLogin",
        "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/HNAP1/", "/owa/auth/logon.aspx",
        "/solr/admin/info/system", "/console/login/LoginForm.jsp", "/manager/html",
        "/.DS_Store", "/backup.zip", "/db.sql", "/search", "/product", "/cart", "/contact"};
    const char* plugins[] = {"contact-form-7", "woocommerce", "elementor", "revslider",
                             "wp-file-manager", "duplicator", "akismet", "jetpack",
                             "wpforms-lite", "all-in-one-seo-pack", "yoast", "litespeed-cache"};
    for (const char* pl : plugins) {
      for (const char* f : {"readme.txt", "changelog.txt", "includes/ajax.php", "assets/js/x.js"}) {
        p.push_back(std::string("/wp-content/plugins/") + pl + "/" + f);
      }
    }
    for (int i = 0; i < 800; ++i) p.push_back("/dir" + std::to_string(i % 97) + "/file" +
                                              std::to_string(i) + ".php");
    return p;
  }();
  return v;
}

struct Gen {
  std::vector<std::string> ips;
  Gen() {
    for (int i = 0; i < 20000; ++i) {
      const uint64_t h = splitmix(static_cast<uint64_t>(i) + 77);
      ips.push_back(std::to_string(1 + h % 223) + "." + std::to_string((h >> 8) % 256) + "." +
                    std::to_string((h >> 16) % 256) + "." + std::to_string((h >> 24) % 254 + 1));
    }
  }

  // One event in 100 comes from an address seen only then (a one-off scan, as most addresses a
  // honeypot sees are): event i's.
  static bool oneOff(uint64_t i) { return i % 100 == 37; }
  static std::string oneOffIp(uint64_t i) {
    const uint64_t h = splitmix(i ^ 0x0FF0FF);
    return std::to_string(1 + h % 223) + "." + std::to_string((h >> 8) % 256) + "." +
           std::to_string((h >> 16) % 256) + "." + std::to_string((h >> 24) % 254 + 1);
  }

  // Event i of a run of `total`: the same i gives the same event.
  Event make(uint64_t i, uint64_t total) const {
    std::mt19937_64 rng(splitmix(i));
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    auto skewed = [&](size_t n) {  // a few sources send most of the traffic
      const double u = std::uniform_real_distribution<double>(0, 1)(rng);
      return static_cast<size_t>(u * u * u * static_cast<double>(n));
    };
    Event e;
    const int sensor = static_cast<int>(pick(8));
    e.sensor = "sensor-" + std::to_string(sensor);
    e.format = "drosera";
    e.time_us = kT0 + static_cast<int64_t>(static_cast<double>(i) / static_cast<double>(total) *
                                           static_cast<double>(kSpanUs)) -
                static_cast<int64_t>(pick(30'000'000));
    char uid[48];
    std::snprintf(uid, sizeof uid, "%013" PRIx64 "%06x%06" PRIx64,
                  static_cast<uint64_t>(e.time_us), 0xA11CE + sensor, i & 0xFFFFFF);
    e.unique_id = uid;
    e.src_ip = ips[skewed(ips.size())];
    if (oneOff(i)) e.src_ip = oneOffIp(i);
    e.src_port = static_cast<uint16_t>(1024 + pick(60000));
    e.dst_ip = "192.0.2." + std::to_string(10 + sensor);
    static const uint16_t kPorts[] = {80, 80, 80, 443, 443, 8080, 8443, 8000, 2222, 8888};
    e.dst_port = kPorts[pick(10)];
    e.listener_kind = e.dst_port == 2222 || e.dst_port == 8888 ? "fake" : "real";
    e.tls = e.dst_port == 443 || e.dst_port == 8443;
    static const char* kMethods[] = {"GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST",
                                     "HEAD", "OPTIONS", "PUT", "PROPFIND"};
    e.method = kMethods[pick(12)];
    const std::string& path = paths()[skewed(paths().size())];
    static const char* kQueries[] = {"", "", "", "?id=1", "?id=1%27%20OR%20%271%27=%271",
                                     "?q=%3Cscript%3Ealert(1)%3C/script%3E",
                                     "?file=../../../../etc/passwd", "?cmd=;cat%20/etc/passwd",
                                     "?page=", "?s=%7B%7B7*7%7D%7D"};
    e.uri = path + kQueries[pick(10)];
    if (e.uri.back() == '=') e.uri += std::to_string(rng() % 100000);
    e.http_version = "1.1";
    e.host = pick(4) == 0 ? e.dst_ip : "www.example-shop.com";
    e.user_agent = userAgents()[skewed(userAgents().size())];
    static const int kStatus[] = {200, 200, 200, 404, 404, 404, 301, 302, 401, 500};
    e.status = kStatus[pick(10)];
    e.request_headers = {{"Host", e.host},
                         {"User-Agent", e.user_agent},
                         {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
                         {"Accept-Language", "en-US,en;q=0.5"},
                         {"Accept-Encoding", "gzip, deflate, br"},
                         {"Connection", "keep-alive"}};
    if (pick(2) == 0) {
      e.request_headers.push_back({"Cookie", "PHPSESSID=" + std::to_string(rng()) +
                                                 std::to_string(rng()) + "; _ga=GA1.2." +
                                                 std::to_string(rng() % 1000000000)});
    }
    if (pick(3) == 0) e.request_headers.push_back({"Referer", "https://" + e.host + "/"});
    if (pick(4) == 0) {
      e.request_headers.push_back({"X-Forwarded-For", ips[pick(ips.size())]});
    }
    e.request_headers.push_back({"Upgrade-Insecure-Requests", "1"});
    if (e.method == "POST" || e.method == "PUT") {
      e.request_body = "log=admin&pwd=" + std::to_string(rng()) + "&wp-submit=Log+In&redirect_to=" +
                       "https%3A%2F%2Fwww.example-shop.com%2Fwp-admin%2F&testcookie=1";
      if (pick(2) == 0) e.request_body += "&payload=" + std::string(200 + pick(600), 'A');
      e.request_headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
      e.request_headers.push_back({"Content-Length", std::to_string(e.request_body.size())});
    }
    // 0-4 rule hits; attacks bring the CRS scoring rules along.
    const auto& rules = crsRules();
    const int hits = static_cast<int>(pick(5));
    for (int k = 0; k < hits; ++k) {
      const RuleDef& d = rules[pick(rules.size())];
      drosera::core::RuleHit h;
      h.id = d.id;
      h.severity = d.severity;
      h.message = d.msg;
      h.data = "Matched Data: " + e.uri.substr(0, 60) + " found within ARGS:id: " +
               e.uri.substr(0, 40);
      h.match = "Matched \"Operator `Rx' with parameter `(?i)(?:\\b(?:union|select)\\b)' against "
                "variable `ARGS:id' (Value: `" + e.uri.substr(0, 50) + "' )";
      h.tags = d.tags;
      h.file = std::string("/usr/share/modsecurity-crs/rules/") + d.file;
      h.line = static_cast<int>(40 + pick(900));
      h.ver = "OWASP_CRS/3.3.4";
      e.rules.push_back(std::move(h));
    }
    if (hits > 0 && pick(3) != 0) {
      drosera::core::RuleHit s;
      s.id = 949110;
      s.severity = 2;
      s.message = "Inbound Anomaly Score Exceeded (Total Score: " + std::to_string(5 * hits) + ")";
      s.tags = {"application-multi", "language-multi", "platform-multi", "attack-generic"};
      s.file = "/usr/share/modsecurity-crs/rules/REQUEST-949-BLOCKING-EVALUATION.conf";
      s.line = 80;
      s.ver = "OWASP_CRS/3.3.4";
      e.rules.push_back(s);
      e.scores = {{"inbound_anomaly_score", 5 * hits}, {"sql_injection_score", 5}};
      e.inbound_score = 5 * hits;
    }
    if (pick(10) == 0) {
      static const char* kTraps[] = {"robots", "comment", "hidden_field", "cookie",
                                     "sensitive_file", "admin_login", "honeytoken", "fake_port"};
      drosera::core::TrapHit t;
      t.kind = kTraps[pick(8)];
      t.bait = "/backup-" + std::to_string(pick(5)) + ".sql";
      t.captured = pick(2) ? "admin:" + std::to_string(rng() % 100000) : "";
      t.rule_id = 990000 + static_cast<int>(pick(8));
      e.traps.push_back(std::move(t));
    }
    e.attacker_flagged = pick(15) == 0;
    e.categories = drosera::core::classify(e.rules, e.traps);
    e.raw_record = rawRecord(e, rng);
    return e;
  }

  // The ModSecurity v3 JSON audit record plus the "drosera" object (docs/event-format.md).
  static std::string rawRecord(const Event& e, std::mt19937_64& rng) {
    std::string request = e.method + " " + e.uri + " HTTP/1.1\r\n";
    for (const auto& h : e.request_headers) request += h.name + ": " + h.value + "\r\n";
    request += "\r\n" + e.request_body;
    std::string out;
    out.reserve(5000);
    drosera::core::JsonWriter w(out);
    w.beginObject().key("transaction").beginObject();
    w.key("client_ip").value(e.src_ip).key("time_stamp").value("Mon Nov 30 07:42:49 2026");
    w.key("server_id").value(e.sensor).key("client_port").value(static_cast<uint64_t>(e.src_port));
    w.key("host_ip").value(e.dst_ip).key("host_port").value(static_cast<uint64_t>(e.dst_port));
    w.key("unique_id").value(e.unique_id);
    w.key("request").beginObject().key("method").value(e.method).key("http_version").value(1.1);
    w.key("uri").value(e.uri).key("headers").beginObject();
    for (const auto& h : e.request_headers) w.key(h.name).value(h.value);
    w.endObject().key("body").value(e.request_body).endObject();
    w.key("response").beginObject().key("body").value("").key("http_code").value(e.status);
    w.key("headers").beginObject().key("Server").value("Apache/2.4.62 (Debian)");
    w.key("Date").value("Mon, 30 Nov 2026 07:42:49 GMT");
    w.key("Content-Type").value("text/html; charset=UTF-8");
    w.key("Content-Length").value(std::to_string(1000 + rng() % 9000));
    w.key("Set-Cookie").value("sid=" + std::to_string(rng()) + "; Path=/; HttpOnly");
    w.key("ETag").value("\"1b62-" + std::to_string(rng() % 100000000) + "\"");
    w.endObject().endObject();
    w.key("producer").beginObject().key("modsecurity")
        .value("ModSecurity v3.0.9 (Linux)").key("connector").value("drosera 0.1.0");
    w.key("secrules_engine").value("DetectionOnly").key("components").beginArray()
        .value("OWASP_CRS/3.3.4").endArray().endObject();
    w.key("messages").beginArray();
    for (const auto& r : e.rules) {
      w.beginObject().key("message").value(r.message).key("details").beginObject();
      w.key("match").value(r.match).key("reference").value("o0,5v21,10t:urlDecodeUni");
      w.key("ruleId").value(std::to_string(r.id)).key("file").value(r.file);
      w.key("lineNumber").value(std::to_string(r.line)).key("data").value(r.data);
      w.key("severity").value(std::to_string(r.severity)).key("ver").value(r.ver);
      w.key("rev").value("").key("tags").beginArray();
      for (const auto& t : r.tags) w.value(t);
      w.endArray().key("maturity").value("0").key("accuracy").value("0").endObject().endObject();
    }
    w.endArray().endObject();
    w.key("drosera").beginObject().key("schema").value(1).key("sensor").value(e.sensor);
    w.key("seq").value(static_cast<uint64_t>(rng() % 10000000));
    w.key("received_at").value("2026-11-30T07:42:49.123456Z");
    w.key("answered_at").value("2026-11-30T07:42:49.124001Z");
    w.key("listener").beginObject().key("port").value(static_cast<uint64_t>(e.dst_port));
    w.key("kind").value(e.listener_kind).key("tls").value(e.tls).endObject();
    w.key("client").beginObject().key("ip").value(e.src_ip).key("port")
        .value(static_cast<uint64_t>(e.src_port)).key("source").value("socket").endObject();
    w.key("inspection").beginObject().key("state").value("inspected").key("lag_ms")
        .value(static_cast<uint64_t>(rng() % 40)).key("engine_us")
        .value(static_cast<uint64_t>(400 + rng() % 2000)).endObject();
    w.key("scores").beginObject();
    for (const auto& [k, v] : e.scores) w.key(k).value(v);
    w.endObject().key("limits_hit").beginArray().endArray();
    w.key("anomalies").beginArray().endArray().key("traps").beginArray();
    for (const auto& t : e.traps) {
      w.beginObject().key("kind").value(t.kind).key("bait").value(t.bait).key("captured")
          .value(t.captured).key("rule_id").value(t.rule_id).endObject();
    }
    w.endArray();
    w.key("raw").value(drosera::core::base64Encode(request)).key("raw_truncated").value(false);
    w.endObject().endObject();
    return out;
  }
};

std::vector<Event> batchOf(const Gen& gen, uint64_t first, size_t n, uint64_t total) {
  std::vector<Event> b;
  b.reserve(n);
  for (size_t i = 0; i < n; ++i) b.push_back(gen.make(first + i, total));
  return b;
}

std::string cpuList() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "unknown";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out += (out.empty() ? "" : ",") + std::to_string(c);
  }
  return out;
}

[[noreturn]] void die(const std::string& what, const drosera::core::Status& st) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what.c_str(), st.toString().c_str());
  std::exit(1);
}

struct IngestResult {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;
  uint64_t body_bytes = 0;        // bodies before compression (the ceiling's run only)
  uint64_t compressed_bytes = 0;  // and after
};

// Times only the store's insert calls and the fold of what they leave (generation is outside
// the clock). `packed`: as the collector takes packed batches (docs/store.md, "Packed batches"):
// once the store has trained a sensor's own dictionary (on its first 500 events), that sensor's
// events are packed as it does (off the clock, timed apart in `sensor_cpu_seconds`), then on the
// clock decoded and stored (insertPacked); the others go whole, as parsed lines do. The
// dictionaries' training (once per sensor, in a collector's ingest answer) is off the clock.
IngestResult ingest(drosera::store::Store& store, const Gen& gen, uint64_t first, uint64_t n,
                    uint64_t total, bool packed = false, double* sensor_cpu_seconds = nullptr) {
  IngestResult r;
  std::map<std::string, std::unique_ptr<drosera::store::Packer>> packers;  // by sensor
  std::vector<std::string> wires;  // one packed record per event (empty: sent whole)
  std::vector<Event> decoded;
  std::vector<drosera::store::Store::PackedBody> bodies;
  for (uint64_t i = first; i < first + n; i += kBatch) {
    auto batch = batchOf(gen, i, std::min<uint64_t>(kBatch, first + n - i), total);
    for (const auto& e : batch) r.raw_bytes += e.raw_record.size();
    bool any_packed = false;
    if (packed) {
      for (const auto& e : batch) {
        const uint32_t id = store.packingDictionaryId(e.sensor);
        auto& p = packers[e.sensor];
        if (id == 0 || (p && p->dictionaryId() == id)) continue;
        auto d = store.packingDictionary(e.sensor);
        if (!d) die("dictionary", d.status());
        if (d.value()) p = std::make_unique<drosera::store::Packer>(d.value()->bytes);
      }
      const double sc = cpuNow();
      wires.resize(batch.size());
      for (size_t k = 0; k < batch.size(); ++k) {
        wires[k].clear();
        const auto& p = packers[batch[k].sensor];
        if (p) {
          p->append(batch[k], &wires[k]);
          any_packed = true;
        }
      }
      if (sensor_cpu_seconds != nullptr) *sensor_cpu_seconds += cpuNow() - sc;
    }
    const double t = now();
    const double c = cpuNow();
    drosera::core::Result<drosera::store::InsertResult> res = drosera::store::InsertResult{};
    if (any_packed) {
      // The collector's part: the records decoded, the sensor named from its token.
      decoded.resize(batch.size());
      bodies.clear();
      for (size_t k = 0; k < batch.size(); ++k) {
        if (wires[k].empty()) {  // a sensor without its dictionary yet: the event whole
          decoded[k] = batch[k];
          bodies.push_back({});
          continue;
        }
        std::string_view in = wires[k];
        if (auto st = drosera::store::openPackedBatch(&in); !st) die("packed batch", st);
        drosera::store::PackedRecord rec;
        if (auto st = drosera::store::nextPackedRecord(&in, &rec); !st) die("packed record", st);
        if (auto st = drosera::store::decodePackedDetail(rec.detail, &decoded[k]); !st) {
          die("packed detail", st);
        }
        decoded[k].sensor = batch[k].sensor;
        bodies.push_back({rec.detail, rec.body});
      }
      res = store.insertPacked(decoded, bodies);
    } else {
      res = store.insert(batch);
    }
    r.cpu_seconds += cpuNow() - c;
    r.seconds += now() - t;
    if (!res) die("insert", res.status());
    r.events += res->inserted;
  }
  // The aggregates the inserts left to fold are part of the work.
  const double t = now();
  const double c = cpuNow();
  if (auto st = store.foldPending(); !st) die("fold", st);
  r.cpu_seconds += cpuNow() - c;
  r.seconds += now() - t;
  return r;
}

// The ceiling: the rows the store writes (encoded and compressed beforehand, off the clock),
// plain INSERTs into one table without any index, batches of the same size.
IngestResult bareInsert(const std::string& path, const Gen& gen, uint64_t n, uint64_t total) {
  auto db = drosera::store::testing::openSqliteDbForTest(path, false);
  if (!db) die("bare sqlite", db.status());
  auto& d = *db.value();
  auto st = d.execScript(
      "CREATE TABLE bare (seq INTEGER PRIMARY KEY, sensor BLOB, unique_id BLOB, time_us BIGINT, "
      "src_ip BLOB, src_port INTEGER, dst_port INTEGER, method BLOB, uri BLOB, user_agent BLOB, "
      "status INTEGER, flags INTEGER, keys BLOB, body BLOB)");
  if (!st) die("bare create", st);
  // Compressed as the store compresses: with a dictionary trained on the same kind of bodies.
  internal::Compressor comp;
  {
    std::vector<std::string> samples;
    for (uint64_t i = 0; i < 500; ++i) samples.push_back(internal::encodeBody(gen.make(i, total)));
    if (auto dict = internal::trainDictionary(samples, 64 * 1024)) comp.useDictionary(*dict);
  }
  IngestResult r;
  uint64_t seq = 0;
  for (uint64_t i = 0; i < n; i += kBatch) {
    auto batch = batchOf(gen, i, std::min<uint64_t>(kBatch, n - i), total);
    struct Row {
      std::string keys, body;
      int flags;
    };
    std::vector<Row> rows(batch.size());
    for (size_t k = 0; k < batch.size(); ++k) {
      auto facts = internal::factsOf(batch[k]);
      rows[k].keys = internal::encodeKeys(facts);
      rows[k].flags = internal::flagsOf(facts);
      const std::string body = internal::encodeBody(batch[k]);
      comp.compress(body, &rows[k].body);
      r.raw_bytes += batch[k].raw_record.size();
      r.body_bytes += body.size();
      r.compressed_bytes += rows[k].body.size();
    }
    std::vector<internal::Param> p;
    p.reserve(batch.size() * 14);
    for (size_t k = 0; k < batch.size(); ++k) {
      const Event& e = batch[k];
      p.emplace_back(static_cast<int64_t>(++seq));
      p.emplace_back(e.sensor);
      p.emplace_back(e.unique_id);
      p.emplace_back(e.time_us);
      p.emplace_back(e.src_ip);
      p.emplace_back(static_cast<int64_t>(e.src_port));
      p.emplace_back(static_cast<int64_t>(e.dst_port));
      p.emplace_back(e.method);
      p.emplace_back(e.uri);
      p.emplace_back(e.user_agent);
      p.emplace_back(static_cast<int64_t>(e.status));
      p.emplace_back(rows[k].flags);
      p.emplace_back(rows[k].keys);
      p.emplace_back(rows[k].body);
    }
    const double t = now();
    const double c = cpuNow();
    st = d.begin(true);
    if (st) {
      st = d.runMany("INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 14, p);
    }
    if (st) st = d.commit();
    r.cpu_seconds += cpuNow() - c;
    r.seconds += now() - t;
    if (!st) die("bare insert", st);
    r.events += batch.size();
  }
  return r;
}

void printIngest(const char* what, const IngestResult& r) {
  std::printf("  %-40s %8" PRIu64 " events in %6.2f s = %7.0f events/s (%5.1f MB/s of records); "
              "CPU %5.1f us/event\n",
              what, r.events, r.seconds, static_cast<double>(r.events) / r.seconds,
              static_cast<double>(r.raw_bytes) / r.seconds / 1e6,
              r.cpu_seconds / static_cast<double>(r.events) * 1e6);
}

// CPU seconds of the PostgreSQL server's processes (the postmaster's children: the backends
// do the work of a query), from /proc/PID/schedstat (nanoseconds on a CPU). 0 without a server.
struct ServerCpu {
  int64_t postmaster = 0;
  double operator()() const {
    if (postmaster <= 0) return 0;
    double total = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      FILE* f = std::fopen((entry.path() / "stat").c_str(), "r");
      if (f == nullptr) continue;
      char buf[1024];
      const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      std::fclose(f);
      buf[n] = '\0';
      const char* close = std::strrchr(buf, ')');
      long long ppid = 0;
      if (close == nullptr || std::sscanf(close + 1, " %*c %lld", &ppid) != 1) continue;
      if (ppid != postmaster && std::atoll(name.c_str()) != postmaster) continue;
      if (FILE* g = std::fopen((entry.path() / "schedstat").c_str(), "r")) {
        unsigned long long ns = 0;
        if (std::fscanf(g, "%llu", &ns) == 1) total += static_cast<double>(ns) / 1e9;
        std::fclose(g);
      }
    }
    return total;
  }
};

struct Timing {
  std::string name;
  double cpu_first_ms = 0;
  double cpu_warm_ms = 0;   // the worst of 4 runs after the first
  double wall_warm_ms = 0;
  std::string note;         // what the query answered (its size, how far a search got)
};

// Runs fn 5 times: CPU time of this thread plus the database server's (PostgreSQL), and the
// wall clock, which on a shared machine mostly measures the neighbours.
Timing timeIt(const std::string& name, const ServerCpu& server,
              const std::function<std::string()>& fn) {
  Timing t;
  t.name = name;
  for (int i = 0; i < 5; ++i) {
    const double s = now();
    const double c = cpuNow() + server();
    t.note = fn();
    const double cpu_ms = (cpuNow() + server() - c) * 1000;
    const double ms = (now() - s) * 1000;
    if (i == 0) {
      t.cpu_first_ms = cpu_ms;
    } else {
      t.cpu_warm_ms = std::max(t.cpu_warm_ms, cpu_ms);
      t.wall_warm_ms = std::max(t.wall_warm_ms, ms);
    }
  }
  return t;
}

const char* dimensionName(Dimension d) {
  switch (d) {
    case Dimension::kSourceIp: return "source ip";
    case Dimension::kRule: return "rule";
    case Dimension::kCategory: return "category";
    case Dimension::kTag: return "tag";
    case Dimension::kDstPort: return "dst port";
    case Dimension::kUserAgent: return "user agent";
    case Dimension::kTrap: return "trap";
    case Dimension::kSensor: return "sensor";
    case Dimension::kUri: return "uri";
    case Dimension::kMethod: return "method";
    case Dimension::kStatus: return "status";
  }
  return "?";
}

}  // namespace

std::string pageNote(const drosera::store::EventPage& p) {
  std::string n = std::to_string(p.events.size()) + " events";
  if (p.next_cursor != 0) n += ", more";
  return n;
}

// The dashboard's API calls (docs/dashboard.md, web/js/pages/) over the filled store, each
// timed; whole pages too (every call a page makes, one after the other). Prints them and
// returns how many went over their goal (100 ms of CPU per call, 1 s per page).
int timeQueries(drosera::store::Store& store, const char* db, const Gen& gen,
                const ServerCpu& server) {
  using drosera::store::EventQuery;
  auto stats = store.stats();
  if (!stats) die("stats", stats.status());
  std::vector<Timing> timings;
  std::vector<double> goal_ms;
  auto add = [&](Timing t, double goal = 100) {
    timings.push_back(std::move(t));
    goal_ms.push_back(goal);
  };
  const int64_t t_end = kT0 + kSpanUs;
  EventFilter all;
  EventFilter day;
  day.from_us = t_end - kDayUs;
  day.to_us = t_end;
  EventFilter week;
  week.from_us = t_end - 7 * kDayUs;
  week.to_us = t_end;
  EventFilter past_day;  // a whole day in the middle of the history
  past_day.from_us = kT0 + 7 * kDayUs;
  past_day.to_us = kT0 + 8 * kDayUs;
  // A range that is not hour-aligned: partial hours come from the events.
  EventFilter ragged;
  ragged.from_us = t_end - kDayUs - 1234567;
  ragged.to_us = t_end - 7654321;
  auto check = [](auto r, const char* what) {
    if (!r) die(what, r.status());
    return r;
  };
  auto size = [](const auto& r) { return std::to_string(r->size()) + " rows"; };

  // Overview.
  auto counts = [&](const std::string& name, const EventFilter& f, int64_t bucket) {
    add(timeIt("counts over time, " + name, server,
               [&] { return size(check(store.countsOverTime(f, bucket), "counts")); }));
  };
  counts("all, 24h buckets", all, kDayUs);
  counts("all, 1h buckets", all, kHourUs);
  counts("last 7 days, 1h buckets", week, kHourUs);
  counts("last 24h, 1h buckets", day, kHourUs);
  counts("last 24h, 15 min buckets", day, kHourUs / 4);
  counts("ragged 24h, 1h buckets", ragged, kHourUs);
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kCategory,
                      Dimension::kTag, Dimension::kDstPort, Dimension::kUserAgent, Dimension::kTrap,
                      Dimension::kSensor, Dimension::kUri, Dimension::kMethod, Dimension::kStatus}) {
    for (auto [name, f] : {std::pair{"all", all}, std::pair{"last 24h", day},
                           std::pair{"ragged 24h", ragged}}) {
      add(timeIt(std::string("top 10 ") + dimensionName(d) + ", " + name, server,
                 [&] { return size(check(store.top(d, f, 10), "top")); }));
    }
  }
  for (auto [name, f] : {std::pair{"24h", day}, std::pair{"7d", week},
                         std::pair{"a past day, ragged", ragged}}) {
    add(timeIt(std::string("overview page, ") + name, server,
               [&] {
                 check(
                     store.countsOverTime(f, f.to_us - f.from_us > kDayUs ? kHourUs : kHourUs / 4),
                     "counts");
                 for (Dimension d : {Dimension::kSourceIp, Dimension::kCategory, Dimension::kRule,
                                     Dimension::kTrap, Dimension::kDstPort, Dimension::kUserAgent,
                                     Dimension::kUri}) {
                   check(store.top(d, f, 10), "top");
                 }
                 check(store.top(Dimension::kSourceIp, f, 1000), "geo");
                 check(store.sensors(), "sensors");
                 check(store.stats(), "stats");
                 return std::string();
               }),
        1000);
  }
  for (const char* order : {"last_seen", "events", "first_seen"}) {
    drosera::store::AttackerQuery q;
    q.order = order;
    add(timeIt(std::string("attackers, 100 by ") + order, server,
               [&] { return size(check(store.attackers(q), "attackers")); }));
  }
  {
    drosera::store::AttackerQuery q;
    q.filter = day;
    add(timeIt("attackers, 100 seen in the last 24h", server,
               [&] { return size(check(store.attackers(q), "attackers")); }));
  }

  // Events pages of 50 (the events page and the attacker's timeline).
  auto page = [&](const std::string& name, const EventFilter& f, uint64_t before = 0) {
    EventQuery q;
    q.filter = f;
    q.limit = 50;
    q.before_seq = before;
    add(timeIt("events page of 50, " + name, server,
               [&] { return pageNote(check(store.events(q), "events").value()); }));
  };
  auto heavy = check(store.top(Dimension::kSourceIp, all, 1), "top");
  const std::string heavy_ip = heavy->at(0).key;
  page("newest", all);
  page("older (cursor at the middle)", all, stats->last_seq / 2);
  page("ip " + heavy_ip + " (the busiest)", [&] {
    EventFilter f;
    f.ip = heavy_ip;
    return f;
  }());
  page("a rare ip", [&] {
    EventFilter f;
    f.ip = gen.ips[19999];
    return f;
  }());
  // An event about the middle of the store (events 0 to last_seq - 1 are stored) from a one-off.
  uint64_t one_off = stats->last_seq / 2;
  while (!Gen::oneOff(one_off)) --one_off;
  const std::string one_off_ip = Gen::oneOffIp(one_off);
  page("a one-off ip (1 event, mid-store)", [&] {
    EventFilter f;
    f.ip = one_off_ip;
    return f;
  }());
  page("rule 942100", [] {
    EventFilter f;
    f.rule_id = 942100;
    return f;
  }());
  page("rule 999999 (matches nothing)", [] {
    EventFilter f;
    f.rule_id = 999999;
    return f;
  }());
  page("category honeytrap", [] {
    EventFilter f;
    f.category = "honeytrap";
    return f;
  }());
  page("trap robots", [] {
    EventFilter f;
    f.trap = "robots";
    return f;
  }());
  page("last 24h, sensor-3", [&] {
    EventFilter f = day;
    f.sensor = "sensor-3";
    return f;
  }());
  page("a past day", past_day);
  page("a past day, rule 942100", [&] {
    EventFilter f = past_day;
    f.rule_id = 942100;
    return f;
  }());
  page("text wp-login (common)", [] {
    EventFilter f;
    f.text = "wp-login";
    return f;
  }());
  const std::string nothing = "no-such-text-zq";
  page("text matching nothing, whole store", [&] {
    EventFilter f;
    f.text = nothing;
    return f;
  }());
  page("text matching nothing, last 24h", [&] {
    EventFilter f = day;
    f.text = nothing;
    return f;
  }());
  page("text matching nothing, a past day", [&] {
    EventFilter f = past_day;
    f.text = nothing;
    return f;
  }());
  page("text matching nothing, ip " + heavy_ip, [&] {
    EventFilter f;
    f.ip = heavy_ip;
    f.text = nothing;
    return f;
  }());

  // Attacker pages: every call of web/js/pages/attacker.js, for the busiest address and for
  // one with about 64 events.
  auto attackerCalls = [&](const std::string& ip, std::vector<Timing>* parts) {
    auto timed = [&](const std::string& name, const std::function<std::string()>& fn) {
      if (parts != nullptr) parts->push_back(timeIt(name, server, fn));
      else fn();
    };
    std::optional<drosera::store::AttackerRow> a;
    timed("attacker " + ip + ": the attacker row", [&] {
      a = check(store.attacker(ip), "attacker").value();
      return std::string();
    });
    if (!a) die("attacker", drosera::core::Status::notFound(ip));
    // The activity chart: a bucket of 60 s .. 7 days for at most 120 of them.
    const int64_t first_s = a->first_seen_us / 1000000, last_s = a->last_seen_us / 1000000;
    const int64_t span_s = std::max<int64_t>(60, last_s - first_s);
    int64_t bucket = 31 * 86400;
    for (int64_t b : {60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400}) {
      if (span_s / b <= 120) {
        bucket = b;
        break;
      }
    }
    EventFilter activity;
    activity.ip = ip;
    activity.from_us = first_s / bucket * bucket * 1000000;
    activity.to_us = (last_s / bucket + 1) * bucket * 1000000;
    timed("attacker " + ip + ": activity (" + std::to_string(bucket / 60) + " min buckets)",
          [&] { return size(check(store.countsOverTime(activity, bucket * 1000000), "counts")); });
    for (const char* trap : {"robots", "comment", "admin_login", "honeytoken"}) {
      if (std::find(a->traps.begin(), a->traps.end(), trap) == a->traps.end()) continue;
      EventQuery q;
      q.filter.ip = ip;
      q.filter.trap = trap;
      q.limit = 50;
      timed("attacker " + ip + ": credentials, trap " + trap,
            [&] { return pageNote(check(store.events(q), "events").value()); });
    }
    EventFilter by_ip;
    by_ip.ip = ip;
    timed("attacker " + ip + ": top 15 rules",
          [&] { return size(check(store.top(Dimension::kRule, by_ip, 15), "top")); });
    EventQuery q;
    q.filter = by_ip;
    q.limit = 50;
    timed("attacker " + ip + ": timeline, 50 events",
          [&] { return pageNote(check(store.events(q), "events").value()); });
    return a->events;
  };
  std::string modest_ip;
  for (size_t i = 0; i < gen.ips.size() && modest_ip.empty(); i += 97) {
    auto a = check(store.attacker(gen.ips[i]), "attacker");
    if (a->has_value() && (*a)->events >= 50 && (*a)->events <= 80) modest_ip = gen.ips[i];
  }
  for (const std::string& ip : {heavy_ip, modest_ip, one_off_ip}) {
    if (ip.empty()) continue;
    std::vector<Timing> parts;
    const uint64_t n = attackerCalls(ip, &parts);
    for (auto& t : parts) add(std::move(t));
    add(timeIt("attacker page, " + ip + " (" + std::to_string(n) + " events)", server,
               [&] {
                 attackerCalls(ip, nullptr);
                 return std::string();
               }),
        1000);
  }

  // Aggregates that scan the events (filters other than a time range: the API's, not the
  // dashboard's), within the store's budget of about half a second; the goal is that bound.
  auto scanned = [&](const std::string& name,
                     const std::function<bool(drosera::store::ScanReach*)>& fn) {
    add(timeIt("scanning aggregate, " + name, server,
               [&] {
                 drosera::store::ScanReach reach;
                 if (!fn(&reach)) die("scanning aggregate", drosera::core::Status::internal(name));
                 if (!reach.partial) return std::string("complete");
                 char note[96];
                 std::snprintf(note, sizeof note,
                               "partial: counted back to %.1f days before the end",
                               static_cast<double>(t_end - reach.searched_until_us) /
                                   static_cast<double>(kDayUs));
                 return std::string(note);
               }),
        1000);
  };
  auto scannedTop = [&](const std::string& name, Dimension d, const EventFilter& f) {
    scanned("top 10 " + std::string(dimensionName(d)) + ", " + name,
            [&, d](drosera::store::ScanReach* r) { return store.top(d, f, 10, r).isOk(); });
  };
  auto scannedCounts = [&](const std::string& name, const EventFilter& f) {
    scanned("counts over time (1h), " + name, [&](drosera::store::ScanReach* r) {
      return store.countsOverTime(f, kHourUs, r).isOk();
    });
  };
  {
    EventFilter text;
    text.text = "wp-login";
    scannedTop("text wp-login, whole store", Dimension::kSourceIp, text);
    EventFilter none;
    none.text = "no-such-text-zq";
    scannedTop("text matching nothing, whole store", Dimension::kUri, none);
    EventFilter rule;
    rule.rule_id = 942100;
    scannedCounts("rule 942100, whole store", rule);
    EventFilter sensor = week;
    sensor.sensor = "sensor-3";
    scannedTop("sensor-3, last 7 days", Dimension::kRule, sensor);
    EventFilter tag = past_day;
    tag.tag = "attack-sqli";
    scannedCounts("tag attack-sqli, a past day", tag);
    EventFilter ip;
    ip.ip = heavy_ip;
    scannedTop("ip " + heavy_ip + " (the busiest)", Dimension::kUri, ip);
  }

  int failed = 0;
  std::printf("dashboard queries over %" PRIu64 " events, %s (CPU: this thread%s; goal: under "
              "100 ms per API call, 1 s per page; first run, then the worst of 4 more)\n",
              stats->events, db, server.postmaster > 0 ? " + the PostgreSQL server" : "");
  std::printf("  %-62s %10s %10s %10s\n", "", "CPU first", "CPU warm", "wall warm");
  for (size_t i = 0; i < timings.size(); ++i) {
    const Timing& t = timings[i];
    const bool ok = t.cpu_warm_ms < goal_ms[i];
    failed += ok ? 0 : 1;
    std::printf("  %-62s %7.1f ms %7.1f ms %7.1f ms  %s  %s\n", t.name.c_str(), t.cpu_first_ms,
                t.cpu_warm_ms, t.wall_warm_ms, ok ? "PASS" : "FAIL", t.note.c_str());
  }
  std::printf("\n%s: %d of %zu over their goal\n\n", db, failed, timings.size());
  return failed;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  uint64_t ingest_n = 200'000;
  uint64_t fill_n = 1'000'000;
  uint64_t pg_n = 100'000;
  uint64_t pg_fill = 1'000'000;
  std::string dir;
  bool queries = true, bare_run = true, fill = true, reuse = false, packed_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto number = [&] {
      ++i;
      return v != nullptr ? std::strtoull(v, nullptr, 10) : 0;
    };
    if (a == "--no-queries") queries = false;
    else if (a == "--no-ceiling") bare_run = false;
    else if (a == "--no-fill") fill = queries = false;
    else if (a == "--reuse") reuse = true;
    else if (a == "--packed-only")
      packed_only = true;  // the packed ingest alone (profiling)
    else if (a == "--events") ingest_n = number();
    else if (a == "--fill") fill_n = number();
    else if (a == "--pg-events") pg_n = number();
    else if (a == "--pg-fill") pg_fill = number();
    else if (a == "--batch") kBatch = std::max<size_t>(1, number());
    else if (a == "--dir" && v != nullptr) dir = argv[++i];
    else {
      std::fprintf(stderr, "store_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (reuse && dir.empty()) {
    std::fprintf(stderr, "store_bench: --reuse needs --dir (a folder with a store.db)\n");
    return 2;
  }
  fill_n = std::max(fill_n, ingest_n);
  const bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/var/tmp/drosera-store-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  const Gen gen;
  std::printf("store_bench: CPUs allowed: %s%s; files in %s (%s)\n", cpuList().c_str(),
              cpuList() == "1" ? " (pinned: taskset -c 1)" : " (NOT pinned to one core)",
              dir.c_str(), "on disk, WAL, synchronous=NORMAL");
  {
    uint64_t bytes = 0, mn = UINT64_MAX, mx = 0, rules = 0;
    for (uint64_t i = 0; i < 2000; ++i) {
      const Event e = gen.make(i * 499, fill_n);
      bytes += e.raw_record.size();
      mn = std::min<uint64_t>(mn, e.raw_record.size());
      mx = std::max<uint64_t>(mx, e.raw_record.size());
      rules += e.rules.size();
    }
    std::printf("events: ModSecurity v3 JSON records, %.0f bytes on average (%" PRIu64 "..%" PRIu64
                "), %.1f rule hits each, batches of %zu\n\n",
                static_cast<double>(bytes) / 2000, mn, mx, static_cast<double>(rules) / 2000,
                kBatch);
  }

  // 1. SQLite ingest and its ceiling.
  const std::string store_path = dir + "/store.db";
  if (reuse) {
    std::printf("reusing the SQLite store %s (no ingest)\n", store_path.c_str());
    if (!std::filesystem::exists(store_path)) {
      std::fprintf(stderr, "store_bench: no %s\n", store_path.c_str());
      return 1;
    }
  }
  const double open_wall = now(), open_cpu = cpuNow();
  auto opened = drosera::store::openSqliteStore({store_path, false});
  if (!opened) die("open sqlite", opened.status());
  if (reuse) {
    // Opening an older store upgrades it (docs/store.md, "Migrations").
    std::printf("  opened in %.2f s (CPU %.2f s)\n", now() - open_wall, cpuNow() - open_cpu);
  }
  auto& store = *opened.value();
  double rate = 0;
  if (!reuse) {
    std::printf("ingest into SQLite (%" PRIu64 " events into an empty store)\n", ingest_n);
    // Packed first, in a store of its own closed before the next run (a store left open, with
    // its caches, cost the run after it about 10 %).
    double packed_rate = 0, sensor_cpu = 0;
    {
      auto packed_store = drosera::store::openSqliteStore({dir + "/packed.db", false});
      if (!packed_store) die("open sqlite", packed_store.status());
      const IngestResult pk =
          ingest(*packed_store.value(), gen, 0, ingest_n, fill_n, true, &sensor_cpu);
      printIngest("drosera store, packed batches", pk);
      packed_rate = static_cast<double>(pk.events) / pk.seconds;
      std::printf(
          "  the sensors' part (parsing aside): %.1f us of CPU per event, spread over "
          "the fleet\n",
          sensor_cpu / static_cast<double>(pk.events) * 1e6);
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(dir + "/packed.db" + suffix);
    }
    if (packed_only) {
      std::printf("  goal >= 50000 events/s (packed batches): %s\n",
                  packed_rate >= 50000 ? "PASS" : "FAIL");
      return 0;
    }
    const IngestResult sq = ingest(store, gen, 0, ingest_n, fill_n);
    printIngest("drosera store, event lines", sq);
    rate = static_cast<double>(sq.events) / sq.seconds;
    if (bare_run) {
      const IngestResult bare = bareInsert(dir + "/bare.db", gen, ingest_n, fill_n);
      printIngest("ceiling: bare insert of the same rows", bare);
      if (bare.compressed_bytes != 0) {
        std::printf("  bodies: %.0f bytes on average, %.0f compressed (zstd level %d with a "
                    "dictionary): %.1f:1\n",
                    static_cast<double>(bare.body_bytes) / static_cast<double>(bare.events),
                    static_cast<double>(bare.compressed_bytes) / static_cast<double>(bare.events),
                    internal::kCompressionLevel,
                    static_cast<double>(bare.body_bytes) /
                        static_cast<double>(bare.compressed_bytes));
      }
      const double ceiling = static_cast<double>(bare.events) / bare.seconds;
      std::printf("  ratio store / ceiling: %.2f   ", rate / ceiling);
    } else {
      std::printf("  (ceiling not measured: --no-ceiling)   ");
    }
    std::printf("(event lines, parsed by the collector)\n");
    std::printf(
        "  ratio packed / lines: %.2f   goal >= 50000 events/s (packed batches, the "
        "sensors' default): %s\n\n",
        packed_rate / rate, packed_rate >= 50000 ? "PASS" : "FAIL");
    std::filesystem::remove(dir + "/bare.db");
    std::filesystem::remove(dir + "/bare.db-wal");
    std::filesystem::remove(dir + "/bare.db-shm");
  }

  // 2. PostgreSQL: the ingest, then (below) the same fill and queries as SQLite's. --reuse
  // keeps the schema store_bench of an earlier run.
  std::unique_ptr<drosera::store::Store> pg_store;
  std::string pg_conninfo;
  uint64_t pg_have = 0;
  if (const char* pg = std::getenv("DROSERA_PG_CONNINFO"); pg != nullptr && *pg != '\0') {
    pg_conninfo = pg;
    if (!reuse) {
      auto st = drosera::store::testing::postgresExecForTest(
          pg, "DROP SCHEMA IF EXISTS store_bench CASCADE; CREATE SCHEMA store_bench");
      if (!st) die("postgres schema", st);
    } else {
      (void)drosera::store::testing::postgresExecForTest(
          pg, "CREATE SCHEMA IF NOT EXISTS store_bench");
    }
    const double pg_open = now();
    auto p = drosera::store::openPostgresStore(
        {std::string(pg) + " options='-c search_path=store_bench'"});
    if (!p) die("open postgres", p.status());
    if (reuse) std::printf("  PostgreSQL store opened in %.2f s\n", now() - pg_open);
    pg_store = std::move(p).value();
    auto have = pg_store->stats();
    if (!have) die("postgres stats", have.status());
    pg_have = have->last_seq;
    if (pg_have == 0) {
      std::printf("ingest into PostgreSQL (%" PRIu64 " events, %s)\n", pg_n, pg);
      const IngestResult pr = ingest(*pg_store, gen, 0, pg_n, fill_n);
      printIngest("drosera store (PostgreSQL)", pr);
      if (rate > 0) {
        std::printf("  ratio PostgreSQL / SQLite store: %.2f\n",
                    static_cast<double>(pr.events) / pr.seconds / rate);
      }
      std::printf("\n");
      pg_have = pg_n;
    } else {
      std::printf("reusing PostgreSQL schema store_bench: %" PRIu64 " events\n\n", pg_have);
    }
  } else {
    std::printf("ingest into PostgreSQL: skipped (DROSERA_PG_CONNINFO not set)\n\n");
  }

  // 3. Fill to 1M and time the dashboard's queries.
  if (fill && !reuse && fill_n > ingest_n) {
    std::printf("filling SQLite to %" PRIu64 " events over 14 days...\n", fill_n);
    const IngestResult fr = ingest(store, gen, ingest_n, fill_n - ingest_n, fill_n);
    printIngest("fill (store growing to the full size)", fr);
  }
  auto stats = store.stats();
  if (!stats) die("stats", stats.status());
  std::printf("store: %" PRIu64 " events, %" PRIu64 " attackers, %.0f MB (%.0f bytes/event)\n\n",
              stats->events, stats->attackers, static_cast<double>(stats->bytes) / 1e6,
              static_cast<double>(stats->bytes) / static_cast<double>(stats->events));

  if (queries) timeQueries(store, "SQLite", gen, ServerCpu{});
  opened.value().reset();
  if (pg_store) {
    if (fill && pg_fill > pg_have) {
      std::printf("filling PostgreSQL to %" PRIu64 " events over 14 days...\n", pg_fill);
      const IngestResult fr = ingest(*pg_store, gen, pg_have, pg_fill - pg_have, fill_n);
      printIngest("fill (PostgreSQL)", fr);
    }
    if (queries && pg_fill > 0) {
      ServerCpu server;
      auto pid = drosera::store::testing::postgresServerPidForTest(pg_conninfo);
      if (pid) {
        server.postmaster = pid.value();
      } else {
        std::printf("(the PostgreSQL server is not a local process: its CPU time is not "
                    "counted)\n");
      }
      timeQueries(*pg_store, "PostgreSQL", gen, server);
    }
    pg_store.reset();
  }
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
