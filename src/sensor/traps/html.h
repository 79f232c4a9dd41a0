// Small text helpers for laying baits into pages and reading what attackers send back.
// Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drosera::sensor::traps {

// Inserts `insert` before every occurrence of `needle` (ASCII case-insensitive).
std::string insertBeforeEach(std::string_view text, std::string_view needle,
                             std::string_view insert, size_t* count = nullptr);
// Inserts `insert` before the first occurrence of `needle` (case-insensitive); false if none.
bool insertBeforeFirst(std::string& text, std::string_view needle, std::string_view insert);
// Replaces every "{{name}}" token by values[name]; unknown tokens become "".
std::string render(std::string_view tmpl,
                   const std::vector<std::pair<std::string, std::string>>& values);
// The value of cookie `name` in a Cookie header, or nullopt-like empty + found=false.
bool cookieValue(std::string_view header, std::string_view name, std::string* value);

}  // namespace drosera::sensor::traps
