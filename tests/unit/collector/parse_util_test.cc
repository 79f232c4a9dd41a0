// The shared pieces: times in the writers' formats, severities, the [key "value"] metadata of rule
// messages, anomaly scores. Inputs are lines and strings as the real writers produce them.
#include "collector/parse_util.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace drosera::collector::internal {
namespace {

constexpr int64_t kUs = 1000000;
// 2026-11-30T08:24:40Z
constexpr int64_t k20261130T082440 = 1796027080;

TEST(ParseTime, ModsecTimestampWithConfiguredZone) {
  EXPECT_EQ(parseModsecTimestamp("Mon Nov 30 08:24:40 2026", 0), k20261130T082440 * kUs);
  EXPECT_EQ(parseModsecTimestamp("Mon Nov 30 13:54:40 2026", 330), k20261130T082440 * kUs);
  EXPECT_EQ(parseModsecTimestamp("Mon Nov 30 03:24:40 2026", -300), k20261130T082440 * kUs);
  // strftime %e pads the day with a space; %d with a zero.
  EXPECT_EQ(parseModsecTimestamp("Tue Nov  3 08:00:00 2026", 0),
            parseModsecTimestamp("Tue Nov 03 08:00:00 2026", 0));
  EXPECT_EQ(*parseModsecTimestamp("Thu Jan  1 00:00:00 1970", 0), 0);
  EXPECT_EQ(*parseModsecTimestamp("Tue Feb 29 12:00:00 2028", 0) / kUs, 1835438400);
  for (const char* bad :
       {"", "Mon Nov 30 08:24:40", "Mon Nov 31 08:24:40 2026", "Mon Foo 30 08:24:40 2026",
        "Mon Nov 30 24:00:00 2026", "Mon Nov 30 08:24 2026", "Mon Nov 30 08:24:40 2026 extra",
        "Wed Feb 29 12:00:00 2027"}) {
    EXPECT_FALSE(parseModsecTimestamp(bad, 0)) << bad;
  }
}

TEST(ParseTime, ApacheTimeAndModSecurity2Zones) {
  EXPECT_EQ(parseApacheTime("30/Nov/2026:08:24:40.123456 +0000"), k20261130T082440 * kUs + 123456);
  EXPECT_EQ(parseApacheTime("30/Nov/2026:13:54:40 +0530"), k20261130T082440 * kUs);
  // mod_security2 west of UTC: "%c%.2d%.2d" prints the sign and then negative numbers.
  EXPECT_EQ(parseApacheTime("30/Nov/2026:03:24:40.000001 --0500"), k20261130T082440 * kUs + 1);
  EXPECT_EQ(parseApacheTime("30/Nov/2026:04:54:40.5 --03-30"), k20261130T082440 * kUs + 500000);
  EXPECT_EQ(parseApacheTime("30/Nov/2026:03:24:40 -0500"), k20261130T082440 * kUs);
  EXPECT_EQ(parseApacheTime("[30/Nov/2026:03:24:40 -0500]"), k20261130T082440 * kUs);
  for (const char* bad : {"", "30/Nov/2026:03:24:40", "30/Nov/2026 03:24:40 +0000",
                          "30/Nov/2026:03:24:40 +05", "30/Nov/2026:03:24:40 +0500x",
                          "30/Nov/2026:03:24:40 ++0500", "32/Nov/2026:03:24:40 +0000"}) {
    EXPECT_FALSE(parseApacheTime(bad)) << bad;
  }
}

TEST(ParseTime, IsoAndHttpDate) {
  EXPECT_EQ(parseIsoTime("2026-11-30T08:24:40.247591Z"), k20261130T082440 * kUs + 247591);
  EXPECT_EQ(parseIsoTime("2026-11-30T08:24:40Z"), k20261130T082440 * kUs);
  EXPECT_EQ(parseIsoTime("2026-11-30T10:24:40+02:00"), k20261130T082440 * kUs);
  EXPECT_FALSE(parseIsoTime("2026-11-30T08:24:40"));
  EXPECT_FALSE(parseIsoTime("2026-13-30T08:24:40Z"));
  EXPECT_EQ(parseHttpDate("Mon, 30 Nov 2026 08:24:40 GMT"), k20261130T082440 * kUs);
  EXPECT_FALSE(parseHttpDate("Mon, 30 Nov 2026 08:24:40 PST"));
  EXPECT_FALSE(parseHttpDate("30 Nov 2026 08:24:40 GMT"));
}

TEST(ParseSeverity, NamesAndNumbers) {
  EXPECT_EQ(severityFromText("CRITICAL"), 2);
  EXPECT_EQ(severityFromText("critical"), 2);
  EXPECT_EQ(severityFromText("EMERGENCY"), 0);
  EXPECT_EQ(severityFromText("DEBUG"), 7);
  EXPECT_EQ(severityFromText("4"), 4);
  EXPECT_EQ(severityFromText("8"), -1);
  EXPECT_EQ(severityFromText("-1"), -1);
  EXPECT_EQ(severityFromText(""), -1);
}

TEST(ParseRuleMessage, V2MessageLine) {
  const std::string line =
      "Message: Warning. Pattern match \"(?i)<script[^>]*>[\\\\s\\\\S]*?\" at ARGS:q. [file "
      "\"/usr/share/modsecurity-crs/rules/REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] [line \"83\"] "
      "[id \"941110\"] [msg \"XSS Filter - Category 1: Script Tag Vector\"] [data \"Matched Data: "
      "<script> found within ARGS:q: <script>\\x22] [id \\x22999999\\x22]\"] [severity "
      "\"CRITICAL\"] "
      "[ver \"OWASP_CRS/3.3.4\"] [tag \"application-multi\"] [tag \"attack-xss\"]";
  ParseContext ctx;
  core::RuleHit hit;
  ASSERT_TRUE(parseRuleMessageText(line, ctx, hit));
  EXPECT_EQ(hit.id, 941110);
  EXPECT_EQ(hit.line, 83);
  EXPECT_EQ(hit.severity, 2);
  EXPECT_EQ(hit.message, "XSS Filter - Category 1: Script Tag Vector");
  EXPECT_EQ(hit.data, "Matched Data: <script> found within ARGS:q: <script>\"] [id \"999999\"]");
  EXPECT_EQ(hit.match, "Pattern match \"(?i)<script[^>]*>[\\\\s\\\\S]*?\" at ARGS:q.");
  EXPECT_EQ(hit.ver, "OWASP_CRS/3.3.4");
  EXPECT_EQ(hit.tags, (std::vector<std::string>{"application-multi", "attack-xss"}));
  ctx.max_tags = 1;
  core::RuleHit bounded;
  ASSERT_TRUE(parseRuleMessageText(line, ctx, bounded));
  EXPECT_EQ(bounded.tags.size(), 1u);
}

TEST(ParseRuleMessage, LinesWithoutARule) {
  ParseContext ctx;
  core::RuleHit hit;
  EXPECT_FALSE(parseRuleMessageText("", ctx, hit));
  EXPECT_FALSE(parseRuleMessageText("Apache-Error: [file \"apache2_util.c\"] [line 275] [level 3]",
                                    ctx, hit));
  EXPECT_FALSE(parseRuleMessageText("Message: Warning. [file \"x\"] [line \"1\"]", ctx, hit));
  EXPECT_FALSE(parseRuleMessageText("Message: [id \"abc\"]", ctx, hit));
  EXPECT_FALSE(parseRuleMessageText(std::string(200000, '['), ctx, hit));
}

TEST(ParseRuleMessage, V3LineWithAnUnescapedQuoteInTheUri) {
  // libmodsecurity 3 writes [uri "..."] without escaping; a quote there breaks the strict
  // reading, and the lenient one still gets the rule from [file "..."] on.
  const std::string line =
      "ModSecurity: Warning. Matched \"Operator `Rx' with parameter `x' against variable `ARGS:q' "
      "(Value: `a\"] [id \"1\"]' ) [file \"/r.conf\"] [line \"7\"] [id \"941110\"] [rev \"\"] "
      "[msg \"XSS\"] [data \"d\"] [severity \"2\"] [ver \"OWASP_CRS/3.3.4\"] [maturity \"0\"] "
      "[accuracy \"0\"] [tag \"attack-xss\"] [hostname \"h\"] [uri \"/a\"b\"] [unique_id \"u\"] "
      "[ref \"v1\"]";
  core::RuleHit hit;
  ASSERT_TRUE(parseRuleMessageText(line, ParseContext{}, hit));
  EXPECT_EQ(hit.id, 941110);
  EXPECT_EQ(hit.line, 7);
  EXPECT_EQ(hit.message, "XSS");
  EXPECT_EQ(hit.severity, 2);
  EXPECT_EQ(hit.tags, std::vector<std::string>{"attack-xss"});
}

core::RuleHit scoringHit(int id, std::string msg) {
  core::RuleHit h;
  h.id = id;
  h.message = std::move(msg);
  return h;
}

int64_t score(const core::Event& e, const std::string& name) {
  for (const auto& [n, v] : e.scores) {
    if (n == name) return v;
  }
  return -1;
}

TEST(ParseScores, Crs3Messages) {
  core::Event e;
  e.rules.push_back(scoringHit(949110, "Inbound Anomaly Score Exceeded (Total Score: 20)"));
  e.rules.push_back(scoringHit(
      980130,
      "Inbound Anomaly Score Exceeded (Total Inbound Score: 20 - SQLI=20,XSS=0,RFI=0,LFI=0,RCE=0,"
      "PHPI=0,HTTP=5,SESS=0): individual paranoia level scores: 20, 0, 0, 0"));
  e.rules.push_back(scoringHit(959100, "Outbound Anomaly Score Exceeded (Total Score: 4)"));
  scoresFromRuleMessages(e, 100);
  EXPECT_EQ(e.inbound_score, 20);
  EXPECT_EQ(e.outbound_score, 4);
  EXPECT_EQ(score(e, "sql_injection_score"), 20);
  EXPECT_EQ(score(e, "http_violation_score"), 5);
  EXPECT_EQ(score(e, "xss_score"), -1);  // zero scores are not listed, as in drosera lines
  EXPECT_EQ(score(e, "inbound_anomaly_score"), 20);
  EXPECT_EQ(score(e, "outbound_anomaly_score"), 4);
}

TEST(ParseScores, Crs4ReportingMessage) {
  // CRS 4's rule 980170 (RESPONSE-980-CORRELATION.conf) reports every score in one message.
  core::Event e;
  e.rules.push_back(scoringHit(
      980170,
      "Anomaly Scores: (Inbound Scores: blocking=15, detection=15, per_pl=15-0-0-0, threshold=5) - "
      "(Outbound Scores: blocking=0, detection=0, per_pl=0-0-0-0, threshold=4) - (SQLI=0, XSS=15, "
      "RFI=0, LFI=0, RCE=0, PHPI=0, HTTP=0, SESS=0, COMBINED_SCORE=15)"));
  scoresFromRuleMessages(e, 100);
  EXPECT_EQ(e.inbound_score, 15);
  EXPECT_EQ(e.outbound_score, 0);
  EXPECT_EQ(score(e, "xss_score"), 15);
}

TEST(ParseScores, OtherRulesAndCorrelationAreIgnored) {
  core::Event e;
  e.rules.push_back(scoringHit(942100, "Total Score: 99"));
  e.rules.push_back(
      scoringHit(980100, "Correlated Successful Attack Identified: (Total Score: 50)"));
  scoresFromRuleMessages(e, 100);
  EXPECT_EQ(e.inbound_score, 0);
  EXPECT_TRUE(e.scores.empty());
}

TEST(ParseRequestLine, Splits) {
  core::Event e;
  splitRequestLine("GET /a?b=c HTTP/1.1", e);
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.uri, "/a?b=c");
  EXPECT_EQ(e.http_version, "1.1");
  core::Event old;
  splitRequestLine("GET /", old);  // HTTP/0.9
  EXPECT_EQ(old.uri, "/");
  EXPECT_EQ(old.http_version, "");
  core::Event spaced;
  splitRequestLine("GET /a b HTTP/1.0", spaced);
  EXPECT_EQ(spaced.uri, "/a b");
  core::Event junk;
  splitRequestLine("\x16\x03\x01", junk);
  EXPECT_EQ(junk.method, "\x16\x03\x01");
}

}  // namespace
}  // namespace drosera::collector::internal
