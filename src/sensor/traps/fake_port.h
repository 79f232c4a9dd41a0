// Fake listen ports: extra listeners (kind = "fake"), each with its own persona and site.
// Identification: any request on one.
#pragma once

#include <cstdint>
#include <vector>

#include "sensor/traps/rules.h"

namespace drosera::sensor::traps {

struct FakePortTrap {
  std::vector<uint16_t> ports;  // as configured (for exported rules)
  void rules(int base, RuleFlavor flavor, RuleSet& out) const;
};

}  // namespace drosera::sensor::traps
