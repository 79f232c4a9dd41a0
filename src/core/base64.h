// Base64 (RFC 4648) for raw bytes in events and for Basic credentials. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace drosera::core {

std::string base64Encode(std::string_view bytes);
// Standard or URL-safe alphabet, padding optional, whitespace ignored; nullopt on other bytes.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace drosera::core
