// Honeytokens: secrets (fake API keys, database passwords) in the fake files, unique per install
// and per visitor. The registry remembers each token handed out and the event that handed it
// out; a request that later carries one (in any header, parameter or body, on any listener) is
// a trap hit linked to that event. Thread-safe; bounded (oldest tokens forgotten first).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"

namespace drosera::sensor::traps {

struct TokenOrigin {
  std::string unique_id;   // the event that handed the token out
  std::string name;        // "db_password", "aws_secret_access_key", ...
  std::string ip;          // who received it
  int64_t issued_us = 0;
};

class HoneytokenRegistry {
 public:
  explicit HoneytokenRegistry(size_t max_tokens) : max_(max_tokens) {}
  // Remembers `token` unless it is known already (the first hand-out stays the origin).
  void add(const std::string& token, TokenOrigin origin);
  std::optional<TokenOrigin> find(const std::string& token) const;
  // The first registered token in `text`: tokens are runs of [A-Za-z0-9_] of 16+ characters.
  std::optional<std::pair<std::string, TokenOrigin>> scan(std::string_view text) const;
  size_t size() const;
  std::vector<std::string> recent(size_t n) const;  // newest first
  // Writes the tokens if any was added since the last save that worked (else does nothing).
  core::Status save(const std::string& path) const;
  core::Status load(const std::string& path);

 private:
  size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenOrigin> tokens_;
  std::deque<std::string> order_;  // insertion order, for eviction
  mutable bool dirty_ = false;     // added to since the last save that worked
};

// Token names the bait templates use, and whether each is a secret worth tracking.
bool isHoneytokenName(std::string_view name);
// The token `name` for `visitor_key` (a visitor id or an IP), stable for the install.
std::string makeToken(const InstallSecret& secret, std::string_view name,
                      std::string_view visitor_key);
// The part of a token value that the registry keys on (e.g. without a trailing '=').
std::string tokenKey(std::string_view value);

void honeytokenRules(int base, RuleFlavor flavor, const std::vector<std::string>& known,
                     RuleSet& out);

}  // namespace drosera::sensor::traps
