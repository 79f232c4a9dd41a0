#include "http/ip_match.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace drosera::http {

bool parseIp(std::string_view ip, std::array<uint8_t, 16>* out) {
  if (ip.size() >= INET6_ADDRSTRLEN || ip.find('\0') != std::string_view::npos) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  // Strip brackets and zone ids: "[::1]", "fe80::1%eth0".
  std::string_view v(buf, ip.size());
  std::string s(v);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out->fill(0);
    (*out)[10] = 0xFF;
    (*out)[11] = 0xFF;
    std::memcpy(out->data() + 12, &a4, 4);
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    return true;
  }
  return false;
}

std::string canonicalIp(std::string_view ip) {
  std::array<uint8_t, 16> a{};
  if (!parseIp(ip, &a)) return std::string(ip);
  char buf[INET6_ADDRSTRLEN];
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(a.data(), kMapped, 12) == 0) {
    return inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  }
  return inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
}

core::Status IpMatcher::add(std::string_view cidr) {
  std::string_view addr = cidr;
  int prefix = -1;
  if (auto slash = cidr.find('/'); slash != std::string_view::npos) {
    addr = cidr.substr(0, slash);
    std::string_view p = cidr.substr(slash + 1);
    auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || prefix < 0) {
      return core::Status::invalidArgument("bad prefix length in '" + std::string(cidr) + "'");
    }
  }
  Net n{};
  if (!parseIp(addr, &n.addr)) {
    return core::Status::invalidArgument("not an IP address or CIDR: '" + std::string(cidr) + "'");
  }
  const bool v4 = addr.find(':') == std::string_view::npos;
  if (prefix < 0) prefix = v4 ? 32 : 128;
  if ((v4 && prefix > 32) || prefix > 128) {
    return core::Status::invalidArgument("prefix too long in '" + std::string(cidr) + "'");
  }
  n.prefix = v4 ? prefix + 96 : prefix;
  nets_.push_back(n);
  return core::Status::ok();
}

bool IpMatcher::contains(std::string_view ip) const {
  std::array<uint8_t, 16> a{};
  if (!parseIp(ip, &a)) return false;
  for (const auto& n : nets_) {
    int bits = n.prefix;
    size_t i = 0;
    bool match = true;
    for (; bits >= 8; bits -= 8, ++i) {
      if (a[i] != n.addr[i]) {
        match = false;
        break;
      }
    }
    if (match && bits > 0) {
      const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
      match = (a[i] & mask) == (n.addr[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

}  // namespace drosera::http
