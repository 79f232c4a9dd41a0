// Strict decimal numbers from text an attacker or an operator wrote: every byte a digit, at least
// one, no sign, no spaces, no overflow ("12abc", "-1", "+1", " 1" and 2^64 are no numbers).
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace drosera::core {

inline bool isDigit(char c) { return c >= '0' && c <= '9'; }

inline bool parseDigits(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace drosera::core
