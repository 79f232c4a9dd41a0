// Fake admin logins (/wp-login.php, /phpmyadmin/, /admin/) that look and fail like the real
// products. Every POST captures user and password.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sensor/traps/rules.h"

namespace drosera::sensor::traps {

struct AdminLogin {
  std::string product;           // wordpress | phpmyadmin | admin
  std::vector<std::string> paths;  // URL paths serving the login page (first: canonical)
  std::string page_template;     // with {{message}}
  std::string error_template;    // with {{username}}
  std::string user_field;
  std::string password_field;
  int rule_offset = 0;
};

struct AdminLoginTrap {
  std::vector<AdminLogin> logins;

  static AdminLoginTrap make();
  const AdminLogin* find(std::string_view path) const;
  // A path that a real server would redirect to a login ("/wp-admin/" -> wp-login.php,
  // "/phpmyadmin" -> "/phpmyadmin/"); empty when none.
  std::string redirectFor(std::string_view path) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
