// Honeytraps: bait laying (pure functions) and identification through the real engine with
// the real CRS: request in, trap hits (kind, bait, captured value) out.
#include "sensor/traps/traps.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "core/base64.h"
#include "engine/modsec_inspector.h"
#include "http/parser.h"
#include "sensor/site.h"
#include "sensor/traps/html.h"

namespace drosera::sensor::traps {
namespace {

InstallSecret secretA() { return InstallSecret::fromBytes(std::string(32, 'a')); }
InstallSecret secretB() { return InstallSecret::fromBytes(std::string(32, 'b')); }

TEST(RobotsTrap, BaitGoesIntoTheStarGroupNotGooglebots) {
  core::TrapsConfig c;
  c.robots_path = "/db-archive/";
  const auto t = RobotsTrap::make(c, secretA());
  const std::string robots =
      "User-agent: *\nDisallow: /tmp/\n\nUser-agent: Googlebot\nDisallow: /nogoogle/\n";
  const std::string out = t.inject(robots);
  // Everything between "User-agent: *" and the next group must now hold the bait.
  const size_t star = out.find("User-agent: *");
  const size_t google = out.find("User-agent: Googlebot");
  const size_t bait = out.find("Disallow: /db-archive/");
  ASSERT_NE(bait, std::string::npos) << out;
  EXPECT_GT(bait, star);
  EXPECT_LT(bait, google) << out;
  EXPECT_NE(out.find("Disallow: /nogoogle/"), std::string::npos);
}

TEST(RobotsTrap, StarGroupIsAddedWhenMissingAndAtTheEndWhenLast) {
  core::TrapsConfig c;
  c.robots_path = "/old/";
  const auto t = RobotsTrap::make(c, secretA());
  EXPECT_EQ(t.inject(""), "User-agent: *\nDisallow: /old/\n");
  const std::string out = t.inject("User-agent: Bingbot\nCrawl-delay: 5\n");
  EXPECT_NE(out.find("User-agent: *\nDisallow: /old/\n"), std::string::npos) << out;
  const std::string last = t.inject("User-agent: a\nDisallow: /x/\n\nUser-agent: *\nDisallow: /y/");
  EXPECT_EQ(last.substr(last.size() - std::string("Disallow: /y/\nDisallow: /old/\n").size()),
            "Disallow: /y/\nDisallow: /old/\n");
  EXPECT_TRUE(t.covers("/old"));
  EXPECT_TRUE(t.covers("/old/x.sql"));
  EXPECT_FALSE(t.covers("/older/"));
}

TEST(HiddenFieldTrap, InjectedBeforeEveryClosingFormInAnyCase) {
  core::TrapsConfig c;
  c.hidden_field_name = "debug";
  c.hidden_field_value = "0";
  const auto t = HiddenFieldTrap::make(c, secretA());
  size_t forms = 0;
  const std::string out =
      t.inject("<form a></form><FORM b></FORM><Form c></fOrM>", &forms);
  EXPECT_EQ(forms, 3u);
  EXPECT_EQ(out,
            "<form a><input type=\"hidden\" name=\"debug\" value=\"0\"></form>"
            "<FORM b><input type=\"hidden\" name=\"debug\" value=\"0\"></FORM>"
            "<Form c><input type=\"hidden\" name=\"debug\" value=\"0\"></fOrM>");
}

TEST(CommentTrap, BeforeTheFirstFormElseBeforeBody) {
  core::TrapsConfig c;
  const auto t = CommentTrap::make(c, secretA());
  std::string page = "<html><body><p>x</p><FORM><form></form></FORM></body></html>";
  ASSERT_TRUE(t.inject(page));
  EXPECT_LT(page.find(t.comment), page.find("<FORM>"));
  std::string noform = "<html><body><p>x</p></body></html>";
  ASSERT_TRUE(t.inject(noform));
  EXPECT_LT(noform.find(t.comment), noform.find("</body>"));
  EXPECT_EQ(t.comment.rfind("<!--", 0), 0u);
  EXPECT_NE(t.comment.find(t.path.substr(t.path.rfind('/') + 1)), std::string::npos);
}

TEST(CookieTrap, SignedPerVisitorAlteredOrForgedIsDetected) {
  core::TrapsConfig c;
  const auto secret = secretA();
  const auto t = CookieTrap::make(c, secret);
  const std::string v = "0123456789abcdef";
  auto headers = [&](const std::string& value) {
    return std::vector<core::Header>{{"Cookie", "PHPSESSID=x; " + t.name + "=" + value + "; b=c"}};
  };
  std::string visitor, raw;
  EXPECT_EQ(t.check(headers(t.value(v)), &visitor, &raw), CookieTrap::State::kValid);
  EXPECT_EQ(visitor, v);
  std::string altered = t.value(v);
  altered.replace(0, t.role.size(), "admin");
  EXPECT_EQ(t.check(headers(altered), &visitor, &raw), CookieTrap::State::kForged);
  std::string other = t.value(v);
  other[other.size() - 1] = other.back() == '0' ? '1' : '0';
  EXPECT_EQ(t.check(headers(other), &visitor, &raw), CookieTrap::State::kForged);
  EXPECT_EQ(t.check({{"Cookie", "a=b"}}, &visitor, &raw), CookieTrap::State::kAbsent);
  // Another install cannot sign for this one.
  const auto secret2 = secretB();
  auto t2 = CookieTrap::make(c, secret2);
  t2.name = t.name;
  t2.role = t.role;
  EXPECT_EQ(t.check(headers(t2.value(v)), &visitor, &raw), CookieTrap::State::kForged);
}

TEST(InstallSecret, BaitNamesDifferBetweenInstallsAndAreStable) {
  core::TrapsConfig c;
  int differing = 0;
  for (int i = 0; i < 8; ++i) {
    auto s1 = InstallSecret::fromBytes(std::string(31, 'x') + static_cast<char>('a' + i));
    auto s2 = InstallSecret::fromBytes(std::string(31, 'y') + static_cast<char>('a' + i));
    const auto a = RobotsTrap::make(c, s1), a2 = RobotsTrap::make(c, s1), b = RobotsTrap::make(c, s2);
    EXPECT_EQ(a.path, a2.path);
    differing += a.path != b.path;
    differing += CookieTrap::make(c, s1).name != CookieTrap::make(c, s2).name;
    differing += HiddenFieldTrap::make(c, s1).name != HiddenFieldTrap::make(c, s2).name;
  }
  EXPECT_GT(differing, 12);  // most of 24 comparisons
}

TEST(Honeytokens, RegistryFindsTokensInTextKeepsTheFirstOriginAndIsBounded) {
  HoneytokenRegistry r(3);
  const auto s = secretA();
  const std::string t1 = makeToken(s, "db_password", "1.2.3.4");
  EXPECT_EQ(t1, makeToken(s, "db_password", "1.2.3.4"));
  EXPECT_NE(t1, makeToken(s, "db_password", "5.6.7.8"));
  EXPECT_EQ(makeToken(s, "aws_access_key_id", "v").rfind("AKIA", 0), 0u);
  r.add(t1, {"event-1", "db_password", "1.2.3.4", 1});
  r.add(t1, {"event-2", "db_password", "1.2.3.4", 2});
  auto hit = r.scan("user=root&password=" + t1 + "&x=1");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->first, t1);
  EXPECT_EQ(hit->second.unique_id, "event-1");
  EXPECT_FALSE(r.scan("password=" + t1.substr(0, 10)));
  for (int i = 0; i < 5; ++i) {
    r.add(makeToken(s, "jwt_secret", std::to_string(i)), {"e", "jwt_secret", "", 0});
  }
  EXPECT_EQ(r.size(), 3u);
  EXPECT_FALSE(r.find(t1));
}

TEST(Honeytokens, SurviveARestart) {
  char dir[] = "/tmp/drosera-tokens-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/tokens.json";
  {
    HoneytokenRegistry r(10);
    r.add("ABCDEFGHIJKLMNOPQRST", {"origin-9", "db_password", "9.9.9.9", 42});
    ASSERT_TRUE(r.save(path).isOk());
  }
  HoneytokenRegistry r(10);
  ASSERT_TRUE(r.load(path).isOk());
  auto o = r.find("ABCDEFGHIJKLMNOPQRST");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->unique_id, "origin-9");
  std::filesystem::remove_all(dir);
}

TEST(Honeytokens, AreWrittenOnlyWhenNewOnesCameAndAgainAfterAFailedWrite) {
  char dir[] = "/tmp/drosera-tokens-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/state/tokens.json";
  HoneytokenRegistry r(10);
  r.add("ABCDEFGHIJKLMNOPQRST", {"origin-1", "db_password", "9.9.9.9", 42});
  EXPECT_FALSE(r.save(path).isOk());  // no state/ folder yet
  std::filesystem::create_directories(std::string(dir) + "/state");
  ASSERT_TRUE(r.save(path).isOk());  // the failed write is tried again
  std::filesystem::remove(path);
  ASSERT_TRUE(r.save(path).isOk());
  EXPECT_FALSE(std::filesystem::exists(path));  // nothing new since the last write
  r.add("ABCDEFGHIJKLMNOPQRSU", {"origin-2", "api_key", "9.9.9.8", 43});
  ASSERT_TRUE(r.save(path).isOk());
  HoneytokenRegistry back(10);
  ASSERT_TRUE(back.load(path).isOk());
  EXPECT_EQ(back.size(), 2u);
  std::filesystem::remove_all(dir);
}

// ---- identification through the real engine ------------------------------------------------

class TrapsEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::TrapsConfig c;
    c.robots_path = "/db-archive/";
    c.robots_realm = "Backups";
    c.hidden_field_name = "debug";
    c.hidden_field_value = "0";
    c.cookie_name = "acct_tier";
    auto t = Traps::create(c, secretA(), {8000, 8888}, DROSERA_SOURCE_DIR "/baits");
    ASSERT_TRUE(t.isOk()) << t.status().message();
    traps_ = std::move(*t).release();
    engine::EngineOptions o;
    o.extra_rule_texts.push_back({"honeytraps", traps_->ruleText(RuleFlavor::kSensor)});
    auto e = engine::makeModSecInspector(o);
    ASSERT_TRUE(e.isOk()) << e.status().message();
    engine_ = std::move(*e).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete traps_;
  }

  static core::Capture request(const std::string& method, const std::string& target,
                               std::vector<core::Header> extra = {}, const std::string& body = {}) {
    core::Capture c;
    c.unique_id = "uid-" + std::to_string(counter_++);
    c.client = {"198.51.100.23", 51000};
    c.local = {"192.0.2.10", 8080};
    c.listener_port = 8080;
    c.request.method = method;
    c.request.target = target;
    c.request.version = "1.1";
    c.request.headers = {{"Host", "www.example.com"},
                         {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
                         {"Accept", "text/html"}};
    for (auto& h : extra) c.request.headers.push_back(h);
    c.request.body = body;
    if (!body.empty()) {
      c.request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
      c.request.headers.push_back({"Content-Length", std::to_string(body.size())});
    }
    c.response.status = 200;
    return c;
  }

  // The full path a request takes: the answer (bait resources), facts, engine, interpretation.
  static std::vector<core::TrapHit> run(core::Capture c, http::Response* answer = nullptr) {
    auto r = traps_->answer(c, http::makePersona("apache", ""));
    if (answer && r) *answer = *r;
    traps_->addFacts(c);
    return traps_->interpret(c, engine_->inspect(c));
  }

  static Traps* traps_;
  static engine::Inspector* engine_;
  static int counter_;
};
Traps* TrapsEngineTest::traps_ = nullptr;
engine::Inspector* TrapsEngineTest::engine_ = nullptr;
int TrapsEngineTest::counter_ = 0;

struct Expect {
  std::string kind, bait, captured;
};

void expectHits(const std::vector<core::TrapHit>& got, const std::vector<Expect>& want) {
  ASSERT_EQ(got.size(), want.size()) << [&] {
    std::string s;
    for (const auto& h : got) s += h.kind + "/" + h.bait + "/" + h.captured + " ";
    return s;
  }();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].kind, want[i].kind);
    if (!want[i].bait.empty()) {
      EXPECT_EQ(got[i].bait, want[i].bait);
    }
    EXPECT_EQ(got[i].captured, want[i].captured) << want[i].kind;
    EXPECT_GE(got[i].rule_id, 9400001);
    EXPECT_LE(got[i].rule_id, 9400099);
  }
}

// A fake login shows the user name sent: it is answered once the body is in (an nginx persona
// answers the rest before it). The folders' redirects are the server's own but WordPress's.
TEST_F(TrapsEngineTest, OnlyTheFakeLoginsReadTheBody) {
  auto reads = [](const std::string& method, const std::string& target) {
    return traps_->readsBody(request(method, target).request);
  };
  EXPECT_TRUE(reads("POST", "/wp-login.php"));
  EXPECT_TRUE(reads("GET", "/wp-login.php"));
  EXPECT_TRUE(reads("POST", "/phpmyadmin/index.php"));
  EXPECT_TRUE(reads("POST", "/admin/"));
  EXPECT_TRUE(reads("GET", "/wp-admin"));     // WordPress's 302
  EXPECT_FALSE(reads("GET", "/phpmyadmin"));  // the server's 301
  EXPECT_FALSE(reads("POST", "/wp-admin"));   // not a login: the site's answer
  EXPECT_FALSE(reads("POST", "/nope"));
  EXPECT_FALSE(reads("POST", "/.env"));
}

TEST_F(TrapsEngineTest, OrdinaryRequestsTriggerNothing) {
  expectHits(run(request("GET", "/")), {});
  expectHits(run(request("GET", "/robots.txt")), {});
  expectHits(run(request("POST", "/contact.php", {}, "name=Ann&email=a%40b.com&debug=0")), {});
  core::Capture c = request("GET", "/about.html");
  http::Response r;
  r.status = 200;
  r.headers.push_back({"Content-Type", "text/html"});
  traps_->finish(c, r);  // a new visitor gets the cookie...
  const std::string* set = http::findHeader(r.headers, "Set-Cookie");
  ASSERT_NE(set, nullptr);
  const std::string pair = set->substr(0, set->find(';'));
  // ...and sending it back unchanged is not a hit.
  expectHits(run(request("GET", "/news.html", {{"Cookie", pair}})), {});
}

TEST_F(TrapsEngineTest, FakePort) {
  auto c = request("GET", "/");
  c.listener_kind = "fake";
  c.listener_port = 8888;
  expectHits(run(c), {{"fake_port", "8888", ""}});
}

TEST_F(TrapsEngineTest, RobotsBaitAnswers401AndCapturesBasicCredentials) {
  http::Response r;
  expectHits(run(request("GET", "/db-archive/"), &r), {{"robots", "/db-archive/", ""}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(*http::findHeader(r.headers, "WWW-Authenticate"), "Basic realm=\"Backups\"");
  expectHits(run(request("GET", "/db-archive/users.sql",
                         {{"Authorization", "Basic " + core::base64Encode("admin:hunter2")}})),
             {{"robots", "/db-archive/", "admin:hunter2"}});
}

TEST_F(TrapsEngineTest, HtmlCommentTarget) {
  const std::string path = traps_->comment()->path;
  http::Response r;
  expectHits(run(request("GET", path), &r), {{"comment", path, ""}});
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
}

TEST_F(TrapsEngineTest, HiddenFieldTampered) {
  expectHits(run(request("POST", "/contact.php", {}, "name=x&debug=1")),
             {{"hidden_field", "debug", "1"}});
  expectHits(run(request("GET", "/index.html?debug=true")), {{"hidden_field", "debug", "true"}});
}

TEST_F(TrapsEngineTest, CookieAlteredOrForged) {
  const std::string forged = "admin.0123456789abcdef.0000000000000000";
  expectHits(run(request("GET", "/", {{"Cookie", "acct_tier=" + forged}})),
             {{"cookie", "acct_tier", forged}});
}

TEST_F(TrapsEngineTest, SensitiveFileHandsOutHoneytokensThatAreRecognisedLater) {
  http::Response r;
  auto c = request("GET", "/.env");
  c.client.ip = "203.0.113.77";  // a visitor nothing was handed to before: this event is the origin
  expectHits(run(c, &r), {{"sensitive_file", "/.env", ""}});
  ASSERT_EQ(r.status, 200);
  const size_t at = r.body.find("DB_PASSWORD=");
  ASSERT_NE(at, std::string::npos) << r.body;
  const std::string password = r.body.substr(at + 12, r.body.find('\n', at) - at - 12);
  ASSERT_GE(password.size(), 16u);
  // Used later, anywhere, on any listener: a hit linked to the event that handed it out.
  auto later = request("POST", "/phpmyadmin/", {}, "pma_username=root&pma_password=" + password);
  later.listener_port = 8443;
  auto hits = run(later);
  ASSERT_FALSE(hits.empty());
  bool found = false;
  for (const auto& h : hits) {
    if (h.kind == "honeytoken") {
      found = true;
      EXPECT_EQ(h.captured, password);
      EXPECT_EQ(h.bait, "db_password");
      EXPECT_EQ(h.origin, c.unique_id);
    }
  }
  EXPECT_TRUE(found);
  // In a header too.
  auto hdr = request("GET", "/", {{"X-Api-Key", password}});
  expectHits(run(hdr), {{"honeytoken", "db_password", password}});
}

TEST_F(TrapsEngineTest, AdminLoginsCaptureUserAndPassword) {
  http::Response r;
  expectHits(run(request("POST", "/wp-login.php", {}, "log=admin&pwd=Winter2026%21&wp-submit=Log+In"), &r),
             {{"admin_login", "wordpress", "admin:Winter2026!"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("admin"), std::string::npos);
  expectHits(run(request("POST", "/phpmyadmin/index.php", {}, "pma_username=root&pma_password=toor")),
             {{"admin_login", "phpmyadmin", "root:toor"}});
  expectHits(run(request("POST", "/admin/", {}, "username=ops&password=123456")),
             {{"admin_login", "admin", "ops:123456"}});
  // A GET is not a credential capture.
  expectHits(run(request("GET", "/wp-login.php")), {});
}

TEST_F(TrapsEngineTest, EveryTargetThatIsServedABaitRecordsIt) {
  // The site serves a bait for an absolute-form target, backslashes and dot segments (as
  // Apache does); the engine's REQUEST_FILENAME had none of that, so these went unrecorded,
  // and "//.env" or "/x/../.env" were recorded under baits of their own.
  for (const std::string target : {"http://x/.env", "HTTP://www.example.com/.env?a=1", "//.env",
                                   "/x/%2e%2e/.env", "/.%65nv"}) {
    http::Response r;
    expectHits(run(request("GET", target), &r), {{"sensitive_file", "/.env", ""}});
    EXPECT_EQ(r.status, 200) << target;
  }
  http::Response r;
  expectHits(run(request("GET", "/.git\\config"), &r), {{"sensitive_file", "/.git/config", ""}});
  EXPECT_EQ(r.status, 200);
  expectHits(run(request("GET", "http://h/db-archive/"), &r), {{"robots", "/db-archive/", ""}});
  EXPECT_EQ(r.status, 401);
  expectHits(run(request("GET", "/db-archive\\x/"), &r), {{"robots", "/db-archive/", ""}});
  EXPECT_EQ(r.status, 401);
  const std::string comment = traps_->comment()->path;
  expectHits(run(request("GET", "http://h" + comment), &r), {{"comment", comment, ""}});
  expectHits(
      run(request("POST", "http://example.com/wp-login.php", {}, "log=admin&pwd=hunter2"), &r),
      {{"admin_login", "wordpress", "admin:hunter2"}});
  EXPECT_EQ(r.status, 200);
  // Not served, not recorded.
  expectHits(run(request("GET", "/%252eenv"), &r), {});
  // Refused (400), but a probe for the bait all the same, as the engine's t:normalizePath
  // has it.
  core::Capture above = request("GET", "/../.env");
  EXPECT_FALSE(traps_->answer(above, http::makePersona("apache", "")).has_value());
  expectHits(run(request("GET", "/../.env")), {{"sensitive_file", "/.env", ""}});
  expectHits(run(request("GET", "/%2e%2e/.git/config")), {{"sensitive_file", "/.git/config", ""}});
}

TEST_F(TrapsEngineTest, BaitFilesHaveTheHeadersOfStaticFiles) {
  // A real file has a modification time and a validator; the bait files had neither, where
  // every static file of the same site has both.
  auto names = [](const http::Response& r) {
    std::vector<std::string> v;
    for (const auto& h : r.headers) v.push_back(h.name);
    return v;
  };
  http::Response env, again, comment;
  run(request("GET", "/.env"), &env);
  run(request("GET", "/.env"), &again);
  // Debian's mime.types has no type for ".env" (a leading dot starts no extension): Apache
  // sends no Content-Type, and mod_deflate (by type) leaves it alone: no Vary.
  EXPECT_EQ(names(env), (std::vector<std::string>{"Last-Modified", "ETag", "Accept-Ranges"}));
  EXPECT_EQ(*http::findHeader(env.headers, "Last-Modified"),
            *http::findHeader(again.headers, "Last-Modified"));
  EXPECT_NE(http::findHeader(env.headers, "Last-Modified")->find(" 2025 "), std::string::npos);
  const std::string etag = *http::findHeader(env.headers, "ETag");
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.substr(1, etag.find('-') - 1),
            (std::stringstream() << std::hex << env.body.size()).str());
  // A conditional GET is answered 304, as for the site's files, and is a hit all the same.
  for (const core::Header& h :
       {core::Header{"If-None-Match", etag},
        core::Header{"If-Modified-Since", *http::findHeader(env.headers, "Last-Modified")}}) {
    http::Response again304;
    expectHits(run(request("GET", "/.env", {h}), &again304), {{"sensitive_file", "/.env", ""}});
    EXPECT_EQ(again304.status, 304) << h.name;
    EXPECT_TRUE(again304.body.empty());
    // Apache keeps Accept-Ranges on a 304 (as the site's own files).
    EXPECT_EQ(names(again304),
              (std::vector<std::string>{"Last-Modified", "ETag", "Accept-Ranges"}));
  }
  run(request("GET", traps_->comment()->path), &comment);
  const http::Persona apache = http::makePersona("apache", "");
  const std::string type = Site::staticTypeOf(apache, traps_->comment()->path, "text/plain");
  std::vector<std::string> want = names(env);
  if (Site::variesOnEncoding(apache, type, comment.body.size())) want.push_back("Vary");
  if (!type.empty()) want.push_back("Content-Type");
  EXPECT_EQ(names(comment), want) << traps_->comment()->path;
  EXPECT_NE(*http::findHeader(comment.headers, "Last-Modified"),
            *http::findHeader(env.headers, "Last-Modified"));  // each file its own time
}

TEST_F(TrapsEngineTest, BaitFilesUnderApacheAreTypedAsDebiansModMimeTypesThem) {
  // Debian's mime.types, as mod_mime reads the name: "sql" and "bak" have types, ".env" and
  // "config" none, and then Apache sends no Content-Type (the baits sent text/plain).
  const http::Persona apache = http::makePersona("apache", "");
  const std::pair<const char*, const char*> cases[] = {
      {"/.env", nullptr},
      {"/.git/config", nullptr},
      {"/backup.sql", "application/sql"},
      {"/wp-config.php.bak", "application/x-trash"}};
  for (const auto& [path, type] : cases) {
    core::Capture c = request("GET", path);
    auto r = traps_->answer(c, apache);
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->status, 200) << path;
    const std::string* got = http::findHeader(r->headers, "Content-Type");
    if (type == nullptr) {
      EXPECT_EQ(got, nullptr) << path << ": " << *got;
    } else {
      ASSERT_NE(got, nullptr) << path;
      EXPECT_EQ(*got, type) << path;
    }
  }
}

TEST_F(TrapsEngineTest, BaitFilesUnderNginxAreNginxsStaticFiles) {
  // They had Apache's ETag (size first, microseconds), its Vary and Apache's types under nginx.
  const http::Persona nginx = http::makePersona("nginx", "");
  auto names = [](const http::Response& r) {
    std::vector<std::string> v;
    for (const auto& h : r.headers) v.push_back(h.name);
    return v;
  };
  for (const std::string& path : {std::string("/.env"), traps_->comment()->path}) {
    core::Capture c = request("GET", path);
    auto r = traps_->answer(c, nginx);
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(names(*r),
              (std::vector<std::string>{"Last-Modified", "ETag", "Accept-Ranges", "Content-Type"}))
        << path;
    // nginx's mime.types: .txt is text/plain; a dot file has no extension, and .bak, .old,
    // .save or .orig none it knows: its default_type.
    const bool txt = path.size() > 4 && path.substr(path.size() - 4) == ".txt";
    EXPECT_EQ(*http::findHeader(r->headers, "Content-Type"),
              txt ? "text/plain" : "application/octet-stream")
        << path;
    // ngx_http_set_etag(): the time in seconds, then the size.
    const std::string etag = *http::findHeader(r->headers, "ETag");
    EXPECT_EQ(etag.substr(etag.find('-') + 1),
              (std::stringstream() << std::hex << r->body.size()).str() + "\"")
        << path;
    core::Capture cond = request("GET", path, {{"If-None-Match", etag}});
    auto again = traps_->answer(cond, nginx);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->status, 304);
    EXPECT_EQ(names(*again), (std::vector<std::string>{"Last-Modified", "ETag"})) << path;
  }
}

TEST_F(TrapsEngineTest, ALoginFolderWithoutItsSlashGetsTheServersOwnRedirect) {
  // It had a page of its own (no footer, charset=UTF-8), and Apache's under the nginx persona.
  for (const std::string name : {"apache", "nginx"}) {
    const http::Persona persona = http::makePersona(name, "");
    core::Capture c = request("GET", "/admin");
    auto r = traps_->answer(c, persona);
    ASSERT_TRUE(r.has_value()) << name;
    const http::Response site =
        Site::movedPermanently("/admin/", c.request, persona, c.local.port, c.tls, c.local.ip);
    EXPECT_EQ(r->status, 301);
    EXPECT_EQ(r->body, site.body) << name;
    ASSERT_EQ(r->headers.size(), site.headers.size());
    for (size_t i = 0; i < site.headers.size(); ++i) {
      EXPECT_EQ(r->headers[i].name, site.headers[i].name);
      EXPECT_EQ(r->headers[i].value, site.headers[i].value);
    }
  }
}

TEST_F(TrapsEngineTest, LoginFailureEchoesTheUserNameEscaped) {
  http::Response r;
  run(request("POST", "/wp-login.php", {}, "log=%3Cscript%3Ealert(1)%3C%2Fscript%3E&pwd=x"), &r);
  EXPECT_EQ(r.body.find("<script>alert(1)</script>"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;"), std::string::npos);
}

TEST_F(TrapsEngineTest, AnEncodedSlashIsLeftToTheSiteOnApacheAndBaitedOnNginx) {
  // Apache (AllowEncodedSlashes Off) answers 404 to "/.git%2fconfig" before it looks for a
  // file: the bait served there was a tell. nginx decodes it and serves the file. Either way
  // the probe is recorded.
  for (const char* target : {"/.git%2fconfig", "/.git%2Fconfig?x=1", "/db-archive%2f"}) {
    core::Capture c = request("GET", target);
    EXPECT_FALSE(traps_->answer(c, http::makePersona("apache", "")).has_value()) << target;
    auto nginx = traps_->answer(c, http::makePersona("nginx", ""));
    ASSERT_TRUE(nginx.has_value()) << target;
    EXPECT_NE(nginx->status, 404) << target;
  }
  expectHits(run(request("GET", "/.git%2fconfig")), {{"sensitive_file", "/.git/config", ""}});
  // The site's own answer: 404, whatever the method.
  auto site = Site::load(DROSERA_SOURCE_DIR "/site", 1 << 22);
  ASSERT_TRUE(site.isOk()) << site.status().message();
  for (const char* m : {"GET", "POST", "TRACE"}) {
    EXPECT_EQ(site.value()
                  .handle(request(m, "/.git%2fconfig").request, http::makePersona("apache", ""), 80,
                          false, "127.0.0.1")
                  .status,
              404)
        << m;
  }
  // Only in the path: an encoded slash in the query leaves the bait served.
  core::Capture q = request("GET", "/.env?next=%2fadmin");
  EXPECT_TRUE(traps_->answer(q, http::makePersona("apache", "")).has_value());
  // A fragment: Apache refuses the request (400, the site's answer), nginx serves the file.
  for (const char* target : {"/.env#x", "/.env?a=1#x", "/db-archive/#"}) {
    core::Capture c = request("GET", target);
    EXPECT_FALSE(traps_->answer(c, http::makePersona("apache", "")).has_value()) << target;
    EXPECT_TRUE(traps_->answer(c, http::makePersona("nginx", "")).has_value()) << target;
    EXPECT_EQ(site.value()
                  .handle(c.request, http::makePersona("apache", ""), 80, false, "127.0.0.1")
                  .status,
              400)
        << target;
  }
}

TEST_F(TrapsEngineTest, NoTrapEverAnswers403) {
  for (const char* p : {"/db-archive/", "/.env", "/.git/config", "/backup.sql", "/wp-config.php.bak",
                        "/phpinfo.php", "/wp-login.php", "/phpmyadmin/", "/admin/", "/wp-admin/"}) {
    core::Capture c = request("GET", p);
    auto r = traps_->answer(c, http::makePersona("apache", ""));
    ASSERT_TRUE(r) << p;
    EXPECT_NE(r->status, 403) << p;
    EXPECT_TRUE(r->status == 200 || r->status == 401 || r->status == 301 || r->status == 302) << p;
  }
}

TEST_F(TrapsEngineTest, ExportedRulesLoadInTheEngineToo) {
  engine::EngineOptions o;
  o.extra_rule_texts.push_back({"exported", traps_->ruleText(RuleFlavor::kExport)});
  auto e = engine::makeModSecInspector(o);
  ASSERT_TRUE(e.isOk()) << e.status().message();
  auto c = request("GET", "/db-archive/", {{"Authorization", "Basic " + core::base64Encode("a:b")}});
  auto v = (*e)->inspect(c);
  bool creds = false;
  for (const auto& m : v.matches) creds |= m.id == 9400011 && m.data == "a:b";
  EXPECT_TRUE(creds);
}

TEST_F(TrapsEngineTest, SiteDecorationLaysStaticBaits) {
  auto site = Site::load(DROSERA_SOURCE_DIR "/site", 1 << 22);
  ASSERT_TRUE(site.isOk());
  traps_->decorate(*site);
  const std::string* robots = site->file("/robots.txt");
  ASSERT_NE(robots, nullptr);
  EXPECT_NE(robots->find("Disallow: /db-archive/"), std::string::npos);
  const std::string* login = site->file(traps_->comment()->page);
  ASSERT_NE(login, nullptr);
  EXPECT_NE(login->find(traps_->comment()->comment), std::string::npos);
  for (const char* page : {"/index.html", "/contact.php", "/login.php", "/news.html"}) {
    const std::string* body = site->file(page);
    ASSERT_NE(body, nullptr) << page;
    size_t forms = 0, hidden = 0;
    for (size_t at = body->find("</form>"); at != std::string::npos; at = body->find("</form>", at + 1)) ++forms;
    for (size_t at = body->find(traps_->hiddenField()->input()); at != std::string::npos;
         at = body->find(traps_->hiddenField()->input(), at + 1)) ++hidden;
    EXPECT_GT(forms, 0u) << page;
    EXPECT_EQ(forms, hidden) << page;
  }
}

}  // namespace
}  // namespace drosera::sensor::traps
