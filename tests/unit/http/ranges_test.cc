// Unit tests for Range requests as Apache and nginx answer them (src/http/ranges.h). The
// expected answers are what Apache 2.4 and nginx 1.22 (Debian packages) sent on loopback;
// tests/integration/test_ranges.py compares drosera with both for thousands more.
#include "http/ranges.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "http/parser.h"

namespace drosera::http {
namespace ranges_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P2(Bytes, first, last, "") { return arg.first == first && arg.last == last; }

struct Parsed {
  RangeAnswer answer;
  std::vector<ByteRange> ranges;
};

Parsed apache(std::string_view v, uint64_t length = 10) {
  Parsed p;
  p.answer = apacheRanges(v, length, &p.ranges);
  return p;
}

Parsed nginx(std::string_view v, uint64_t length = 10) {
  Parsed p;
  p.answer = nginxRanges(v, length, &p.ranges);
  return p;
}

// Each row: a Range value for a 10-byte file, then what each server answered (W: 200 whole,
// U: 416, else the ranges it sent).
TEST(Ranges, BothServersOnTheMeasuredValues) {
  struct Row {
    const char* value;
    const char* apache;
    const char* nginx;
  };
  const Row rows[] = {
      {"bytes=0-3", "0-3", "0-3"},
      {"bytes=5-", "5-9", "5-9"},
      {"bytes=-3", "7-9", "7-9"},
      {"bytes=0-0,5-6", "0-0,5-6", "0-0,5-6"},
      {"bytes=0-5,3-8", "0-8", "W"},  // Apache merges; nginx: more than the file
      {"bytes=20-", "U", "U"},
      {"bytes=abc", "W", "U"},
      {"bytes=5-2", "W", "U"},
      {"items=0-3", "W", "W"},
      {"bytes = 0-3", "W", "W"},
      {"bytes=0-3 , 6-7", "W", "0-3,6-7"},  // nginx skips spaces, Apache takes none
      {"BYTES=0-3", "0-3", "0-3"},
      {"bytes=0-3,", "0-3", "U"},
      {"bytes=-0", "W", "U"},
      {"bytes=0-100", "0-9", "0-9"},
      {"bytes=3-1,5-6", "W", "5-6"},
      {"bytes=5-6,0-1", "5-6,0-1", "5-6,0-1"},
      {"bytes=0-1,20-30", "0-1", "0-1"},
      {"bytes=-20", "0-9", "0-9"},
      {"bytes=2-3,0-", "0-9", "W"},  // Apache: "0-" is the whole file whatever else
      {"bytes=0-,2-3", "0-9", "W"},
      {"bytes=0-1,2-3", "0-3", "0-1,2-3"},  // Apache joins adjacent ranges
      {"bytes=4-5,0-2,3-3", "4-5,0-3", "4-5,0-2,3-3"},
      {"bytes=0-1,,4-5", "0-1,4-5", "U"},
      {"bytes=,0-1", "W", "U"},
      {"bytes=", "W", "W"},  // nginx: 7 bytes at least
      {"bytes=+1-2", "W", "U"},
      {"bytes=99999999999999999999-", "W", "U"},
  };
  auto show = [](const Parsed& p) {
    if (p.answer == RangeAnswer::kWhole) return std::string("W");
    if (p.answer == RangeAnswer::kUnsatisfiable) return std::string("U");
    std::string s;
    for (const auto& b : p.ranges) {
      if (!s.empty()) s += ",";
      s += std::to_string(b.first) + "-" + std::to_string(b.last);
    }
    return s;
  };
  for (const Row& r : rows) {
    EXPECT_EQ(show(apache(r.value)), r.apache) << r.value;
    EXPECT_EQ(show(nginx(r.value)), r.nginx) << r.value;
  }
}

TEST(Ranges, ApacheLimitsAndEmptyBodies) {
  auto separate = [](int n) {  // n ranges of one byte, none adjacent
    std::string v = "bytes=";
    for (int i = 0; i < n; ++i) v += std::to_string(2 * i) + "-" + std::to_string(2 * i) + ",";
    return v;
  };
  const std::string two_hundred = separate(200), two_hundred_one = separate(201);
  EXPECT_EQ(apache(two_hundred, 1000).ranges.size(), 200u);
  EXPECT_EQ(apache(two_hundred_one, 1000).answer, RangeAnswer::kWhole);  // MaxRanges 200
  // MaxRangeOverlaps and MaxRangeReversals: 20 (measured: 21 items of "0-0" are a range and
  // 20 overlaps, 206; 22 are 200).
  auto repeated = [](int n, auto item) {
    std::string v = "bytes=";
    for (int i = 0; i < n; ++i) v += item(i) + ",";
    return v;
  };
  auto zero = [](int) { return std::string("0-0"); };
  EXPECT_EQ(apache(repeated(21, zero), 1000).answer, RangeAnswer::kPartial);
  EXPECT_EQ(apache(repeated(22, zero), 1000).answer, RangeAnswer::kWhole);
  auto down = [](int top) {  // top, top-1, ... 0: each one a reversal
    return [top](int i) { return std::to_string(top - i) + "-" + std::to_string(top - i); };
  };
  EXPECT_EQ(apache(repeated(21, down(20)), 1000).answer, RangeAnswer::kPartial);
  EXPECT_EQ(apache(repeated(22, down(21)), 1000).answer, RangeAnswer::kWhole);
  // An empty body: Apache leaves it alone; nginx sends it whole for a range from 0, else 416.
  EXPECT_EQ(apache("bytes=0-5", 0).answer, RangeAnswer::kWhole);
  EXPECT_EQ(nginx("bytes=0-5", 0).answer, RangeAnswer::kWhole);
  EXPECT_EQ(nginx("bytes=5-6", 0).answer, RangeAnswer::kUnsatisfiable);
  // A NUL ends the value for both.
  EXPECT_THAT(apache(std::string_view("bytes=0-1\0,4-5", 14)).ranges, ElementsAre(Bytes(0u, 1u)));
  EXPECT_THAT(nginx(std::string_view("bytes=0-1\0,4-5", 14)).ranges, ElementsAre(Bytes(0u, 1u)));
}

core::HttpRequestData get(std::vector<core::Header> headers, std::string version = "1.1") {
  core::HttpRequestData q;
  q.method = "GET";
  q.target = "/f.txt";
  q.version = std::move(version);
  q.headers = std::move(headers);
  return q;
}

const std::string kFile = "0123456789";

Response file() {
  Response r;
  r.status = 200;
  r.static_body = kFile;
  r.headers = {{"Last-Modified", "Tue, 01 Dec 2026 16:28:52 GMT"},
               {"ETag", "\"a-6619505a3e73b\""},
               {"Accept-Ranges", "bytes"},
               {"Content-Type", "text/plain"}};
  return r;
}

const Persona kApache = makePersona("apache", "");
const Persona kNginx = makePersona("nginx", "");
// Two minutes after the file's Last-Modified.
const RangeContext kCtx{"localhost", 80, 1796142532 + 120};

std::string wire(const Persona& p, const Response& r, bool keep_alive = false,
                 bool http10 = false) {
  std::string out = serialize(p, r, keep_alive, 5, 100, http10, false);
  out.replace(out.find("Date: ") + 6, 29, "X");
  if (r.omit_body) return out;
  return out + std::string(r.static_body);
}

TEST(Ranges, OneRangeAsEachServerSendsIt) {
  Response a = file();
  applyRanges(kApache, get({{"Range", "bytes=0-3"}}), kCtx, &a);
  EXPECT_EQ(wire(kApache, a),
            "HTTP/1.1 206 Partial Content\r\nDate: X\r\nServer: Apache/2.4.62 (Debian)\r\n"
            "Last-Modified: Tue, 01 Dec 2026 16:28:52 GMT\r\nETag: \"a-6619505a3e73b\"\r\n"
            "Accept-Ranges: bytes\r\nContent-Length: 4\r\nContent-Range: bytes 0-3/10\r\n"
            "Connection: close\r\nContent-Type: text/plain\r\n\r\n0123");
  EXPECT_EQ(a.static_body.data(), kFile.data());  // still the file's bytes, not a copy
  Response n = file();
  n.headers[1].value = "\"6b0ef5c4-a\"";
  applyRanges(kNginx, get({{"Range", "bytes=0-3"}}), kCtx, &n);
  EXPECT_EQ(wire(kNginx, n),
            "HTTP/1.1 206 Partial Content\r\nServer: nginx/1.22.1\r\nDate: X\r\n"
            "Content-Type: text/plain\r\nContent-Length: 4\r\n"
            "Last-Modified: Tue, 01 Dec 2026 16:28:52 GMT\r\nConnection: close\r\n"
            "ETag: \"6b0ef5c4-a\"\r\nContent-Range: bytes 0-3/10\r\n\r\n0123");
}

TEST(Ranges, MultipartBodies) {
  Response a = file();
  applyRanges(kApache, get({{"Range", "bytes=0-0,5-6"}}), kCtx, &a);
  const std::string* type = findHeader(a.headers, "Content-Type");
  ASSERT_NE(type, nullptr);
  const std::string boundary = type->substr(type->find('=') + 1);
  EXPECT_THAT(boundary, ::testing::MatchesRegex("[1-9a-f][0-9a-f]*"));
  EXPECT_EQ(a.body, "\r\n--" + boundary +
                        "\r\nContent-type: text/plain\r\nContent-range: bytes "
                        "0-0/10\r\n\r\n0\r\n--" +
                        boundary +
                        "\r\nContent-type: text/plain\r\n"
                        "Content-range: bytes 5-6/10\r\n\r\n56\r\n--" +
                        boundary + "--\r\n");
  EXPECT_TRUE(a.static_body.empty());
  EXPECT_NE(findHeader(a.headers, "Accept-Ranges"), nullptr);
  // nginx: its counter, 20 digits, one more per multipart answer.
  Response n1 = file(), n2 = file();
  applyRanges(kNginx, get({{"Range", "bytes=0-0,5-6"}}), kCtx, &n1);
  applyRanges(kNginx, get({{"Range", "bytes=0-0,5-6"}}), kCtx, &n2);
  const std::string t1 = *findHeader(n1.headers, "Content-Type");
  const std::string t2 = *findHeader(n2.headers, "Content-Type");
  ASSERT_THAT(t1, ::testing::MatchesRegex("multipart/byteranges; boundary=[0-9]{20}"));
  EXPECT_EQ(std::stoull(t2.substr(t2.find('=') + 1)), std::stoull(t1.substr(t1.find('=') + 1)) + 1);
  const std::string b = t1.substr(t1.find('=') + 1);
  EXPECT_EQ(n1.body, "\r\n--" + b +
                         "\r\nContent-Type: text/plain\r\nContent-Range: bytes "
                         "0-0/10\r\n\r\n0\r\n--" +
                         b +
                         "\r\nContent-Type: text/plain\r\n"
                         "Content-Range: bytes 5-6/10\r\n\r\n56\r\n--" +
                         b + "--\r\n");
  EXPECT_EQ(findHeader(n1.headers, "Accept-Ranges"), nullptr);
  EXPECT_THAT(wire(kNginx, n1), HasSubstr("Content-Length: 197\r\n"));  // as nginx sent
}

TEST(Ranges, ApacheSendsManyPartsChunkedOnePassPer32) {
  Response big;
  big.status = 200;
  const std::string body(100, 'x');
  big.body = body;
  big.headers = {{"ETag", "\"64-1\""}, {"Accept-Ranges", "bytes"}, {"Content-Type", "text/plain"}};
  // Adjacent ranges are one for Apache: every other byte instead.
  std::string value = "bytes=";
  for (int i = 0; i < 40; ++i) value += std::to_string(2 * i) + "-" + std::to_string(2 * i) + ",";
  Response r = big;
  applyRanges(kApache, get({{"Range", value}}), kCtx, &r);
  ASSERT_EQ(r.status, 206);
  EXPECT_TRUE(r.chunked);
  const std::string out = wire(kApache, r);
  EXPECT_THAT(out, HasSubstr("Connection: close\r\nTransfer-Encoding: chunked\r\n"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("Content-Length")));
  // Two chunks (parts 0-32, then 33-39 with the closing boundary), then the last, empty one.
  size_t chunks = 0;
  std::string_view rest(r.body);
  for (;;) {
    const size_t eol = rest.find("\r\n");
    const size_t n = std::stoul(std::string(rest.substr(0, eol)), nullptr, 16);
    if (n == 0) break;
    ++chunks;
    const std::string_view data = rest.substr(eol + 2, n);
    size_t parts = 0;
    for (size_t at = data.find("Content-range:"); at != std::string_view::npos;
         at = data.find("Content-range:", at + 1)) {
      ++parts;
    }
    EXPECT_EQ(parts, chunks == 1 ? 33u : 7u) << chunks;
    rest.remove_prefix(eol + 2 + n + 2);
  }
  EXPECT_EQ(chunks, 2u);
  EXPECT_EQ(rest, "0\r\n\r\n");
  // To an HTTP/1.0 client: no chunks, up to the close.
  Response old = big;
  applyRanges(kApache, get({{"Range", value}}, "1.0"), kCtx, &old);
  EXPECT_FALSE(old.chunked);
  EXPECT_TRUE(old.unknown_length);
  EXPECT_TRUE(old.close);
  const std::string out10 = wire(kApache, old, false, true);
  EXPECT_THAT(out10, ::testing::Not(HasSubstr("Content-Length")));
  EXPECT_THAT(out10, ::testing::Not(HasSubstr("Transfer-Encoding")));
  EXPECT_THAT(out10, ::testing::EndsWith("--\r\n"));
  // A HEAD keeps the connection (Apache's header_only), the 416 too.
  Response head = big;
  head.omit_body = true;
  applyRanges(kApache, get({{"Range", value}}, "1.0"), kCtx, &head);
  EXPECT_FALSE(head.close);
  Response head416 = big;
  head416.omit_body = true;
  applyRanges(kApache, get({{"Range", "bytes=500-"}}, "1.0"), kCtx, &head416);
  EXPECT_EQ(head416.status, 416);
  EXPECT_FALSE(head416.close);
  Response get416 = big;
  applyRanges(kApache, get({{"Range", "bytes=500-"}}, "1.0"), kCtx, &get416);
  EXPECT_TRUE(get416.close);
}

TEST(Ranges, NginxSendsTheFileWholeRatherThanThousandsOfParts) {
  Response r;
  r.status = 200;
  const std::string big(100000, 'y');
  r.static_body = big;
  r.headers = {{"ETag", "\"1\""}, {"Accept-Ranges", "bytes"}, {"Content-Type", "text/css"}};
  auto ranges = [](int n) {  // nginx refuses a trailing comma
    std::string v = "bytes=0-0";
    for (int i = 1; i < n; ++i) v += "," + std::to_string(i) + "-" + std::to_string(i);
    return v;
  };
  const std::string few = ranges(1000), many = ranges(5000);
  Response a = r, b = r;
  applyRanges(kNginx, get({{"Range", few}}), kCtx, &a);
  EXPECT_EQ(a.status, 206);
  EXPECT_LT(a.body.size(), 200000u);
  applyRanges(kNginx, get({{"Range", many}}), kCtx, &b);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.static_body.size(), big.size());
}

TEST(Ranges, UnsatisfiableIsEachServersPage) {
  Response a = file();
  applyRanges(kApache, get({{"Range", "bytes=20-"}}), kCtx, &a);
  EXPECT_EQ(a.status, 416);
  EXPECT_TRUE(a.unknown_length);
  EXPECT_THAT(a.body, HasSubstr("<p>None of the range-specifier values in the Range\n"
                                "request-header field overlap the current extent\n"
                                "of the selected resource.</p>\n"));
  EXPECT_THAT(a.body, HasSubstr("Server at localhost Port 80</address>"));
  // Closing: the page up to the close; kept open: one chunk.
  EXPECT_THAT(
      wire(kApache, a),
      ::testing::StartsWith(
          "HTTP/1.1 416 Requested Range Not Satisfiable\r\nDate: X\r\nServer: Apache/2.4.62 "
          "(Debian)\r\nConnection: close\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n"
          "<!DOCTYPE H"));
  const std::string kept = wire(kApache, a, true);
  EXPECT_THAT(kept, HasSubstr("\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html; "
                              "charset=iso-8859-1\r\n\r\n"));
  char size[40];
  std::snprintf(size, sizeof size, "\r\n\r\n%zx\r\n<!DOCTYPE", a.body.size());
  EXPECT_THAT(kept, HasSubstr(size));
  EXPECT_THAT(kept, ::testing::EndsWith("</html>\n\r\n0\r\n\r\n"));
  Response n = file();
  applyRanges(kNginx, get({{"Range", "bytes=20-"}}), kCtx, &n);
  EXPECT_EQ(wire(kNginx, n),
            "HTTP/1.1 416 Requested Range Not Satisfiable\r\nServer: nginx/1.22.1\r\nDate: X\r\n"
            "Content-Type: text/html\r\nContent-Length: 197\r\nConnection: close\r\n"
            "Content-Range: bytes */10\r\n\r\n<html>\r\n<head><title>416 Requested Range Not "
            "Satisfiable</title></head>\r\n<body>\r\n<center><h1>416 Requested Range Not "
            "Satisfiable</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n"
            "</html>\r\n");
}

TEST(Ranges, IfRange) {
  auto status = [](const Persona& p, std::vector<core::Header> h, int64_t now = kCtx.now_s) {
    Response r = file();
    RangeContext ctx = kCtx;
    ctx.now_s = now;
    h.insert(h.begin(), {"Range", "bytes=0-3"});
    applyRanges(p, get(std::move(h)), ctx, &r);
    return r.status;
  };
  const core::Header etag{"If-Range", "\"a-6619505a3e73b\""};
  const core::Header date{"If-Range", "Tue, 01 Dec 2026 16:28:52 GMT"};
  for (const Persona* p : {&kApache, &kNginx}) {
    EXPECT_EQ(status(*p, {etag}), 206);
    EXPECT_EQ(status(*p, {date}), 206);
    EXPECT_EQ(status(*p, {{"If-Range", "W/\"a-6619505a3e73b\""}}), 200);
    EXPECT_EQ(status(*p, {{"If-Range", "\"other\""}}), 200);
    EXPECT_EQ(status(*p, {{"If-Range", "Tue, 01 Dec 2020 10:00:00 GMT"}}), 200);
    EXPECT_EQ(status(*p, {{"If-Range", "garbage"}}), 200);
  }
  // Apache takes a date only once the file is a minute old (measured: 200 at 30 s, 206 at 62).
  EXPECT_EQ(status(kApache, {date}, 1796142532 + 30), 200);
  EXPECT_EQ(status(kNginx, {date}, 1796142532 + 30), 206);
  // No Range: If-Range alone changes nothing.
  Response r = file();
  applyRanges(kApache, get({etag}), kCtx, &r);
  EXPECT_EQ(r.status, 200);
}

TEST(Ranges, RepeatedHeadersAndWhatIsLeftWhole) {
  // Apache merges repeated headers (", bytes=3-4" does not parse: all ignored); nginx reads
  // the first.
  Response a = file(), n = file();
  const auto twice = get({{"Range", "bytes=0-1"}, {"Range", "bytes=3-4"}});
  applyRanges(kApache, twice, kCtx, &a);
  applyRanges(kNginx, twice, kCtx, &n);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(n.status, 206);
  EXPECT_EQ(n.static_body, "01");
  // Only a 200 that announces byte ranges: not a page a script makes, not a 404, not
  // nginx's gzip (which dropped Accept-Ranges), not IIS.
  Response page = file();
  page.headers.erase(page.headers.begin() + 2);
  applyRanges(kApache, get({{"Range", "bytes=0-3"}}), kCtx, &page);
  EXPECT_EQ(page.status, 200);
  Response missing = file();
  missing.status = 404;
  applyRanges(kNginx, get({{"Range", "bytes=0-3"}}), kCtx, &missing);
  EXPECT_EQ(missing.status, 404);
  Response iis = file();
  applyRanges(makePersona("iis", ""), get({{"Range", "bytes=0-3"}}), kCtx, &iis);
  EXPECT_EQ(iis.status, 200);
  // Request-Range (Netscape's) is no longer read by either.
  Response old = file();
  applyRanges(kApache, get({{"Request-Range", "bytes=0-3"}}), kCtx, &old);
  EXPECT_EQ(old.status, 200);
}

}  // namespace ranges_test
}  // namespace drosera::http
