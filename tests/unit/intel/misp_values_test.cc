// Unit tests for value cleaning and MISP's value rules (src/intel/misp_values.h), checked
// against the independent oracle in misp_checks.h.
#include "intel/misp_values.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "misp_checks.h"

namespace drosera::intel {
namespace {

using testutil::valueProblem;

TEST(MispValuesTest, IpAddressesAreCanonical) {
  EXPECT_EQ(normaliseValue("ip-src", " 203.0.113.45 "), "203.0.113.45");
  EXPECT_EQ(normaliseValue("ip-src", "2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(normaliseValue("ip-src", "::ffff:198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(normaliseValue("ip-src", "300.1.1.1"), std::nullopt);
  EXPECT_EQ(normaliseValue("ip-src", "10.0.0.0/8"), std::nullopt);  // drosera emits hosts only
  EXPECT_EQ(normaliseValue("ip-src", "fe80::1%eth0"), std::nullopt);
  EXPECT_EQ(normaliseValue("ip-src", "example.com"), std::nullopt);
  EXPECT_FALSE(valueProblem("ip-src", *normaliseValue("ip-src", "2001:DB8::0001")));
}

TEST(MispValuesTest, HttpMethods) {
  EXPECT_EQ(normaliseValue("http-method", "get"), "GET");
  EXPECT_EQ(normaliseValue("http-method", "PROPFIND"), "PROPFIND");
  EXPECT_EQ(normaliseValue("http-method", "FOO"), std::nullopt);
  EXPECT_EQ(normaliseValue("http-method", "GET\r\nX: y"), std::nullopt);
}

TEST(MispValuesTest, PortsAndNumbers) {
  EXPECT_EQ(normaliseValue("port", "80"), "80");
  EXPECT_EQ(normaliseValue("port", "0"), std::nullopt);
  EXPECT_EQ(normaliseValue("port", "65536"), std::nullopt);
  EXPECT_EQ(normaliseValue("port", "8o"), std::nullopt);
  EXPECT_EQ(normaliseValue("AS", "0"), std::nullopt);
  EXPECT_EQ(normaliseValue("AS", "64500"), "64500");
}

TEST(MispValuesTest, OneLineTypesRefuseNewlines) {
  EXPECT_EQ(normaliseValue("url", "http://a.example/x\ny"), std::nullopt);
  EXPECT_EQ(normaliseValue("user-agent", "curl\n"), "curl");  // trimmed, as MISP does
  EXPECT_EQ(normaliseValue("text", "two\nlines"), "two\nlines");
}

TEST(MispValuesTest, FourByteCharactersAreRefused) {
  // MISP would store '?' instead: a value that MISP rewrites is never sent.
  EXPECT_EQ(normaliseValue("user-agent", "emoji \xF0\x9F\x98\x80"), std::nullopt);
  EXPECT_EQ(cleanLine("emoji \xF0\x9F\x98\x80", 100), "emoji ?");
}

TEST(MispValuesTest, CleanTextMakesValidUtf8) {
  const std::string bad = std::string(
      "a\xFF"
      "b\xC3\x28"
      "c\x01"
      "d",
      8);
  const std::string clean = cleanText(bad, 100);
  EXPECT_EQ(clean,
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD(c d");
  // nlohmann throws on invalid UTF-8 when dumping: the cleaned text must pass.
  EXPECT_NO_THROW(nlohmann::json(clean).dump());
}

TEST(MispValuesTest, CleanTextCutsOnCharacterBoundaries) {
  const std::string s = "\xC3\xA9\xC3\xA9\xC3\xA9";  // three e-acute
  EXPECT_EQ(cleanText(s, 5), "\xC3\xA9\xC3\xA9");
  EXPECT_EQ(cleanLine("x\ny\r\nz", 100), "x y  z");
}

TEST(MispValuesTest, CleanUriPercentEncodesWhatIsNotPrintable) {
  EXPECT_EQ(cleanUri("/a b\x01\xFF?q=\xC3\xA9", 100), "/a%20b%01%FF?q=\xC3\xA9");
  EXPECT_EQ(cleanUri("/\xF0\x9F\x98\x80", 100), "/%F0%9F%98%80");
  EXPECT_EQ(cleanUri("/abc%20", 5), "/abc%");  // cut at the limit, never past it
  EXPECT_EQ(cleanUri("/ab\x01", 5), "/ab");    // an escape is not split
  const std::string u = cleanUri(std::string("/\0x\n", 4), 100);
  EXPECT_FALSE(valueProblem("uri", u)) << u;
}

TEST(MispValuesTest, Hostnames) {
  EXPECT_EQ(normaliseValue("hostname", "Shop.Example.COM"), "shop.example.com");
  EXPECT_EQ(normaliseValue("hostname", "localhost"), std::nullopt);
  EXPECT_EQ(normaliseValue("hostname", "a b.com"), std::nullopt);
}

TEST(MispValuesTest, EveryNormalisedValuePassesTheOracle) {
  const std::pair<const char*, const char*> cases[] = {
      {"ip-src", "203.0.113.45"},
      {"ip-dst", "2001:db8::5"},
      {"url", "http://198.51.100.2/x.sh"},
      {"uri", "/index.php?id=1'"},
      {"user-agent", "sqlmap/1.7"},
      {"http-method", "post"},
      {"text", "CRS 942100"},
      {"datetime", "2025-03-14T10:20:00.123456+00:00"},
      {"port", "8080"},
      {"other", "application/json"},
      {"hostname", "EXAMPLE.org"}};
  for (const auto& [type, value] : cases) {
    auto v = normaliseValue(type, value);
    ASSERT_TRUE(v.has_value()) << type << " " << value;
    EXPECT_EQ(valueProblem(type, *v), std::nullopt) << type << " " << *v;
  }
}

}  // namespace
}  // namespace drosera::intel
