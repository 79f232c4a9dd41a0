// The ECS mapping: every document, whatever the event holds, is one line of valid JSON whose
// leaves are ECS fields (or drosera.*) with values of the ECS types, judged by the ECS field
// definitions themselves (../shared/ecs/fields.csv). And the fields carry what docs/ecs.md says.
#include "ecs/ecs_mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_text.h"
#include "ecs_validator.h"
#include "test_support.h"

namespace drosera::ecs {
namespace {

using nlohmann::json;
using testing::corpus;
using testing::EcsSchema;
using testing::fullGeo;

const EcsSchema& schema() {
  static const EcsSchema s(DROSERA_SHARED_DIR "/ecs/fields.csv");
  return s;
}

TEST(EcsSchema, LoadsTheEcsDefinitions) {
  ASSERT_TRUE(schema().ok()) << schema().error();
  EXPECT_GT(schema().size(), 2000u);
  ASSERT_NE(schema().find("source.ip"), nullptr);
  EXPECT_EQ(schema().find("source.ip")->type, "ip");
  EXPECT_EQ(schema().find("source.geo.location")->type, "geo_point");
  EXPECT_TRUE(schema().find("tags")->array);
  EXPECT_EQ(schema().find("http.request.headers"), nullptr);
}

TEST(EcsMapping, EveryDocumentHasOnlyEcsFieldsWithEcsTypes) {
  ASSERT_TRUE(schema().ok()) << schema().error();
  EcsMappingConfig cfg;
  cfg.labels = {{"region", "eu-west"}, {"persona", "shop"}};
  cfg.include_original = true;
  cfg.observer_version = "0.1.0";
  const EcsMapper plain;
  const EcsMapper full(cfg);
  const GeoInfo geo = fullGeo();
  GeoInfo as_only;
  as_only.as_number = 13335;
  GeoInfo country_only;
  country_only.country_iso_code = "DE";
  int checked = 0;
  uint64_t seq = 1;
  for (const auto& e : corpus()) {
    for (const EcsMapper* m : {&plain, &full}) {
      const std::vector<const GeoInfo*> geos = {nullptr, &geo, &as_only, &country_only};
      for (const GeoInfo* g : geos) {
        const std::string line = m->map(e, seq++, g);
        SCOPED_TRACE(line.substr(0, 300));
        ASSERT_EQ(line.find('\n'), std::string::npos) << "a document must be one line";
        ASSERT_TRUE(core::isValidUtf8(line));
        json doc;
        ASSERT_NO_THROW(doc = json::parse(line));
        const auto errors = schema().validate(doc);
        EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(EcsMapping, TheValidatorRefusesWhatIsNotEcs) {
  ASSERT_TRUE(schema().ok()) << schema().error();
  const json good = json::parse(EcsMapper().map(testing::sqliEvent(1), 7, nullptr));
  ASSERT_TRUE(schema().validate(good).empty());

  auto errorsWith = [&](const std::string& path, const json& value) {
    json doc = good;
    json* node = &doc;
    size_t start = 0;
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
      node = &(*node)[path.substr(start, dot - start)];
      start = dot + 1;
    }
    (*node)[path.substr(start)] = value;
    return schema().validate(doc);
  };
  EXPECT_FALSE(errorsWith("bogus", "x").empty());
  EXPECT_FALSE(errorsWith("source.bogus", 1).empty());
  EXPECT_FALSE(errorsWith("http.request.headers", json{{"Host", "x"}}).empty());
  EXPECT_FALSE(errorsWith("modsec.audit.messages", json::array({"x"})).empty());
  EXPECT_FALSE(errorsWith("source.port", "8080").empty());
  EXPECT_FALSE(errorsWith("source.port", 80.5).empty());
  EXPECT_FALSE(errorsWith("source.ip", "not-an-ip").empty());
  EXPECT_FALSE(errorsWith("source.ip", json::array({"1.2.3.4", "x"})).empty());
  EXPECT_FALSE(errorsWith("@timestamp", "yesterday").empty());
  EXPECT_FALSE(errorsWith("@timestamp", 1234).empty());
  EXPECT_FALSE(errorsWith("event.kind", json::object()).empty());
  EXPECT_FALSE(errorsWith("event.kind", nullptr).empty());
  EXPECT_FALSE(errorsWith("event.risk_score", "high").empty());
  EXPECT_FALSE(errorsWith("tls.established", "yes").empty());
  EXPECT_FALSE(errorsWith("source.geo.location", json{{"lat", 91}, {"lon", 0}}).empty());
  EXPECT_FALSE(errorsWith("source.geo.location", "48.1,2.3").empty());
  EXPECT_FALSE(errorsWith("url", "http://x/").empty());
  // What ECS allows stays allowed.
  EXPECT_TRUE(errorsWith("labels.anything", "x").empty());
  EXPECT_TRUE(errorsWith("drosera.anything", json{{"goes", 1}}).empty());
  EXPECT_TRUE(errorsWith("source.port", json::array({1, 2})).empty());
  EXPECT_TRUE(errorsWith("source.geo.location", json{{"lat", 1.5}, {"lon", -2}}).empty());
  EXPECT_TRUE(errorsWith("event.created", "2026-11-28T14:00:00+01:00").empty());
}

json mapped(const core::Event& e, uint64_t seq = 0, const GeoInfo* geo = nullptr,
            EcsMappingConfig cfg = {}) {
  return json::parse(EcsMapper(std::move(cfg)).map(e, seq, geo));
}

TEST(EcsMapping, TheUrlsPortIsTheOneItsFullFormSays) {
  // It was the listener's port: "http://example.com:8080/a" with url.port 80.
  core::Event e = testing::benignEvent(1);
  e.dst_port = 80;
  e.uri = "http://example.com:8080/a?b=1";
  json d = mapped(e);
  EXPECT_EQ(d["url"]["full"], "http://example.com:8080/a?b=1");
  EXPECT_EQ(d["url"]["port"], 8080);
  e.uri = "/index.html";
  e.host = "shop.example.com:8443";
  d = mapped(e);
  EXPECT_EQ(d["url"]["full"], "http://shop.example.com:8443/index.html");
  EXPECT_EQ(d["url"]["port"], 8443);
  e.host = "shop.example.com";
  e.tls = true;
  e.dst_port = 8443;
  d = mapped(e);
  EXPECT_EQ(d["url"]["full"], "https://shop.example.com/index.html");
  EXPECT_EQ(d["url"]["port"], 443);
  EXPECT_EQ(d["destination"]["port"], 8443);
}

TEST(EcsMapping, ConnectUserInfoAndHostsThatAreNoHostsMakeNoFalseUrlFields) {
  // CONNECT example.com:443 (open-proxy probes) was a path "example.com:443" with extension
  // "com:443"; "http://user:pw@h.example/x" had the domain "user".
  core::Event e = testing::benignEvent(1);
  e.method = "CONNECT";
  e.uri = "example.com:443";
  json d = mapped(e);
  EXPECT_EQ(d["url"]["original"], "example.com:443");
  EXPECT_EQ(d["url"]["domain"], "example.com");
  EXPECT_EQ(d["url"]["port"], 443);
  for (const char* absent : {"path", "extension", "full", "scheme"}) {
    EXPECT_FALSE(d["url"].contains(absent)) << absent;
  }
  e.method = "GET";
  e.uri = "http://admin:hunter2@h.example/x.php";
  d = mapped(e);
  EXPECT_EQ(d["url"]["domain"], "h.example");
  EXPECT_EQ(d["url"]["username"], "admin");
  EXPECT_EQ(d["url"]["password"], "hunter2");
  EXPECT_EQ(d["url"]["path"], "/x.php");
  e.uri = "http://h.example";
  d = mapped(e);
  EXPECT_FALSE(d["url"].contains("path"));  // no empty strings
  e.uri = "/a";
  e.host = "a.com?x=1";
  d = mapped(e);
  EXPECT_FALSE(d["url"].contains("full"));
  EXPECT_FALSE(d["url"].contains("domain"));
  EXPECT_EQ(d["url"]["path"], "/a");
  EXPECT_TRUE(schema().validate(d).empty()) << ::testing::PrintToString(schema().validate(d));
  e.method = "GET";
  e.uri = "http://admin:hunter2@h.example/x.php";
  d = mapped(e);
  EXPECT_TRUE(schema().validate(d).empty()) << ::testing::PrintToString(schema().validate(d));
}

TEST(EcsMapping, PlainRequestIsAnEvent) {
  const json d = mapped(testing::benignEvent(1), 42);
  EXPECT_EQ(d["@timestamp"], "2026-11-28T14:00:00.001000Z");
  EXPECT_EQ(d["ecs"]["version"], std::string(kEcsVersion));
  EXPECT_EQ(d["event"]["kind"], "event");
  EXPECT_EQ(d["event"]["category"], json::array({"web"}));
  EXPECT_EQ(d["event"]["type"], json::array({"access"}));
  EXPECT_EQ(d["event"]["action"], "request");
  EXPECT_EQ(d["event"]["dataset"], "drosera.honeypot");
  EXPECT_EQ(d["event"]["module"], "drosera");
  EXPECT_EQ(d["event"]["id"], "u1");
  EXPECT_EQ(d["event"]["sequence"], 42);
  EXPECT_FALSE(d["event"].contains("severity"));
  EXPECT_FALSE(d.contains("rule"));
  EXPECT_FALSE(d.contains("threat"));
  EXPECT_EQ(d["source"]["ip"], "203.0.113.2");
  EXPECT_EQ(d["source"]["port"], 40001);
  EXPECT_EQ(d["destination"]["ip"], "192.0.2.10");
  EXPECT_EQ(d["destination"]["port"], 8080);
  EXPECT_EQ(d["network"]["type"], "ipv4");
  EXPECT_EQ(d["related"]["ip"], json::array({"203.0.113.2", "192.0.2.10"}));
  EXPECT_EQ(d["url"]["original"], "/index.html");
  EXPECT_EQ(d["url"]["path"], "/index.html");
  EXPECT_EQ(d["url"]["extension"], "html");
  EXPECT_EQ(d["url"]["domain"], "shop.example.com");
  EXPECT_EQ(d["url"]["scheme"], "http");
  // The URL's port, as url.full has it (the listener's is destination.port).
  EXPECT_EQ(d["url"]["port"], 80);
  EXPECT_EQ(d["url"]["full"], "http://shop.example.com/index.html");
  EXPECT_FALSE(d["url"].contains("query"));
  EXPECT_EQ(d["http"]["request"]["method"], "GET");
  EXPECT_EQ(d["http"]["version"], "1.1");
  EXPECT_EQ(d["http"]["response"]["status_code"], 200);
  EXPECT_EQ(d["user_agent"]["original"], "Mozilla/5.0");
  EXPECT_EQ(d["tags"], json::array({"honeypot"}));
  EXPECT_EQ(d["observer"]["type"], "honeypot");
  EXPECT_EQ(d["observer"]["name"], "sensor-a");
  EXPECT_EQ(d["observer"]["product"], "drosera");
  EXPECT_EQ(d["drosera"]["listener"]["kind"], "real");
  EXPECT_EQ(d["drosera"]["score"]["inbound"], 0);
}

TEST(EcsMapping, RuleHitsMakeAnAlertWithRulesAndTechniques) {
  const json d = mapped(testing::sqliEvent(1));
  EXPECT_EQ(d["event"]["kind"], "alert");
  EXPECT_EQ(d["event"]["category"], json::array({"web", "intrusion_detection"}));
  EXPECT_EQ(d["event"]["type"], json::array({"access", "allowed"}));
  EXPECT_EQ(d["event"]["action"], "rule-match");
  EXPECT_EQ(d["event"]["severity"], 2);
  EXPECT_EQ(d["event"]["risk_score"], 5.0);
  EXPECT_EQ(d["rule"]["id"], json::array({"942100", "949110"}));
  EXPECT_EQ(d["rule"]["name"][0], "SQL Injection Attack Detected via libinjection");
  EXPECT_EQ(d["rule"]["name"].size(), d["rule"]["id"].size());
  // A rule without a message keeps the names aligned with the ids (a name was skipped, and the
  // next rule's message paired with this rule's id).
  core::Event nameless = testing::sqliEvent(1);
  nameless.rules[0].message.clear();
  const json n = mapped(nameless);
  EXPECT_EQ(n["rule"]["name"].size(), n["rule"]["id"].size());
  EXPECT_EQ(n["rule"]["name"][0], "rule " + n["rule"]["id"][0].get<std::string>());
  EXPECT_EQ(n["rule"]["name"][1], d["rule"]["name"][1]);
  EXPECT_EQ(d["rule"]["ruleset"], json::array({"OWASP_CRS"}));
  EXPECT_EQ(d["rule"]["version"], json::array({"3.3.4"}));
  EXPECT_EQ(d["rule"]["category"], json::array({"attack-sqli"}));
  EXPECT_EQ(d["threat"]["framework"], "MITRE ATT&CK");
  EXPECT_EQ(d["threat"]["technique"]["id"], json::array({"T1190"}));
  EXPECT_EQ(d["threat"]["technique"]["name"], json::array({"Exploit Public-Facing Application"}));
  EXPECT_EQ(d["threat"]["technique"]["reference"],
            json::array({"https://attack.mitre.org/techniques/T1190"}));
  EXPECT_EQ(d["threat"]["tactic"]["id"], json::array({"TA0001"}));
  EXPECT_EQ(d["threat"]["tactic"]["name"], json::array({"Initial Access"}));
  EXPECT_EQ(d["url"]["query"], "id=1%27%20or%201=1--");
  EXPECT_EQ(d["url"]["extension"], "php");
  const json& tags = d["tags"];
  EXPECT_EQ(tags[0], "honeypot");
  EXPECT_NE(std::find(tags.begin(), tags.end(), "attack-sqli"), tags.end());
  EXPECT_EQ(d["drosera"]["scores"]["sql_injection_score"], 5);
  EXPECT_EQ(d["drosera"]["categories"], json::array({"attack-sqli"}));
  EXPECT_EQ(d["drosera"]["rules"][0]["id"], "942100");
  EXPECT_EQ(d["drosera"]["rules"][0]["severity"], 2);

  core::Event blocked = testing::sqliEvent(2);
  blocked.status = 403;
  EXPECT_EQ(mapped(blocked)["event"]["type"], json::array({"access", "denied"}));
}

TEST(EcsMapping, CveTagsBecomeVulnerabilityIds) {
  const json d = mapped(testing::log4shellEvent(1));
  EXPECT_EQ(d["vulnerability"]["id"], json::array({"CVE-2021-44228", "CVE-2021-45046"}));
  EXPECT_EQ(d["vulnerability"]["enumeration"], "CVE");
  EXPECT_EQ(d["rule"]["category"], json::array({"attack-injection-java"}));
  EXPECT_FALSE(mapped(testing::sqliEvent(1)).contains("vulnerability"));
}

TEST(EcsMapping, TrapsFillTheDroseraObjectAndTechniques) {
  const json d = mapped(testing::trapEvent(1, "sensitive_file"));
  EXPECT_EQ(d["event"]["kind"], "alert");
  EXPECT_EQ(d["event"]["action"], "trap-hit");
  EXPECT_EQ(d["rule"]["ruleset"], json::array({"drosera-honeytraps"}));
  EXPECT_EQ(d["drosera"]["traps"][0]["kind"], "sensitive_file");
  EXPECT_EQ(d["drosera"]["traps"][0]["bait"], "/.env");
  EXPECT_EQ(d["drosera"]["traps"][0]["rule_id"], "9500010");
  EXPECT_EQ(d["drosera"]["attacker_flagged"], true);
  EXPECT_EQ(d["drosera"]["categories"], json::array({"honeytrap"}));
  EXPECT_EQ(d["threat"]["technique"]["id"], json::array({"T1552"}));
  EXPECT_EQ(d["threat"]["technique"]["subtechnique"]["id"], json::array({"T1552.001"}));
  EXPECT_EQ(d["threat"]["technique"]["subtechnique"]["reference"],
            json::array({"https://attack.mitre.org/techniques/T1552/001"}));
  EXPECT_EQ(d["threat"]["tactic"]["name"], json::array({"Credential Access"}));
  const json& tags = d["tags"];
  EXPECT_NE(std::find(tags.begin(), tags.end(), "honeytrap/sensitive_file"), tags.end());

  const json port = mapped(testing::trapEvent(2, "fake_port"));
  EXPECT_EQ(port["drosera"]["listener"]["kind"], "fake");
  EXPECT_EQ(port["threat"]["technique"]["id"], json::array({"T1046"}));

  const json token = mapped(testing::trapEvent(3, "honeytoken"));
  EXPECT_EQ(token["drosera"]["traps"][0]["origin"], "u-origin");
  EXPECT_EQ(token["threat"]["technique"]["id"], json::array({"T1078"}));
  // Stealth has no tactic id here: names and ids are separate lists.
  EXPECT_EQ(token["threat"]["tactic"]["name"].size(), 4u);
  EXPECT_EQ(token["threat"]["tactic"]["id"].size(), 3u);
}

TEST(EcsMapping, ScannerRulesMapToASubTechnique) {
  core::Event e = testing::benignEvent(1);
  e.rules = {testing::rule(913100, "Found User-Agent associated with security scanner", 2,
                           {"attack-reputation-scanner"})};
  const json d = mapped(e);
  EXPECT_EQ(d["threat"]["technique"]["id"], json::array({"T1595"}));
  EXPECT_EQ(d["threat"]["technique"]["subtechnique"]["id"], json::array({"T1595.002"}));
  EXPECT_EQ(d["threat"]["tactic"]["id"], json::array({"TA0043"}));
  // Protocol anomalies are not an ATT&CK technique.
  e.rules = {testing::rule(920350, "Host header is a numeric IP address", 4, {})};
  EXPECT_FALSE(mapped(e).contains("threat"));
}

TEST(EcsMapping, GeoAndAsComeFromTheLookup) {
  const GeoInfo g = fullGeo();
  const json d = mapped(testing::benignEvent(1), 0, &g);
  EXPECT_EQ(d["source"]["geo"]["country_iso_code"], "FR");
  EXPECT_EQ(d["source"]["geo"]["region_iso_code"], "FR-IDF");
  EXPECT_EQ(d["source"]["geo"]["city_name"], "Paris");
  EXPECT_DOUBLE_EQ(d["source"]["geo"]["location"]["lat"].get<double>(), 48.8566);
  EXPECT_DOUBLE_EQ(d["source"]["geo"]["location"]["lon"].get<double>(), 2.3522);
  EXPECT_EQ(d["source"]["as"]["number"], 64496);
  EXPECT_EQ(d["source"]["as"]["organization"]["name"], "Example Transit");
  EXPECT_FALSE(mapped(testing::benignEvent(1))["source"].contains("geo"));
  GeoInfo far = g;
  far.lon = -123.456789;  // six decimals survive, not six significant digits
  EXPECT_DOUBLE_EQ(
      mapped(testing::benignEvent(1), 0, &far)["source"]["geo"]["location"]["lon"].get<double>(),
      -123.456789);
  far.lat = 95;  // out of range: no location, the rest stays
  const json d2 = mapped(testing::benignEvent(1), 0, &far);
  EXPECT_FALSE(d2["source"]["geo"].contains("location"));
  EXPECT_EQ(d2["source"]["geo"]["city_name"], "Paris");
}

TEST(EcsMapping, HostileValuesStayOutOfTypedFields) {
  core::Event e = testing::benignEvent(1);
  e.src_ip = "203.0.113.300";
  e.dst_ip = "fe80::1%eth0";
  const json d = mapped(e);
  EXPECT_EQ(d["source"]["address"], "203.0.113.300");
  EXPECT_FALSE(d["source"].contains("ip"));
  EXPECT_FALSE(d["destination"].contains("ip"));
  EXPECT_FALSE(d.contains("related"));
  EXPECT_FALSE(d["network"].contains("type"));
  e.src_ip = std::string("198.51.100.1\0evil", 17);
  EXPECT_FALSE(mapped(e)["source"].contains("ip"));
}

TEST(EcsMapping, UrlPartsFollowEcs) {
  core::Event e = testing::benignEvent(1);
  e.uri = "/a/b.tar.gz?";
  e.host = "[2001:db8::5]:8443";
  e.tls = true;
  json d = mapped(e);
  EXPECT_EQ(d["url"]["path"], "/a/b.tar.gz");
  EXPECT_EQ(d["url"]["query"], "");  // a '?' with nothing after it: an empty query
  EXPECT_EQ(d["url"]["extension"], "gz");
  EXPECT_EQ(d["url"]["domain"], "[2001:db8::5]");
  EXPECT_EQ(d["url"]["scheme"], "https");
  EXPECT_EQ(d["tls"]["established"], true);

  e.uri = "http://victim.example:81/x.php?a=1#frag";
  e.dst_port = 0;
  e.host.clear();
  e.request_headers.clear();
  d = mapped(e);
  EXPECT_EQ(d["url"]["scheme"], "http");
  EXPECT_EQ(d["url"]["domain"], "victim.example");
  EXPECT_EQ(d["url"]["port"], 81);
  EXPECT_EQ(d["url"]["path"], "/x.php");
  EXPECT_EQ(d["url"]["query"], "a=1");
  EXPECT_EQ(d["url"]["fragment"], "frag");
  EXPECT_EQ(d["url"]["full"], "http://victim.example:81/x.php?a=1#frag");
}

TEST(EcsMapping, BodyIsCutAtACharacterBoundary) {
  core::Event e = testing::benignEvent(1);
  e.request_body =
      "ab\xc3\xa9"
      "cd";  // a, b, e-acute (2 bytes), c, d
  EcsMappingConfig cfg;
  cfg.max_body_bytes = 3;
  EXPECT_EQ(mapped(e, 0, nullptr, cfg)["http"]["request"]["body"]["content"], "ab");
  cfg.max_body_bytes = 4;
  EXPECT_EQ(mapped(e, 0, nullptr, cfg)["http"]["request"]["body"]["content"], "ab\xc3\xa9");
  cfg.max_body_bytes = 0;
  EXPECT_FALSE(mapped(e, 0, nullptr, cfg)["http"].contains("request") &&
               mapped(e, 0, nullptr, cfg)["http"]["request"].contains("body"));
  EXPECT_FALSE(mapped(e)["event"].contains("original"));
}

TEST(EcsMapping, ConfiguredTagsLabelsAndDataset) {
  EcsMappingConfig cfg;
  cfg.dataset = "honeypot.web";
  cfg.tags = {"honeypot", "dmz"};
  cfg.labels = {{"region", "eu-west"}};
  cfg.observer_version = "0.1.0";
  const json d = mapped(testing::benignEvent(1), 0, nullptr, cfg);
  EXPECT_EQ(d["event"]["dataset"], "honeypot.web");
  EXPECT_EQ(d["tags"], json::array({"honeypot", "dmz"}));
  EXPECT_EQ(d["labels"]["region"], "eu-west");
  EXPECT_EQ(d["observer"]["version"], "0.1.0");
}

TEST(EcsHelpers, Timestamps) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatTimestamp(testing::kBaseTimeUs + 123456), "2026-11-28T14:00:00.123456Z");
  EXPECT_EQ(formatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(EcsHelpers, IndexNamesAndPatterns) {
  EXPECT_EQ(indexName("drosera-%Y.%m.%d", testing::kBaseTimeUs), "drosera-2026.11.28");
  EXPECT_EQ(indexName("drosera-%Y.%m.%d", testing::kBaseTimeUs + 10 * 3600 * 1000000LL),
            "drosera-2026.11.29");  // UTC days
  EXPECT_EQ(indexName("logs-drosera.honeypot-default", 0), "logs-drosera.honeypot-default");
  EXPECT_EQ(indexWildcard("drosera-%Y.%m.%d"), "drosera-*");
  EXPECT_EQ(indexWildcard("drosera-%Y.%m"), "drosera-*");
  EXPECT_EQ(indexWildcard("hp-%Y.%m.%d-web"), "hp-*-web");
  EXPECT_EQ(indexWildcard("logs-drosera.honeypot-default"), "logs-drosera.honeypot-default");
  EXPECT_EQ(checkIndexPattern("drosera-%Y.%m.%d"), "");
  EXPECT_NE(checkIndexPattern("Drosera-%Y"), "");
  EXPECT_NE(checkIndexPattern("dro sera"), "");
  EXPECT_NE(checkIndexPattern("_drosera"), "");
  EXPECT_NE(checkIndexPattern(""), "");
  EXPECT_EQ(checkIndexPattern("drosera-%G.w%V"), "");
  // Conversions that give capitals, '/', ':' or spaces ("November", "11/30/26", "07:42:49").
  for (const char* p : {"drosera-%B", "drosera-%a", "drosera-%D", "drosera-%T", "drosera-%e",
                        "drosera-%c", "drosera-%", "drosera-%%"}) {
    EXPECT_NE(checkIndexPattern(p), "") << p;
  }
  EXPECT_NE(checkIndexPattern("a,b"), "");
}

TEST(EcsHelpers, DocumentIdsAreDeterministicAndBounded) {
  core::Event e = testing::benignEvent(1);
  EXPECT_EQ(documentId(e), "sensor-a:u1");
  e.unique_id = std::string(600, 'x');
  const std::string long_id = documentId(e);
  EXPECT_EQ(long_id.rfind("h:", 0), 0u);
  EXPECT_EQ(long_id.size(), 2u + 64u);
  EXPECT_EQ(documentId(e), long_id);
  e.unique_id = "bad\xff";
  EXPECT_EQ(documentId(e).rfind("h:", 0), 0u);
  e.unique_id = "u2";
  EXPECT_NE(documentId(e), documentId(testing::benignEvent(1)));
}

TEST(EcsHelpers, IpAddresses) {
  EXPECT_TRUE(isIpAddress("203.0.113.7"));
  EXPECT_TRUE(isIpAddress("2001:db8::1"));
  EXPECT_TRUE(isIpAddress("::ffff:1.2.3.4"));
  EXPECT_FALSE(isIpAddress(""));
  EXPECT_FALSE(isIpAddress("1.2.3"));
  EXPECT_FALSE(isIpAddress("fe80::1%eth0"));
  EXPECT_FALSE(isIpAddress(std::string("1.2.3.4\0", 8)));
  EXPECT_FALSE(isIpAddress(std::string(100, '1')));
}

}  // namespace
}  // namespace drosera::ecs
