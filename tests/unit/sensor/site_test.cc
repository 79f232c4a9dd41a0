// The decoy site: path normalisation (no way out of the root), loading a folder and its
// site.toml, and handle() answering like a small real application behind the persona's server.
#include "sensor/site.h"

#include <gtest/gtest.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "http/parser.h"
#include "http/response.h"
#include "temp_dir.h"

namespace drosera::sensor {
namespace {

namespace fs = std::filesystem;
using testutil::readFile;
using testutil::TempDir;
using testutil::writeFile;

constexpr int64_t kMtime = 1'700'000'000;  // Tue, 14 Nov 2023 22:13:20 GMT

// ---- normalizePath -------------------------------------------------------------------

TEST(SiteNormalizePath, PlainPaths) {
  EXPECT_EQ(Site::normalizePath("/"), "/");
  EXPECT_EQ(Site::normalizePath(""), "/");
  EXPECT_EQ(Site::normalizePath("/index.html"), "/index.html");
  EXPECT_EQ(Site::normalizePath("/a/b/c.txt"), "/a/b/c.txt");
  EXPECT_EQ(Site::normalizePath("/a/b/"), "/a/b/");
  EXPECT_EQ(Site::normalizePath("relative/x"), "/relative/x");
}

TEST(SiteNormalizePath, QueryAndFragmentAreDropped) {
  EXPECT_EQ(Site::normalizePath("/index.html?x=1&y=/../.."), "/index.html");
  EXPECT_EQ(Site::normalizePath("/a#frag/../.."), "/a");
  EXPECT_EQ(Site::normalizePath("/?q"), "/");
  EXPECT_EQ(Site::normalizePath("?q=1"), "/");
  EXPECT_EQ(Site::normalizePath("/dir/?x"), "/dir/");
}

TEST(SiteNormalizePath, PercentDecoding) {
  EXPECT_EQ(Site::normalizePath("/caf%C3%A9.html"), "/caf\xc3\xa9.html");
  EXPECT_EQ(Site::normalizePath("/%69ndex.html"), "/index.html");
  EXPECT_EQ(Site::normalizePath("/a%2fb"), "/a/b");
  EXPECT_EQ(Site::normalizePath("/a%2Fb%2F"), "/a/b/");
  EXPECT_EQ(Site::normalizePath("/%3f"), "/?");       // decoded after the query is split off
  EXPECT_EQ(Site::normalizePath("/100%25"), "/100%");
  EXPECT_EQ(Site::normalizePath("/%252e%252e/x"), "/%2e%2e/x");  // decoded once only
}

TEST(SiteNormalizePath, MalformedPercentEscapesStayLiteral) {
  EXPECT_EQ(Site::normalizePath("/%zz"), "/%zz");
  EXPECT_EQ(Site::normalizePath("/%4"), "/%4");
  EXPECT_EQ(Site::normalizePath("/%"), "/%");
  EXPECT_EQ(Site::normalizePath("/a%"), "/a%");
  EXPECT_EQ(Site::normalizePath("/%g1x"), "/%g1x");
}

TEST(SiteNormalizePath, NulByteIsRejected) {
  EXPECT_EQ(Site::normalizePath("/index.html%00.jpg"), "");
  EXPECT_EQ(Site::normalizePath(std::string("/a\0b", 4)), "");
}

TEST(SiteNormalizePath, DotSegmentsResolve) {
  EXPECT_EQ(Site::normalizePath("/a/./b"), "/a/b");
  EXPECT_EQ(Site::normalizePath("/./"), "/");
  EXPECT_EQ(Site::normalizePath("/a/../b"), "/b");
  EXPECT_EQ(Site::normalizePath("/a/b/../../c"), "/c");
  // A last "." or ".." leaves the folder with its slash, as both servers resolve it (measured:
  // "/index.html/." is not the file, "/assets/css/.." is the folder "/assets/").
  EXPECT_EQ(Site::normalizePath("/a/b/.."), "/a/");
  EXPECT_EQ(Site::normalizePath("/a/b/."), "/a/b/");
  EXPECT_EQ(Site::normalizePath("/a/%2e"), "/a/");
  EXPECT_EQ(Site::normalizePath("/a/.."), "/");
  EXPECT_EQ(Site::normalizePath("/a/%2e%2e/b"), "/b");
  EXPECT_EQ(Site::normalizePath("/..."), "/...");  // not a dot segment
  EXPECT_EQ(Site::normalizePath("/..a/b.."), "/..a/b..");
}

TEST(SiteNormalizePath, RepeatedSlashesAndBackslashes) {
  EXPECT_EQ(Site::normalizePath("//a"), "/a");
  EXPECT_EQ(Site::normalizePath("/a//b///c"), "/a/b/c");
  EXPECT_EQ(Site::normalizePath("/a\\b"), "/a/b");
  EXPECT_EQ(Site::normalizePath("\\a\\b\\"), "/a/b/");
  EXPECT_EQ(Site::normalizePath("/a%5cb"), "/a/b");
  EXPECT_EQ(Site::normalizePath("/a\\..\\b"), "/b");
}

TEST(SiteNormalizePath, BackslashIsACharacterToApacheAndNginx) {
  constexpr auto kLiteral = Site::Backslash::kLiteral;
  EXPECT_EQ(Site::normalizePath("/a%5c..%5cindex.html", Site::AboveRoot::kRefuse, kLiteral),
            "/a\\..\\index.html");
  EXPECT_EQ(Site::normalizePath("/..\\..\\windows", Site::AboveRoot::kRefuse, kLiteral),
            "/..\\..\\windows");
  EXPECT_EQ(Site::normalizePath("/a\\", Site::AboveRoot::kRefuse, kLiteral), "/a\\");
  EXPECT_EQ(Site::backslashOf(http::makePersona("apache", "")), kLiteral);
  EXPECT_EQ(Site::backslashOf(http::makePersona("nginx", "")), kLiteral);
  EXPECT_EQ(Site::backslashOf(http::makePersona("iis", "")), Site::Backslash::kSeparator);
}

TEST(SiteNormalizePath, EscapingTheRootGivesEmpty) {
  for (const char* t : {"/..", "/../", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc",
                        "/%2E%2E%2Fetc%2Fpasswd", "/.%2e/x", "/a/b/../../../x", "\\..\\windows",
                        "/a%5c..%5c..%5cwin.ini", "/static/..%2f..%2f..%2fetc/passwd", "..",
                        "/./../x"}) {
    EXPECT_EQ(Site::normalizePath(t), "") << t;
  }
}

TEST(SiteNormalizePath, AbsoluteFormTargets) {
  EXPECT_EQ(Site::normalizePath("http://example.com/a/b?x=1"), "/a/b");
  EXPECT_EQ(Site::normalizePath("https://example.com:8443/x/"), "/x/");
  EXPECT_EQ(Site::normalizePath("http://example.com"), "/");
  EXPECT_EQ(Site::normalizePath("http://example.com/../etc/passwd"), "");
}

TEST(SiteNormalizePath, AbsoluteFormQueryIsNotThePath) {
  // Regression (found by this test, fixed): for absolute-form targets normalizePath (src/sensor/site.cc) takes everything from the
  // first '/' after "//" as the path, even when that '/' is inside the query: the target
  // "http://example.com?next=/admin/" has an empty path ("/"), but is served as "/admin/".
  EXPECT_EQ(Site::normalizePath("http://example.com?next=/admin/"), "/");
  EXPECT_EQ(Site::normalizePath("http://example.com?x=/../../etc/passwd"), "/");
}

// ---- a site folder made for the tests ------------------------------------------------

void setMtime(const std::string& path, int64_t seconds) {
  timeval tv[2] = {{static_cast<time_t>(seconds), 0}, {static_cast<time_t>(seconds), 0}};
  ASSERT_EQ(::utimes(path.c_str(), tv), 0) << path;
}

std::string expectedEtag(size_t size, int64_t mtime_s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime_s) * 1000000ull);
  return buf;
}

// The body as sent: static files travel in static_body, everything else in body.
std::string bodyOf(const http::Response& r) {
  return r.static_body.empty() ? r.body : std::string(r.static_body);
}

std::string header(const http::Response& r, const std::string& name) {
  const std::string* v = http::findHeader(r.headers, name);
  return v ? *v : "<none>";
}

core::HttpRequestData request(const std::string& method, const std::string& target,
                              std::vector<core::Header> headers = {{"Host", "victim.example"}}) {
  core::HttpRequestData r;
  r.method = method;
  r.target = target;
  r.version = "1.1";
  r.headers = std::move(headers);
  return r;
}

class SiteTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kMaxFile = 1000;

  void SetUp() override {
    files_ = {
        {"index.html", "<html><body>home</body></html>\n"},
        {"about.html", "<html>about</html>"},
        {"docs/index.html", "<html>docs</html>"},
        {"docs/guide.txt", "read me"},
        {"assets/app.js", "console.log(1);"},
        {"assets/css/site.css", "body{}"},
        {"login.php", "<form>{{message}}<input name=u></form>"},
        {"sent.html", "<p>thanks</p>"},
        {"logo.PNG", "\x89PNG..."},
        {"blob.xyz", std::string("\0\1\2", 3)},
        {"news.html",
         "<html><head><title>News</title></head><body>Nothing new today.</body></html>"},
        {"feed.xml", "<rss/>"},
        {"favicon.ico", "\0\0\1\0"},
        {"dump.sql", "-- dump"},
        {"app.log", "GET / 200\n"},            // no type in Debian's mime.types
        {"api/signin", "<p>{{message}}</p>"},  // rendered, and no type either
        {"logo.svg", std::string(100, ' ') + "<svg/>"},
        {"big.bin", std::string(2000, 'x')},  // larger than kMaxFile: not served
        {"site.toml",
         "# POST routes\n"
         "[[post]]\n"
         "path = \"/login.php\"\n"
         "page = \"login.php\"\n"
         "message = '<div class=\"alert\">Invalid username or password.</div>'\n"
         "\n"
         "[[post]]\n"
         "path = \"/contact\"\n"
         "page = \"sent.html\"\n"
         "status = 202\n"},
    };
    for (const auto& [name, body] : files_) {
      writeFile(dir_.file(name), body);
      setMtime(dir_.file(name), kMtime);
    }
    auto r = Site::load(dir_.path(), kMaxFile);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    site_ = std::make_unique<Site>(std::move(r).value());
  }

  http::Response get(const std::string& target, std::vector<core::Header> headers = {
                                                    {"Host", "victim.example"}}) {
    return site_->handle(request("GET", target, std::move(headers)), apache_, 80);
  }

  TempDir dir_;
  std::vector<std::pair<std::string, std::string>> files_;
  std::unique_ptr<Site> site_;
  http::Persona apache_ = http::makePersona("apache", "");
  http::Persona nginx_ = http::makePersona("nginx", "");
};

TEST_F(SiteTest, LoadReadsEveryFileButTheManifestAndOversizedOnes) {
  EXPECT_EQ(site_->root(), dir_.path());
  EXPECT_EQ(site_->fileCount(), files_.size() - 2);
  EXPECT_EQ(*site_->file("/index.html"), "<html><body>home</body></html>\n");
  EXPECT_EQ(*site_->file("/assets/css/site.css"), "body{}");
  EXPECT_EQ(*site_->file("/blob.xyz"), std::string("\0\1\2", 3));
  EXPECT_EQ(site_->file("/site.toml"), nullptr);
  EXPECT_EQ(site_->file("/big.bin"), nullptr);
  EXPECT_EQ(site_->file("/nope"), nullptr);
  EXPECT_EQ(site_->file("index.html"), nullptr);  // URL paths start with '/'
}

TEST_F(SiteTest, GetRootServesIndexWithValidators) {
  const http::Response r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r), "<html><body>home</body></html>\n");
  EXPECT_EQ(header(r, "Content-Type"), "text/html");
  EXPECT_EQ(header(r, "ETag"), expectedEtag(bodyOf(r).size(), kMtime));
  EXPECT_EQ(header(r, "Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_EQ(header(r, "Last-Modified"), http::httpDate(kMtime));
  EXPECT_EQ(header(r, "Accept-Ranges"), "bytes");
  EXPECT_EQ(header(r, "Vary"), "<none>");  // 31 bytes: mod_deflate leaves it alone
  EXPECT_EQ(header(get("/news.html"), "Vary"), "Accept-Encoding");
  // Site files are sent without a copy: the body refers to the site's own storage.
  EXPECT_EQ(r.static_body.data(), site_->file("/index.html")->data());
}

TEST_F(SiteTest, GetIndexDirectlyAndWithQuery) {
  EXPECT_EQ(bodyOf(get("/index.html")), *site_->file("/index.html"));
  EXPECT_EQ(get("/index.html?utm=1").status, 200);
  EXPECT_EQ(get("/%69ndex.html").status, 200);
  EXPECT_EQ(get("//index.html").status, 200);
  EXPECT_EQ(get("/docs/../index.html").status, 200);
}

// As Debian 12's Apache types them (mod_mime with Debian's /etc/mime.types, media-types 10;
// measured): .js is text/javascript there, .xyz chemical/x-xyz.
TEST_F(SiteTest, ContentTypesByExtension) {
  ASSERT_TRUE(std::filesystem::exists("/etc/mime.types")) << "scripts/install-deps.sh build";
  EXPECT_EQ(header(get("/assets/app.js"), "Content-Type"), "text/javascript");
  EXPECT_EQ(header(get("/assets/css/site.css"), "Content-Type"), "text/css");
  EXPECT_EQ(header(get("/docs/guide.txt"), "Content-Type"), "text/plain");
  EXPECT_EQ(header(get("/logo.PNG"), "Content-Type"), "image/png");
  // A name Debian's mime.types has no type for: Apache sends no Content-Type (nor, since
  // mod_deflate goes by type, a Vary); nginx its default_type.
  const http::Response log = get("/app.log");
  EXPECT_EQ(log.status, 200);
  EXPECT_EQ(header(log, "Content-Type"), "<none>");
  EXPECT_EQ(header(log, "Vary"), "<none>");
  EXPECT_EQ(header(site_->handle(request("GET", "/app.log"), nginx_, 80), "Content-Type"),
            "application/octet-stream");
  EXPECT_EQ(header(site_->handle(request("OPTIONS", "/app.log"), apache_, 80), "Content-Type"),
            "<none>");
  // A rendered page too: no header, not an empty one (a review found "Content-Type: ").
  const http::Response signin = get("/api/signin");
  EXPECT_EQ(signin.status, 200);
  EXPECT_EQ(header(signin, "Content-Type"), "<none>");
  const http::Response blob = get("/blob.xyz");
  EXPECT_EQ(header(blob, "Content-Type"), "chemical/x-xyz");
  EXPECT_EQ(header(blob, "Vary"), "<none>");  // binary types do not vary on encoding
  EXPECT_EQ(bodyOf(blob), std::string("\0\1\2", 3));
}

// The validators real servers gave for a 6-byte file last modified 2025-03-01 10:00:00 UTC.
TEST(SiteEtag, FormatOfEachPersona) {
  const uint64_t mtime_us = 1'740'823'200'000'000;
  EXPECT_EQ(Site::etagOf(http::makePersona("apache", ""), 6, mtime_us), "\"6-62f44fc73e800\"");
  EXPECT_EQ(Site::etagOf(6, mtime_us), "\"6-62f44fc73e800\"");
  // nginx: seconds only, then the size.
  EXPECT_EQ(Site::etagOf(http::makePersona("nginx", ""), 6, mtime_us + 999'999), "\"67c2daa0-6\"");
  EXPECT_EQ(Site::etagOf(http::makePersona("nginx", ""), 0x1b62, mtime_us), "\"67c2daa0-1b62\"");
}

// As mod_deflate with Debian's deflate.conf: Vary for its types only, and only for a body over
// 68 bytes (measured: 68 bytes without, 69 with).
TEST(SiteEtag, ApacheVariesOnEncodingAsModDeflateDoes) {
  const http::Persona apache = http::makePersona("apache", "");
  EXPECT_FALSE(Site::variesOnEncoding(apache, "text/html", 68));
  EXPECT_TRUE(Site::variesOnEncoding(apache, "text/html", 69));
  EXPECT_TRUE(Site::variesOnEncoding(apache, "text/html; charset=UTF-8", 5000));
  EXPECT_TRUE(Site::variesOnEncoding(apache, "application/javascript", 5000));
  EXPECT_TRUE(Site::variesOnEncoding(apache, "application/xml", 5000));
  EXPECT_FALSE(Site::variesOnEncoding(apache, "image/svg+xml", 5000));
  EXPECT_FALSE(Site::variesOnEncoding(apache, "application/json", 5000));
  EXPECT_FALSE(Site::variesOnEncoding(apache, "image/png", 5000));
  // nginx: gzip_vary off.
  EXPECT_FALSE(Site::variesOnEncoding(http::makePersona("nginx", ""), "text/html", 5000));
}

// A real nginx 1.22 serving the same file: ETag of its time and size, no Vary, its own types;
// the headers it sends for a 304 (serialize() puts them in nginx's order).
// What nginx serves itself it answers before the body; the application (a PHP page, a form's
// target) gets the body first. Apache always reads it first.
TEST_F(SiteTest, NginxAnswersWhatItServesItselfBeforeTheBody) {
  auto early = [&](const std::string& method, const std::string& target,
                   const http::Persona& persona) {
    const bool yes = site_->answersBeforeBody(request(method, target), persona);
    // The answer it would give without the body is the one it gives with it.
    if (yes) {
      core::HttpRequestData with = request(method, target);
      with.body = "a=1";
      EXPECT_EQ(site_->handle(request(method, target), persona, 80).status,
                site_->handle(with, persona, 80).status)
          << method << " " << target;
    }
    return yes;
  };
  EXPECT_TRUE(early("POST", "/nope", nginx_));        // 404
  EXPECT_TRUE(early("POST", "/about.html", nginx_));  // 405
  EXPECT_TRUE(early("GET", "/about.html", nginx_));   // 200
  EXPECT_TRUE(early("POST", "/docs", nginx_));        // 301
  EXPECT_TRUE(early("PUT", "/login.php", nginx_));    // 405, before the path is looked at
  EXPECT_TRUE(early("post", "/login.php", nginx_));   // 400
  EXPECT_TRUE(early("POST", "/../x", nginx_));        // 400
  EXPECT_FALSE(early("POST", "/login.php", nginx_));  // a form's target
  EXPECT_FALSE(early("POST", "/contact", nginx_));
  EXPECT_FALSE(early("GET", "/login.php", nginx_));  // a PHP page
  EXPECT_FALSE(early("POST", "/nope", apache_));
  EXPECT_FALSE(early("POST", "/about.html", apache_));
}

TEST_F(SiteTest, NginxServesFilesAsNginxDoes) {
  const http::Response r = site_->handle(request("GET", "/news.html"), nginx_, 80);
  EXPECT_EQ(r.status, 200);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%zx\"", static_cast<unsigned long long>(kMtime),
                bodyOf(r).size());
  std::vector<std::string> names;
  for (const auto& h : r.headers) names.push_back(h.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"Last-Modified", "ETag", "Accept-Ranges", "Content-Type"}));
  EXPECT_EQ(header(r, "ETag"), etag);
  EXPECT_EQ(header(r, "Last-Modified"), http::httpDate(kMtime));
  EXPECT_EQ(header(r, "Content-Type"), "text/html");
  const http::Response head = site_->handle(request("HEAD", "/news.html"), nginx_, 80);
  EXPECT_EQ(head.headers.size(), r.headers.size());
  EXPECT_EQ(header(head, "ETag"), etag);

  const http::Response again =
      site_->handle(request("GET", "/news.html", {{"If-None-Match", etag}}), nginx_, 80);
  EXPECT_EQ(again.status, 304);
  names.clear();
  for (const auto& h : again.headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Last-Modified", "ETag"}));
  EXPECT_EQ(
      site_
          ->handle(request("GET", "/news.html", {{"If-Modified-Since", http::httpDate(kMtime)}}),
                   nginx_, 80)
          .status,
      304);
  // Apache's tag for the same file is not nginx's.
  const std::string apache_etag = header(get("/news.html"), "ETag");
  EXPECT_NE(apache_etag, etag);
  EXPECT_EQ(
      site_->handle(request("GET", "/news.html", {{"If-None-Match", apache_etag}}), nginx_, 80)
          .status,
      200);

  // Its mime.types where Apache's differ.
  auto type = [&](const http::Persona& p, const std::string& path) {
    return header(site_->handle(request("GET", path), p, 80), "Content-Type");
  };
  EXPECT_EQ(type(nginx_, "/feed.xml"), "text/xml");
  EXPECT_EQ(type(apache_, "/feed.xml"), "application/xml");
  EXPECT_EQ(type(nginx_, "/favicon.ico"), "image/x-icon");
  EXPECT_EQ(type(apache_, "/favicon.ico"), "image/vnd.microsoft.icon");
  EXPECT_EQ(type(nginx_, "/dump.sql"), "application/octet-stream");
  EXPECT_EQ(type(apache_, "/dump.sql"), "application/sql");
  EXPECT_EQ(type(nginx_, "/assets/app.js"), "application/javascript");

  // A rendered page: PHP's headers, no Vary from nginx.
  const http::Response page = site_->handle(request("GET", "/login.php"), nginx_, 80);
  EXPECT_EQ(header(page, "Vary"), "<none>");
  EXPECT_EQ(header(page, "Content-Type"), "text/html; charset=UTF-8");
}

// Rewritten (baited) files keep an nginx ETag that agrees with their Last-Modified.
TEST_F(SiteTest, NginxEtagOfARewrittenFile) {
  site_->rewrite([](const std::string& url, std::string& body, const std::string&) {
    if (url == "/about.html") body += "<!-- x -->";
  });
  const http::Response r = site_->handle(request("GET", "/about.html"), nginx_, 80);
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%zx\"", static_cast<unsigned long long>(kMtime),
                bodyOf(r).size());
  EXPECT_EQ(header(r, "ETag"), etag);
  site_->addFile("/robots.txt", "User-agent: *\n", "text/plain");
  const http::Response robots = site_->handle(request("GET", "/robots.txt"), nginx_, 80);
  EXPECT_EQ(header(robots, "Content-Type"), "text/plain");
  EXPECT_NE(header(robots, "ETag").find("-e\""), std::string::npos) << header(robots, "ETag");
}

TEST_F(SiteTest, ApacheVaryAndItsNotModifiedHeaders) {
  EXPECT_EQ(header(get("/news.html"), "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(get("/about.html"), "Vary"), "<none>");  // 18 bytes
  EXPECT_EQ(header(get("/logo.svg"), "Vary"), "<none>");    // not in deflate.conf
  const std::string etag = header(get("/news.html"), "ETag");
  const http::Response r = get("/news.html", {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304);
  std::vector<std::string> names;
  for (const auto& h : r.headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Last-Modified", "ETag", "Accept-Ranges"}));
}

TEST_F(SiteTest, IfNoneMatchGives304) {
  const std::string etag = header(get("/about.html"), "ETag");
  const http::Response r = get("/about.html", {{"Host", "h"}, {"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(bodyOf(r).empty());
  EXPECT_EQ(header(r, "ETag"), etag);
  EXPECT_EQ(header(r, "Last-Modified"), http::httpDate(kMtime));
  // Header names are case-insensitive.
  EXPECT_EQ(get("/about.html", {{"if-none-match", etag}}).status, 304);
  // Another tag: the full answer.
  const http::Response other = get("/about.html", {{"If-None-Match", "\"0-0\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(bodyOf(other), "<html>about</html>");
}

// With a Range, Apache's ap_meets_conditions() changes (measured): an If-Range means no 304,
// If-None-Match is compared strongly, If-Modified-Since holds once the file is a minute old.
// nginx answers 304 as without a Range.
TEST_F(SiteTest, ApacheConditionsChangeWithARange) {
  const std::string etag = header(get("/about.html"), "ETag");
  const core::Header range{"Range", "bytes=0-3"};
  EXPECT_EQ(get("/about.html", {range, {"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(get("/about.html", {{"If-None-Match", "W/" + etag}}).status, 304);
  EXPECT_EQ(get("/about.html", {range, {"If-None-Match", "W/" + etag}}).status, 200);
  EXPECT_EQ(get("/about.html", {range, {"If-None-Match", etag}, {"If-Range", etag}}).status, 200);
  EXPECT_EQ(get("/about.html", {range, {"If-Modified-Since", http::httpDate(kMtime)}}).status, 304);
  const std::string nginx_etag =
      header(site_->handle(request("GET", "/about.html"), nginx_, 80), "ETag");
  const http::Response n =
      site_->handle(request("GET", "/about.html",
                            {range, {"If-None-Match", nginx_etag}, {"If-Range", nginx_etag}}),
                    nginx_, 80);
  EXPECT_EQ(n.status, 304);
  // A file of this second: its date is not yet a strong validator for Apache.
  site_->addFile("/fresh.txt", "fresh\n", "text/plain");
  const std::string lm = header(get("/fresh.txt"), "Last-Modified");
  EXPECT_EQ(get("/fresh.txt", {{"If-Modified-Since", lm}}).status, 304);
  EXPECT_EQ(get("/fresh.txt", {range, {"If-Modified-Since", lm}}).status, 200);
}

TEST_F(SiteTest, IfModifiedSinceGives304UnlessIfNoneMatchDisagrees) {
  const std::string lm = http::httpDate(kMtime);
  EXPECT_EQ(get("/about.html", {{"If-Modified-Since", lm}}).status, 304);
  EXPECT_EQ(get("/about.html", {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status,
            200);
  EXPECT_EQ(get("/about.html", {{"If-None-Match", "\"x\""}, {"If-Modified-Since", lm}}).status,
            200);
}

TEST_F(SiteTest, FolderWithoutSlashRedirects) {
  const http::Response r = get("/docs", {{"Host", "victim.example:8080"}});
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://victim.example:8080/docs/");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].name, "Location");
  EXPECT_NE(bodyOf(r).find("<title>301 Moved Permanently</title>"), std::string::npos) << bodyOf(r);
  EXPECT_NE(bodyOf(r).find("href=\"http://victim.example:8080/docs/\""), std::string::npos);
  EXPECT_NE(bodyOf(r).find("Server at victim.example Port 8080<"), std::string::npos) << bodyOf(r);
  // A folder known only through deeper files redirects as well.
  EXPECT_EQ(header(get("/assets/css"), "Location"), "http://victim.example/assets/css/");
  // HEAD too.
  EXPECT_EQ(site_->handle(request("HEAD", "/docs"), apache_, 80).status, 301);
}

TEST_F(SiteTest, NamePrefixOfAFolderIsNotARedirect) {
  EXPECT_EQ(get("/doc").status, 404);        // "/docs/" exists, "/doc/" does not
  EXPECT_EQ(get("/about").status, 404);      // only "/about.html"
  EXPECT_EQ(get("/about.html/").status, 404);
}

TEST_F(SiteTest, RedirectWithoutHostUsesOurAddress) {
  const http::Response r = get("/docs", {});
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://127.0.0.1/docs/");
  EXPECT_EQ(header(site_->handle(request("GET", "/docs", {}), apache_, 8443, true, "2001:db8::7"),
                   "Location"),
            "https://[2001:db8::7]:8443/docs/");
}

// What Apache 2.4 (a virtual host per port, UseCanonicalName Off) and nginx 1.22 put in the
// Location of a folder's 301, measured on loopback (HTTP/1.0 without Host for the empty ones).
TEST_F(SiteTest, RedirectOriginIsTheServersOwn) {
  const http::Persona nginx = http::makePersona("nginx", "");
  struct Case {
    const http::Persona* persona;
    const char* host;  // nullptr: no Host header
    uint16_t port;
    bool tls;
    const char* want;
  };
  const Case cases[] = {
      {&apache_, "localhost", 18083, false, "http://localhost:18083"},
      {&apache_, "localhost:18082", 18082, false, "http://localhost:18082"},
      {&apache_, "example.com:9999", 18082, false, "http://example.com:9999"},
      {&apache_, "[::1]:5", 18082, false, "http://[::1]:5"},
      {&apache_, nullptr, 18083, false, "http://127.0.0.1:18083"},
      {&apache_, "h.test:77", 18444, true, "https://h.test:77"},
      {&apache_, "h.test", 18444, true, "https://h.test:18444"},
      {&apache_, "h.test:443", 18444, true, "https://h.test"},
      {&apache_, "a:80", 80, false, "http://a"},
      {&apache_, "a", 80, false, "http://a"},
      // Not a port: Apache answers 400; drosera, which does not check Host, the connection's.
      {&apache_, "a:99999", 8080, false, "http://a:8080"},
      {&apache_, "A.Example.:81", 80, false, "http://a.example:81"},  // lowercased, no dot
      {&nginx, "A.Example.", 80, false, "http://a.example"},
      {&nginx, "a:80:80", 8081, false, "http://a:8081"},  // cut at the first colon
      {&nginx, "localhost", 18081, false, "http://localhost:18081"},
      {&nginx, "localhost:18081", 18081, false, "http://localhost:18081"},
      {&nginx, "example.com:9999", 18081, false, "http://example.com:18081"},
      {&nginx, "[::1]:5", 18081, false, "http://[::1]:18081"},
      {&nginx, nullptr, 18081, false, "http://127.0.0.1:18081"},
      {&nginx, "h.test:77", 18443, true, "https://h.test:18443"},
      {&nginx, "a:8080", 80, false, "http://a"},
      {&nginx, "a", 443, true, "https://a"},
  };
  for (const Case& c : cases) {
    std::vector<core::Header> headers;
    if (c.host != nullptr) headers.push_back({"Host", c.host});
    const core::HttpRequestData req = request("GET", "/dir", headers);
    EXPECT_EQ(Site::redirectOrigin(req, *c.persona, c.port, c.tls, "127.0.0.1"), c.want)
        << c.persona->name << " " << (c.host ? c.host : "(none)") << " " << c.port;
  }
  // An absolute-form target names the server (nginx keeps its own port); the query goes along.
  const core::HttpRequestData absolute =
      request("GET", "http://Other.Example:8000/docs?x=1&y=%20", {{"Host", "victim.example"}});
  EXPECT_EQ(header(site_->handle(absolute, apache_, 8080), "Location"),
            "http://other.example:8000/docs/?x=1&y=%20");
  EXPECT_EQ(header(site_->handle(absolute, nginx, 8080), "Location"),
            "http://other.example:8080/docs/?x=1&y=%20");
  EXPECT_EQ(header(get("/docs?"), "Location"), "http://victim.example/docs/?");
  EXPECT_EQ(header(site_->handle(request("GET", "/docs?"), nginx, 80), "Location"),
            "http://victim.example/docs/");
  // Without a Host (HTTP/1.0 scanners), the footer names our address, as Apache without
  // ServerName does (measured), where it said "localhost".
  EXPECT_NE(bodyOf(site_->handle(request("GET", "/nope", {}), apache_, 80, false, "192.0.2.7"))
                .find("Server at 192.0.2.7 Port 80<"),
            std::string::npos);
  // Apache's footer: an IPv6 name without its brackets, the Host's port.
  const http::Response v6 =
      site_->handle(request("GET", "/docs", {{"Host", "[::1]:99"}}), apache_, 8080);
  EXPECT_EQ(header(v6, "Location"), "http://[::1]:99/docs/");
  EXPECT_NE(bodyOf(v6).find("Server at ::1 Port 99<"), std::string::npos) << bodyOf(v6);
}

TEST_F(SiteTest, RedirectLocationCannotInjectHeaders) {
  const http::Response r = get("/docs", {{"Host", "evil\r\nSet-Cookie: x=1"}});
  EXPECT_EQ(r.status, 301);
  const std::string loc = header(r, "Location");
  EXPECT_EQ(loc.find_first_of("\r\n "), std::string::npos) << loc;
  EXPECT_EQ(loc, "http://evil__set-cookie/docs/");  // " x=1" is no port; the name lowercased
  EXPECT_EQ(bodyOf(r).find("<script"), std::string::npos);
}

TEST_F(SiteTest, FolderWithSlashServesItsIndex) {
  const http::Response r = get("/docs/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r), "<html>docs</html>");
  EXPECT_EQ(get("/assets/").status, 403);  // no index file: FolderWithoutIndexIsForbidden
}

TEST_F(SiteTest, UnknownPathIsThePersonasNotFoundPage) {
  const http::Response r = get("/wp-login.php", {{"Host", "victim.example:8080"}});
  EXPECT_EQ(r.status, 404);
  // The footer's port is the Host header's (ap_get_server_port(), UseCanonicalName Off).
  EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 404, "victim.example", 8080));
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=iso-8859-1");
  const http::Response n = site_->handle(request("GET", "/.env"), nginx_, 8080);
  EXPECT_EQ(n.status, 404);
  EXPECT_EQ(bodyOf(n), http::errorPage(nginx_, 404, "victim.example", 8080));
  EXPECT_EQ(header(n, "Content-Type"), "text/html");
}

TEST_F(SiteTest, OversizedFileIsNotServed) { EXPECT_EQ(get("/big.bin").status, 404); }

TEST_F(SiteTest, ManifestIsNeverServed) {
  for (const char* t : {"/site.toml", "//site.toml", "/./site.toml", "/docs/../site.toml",
                        "/site%2etoml", "/SITE.TOML"}) {
    const http::Response r = get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(bodyOf(r).find("[[post]]"), std::string::npos) << t;
  }
}

TEST_F(SiteTest, PathOutsideTheRootIsABadRequest) {
  const http::Response r = get("/../../etc/passwd");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 400, "victim.example", 80));
  // A NUL: Apache finds no such file (404), nginx refuses it (400); measured.
  EXPECT_EQ(get("/index.html%00.txt").status, 404);
  EXPECT_EQ(site_->handle(request("GET", "/index.html%00.txt"), nginx_, 80).status, 400);
}

TEST_F(SiteTest, PostRouteRendersThePageWithTheMessage) {
  const http::Response r = site_->handle(request("POST", "/login.php"), apache_, 80);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r),
            "<form><div class=\"alert\">Invalid username or password.</div><input name=u></form>");
  EXPECT_EQ(header(r, "Content-Type"), "text/html; charset=UTF-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store, no-cache, must-revalidate");
  EXPECT_EQ(header(r, "ETag"), "<none>");  // dynamic pages carry no validators
  // Query strings do not change the route.
  EXPECT_EQ(bodyOf(site_->handle(request("POST", "/login.php?redirect=/admin"), apache_, 80)),
            bodyOf(r));
}

TEST_F(SiteTest, GetOfADynamicPageHasNoTokenLeft) {
  const http::Response r = get("/login.php");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r), "<form><input name=u></form>");
  EXPECT_EQ(header(r, "Expires"), "Thu, 19 Nov 1981 08:52:00 GMT");
  EXPECT_EQ(header(r, "Pragma"), "no-cache");
  // If-None-Match does not apply to dynamic pages.
  EXPECT_EQ(get("/login.php", {{"If-None-Match", "\"anything\""}}).status, 200);
}

TEST_F(SiteTest, PostRouteToAStaticPageWithItsStatus) {
  const http::Response r = site_->handle(request("POST", "/contact"), apache_, 80);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(bodyOf(r), "<p>thanks</p>");
}

// Apache's Allow comes in one of four rotations, chosen at each start (its method registry is
// a seeded hash table; measured over restarts): the same one for every answer of a process.
const std::string& allowOf(const Site& site, const http::Persona& apache) {
  static const std::string allow =
      header(site.handle(request("OPTIONS", "/"), apache, 80), "Allow");
  EXPECT_NE(allow, "<none>");
  return allow;
}

TEST_F(SiteTest, ApacheAllowIsOneRotationForTheProcess) {
  const std::string& allow = allowOf(*site_, apache_);
  const std::vector<std::string> rotations = {"GET,POST,OPTIONS,HEAD", "POST,OPTIONS,HEAD,GET",
                                              "OPTIONS,HEAD,GET,POST", "HEAD,GET,POST,OPTIONS"};
  EXPECT_NE(std::find(rotations.begin(), rotations.end(), allow), rotations.end()) << allow;
  for (const char* m : {"PUT", "DELETE", "FOO", "OPTIONS", "PROPFIND"}) {
    for (const char* t : {"/", "/about.html", "/nope", "/docs/"}) {
      EXPECT_EQ(header(site_->handle(request(m, t), apache_, 80), "Allow"), allow) << m << t;
    }
  }
}

// Apache's default handler (measured against 2.4.71, tests/integration/test_methods.py): a POST
// gets the file as a GET does; the other methods it knows are 405 with Allow, whether the path
// exists or not.
TEST_F(SiteTest, ApachePostGetsTheFileAndOtherMethodsAre405) {
  const http::Response post = site_->handle(request("POST", "/about.html"), apache_, 80);
  EXPECT_EQ(post.status, 200);
  EXPECT_EQ(bodyOf(post), "<html>about</html>");
  EXPECT_EQ(header(post, "ETag"), expectedEtag(18, kMtime));
  for (const char* m : {"PUT", "DELETE", "PATCH", "PROPFIND", "MKCOL", "LOCK", "REPORT",
                        "BASELINE-CONTROL", "MERGE"}) {
    for (const char* t : {"/about.html", "/nope", "/shell.php", "/docs/", "/assets/"}) {
      const http::Response r = site_->handle(request(m, t), apache_, 80);
      EXPECT_EQ(r.status, 405) << m << " " << t;
      EXPECT_EQ(header(r, "Allow"), allowOf(*site_, apache_));
      EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 405, "victim.example", 80, m));
    }
  }
  EXPECT_NE(bodyOf(site_->handle(request("PUT", "/x"), apache_, 80))
                .find("<p>The requested method PUT is not allowed for this URL.</p>"),
            std::string::npos);
}

TEST_F(SiteTest, ApacheGetOrPostToAMissingPathIs404) {
  EXPECT_EQ(site_->handle(request("POST", "/xmlrpc.php"), apache_, 80).status, 404);
  EXPECT_EQ(site_->handle(request("GET", "/about.html/x"), apache_, 80).status, 404);
}

// mod_autoindex refuses a folder without an index (no Options Indexes) to a GET or HEAD; a
// POST finds nothing there. nginx refuses it too (no autoindex).
TEST_F(SiteTest, FolderWithoutIndexIsForbidden) {
  for (const char* t : {"/assets/", "/assets/css/"}) {
    EXPECT_EQ(get(t).status, 403) << t;
    EXPECT_EQ(bodyOf(get(t)), http::errorPage(apache_, 403, "victim.example", 80));
    EXPECT_EQ(site_->handle(request("HEAD", t), apache_, 80).status, 403);
    EXPECT_EQ(site_->handle(request("POST", t), apache_, 80).status, 404);
    for (const char* m : {"GET", "HEAD", "POST"}) {
      EXPECT_EQ(site_->handle(request(m, t), nginx_, 80).status, 403) << m << t;
    }
  }
  EXPECT_EQ(get("/nope/").status, 404);
  EXPECT_EQ(get("/docs/").status, 200);  // it has an index
}

TEST_F(SiteTest, ApacheOptionsNamesTheTypeOfWhatIsThere) {
  struct Case {
    const char* target;
    const char* type;
  };
  for (const Case& c : {Case{"/", "text/html"}, Case{"/about.html", "text/html"},
                        Case{"/assets/css/site.css", "text/css"},
                        Case{"/assets/css/site.css/x/y", "text/css"},  // above the path info
                        Case{"/assets/", "httpd/unix-directory"}, Case{"/nope", "<none>"},
                        // mod_mime types a missing file by its name
                        Case{"/nope.html", "text/html"}, Case{"/nope.CSS", "text/css"},
                        Case{"/nope.qqq", "<none>"}, Case{"/nope/", "<none>"}}) {
    const http::Response r = site_->handle(request("OPTIONS", c.target), apache_, 80);
    EXPECT_EQ(r.status, 200) << c.target;
    EXPECT_EQ(header(r, "Allow"), allowOf(*site_, apache_));
    EXPECT_EQ(header(r, "Content-Type"), c.type) << c.target;
    EXPECT_TRUE(bodyOf(r).empty());
  }
  // A folder without its slash is redirected first, whatever the method.
  EXPECT_EQ(site_->handle(request("OPTIONS", "/docs"), apache_, 80).status, 301);
}

// Methods Apache does not know are 501 with Allow, the page naming the method (measured);
// mod_dir's redirect of a folder without its slash comes first.
TEST_F(SiteTest, ApacheUnknownMethodIs501) {
  for (const char* m : {"FOO", "get", "SEARCH", "G_ET"}) {
    for (const char* t : {"/", "/nope", "/about.html"}) {
      const http::Response r = site_->handle(request(m, t), apache_, 80);
      EXPECT_EQ(r.status, 501) << m;
      EXPECT_EQ(header(r, "Allow"), allowOf(*site_, apache_));
      EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 501, "victim.example", 80, m)) << m;
    }
    EXPECT_EQ(site_->handle(request(m, "/docs"), apache_, 80).status, 301) << m;
  }
  EXPECT_NE(bodyOf(site_->handle(request("<b>", "/"), apache_, 80))
                .find("<p>&lt;b&gt; not supported for current URL.<br />\n</p>"),
            std::string::npos);
}

// TraceEnable Off (Debian's security.conf): 405 for any path, with an empty Allow; CONNECT
// without mod_proxy: 405 to a host and port (the page names that port), 400 to a path; "*"
// answers OPTIONS only.
TEST_F(SiteTest, ApacheTraceConnectAndTheServerItself) {
  for (const char* t : {"/", "/nope", "/docs", "*"}) {
    const http::Response r = site_->handle(request("TRACE", t), apache_, 80);
    EXPECT_EQ(r.status, t == std::string("*") ? 400 : 405) << t;
    if (r.status == 405) {
      EXPECT_EQ(header(r, "Allow"), "");
    }
  }
  const http::Response proxy = site_->handle(request("CONNECT", "example.com:443"), apache_, 80);
  EXPECT_EQ(proxy.status, 405);
  EXPECT_EQ(header(proxy, "Allow"), allowOf(*site_, apache_));
  EXPECT_EQ(bodyOf(proxy), http::errorPage(apache_, 405, "victim.example", 443, "CONNECT"));
  EXPECT_EQ(site_->handle(request("CONNECT", "/"), apache_, 80).status, 400);
  const http::Response star = site_->handle(request("OPTIONS", "*"), apache_, 80);
  EXPECT_EQ(star.status, 200);
  EXPECT_TRUE(star.headers.empty());
  EXPECT_EQ(site_->handle(request("GET", "*"), apache_, 80).status, 400);
  // A request line it refuses names the server itself in the page, not the request's host.
  EXPECT_EQ(bodyOf(site_->handle(request("GET", "*"), apache_, 80, false, "192.0.2.7")),
            http::errorPage(apache_, 400, "192.0.2.7", 80));
  EXPECT_EQ(bodyOf(site_->handle(request("CONNECT", "/"), apache_, 80, false, "192.0.2.7")),
            http::errorPage(apache_, 400, "192.0.2.7", 80));
}

// Apache makes no page for a HEAD, so its errors have no length (measured); nginx's have one.
// Debian's Apache configuration (measured against 2.4.71 with it): ".ht*" files denied
// (apache2.conf), /server-status to remote clients (status.conf: Require local), /icons/ a
// folder without Options Indexes (alias.conf); an encoded slash in the path is not found
// (AllowEncodedSlashes Off), whatever the method. nginx has none of these.
// Apache cannot map a path to a file name longer than the system takes, nor walk to a name
// longer than a folder holds: its 403 ("File name too long"), where a shorter missing name is a
// 404 (measured against 2.4.71; test_protocol's BIG_HEAD). nginx finds no file either way.
TEST_F(SiteTest, ApacheRefusesANameTooLongForItsFileSystem) {
  const std::string name(256, 'a');
  for (const std::string& t : {"/" + name, "/docs/" + name, "/" + name + "/x", "/" + name + "?q",
                               // with /var/www/html before it, 4094 bytes
                               "/" + std::string(200, 'b') + "/" + std::string(3879, 'b')}) {
    EXPECT_EQ(get(t).status, 403) << t.size();
    EXPECT_EQ(bodyOf(get(t)), http::errorPage(apache_, 403, "victim.example", 80));
    EXPECT_EQ(site_->handle(request("GET", t), nginx_, 80).status, 404) << t.size();
  }
  // The walk stops before it: a missing folder, or a file with path info after it.
  for (const std::string& t : {"/" + std::string(255, 'a'), "/nope/" + name,
                               "/docs/guide.txt/" + name,
                               "/" + std::string(200, 'b') + "/" + std::string(3878, 'b')}) {
    EXPECT_EQ(get(t).status, 404) << t.size();
  }
}

TEST_F(SiteTest, ApacheRefusesWhatDebiansConfigurationRefuses) {
  for (const char* t : {"/.htaccess", "/.htpasswd", "/docs/.htaccess", "/.ht/", "/.htaccess/x",
                        "/server-status", "/server-status?auto", "/server-status/x"}) {
    for (const char* m : {"GET", "POST", "PUT", "FOO", "OPTIONS"}) {
      const http::Response r = site_->handle(request(m, t), apache_, 80);
      EXPECT_EQ(r.status, 403) << m << " " << t;
      EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 403, "victim.example", 80)) << t;
    }
    EXPECT_EQ(site_->handle(request("GET", t), nginx_, 80).status, 404) << t;
  }
  // FilesMatch sees where the walk stops: after a missing folder or a file, ".ht" is path info.
  for (const char* t : {"/x.htaccess", "/.HTACCESS", "/server-statusx", "/icons", "/nope/.htaccess",
                        "/about.html/.htpasswd"}) {
    EXPECT_EQ(get(t).status, 404) << t;
  }
  // Apache's icon folders are folders without an index.
  EXPECT_EQ(get("/icons/").status, 403);
  EXPECT_EQ(get("/icons/small/").status, 403);
  EXPECT_EQ(header(site_->handle(request("OPTIONS", "/icons/"), apache_, 80), "Content-Type"),
            "httpd/unix-directory");
  EXPECT_EQ(site_->handle(request("PUT", "/icons/"), apache_, 80).status, 405);
  EXPECT_EQ(get("/icons/small").status, 301);
  EXPECT_EQ(site_->handle(request("GET", "/icons/"), nginx_, 80).status, 404);
  EXPECT_EQ(site_->handle(request("TRACE", "/a%2fb"), apache_, 80).status, 404);
  EXPECT_EQ(get("/docs%2fguide.txt").status, 404);
  // A backslash is no separator (both): no way up, and no file of that name.
  EXPECT_EQ(get("/docs%5cguide.txt").status, 404);
  EXPECT_EQ(get("/..%5c..%5cetc%5cpasswd").status, 404);
  EXPECT_EQ(site_->handle(request("GET", "/docs%5cguide.txt"), nginx_, 80).status, 404);
  EXPECT_EQ(get("/..%2F..%2Fetc/passwd").status, 404);
  EXPECT_EQ(site_->handle(request("GET", "/docs%2fguide.txt"), nginx_, 80).status, 200);
  EXPECT_EQ(get("/docs/guide.txt?a=%2f").status, 200);  // the query is not the path
  // A fragment is refused before that (measured: Apache 2.4.71 answers any '#' 400).
  EXPECT_EQ(get("/docs/guide.txt#%2f").status, 400);
  EXPECT_EQ(get("/docs/guide.txt#x").status, 400);
  EXPECT_EQ(site_->handle(request("GET", "/docs/guide.txt#x"), nginx_, 80).status, 200);
}

TEST_F(SiteTest, ApacheHeadOfAnErrorHasNoLength) {
  for (const char* t : {"/nope", "/docs", "/assets/"}) {
    EXPECT_TRUE(site_->handle(request("HEAD", t), apache_, 80).unknown_length) << t;
    EXPECT_FALSE(site_->handle(request("GET", t), apache_, 80).unknown_length) << t;
    EXPECT_FALSE(site_->handle(request("HEAD", t), nginx_, 80).unknown_length) << t;
  }
  EXPECT_FALSE(site_->handle(request("HEAD", "/about.html"), apache_, 80).unknown_length);
}

// nginx (measured, 1.22.1): capitals, '_' and '-' make a method (else 400); on its files
// anything but GET, HEAD and POST is 405 "Not Allowed", OPTIONS included, without Allow; a POST
// to a file that does not exist is 404, to one that does 405, to a folder without its slash
// 301; CONNECT to a host and port, and "*", are request lines it does not parse (400).
TEST_F(SiteTest, NginxMethods) {
  struct Case {
    const char* method;
    const char* target;
    int status;
  };
  for (const Case& c :
       {Case{"OPTIONS", "/about.html", 405}, Case{"OPTIONS", "/nope", 405},
        Case{"OPTIONS", "/docs", 405}, Case{"PUT", "/about.html", 405},
        Case{"FOO", "/about.html", 405}, Case{"G_ET", "/about.html", 405},
        Case{"GE-T", "/about.html", 405}, Case{"TRACE", "/", 405}, Case{"get", "/about.html", 400},
        Case{"GET1", "/about.html", 400}, Case{"POST", "/about.html", 405},
        Case{"POST", "/nope.html", 404}, Case{"GET", "/about.html", 200},
        Case{"POST", "/docs", 301}, Case{"CONNECT", "example.com:443", 400},
        Case{"CONNECT", "/", 405}, Case{"GET", "*", 400}, Case{"OPTIONS", "*", 400}}) {
    const http::Response r = site_->handle(request(c.method, c.target), nginx_, 80);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target;
    EXPECT_EQ(header(r, "Allow"), "<none>") << c.method;
  }
}

TEST_F(SiteTest, HeadIsAnsweredLikeGet) {
  const http::Response r = site_->handle(request("HEAD", "/about.html"), apache_, 80);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "ETag"), expectedEtag(18, kMtime));
}

TEST_F(SiteTest, LongHostIsCutInErrorPages) {
  const std::string host(1000, 'h');
  const http::Response r = get("/nope", {{"Host", host}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(bodyOf(r), http::errorPage(apache_, 404, std::string(255, 'h'), 80));
}

TEST_F(SiteTest, HostileHostIsEscapedInErrorPages) {
  const http::Response r = get("/nope", {{"Host", "<script>alert(1)</script>"}});
  EXPECT_EQ(bodyOf(r).find("<script>"), std::string::npos) << bodyOf(r);
}

// ---- loading errors ------------------------------------------------------------------

TEST(SiteLoad, MissingFolderIsNotFound) {
  auto r = Site::load("/nonexistent/drosera/site", 1000);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/drosera/site"), std::string::npos);
}

TEST(SiteLoad, EmptyFolderIsAnError) {
  TempDir t;
  auto r = Site::load(t.path(), 1000);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("has no files"), std::string::npos);
}

TEST(SiteLoad, FolderWithOnlyTheManifestIsAnError) {
  TempDir t;
  writeFile(t.file("site.toml"), "");
  EXPECT_FALSE(Site::load(t.path(), 1000).isOk());
}

TEST(SiteLoad, FolderWithoutManifestLoads) {
  TempDir t;
  writeFile(t.file("index.html"), "x");
  auto r = Site::load(t.path(), 1000);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  // Without routes a POST to an .html file is what the server makes of it: Apache's file, nginx's
  // 405.
  EXPECT_EQ(r->handle(request("POST", "/index.html"), http::makePersona("apache", ""), 80).status,
            200);
  EXPECT_EQ(r->handle(request("POST", "/index.html"), http::makePersona("nginx", ""), 80).status,
            405);
}

TEST(SiteLoad, PostPageMissingFromTheSiteNamesFileAndLine) {
  TempDir t;
  writeFile(t.file("index.html"), "x");
  writeFile(t.file("site.toml"),
            "[[post]]\npath = \"/a\"\npage = \"index.html\"\n\n[[post]]\npath = \"/b\"\n"
            "page = \"missing.html\"\n");
  auto r = Site::load(t.path(), 1000);
  ASSERT_FALSE(r.isOk());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("site.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("missing.html"), std::string::npos) << m;
  EXPECT_NE(m.find(" 5 |"), std::string::npos) << m;  // the [[post]] entry's line
}

TEST(SiteLoad, ManifestSyntaxErrorIsReported) {
  TempDir t;
  writeFile(t.file("index.html"), "x");
  writeFile(t.file("site.toml"), "[[post]]\npath = \"/a\npage = \"index.html\"\n");
  auto r = Site::load(t.path(), 1000);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("site.toml"), std::string::npos) << r.status().message();
}

TEST(SiteLoad, ManifestEntryWithoutPathIsAnError) {
  TempDir t;
  writeFile(t.file("index.html"), "x");
  writeFile(t.file("site.toml"), "[[post]]\npage = \"index.html\"\n");
  auto r = Site::load(t.path(), 1000);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::Status::Code::kInvalidArgument);
}

TEST(SiteLoad, NestedSiteTomlIsAnOrdinaryFile) {
  TempDir t;
  writeFile(t.file("index.html"), "x");
  writeFile(t.file("sub/site.toml"), "not the manifest");
  auto r = Site::load(t.path(), 1000);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_NE(r->file("/sub/site.toml"), nullptr);
}

// ---- the site shipped with drosera ---------------------------------------------------

class ShippedSite : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Site::load(root_, 4u << 20);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    site_ = std::make_unique<Site>(std::move(r).value());
  }
  http::Response handle(const std::string& method, const std::string& target) {
    return site_->handle(request(method, target), persona_, 8080);
  }
  const std::string root_ = std::string(DROSERA_SOURCE_DIR) + "/site";
  std::unique_ptr<Site> site_;
  http::Persona persona_ = http::makePersona("apache", "");
};

TEST_F(ShippedSite, LoadsEveryFileButTheManifest) {
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (e.is_regular_file()) ++files;
  }
  EXPECT_EQ(site_->fileCount(), files - 1);
  EXPECT_EQ(site_->file("/site.toml"), nullptr);
  ASSERT_NE(site_->file("/robots.txt"), nullptr);
  EXPECT_EQ(*site_->file("/robots.txt"), readFile(root_ + "/robots.txt"));
}

TEST_F(ShippedSite, GetRootServesIndexWithValidators) {
  const http::Response r = handle("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r), readFile(root_ + "/index.html"));
  EXPECT_NE(header(r, "ETag"), "<none>");
  EXPECT_EQ(header(r, "ETag").front(), '"');
  EXPECT_NE(header(r, "Last-Modified"), "<none>");
  const std::string etag = header(r, "ETag");
  const http::Response again =
      site_->handle(request("GET", "/", {{"If-None-Match", etag}}), persona_, 8080);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(bodyOf(again).empty());
}

TEST_F(ShippedSite, FolderWithoutSlashRedirects) {
  const http::Response r = handle("GET", "/assets");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "Location"), "http://victim.example:8080/assets/");  // the port it came to
}

TEST_F(ShippedSite, UnknownPathIs404) {
  const http::Response r = handle("GET", "/wp-admin/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(bodyOf(r), http::errorPage(persona_, 404, "victim.example", 8080));
}

TEST_F(ShippedSite, LoginPostShowsTheMessage) {
  const http::Response r = handle("POST", "/login.php");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(bodyOf(r).find("Invalid username or password."), std::string::npos);
  EXPECT_EQ(bodyOf(r).find("{{message}}"), std::string::npos);
  EXPECT_EQ(bodyOf(r).find("{{"), std::string::npos);
}

TEST_F(ShippedSite, LoginGetHasNoTokenLeft) {
  const http::Response r = handle("GET", "/login.php");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r).find("{{message}}"), std::string::npos);
  EXPECT_EQ(bodyOf(r).find("{{"), std::string::npos);
  EXPECT_EQ(bodyOf(r).find("Invalid username or password."), std::string::npos);
}

TEST_F(ShippedSite, NoDynamicPageLeaksATemplateToken) {
  for (const char* page : {"/login.php", "/contact.php", "/password-reset.php"}) {
    for (const char* method : {"GET", "POST"}) {
      const http::Response r = handle(method, page);
      EXPECT_EQ(r.status, 200) << method << " " << page;
      EXPECT_EQ(bodyOf(r).find("{{"), std::string::npos) << method << " " << page;
    }
  }
}

TEST_F(ShippedSite, PostRoutesServeTheirPages) {
  EXPECT_EQ(bodyOf(handle("POST", "/contact.php")), readFile(root_ + "/contact-sent.html"));
  EXPECT_EQ(bodyOf(handle("POST", "/password-reset.php")),
            readFile(root_ + "/password-reset-sent.html"));
  EXPECT_EQ(bodyOf(handle("POST", "/newsletter.php")), readFile(root_ + "/newsletter-sent.html"));
}

TEST_F(ShippedSite, PostToStaticHtmlGetsThePage) {
  const http::Response r = handle("POST", "/index.html");
  EXPECT_EQ(r.status, 200);  // Apache's default handler (measured)
  EXPECT_EQ(bodyOf(r), readFile(root_ + "/index.html"));
}

TEST_F(ShippedSite, OptionsAndUnknownMethod) {
  const http::Response o = handle("OPTIONS", "/");
  EXPECT_EQ(o.status, 200);
  EXPECT_EQ(header(o, "Content-Type"), "text/html");
  EXPECT_EQ(header(handle("PUT", "/"), "Allow"), header(o, "Allow"));
  EXPECT_EQ(handle("FOO", "/").status, 501);
  EXPECT_EQ(handle("GET", "/assets/").status, 403);
}

TEST_F(ShippedSite, ManifestIsNeverServed) {
  EXPECT_EQ(handle("GET", "/site.toml").status, 404);
  EXPECT_EQ(bodyOf(handle("GET", "/site.toml")).find("[[post]]"), std::string::npos);
}

}  // namespace
}  // namespace drosera::sensor
