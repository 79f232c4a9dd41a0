// application/x-www-form-urlencoded and query strings. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drosera::http {

std::string percentDecode(std::string_view s, bool plus_is_space);
// Decoded name/value pairs, at most `max_pairs`.
std::vector<std::pair<std::string, std::string>> parseForm(std::string_view body,
                                                           size_t max_pairs = 256);
// The first value of `name`, or "".
std::string formValue(const std::vector<std::pair<std::string, std::string>>& form,
                      std::string_view name);
// The query part of a request target (after '?', before '#'), decoded.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view target,
                                                            size_t max_pairs = 64);
// The path part of a request target, not decoded.
std::string_view targetPath(std::string_view target);

}  // namespace drosera::http
