#include "sensor/traps/html.h"

#include <algorithm>

namespace drosera::sensor::traps {
namespace {

size_t findNoCase(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    bool ok = true;
    for (size_t j = 0; j < needle.size(); ++j) {
      if (std::tolower(static_cast<unsigned char>(hay[i + j])) !=
          std::tolower(static_cast<unsigned char>(needle[j]))) {
        ok = false;
        break;
      }
    }
    if (ok) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::string insertBeforeEach(std::string_view text, std::string_view needle,
                             std::string_view insert, size_t* count) {
  std::string out;
  out.reserve(text.size() + insert.size() * 2);
  size_t pos = 0, n = 0;
  while (true) {
    size_t at = findNoCase(text, needle, pos);
    if (at == std::string_view::npos) break;
    out.append(text.substr(pos, at - pos));
    out.append(insert);
    out.append(text.substr(at, needle.size()));
    pos = at + needle.size();
    ++n;
  }
  out.append(text.substr(pos));
  if (count) *count = n;
  return out;
}

bool insertBeforeFirst(std::string& text, std::string_view needle, std::string_view insert) {
  size_t at = findNoCase(text, needle, 0);
  if (at == std::string_view::npos) return false;
  text.insert(at, insert);
  return true;
}

std::string render(std::string_view tmpl,
                   const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  out.reserve(tmpl.size() + 256);
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos || close - open > 64) {
      out.append(tmpl.substr(pos, open + 2 - pos));
      pos = open + 2;
      continue;
    }
    out.append(tmpl.substr(pos, open - pos));
    std::string_view name = tmpl.substr(open + 2, close - open - 2);
    for (const auto& [k, v] : values) {
      if (k == name) {
        out.append(v);
        break;
      }
    }
    pos = close + 2;
  }
  out.append(tmpl.substr(pos));
  return out;
}

bool cookieValue(std::string_view header, std::string_view name, std::string* value) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view part = header.substr(pos, semi - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      std::string_view v = part.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      *value = std::string(v);
      return true;
    }
    pos = semi + 1;
  }
  return false;
}

}  // namespace drosera::sensor::traps
