// RFC 4122 name-based UUIDs (version 5, SHA-1), which make every MISP identifier a function of
// what it names: the same sensor-day, attribute or object always gets the same UUID, so a
// resend after a crash is recognised by MISP instead of duplicated. Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace drosera::intel {

using UuidBytes = std::array<uint8_t, 16>;

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case).
std::optional<UuidBytes> parseUuid(std::string_view text);
// Lower-case canonical text.
std::string formatUuid(const UuidBytes& bytes);
bool isUuid(std::string_view text);
// UUIDv5 of `name` in `ns` (a UUID in text form; an invalid namespace is a broken invariant).
std::string uuid5(std::string_view ns, std::string_view name);
// A random (version 4) UUID from the system's entropy source.
std::string randomUuid();

}  // namespace drosera::intel
