// Cookie bait: a cookie on HTML responses whose value is signed per visitor with the install's
// secret ("<role>.<visitor>.<mac>"). Sent back unchanged it identifies the visitor; altered or
// forged (bad signature) it is a trap hit. The sensor checks the signature and hands the result
// to its rules as TX:DROSERA_COOKIE; exported rules (no secret) check the value's shape.
#pragma once

#include <string>
#include <vector>

#include "core/capture.h"
#include "core/config.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"

namespace drosera::sensor::traps {

struct CookieTrap {
  std::string name;
  std::string role;           // the visible, tempting part of the value ("guest")
  const InstallSecret* secret = nullptr;

  enum class State { kAbsent, kValid, kForged };

  static CookieTrap make(const core::TrapsConfig& config, const InstallSecret& secret);
  std::string value(const std::string& visitor) const;
  std::string setCookie(const std::string& visitor) const;  // the Set-Cookie header value
  // Reads the cookie from the request headers; on kValid sets *visitor; *raw gets the value.
  State check(const std::vector<core::Header>& headers, std::string* visitor,
              std::string* raw) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

// A new random visitor id (16 hex characters).
std::string newVisitorId();

}  // namespace drosera::sensor::traps
