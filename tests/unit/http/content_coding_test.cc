// Unit tests for gzip content coding as Apache and nginx do it (src/http/content_coding.h).
#include "http/content_coding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <tuple>
#include <vector>

namespace drosera::http {
namespace coding_test {

using ::testing::ElementsAre;

// The page both servers were given (238 bytes), and what they sent for it with
// "Accept-Encoding: gzip" (Apache 2.4 with Debian's deflate.conf, nginx 1.22 with `gzip on`,
// measured on loopback).
const std::string kPage =
    "<!DOCTYPE html>\n<html><head><title>Shop</title></head>\n<body><h1>Welcome to the shop</h1>"
    "<p>Our products: widgets, gadgets, widgets and more widgets. Gadgets on sale. Widgets on "
    "sale. Our products are the best products.</p></body></html>\n";
const char* const kNginxWire =  // chunked
    "61620d0a1f8b08000000000004034d4fcb0ac23010bcf72bd6bb3478952517158f15148ac7b4599a42da0dc916f1ef"
    "ad"
    "4d7d9c76989dd999c5cdb13adcee97133819bc2e7019e8c8588dd28b277d751c50658c6ad914d8b07d6a743b5d936f"
    "79"
    "20100671046911cf3c065d4d1142643bb592f6f0e86d4792b6d09915ac0c98d1c2c0913e9212ce59023c42329e4aa8"
    "b3"
    "f947fcdf06337bdfe10d25f92696a88246958baafcdd0ba2982cd6ee0000000d0a300d0a0d0a";
const char* const kApacheWire =
    "1f8b08000000000000035d8f410bc2300c85effb15f12e2b5e25f4a2e27182c2f0d8ad611d744b5933c47f6f5da788"
    "a7"
    "3cbebc242fb8395687dbfd72022783d7052e051d19ab517af1a4af8e03aaac512d9d021bb6cf64dbe99a7ccb038130"
    "88"
    "23888b39710cba9a270813dbb995b887476f3b92b885ceac622560460b034ff401259cb3057884683c9550f77fe077"
    "37"
    "9834fb3ede50942f2d518594370755f9bb17a2982cd6ee000000";

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + 15), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// The chunks of a chunked body, and whether it ends with the last chunk.
std::vector<std::string> chunksOf(const std::string& body, bool* complete) {
  std::vector<std::string> out;
  size_t at = 0;
  *complete = false;
  while (at < body.size()) {
    const size_t eol = body.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t n = std::stoul(body.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (n == 0) {
      *complete = body.substr(at) == "\r\n";
      break;
    }
    out.push_back(body.substr(at, n));
    at += n + 2;
  }
  return out;
}

core::HttpRequestData request(std::string accept_encoding, std::string version = "1.1") {
  core::HttpRequestData q;
  q.method = "GET";
  q.target = "/";
  q.version = std::move(version);
  q.headers = {{"Host", "shop.example"}};
  if (!accept_encoding.empty()) q.headers.push_back({"Accept-Encoding", accept_encoding});
  return q;
}

// A static file as Site answers it under the persona (Vary only where mod_deflate applies).
// `body` must outlive the answer, as the site's files do.
Response file(const std::string& persona, std::string_view body = kPage,
              std::string type = "text/html") {
  Response r;
  r.static_body = body;
  r.headers = {{"Last-Modified", "Tue, 01 Dec 2026 09:06:59 GMT"}};
  if (persona == "nginx") {
    r.headers.push_back({"ETag", "\"6b0e8e33-ee\""});
    r.headers.push_back({"Accept-Ranges", "bytes"});
  } else {
    r.headers.push_back({"ETag", "\"ee-6618ed94c9055\""});
    r.headers.push_back({"Accept-Ranges", "bytes"});
    if (body.size() > 68) r.headers.push_back({"Vary", "Accept-Encoding"});
  }
  r.headers.push_back({"Content-Type", std::move(type)});
  return r;
}

std::vector<std::string> names(const std::string& wire) {
  std::vector<std::string> out;
  size_t at = wire.find("\r\n") + 2;
  const size_t end = wire.find("\r\n\r\n");
  while (at < end) {
    const size_t eol = wire.find("\r\n", at);
    out.push_back(wire.substr(at, wire.find(':', at) - at));
    at = eol + 2;
  }
  return out;
}

std::string headerOf(const Response& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "(none)";
}

TEST(ContentCoding, AcceptEncodingAsEachServerReadsIt) {
  // What the real servers answered (gzip or not) for each Accept-Encoding, on loopback.
  struct Case {
    const char* accept_encoding;
    bool apache, nginx;
  };
  const Case cases[] = {
      {"gzip", true, true},
      {"gzip;q=0", false, false},
      {"gzip;q=0.5", true, true},
      {"gzip; q=0.5", true, true},
      {"gzip ;q=0.5", true, true},
      {"gzip;q= 0.5", true, false},
      {"gzip;q =0.5", true, false},
      {"gzip;Q=0.5", true, true},
      {"gzip;q=1", true, true},
      {"gzip;q=1.0", true, true},
      {"gzip;q=1.000", true, true},
      {"gzip;q=1.001", true, false},
      {"gzip;q=0.001", true, true},
      {"gzip;q=0.0001", true, false},
      {"gzip;q=.5", true, false},
      {"gzip;q=0.5 ", true, true},
      {"gzip;q=0.5 ,br", true, true},
      {"gzip;q=0.5,br", true, true},
      {"gzip;q=0.5;x=1", true, false},
      {"gzip;x=1;q=0.5", true, false},
      {"gzip,", true, true},
      {"gzip ,br", true, true},
      {"br,gzip", true, true},
      {"br, gzip", true, true},
      {"br,  gzip", true, true},
      {"gzip\t", true, false},
      {"xgzip", false, false},
      {"gzipx", false, false},
      {"gzipx, gzip", true, false},
      {"GZip", true, true},
      {"gzip;q=0.", false, false},
      {"gzip;q=0.0", false, false},
      {"gzip;q=00.5", true, false},
      {"gzip;q=0,5", false, false},
      {"deflate;q=0.5, gzip;q=0", false, false},
      {"gzip;q=0, gzip", false, false},
      {"gzip;level=1", true, false},
      {"x-gzip", false, false},
      {"*", false, false},
      {",gzip", false, true},
      {"foo gzip", true, true},
      {"gzip foo", true, false},
      {"gzip;level=1;q=0", true, false},
      {"gzip;q=0.0000", true, false},
      {"gzip ; q = 0", true, false},
      {"gzip;q=2", true, false},
      {"gzip;q=-1", true, false},
      {"gzip;q=abc", true, false},
      {"gzip;q=0.5x", true, false},
      {"gzip;q=1.5", true, false},
      {"\"gzip\"", false, false},
      {"gzip;q=0.00", false, false},
      {"gzip;q=0.001, br", true, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(apacheAcceptsGzip(c.accept_encoding), c.apache) << "apache: " << c.accept_encoding;
    EXPECT_EQ(nginxAcceptsGzip(c.accept_encoding), c.nginx) << "nginx: " << c.accept_encoding;
  }
  // Two Accept-Encoding headers: Apache merges them, nginx reads the first.
  for (const auto& [first, second, apache, nginx] :
       {std::tuple{"identity", "gzip", true, false}, std::tuple{"gzip", "identity", true, true}}) {
    Response a = file("apache"), n = file("nginx");
    core::HttpRequestData q = request(first);
    q.headers.push_back({"Accept-Encoding", second});
    applyContentCoding(makePersona("apache", ""), q, false, &a);
    applyContentCoding(makePersona("nginx", ""), q, false, &n);
    EXPECT_EQ(headerOf(a, "Content-Encoding") == "gzip", apache) << first << " + " << second;
    EXPECT_EQ(headerOf(n, "Content-Encoding") == "gzip", nginx) << first << " + " << second;
  }
}

TEST(ContentCoding, NginxSendsTheBytesARealNginxSends) {
  const Persona nginx = makePersona("nginx", "");
  for (bool owned : {false, true}) {
    Response r = file("nginx");
    if (owned) {
      r.body = kPage;
      r.static_body = {};
    }
    applyContentCoding(nginx, request("gzip, deflate"), false, &r);
    EXPECT_EQ(r.body, unhex(kNginxWire)) << owned;
    EXPECT_TRUE(r.static_body.empty());
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(headerOf(r, "ETag"), "W/\"6b0e8e33-ee\"");
    EXPECT_EQ(headerOf(r, "Accept-Ranges"), "(none)");
    EXPECT_EQ(headerOf(r, "Content-Encoding"), "gzip");
    const std::string wire = serialize(nginx, r, false, 5, 100, false, false);
    EXPECT_THAT(names(wire),
                ElementsAre("Server", "Date", "Content-Type", "Last-Modified", "Transfer-Encoding",
                            "Connection", "ETag", "Content-Encoding"));
    EXPECT_EQ(wire.substr(wire.find("\r\n\r\n") + 4), unhex(kNginxWire));
  }
}

TEST(ContentCoding, ApacheSendsTheBytesARealApacheSends) {
  const Persona apache = makePersona("apache", "");
  Response r = file("apache");
  applyContentCoding(apache, request("gzip"), false, &r);
  EXPECT_EQ(r.body, unhex(kApacheWire));
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(headerOf(r, "ETag"), "\"ee-6618ed94c9055-gzip\"");  // DeflateAlterETag AddSuffix
  EXPECT_EQ(headerOf(r, "Accept-Ranges"), "bytes");
  const std::string wire = serialize(apache, r, false, 5, 100, false, false);
  EXPECT_THAT(names(wire),
              ElementsAre("Date", "Server", "Last-Modified", "ETag", "Accept-Ranges", "Vary",
                          "Content-Encoding", "Content-Length", "Connection", "Content-Type"));
  EXPECT_NE(wire.find("Content-Length: " + std::to_string(unhex(kApacheWire).size()) + "\r\n"),
            std::string::npos);
}

TEST(ContentCoding, HeadAnswers) {
  // Apache compresses anyway and gives that length; nginx gives neither length nor chunks.
  Response a = file("apache");
  a.omit_body = true;
  applyContentCoding(makePersona("apache", ""), request("gzip"), true, &a);
  const std::string aw = serialize(makePersona("apache", ""), a, false, 5, 100, false, false);
  EXPECT_NE(aw.find("Content-Length: " + std::to_string(unhex(kApacheWire).size())),
            std::string::npos);
  EXPECT_EQ(aw.substr(aw.find("\r\n\r\n") + 4), "");
  Response n = file("nginx");
  n.omit_body = true;
  applyContentCoding(makePersona("nginx", ""), request("gzip"), true, &n);
  const std::string nw = serialize(makePersona("nginx", ""), n, false, 5, 100, false, false);
  EXPECT_THAT(names(nw), ElementsAre("Server", "Date", "Content-Type", "Last-Modified",
                                     "Connection", "ETag", "Content-Encoding"));
  EXPECT_EQ(nw.substr(nw.find("\r\n\r\n") + 4), "");
}

TEST(ContentCoding, WhatNginxLeavesAlone) {
  const Persona nginx = makePersona("nginx", "");
  auto untouched = [&](Response r, const core::HttpRequestData& q, const char* why) {
    const std::string before = serialize(nginx, r, false, 5, 100, false, false);
    applyContentCoding(nginx, q, false, &r);
    EXPECT_EQ(serialize(nginx, r, false, 5, 100, false, false), before) << why;
  };
  untouched(file("nginx"), request(""), "no Accept-Encoding");
  untouched(file("nginx"), request("deflate, br"), "no gzip offered");
  untouched(file("nginx"), request("gzip", "1.0"), "HTTP/1.0 (gzip_http_version 1.1)");
  Response later = file("nginx");  // 1.1 is the least: HTTP/1.2 is compressed
  applyContentCoding(nginx, request("gzip", "1.2"), false, &later);
  EXPECT_TRUE(later.chunked);
  core::HttpRequestData via = request("gzip");
  via.headers.push_back({"Via", "1.1 proxy"});
  untouched(file("nginx"), via, "through a proxy (gzip_proxied off)");
  untouched(file("nginx", kPage, "text/css"), request("gzip"), "not text/html (gzip_types)");
  const std::string short19 = kPage.substr(0, 19), short20 = kPage.substr(0, 20);
  untouched(file("nginx", short19), request("gzip"), "under 20 bytes");
  for (int status : {301, 302, 401, 500, 503}) {
    Response r = file("nginx");
    r.status = status;
    untouched(r, request("gzip"), "status");
  }
  Response encoded = file("nginx");
  encoded.headers.push_back({"Content-Encoding", "br"});
  untouched(encoded, request("gzip"), "already encoded");
  // And what it takes: 20 bytes, 403 and 404, text/html with parameters.
  for (int status : {200, 403, 404}) {
    Response r = file("nginx", short20, "text/html; charset=UTF-8");
    r.status = status;
    applyContentCoding(nginx, request("gzip"), false, &r);
    bool complete = false;
    const auto chunks = chunksOf(r.body, &complete);
    ASSERT_EQ(chunks.size(), 1u) << status;
    EXPECT_TRUE(complete);
    EXPECT_EQ(gunzip(chunks[0]), short20);
  }
}

TEST(ContentCoding, WhatApacheLeavesAlone) {
  const Persona apache = makePersona("apache", "");
  auto untouched = [&](Response r, const core::HttpRequestData& q, const char* why) {
    const std::string before = serialize(apache, r, false, 5, 100, false, false);
    applyContentCoding(apache, q, false, &r);
    EXPECT_EQ(serialize(apache, r, false, 5, 100, false, false), before) << why;
  };
  untouched(file("apache"), request(""), "no Accept-Encoding");
  untouched(file("apache"), request("x-gzip"), "x-gzip only");
  untouched(file("apache"), request("gzip;q=0"), "gzip refused");
  const std::string short68 = kPage.substr(0, 68);
  untouched(file("apache", short68), request("gzip"), "68 bytes: no Vary");
  Response page;  // the server's own error page: no Vary
  page.status = 404;
  page.body = std::string(300, 'x');
  page.headers = {{"Content-Type", "text/html; charset=iso-8859-1"}};
  untouched(page, request("gzip"), "an error page of the server");
  // HTTP/1.0 is compressed (no gzip_http_version in mod_deflate), as is a page a script made.
  Response script;
  script.body = kPage;
  script.headers = {{"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"},
                    {"Vary", "Accept-Encoding"},
                    {"Content-Type", "text/html; charset=UTF-8"}};
  applyContentCoding(apache, request("gzip", "1.0"), false, &script);
  EXPECT_EQ(gunzip(script.body), kPage);
  EXPECT_THAT(names(serialize(apache, script, false, 5, 100, true, false)),
              ElementsAre("Date", "Server", "Expires", "Vary", "Content-Encoding", "Content-Length",
                          "Connection", "Content-Type"));
}

TEST(ContentCoding, IisIsLeftAlone) {
  Response r = file("apache");
  const Persona iis = makePersona("iis", "");
  applyContentCoding(iis, request("gzip"), false, &r);
  EXPECT_EQ(headerOf(r, "Content-Encoding"), "(none)");
  EXPECT_EQ(r.static_body, kPage);
}

TEST(ContentCoding, NginxChunksABigBody) {
  // Hard to compress: more than one chunk of 20,480 bytes, then the last.
  std::string big;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 60000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    big.push_back("abcdefghijklmnopqrstuvwxyz     \n"[x % 32]);
  }
  Response r = file("nginx", big);
  applyContentCoding(makePersona("nginx", ""), request("gzip"), false, &r);
  bool complete = false;
  const auto chunks = chunksOf(r.body, &complete);
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_TRUE(complete);
  std::string all;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(chunks[i].size(), 20480u);
    }
    all += chunks[i];
  }
  EXPECT_EQ(gunzip(all), big);
}

TEST(ContentCoding, AStaticBodyCompressesTheSameEveryTime) {
  // Kept per persona (the cache), the same bytes each time; a changed body is never answered
  // with another's.
  std::string a1, a2, n1;
  for (std::string* out : {&a1, &a2}) {
    Response r = file("apache");
    applyContentCoding(makePersona("apache", ""), request("gzip"), false, &r);
    *out = r.body;
  }
  Response n = file("nginx");
  applyContentCoding(makePersona("nginx", ""), request("gzip"), false, &n);
  EXPECT_EQ(a1, a2);
  EXPECT_EQ(a1, unhex(kApacheWire));
  EXPECT_NE(n.body, a1);
  // Another body at the same address is not mistaken for the first.
  std::string changing = kPage;
  Response c1 = file("apache", changing);
  applyContentCoding(makePersona("apache", ""), request("gzip"), false, &c1);
  changing[100] = 'X';
  Response c2 = file("apache", changing);
  applyContentCoding(makePersona("apache", ""), request("gzip"), false, &c2);
  EXPECT_EQ(gunzip(c2.body), changing);
}

}  // namespace coding_test
}  // namespace drosera::http
