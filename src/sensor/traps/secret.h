// The install's secret: 32 random bytes made on first start (<data_dir>/secrets/traps.key, mode
// 0600). Every bait name, cookie signature and honeytoken is derived from it, so baits differ
// between installs and stay the same across restarts. Read-only after load; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace drosera::sensor::traps {

class InstallSecret {
 public:
  static core::Result<InstallSecret> loadOrCreate(const std::string& data_dir);
  static InstallSecret fromBytes(std::string bytes);  // tests

  // HMAC-SHA256(secret, label || 0 || data), raw bytes.
  std::string mac(std::string_view label, std::string_view data) const;
  std::string macHex(std::string_view label, std::string_view data, size_t hex_chars) const;
  // A stable choice among `options` for `label`.
  const std::string& pick(std::string_view label, const std::vector<std::string>& options) const;
  uint64_t number(std::string_view label, uint64_t modulo) const;
  // A stable string of `length` characters from `alphabet` for (label, data).
  std::string text(std::string_view label, std::string_view data, std::string_view alphabet,
                   size_t length) const;

 private:
  std::string key_;
};

// Constant-time comparison for signatures.
bool equalConstantTime(std::string_view a, std::string_view b);
// Random bytes from the operating system.
std::string randomBytes(size_t n);

}  // namespace drosera::sensor::traps
