// Fuzz target: the PROXY protocol v1/v2 header parser (src/http/proxy_protocol.h).
//
// Invariants:
//  - a header lies inside the input, within the version's size bound, and ends where its format
//    says (CRLF for v1, 16 + announced length for v2); addresses are valid for one family;
//  - the answer depends only on the header's bytes: the header alone parses the same, every
//    shorter prefix asks for more, and bytes after it (or after a refusal) change nothing;
//  - round trip: the addresses written as a v1 line and as a v2 header read back the same.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/proxy_protocol.h"

namespace {

using drosera::http::parseProxyHeader;
using drosera::http::ProxyHeader;
using drosera::http::ProxyParse;

constexpr char kV2Sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.version == b.version && a.local == b.local && a.src_ip == b.src_ip &&
         a.dst_ip == b.dst_ip && a.src_port == b.src_port && a.dst_port == b.dst_port &&
         a.length == b.length;
}

// AF_INET or AF_INET6 for a valid address literal, 0 otherwise; the binary form in `out`.
int family(const std::string& ip, unsigned char out[16]) {
  if (inet_pton(AF_INET, ip.c_str(), out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, ip.c_str(), out) == 1) return AF_INET6;
  return 0;
}

ProxyParse parse(std::string_view in, ProxyHeader* h) {
  *h = ProxyHeader{};
  return parseProxyHeader(in, h);
}

void roundTrip(const ProxyHeader& h) {
  unsigned char src[16], dst[16];
  const int fam = family(h.src_ip, src);
  FUZZ_CHECK(fam != 0 && family(h.dst_ip, dst) == fam);

  const std::string v1 = std::string("PROXY ") + (fam == AF_INET ? "TCP4 " : "TCP6 ") + h.src_ip +
                         " " + h.dst_ip + " " + std::to_string(h.src_port) + " " +
                         std::to_string(h.dst_port) + "\r\n";
  ProxyHeader a;
  FUZZ_CHECK(parse(v1, &a) == ProxyParse::kOk);
  FUZZ_CHECK(a.version == 1 && !a.local && a.length == v1.size());
  FUZZ_CHECK(a.src_ip == h.src_ip && a.dst_ip == h.dst_ip);
  FUZZ_CHECK(a.src_port == h.src_port && a.dst_port == h.dst_port);

  const size_t alen = fam == AF_INET ? 4 : 16;
  std::string v2(kV2Sig, sizeof kV2Sig);
  v2 += '\x21';                                           // version 2, PROXY
  v2 += static_cast<char>(fam == AF_INET ? 0x11 : 0x21);  // TCP over IPv4 / IPv6
  const size_t len = 2 * alen + 4;
  v2 += static_cast<char>(len >> 8);
  v2 += static_cast<char>(len & 0xFF);
  v2.append(reinterpret_cast<const char*>(src), alen);
  v2.append(reinterpret_cast<const char*>(dst), alen);
  for (uint16_t port : {h.src_port, h.dst_port}) {
    v2 += static_cast<char>(port >> 8);
    v2 += static_cast<char>(port & 0xFF);
  }
  ProxyHeader b;
  FUZZ_CHECK(parse(v2, &b) == ProxyParse::kOk);
  FUZZ_CHECK(b.version == 2 && !b.local && b.length == v2.size());
  unsigned char bsrc[16], bdst[16];
  FUZZ_CHECK(family(b.src_ip, bsrc) == fam && family(b.dst_ip, bdst) == fam);
  FUZZ_CHECK(std::memcmp(bsrc, src, alen) == 0 && std::memcmp(bdst, dst, alen) == 0);
  FUZZ_CHECK(b.src_port == h.src_port && b.dst_port == h.dst_port);
}

// Prefixes to try: all of the short ones, a sample of the long ones.
template <typename F>
void forPrefixes(size_t n, F f) {
  const size_t step = n <= 256 ? 1 : n / 128;
  for (size_t k = 0; k < n; k += step) f(k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ProxyHeader h;
  const ProxyParse st = parse(in, &h);
  ProxyHeader again;

  // More bytes after the input never change a decision.
  const std::string longer = std::string(in) + "GET / HTTP/1.1\r\n\r\n";
  if (st != ProxyParse::kNeedMore) {
    FUZZ_CHECK(parse(longer, &again) == st);
    if (st == ProxyParse::kOk) FUZZ_CHECK(same(again, h));
  }

  switch (st) {
    case ProxyParse::kOk: {
      FUZZ_CHECK(h.length > 0 && h.length <= in.size());
      if (h.version == 1) {
        FUZZ_CHECK(h.length <= 107);
        FUZZ_CHECK(in.substr(0, 6) == "PROXY ");
        FUZZ_CHECK(in.substr(h.length - 2, 2) == "\r\n");
        FUZZ_CHECK(in.substr(0, h.length - 2).find("\r\n") == std::string_view::npos);
      } else {
        FUZZ_CHECK(h.version == 2);
        FUZZ_CHECK(h.length >= 16 && h.length <= 16 + 4096);
        FUZZ_CHECK(std::memcmp(in.data(), kV2Sig, sizeof kV2Sig) == 0);
        const size_t len =
            (static_cast<size_t>(static_cast<uint8_t>(in[14])) << 8) | static_cast<uint8_t>(in[15]);
        FUZZ_CHECK(h.length == 16 + len);
      }
      if (h.local) {
        FUZZ_CHECK(h.src_ip.empty() && h.dst_ip.empty() && h.src_port == 0 && h.dst_port == 0);
      } else {
        roundTrip(h);
      }
      // The header alone is enough, and any less is not.
      FUZZ_CHECK(parse(in.substr(0, h.length), &again) == ProxyParse::kOk && same(again, h));
      forPrefixes(h.length, [&](size_t k) {
        FUZZ_CHECK(parse(in.substr(0, k), &again) == ProxyParse::kNeedMore);
      });
      break;
    }
    case ProxyParse::kNeedMore:
      // Only a prefix of a header asks for more, and each of its prefixes does too.
      FUZZ_CHECK(in.size() < 16 + 4096);
      forPrefixes(in.size(), [&](size_t k) {
        FUZZ_CHECK(parse(in.substr(0, k), &again) == ProxyParse::kNeedMore);
      });
      break;
    case ProxyParse::kNotProxy: {
      // Neither signature starts the input.
      FUZZ_CHECK(!in.empty());
      const size_t n2 = std::min(in.size(), sizeof kV2Sig);
      const size_t n1 = std::min<size_t>(in.size(), 6);
      FUZZ_CHECK(std::memcmp(in.data(), kV2Sig, n2) != 0 &&
                 in.substr(0, n1) != std::string_view("PROXY ", n1));
      break;
    }
    case ProxyParse::kInvalid:
      break;
  }
  return 0;
}
