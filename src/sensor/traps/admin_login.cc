#include "sensor/traps/admin_login.h"

namespace drosera::sensor::traps {

AdminLoginTrap AdminLoginTrap::make() {
  AdminLoginTrap t;
  t.logins = {
      {"wordpress", {"/wp-login.php"}, "wp-login.html", "wp-login-error.html", "log", "pwd", 60},
      {"phpmyadmin",
       {"/phpmyadmin/", "/phpmyadmin/index.php", "/phpMyAdmin/", "/phpMyAdmin/index.php", "/pma/",
        "/pma/index.php"},
       "phpmyadmin.html", "phpmyadmin-error.html", "pma_username", "pma_password", 61},
      {"admin", {"/admin/", "/admin/index.php", "/admin/login.php"}, "admin-login.html",
       "admin-login-error.html", "username", "password", 62},
  };
  return t;
}

const AdminLogin* AdminLoginTrap::find(std::string_view path) const {
  for (const auto& l : logins) {
    for (const auto& p : l.paths) {
      if (p == path) return &l;
    }
  }
  return nullptr;
}

std::string AdminLoginTrap::redirectFor(std::string_view path) const {
  if (path == "/wp-admin" || path == "/wp-admin/" || path == "/wp-admin/index.php") {
    return "/wp-login.php";
  }
  for (const auto& l : logins) {
    for (const auto& p : l.paths) {
      if (p.back() == '/' && path == p.substr(0, p.size() - 1)) return p;
    }
  }
  return "";
}

void AdminLoginTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const TrapPath p = trapPath(flavor);
  for (const auto& l : logins) {
    std::string alt;
    for (const auto& p : l.paths) alt += (alt.empty() ? "" : "|") + regexLiteral(p);
    const int id = base + l.rule_offset;
    out.comment("Fake " + l.product + " login at " + l.paths.front() +
                ": every POST captures user and password.");
    out.rule({id, "admin_login", l.product},
             "SecRule " + p.variable + " \"@rx ^(?:" + ruleArg(alt) +
                 ")$\" \"id:" + std::to_string(id) + ",phase:2," + p.transforms +
                 ",pass,log,chain,msg:'Honeytrap: credentials posted to a fake " + l.product +
                 " login',tag:'honeytrap/admin_login',severity:'CRITICAL',"
                 "logdata:'%{ARGS." +
                 actionArg(l.user_field) + "}:%{ARGS." + actionArg(l.password_field) +
                 "}'\"\n"
                 "    SecRule REQUEST_METHOD \"@streq POST\" \"t:none\"");
  }
}

}  // namespace drosera::sensor::traps
