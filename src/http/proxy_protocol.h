// The PROXY protocol (HAProxy, versions 1 and 2): the header a load balancer puts before the
// HTTP bytes to pass on the client's address. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace drosera::http {

struct ProxyHeader {
  int version = 0;          // 1 or 2
  bool local = false;       // v2 LOCAL command or v1 UNKNOWN: no address carried
  std::string src_ip;
  std::string dst_ip;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  size_t length = 0;        // bytes of the header; the HTTP request starts after them
};

enum class ProxyParse {
  kNeedMore,   // a prefix of a PROXY header; read more
  kOk,         // `out` holds the header
  kNotProxy,   // the bytes do not start a PROXY header
  kInvalid     // a PROXY header, but malformed
};

// v1 lines are at most 107 bytes; v2 headers at most 16 + 4096 bytes here.
ProxyParse parseProxyHeader(std::string_view in, ProxyHeader* out);

}  // namespace drosera::http
