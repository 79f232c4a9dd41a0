// Where drosera finds the data it ships: the default decoy site, the baits, the dashboard's
// assets (site/, sites/, baits/, web/). Pure lookup; thread-safe.
#pragma once

#include <string>

namespace drosera::core {

// The share folder: $DROSERA_SHARE_DIR if set; else <prefix>/share/drosera when the binary runs
// from <prefix>/bin and that folder holds site/ (an installed drosera); else the folder fixed at
// build time (the source tree, so that a build runs without installing).
std::string shareDir();

}  // namespace drosera::core
