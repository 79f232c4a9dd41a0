#include "intel/misp_values.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/digits.h"
#include "http/ip_match.h"

namespace drosera::intel {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 when it is not well-formed.
size_t utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  const auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && isSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && isSpace(v.back())) v.remove_suffix(1);
  return v;
}

std::string cleanImpl(std::string_view in, size_t max_bytes, bool keep_newline) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  for (size_t i = 0; i < in.size();) {
    const size_t n = utf8Length(in, i);
    std::string_view piece;
    char one = 0;
    if (n == 0) {
      piece = "\xEF\xBF\xBD";  // U+FFFD
      i += 1;
    } else if (n == 4) {
      one = '?';
      i += 4;
    } else if (n == 1) {
      const uint8_t c = static_cast<uint8_t>(in[i]);
      one = static_cast<char>(c);
      if (c == '\n' && !keep_newline)
        one = ' ';
      else if (c < 0x20 && c != '\t' && c != '\n')
        one = ' ';
      else if (c == 0x7F)
        one = ' ';
      i += 1;
    } else {
      piece = in.substr(i, n);
      i += n;
    }
    const size_t add = one ? 1 : piece.size();
    if (out.size() + add > max_bytes) break;
    if (one)
      out.push_back(one);
    else
      out.append(piece);
  }
  return std::string(trim(out));
}

bool isHostname(std::string_view v) {
  // MISP: ^[A-Z0-9.\-_]+\.[A-Z0-9\-]{2,}$ (case-insensitive).
  const size_t dot = v.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string_view head = v.substr(0, dot);
  std::string_view tld = v.substr(dot + 1);
  if (tld.size() < 2) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  for (char c : head) {
    if (!alnum(c) && c != '.' && c != '-' && c != '_') return false;
  }
  for (char c : tld) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

// YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)
bool isIsoDatetime(std::string_view v) {
  const auto d = [&](size_t i) { return i < v.size() && v[i] >= '0' && v[i] <= '9'; };
  if (v.size() < 20) return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    if (!d(i)) return false;
  }
  if (v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != ' ') || v[13] != ':' ||
      v[16] != ':') {
    return false;
  }
  size_t i = 19;
  if (i < v.size() && v[i] == '.') {
    ++i;
    const size_t start = i;
    while (d(i)) ++i;
    if (i == start || i - start > 6) return false;
  }
  if (i < v.size() && v[i] == 'Z') return i + 1 == v.size();
  if (i + 6 != v.size() || (v[i] != '+' && v[i] != '-')) return false;
  return d(i + 1) && d(i + 2) && v[i + 3] == ':' && d(i + 4) && d(i + 5);
}

bool isMispSafeText(std::string_view v, bool allow_newline) {
  if (v.size() > kMaxValueBytes) return false;
  for (size_t i = 0; i < v.size();) {
    const size_t n = utf8Length(v, i);
    if (n == 0 || n == 4) return false;
    if (!allow_newline && v[i] == '\n') return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string cleanText(std::string_view bytes, size_t max_bytes) {
  return cleanImpl(bytes, max_bytes, true);
}

std::string cleanLine(std::string_view bytes, size_t max_bytes) {
  return cleanImpl(bytes, max_bytes, false);
}

std::string cleanUri(std::string_view in, size_t max_bytes) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  for (size_t i = 0; i < in.size();) {
    const size_t n = utf8Length(in, i);
    const uint8_t c = static_cast<uint8_t>(in[i]);
    std::string piece;
    if (n == 2 || n == 3) {
      piece.assign(in.substr(i, n));
      i += n;
    } else if (n == 1 && c > 0x20 && c < 0x7F) {
      piece.push_back(static_cast<char>(c));
      i += 1;
    } else {
      const size_t take = n == 4 ? 4 : 1;
      for (size_t k = 0; k < take; ++k) {
        const uint8_t b = static_cast<uint8_t>(in[i + k]);
        piece += '%';
        piece += kHex[b >> 4];
        piece += kHex[b & 15];
      }
      i += take;
    }
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
  }
  return out;
}

bool isMispHttpMethod(std::string_view m) {
  static constexpr std::array<std::string_view, 30> kMethods = {
      "OPTIONS",         "GET",        "HEAD",     "POST",     "PUT",
      "DELETE",          "TRACE",      "CONNECT",  "PROPFIND", "PROPPATCH",
      "MKCOL",           "COPY",       "MOVE",     "LOCK",     "UNLOCK",
      "VERSION-CONTROL", "REPORT",     "CHECKOUT", "CHECKIN",  "UNCHECKOUT",
      "MKWORKSPACE",     "UPDATE",     "LABEL",    "MERGE",    "BASELINE-CONTROL",
      "MKACTIVITY",      "ORDERPATCH", "ACL",      "PATCH",    "SEARCH"};
  for (std::string_view k : kMethods) {
    if (k == m) return true;
  }
  return false;
}

std::optional<std::string> normaliseValue(std::string_view type, std::string_view raw) {
  const std::string_view v = trim(raw);
  if (v.empty()) return std::nullopt;
  if (type == "ip-src" || type == "ip-dst") {
    std::array<uint8_t, 16> a{};
    if (v.find('/') != std::string_view::npos || v.find('%') != std::string_view::npos ||
        v.front() == '[' || !http::parseIp(v, &a)) {
      return std::nullopt;
    }
    return http::canonicalIp(v);
  }
  if (type == "port") {
    uint64_t p = 0;
    if (!core::parseDigits(v, &p) || p < 1 || p > 65535) return std::nullopt;
    return std::to_string(p);
  }
  if (type == "AS" || type == "counter") {
    uint64_t n = 0;
    if (!core::parseDigits(v, &n)) return std::nullopt;
    if (type == "AS" && (n < 1 || n > 4294967295ull)) return std::nullopt;
    return std::to_string(n);
  }
  if (type == "http-method") {
    std::string up(v);
    for (char& c : up) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    if (!isMispHttpMethod(up)) return std::nullopt;
    return up;
  }
  if (type == "hostname" || type == "domain") {
    std::string low(v);
    for (char& c : low) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (type == "domain") {
      while (!low.empty() && low.back() == '.') low.pop_back();
      while (!low.empty() && low.front() == '.') low.erase(low.begin());
    }
    if (!isHostname(low)) return std::nullopt;
    return low;
  }
  if (type == "datetime") {
    if (!isIsoDatetime(v)) return std::nullopt;
    return std::string(v);
  }
  if (type == "url" || type == "uri" || type == "user-agent") {
    if (!isMispSafeText(v, false)) return std::nullopt;
    return std::string(v);
  }
  if (type == "text" || type == "other" || type == "comment" || type == "pattern-in-traffic") {
    if (!isMispSafeText(v, true)) return std::nullopt;
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace drosera::intel
