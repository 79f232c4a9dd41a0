// The event line: a ModSecurity v3 audit record plus the "drosera" object, one valid JSON line
// whatever bytes the client sent. nlohmann::json is the independent judge.
#include "sensor/event_record.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/base64.h"
#include "core/json_text.h"

namespace drosera::sensor {
namespace {

using nlohmann::json;

core::Capture sampleCapture() {
  core::Capture c;
  c.unique_id = "ZxY-0001";
  c.seq = 42;
  c.received_us = 1'700'000'000'123'456;  // 2023-11-14T22:13:20.123456Z
  c.answered_us = 1'700'000'000'223'456;
  c.client = {"203.0.113.7", 51234};
  c.peer = {"10.0.0.2", 40000};
  c.local = {"192.0.2.1", 8080};
  c.client_source = "x-forwarded-for";
  c.listener_port = 8080;
  c.listener_kind = "real";
  c.request.method = "POST";
  c.request.target = "/login.php?next=%2F";
  c.request.version = "1.1";
  c.request.headers = {{"Host", "victim.example"}, {"User-Agent", "sqlmap/1.7"},
                       {"Content-Type", "application/x-www-form-urlencoded"}};
  c.request.body = "user=admin&pass=' OR 1=1--";
  c.request.body_bytes = c.request.body.size();
  c.response.status = 200;
  c.response.headers = {{"Content-Type", "text/html; charset=UTF-8"}};
  c.response.body_bytes = 4963;
  c.head_complete = true;
  c.body_complete = true;
  c.raw = "POST /login.php?next=%2F HTTP/1.1\r\nHost: victim.example\r\n\r\n" + c.request.body;
  c.raw_bytes = c.raw.size();
  return c;
}

core::Verdict sampleVerdict() {
  core::Verdict v;
  v.inspected = true;
  core::RuleMatch m;
  m.id = 942100;
  m.message = "SQL Injection Attack Detected via libinjection";
  m.data = "Matched Data: s&1c found within ARGS:pass: ' OR 1=1--";
  m.match = "detected SQLi using libinjection.";
  m.reference = "v23,20";
  m.file = "/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf";
  m.line = 45;
  m.severity = 2;
  m.phase = 2;
  m.tags = {"application-multi", "attack-sqli", "OWASP_CRS"};
  m.ver = "OWASP_CRS/3.3.4";
  m.maturity = 0;
  m.accuracy = 0;
  v.matches.push_back(m);
  core::RuleMatch m2;
  m2.id = 949110;
  m2.message = "Inbound Anomaly Score Exceeded (Total Score: 5)";
  v.matches.push_back(m2);
  v.scores = {{"inbound_anomaly_score", 5}, {"sql_injection_score", 5}};
  v.duration_us = 850;
  v.intervention_status = 403;
  return v;
}

EventContext sampleContext() {
  EventContext ctx;
  ctx.sensor_id = "sensor-a";
  ctx.producer = "ModSecurity v3.0.9 (Linux)";
  ctx.connector = "drosera 0.1.0";
  ctx.rule_engine = "DetectionOnly";
  ctx.components = {"OWASP_CRS/3.3.4"};
  return ctx;
}

InspectionInfo inspected(int64_t at_us) {
  InspectionInfo i;
  i.state = InspectionState::kInspected;
  i.inspected_us = at_us;
  return i;
}

json parseLine(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "an event must be one line";
  EXPECT_TRUE(core::isValidUtf8(line));
  json j;
  try {
    j = json::parse(line);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << line;
  }
  return j;
}

TEST(EventRecord, TransactionHasTheModSecurityShape) {
  const core::Capture c = sampleCapture();
  const json j = parseLine(buildEventLine(c, sampleVerdict(), inspected(c.answered_us + 5'000),
                                          sampleContext()));
  ASSERT_TRUE(j.is_object());
  const json& t = j.at("transaction");
  EXPECT_EQ(t.at("client_ip"), "203.0.113.7");
  EXPECT_EQ(t.at("time_stamp"), "Tue Nov 14 22:13:20 2023");
  EXPECT_EQ(t.at("server_id"), "sensor-a");
  EXPECT_EQ(t.at("client_port"), 51234);
  EXPECT_EQ(t.at("host_ip"), "192.0.2.1");
  EXPECT_EQ(t.at("host_port"), 8080);
  EXPECT_EQ(t.at("unique_id"), "ZxY-0001");
  const json& rq = t.at("request");
  EXPECT_EQ(rq.at("method"), "POST");
  EXPECT_DOUBLE_EQ(rq.at("http_version").get<double>(), 1.1);
  EXPECT_EQ(rq.at("uri"), "/login.php?next=%2F");
  EXPECT_EQ(rq.at("headers").at("Host"), "victim.example");
  EXPECT_EQ(rq.at("headers").at("User-Agent"), "sqlmap/1.7");
  EXPECT_EQ(rq.at("body"), "user=admin&pass=' OR 1=1--");
  const json& rs = t.at("response");
  EXPECT_EQ(rs.at("http_code"), 200);
  EXPECT_EQ(rs.at("body"), "");
  EXPECT_EQ(rs.at("headers").at("Content-Type"), "text/html; charset=UTF-8");
  const json& p = t.at("producer");
  EXPECT_EQ(p.at("modsecurity"), "ModSecurity v3.0.9 (Linux)");
  EXPECT_EQ(p.at("connector"), "drosera 0.1.0");
  EXPECT_EQ(p.at("secrules_engine"), "DetectionOnly");
  EXPECT_EQ(p.at("components"), json::array({"OWASP_CRS/3.3.4"}));
}

TEST(EventRecord, MessagesCarryRuleIdAsString) {
  const core::Capture c = sampleCapture();
  const json j = parseLine(buildEventLine(c, sampleVerdict(), inspected(0), sampleContext()));
  const json& msgs = j.at("transaction").at("messages");
  ASSERT_TRUE(msgs.is_array());
  ASSERT_EQ(msgs.size(), 2u);
  const json& m = msgs[0];
  EXPECT_EQ(m.at("message"), "SQL Injection Attack Detected via libinjection");
  const json& d = m.at("details");
  ASSERT_TRUE(d.at("ruleId").is_string());
  EXPECT_EQ(d.at("ruleId"), "942100");
  EXPECT_EQ(d.at("match"), "detected SQLi using libinjection.");
  EXPECT_EQ(d.at("reference"), "v23,20");
  EXPECT_EQ(d.at("file"),
            "/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf");
  EXPECT_EQ(d.at("lineNumber"), "45");
  EXPECT_EQ(d.at("data"), "Matched Data: s&1c found within ARGS:pass: ' OR 1=1--");
  EXPECT_EQ(d.at("severity"), "2");
  EXPECT_EQ(d.at("ver"), "OWASP_CRS/3.3.4");
  EXPECT_EQ(d.at("rev"), "");
  EXPECT_EQ(d.at("tags"), json::array({"application-multi", "attack-sqli", "OWASP_CRS"}));
  EXPECT_EQ(d.at("maturity"), "0");
  EXPECT_EQ(d.at("accuracy"), "0");
  EXPECT_EQ(msgs[1].at("details").at("ruleId"), "949110");
}

TEST(EventRecord, NoMatchesGiveAnEmptyMessagesArray) {
  const json j = parseLine(
      buildEventLine(sampleCapture(), core::Verdict{}, inspected(0), sampleContext()));
  EXPECT_EQ(j.at("transaction").at("messages"), json::array());
  EXPECT_EQ(j.at("drosera").at("scores"), json::object());
  EXPECT_FALSE(j.at("drosera").at("inspection").contains("would_block"));
}

TEST(EventRecord, DroseraObject) {
  core::Capture c = sampleCapture();
  c.limits_hit = {"max_body_bytes"};
  c.anomalies = {"bare_lf", "nul_in_header"};
  const json j = parseLine(buildEventLine(c, sampleVerdict(), inspected(c.answered_us + 7'500),
                                          sampleContext()));
  const json& d = j.at("drosera");
  EXPECT_EQ(d.at("schema"), kEventSchemaVersion);
  EXPECT_EQ(d.at("sensor"), "sensor-a");
  EXPECT_EQ(d.at("seq"), 42);
  EXPECT_EQ(d.at("received_at"), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(d.at("answered_at"), "2023-11-14T22:13:20.223456Z");
  EXPECT_EQ(d.at("listener"), json::parse(R"({"port":8080,"kind":"real","tls":false})"));
  EXPECT_EQ(d.at("client"),
            json::parse(R"({"ip":"203.0.113.7","port":51234,"source":"x-forwarded-for"})"));
  EXPECT_EQ(d.at("peer"), json::parse(R"({"ip":"10.0.0.2","port":40000})"));
  const json& rq = d.at("request");
  EXPECT_EQ(rq.at("head_complete"), true);
  EXPECT_EQ(rq.at("body_complete"), true);
  EXPECT_EQ(rq.at("version_text"), "1.1");
  EXPECT_EQ(rq.at("body_bytes"), c.request.body.size());
  EXPECT_EQ(rq.at("body_truncated"), false);
  EXPECT_EQ(rq.at("raw_bytes"), c.raw.size());
  EXPECT_EQ(d.at("response"), json::parse(R"({"status":200,"body_bytes":4963})"));
  const json& in = d.at("inspection");
  EXPECT_EQ(in.at("state"), "inspected");
  EXPECT_FALSE(in.contains("reason"));
  EXPECT_EQ(in.at("lag_ms"), 7);
  EXPECT_EQ(in.at("engine_us"), 850);
  EXPECT_EQ(in.at("would_block"), 403);
  EXPECT_EQ(d.at("scores"), json::parse(R"({"inbound_anomaly_score":5,"sql_injection_score":5})"));
  EXPECT_EQ(d.at("limits_hit"), json::array({"max_body_bytes"}));
  EXPECT_EQ(d.at("anomalies"), json::array({"bare_lf", "nul_in_header"}));
  EXPECT_EQ(d.at("traps"), json::array());
  EXPECT_EQ(d.at("raw_truncated"), false);
}

TEST(EventRecord, InspectionStates) {
  const core::Capture c = sampleCapture();
  InspectionInfo un;
  un.state = InspectionState::kUninspected;
  un.reason = "backlog_full";
  json j = parseLine(buildEventLine(c, core::Verdict{}, un, sampleContext()));
  EXPECT_EQ(j.at("drosera").at("inspection"),
            json::parse(R"({"state":"uninspected","reason":"backlog_full"})"));

  InspectionInfo err;
  err.state = InspectionState::kEngineError;
  err.reason = "engine threw";
  err.inspected_us = c.answered_us + 1000;  // no lag for engine errors
  j = parseLine(buildEventLine(c, core::Verdict{}, err, sampleContext()));
  EXPECT_EQ(j.at("drosera").at("inspection"),
            json::parse(R"({"state":"engine_error","reason":"engine threw"})"));

  // Inspected without a time: no lag fields.
  j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  EXPECT_EQ(j.at("drosera").at("inspection"), json::parse(R"({"state":"inspected"})"));
}

TEST(EventRecord, LagIsNeverNegativeAndFallsBackToReceived) {
  core::Capture c = sampleCapture();
  json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(c.answered_us - 9'000'000),
                                    sampleContext()));
  EXPECT_EQ(j.at("drosera").at("inspection").at("lag_ms"), 0);
  c.answered_us = 0;
  j = parseLine(buildEventLine(c, core::Verdict{}, inspected(c.received_us + 3'000'000),
                               sampleContext()));
  EXPECT_EQ(j.at("drosera").at("inspection").at("lag_ms"), 3000);
  EXPECT_TRUE(j.at("drosera").at("answered_at").is_null());
}

TEST(EventRecord, TlsListenerShowsVersionAndSni) {
  core::Capture c = sampleCapture();
  c.tls = true;
  c.tls_version = "TLSv1.3";
  c.tls_sni = "victim.example";
  c.listener_port = 8443;
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  EXPECT_EQ(j.at("drosera").at("listener"),
            json::parse(R"({"port":8443,"kind":"real","tls":true,"tls_version":"TLSv1.3","sni":"victim.example"})"));
}

TEST(EventRecord, RawIsBase64OfTheRawBytes) {
  core::Capture c = sampleCapture();
  static const char kRaw[] = "GET /\0\xff\xfe HTTP/1.1\r\n\r\n";
  c.raw.assign(kRaw, sizeof kRaw - 1);
  ASSERT_EQ(c.raw.size(), 21u);
  c.raw_bytes = c.raw.size();
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  const std::string b64 = j.at("drosera").at("raw").get<std::string>();
  auto decoded = core::base64Decode(b64);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, c.raw);
  EXPECT_EQ(j.at("drosera").at("raw_truncated"), false);
}

TEST(EventRecord, RawIsCutAtMaxRawBytes) {
  core::Capture c = sampleCapture();
  c.raw = std::string(1000, 'R');
  c.raw_bytes = 1000;
  EventContext ctx = sampleContext();
  ctx.max_raw_bytes = 100;
  json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), ctx));
  EXPECT_EQ(core::base64Decode(j.at("drosera").at("raw").get<std::string>()).value_or("?"),
            std::string(100, 'R'));
  EXPECT_EQ(j.at("drosera").at("raw_truncated"), true);
  // The capture itself was already bounded: raw_bytes larger than raw also means truncated.
  c.raw = "short";
  c.raw_bytes = 5000;
  j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  EXPECT_EQ(j.at("drosera").at("raw_truncated"), true);
}

TEST(EventRecord, RawCanBeLeftOut) {
  EventContext ctx = sampleContext();
  ctx.raw_request = false;
  const json j = parseLine(buildEventLine(sampleCapture(), core::Verdict{}, inspected(0), ctx));
  EXPECT_FALSE(j.at("drosera").contains("raw"));
  EXPECT_FALSE(j.at("drosera").contains("raw_truncated"));
}

TEST(EventRecord, BodyIsCutAtMaxBodyBytes) {
  core::Capture c = sampleCapture();
  c.request.body = std::string(500, 'b');
  c.request.body_bytes = 500;
  EventContext ctx = sampleContext();
  ctx.max_body_bytes = 64;
  json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), ctx));
  EXPECT_EQ(j.at("transaction").at("request").at("body"), std::string(64, 'b'));
  EXPECT_EQ(j.at("drosera").at("request").at("body_truncated"), true);
  EXPECT_EQ(j.at("drosera").at("request").at("body_bytes"), 500);
  // Body bytes beyond what the capture kept also count as truncated.
  c.request.body = "abc";
  c.request.body_bytes = 10'000'000;
  j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  EXPECT_EQ(j.at("transaction").at("request").at("body"), "abc");
  EXPECT_EQ(j.at("drosera").at("request").at("body_truncated"), true);
}

TEST(EventRecord, BodyCutInsideAMultiByteCharacterStaysValid) {
  core::Capture c = sampleCapture();
  c.request.body = "\xe2\x82\xac\xe2\x82\xac";  // two euro signs
  EventContext ctx = sampleContext();
  ctx.max_body_bytes = 4;  // cuts the second one after its first byte
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), ctx));
  EXPECT_EQ(j.at("transaction").at("request").at("body"), "\xe2\x82\xac\xc3\xa2");
}

TEST(EventRecord, RepeatedHeadersAreJoined) {
  core::Capture c = sampleCapture();
  c.request.headers = {{"Accept", "text/html"}, {"cookie", "a=1"}, {"ACCEPT", "*/*"},
                       {"Cookie", "b=2"},       {"X-Forwarded-For", "1.1.1.1"},
                       {"x-forwarded-for", "2.2.2.2"}};
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  const json& h = j.at("transaction").at("request").at("headers");
  EXPECT_EQ(h, json::parse(
                   R"({"Accept":"text/html, */*","cookie":"a=1; b=2","X-Forwarded-For":"1.1.1.1, 2.2.2.2"})"));
}

TEST(EventRecord, HeadersThatDifferOutsideLettersAreNotMerged) {
  // Regression (found by this test, fixed): writeHeaders (src/sensor/event_record.cc) compares names with (a | 0x20) == (b | 0x20),
  // which folds case for letters but also equates '^' with '~', '@' with '`', '[' with '{',
  // '-' with '\r' and so on. "a^b" and "a~b" are two different, valid header names (both are
  // tchars), yet the event shows one header "a^b" with both values joined.
  core::Capture c = sampleCapture();
  c.request.headers = {{"a^b", "1"}, {"a~b", "2"}, {"X-A", "3"}, {"X\rA", "4"}};
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  const json& h = j.at("transaction").at("request").at("headers");
  EXPECT_EQ(h.size(), 4u) << h.dump();
  EXPECT_EQ(h.value("a~b", "<missing>"), "2") << h.dump();
  EXPECT_EQ(h.value("X-A", "<missing>"), "3") << h.dump();
}

TEST(EventRecord, OnlyCookieIsJoinedWithASemicolon) {
  // Regression (found by this test, fixed): writeHeaders joins repeated values with "; " for every 6-character name starting with
  // 'c' (m.first.size() == 6 && (m.first[0] | 0x20) == 'c'), not just for Cookie: two CF-Ray
  // headers come out as "a; b" instead of "a, b".
  core::Capture c = sampleCapture();
  c.request.headers = {{"CF-Ray", "a"}, {"CF-Ray", "b"}, {"Cookie", "x=1"}, {"COOKIE", "y=2"}};
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  const json& h = j.at("transaction").at("request").at("headers");
  EXPECT_EQ(h.at("Cookie"), "x=1; y=2");
  EXPECT_EQ(h.at("CF-Ray"), std::string("a, b"));
}

TEST(EventRecord, HttpVersionNumber) {
  core::Capture c = sampleCapture();
  const std::pair<const char*, double> cases[] = {
      {"1.1", 1.1}, {"1.0", 1.0}, {"2.0", 2.0}, {"", 0}, {"1", 0}, {"HTTP/1.1", 0}, {"x.y", 0}};
  for (const auto& [text, number] : cases) {
    c.request.version = text;
    const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
    EXPECT_DOUBLE_EQ(j.at("transaction").at("request").at("http_version").get<double>(), number)
        << text;
    EXPECT_EQ(j.at("drosera").at("request").at("version_text"), text);
  }
}

// A capture full of hostile bytes in every attacker-controlled field.
TEST(EventRecord, HostileBytesGiveValidJsonAndValidUtf8ValuesMatch) {
  static const char kHostile[] =
      "nul\0 ctl\x01\x1f\x7f quote\" back\\ nl\n cr\r tab\t ls\xe2\x80\xa8 ps\xe2\x80\xa9 "
      "</script> \xc3\xa9 \xf0\x9f\x90\x9b";
  const std::string hostile(kHostile, sizeof kHostile - 1);
  ASSERT_TRUE(core::isValidUtf8(hostile));
  core::Capture c = sampleCapture();
  c.request.method = hostile;
  c.request.target = "/" + hostile + "?q=" + hostile;
  c.request.version = hostile;
  c.request.headers = {{"X-Hostile", hostile}, {"User-Agent", hostile}};
  c.request.body = hostile + hostile;
  c.request.body_bytes = c.request.body.size();
  c.unique_id = hostile;
  c.client.ip = hostile;
  c.tls = true;
  c.tls_sni = hostile;
  c.anomalies = {hostile};
  c.raw = hostile;
  c.raw_bytes = hostile.size();
  core::Verdict v = sampleVerdict();
  v.matches[0].data = "Matched Data: " + hostile;
  const json j = parseLine(buildEventLine(c, v, inspected(0), sampleContext()));
  const json& rq = j.at("transaction").at("request");
  EXPECT_EQ(rq.at("method"), hostile);
  EXPECT_EQ(rq.at("uri"), "/" + hostile + "?q=" + hostile);
  EXPECT_EQ(rq.at("headers").at("X-Hostile"), hostile);
  EXPECT_EQ(rq.at("headers").at("User-Agent"), hostile);
  EXPECT_EQ(rq.at("body"), hostile + hostile);
  EXPECT_EQ(j.at("transaction").at("unique_id"), hostile);
  EXPECT_EQ(j.at("transaction").at("client_ip"), hostile);
  EXPECT_EQ(j.at("transaction").at("messages")[0].at("details").at("data"),
            "Matched Data: " + hostile);
  EXPECT_EQ(j.at("drosera").at("listener").at("sni"), hostile);
  EXPECT_EQ(j.at("drosera").at("anomalies")[0], hostile);
  EXPECT_EQ(j.at("drosera").at("request").at("version_text"), hostile);
  EXPECT_EQ(core::base64Decode(j.at("drosera").at("raw").get<std::string>()).value_or("?"),
            hostile);
}

TEST(EventRecord, InvalidUtf8IsReadAsLatin1AndRawKeepsTheBytes) {
  core::Capture c = sampleCapture();
  c.request.target = "/\xff\xfe\xc0\xaf\xed\xa0\x80";
  c.request.headers = {{"X-\xff", "\x80\x81"}};
  c.request.body = std::string("\xc3", 1);
  c.raw = "GET /\xff\xfe HTTP/1.1\r\n\r\n";
  c.raw_bytes = c.raw.size();
  const json j = parseLine(buildEventLine(c, core::Verdict{}, inspected(0), sampleContext()));
  const json& rq = j.at("transaction").at("request");
  EXPECT_EQ(rq.at("uri"), "/\xc3\xbf\xc3\xbe\xc3\x80\xc2\xaf\xc3\xad\xc2\xa0\xc2\x80");
  EXPECT_EQ(rq.at("headers").at("X-\xc3\xbf"), "\xc2\x80\xc2\x81");
  EXPECT_EQ(rq.at("body"), "\xc3\x83");
  EXPECT_EQ(core::base64Decode(j.at("drosera").at("raw").get<std::string>()).value_or("?"),
            c.raw);
}

TEST(EventRecord, RandomHostileCapturesAlwaysParse) {
  std::mt19937 rng(99);
  auto randomBytes = [&](size_t max) {
    std::string s(rng() % max, '\0');
    for (auto& ch : s) {
      const uint32_t r = rng();
      // Mostly hostile ASCII, some arbitrary bytes, some line separators.
      if (r % 10 == 0) {
        ch = static_cast<char>(r >> 8);
      } else {
        static const char kPick[] = "\"\\\n\r\t\x01\x7f{}[]:,\xe2\x80\xa8 aZ/";
        ch = kPick[(r >> 8) % (sizeof kPick - 1)];
      }
    }
    return s;
  };
  for (int round = 0; round < 500; ++round) {
    core::Capture c;
    c.unique_id = randomBytes(20);
    c.client.ip = randomBytes(20);
    c.local.ip = randomBytes(20);
    c.peer.ip = randomBytes(20);
    c.client_source = randomBytes(10);
    c.listener_kind = randomBytes(10);
    c.tls = round % 2;
    c.tls_version = randomBytes(10);
    c.tls_sni = randomBytes(30);
    c.request.method = randomBytes(10);
    c.request.target = randomBytes(100);
    c.request.version = randomBytes(5);
    for (int h = 0; h < 5; ++h) c.request.headers.push_back({randomBytes(15), randomBytes(40)});
    c.request.body = randomBytes(200);
    c.response.headers.push_back({randomBytes(10), randomBytes(10)});
    c.response.body = randomBytes(50);
    c.raw = randomBytes(300);
    c.limits_hit = {randomBytes(10)};
    c.anomalies = {randomBytes(10), randomBytes(10)};
    core::Verdict v;
    core::RuleMatch m;
    m.id = static_cast<int>(rng());
    m.message = randomBytes(50);
    m.data = randomBytes(50);
    m.tags = {randomBytes(10)};
    v.matches.push_back(m);
    v.scores = {{randomBytes(10), static_cast<int64_t>(rng())}};
    InspectionInfo info;
    info.state = InspectionState::kUninspected;
    info.reason = randomBytes(20);
    EventContext ctx = sampleContext();
    ctx.sensor_id = randomBytes(10);
    const std::string line = buildEventLine(c, v, info, ctx);
    ASSERT_EQ(line.find('\n'), std::string::npos) << round;
    ASSERT_TRUE(json::accept(line)) << round << ": " << line;
    const json j = json::parse(line);
    if (core::isValidUtf8(c.request.target)) {
      EXPECT_EQ(j.at("transaction").at("request").at("uri"), c.request.target);
    }
    if (core::isValidUtf8(c.request.body)) {
      EXPECT_EQ(j.at("transaction").at("request").at("body"), c.request.body);
    }
    EXPECT_EQ(j.at("transaction").at("messages")[0].at("details").at("ruleId"),
              std::to_string(m.id));
    EXPECT_EQ(core::base64Decode(j.at("drosera").at("raw").get<std::string>()).value_or("?"),
              c.raw);
  }
}

// A padded attack: every rule that matches the padded argument carries it in its data (what
// libmodsecurity hands over, before the adapter bounds it). JSON-escaped six times over, that
// made a 42 MB line from a 1 MB request, which the shipper skipped and the collector refused:
// the attacker's own event disappeared. The line stays under the maximum, every rule hit in
// it, the cut marked.
TEST(EventRecord, HugeRuleDataGivesALineUnderTheMaximumWithTheCutMarked) {
  core::Capture c = sampleCapture();
  const std::string value =
      "1' or '1'='1' union select password from users -- " + std::string(1'000'000, '\x01');
  c.request.body = "a=" + value;
  c.request.body_bytes = c.request.body.size();
  c.raw = "POST /login.php HTTP/1.1\r\n\r\n" + c.request.body;
  c.raw_bytes = c.raw.size();
  core::Verdict v = sampleVerdict();
  for (int i = 0; i < 7; ++i) {
    core::RuleMatch m;
    m.id = 942100 + i;
    m.message = "SQL Injection Attack";
    m.data = "Matched Data: union select found within ARGS:a: " + value;
    m.match = "detected SQLi using libinjection.";
    v.matches.push_back(m);
  }
  const std::string line = buildEventLine(c, v, inspected(0), sampleContext());
  EXPECT_LE(line.size() + 1, kMaxEventLineBytes);  // with its newline
  const json j = parseLine(line);
  const json& d = j.at("drosera");
  EXPECT_EQ(d.at("line_truncated"), true);
  EXPECT_EQ(j.at("transaction").at("unique_id"), "ZxY-0001");
  EXPECT_EQ(d.at("received_at"), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(d.at("request").at("body_truncated"), true);
  const json& messages = j.at("transaction").at("messages");
  ASSERT_EQ(messages.size(), 9u);  // every rule hit is kept
  for (int i = 0; i < 7; ++i) {
    const json& details = messages[2 + i].at("details");
    EXPECT_EQ(details.at("ruleId"), std::to_string(942100 + i));
    const std::string data = details.at("data");
    EXPECT_EQ(data.rfind("Matched Data: union select found within ARGS:a: 1' or", 0), 0u);
    EXPECT_NE(data.find(" bytes omitted)"), std::string::npos);
    EXPECT_LT(data.size(), 20'000u);
  }
  // The line the configured bounds give is kept as it is when it fits.
  const std::string normal =
      buildEventLine(sampleCapture(), sampleVerdict(), inspected(0), sampleContext());
  EXPECT_FALSE(parseLine(normal).at("drosera").contains("line_truncated"));
}

// Whatever the capture holds and however high the limits are set, the line fits: every string
// and every list is cut in the end.
TEST(EventRecord, EveryPartHugeStillGivesALineUnderTheMaximum) {
  core::Capture c = sampleCapture();
  const std::string ctl(4096, '\x01');
  c.request.target = "/" + std::string(1 << 20, '\x02');
  c.request.method = std::string(100'000, '\x03');
  for (int i = 0; i < 2000; ++i) c.request.headers.push_back({"X-" + std::to_string(i), ctl});
  c.request.body = std::string(8 << 20, '\x04');
  c.request.body_bytes = c.request.body.size();
  c.raw = std::string(8 << 20, 'r');
  c.raw_bytes = c.raw.size();
  for (int i = 0; i < 2000; ++i) c.anomalies.push_back(ctl);
  core::Verdict v;
  for (int i = 0; i < 500; ++i) {
    core::RuleMatch m;
    m.id = i;
    m.message = ctl;
    m.data = ctl;
    m.match = ctl;
    m.tags.assign(20, ctl);
    v.matches.push_back(m);
  }
  EventExtras extras;
  for (int i = 0; i < 1000; ++i) extras.traps.push_back({"honeytoken", ctl, ctl, 1, ctl});
  extras.has_attacker = true;
  extras.attacker.traps.assign(1000, ctl);
  EventContext ctx = sampleContext();
  ctx.max_body_bytes = 100 << 20;
  ctx.max_raw_bytes = 100 << 20;
  const std::string line = buildEventLine(c, v, inspected(0), ctx, &extras);
  EXPECT_LT(line.size(), kMaxEventLineBytes);
  const json j = parseLine(line);
  EXPECT_EQ(j.at("drosera").at("line_truncated"), true);
  EXPECT_EQ(j.at("drosera").at("raw_truncated"), true);
  EXPECT_EQ(j.at("transaction").at("unique_id"), "ZxY-0001");
  EXPECT_FALSE(j.at("transaction").at("messages").empty());
}

TEST(EventRecord, Timestamps) {
  EXPECT_EQ(modsecTimestamp(0), "Thu Jan  1 00:00:00 1970");
  EXPECT_EQ(modsecTimestamp(1'700'000'000'999'999), "Tue Nov 14 22:13:20 2023");
  EXPECT_EQ(modsecTimestamp(1'796'023'488'000'000), "Mon Nov 30 07:24:48 2026");
  EXPECT_EQ(isoTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(isoTimestamp(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(isoTimestamp(1'796'023'488'000'001), "2026-11-30T07:24:48.000001Z");
}

}  // namespace
}  // namespace drosera::sensor
