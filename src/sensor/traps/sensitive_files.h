// Fake sensitive files every scanner asks for (/.env, /.git/config, /backup.sql,
// /wp-config.php.bak, /phpinfo.php, and the HTML comment's backup), rendered from templates in
// the baits folder with honeytokens for the visitor. Identification: any request for one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sensor/traps/rules.h"

namespace drosera::sensor::traps {

struct SensitiveFile {
  std::string path;          // URL path
  std::string template_name; // file in the baits folder
  std::string content_type;  // as the persona's server would send it
};

struct SensitiveFilesTrap {
  std::vector<SensitiveFile> files;

  static SensitiveFilesTrap make();
  const SensitiveFile* find(std::string_view path) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
