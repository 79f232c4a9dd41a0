// robots.txt bait: a Disallow line inside the "User-agent: *" group (the seed put it under
// Googlebot by mistake) for a path nothing links to. Requests under it are answered 401 with a
// Basic challenge; any credentials sent are decoded and captured.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"

namespace drosera::sensor::traps {

struct RobotsTrap {
  std::string path;   // "/db-archive-2019/"
  std::string realm;

  static RobotsTrap make(const core::TrapsConfig& config, const InstallSecret& secret);
  // robots.txt with the bait appended to the "User-agent: *" group (a group is added if none).
  std::string inject(std::string_view robots_txt) const;
  // Whether a decoded request path is under the bait.
  bool covers(std::string_view path) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
