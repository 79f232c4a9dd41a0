// HTML comment bait: a developer's comment in a page (by default the login page) pointing to an
// old backup of it. The backup is served as a plausible file whose secrets are honeytokens.
// Identification: any request for it.
#pragma once

#include <string>

#include "core/config.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"

namespace drosera::sensor::traps {

struct CommentTrap {
  std::string page;     // URL path of the page carrying the comment
  std::string path;     // the resource the comment points to
  std::string comment;  // "<!-- ... -->"

  static CommentTrap make(const core::TrapsConfig& config, const InstallSecret& secret);
  // Puts the comment before the first <form, else before </body>; false if neither exists.
  bool inject(std::string& html) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
