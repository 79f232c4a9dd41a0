// Hidden form field bait: <input type="hidden" name=N value=V> before every </form> (any case) of
// every HTML page. A browser sends it back unchanged; a request carrying N with another value
// was tampered with.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "sensor/traps/rules.h"
#include "sensor/traps/secret.h"

namespace drosera::sensor::traps {

struct HiddenFieldTrap {
  std::string name;
  std::string value;

  static HiddenFieldTrap make(const core::TrapsConfig& config, const InstallSecret& secret);
  std::string input() const;
  std::string inject(std::string_view html, size_t* forms = nullptr) const;
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
