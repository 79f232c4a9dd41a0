// The ModSecurity adapter against the real engine and the real OWASP CRS (Debian packages).
#include "engine/modsec_inspector.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace drosera::engine {
namespace {

core::Capture request(std::string method, std::string target,
                      std::vector<core::Header> extra = {}, std::string body = {}) {
  core::Capture c;
  c.unique_id = "test-" + std::to_string(std::rand());
  c.client = {"203.0.113.9", 40000};
  c.local = {"192.0.2.1", 8080};
  c.request.method = std::move(method);
  c.request.target = std::move(target);
  c.request.version = "1.1";
  c.request.headers = {{"Host", "www.example.com"},
                       {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
                       {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
                       {"Accept-Language", "en-US,en;q=0.5"}};
  for (auto& h : extra) {
    auto it = std::find_if(c.request.headers.begin(), c.request.headers.end(),
                           [&](const core::Header& x) { return x.name == h.name; });
    if (it != c.request.headers.end()) {
      it->value = h.value;
    } else {
      c.request.headers.push_back(h);
    }
  }
  c.request.body = std::move(body);
  c.request.body_bytes = c.request.body.size();
  if (!c.request.body.empty()) {
    c.request.headers.push_back({"Content-Length", std::to_string(c.request.body.size())});
  }
  c.response.status = 200;
  c.response.headers = {{"Content-Type", "text/html"}};
  return c;
}

std::vector<int> ruleIds(const core::Verdict& v) {
  std::vector<int> ids;
  for (const auto& m : v.matches) ids.push_back(m.id);
  return ids;
}

bool hasRule(const core::Verdict& v, int id) {
  auto ids = ruleIds(v);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool hasRuleIn(const core::Verdict& v, int lo, int hi) {
  for (int id : ruleIds(v)) {
    if (id >= lo && id <= hi) return true;
  }
  return false;
}

int64_t score(const core::Verdict& v, const std::string& name) {
  for (const auto& [n, s] : v.scores) {
    if (n == name) return s;
  }
  return 0;
}

class ModSecInspectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineOptions o;
    auto r = makeModSecInspector(o);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    inspector_ = std::move(*r).release();
  }
  static void TearDownTestSuite() {
    delete inspector_;
    inspector_ = nullptr;
  }
  static Inspector* inspector_;
};
Inspector* ModSecInspectorTest::inspector_ = nullptr;

TEST_F(ModSecInspectorTest, SqlInjectionInQueryMatches942100) {
  auto v = inspector_->inspect(request("GET", "/products.php?id=1%27%20OR%201=1--%20"));
  EXPECT_TRUE(v.inspected);
  EXPECT_TRUE(hasRule(v, 942100)) << ::testing::PrintToString(ruleIds(v));
  EXPECT_GE(score(v, "inbound_anomaly_score"), 5);
  EXPECT_GE(score(v, "sql_injection_score"), 5);
}

TEST_F(ModSecInspectorTest, XssInFormPostMatches941) {
  auto v = inspector_->inspect(request(
      "POST", "/contact.php", {{"Content-Type", "application/x-www-form-urlencoded"}},
      "name=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E&email=a%40b.c"));
  EXPECT_TRUE(hasRuleIn(v, 941000, 941999)) << ::testing::PrintToString(ruleIds(v));
  EXPECT_GE(score(v, "xss_score"), 5);
  bool tagged = false;
  for (const auto& m : v.matches) {
    if (m.id / 1000 == 941) {
      tagged |= std::find(m.tags.begin(), m.tags.end(), "attack-xss") != m.tags.end();
      EXPECT_NE(m.data.find("ARGS:name"), std::string::npos) << m.data;
    }
  }
  EXPECT_TRUE(tagged);
}

TEST_F(ModSecInspectorTest, ScannerUserAgentMatches913100) {
  auto v = inspector_->inspect(
      request("GET", "/", {{"User-Agent", "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)"}}));
  EXPECT_TRUE(hasRule(v, 913100)) << ::testing::PrintToString(ruleIds(v));
}

TEST_F(ModSecInspectorTest, BenignPageViewMatchesNothing) {
  auto v = inspector_->inspect(request("GET", "/about.html"));
  EXPECT_TRUE(v.inspected);
  EXPECT_TRUE(v.matches.empty()) << ::testing::PrintToString(ruleIds(v));
  EXPECT_EQ(score(v, "inbound_anomaly_score"), 0);
}

TEST_F(ModSecInspectorTest, PathTraversalMatches930) {
  auto v = inspector_->inspect(request("GET", "/index.php?file=../../../../etc/passwd"));
  EXPECT_TRUE(hasRuleIn(v, 930000, 930999)) << ::testing::PrintToString(ruleIds(v));
}

TEST_F(ModSecInspectorTest, HostileBytesDoNotBreakTheEngine) {
  std::string junk;
  for (int i = 0; i < 512; ++i) junk += static_cast<char>(i * 37 % 256);
  auto c = request("POST", "/login.php?" + junk, {{"X-Junk", junk}}, junk);
  c.request.method = std::string("G\0T", 3);
  auto v = inspector_->inspect(c);
  EXPECT_TRUE(v.inspected);
}

TEST_F(ModSecInspectorTest, ANulInTheTargetDoesNotHideWhatFollowsIt) {
  // The engine takes the target as a C string: what follows a raw NUL used to reach no rule.
  auto v = inspector_->inspect(request(
      "GET", std::string("/?q=\0&id=1%27%20UNION%20SELECT%20password%20FROM%20users--", 58)));
  EXPECT_TRUE(v.inspected);
  EXPECT_GE(score(v, "sql_injection_score"), 5) << ::testing::PrintToString(ruleIds(v));
  EXPECT_TRUE(hasRuleIn(v, 942000, 942999)) << ::testing::PrintToString(ruleIds(v));
}

// CRS logdata carries the whole matched value: a padded attack made every rule that matched it
// carry the padding (120 KB each here; JSON-escaped 6x in the event line). Each hit keeps its
// first bytes, a cut that says how much was left out, and a character never split.
TEST_F(ModSecInspectorTest, RuleHitDataAndMatchAreBoundedAndTheCutIsMarked) {
  const std::string value =
      "1' or '1'='1' union select password from users -- "
      "<script>alert(document.cookie)</script>" +
      std::string(120000, '\x01');
  std::string encoded;
  for (unsigned char ch : value) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%%%02X", ch);
    encoded += std::isalnum(ch) ? std::string(1, static_cast<char>(ch)) : std::string(hex);
  }
  auto v = inspector_->inspect(request("POST", "/login.php",
                                       {{"Content-Type", "application/x-www-form-urlencoded"}},
                                       "a=" + encoded));
  ASSERT_TRUE(hasRule(v, 942100)) << ::testing::PrintToString(ruleIds(v));
  int cut = 0;
  for (const auto& m : v.matches) {
    EXPECT_LE(m.data.size(), kMaxRuleDataBytes + 40) << m.id;
    EXPECT_LE(m.match.size(), kMaxRuleMatchBytes + 40) << m.id;
    if (m.data.find(" bytes omitted)") != std::string::npos) {
      ++cut;
      EXPECT_NE(m.data.find("Matched Data:"), std::string::npos) << m.data.substr(0, 100);
    }
  }
  EXPECT_GE(cut, 2) << ::testing::PrintToString(ruleIds(v));
  // A multi-byte character at the cut is left out whole.
  auto euro = inspector_->inspect(request(
      "GET", "/?q=%27%20union%20select%20password%20from%20users--%20" + [] {
        std::string s;
        for (int i = 0; i < 400; ++i) s += "%E2%82%AC";
        return s;
      }()));
  int euro_cut = 0;
  for (const auto& m : euro.matches) {
    const size_t at = m.data.find(" ... (");
    if (at == std::string::npos) continue;
    ++euro_cut;
    const std::string kept = m.data.substr(0, at);
    ASSERT_GE(kept.size(), 3u);
    EXPECT_TRUE(kept.compare(kept.size() - 3, 3, "\xe2\x82\xac") == 0 ||
                static_cast<unsigned char>(kept.back()) < 0x80)
        << m.id;
  }
  EXPECT_GE(euro_cut, 1) << ::testing::PrintToString(ruleIds(euro));
}

TEST_F(ModSecInspectorTest, ProducerAndComponentsNameTheEngineAndCrs) {
  EXPECT_NE(inspector_->producer().find("ModSecurity v3"), std::string::npos);
  ASSERT_FALSE(inspector_->components().empty());
  EXPECT_EQ(inspector_->components()[0].rfind("OWASP_CRS/", 0), 0u);
  EXPECT_EQ(inspector_->components()[0].find('"'), std::string::npos);
  EXPECT_EQ(inspector_->ruleEngineState(), "DetectionOnly");
}

TEST_F(ModSecInspectorTest, SharedRulesSetIsSafeAcrossThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> sqli{0}, benign_clean{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (hasRule(inspector_->inspect(request("GET", "/?id=1%27%20OR%201=1--")), 942100)) ++sqli;
        if (inspector_->inspect(request("GET", "/news.html")).matches.empty()) ++benign_clean;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sqli.load(), 100);
  EXPECT_EQ(benign_clean.load(), 100);
}

TEST(ModSecInspectorConfig, MissingCrsNamesThePathAndThePackage) {
  EngineOptions o;
  o.config.crs_dir = "/nonexistent/crs";
  auto r = makeModSecInspector(o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("/nonexistent/crs/rules"), std::string::npos);
  EXPECT_NE(r.status().message().find("modsecurity-crs"), std::string::npos);
  EXPECT_NE(r.status().message().find("engine.crs_dir"), std::string::npos);
}

TEST(ModSecInspectorConfig, MissingExtraRuleFileIsNamed) {
  EngineOptions o;
  o.config.extra_rules = {"/nonexistent/extra.conf"};
  auto r = makeModSecInspector(o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("engine.extra_rules"), std::string::npos);
  EXPECT_NE(r.status().message().find("/nonexistent/extra.conf"), std::string::npos);
}

TEST(ModSecInspectorConfig, ParanoiaLevelAndExtraRulesComeFromTheConfig) {
  char dir[] = "/tmp/drosera-engine-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string rules = std::string(dir) + "/extra.conf";
  std::ofstream(rules) << "SecRule ARGS \"@contains canary-4711\" "
                          "\"id:1234567,phase:2,pass,log,msg:'extra rule',tag:'drosera/test'\"\n";
  EngineOptions o;
  o.config.paranoia_level = 4;
  o.config.extra_rules = {rules};
  auto r = makeModSecInspector(o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto v = (*r)->inspect(request("GET", "/?q=canary-4711"));
  EXPECT_TRUE(hasRule(v, 1234567));
  // At paranoia level 4 a quote in a parameter is already outside the allowed characters
  // (920273, a PL4 rule); at the default level 1 it is not.
  auto pl4 = (*r)->inspect(request("GET", "/?q=it%27s"));
  EXPECT_TRUE(hasRule(pl4, 920273)) << ::testing::PrintToString(ruleIds(pl4));
  auto pl1 = makeModSecInspector(EngineOptions{});
  ASSERT_TRUE(pl1.isOk());
  EXPECT_FALSE(hasRule((*pl1)->inspect(request("GET", "/?q=it%27s")), 920273));
  std::remove(rules.c_str());
  rmdir(dir);
}

TEST(ModSecInspectorConfig, BrokenRuleTextFailsAtStartUp) {
  EngineOptions o;
  o.extra_rule_texts.push_back({"honeytrap rules", "SecNoSuchDirective On"});
  auto r = makeModSecInspector(o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("ModSecurity rejected"), std::string::npos);
}

}  // namespace
}  // namespace drosera::engine

namespace drosera::engine {
namespace {

TEST(ModSecInspectorFacts, ServerFactsAreVisibleToRulesAsTxVariables) {
  EngineOptions o;
  o.extra_rule_texts.push_back(
      {"facts", "SecRule TX:DROSERA_COOKIE \"@streq forged\" "
                "\"id:1234568,phase:1,pass,log,msg:'fact seen',logdata:'%{TX.drosera_cookie}'\""});
  auto r = makeModSecInspector(o);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto c = request("GET", "/");
  EXPECT_FALSE(hasRule((*r)->inspect(c), 1234568));
  c.facts.push_back({"cookie", "forged"});
  auto v = (*r)->inspect(c);
  ASSERT_TRUE(hasRule(v, 1234568));
  for (const auto& m : v.matches) {
    if (m.id == 1234568) {
      EXPECT_EQ(m.data, "forged");
    }
  }
}

}  // namespace
}  // namespace drosera::engine
