// Configuration of MISP reporting (`drosera report misp`, and the periodic reporter inside
// `drosera run` and `drosera collector`) as plain values. The structs live in core/config.h so
// that the TOML loader fills them ([misp], keys in docs/misp.md); every field has its default
// there. Validated by validateMispConfig() and, for tags and data files, when the reporter is
// built.
#pragma once

#include <string>

#include "core/config.h"
#include "core/status.h"

namespace drosera::intel {

using SensorGroup = core::MispSensorGroup;
using MispConfig = core::MispConfig;

// Ranges, URL scheme (https, or http to a loopback address), UUID syntax; errors name the
// key ("misp.distribution: ..."). Tags and data files are checked when the reporter is built.
core::Status validateMispConfig(const MispConfig& config);

// The MISP data shipped with drosera: core::shareDir() + "/data/misp" (taxonomies/, galaxy/,
// objects/, warninglists/, crs-category-to-misp-tags.json).
std::string defaultMispDataDir();

}  // namespace drosera::intel
