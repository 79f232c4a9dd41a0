// A set of IP addresses and CIDR blocks (IPv4 and IPv6), e.g. the trusted proxies. Built once,
// then read-only and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace drosera::http {

class IpMatcher {
 public:
  // Adds "203.0.113.7", "10.0.0.0/8", "2001:db8::/32". IPv4-mapped IPv6 addresses match IPv4.
  core::Status add(std::string_view cidr);
  bool contains(std::string_view ip) const;
  bool empty() const { return nets_.empty(); }

 private:
  struct Net {
    std::array<uint8_t, 16> addr;  // IPv4 stored as IPv4-mapped IPv6
    int prefix;                    // in IPv6 bits
  };
  std::vector<Net> nets_;
};

// Parses an IPv4 or IPv6 literal into 16 bytes (IPv4 as ::ffff:a.b.c.d). False if invalid.
bool parseIp(std::string_view ip, std::array<uint8_t, 16>* out);
// The canonical text of an address; IPv4-mapped IPv6 becomes plain IPv4.
std::string canonicalIp(std::string_view ip);

}  // namespace drosera::http
