// Attacker bytes made into MISP values: valid UTF-8 (JSON needs it), nothing MISP would
// rewrite on the way in (it strips whitespace and turns 4-byte UTF-8 characters into '?'), and
// only values MISP's own validation accepts for the type (a port of the checks in MISP's
// AttributeValidationTool, for the types drosera emits). A value that would be rewritten or
// refused is never sent: what we store as reported is exactly what MISP holds. Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace drosera::intel {

// MISP refuses longer values (maxTextLength).
inline constexpr size_t kMaxValueBytes = 65535;

// Free text (comments, text attributes): invalid UTF-8 bytes become U+FFFD, 4-byte characters
// '?', control characters other than tab and newline a space; cut to max_bytes on a character
// boundary; surrounding whitespace trimmed.
std::string cleanText(std::string_view bytes, size_t max_bytes);
// One line (user-agent, header values): as cleanText, and newlines become spaces.
std::string cleanLine(std::string_view bytes, size_t max_bytes);
// A request target or URL: bytes that are not printable ASCII or part of a 2- or 3-byte UTF-8
// character are percent-encoded (so the value stays faithful and one line); cut to max_bytes
// without splitting an escape or a character.
std::string cleanUri(std::string_view bytes, size_t max_bytes);

// The value as MISP stores it for `type` (IPs canonical, methods upper-case, hostnames
// lower-case, whitespace trimmed), or nullopt when MISP would refuse it. Types drosera does
// not emit are refused.
std::optional<std::string> normaliseValue(std::string_view type, std::string_view value);

// True for the HTTP verbs MISP accepts as http-method values.
bool isMispHttpMethod(std::string_view upper_case_method);

}  // namespace drosera::intel
