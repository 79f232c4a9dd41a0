#include "http/proxy_protocol.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <vector>

namespace drosera::http {
namespace {

constexpr char kV2Sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr size_t kV1Max = 107;
constexpr size_t kV2MaxPayload = 4096;

bool validIp(const std::string& s, int family) {
  unsigned char buf[16];
  return inet_pton(family, s.c_str(), buf) == 1;
}

bool parsePort(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

ProxyParse parseV1(std::string_view in, ProxyHeader* out) {
  size_t end = in.find("\r\n");
  if (end == std::string_view::npos) {
    return in.size() >= kV1Max ? ProxyParse::kInvalid : ProxyParse::kNeedMore;
  }
  if (end + 2 > kV1Max) return ProxyParse::kInvalid;
  std::string_view line = in.substr(0, end);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= line.size()) {
    size_t sp = line.find(' ', i);
    if (sp == std::string_view::npos) sp = line.size();
    parts.push_back(line.substr(i, sp - i));
    i = sp + 1;
  }
  ProxyHeader h;
  h.version = 1;
  h.length = end + 2;
  if (parts.size() >= 2 && parts[1] == "UNKNOWN") {
    h.local = true;
    *out = h;
    return ProxyParse::kOk;
  }
  if (parts.size() != 6) return ProxyParse::kInvalid;
  int family = 0;
  if (parts[1] == "TCP4") family = AF_INET;
  else if (parts[1] == "TCP6") family = AF_INET6;
  else return ProxyParse::kInvalid;
  h.src_ip = std::string(parts[2]);
  h.dst_ip = std::string(parts[3]);
  if (!validIp(h.src_ip, family) || !validIp(h.dst_ip, family)) return ProxyParse::kInvalid;
  if (!parsePort(parts[4], &h.src_port) || !parsePort(parts[5], &h.dst_port)) {
    return ProxyParse::kInvalid;
  }
  *out = h;
  return ProxyParse::kOk;
}

ProxyParse parseV2(std::string_view in, ProxyHeader* out) {
  if (in.size() < 16) return ProxyParse::kNeedMore;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  if ((p[12] & 0xF0) != 0x20) return ProxyParse::kInvalid;  // version 2
  const int command = p[12] & 0x0F;
  if (command > 1) return ProxyParse::kInvalid;
  const size_t len = (static_cast<size_t>(p[14]) << 8) | p[15];
  if (len > kV2MaxPayload) return ProxyParse::kInvalid;
  if (in.size() < 16 + len) return ProxyParse::kNeedMore;
  ProxyHeader h;
  h.version = 2;
  h.length = 16 + len;
  if (command == 0) {  // LOCAL: health checks from the proxy itself
    h.local = true;
    *out = h;
    return ProxyParse::kOk;
  }
  const int family = p[13] >> 4;
  const unsigned char* a = p + 16;
  char buf[INET6_ADDRSTRLEN];
  if (family == 1) {  // AF_INET
    if (len < 12) return ProxyParse::kInvalid;
    h.src_ip = inet_ntop(AF_INET, a, buf, sizeof buf);
    h.dst_ip = inet_ntop(AF_INET, a + 4, buf, sizeof buf);
    h.src_port = static_cast<uint16_t>((a[8] << 8) | a[9]);
    h.dst_port = static_cast<uint16_t>((a[10] << 8) | a[11]);
  } else if (family == 2) {  // AF_INET6
    if (len < 36) return ProxyParse::kInvalid;
    h.src_ip = inet_ntop(AF_INET6, a, buf, sizeof buf);
    h.dst_ip = inet_ntop(AF_INET6, a + 16, buf, sizeof buf);
    h.src_port = static_cast<uint16_t>((a[32] << 8) | a[33]);
    h.dst_port = static_cast<uint16_t>((a[34] << 8) | a[35]);
  } else {
    h.local = true;  // AF_UNSPEC or unix sockets: no usable address
  }
  *out = h;
  return ProxyParse::kOk;
}

}  // namespace

ProxyParse parseProxyHeader(std::string_view in, ProxyHeader* out) {
  if (in.empty()) return ProxyParse::kNeedMore;
  // Decide which version from as many bytes as we have.
  const size_t v2n = std::min(in.size(), sizeof kV2Sig);
  if (std::memcmp(in.data(), kV2Sig, v2n) == 0) {
    return v2n < sizeof kV2Sig ? ProxyParse::kNeedMore : parseV2(in, out);
  }
  constexpr std::string_view kV1Sig = "PROXY ";
  const size_t v1n = std::min(in.size(), kV1Sig.size());
  if (in.substr(0, v1n) == kV1Sig.substr(0, v1n)) {
    return v1n < kV1Sig.size() ? ProxyParse::kNeedMore : parseV1(in, out);
  }
  return ProxyParse::kNotProxy;
}

}  // namespace drosera::http
