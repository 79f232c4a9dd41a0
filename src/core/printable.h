// Attacker bytes in a log line: the line stays one line, and nothing in it reaches the terminal
// as a control sequence. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace drosera::core {

// Appends `bytes` with every control character (C0, DEL, and C1 as UTF-8), every byte that is
// not part of well-formed UTF-8, and the backslash written as \xNN; the rest of UTF-8 as is.
void appendPrintable(std::string& out, std::string_view bytes);
std::string printable(std::string_view bytes);

}  // namespace drosera::core
