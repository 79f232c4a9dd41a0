#include "sensor/traps/fake_port.h"

#include <string>

namespace drosera::sensor::traps {

void FakePortTrap::rules(int base, RuleFlavor flavor, RuleSet& out) const {
  const int id = base + 1;
  out.comment("Fake listen ports: nothing links to them; whoever talks to one is scanning.");
  const std::string actions =
      "id:" + std::to_string(id) +
      ",phase:1,pass,log,msg:'Honeytrap: request on a fake port',tag:'honeytrap/fake_port',"
      "tag:'attack-reputation-scanner',severity:'WARNING',logdata:'port %{SERVER_PORT}'";
  if (flavor == RuleFlavor::kSensor) {
    // The sensor knows which listener is fake, whatever port it was bound to.
    out.rule({id, "fake_port", "listener"},
             "SecRule TX:DROSERA_LISTENER \"@streq fake\" \"" + actions + "\"");
    return;
  }
  if (ports.empty()) return;
  std::string alt;
  for (uint16_t p : ports) alt += (alt.empty() ? "" : "|") + std::to_string(p);
  out.rule({id, "fake_port", "listener"},
           "SecRule SERVER_PORT \"@rx ^(?:" + alt + ")$\" \"" + actions + "\"");
}

}  // namespace drosera::sensor::traps
