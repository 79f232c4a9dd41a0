#include "http/form.h"

namespace drosera::http {
namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseForm(std::string_view body,
                                                           size_t max_pairs) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= body.size() && out.size() < max_pairs) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view part = body.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string_view k = part.substr(0, eq);
      std::string_view v = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      out.emplace_back(percentDecode(k, true), percentDecode(v, true));
    }
    pos = amp + 1;
  }
  return out;
}

std::string formValue(const std::vector<std::pair<std::string, std::string>>& form,
                      std::string_view name) {
  for (const auto& [k, v] : form) {
    if (k == name) return v;
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view target,
                                                            size_t max_pairs) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  return parseForm(query, max_pairs);
}

std::string_view targetPath(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace drosera::http
