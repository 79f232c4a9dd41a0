// Binary encoding of a Capture for the capture journal. Decoding is bounds-checked and treats
// its input as untrusted (a torn or corrupted journal must not crash the sensor).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/capture.h"

namespace drosera::sensor {

void encodeCapture(const core::Capture& c, std::string& out);
std::optional<core::Capture> decodeCapture(std::string_view in);
// Approximate bytes a capture holds in memory (for queue accounting).
size_t captureFootprint(const core::Capture& c);

}  // namespace drosera::sensor
