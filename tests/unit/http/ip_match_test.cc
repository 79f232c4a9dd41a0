// Unit tests for the IP/CIDR matcher (src/http/ip_match.h).
#include "http/ip_match.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace drosera::http {
namespace {

using ::testing::HasSubstr;
using namespace std::string_view_literals;

IpMatcher matcherOf(std::initializer_list<std::string_view> nets) {
  IpMatcher m;
  for (std::string_view n : nets) {
    const core::Status s = m.add(n);
    EXPECT_TRUE(s.isOk()) << n << ": " << s.toString();
  }
  return m;
}

TEST(IpMatcherTest, EmptyMatchesNothing) {
  IpMatcher m;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.contains("127.0.0.1"));
  EXPECT_FALSE(m.contains("::1"));
}

TEST(IpMatcherTest, ExactIpv4) {
  const IpMatcher m = matcherOf({"203.0.113.7"});
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(m.contains("203.0.113.7"));
  EXPECT_FALSE(m.contains("203.0.113.6"));
  EXPECT_FALSE(m.contains("203.0.113.8"));
  EXPECT_FALSE(m.contains("103.0.113.7"));
}

TEST(IpMatcherTest, Slash32IsExact) {
  const IpMatcher m = matcherOf({"198.51.100.10/32"});
  EXPECT_TRUE(m.contains("198.51.100.10"));
  EXPECT_FALSE(m.contains("198.51.100.11"));
}

TEST(IpMatcherTest, Slash8) {
  const IpMatcher m = matcherOf({"10.0.0.0/8"});
  EXPECT_TRUE(m.contains("10.0.0.0"));
  EXPECT_TRUE(m.contains("10.255.255.255"));
  EXPECT_TRUE(m.contains("10.1.2.3"));
  EXPECT_FALSE(m.contains("11.0.0.0"));
  EXPECT_FALSE(m.contains("9.255.255.255"));
}

TEST(IpMatcherTest, PrefixNotOnAByteBoundary) {
  const IpMatcher m = matcherOf({"172.16.0.0/12"});
  EXPECT_TRUE(m.contains("172.16.0.1"));
  EXPECT_TRUE(m.contains("172.31.255.255"));
  EXPECT_FALSE(m.contains("172.32.0.0"));
  EXPECT_FALSE(m.contains("172.15.255.255"));
}

TEST(IpMatcherTest, HostBitsInTheNetworkAreIgnored) {
  const IpMatcher m = matcherOf({"192.168.1.77/24"});
  EXPECT_TRUE(m.contains("192.168.1.1"));
  EXPECT_FALSE(m.contains("192.168.2.77"));
}

TEST(IpMatcherTest, Ipv4Slash0MatchesEveryIpv4AndNoIpv6) {
  const IpMatcher m = matcherOf({"0.0.0.0/0"});
  EXPECT_TRUE(m.contains("0.0.0.0"));
  EXPECT_TRUE(m.contains("1.2.3.4"));
  EXPECT_TRUE(m.contains("255.255.255.255"));
  EXPECT_TRUE(m.contains("::ffff:8.8.8.8"));
  EXPECT_FALSE(m.contains("::1"));
  EXPECT_FALSE(m.contains("2001:db8::1"));
}

TEST(IpMatcherTest, Ipv6Slash0MatchesEverything) {
  const IpMatcher m = matcherOf({"::/0"});
  EXPECT_TRUE(m.contains("::1"));
  EXPECT_TRUE(m.contains("2001:db8::1"));
  EXPECT_TRUE(m.contains("1.2.3.4"));  // stored as ::ffff:1.2.3.4
}

TEST(IpMatcherTest, Ipv6Cidr) {
  const IpMatcher m = matcherOf({"2001:db8::/32"});
  EXPECT_TRUE(m.contains("2001:db8::1"));
  EXPECT_TRUE(m.contains("2001:db8:ffff:ffff::1"));
  EXPECT_TRUE(m.contains("2001:DB8::abcd"));
  EXPECT_FALSE(m.contains("2001:db9::1"));
  EXPECT_FALSE(m.contains("2001:db7:ffff::1"));
  EXPECT_FALSE(m.contains("10.0.0.1"));

  const IpMatcher narrow = matcherOf({"fd00::10/127"});
  EXPECT_TRUE(narrow.contains("fd00::10"));
  EXPECT_TRUE(narrow.contains("fd00::11"));
  EXPECT_FALSE(narrow.contains("fd00::12"));
}

TEST(IpMatcherTest, ExactIpv6AndItsSpellings) {
  const IpMatcher m = matcherOf({"::1"});
  EXPECT_TRUE(m.contains("::1"));
  EXPECT_TRUE(m.contains("0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(m.contains("[::1]"));
  EXPECT_FALSE(m.contains("::2"));

  const IpMatcher link = matcherOf({"fe80::/10"});
  EXPECT_TRUE(link.contains("fe80::1%eth0"));
}

TEST(IpMatcherTest, Ipv4MappedIpv6MatchesIpv4Nets) {
  const IpMatcher m = matcherOf({"10.0.0.0/8", "203.0.113.7"});
  EXPECT_TRUE(m.contains("::ffff:10.1.2.3"));
  EXPECT_TRUE(m.contains("::FFFF:10.1.2.3"));
  EXPECT_TRUE(m.contains("::ffff:a01:203"));  // 10.1.2.3 in hex
  EXPECT_TRUE(m.contains("::ffff:203.0.113.7"));
  EXPECT_FALSE(m.contains("::ffff:11.1.2.3"));
  EXPECT_FALSE(m.contains("::10.1.2.3"));  // IPv4-compatible, not mapped
}

TEST(IpMatcherTest, Ipv4MappedNetMatchesIpv4Addresses) {
  const IpMatcher m = matcherOf({"::ffff:192.0.2.0/120"});
  EXPECT_TRUE(m.contains("192.0.2.55"));
  EXPECT_FALSE(m.contains("192.0.3.55"));
}

TEST(IpMatcherTest, SeveralNets) {
  const IpMatcher m = matcherOf({"10.0.0.0/8", "192.168.0.0/16", "2001:db8::/48"});
  EXPECT_TRUE(m.contains("10.9.9.9"));
  EXPECT_TRUE(m.contains("192.168.44.1"));
  EXPECT_TRUE(m.contains("2001:db8:0:1::"));
  EXPECT_FALSE(m.contains("2001:db8:1::"));
  EXPECT_FALSE(m.contains("172.16.0.1"));
}

TEST(IpMatcherTest, BadInputIsRejectedWithAStatusNamingIt) {
  for (std::string_view bad :
       {""sv, "10.0.0.0/33"sv, "::/129"sv, "10.0.0.0/"sv, "10.0.0.0/8x"sv, "10.0.0.0/-1"sv,
        "10.0.0.0/8/8"sv, "300.1.1.1"sv, "1.2.3"sv, "example.com"sv, " 10.0.0.1"sv, "10.0.0.1 "sv,
        "1.2.3.4/ 8"sv, "/8"sv, "2001:db8::g/32"sv, "1.2.3.4:80"sv}) {
    IpMatcher m;
    const core::Status s = m.add(bad);
    EXPECT_FALSE(s.isOk()) << "'" << bad << "' accepted";
    EXPECT_EQ(s.code(), core::Status::Code::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("'" + std::string(bad) + "'"));
    EXPECT_TRUE(m.empty()) << bad;
  }
}

TEST(IpMatcherTest, ContainsRefusesWhatIsNotAnAddress) {
  const IpMatcher m = matcherOf({"::/0"});
  EXPECT_FALSE(m.contains(""));
  EXPECT_FALSE(m.contains("not-an-ip"));
  EXPECT_FALSE(m.contains("1.2.3.4.5"));
  EXPECT_FALSE(m.contains("1.2.3.4/32"));
  EXPECT_FALSE(m.contains(std::string(100, '1')));
  EXPECT_FALSE(m.contains("[::1"));
}

// Regression (found by this test, fixed): parseIp() copies the view into a std::string and hands s.c_str() to inet_pton(), which
// stops at the first NUL (ip_match.cc, the inet_pton calls in parseIp). So "10.1.1.1\0junk" (an
// X-Forwarded-For hop, say) parses as 10.1.1.1.
TEST(IpMatcherTest, EmbeddedNulIsNotAnAddress) {
  const IpMatcher m = matcherOf({"10.0.0.0/8"});
  EXPECT_FALSE(m.contains("10.1.1.1\0junk"sv));
  std::array<uint8_t, 16> a{};
  EXPECT_FALSE(parseIp("10.1.1.1\0junk"sv, &a));
  EXPECT_EQ(canonicalIp("::1\0x"sv), "::1\0x"sv);  // not an address: returned as given
  IpMatcher n;
  EXPECT_FALSE(n.add("10.0.0.0\0/8"sv).isOk());
}

TEST(ParseIpTest, Ipv4IsStoredAsMappedIpv6) {
  std::array<uint8_t, 16> a{};
  ASSERT_TRUE(parseIp("192.0.2.1", &a));
  const std::array<uint8_t, 16> want = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1};
  EXPECT_EQ(a, want);
  std::array<uint8_t, 16> mapped{};
  ASSERT_TRUE(parseIp("::ffff:192.0.2.1", &mapped));
  EXPECT_EQ(mapped, want);
}

TEST(ParseIpTest, Ipv6Bytes) {
  std::array<uint8_t, 16> a{};
  ASSERT_TRUE(parseIp("2001:db8::ff", &a));
  const std::array<uint8_t, 16> want = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                        0,    0,    0,    0,    0, 0, 0, 0xff};
  EXPECT_EQ(a, want);
  EXPECT_FALSE(parseIp("2001:db8:::1", &a));
}

TEST(CanonicalIpTest, Forms) {
  EXPECT_EQ(canonicalIp("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(canonicalIp("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(canonicalIp("::FFFF:C000:0201"), "192.0.2.1");
  EXPECT_EQ(canonicalIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(canonicalIp("2001:0db8:0000::0001"), "2001:db8::1");
  EXPECT_EQ(canonicalIp("[::1]"), "::1");
  EXPECT_EQ(canonicalIp("fe80::1%eth0"), "fe80::1");
  EXPECT_EQ(canonicalIp("::"), "::");
}

TEST(CanonicalIpTest, NotAnAddressIsReturnedAsGiven) {
  EXPECT_EQ(canonicalIp("not-an-ip"), "not-an-ip");
  EXPECT_EQ(canonicalIp(""), "");
  EXPECT_EQ(canonicalIp("1.2.3.4:80"), "1.2.3.4:80");
  const std::string long_text(200, 'x');
  EXPECT_EQ(canonicalIp(long_text), long_text);
}

}  // namespace
}  // namespace drosera::http
