// Unit tests for persona responses and error pages (src/http/response.h).
#include "http/response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drosera::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A serialised response taken apart again.
struct Parsed {
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    std::optional<std::string> found;
    for (const auto& [n, v] : headers) {
      if (n == name) {
        EXPECT_FALSE(found.has_value()) << "header sent twice: " << name;
        found = v;
      }
    }
    return found;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& h : headers) out.push_back(h.first);
    return out;
  }
};

// Splits `wire` strictly: CRLF line ends, "Name: value" headers, a blank line, the body.
Parsed split(const std::string& wire) {
  Parsed p;
  const size_t head_end = wire.find("\r\n\r\n");
  EXPECT_NE(head_end, std::string::npos) << wire;
  if (head_end == std::string::npos) return p;
  const std::string head = wire.substr(0, head_end + 2);
  p.body = wire.substr(head_end + 4);
  size_t pos = 0;
  bool first = true;
  while (pos < head.size()) {
    const size_t eol = head.find("\r\n", pos);
    const std::string line = head.substr(pos, eol - pos);
    EXPECT_EQ(line.find('\n'), std::string::npos) << "bare LF in head";
    EXPECT_EQ(line.find('\r'), std::string::npos) << "bare CR in head";
    pos = eol + 2;
    if (first) {
      p.status_line = line;
      first = false;
      continue;
    }
    const size_t colon = line.find(": ");
    EXPECT_NE(colon, std::string::npos) << line;
    if (colon == std::string::npos) continue;
    p.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  return p;
}

Response sampleResponse(int status = 200, std::string body = "<html>hello</html>") {
  Response r;
  r.status = status;
  r.headers = {
      {"Content-Type", "text/html; charset=UTF-8"}, {"Last-Modified", "x"}, {"ETag", "\"abc\""}};
  r.body = std::move(body);
  return r;
}

const std::vector<std::string> kPersonas = {"apache", "nginx", "iis"};

bool isImfFixdate(const std::string& s) {
  static const std::regex kDate(
      "(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
      "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT");
  return std::regex_match(s, kDate);
}

// ---------------------------------------------------------------------------------------------
// serialize()

TEST(SerializeTest, EveryPersonaSendsAValidResponse) {
  for (const std::string& name : kPersonas) {
    const Persona persona = makePersona(name, "");
    for (const bool keep_alive : {true, false}) {
      for (const int status : {200, 404, 400, 500}) {
        const Response r = sampleResponse(status);
        const std::time_t before = std::time(nullptr);
        const Parsed p = split(serialize(persona, r, keep_alive, 5, 99, false, true));
        const std::time_t after = std::time(nullptr);
        SCOPED_TRACE(name + (keep_alive ? " keep-alive " : " close ") + std::to_string(status));

        EXPECT_EQ(p.status_line,
                  "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(persona, status));
        EXPECT_EQ(p.header("Content-Length"), std::to_string(r.body.size()));
        EXPECT_EQ(p.body, r.body);
        EXPECT_EQ(p.header("Server"), persona.server_header);
        EXPECT_EQ(p.header("Content-Type"), "text/html; charset=UTF-8");
        EXPECT_EQ(p.header("ETag"), "\"abc\"");
        EXPECT_EQ(p.header("Last-Modified"), "x");

        const std::optional<std::string> date = p.header("Date");
        ASSERT_TRUE(date.has_value());
        EXPECT_TRUE(isImfFixdate(*date)) << *date;
        bool now = false;
        for (std::time_t t = before; t <= after; ++t) now = now || *date == httpDate(t);
        EXPECT_TRUE(now) << *date;
      }
    }
  }
}

TEST(SerializeTest, ServerHeaderOfEachPersona) {
  EXPECT_EQ(split(serialize(makePersona("apache", ""), sampleResponse(), true, 5, 100, false, true))
                .header("Server"),
            "Apache/2.4.62 (Debian)");
  EXPECT_EQ(split(serialize(makePersona("nginx", ""), sampleResponse(), true, 5, 100, false, true))
                .header("Server"),
            "nginx/1.22.1");
  const Parsed iis =
      split(serialize(makePersona("iis", ""), sampleResponse(), true, 5, 100, false, true));
  EXPECT_EQ(iis.header("Server"), "Microsoft-IIS/10.0");
  EXPECT_EQ(iis.header("X-Powered-By"), "ASP.NET");
  EXPECT_EQ(
      split(serialize(makePersona("nginx", "nginx"), sampleResponse(), true, 5, 100, false, true))
          .header("Server"),
      "nginx");
}

TEST(SerializeTest, ApacheAnnouncesKeepAliveOnlyToClientsThatAskedForIt) {
  // As ap_set_keepalive(): an HTTP/1.1 client that did not send "Connection: keep-alive" keeps
  // the connection without either header (curl's first request to a real Apache).
  const Persona apache = makePersona("apache", "");
  const Parsed quiet = split(serialize(apache, sampleResponse(), true, 5, 100, false, false));
  EXPECT_EQ(quiet.header("Keep-Alive"), std::nullopt);
  EXPECT_EQ(quiet.header("Connection"), std::nullopt);
  const Parsed asked = split(serialize(apache, sampleResponse(), true, 5, 100, false, true));
  EXPECT_EQ(asked.header("Keep-Alive"), "timeout=5, max=100");
  const Parsed close = split(serialize(apache, sampleResponse(), false, 5, 1, false, false));
  EXPECT_EQ(close.header("Connection"), "close");
}

TEST(SerializeTest, ApacheConnectionHeaders) {
  const Persona apache = makePersona("apache", "");
  const Parsed keep = split(serialize(apache, sampleResponse(), true, 5, 99, false, true));
  EXPECT_EQ(keep.header("Keep-Alive"), "timeout=5, max=99");
  EXPECT_EQ(keep.header("Connection"), "Keep-Alive");

  const Parsed other = split(serialize(apache, sampleResponse(), true, 15, 3, false, true));
  EXPECT_EQ(other.header("Keep-Alive"), "timeout=15, max=3");

  const Parsed close = split(serialize(apache, sampleResponse(), false, 5, 99, false, true));
  EXPECT_EQ(close.header("Keep-Alive"), std::nullopt);
  EXPECT_EQ(close.header("Connection"), "close");
}

TEST(SerializeTest, NginxConnectionHeaders) {
  const Persona nginx = makePersona("nginx", "");
  const Parsed keep = split(serialize(nginx, sampleResponse(), true, 5, 99, false, true));
  EXPECT_EQ(keep.header("Connection"), "keep-alive");
  EXPECT_EQ(keep.header("Keep-Alive"), std::nullopt);
  const Parsed close = split(serialize(nginx, sampleResponse(), false, 5, 99, false, true));
  EXPECT_EQ(close.header("Connection"), "close");
}

TEST(SerializeTest, IisConnectionHeaders) {
  const Persona iis = makePersona("iis", "");
  const Parsed keep = split(serialize(iis, sampleResponse(), true, 5, 99, false, true));
  EXPECT_EQ(keep.header("Connection"), std::nullopt);  // HTTP/1.1 persists by default
  EXPECT_EQ(keep.header("Keep-Alive"), std::nullopt);
  const Parsed close = split(serialize(iis, sampleResponse(), false, 5, 99, false, true));
  EXPECT_EQ(close.header("Connection"), "close");
}

// Regression (found by this test, fixed): an HTTP/1.0 response without "Connection: keep-alive" ends the connection for the client
// (RFC 9112, 9.3), but the iis persona never sends it (response.cc, `if (!keep_alive)
// add("Connection", "close");`), so a kept-alive HTTP/1.0 connection is closed by the client
// while the server holds it open until the keep-alive timeout.
TEST(SerializeTest, Http10KeepAliveIsAnnouncedByEveryPersona) {
  for (const std::string& name : kPersonas) {
    const Parsed p =
        split(serialize(makePersona(name, ""), sampleResponse(), true, 5, 99, true, true));
    ASSERT_TRUE(p.header("Connection").has_value()) << name;
    EXPECT_TRUE(p.header("Connection") == "keep-alive" || p.header("Connection") == "Keep-Alive")
        << name;
  }
}

// Real Apache, nginx and IIS answer HTTP/1.0 requests with an HTTP/1.1 status line.
TEST(SerializeTest, Http10RequestsGetAnHttp11StatusLine) {
  for (const std::string& name : kPersonas) {
    const Parsed p =
        split(serialize(makePersona(name, ""), sampleResponse(404), false, 5, 1, true, true));
    EXPECT_EQ(p.status_line, "HTTP/1.1 404 Not Found") << name;
  }
}

TEST(SerializeTest, OmitBodyKeepsContentLengthButDropsTheBody) {
  for (const std::string& name : kPersonas) {
    Response r = sampleResponse(200, std::string(1234, 'b'));
    r.omit_body = true;
    const std::string wire = serialize(makePersona(name, ""), r, true, 5, 99, false, true);
    const Parsed p = split(wire);
    EXPECT_EQ(p.header("Content-Length"), "1234") << name;
    EXPECT_EQ(p.body, "") << name;
    EXPECT_TRUE(wire.ends_with("\r\n\r\n")) << name;
  }
}

TEST(SerializeTest, EmptyBodyHasContentLengthZero) {
  for (const std::string& name : kPersonas) {
    const Parsed p =
        split(serialize(makePersona(name, ""), sampleResponse(200, ""), true, 5, 9, false, true));
    EXPECT_EQ(p.header("Content-Length"), "0") << name;
    EXPECT_EQ(p.body, "");
  }
}

TEST(SerializeTest, NoContentLengthFor204And304) {
  for (const std::string& name : kPersonas) {
    for (int status : {204, 304}) {
      Response r;
      r.status = status;
      const Parsed p = split(serialize(makePersona(name, ""), r, true, 5, 9, false, true));
      EXPECT_EQ(p.header("Content-Length"), std::nullopt) << name << " " << status;
      EXPECT_EQ(p.body, "");
    }
  }
}

TEST(SerializeTest, BinaryBodyIsSentVerbatim) {
  const std::string body("\0\r\n\r\n\xff", 6);
  const Parsed p = split(
      serialize(makePersona("nginx", ""), sampleResponse(200, body), true, 5, 9, false, true));
  EXPECT_EQ(p.header("Content-Length"), "6");
  EXPECT_EQ(p.body, body);
}

// Header order is part of what makes a persona look real.
TEST(SerializeTest, HeaderOrderOfEachPersona) {
  const Parsed apache =
      split(serialize(makePersona("apache", ""), sampleResponse(), true, 5, 99, false, true));
  EXPECT_THAT(apache.names(),
              ElementsAre("Date", "Server", "Last-Modified", "ETag", "Content-Length", "Keep-Alive",
                          "Connection", "Content-Type"));
  const Parsed nginx =
      split(serialize(makePersona("nginx", ""), sampleResponse(), true, 5, 99, false, true));
  EXPECT_THAT(nginx.names(), ElementsAre("Server", "Date", "Content-Type", "Content-Length",
                                         "Last-Modified", "Connection", "ETag"));
  const Parsed iis =
      split(serialize(makePersona("iis", ""), sampleResponse(), false, 5, 99, false, true));
  EXPECT_THAT(iis.names(), ElementsAre("Content-Type", "Last-Modified", "ETag", "Server",
                                       "X-Powered-By", "Date", "Connection", "Content-Length"));
}

// nginx 1.22's header filter writes Last-Modified and Location before Connection, then the
// headers kept in a list (ETag, Accept-Ranges, ...), as a real one sends them (measured on
// Debian: a static file, its 304, a 301 to a folder, a 404).
TEST(SerializeTest, NginxWritesConnectionBetweenItsOwnHeadersAndTheListedOnes) {
  const Persona nginx = makePersona("nginx", "");
  Response file;
  file.headers = {{"Last-Modified", "Sat, 01 Mar 2025 10:00:00 GMT"},
                  {"ETag", "\"67c2daa0-6\""},
                  {"Accept-Ranges", "bytes"},
                  {"Content-Type", "text/html"}};
  file.body = "hello\n";
  EXPECT_THAT(split(serialize(nginx, file, true, 5, 99, false, true)).names(),
              ElementsAre("Server", "Date", "Content-Type", "Content-Length", "Last-Modified",
                          "Connection", "ETag", "Accept-Ranges"));
  file.omit_body = true;  // HEAD
  EXPECT_THAT(split(serialize(nginx, file, false, 5, 99, false, true)).names(),
              ElementsAre("Server", "Date", "Content-Type", "Content-Length", "Last-Modified",
                          "Connection", "ETag", "Accept-Ranges"));

  Response not_modified;
  not_modified.status = 304;
  not_modified.headers = {{"Last-Modified", "Sat, 01 Mar 2025 10:00:00 GMT"},
                          {"ETag", "\"67c2daa0-6\""}};
  EXPECT_THAT(split(serialize(nginx, not_modified, true, 5, 99, false, true)).names(),
              ElementsAre("Server", "Date", "Last-Modified", "Connection", "ETag"));

  Response moved;
  moved.status = 301;
  moved.headers = {{"Location", "http://localhost:8080/admin/"}, {"Content-Type", "text/html"}};
  moved.body = "<html></html>";
  EXPECT_THAT(
      split(serialize(nginx, moved, false, 5, 99, false, true)).names(),
      ElementsAre("Server", "Date", "Content-Type", "Content-Length", "Location", "Connection"));

  Response missing;
  missing.status = 404;
  missing.headers = {{"Content-Type", "text/html"}};
  missing.body = "<html></html>";
  EXPECT_THAT(split(serialize(nginx, missing, false, 5, 99, false, true)).names(),
              ElementsAre("Server", "Date", "Content-Type", "Content-Length", "Connection"));
}

// Measured on Debian's Apache 2.4: a file's Vary (mod_deflate) follows its Content-Length.
TEST(SerializeTest, ApacheSendsAFilesVaryAfterItsContentLength) {
  const Persona apache = makePersona("apache", "");
  Response file;
  file.headers = {{"Last-Modified", "Tue, 01 Dec 2026 05:49:08 GMT"},
                  {"ETag", "\"1b62-6618c15ba73de\""},
                  {"Accept-Ranges", "bytes"},
                  {"Vary", "Accept-Encoding"},
                  {"Content-Type", "text/html"}};
  file.body = std::string(7010, 'x');
  EXPECT_THAT(split(serialize(apache, file, true, 5, 100, false, true)).names(),
              ElementsAre("Date", "Server", "Last-Modified", "ETag", "Accept-Ranges",
                          "Content-Length", "Vary", "Keep-Alive", "Connection", "Content-Type"));
  EXPECT_THAT(split(serialize(apache, file, false, 5, 100, false, true)).names(),
              ElementsAre("Date", "Server", "Last-Modified", "ETag", "Accept-Ranges",
                          "Content-Length", "Vary", "Connection", "Content-Type"));
  // A page a script made (no validators): Vary before the length the filters found.
  Response page;
  page.headers = {{"Cache-Control", "no-store"},
                  {"Vary", "Accept-Encoding"},
                  {"Content-Type", "text/html; charset=UTF-8"}};
  page.body = std::string(500, 'x');
  EXPECT_THAT(split(serialize(apache, page, false, 5, 100, false, true)).names(),
              ElementsAre("Date", "Server", "Cache-Control", "Vary", "Content-Length", "Connection",
                          "Content-Type"));
}

TEST(SerializeTest, ContentTypeMatchedCaseInsensitivelyAndSentOnce) {
  for (const std::string& name : kPersonas) {
    Response r;
    r.headers = {{"content-type", "text/plain"}};
    r.body = "x";
    const std::string wire = serialize(makePersona(name, ""), r, true, 5, 9, false, true);
    const Parsed p = split(wire);
    EXPECT_EQ(p.header("Content-Type"), "text/plain") << name;
    EXPECT_EQ(p.header("content-type"), std::nullopt) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// makePersona(), errorPage(), reasonPhrase(), httpDate(), htmlEscape()

TEST(PersonaTest, BuiltInsAndOverride) {
  EXPECT_EQ(makePersona("nginx", "").name, "nginx");
  EXPECT_EQ(makePersona("iis", "").name, "iis");
  EXPECT_EQ(makePersona("apache", "").server_header, "Apache/2.4.62 (Debian)");
  const Persona unknown = makePersona("lighttpd", "");
  EXPECT_EQ(unknown.name, "apache");
  EXPECT_EQ(unknown.server_header, "Apache/2.4.62 (Debian)");
  const Persona custom = makePersona("apache", "Apache");
  EXPECT_EQ(custom.name, "apache");
  EXPECT_EQ(custom.server_header, "Apache");
}

TEST(ErrorPageTest, ApacheShowsTheEscapedHostAndPort) {
  const std::string page = errorPage(makePersona("apache", ""), 404, "<script>", 8080);
  EXPECT_THAT(page, HasSubstr("<title>404 Not Found</title>"));
  EXPECT_THAT(page, HasSubstr("<h1>Not Found</h1>"));
  EXPECT_THAT(page, HasSubstr("<address>Apache/2.4.62 (Debian) Server at &lt;script&gt; Port 8080"
                              "</address>"));
  EXPECT_THAT(page, Not(HasSubstr("<script>")));
}

TEST(ErrorPageTest, HostIsEscapedInEveryPersonaAndStatus) {
  const std::string host = "<script>alert('x')</script>\"&\r\n";
  for (const std::string& name : kPersonas) {
    for (int status : {400, 403, 404, 405, 408, 413, 414, 431, 500, 501, 503, 505}) {
      const std::string page = errorPage(makePersona(name, ""), status, host, 80);
      EXPECT_THAT(page, Not(HasSubstr("<script>"))) << name << " " << status;
      EXPECT_THAT(page, Not(HasSubstr("alert('x')"))) << name << " " << status;
      // (a head too large: the page of the 400 each server sends)
      EXPECT_THAT(page, HasSubstr(std::to_string(status == 431 ? 400 : status)))
          << name << " " << status;
      EXPECT_FALSE(page.empty());
    }
  }
  const std::string apache = errorPage(makePersona("apache", ""), 400, host, 80);
  EXPECT_THAT(apache, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
                                " Port 80"));
}

TEST(ErrorPageTest, ServerHeaderIsEscapedToo) {
  const Persona evil = makePersona("apache", "<b>Evil</b>");
  EXPECT_THAT(errorPage(evil, 404, "h", 80), HasSubstr("&lt;b&gt;Evil&lt;/b&gt; Server at h"));
  const Persona nginx = makePersona("nginx", "<i>");
  EXPECT_THAT(errorPage(nginx, 404, "h", 80), HasSubstr("<center>&lt;i&gt;</center>"));
}

TEST(ErrorPageTest, NginxPages) {
  const Persona nginx = makePersona("nginx", "");
  const std::string page = errorPage(nginx, 404, "ignored", 80);
  EXPECT_EQ(page,
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
            "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
            "</body>\r\n</html>\r\n");
  // Measured (a head too large), the status line being a 400's.
  EXPECT_EQ(errorPage(nginx, 431, "h", 80),
            "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
            "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or "
            "Cookie Too Large</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n"
            "</html>\r\n");
  EXPECT_THAT(errorPage(nginx, 413, "h", 80),
              HasSubstr("<title>413 Request Entity Too Large</title>"));
}

TEST(ErrorPageTest, IisPages) {
  const Persona iis = makePersona("iis", "");
  EXPECT_THAT(errorPage(iis, 404, "h", 80), HasSubstr("<title>404 - File or directory not found."));
  const std::string bad = errorPage(iis, 400, "h", 80);
  EXPECT_THAT(bad, HasSubstr("<TITLE>Bad Request</TITLE>"));
  EXPECT_THAT(bad, HasSubstr("HTTP Error 400."));
}

TEST(ErrorPageTest, ApacheExplainsEachStatus) {
  const Persona apache = makePersona("apache", "");
  EXPECT_THAT(errorPage(apache, 400, "h", 80), HasSubstr("could not understand"));
  EXPECT_THAT(errorPage(apache, 414, "h", 80), HasSubstr("length exceeds the capacity"));
  // A head too large: sent as a 400, its page naming the cause (measured).
  EXPECT_THAT(errorPage(apache, 431, "h", 80),
              HasSubstr("<title>400 Bad Request</title>"));
  EXPECT_THAT(errorPage(apache, 431, "h", 80),
              HasSubstr("understand.<br />\nSize of a request header field exceeds server "
                        "limit.</p>\n"));
  EXPECT_THAT(errorPage(apache, 431, "h", 80, "count"),
              HasSubstr("understand.<br />\nThe number of request header fields exceeds this "
                        "server's limit.</p>\n"));
  EXPECT_THAT(errorPage(apache, 505, "h", 80), HasSubstr("HTTP version is not supported"));
}

TEST(ReasonPhraseTest, StatusesTheParserProduces) {
  EXPECT_STREQ(reasonPhrase(400), "Bad Request");
  EXPECT_STREQ(reasonPhrase(404), "Not Found");
  EXPECT_STREQ(reasonPhrase(413), "Request Entity Too Large");
  EXPECT_STREQ(reasonPhrase(414), "Request-URI Too Long");
  // nginx's own (measured: a long URI, OPTIONS on a file).
  const Persona nginx = makePersona("nginx", "");
  EXPECT_STREQ(reasonPhrase(nginx, 414), "Request-URI Too Large");
  EXPECT_STREQ(reasonPhrase(nginx, 405), "Not Allowed");
  EXPECT_STREQ(reasonPhrase(nginx, 404), "Not Found");
  EXPECT_STREQ(reasonPhrase(makePersona("apache", ""), 405), "Method Not Allowed");
  EXPECT_EQ(errorPage(nginx, 405, "h", 80),
            "<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n<center><h1>405 "
            "Not Allowed</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n"
            "</html>\r\n");
  EXPECT_STREQ(reasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(reasonPhrase(501), "Not Implemented");
  EXPECT_STREQ(reasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_STREQ(reasonPhrase(200), "OK");
  EXPECT_STREQ(reasonPhrase(100), "Continue");
  EXPECT_STREQ(reasonPhrase(599), "Unknown");
}

TEST(HttpDateTest, FixedInstants) {
  EXPECT_EQ(httpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(httpDate(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(httpDate(1796023488), "Mon, 30 Nov 2026 07:24:48 GMT");
  EXPECT_EQ(httpDate(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HtmlEscapeTest, EscapesMarkupAndDropsControlBytes) {
  EXPECT_EQ(htmlEscape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
  EXPECT_EQ(htmlEscape("a\r\nb\tc\x01"), "abc");
  EXPECT_EQ(htmlEscape("plain.example:8080"), "plain.example:8080");
  EXPECT_EQ(htmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes through
  EXPECT_EQ(htmlEscape(""), "");
}

// Host values the real servers take (200) or refuse (400), measured on loopback: Apache 2.4
// (HttpProtocolOptions Strict, its default) and nginx 1.22.
TEST(Personas, HostValuesAsTheRealServersJudgeThem) {
  struct Case {
    const char* host;
    bool apache, nginx;
  };
  const Case cases[] = {
      {"a", true, true},       {"a b", false, false},     {"a/b", false, false},
      {"a..b", false, false},  {".a", true, true},        {"a.", true, true},
      {"a:", false, true},     {"a:99999", false, true},  {"a@b", false, true},
      {"a\\b", false, true},   {"a%2fb", false, true},    {"a:80:80", false, true},
      {"-a", true, true},      {"a_b", true, true},       {"a~b", false, true},
      {"a!b", false, true},    {"a$b", false, true},      {"[::1]", true, true},
      {"[::1", false, true},   {"::1", false, false},     {"a:8x", false, true},
      {"1.2.3.4", true, true}, {"\xc3\xa9", false, true}, {"a\tb", false, false},
      {"", false, false},      {"a;b", false, true},      {"a,b", false, true},
      {"a*b", false, true},    {"a'b", false, true},      {"a\"b", false, true},
      {"a(b", false, true},    {"a+b", false, true},      {"a=b", false, true},
      {"a&b", false, true},    {"A", true, true},         {"a:0", false, true},
      {"a:65535", true, true}, {"a:65536", false, true},  {"a:080", true, true},
  };
  const Persona apache = makePersona("apache", ""), nginx = makePersona("nginx", "");
  for (const Case& c : cases) {
    EXPECT_EQ(hostAccepted(apache, c.host), c.apache) << "apache: " << c.host;
    EXPECT_EQ(hostAccepted(nginx, c.host), c.nginx) << "nginx: " << c.host;
  }
  EXPECT_TRUE(hostAccepted(makePersona("iis", ""), "a b"));  // not measured: left alone
}

// What Apache's footers name (measured with ServerSignature On): the Host's name, IPv6 without
// brackets, its port; our address and the connection's port for a refused or missing Host.
TEST(Personas, PageHostAndPort) {
  const Persona apache = makePersona("apache", "");
  auto req = [](std::vector<core::Header> headers, std::string target = "/nope") {
    core::HttpRequestData r;
    r.method = "GET";
    r.target = std::move(target);
    r.version = "1.1";
    r.headers = std::move(headers);
    return r;
  };
  EXPECT_EQ(pageHost(apache, req({{"Host", "a:1234"}}), "10.0.0.1"), "a");
  EXPECT_EQ(pagePort(apache, req({{"Host", "a:1234"}}), 80), 1234);
  EXPECT_EQ(pageHost(apache, req({{"Host", "[::1]:99"}}), "10.0.0.1"), "::1");
  EXPECT_EQ(pagePort(apache, req({{"Host", "[::1]:99"}}), 80), 99);
  EXPECT_EQ(pageHost(apache, req({{"Host", "A.Example."}}), "10.0.0.1"), "a.example");
  EXPECT_EQ(pageHost(apache, req({{"Host", "a/b"}}), "10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(pagePort(apache, req({{"Host", "x:99999"}}), 8080), 8080);
  EXPECT_EQ(pageHost(apache, req({}), "10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(pageHost(apache, req({{"Host", "h"}}, "http://Other:81/x"), "10.0.0.1"), "other");
  EXPECT_EQ(authorityOf(req({{"Host", "h"}}, "http://Other:81/x")).port, 81);
}

}  // namespace
}  // namespace drosera::http
