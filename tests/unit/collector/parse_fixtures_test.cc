// The parsers against real audit logs written by Apache + mod_security2, nginx + libmodsecurity
// and the drosera sensor for the same requests (tests/data/make_fixtures.sh). What each parser
// returns is compared with what the server wrote, read independently (regexes over the record
// text, libc's strptime/timegm for times, Stopwatch and Date headers as time anchors).
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "collector/parse.h"
#include "fixtures.h"

namespace drosera::collector {
namespace {

using testutil::allInts;
using testutil::firstMatch;
using testutil::fixtureLines;
using testutil::readFixture;

constexpr int64_t kUs = 1000000;

// libc's reading of a UTC time written with `format`, in seconds.
int64_t libcUtc(const std::string& text, const char* format) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), format, &tm);
  EXPECT_NE(end, nullptr) << text;
  return static_cast<int64_t>(timegm(&tm));
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<int> ids(const core::Event& e) {
  std::vector<int> out;
  for (const auto& r : e.rules) out.push_back(r.id);
  return out;
}

std::string header(const core::Event& e, const std::string& name) {
  for (const auto& h : e.request_headers) {
    if (h.name == name) return h.value;
  }
  return "<none>";
}

const std::regex kV3RuleId(R"re("ruleId":"(\d+)")re");
const std::regex kV2JsonRuleId(R"re(\[id \\"(\d+)\\"\])re");
// In native part H the real id follows [file "..."] [line "..."]; text an attacker put in the
// leading part of a v3 line is not preceded by a [line] field.
const std::regex kNativeRuleId(R"re(\[line "\d+"\] \[id "(\d+)"\])re");
const std::regex kTotalScore(R"re(Total Score: (\d+)\))re");

// Rule ids of a v2 JSON record's audit_data.messages; error_messages repeats them, as Apache's
// error log lines.
std::vector<int> v2JsonIds(const std::string& line) {
  return allInts(line.substr(0, line.find("\"error_messages\":")), kV2JsonRuleId);
}

// The rule ids of the Message:/ModSecurity: lines of a native entry.
std::vector<int> nativeIds(const std::string& entry) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos < entry.size()) {
    size_t nl = entry.find('\n', pos);
    if (nl == std::string::npos) nl = entry.size();
    const std::string line = entry.substr(pos, nl - pos);
    if (line.rfind("Message: ", 0) == 0 || line.rfind("ModSecurity: ", 0) == 0) {
      const auto v = allInts(line, kNativeRuleId);
      out.insert(out.end(), v.begin(), v.end());
    }
    pos = nl + 1;
  }
  return out;
}

std::vector<std::string> nativeEntries(const std::string& file) {
  const std::string text = readFixture(file);
  const NativeSplit split = splitNativeEntries(text);
  EXPECT_EQ(split.consumed, text.size()) << file;
  EXPECT_EQ(split.skipped_bytes, 0u) << file;
  std::vector<std::string> out;
  for (auto e : split.entries) out.emplace_back(e);
  return out;
}

// ------------------------------------------------------------------ nginx + libmodsecurity v3

TEST(ParseFixtures, V3JsonFromNginx) {
  const auto lines = fixtureLines("modsec3_json.log");
  ASSERT_EQ(lines.size(), static_cast<size_t>(testutil::kFixtureRequests));
  ParseContext ctx;
  ctx.sensor = "nginx-1";
  ctx.utc_offset_minutes = 330;  // make_fixtures.sh ran nginx with TZ=Asia/Kolkata
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    const std::string& line = lines[i];
    EXPECT_EQ(detectFormat(line), RecordFormat::kModsec3Json);
    auto r = parseV3Json(line, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const core::Event& e = *r;
    EXPECT_EQ(e.format, "modsec3-json");
    EXPECT_EQ(e.sensor, "nginx-1");
    EXPECT_EQ(e.unique_id, firstMatch(line, std::regex(R"re("unique_id":"([^"]+)")re")));
    EXPECT_EQ(ids(e), allInts(line, kV3RuleId));
    // time_stamp is local time (+05:30); the response's Date header is UTC.
    const int64_t date = libcUtc(firstMatch(line, std::regex(R"re("Date":"([^"]+)")re")),
                                 "%a, %d %b %Y %H:%M:%S GMT");
    EXPECT_LE(std::llabs(e.time_us / kUs - date), 2) << e.time_us;
    EXPECT_EQ(e.src_ip, "127.0.0.1");
    EXPECT_EQ(e.dst_ip, "127.0.0.1");
    EXPECT_EQ(std::to_string(e.dst_port), firstMatch(line, std::regex(R"re("host_port":(\d+))re")));
    EXPECT_EQ(std::to_string(e.src_port),
              firstMatch(line, std::regex(R"re("client_port":(\d+))re")));
    EXPECT_EQ(e.host, "shop.example.com");
    EXPECT_EQ(e.http_version, "1.1");
    EXPECT_EQ(e.status, 200);
    EXPECT_TRUE(e.listener_kind.empty());
    EXPECT_TRUE(e.inspected);
    EXPECT_EQ(e.raw_record, line);
    const std::string total = firstMatch(line, kTotalScore);
    EXPECT_EQ(e.inbound_score, total.empty() ? 0 : std::stoll(total));
  }
  const auto sqli = *parseV3Json(lines[testutil::kSqli], ctx);
  EXPECT_TRUE(contains(ids(sqli), 942100));
  EXPECT_TRUE(contains(sqli.categories, "attack-sqli"));
  EXPECT_EQ(sqli.method, "GET");
  EXPECT_EQ(sqli.uri,
            "/products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20");
  EXPECT_EQ(sqli.rules[0].severity, 2);
  EXPECT_EQ(sqli.rules[0].message, "SQL Injection Attack Detected via libinjection");
  EXPECT_EQ(sqli.rules[0].file,
            "/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf");
  EXPECT_EQ(sqli.rules[0].line, 46);
  EXPECT_EQ(sqli.rules[0].ver, "OWASP_CRS/3.3.4");

  const auto xss = *parseV3Json(lines[testutil::kXssPost], ctx);
  EXPECT_EQ(xss.method, "POST");
  EXPECT_EQ(xss.uri, "/comment.php");
  EXPECT_EQ(xss.request_body, "name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  EXPECT_TRUE(contains(xss.categories, "attack-xss"));

  // Header names in lower case (as HTTP/2 clients send them): found all the same.
  const auto scan = *parseV3Json(lines[testutil::kScanner], ctx);
  EXPECT_TRUE(contains(ids(scan), 913100));
  EXPECT_EQ(header(scan, "user-agent"), scan.user_agent);
  EXPECT_NE(scan.user_agent.find("Nikto/2.1.6"), std::string::npos);
  EXPECT_EQ(scan.host, "shop.example.com");
  EXPECT_TRUE(contains(scan.categories, "attack-reputation-scanner"));

  const auto trav = *parseV3Json(lines[testutil::kTraversal], ctx);
  EXPECT_TRUE(contains(trav.categories, "attack-lfi"));

  // nginx wrote the raw bytes: the record is not UTF-8. They come out as their Latin-1 reading.
  const auto raw = *parseV3Json(lines[testutil::kNonUtf8], ctx);
  EXPECT_EQ(raw.uri, "/caf\u00e9.php?q=\u00ff\u00fe%C0%AF");
  EXPECT_EQ(header(raw, "X-Note"), "d\u00e9j\u00e0 vu");

  // The attacker's value forges [id "999999"] [severity "EMERGENCY"]: JSON keeps it data.
  const auto forged = *parseV3Json(lines[testutil::kForged], ctx);
  EXPECT_FALSE(contains(ids(forged), 999999));
  for (const auto& hit : forged.rules) EXPECT_EQ(hit.severity, 2) << hit.id;
  EXPECT_NE(forged.rules[0].data.find("[id \"999999\"]"), std::string::npos);

  // Without the configured zone the same record is 5 h 30 min off: the zone is not in the record.
  const int64_t local = parseV3Json(lines[0], ParseContext{})->time_us;
  const int64_t zoned = parseV3Json(lines[0], ctx)->time_us;
  EXPECT_EQ(local - zoned, int64_t{330} * 60 * kUs);
}

TEST(ParseFixtures, V3NativeFromNginx) {
  const auto entries = nativeEntries("modsec3_native.log");
  ASSERT_EQ(entries.size(), static_cast<size_t>(testutil::kFixtureRequests));
  const auto json = fixtureLines("modsec3_json.log");
  ParseContext ctx;
  ctx.sensor = "nginx-1";
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    const std::string& entry = entries[i];
    EXPECT_EQ(entry.rfind("---", 0), 0u);
    EXPECT_EQ(detectFormat(entry), RecordFormat::kNative);
    auto r = parseV2Native(entry, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const core::Event& e = *r;
    EXPECT_EQ(e.format, "modsec2-native");
    EXPECT_EQ(ids(e), nativeIds(entry));
    // The same request in nginx's JSON log (another run, same rules) matched the same rules.
    EXPECT_EQ(ids(e), allInts(json[i], kV3RuleId));
    EXPECT_EQ(e.unique_id, firstMatch(entry, std::regex(R"re(\] (\S+) 127\.0\.0\.1 )re")));
    // Part A's time carries its zone (+0530); part F's Date header is UTC.
    const int64_t date = libcUtc(firstMatch(entry, std::regex(R"re(\nDate: ([^\n]+))re")),
                                 "%a, %d %b %Y %H:%M:%S GMT");
    EXPECT_LE(std::llabs(e.time_us / kUs - date), 2);
    EXPECT_EQ(e.status, 200);
    EXPECT_EQ(e.host, "shop.example.com");
    EXPECT_EQ(e.http_version, "1.1");
    EXPECT_EQ(e.raw_record, entry);
    const std::string total = firstMatch(entry, kTotalScore);
    EXPECT_EQ(e.inbound_score, total.empty() ? 0 : std::stoll(total));
  }
  const auto xss = *parseV2Native(entries[testutil::kXssPost], ctx);
  EXPECT_EQ(xss.request_body, "name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  const auto raw = *parseV2Native(entries[testutil::kNonUtf8], ctx);
  EXPECT_EQ(raw.uri, "/caf\xe9.php?q=\xff\xfe%C0%AF");  // native keeps the bytes
  // libmodsecurity v3 writes the matched value unescaped before the metadata: the forged
  // [id "999999"] [severity "EMERGENCY"] stands in the line, and must not be read as metadata.
  const std::string& forged_entry = entries[testutil::kForged];
  ASSERT_NE(forged_entry.find("(Value: `<script>\"] [id \"999999\"]"), std::string::npos);
  const auto forged = *parseV2Native(forged_entry, ctx);
  EXPECT_FALSE(forged.rules.empty());
  EXPECT_FALSE(contains(ids(forged), 999999));
  for (const auto& hit : forged.rules) {
    EXPECT_EQ(hit.severity, 2) << hit.id;
    EXPECT_NE(hit.message, "forged") << hit.id;
  }
  // [uri "/search/"><script>..."]: an unescaped quote; the rule is read all the same.
  const auto quoted = *parseV2Native(entries[testutil::kQuoteInPath], ctx);
  EXPECT_EQ(quoted.uri, "/search/\"><script>alert(1)</script>");
  ASSERT_FALSE(quoted.rules.empty());
  EXPECT_EQ(quoted.rules[0].id, 941110);
  EXPECT_EQ(quoted.rules[0].message, "XSS Filter - Category 1: Script Tag Vector");
  EXPECT_EQ(quoted.rules[0].severity, 2);
  EXPECT_TRUE(contains(quoted.rules[0].tags, "attack-xss"));
  const auto& hit = *std::find_if(forged.rules.begin(), forged.rules.end(),
                                  [](const core::RuleHit& h) { return h.id == 941110; });
  EXPECT_EQ(hit.message, "XSS Filter - Category 1: Script Tag Vector");
  EXPECT_EQ(hit.match.rfind("Matched \"Operator `Rx'", 0), 0u) << hit.match;
  // [data] escapes the quote as \x22; read back as the quote the attacker sent.
  EXPECT_NE(hit.data.find("<script>\"] [id \"999999\"]"), std::string::npos) << hit.data;
  EXPECT_TRUE(contains(hit.tags, "attack-xss"));
}

// ------------------------------------------------------------------ Apache + mod_security2

TEST(ParseFixtures, V2JsonFromApache) {
  const auto lines = fixtureLines("modsec2_json.log");
  ASSERT_EQ(lines.size(), static_cast<size_t>(testutil::kFixtureRequests));
  ParseContext ctx;
  ctx.sensor = "apache-1";
  ctx.utc_offset_minutes = 999;  // not used: v2 times carry their zone
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    const std::string& line = lines[i];
    EXPECT_EQ(detectFormat(line), RecordFormat::kModsec2Json);
    auto r = parseV2Json(line, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const core::Event& e = *r;
    EXPECT_EQ(e.format, "modsec2-json");
    EXPECT_EQ(e.sensor, "apache-1");
    EXPECT_EQ(e.unique_id, firstMatch(line, std::regex(R"re("transaction_id":"([^"]+)")re")));
    EXPECT_EQ(ids(e), v2JsonIds(line));
    // make_fixtures.sh ran Apache with TZ=America/New_York: -05:00 in November, which
    // mod_security2 writes as "--0500".
    const std::string t = firstMatch(line, std::regex(R"re("time":"([^"]+)")re"));
    ASSERT_NE(t.find(" --0500"), std::string::npos) << t;
    const int64_t want = (libcUtc(t, "%d/%b/%Y:%H:%M:%S") + 5 * 3600) * kUs +
                         std::stoll(t.substr(t.find('.') + 1, 6));
    EXPECT_EQ(e.time_us, want) << t;
    EXPECT_EQ(e.src_ip, "127.0.0.1");
    EXPECT_EQ(std::to_string(e.src_port),
              firstMatch(line, std::regex(R"re("remote_port":(\d+))re")));
    EXPECT_EQ(std::to_string(e.dst_port),
              firstMatch(line, std::regex(R"re("local_port":(\d+))re")));
    EXPECT_EQ(e.host, "shop.example.com");
    EXPECT_EQ(e.http_version, "1.1");
    EXPECT_EQ(e.status, i == testutil::kBenign ? 200 : 404);
    EXPECT_EQ(e.raw_record, line);
    const std::string total = firstMatch(line, kTotalScore);
    EXPECT_EQ(e.inbound_score, total.empty() ? 0 : std::stoll(total));
  }
  const auto sqli = *parseV2Json(lines[testutil::kSqli], ctx);
  EXPECT_EQ(sqli.method, "GET");
  EXPECT_EQ(sqli.uri,
            "/products.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20");
  ASSERT_FALSE(sqli.rules.empty());
  EXPECT_EQ(sqli.rules[0].id, 942100);
  EXPECT_EQ(sqli.rules[0].severity, 2);  // "CRITICAL"
  EXPECT_EQ(sqli.rules[0].message, "SQL Injection Attack Detected via libinjection");
  EXPECT_EQ(sqli.rules[0].match, "detected SQLi using libinjection with fingerprint 'sUEnk'");
  EXPECT_EQ(sqli.rules[0].line, 66);
  EXPECT_EQ(sqli.rules[0].ver, "OWASP_CRS/3.3.4");
  EXPECT_EQ(sqli.rules[0].tags.size(), 8u);
  EXPECT_TRUE(contains(sqli.categories, "attack-sqli"));
  // 980130 lists the scores per attack class.
  bool found = false;
  for (const auto& [name, v] : sqli.scores) {
    if (name == "sql_injection_score") found = v == sqli.inbound_score;
  }
  EXPECT_TRUE(found);

  const auto xss = *parseV2Json(lines[testutil::kXssPost], ctx);
  EXPECT_EQ(xss.method, "POST");
  EXPECT_EQ(xss.request_body, "name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  const auto scan = *parseV2Json(lines[testutil::kScanner], ctx);
  EXPECT_TRUE(contains(ids(scan), 913100));
  EXPECT_NE(scan.user_agent.find("Nikto"), std::string::npos);
  const auto raw = *parseV2Json(lines[testutil::kNonUtf8], ctx);
  EXPECT_EQ(raw.uri, "/caf\u00e9.php?q=\u00ff\u00fe%C0%AF");
  const auto forged = *parseV2Json(lines[testutil::kForged], ctx);
  EXPECT_FALSE(contains(ids(forged), 999999));
  for (const auto& hit : forged.rules) EXPECT_NE(hit.severity, 0) << hit.id;
}

TEST(ParseFixtures, V2NativeFromApache) {
  const auto entries = nativeEntries("modsec2_native.log");
  ASSERT_EQ(entries.size(), static_cast<size_t>(testutil::kFixtureRequests));
  const auto json = fixtureLines("modsec2_json.log");
  ParseContext ctx;
  ctx.sensor = "apache-1";
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    const std::string& entry = entries[i];
    EXPECT_EQ(detectFormat(entry), RecordFormat::kNative);
    auto r = parseV2Native(entry, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const core::Event& e = *r;
    EXPECT_EQ(ids(e), nativeIds(entry));
    EXPECT_EQ(ids(e), v2JsonIds(json[i]));  // the JSON run matched the same
    EXPECT_EQ(e.unique_id, firstMatch(entry, std::regex(R"re(\] (\S+) 127\.0\.0\.1 )re")));
    // Stopwatch: the request's start, microseconds since the epoch (UTC).
    const int64_t start = std::stoll(firstMatch(entry, std::regex(R"re(\nStopwatch: (\d+) )re")));
    EXPECT_LE(std::llabs(e.time_us - start), kUs) << e.time_us;
    EXPECT_EQ(e.status, i == testutil::kBenign ? 200 : 404);
    EXPECT_EQ(e.host, "shop.example.com");
    EXPECT_EQ(e.dst_ip, "127.0.0.1");
    EXPECT_GT(e.dst_port, 0);
    const std::string total = firstMatch(entry, kTotalScore);
    EXPECT_EQ(e.inbound_score, total.empty() ? 0 : std::stoll(total));
    // The same request as v2 JSON gives the same event, but for times, ids and ports (two runs).
    const auto j = *parseV2Json(json[i], ctx);
    EXPECT_EQ(e.method, j.method);
    // Bytes that are not UTF-8 stay bytes in native entries; JSON readers see Latin-1.
    if (i != testutil::kNonUtf8) {
      EXPECT_EQ(e.uri, j.uri);
    }
    EXPECT_EQ(e.request_body, j.request_body);
    EXPECT_EQ(e.request_headers.size(), j.request_headers.size());
    EXPECT_EQ(e.categories, j.categories);
    EXPECT_EQ(e.scores, j.scores);
    ASSERT_EQ(e.rules.size(), j.rules.size());
    for (size_t k = 0; k < e.rules.size(); ++k) {
      EXPECT_EQ(e.rules[k].message, j.rules[k].message);
      EXPECT_EQ(e.rules[k].data, j.rules[k].data);
      EXPECT_EQ(e.rules[k].tags, j.rules[k].tags);
      EXPECT_EQ(e.rules[k].severity, j.rules[k].severity);
    }
  }
  const auto xss = *parseV2Native(entries[testutil::kXssPost], ctx);
  EXPECT_EQ(xss.request_body, "name=bob&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
}

// ------------------------------------------------------------------ drosera sensor

TEST(ParseFixtures, DroseraEventLines) {
  const auto lines = fixtureLines("drosera_events.log");
  ASSERT_EQ(lines.size(), static_cast<size_t>(testutil::kFixtureRequests + 3));
  ParseContext ctx;
  ctx.sensor = "configured-name";
  ctx.utc_offset_minutes = 330;  // not used: drosera lines are UTC
  int trap_lines = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("line " + std::to_string(i));
    const std::string& line = lines[i];
    // drosera lines are valid UTF-8 JSON: nlohmann reads what the sensor wrote.
    const auto j = nlohmann::json::parse(line);
    const auto& d = j["drosera"];
    EXPECT_EQ(detectFormat(line), RecordFormat::kDrosera);
    auto r = parseRecord(line, ctx);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const core::Event& e = *r;
    EXPECT_EQ(e.format, "drosera");
    EXPECT_EQ(e.sensor, d["sensor"].get<std::string>());
    EXPECT_EQ(e.sensor, "fixture-sensor-1");
    EXPECT_EQ(e.unique_id, j["transaction"]["unique_id"].get<std::string>());
    std::vector<int> want_ids;
    for (const auto& m : j["transaction"]["messages"]) {
      want_ids.push_back(std::stoi(m["details"]["ruleId"].get<std::string>()));
    }
    EXPECT_EQ(ids(e), want_ids);
    const std::string received = d["received_at"].get<std::string>();
    const int64_t want = libcUtc(received, "%Y-%m-%dT%H:%M:%S") * kUs +
                         std::stoll(received.substr(received.find('.') + 1, 6));
    EXPECT_EQ(e.time_us, want) << received;
    const int64_t stamp =
        libcUtc(j["transaction"]["time_stamp"].get<std::string>(), "%a %b %d %H:%M:%S %Y");
    EXPECT_EQ(e.time_us / kUs, stamp);
    EXPECT_EQ(e.inspected, d["inspection"]["state"] == "inspected");
    EXPECT_EQ(e.listener_kind, d["listener"]["kind"].get<std::string>());
    EXPECT_EQ(e.tls, d["listener"]["tls"].get<bool>());
    EXPECT_EQ(e.attacker_flagged, d.contains("attacker") && d["attacker"]["flagged"].get<bool>());
    EXPECT_EQ(e.src_ip, j["transaction"]["client_ip"].get<std::string>());
    EXPECT_EQ(e.host, "shop.example.com");
    EXPECT_EQ(e.http_version, "1.1");
    EXPECT_EQ(e.status, j["transaction"]["response"]["http_code"].get<int>());
    EXPECT_EQ(e.raw_record, line);
    ASSERT_EQ(e.scores.size(), d["scores"].size());
    for (const auto& [name, v] : e.scores) EXPECT_EQ(v, d["scores"][name].get<int64_t>()) << name;
    EXPECT_EQ(e.inbound_score, d["scores"].value("inbound_anomaly_score", int64_t{0}));
    ASSERT_EQ(e.traps.size(), d["traps"].size());
    for (size_t k = 0; k < e.traps.size(); ++k) {
      const auto& t = d["traps"][k];
      EXPECT_EQ(e.traps[k].kind, t["kind"].get<std::string>());
      EXPECT_EQ(e.traps[k].bait, t["bait"].get<std::string>());
      EXPECT_EQ(e.traps[k].captured, t["captured"].get<std::string>());
      EXPECT_EQ(e.traps[k].rule_id, t["rule_id"].get<int>());
      EXPECT_EQ(e.traps[k].origin, t.value("origin", std::string()));
    }
    EXPECT_EQ(contains(e.categories, "honeytrap"), !e.traps.empty());
    EXPECT_EQ(e.anomalies, d["anomalies"].get<std::vector<std::string>>());
    EXPECT_EQ(e.limits_hit, d["limits_hit"].get<std::vector<std::string>>());
    if (!e.traps.empty()) ++trap_lines;
  }
  EXPECT_EQ(trap_lines, 2);

  // The robots.txt bait used with Basic credentials, and a request on a fake port.
  const auto bait = *parseV3Json(lines[testutil::kFixtureRequests + 1], ctx);
  EXPECT_EQ(bait.uri, "/db-backup-old/");
  ASSERT_EQ(bait.traps.size(), 1u);
  EXPECT_EQ(bait.traps[0].kind, "robots");
  EXPECT_EQ(bait.traps[0].bait, "/db-backup-old/");
  EXPECT_EQ(bait.traps[0].captured, "admin:hunter2");
  EXPECT_TRUE(bait.attacker_flagged);
  const auto fake = *parseV3Json(lines[testutil::kFixtureRequests + 2], ctx);
  EXPECT_EQ(fake.listener_kind, "fake");
  ASSERT_EQ(fake.traps.size(), 1u);
  EXPECT_EQ(fake.traps[0].kind, "fake_port");
  EXPECT_EQ(fake.traps[0].bait, std::to_string(fake.dst_port));

  const auto sqli = *parseV3Json(lines[testutil::kSqli], ctx);
  EXPECT_EQ(sqli.inbound_score, 20);
  EXPECT_TRUE(contains(sqli.categories, "attack-sqli"));
  // drosera escapes the raw bytes as \u00XX; nginx wrote them raw: both read the same.
  const auto raw = *parseV3Json(lines[testutil::kNonUtf8], ctx);
  const auto nginx = *parseV3Json(fixtureLines("modsec3_json.log")[testutil::kNonUtf8], ctx);
  EXPECT_EQ(raw.uri, nginx.uri);
  EXPECT_EQ(raw.request_headers.size(), nginx.request_headers.size());
  EXPECT_EQ(header(raw, "X-Note"), header(nginx, "X-Note"));
}

// ------------------------------------------------------------------ mlogc index lines

TEST(ParseFixtures, MlogcIndexV2) {
  const auto lines = fixtureLines("modsec2_index.log");
  ASSERT_EQ(lines.size(), static_cast<size_t>(testutil::kFixtureRequests));
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    EXPECT_EQ(line.back(), ' ');  // v2 ends every index line with a space
    auto r = parseMlogcIndexLine(line + "\n");
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const IndexEntry& ix = *r;
    EXPECT_FALSE(ix.v3);
    EXPECT_FALSE(ix.truncated);
    EXPECT_EQ(ix.host, "shop.example.com");
    EXPECT_EQ(ix.remote_ip, "127.0.0.1");
    EXPECT_EQ(ix.path.rfind("/www-data/", 0), 0u);
    EXPECT_EQ(ix.path.substr(ix.path.size() - ix.unique_id.size()), ix.unique_id);
    EXPECT_EQ(ix.md5, firstMatch(line, std::regex(R"re( md5:([0-9a-f]{32}) $)re")));
    // The file the line names: its size, and the entry inside it.
    const std::string file = testutil::fixturePath("modsec2_concurrent" + ix.path);
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(ix.size, std::filesystem::file_size(file));
    const std::string body = readFixture("modsec2_concurrent" + ix.path);
    auto e = parseV2Native(body, ParseContext{});
    ASSERT_TRUE(e.isOk()) << e.status().toString();
    EXPECT_EQ(e->unique_id, ix.unique_id);
    EXPECT_EQ(e->status, ix.status);
    EXPECT_LE(std::llabs(e->time_us - ix.time_us), kUs);
    EXPECT_EQ(ix.request_line.substr(0, e->method.size() + 1), e->method + " ");
  }
  auto first = *parseMlogcIndexLine(lines[0]);
  EXPECT_EQ(first.request_line, "GET /index.html HTTP/1.1");
  EXPECT_EQ(first.status, 200);
  // The truncation flag: the same line as mlogc sees it when ModSecurity shortened fields.
  std::string shortened = lines[0];
  shortened.back() = ' ';
  shortened += "L";
  auto t = parseMlogcIndexLine(shortened);
  ASSERT_TRUE(t.isOk());
  EXPECT_TRUE(t->truncated);
  EXPECT_EQ(t->md5, first.md5);
}

TEST(ParseFixtures, MlogcIndexV3Dialect) {
  const auto lines = fixtureLines("modsec3_index.log");
  ASSERT_EQ(lines.size(), static_cast<size_t>(testutil::kFixtureRequests));
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    auto r = parseMlogcIndexLine(line);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const IndexEntry& ix = *r;
    EXPECT_TRUE(ix.v3);
    EXPECT_EQ(ix.host, "shop.example.com");
    EXPECT_EQ(ix.remote_ip, "127.0.0.1");
    EXPECT_EQ(ix.path[0], '/');
    // v3: "<ua>" <id> <referer> <path>: the id both before the referer and in the file name.
    EXPECT_EQ(ix.unique_id, firstMatch(line, std::regex(R"re(" (\S+) - /)re")));
    EXPECT_EQ(std::to_string(ix.size) + ".000000",
              firstMatch(line, std::regex(R"re( 0 (\d+\.\d+) md5:)re")));
    EXPECT_EQ(ix.status, 200);
    EXPECT_GT(ix.time_us, 0);
    EXPECT_EQ(ix.md5.size(), 32u);
  }
}

TEST(ParseFixtures, DetectFormatOfEveryFixture) {
  EXPECT_EQ(detectFormat(fixtureLines("drosera_events.log")[0]), RecordFormat::kDrosera);
  EXPECT_EQ(detectFormat(fixtureLines("modsec3_json.log")[0]), RecordFormat::kModsec3Json);
  EXPECT_EQ(detectFormat(fixtureLines("modsec2_json.log")[0]), RecordFormat::kModsec2Json);
  EXPECT_EQ(detectFormat(readFixture("modsec2_native.log")), RecordFormat::kNative);
  EXPECT_EQ(detectFormat(readFixture("modsec3_native.log")), RecordFormat::kNative);
  EXPECT_EQ(detectFormat(fixtureLines("modsec2_index.log")[0]), RecordFormat::kUnknown);
  EXPECT_EQ(detectFormat(""), RecordFormat::kUnknown);
  EXPECT_EQ(detectFormat("  \n"), RecordFormat::kUnknown);
  EXPECT_STREQ(formatName(RecordFormat::kModsec2Json), "modsec2-json");
}

}  // namespace
}  // namespace drosera::collector
