// The dashboard's static assets (collector/dashboard.h): what is served from web/, the security
// headers on every answer, conditional requests, read-only methods, no path out of the folder;
// and the shipped web/ folder itself: no inline script or style, no HTML-parsing sink.
#include "collector/dashboard.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "http/parser.h"

namespace drosera::collector {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::path(::testing::TempDir()) /
            ("drosera-dashboard-" + std::to_string(::getpid()) + "-" + std::to_string(++n_));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  void write(const std::string& rel, const std::string& body) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << body;
  }
  std::string str() const { return path_.string(); }

 private:
  static inline int n_ = 0;
  fs::path path_;
};

const std::string* header(const http::Response& r, const std::string& name) {
  return http::findHeader(r.headers, name);
}

std::string bodyOf(const http::Response& r) {
  return r.static_body.empty() ? r.body : std::string(r.static_body);
}

void expectSecurityHeaders(const http::Response& r) {
  ASSERT_NE(header(r, "Content-Security-Policy"), nullptr);
  EXPECT_EQ(*header(r, "Content-Security-Policy"), kDashboardCsp);
  EXPECT_EQ(*header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(*header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(*header(r, "X-Frame-Options"), "DENY");
}

TEST(Dashboard, CspIsStrict) {
  const std::string csp(kDashboardCsp);
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(csp.find("style-src 'self';"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);  // no unsafe-inline, no unsafe-eval
  EXPECT_EQ(csp.find('*'), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
}

TEST(Dashboard, ServesKnownFilesOnly) {
  TempDir d;
  d.write("index.html", "<!DOCTYPE html><title>t</title>");
  d.write("js/app.js", "export const x = 1;\n");
  d.write("css/a.css", "body{}");
  d.write(".secret.js", "no");
  d.write(".git/config", "no");
  d.write("node_modules/lib/index.js", "no");
  d.write("package.json", "{}");
  d.write("tool.sh", "#!/bin/sh");
  d.write("notes.md", "no");
  const Dashboard dash = Dashboard::load(d.str());
  EXPECT_EQ(dash.files(), 3u);
  const http::Response idx = dash.respond("GET", "/", {});
  EXPECT_EQ(idx.status, 200);
  EXPECT_EQ(bodyOf(idx), "<!DOCTYPE html><title>t</title>");
  EXPECT_EQ(*header(idx, "Content-Type"), "text/html; charset=utf-8");
  expectSecurityHeaders(idx);
  const http::Response js = dash.respond("GET", "/js/app.js", {});
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(*header(js, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(dash.respond("GET", "/css/a.css", {}).status, 200);
  for (const char* p : {"/.secret.js", "/.git/config", "/node_modules/lib/index.js",
                        "/package.json", "/tool.sh", "/notes.md", "/nope.html"}) {
    const http::Response r = dash.respond("GET", p, {});
    EXPECT_EQ(r.status, 404) << p;
    expectSecurityHeaders(r);
  }
}

TEST(Dashboard, NoPathLeavesTheFolder) {
  TempDir outside;
  outside.write("web/index.html", "in");
  outside.write("secret.html", "out");
  const Dashboard dash = Dashboard::load(outside.str() + "/web");
  for (const char* p : {"/../secret.html", "/..%2fsecret.html", "/%2e%2e/secret.html",
                        "//secret.html", "/./index.html", "/index.html/", "/INDEX.HTML",
                        "/index.html%00", "index.html"}) {
    EXPECT_EQ(dash.respond("GET", p, {}).status, 404) << p;
  }
  EXPECT_EQ(dash.respond("GET", "/index.html", {}).status, 200);
}

TEST(Dashboard, ConditionalRequests) {
  TempDir d;
  d.write("index.html", "hello");
  const Dashboard dash = Dashboard::load(d.str());
  const http::Response first = dash.respond("GET", "/index.html", {});
  ASSERT_NE(header(first, "ETag"), nullptr);
  const std::string etag = *header(first, "ETag");
  EXPECT_EQ(*header(first, "Cache-Control"), "no-cache");
  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const http::Response r = dash.respond("GET", "/index.html", {{"If-None-Match", inm}});
    EXPECT_EQ(r.status, 304) << inm;
    EXPECT_TRUE(bodyOf(r).empty());
    expectSecurityHeaders(r);
  }
  EXPECT_EQ(dash.respond("GET", "/index.html", {{"If-None-Match", "\"other\""}}).status, 200);
  // Another body, another tag.
  TempDir d2;
  d2.write("index.html", "hellp");
  EXPECT_NE(*header(Dashboard::load(d2.str()).respond("GET", "/", {}), "ETag"), etag);
}

TEST(Dashboard, ReadOnly) {
  TempDir d;
  d.write("index.html", "x");
  const Dashboard dash = Dashboard::load(d.str());
  EXPECT_EQ(dash.respond("HEAD", "/", {}).status, 200);
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"}) {
    const http::Response r = dash.respond(m, "/", {});
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(*header(r, "Allow"), "GET, HEAD");
    expectSecurityHeaders(r);
  }
}

TEST(Dashboard, MissingFolderSaysWhere) {
  const Dashboard dash = Dashboard::load("/nonexistent/drosera-web");
  EXPECT_EQ(dash.files(), 0u);
  const http::Response r = dash.respond("GET", "/", {});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(bodyOf(r).find("/nonexistent/drosera-web"), std::string::npos);
  EXPECT_NE(bodyOf(r).find("DROSERA_SHARE_DIR"), std::string::npos);
}

TEST(Dashboard, Limits) {
  TempDir d;
  d.write("a.js", std::string(100, 'a'));
  d.write("b.js", std::string(5000, 'b'));  // over max_file_bytes
  d.write("c.js", std::string(100, 'c'));
  d.write("d.js", std::string(100, 'd'));
  Dashboard::Limits limits;
  limits.max_file_bytes = 1000;
  limits.max_files = 2;
  const Dashboard dash = Dashboard::load(d.str(), limits);
  EXPECT_EQ(dash.files(), 2u);
  EXPECT_EQ(dash.respond("GET", "/a.js", {}).status, 200);
  EXPECT_EQ(dash.respond("GET", "/b.js", {}).status, 404);
  EXPECT_EQ(dash.respond("GET", "/c.js", {}).status, 200);
  EXPECT_EQ(dash.respond("GET", "/d.js", {}).status, 404);
  limits = {};
  limits.max_total_bytes = 250;
  EXPECT_EQ(Dashboard::load(d.str(), limits).files(), 2u);
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The shipped assets: everything the CSP needs (no inline script, style or handler) and the
// rule that data only ever becomes text (no HTML-parsing sink in the scripts).
TEST(Dashboard, ShippedAssetsNeedNoInlineCode) {
  const fs::path web = fs::path(DROSERA_SOURCE_DIR) / "web";
  const Dashboard dash = Dashboard::load(web.string());
  ASSERT_GT(dash.files(), 5u);
  EXPECT_EQ(dash.respond("GET", "/", {}).status, 200);
  EXPECT_EQ(dash.respond("GET", "/js/app.js", {}).status, 200);
  const std::string html = readFile(web / "index.html");
  EXPECT_FALSE(std::regex_search(html, std::regex("<script(?![^>]*\\bsrc=)[^>]*>")));
  EXPECT_FALSE(std::regex_search(html, std::regex("<style", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+=", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex("(src|href)=\"(https?:)?//")));
  const std::regex sink(
      "innerHTML|outerHTML|insertAdjacentHTML|document\\.write|\\beval\\s*\\(|new Function|"
      "srcdoc|DOMParser|createContextualFragment|setAttribute\\(\\s*['\"]on");
  size_t scripts = 0;
  for (const auto& f : fs::recursive_directory_iterator(web)) {
    if (f.path().extension() != ".js") continue;
    ++scripts;
    // Every module is preloaded by index.html (no waterfall of imports), app.js is the entry.
    const std::string rel = f.path().lexically_relative(web).generic_string();
    if (rel != "js/app.js") {
      EXPECT_NE(html.find("<link rel=\"modulepreload\" href=\"" + rel + "\">"), std::string::npos)
          << rel;
    }
    std::string code = readFile(f.path());
    code = std::regex_replace(code, std::regex("//[^\\n]*"), "");  // comments may name them
    EXPECT_FALSE(std::regex_search(code, sink)) << f.path();
  }
  EXPECT_GE(scripts, 8u);
}

}  // namespace
}  // namespace drosera::collector
