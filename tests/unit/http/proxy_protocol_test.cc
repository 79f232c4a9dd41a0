// Unit tests for the PROXY protocol header parser (src/http/proxy_protocol.h).
#include "http/proxy_protocol.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace drosera::http {

std::ostream& operator<<(std::ostream& os, ProxyParse p) {
  switch (p) {
    case ProxyParse::kNeedMore:
      return os << "kNeedMore";
    case ProxyParse::kOk:
      return os << "kOk";
    case ProxyParse::kNotProxy:
      return os << "kNotProxy";
    case ProxyParse::kInvalid:
      return os << "kInvalid";
  }
  return os << "ProxyParse(?)";
}

namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

ProxyParse parse(std::string_view in, ProxyHeader* out = nullptr) {
  ProxyHeader scratch;
  return parseProxyHeader(in, out ? out : &scratch);
}

// ---------------------------------------------------------------------------------------------
// Version 1 (text).

constexpr std::string_view kV1Tcp4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
constexpr std::string_view kV1Tcp6 = "PROXY TCP6 2001:db8::1 2001:db8::ff 1234 8080\r\n";
constexpr std::string_view kV1Longest =
    "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
    "65535 65535\r\n";

TEST(ProxyProtocolV1Test, Tcp4) {
  const std::string in = std::string(kV1Tcp4) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  ProxyHeader h;
  ASSERT_EQ(parse(in, &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 1);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.src_ip, "192.168.0.1");
  EXPECT_EQ(h.dst_ip, "192.168.0.11");
  EXPECT_EQ(h.src_port, 56324);
  EXPECT_EQ(h.dst_port, 443);
  EXPECT_EQ(h.length, kV1Tcp4.size());
  EXPECT_EQ(in.substr(h.length, 4), "GET ");
}

TEST(ProxyProtocolV1Test, Tcp6) {
  ProxyHeader h;
  ASSERT_EQ(parse(kV1Tcp6, &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 1);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.src_ip, "2001:db8::1");
  EXPECT_EQ(h.dst_ip, "2001:db8::ff");
  EXPECT_EQ(h.src_port, 1234);
  EXPECT_EQ(h.dst_port, 8080);
  EXPECT_EQ(h.length, kV1Tcp6.size());
}

TEST(ProxyProtocolV1Test, PortBounds) {
  ProxyHeader h;
  ASSERT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n", &h), ProxyParse::kOk);
  EXPECT_EQ(h.src_port, 0);
  EXPECT_EQ(h.dst_port, 65535);
}

TEST(ProxyProtocolV1Test, Unknown) {
  ProxyHeader h;
  ASSERT_EQ(parse("PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n", &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 1);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.src_ip, "");
  EXPECT_EQ(h.length, 15u);

  // The receiver ignores whatever follows UNKNOWN, up to the longest line allowed.
  ProxyHeader longest;
  ASSERT_EQ(kV1Longest.size(), 107u);
  ASSERT_EQ(parse(kV1Longest, &longest), ProxyParse::kOk);
  EXPECT_TRUE(longest.local);
  EXPECT_EQ(longest.length, 107u);
}

TEST(ProxyProtocolV1Test, InvalidPorts) {
  for (std::string_view port : {"65536", "99999", "-1", "080", "", "abc", "1a", "+80", "123456"}) {
    const std::string in = "PROXY TCP4 1.2.3.4 5.6.7.8 " + std::string(port) + " 80\r\n";
    EXPECT_EQ(parse(in), ProxyParse::kInvalid) << in;
    const std::string dst = "PROXY TCP4 1.2.3.4 5.6.7.8 80 " + std::string(port) + "\r\n";
    EXPECT_EQ(parse(dst), ProxyParse::kInvalid) << dst;
  }
}

TEST(ProxyProtocolV1Test, InvalidAddresses) {
  for (std::string_view line : {
           "PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
           "PROXY TCP4 1.2.3.4 localhost 1 2\r\n",
           "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",  // IPv6 in TCP4
           "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",  // IPv4 in TCP6
           "PROXY TCP6 2001:db8::g ::1 1 2\r\n",
           "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",   // two spaces
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",   // trailing space
           "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",      // missing a field
           "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",  // one too many
           "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
           "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
           "PROXY \r\n",
       }) {
    EXPECT_EQ(parse(line), ProxyParse::kInvalid) << line;
  }
}

TEST(ProxyProtocolV1Test, BareLineFeedIsNotALineEnd) {
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nGET / HTTP/1.1\r\n"), ProxyParse::kInvalid);
  EXPECT_EQ(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), ProxyParse::kNeedMore);
}

TEST(ProxyProtocolV1Test, TooLongLine) {
  // 108 bytes with the line end: one more than the protocol allows.
  std::string line(kV1Longest);
  line.insert(line.size() - 2, "5");
  ASSERT_EQ(line.size(), 108u);
  EXPECT_EQ(parse(line), ProxyParse::kInvalid);
  // No line end within 107 bytes.
  EXPECT_EQ(parse("PROXY TCP4 " + std::string(96, '1')), ProxyParse::kInvalid);
  EXPECT_EQ(parse("PROXY TCP4 " + std::string(95, '1')), ProxyParse::kNeedMore);  // 106 bytes
  EXPECT_EQ(parse("PROXY TCP4 " + std::string(500, '1') + "\r\n"), ProxyParse::kInvalid);
}

TEST(ProxyProtocolV1Test, EveryPrefixNeedsMore) {
  for (std::string_view line : {kV1Tcp4, kV1Tcp6, kV1Longest, "PROXY UNKNOWN\r\n"sv}) {
    for (size_t n = 1; n < line.size(); ++n) {
      ProxyHeader h;
      h.version = 42;
      EXPECT_EQ(parse(line.substr(0, n), &h), ProxyParse::kNeedMore) << n << " of " << line;
      EXPECT_EQ(h.version, 42) << "untouched until complete";
    }
    EXPECT_EQ(parse(line), ProxyParse::kOk) << line;
  }
}

// ---------------------------------------------------------------------------------------------
// Version 2 (binary).

const std::string kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: signature, version/command, family/protocol, length, then `payload`.
std::string v2Header(uint8_t ver_cmd, uint8_t fam_proto, std::string_view payload,
                     size_t length_field = SIZE_MAX) {
  const size_t len = length_field == SIZE_MAX ? payload.size() : length_field;
  std::string s = kV2Signature;
  s += static_cast<char>(ver_cmd);
  s += static_cast<char>(fam_proto);
  s += static_cast<char>((len >> 8) & 0xFF);
  s += static_cast<char>(len & 0xFF);
  s.append(payload);
  return s;
}

std::string bytes(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s += static_cast<char>(v);
  return s;
}

std::string port(uint16_t p) { return bytes({p >> 8, p & 0xFF}); }

// 192.0.2.1:51234 -> 198.51.100.2:443
std::string ipv4Addresses() {
  return bytes({192, 0, 2, 1}) + bytes({198, 51, 100, 2}) + port(51234) + port(443);
}

// [2001:db8::1]:40000 -> [2001:db8::ff]:8443
std::string ipv6Addresses() {
  std::string src = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
  std::string dst = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff});
  return src + dst + port(40000) + port(8443);
}

std::string tlv(int type, std::string_view value) {
  return bytes({type, static_cast<int>(value.size() >> 8), static_cast<int>(value.size() & 0xFF)}) +
         std::string(value);
}

TEST(ProxyProtocolV2Test, Ipv4) {
  const std::string header = v2Header(0x21, 0x11, ipv4Addresses());
  ASSERT_EQ(header.size(), 28u);
  const std::string in = header + "GET / HTTP/1.1\r\n";
  ProxyHeader h;
  ASSERT_EQ(parse(in, &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 2);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.src_ip, "192.0.2.1");
  EXPECT_EQ(h.dst_ip, "198.51.100.2");
  EXPECT_EQ(h.src_port, 51234);
  EXPECT_EQ(h.dst_port, 443);
  EXPECT_EQ(h.length, 28u);
  EXPECT_EQ(in.substr(h.length, 4), "GET ");
}

TEST(ProxyProtocolV2Test, Ipv4OverUdpStillCarriesTheAddress) {
  ProxyHeader h;
  ASSERT_EQ(parse(v2Header(0x21, 0x12, ipv4Addresses()), &h), ProxyParse::kOk);
  EXPECT_EQ(h.src_ip, "192.0.2.1");
}

TEST(ProxyProtocolV2Test, Ipv6) {
  const std::string header = v2Header(0x21, 0x21, ipv6Addresses());
  ASSERT_EQ(header.size(), 52u);
  ProxyHeader h;
  ASSERT_EQ(parse(header + "GET", &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 2);
  EXPECT_FALSE(h.local);
  EXPECT_EQ(h.src_ip, "2001:db8::1");
  EXPECT_EQ(h.dst_ip, "2001:db8::ff");
  EXPECT_EQ(h.src_port, 40000);
  EXPECT_EQ(h.dst_port, 8443);
  EXPECT_EQ(h.length, 52u);
}

TEST(ProxyProtocolV2Test, LocalCommand) {
  ProxyHeader h;
  ASSERT_EQ(parse(v2Header(0x20, 0x00, "") + "GET / HTTP/1.1\r\n", &h), ProxyParse::kOk);
  EXPECT_EQ(h.version, 2);
  EXPECT_TRUE(h.local);
  EXPECT_EQ(h.src_ip, "");
  EXPECT_EQ(h.length, 16u);

  // LOCAL with an address block: the block is skipped, the address not used.
  ProxyHeader with_addr;
  ASSERT_EQ(parse(v2Header(0x20, 0x11, ipv4Addresses()), &with_addr), ProxyParse::kOk);
  EXPECT_TRUE(with_addr.local);
  EXPECT_EQ(with_addr.src_ip, "");
  EXPECT_EQ(with_addr.length, 28u);
}

TEST(ProxyProtocolV2Test, UnspecifiedAndUnixFamiliesCarryNoAddress) {
  for (uint8_t fam : {0x00, 0x31, 0x32}) {
    ProxyHeader h;
    const std::string payload(fam == 0 ? 0 : 216, 'u');
    ASSERT_EQ(parse(v2Header(0x21, fam, payload), &h), ProxyParse::kOk) << int(fam);
    EXPECT_TRUE(h.local) << int(fam);
    EXPECT_EQ(h.length, 16 + payload.size());
  }
}

TEST(ProxyProtocolV2Test, TlvsAfterTheAddressesAreSkipped) {
  const std::string tlvs = tlv(0x02, "example.com") + tlv(0x04, std::string(3, '\0')) +
                           tlv(0x20, bytes({0x01, 0, 0, 0, 0}));
  const std::string payload = ipv4Addresses() + tlvs;
  const std::string in = v2Header(0x21, 0x11, payload) + "GET / HTTP/1.1\r\n";
  ProxyHeader h;
  ASSERT_EQ(parse(in, &h), ProxyParse::kOk);
  EXPECT_EQ(h.src_ip, "192.0.2.1");
  EXPECT_EQ(h.dst_port, 443);
  EXPECT_EQ(h.length, 16 + 12 + tlvs.size());
  EXPECT_EQ(in.substr(h.length), "GET / HTTP/1.1\r\n");

  const std::string in6 = v2Header(0x21, 0x21, ipv6Addresses() + tlvs) + "X";
  ProxyHeader h6;
  ASSERT_EQ(parse(in6, &h6), ProxyParse::kOk);
  EXPECT_EQ(h6.src_ip, "2001:db8::1");
  EXPECT_EQ(h6.length, in6.size() - 1);
}

TEST(ProxyProtocolV2Test, TruncatedNeedsMore) {
  for (const std::string& full :
       {v2Header(0x21, 0x11, ipv4Addresses()), v2Header(0x21, 0x21, ipv6Addresses()),
        v2Header(0x20, 0x00, ""), v2Header(0x21, 0x11, ipv4Addresses() + tlv(0x02, "host"))}) {
    for (size_t n = 1; n < full.size(); ++n) {
      ProxyHeader h;
      h.version = 42;
      EXPECT_EQ(parse(std::string_view(full).substr(0, n), &h), ProxyParse::kNeedMore) << n;
      EXPECT_EQ(h.version, 42);
    }
    EXPECT_EQ(parse(full), ProxyParse::kOk);
  }
}

TEST(ProxyProtocolV2Test, WrongVersionIsInvalid) {
  for (uint8_t ver_cmd : {0x11, 0x01, 0x31, 0xF1, 0x10}) {
    EXPECT_EQ(parse(v2Header(ver_cmd, 0x11, ipv4Addresses())), ProxyParse::kInvalid)
        << int(ver_cmd);
  }
}

TEST(ProxyProtocolV2Test, UnknownCommandIsInvalid) {
  for (uint8_t ver_cmd : {0x22, 0x2F}) {
    EXPECT_EQ(parse(v2Header(ver_cmd, 0x11, ipv4Addresses())), ProxyParse::kInvalid)
        << int(ver_cmd);
  }
}

TEST(ProxyProtocolV2Test, AddressBlockShorterThanTheFamilyNeedsIsInvalid) {
  EXPECT_EQ(parse(v2Header(0x21, 0x11, ipv4Addresses().substr(0, 11))), ProxyParse::kInvalid);
  EXPECT_EQ(parse(v2Header(0x21, 0x21, ipv6Addresses().substr(0, 35))), ProxyParse::kInvalid);
  EXPECT_EQ(parse(v2Header(0x21, 0x21, ipv4Addresses())), ProxyParse::kInvalid);
}

TEST(ProxyProtocolV2Test, OversizedLengthIsInvalid) {
  // Refused from the length field alone: no need to wait for 64 KiB.
  EXPECT_EQ(parse(v2Header(0x21, 0x11, "", 4097)), ProxyParse::kInvalid);
  EXPECT_EQ(parse(v2Header(0x21, 0x11, "", 0xFFFF)), ProxyParse::kInvalid);
  const std::string max_payload = ipv4Addresses() + std::string(4096 - 12, '\0');
  EXPECT_EQ(parse(v2Header(0x21, 0x11, max_payload)), ProxyParse::kOk);
}

// ---------------------------------------------------------------------------------------------
// Not PROXY at all.

TEST(ProxyProtocolTest, OtherBytesAreNotProxy) {
  for (std::string_view in :
       {"GET / HTTP/1.1\r\nHost: a\r\n\r\n"sv, "POST / HTTP/1.1\r\n"sv, "PRI * HTTP/2.0\r\n"sv,
        "PROXYTCP4\r\n"sv, "proxy TCP4\r\n"sv, "\r\n\r\nGET / HTTP/1.1\r\n"sv,
        "\x16\x03\x01\x02\x00"sv, "\0"sv, "\r\n\r\n\0\r\nQUIX\n!!!!"sv}) {
    EXPECT_EQ(parse(in), ProxyParse::kNotProxy) << in;
  }
}

TEST(ProxyProtocolTest, AmbiguousPrefixesNeedMore) {
  for (std::string_view in :
       {""sv, "P"sv, "PROX"sv, "PROXY"sv, "\r"sv, "\r\n"sv, "\r\n\r\n"sv, "\r\n\r\n\0\r\nQUIT"sv}) {
    EXPECT_EQ(parse(in), ProxyParse::kNeedMore) << in.size();
  }
}

}  // namespace
}  // namespace drosera::http
