#include "sensor/traps/cookie.h"

#include "http/parser.h"
#include "sensor/traps/html.h"

namespace drosera::sensor::traps {
namespace {

const std::vector<std::string> kNames = {"bw_role", "uprefs", "session_role", "acct_tier",
                                         "portal_flags", "usr_lvl", "cust_mode", "acl"};
const std::vector<std::string> kRoles = {"guest", "customer", "basic", "user", "viewer"};

bool isHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string newVisitorId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string r = randomBytes(8), out;
  for (unsigned char c : r) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

CookieTrap CookieTrap::make(const core::TrapsConfig& c, const InstallSecret& s) {
  CookieTrap t;
  t.name = c.cookie_name.empty() ? s.pick("cookie/name", kNames) : c.cookie_name;
  t.role = s.pick("cookie/role", kRoles);
  t.secret = &s;
  return t;
}

std::string CookieTrap::value(const std::string& visitor) const {
  return role + "." + visitor + "." + secret->macHex("cookie/mac", role + "." + visitor, 16);
}

std::string CookieTrap::setCookie(const std::string& visitor) const {
  return name + "=" + value(visitor) + "; path=/; HttpOnly";
}

CookieTrap::State CookieTrap::check(const std::vector<core::Header>& headers,
                                    std::string* visitor, std::string* raw) const {
  bool present = false;
  for (const auto& h : headers) {
    if (!http::iequals(h.name, "Cookie")) continue;
    std::string v;
    if (!cookieValue(h.value, name, &v)) continue;
    present = true;
    *raw = v;
    // "<role>.<16 hex>.<16 hex>" with a matching signature.
    const size_t a = v.find('.');
    const size_t b = a == std::string::npos ? a : v.find('.', a + 1);
    if (b == std::string::npos) return State::kForged;
    const std::string r = v.substr(0, a), id = v.substr(a + 1, b - a - 1), mac = v.substr(b + 1);
    if (id.size() != 16 || !isHex(id) || mac.size() != 16) return State::kForged;
    if (!equalConstantTime(mac, secret->macHex("cookie/mac", r + "." + id, 16)) || r != role) {
      return State::kForged;
    }
    *visitor = id;
    return State::kValid;
  }
  return present ? State::kForged : State::kAbsent;
}

void CookieTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const int id = base + 40;
  out.comment("Cookie bait: Set-Cookie: " + name + "=" + role +
              ".<visitor>.<signature>; signed per visitor.\n"
              "Sent back altered or forged, the visitor edited it.");
  const std::string actions = "id:" + std::to_string(id) +
                              ",phase:1,pass,log,msg:'Honeytrap: bait cookie altered or forged',"
                              "tag:'honeytrap/cookie',severity:'CRITICAL',logdata:'%{REQUEST_COOKIES." +
                              actionArg(name) + "}'";
  if (flavor == RuleFlavor::kSensor) {
    out.rule({id, "cookie", name},
             "SecRule TX:DROSERA_COOKIE \"@streq forged\" \"" + actions + "\"");
    return;
  }
  // Without the secret, a WAF can still see when the value lost its shape or role.
  out.rule({id, "cookie", name},
           "SecRule REQUEST_COOKIES:" + ruleArg(name) + " \"!@rx ^" + ruleArg(regexLiteral(role)) +
               "\\.[0-9a-f]{16}\\.[0-9a-f]{16}$\" \"" + actions + "\"");
}

}  // namespace drosera::sensor::traps
