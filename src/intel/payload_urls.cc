#include "intel/payload_urls.h"

#include <algorithm>
#include <array>

#include "http/ip_match.h"
#include "intel/misp_values.h"

namespace drosera::intel {
namespace {

constexpr size_t kMaxUrlBytes = 2048;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool isSchemeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Characters that end a URL inside a shell command, a PHP/Java string or a query string.
bool isTerminator(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7F) return true;
  switch (c) {
    case '"':
    case '\'':
    case '`':
    case ';':
    case '|':
    case '<':
    case '>':
    case '(':
    case ')':
    case '{':
    case '}':
    case '\\':
    case '^':
    case '$':
    case '*':
      return true;
    default:
      return false;
  }
}

bool isDnsName(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.find('.') == std::string_view::npos) return false;
  size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  const size_t dot = h.rfind('.');
  std::string_view tld = h.substr(dot + 1);
  return tld.size() >= 2 && !std::all_of(tld.begin(), tld.end(), [](char c) {
           return c >= '0' && c <= '9';  // "1.2.3.999" is not a name
         });
}

// Validates and normalises "scheme://authority/rest"; empty when it is not a usable URL.
std::string normaliseUrl(std::string_view scheme, std::string_view rest) {
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);  // credentials in the URL are not kept
  }
  std::string host;
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    host.assign(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "";
      port.assign(after.substr(1));
    }
    std::array<uint8_t, 16> a{};
    if (!http::parseIp(host, &a)) return "";
    // canonicalIp writes an IPv4-mapped address as IPv4, which takes no brackets.
    host = http::canonicalIp(host);
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
  } else {
    const size_t colon = authority.find(':');
    host.assign(authority.substr(0, colon));
    if (colon != std::string_view::npos) port.assign(authority.substr(colon + 1));
    for (char& c : host) c = lowerChar(c);
    std::array<uint8_t, 16> a{};
    const bool dotted_ip = http::parseIp(host, &a) && host.find(':') == std::string::npos;
    if (!dotted_ip && !isDnsName(host)) return "";
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "";
    }
    const int p = std::stoi(port);
    if (p < 1 || p > 65535) return "";
  }
  std::string url(scheme);
  url += "://";
  url += host;
  if (!port.empty()) url += ":" + port;
  // Trailing punctuation of the surrounding text is not part of the URL.
  while (!tail.empty() &&
         (tail.back() == '.' || tail.back() == ',' || tail.back() == ']' || tail.back() == '&')) {
    tail.remove_suffix(1);
  }
  url += tail;
  if (url.size() > kMaxUrlBytes) return "";
  return cleanUri(url, kMaxUrlBytes);
}

void scan(std::string_view text, size_t max_urls, bool skip_leading,
          std::vector<std::string>* out) {
  static constexpr std::array<std::string_view, 7> kSchemes = {"https", "http", "ftp", "tftp",
                                                               "ldaps", "ldap", "rmi"};
  size_t pos = 0;
  while (out->size() < max_urls) {
    const size_t sep = text.find("://", pos);
    if (sep == std::string_view::npos) return;
    size_t start = sep;
    while (start > 0 && isSchemeChar(text[start - 1]) && sep - start < 8) --start;
    std::string scheme;
    for (size_t i = start; i < sep; ++i) scheme.push_back(lowerChar(text[i]));
    // "xhttp://" is not "http://": take the longest known scheme that ends at the separator.
    std::string_view known;
    for (std::string_view s : kSchemes) {
      if (scheme.size() >= s.size() && scheme.ends_with(s) && s.size() > known.size()) known = s;
    }
    size_t end = sep + 3;
    while (end < text.size() && !isTerminator(text[end]) && end - sep < kMaxUrlBytes) ++end;
    pos = end > sep + 3 ? end : sep + 3;
    if (known.empty()) continue;
    const size_t url_start = sep - known.size();
    if (skip_leading && url_start == 0) {
      pos = sep + 3;  // the target itself is no payload, but a URL inside it may be
      continue;
    }
    std::string url = normaliseUrl(known, text.substr(sep + 3, end - sep - 3));
    if (url.empty()) continue;
    if (std::find(out->begin(), out->end(), url) == out->end()) out->push_back(std::move(url));
  }
}

// Up to three rounds: double and triple encoding are common evasions. '+' is a space in the
// first round of a form only: the application decodes once, and a '+' it got from "%2B" is
// part of the value (wget http://host/x86%2Barm.sh fetches "x86+arm.sh").
std::string decodeRounds(std::string_view text, bool form) {
  std::string cur(text);
  for (int round = 0; round < 3; ++round) {
    std::string next = percentDecode(cur, form && round == 0);
    if (next == cur) break;
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

std::string percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::vector<std::string> findPayloadUrls(std::string_view text, size_t max_urls, UrlSource source) {
  std::vector<std::string> out;
  if (max_urls == 0) return out;
  // Decode first, then scan once, so that one URL is not found again in each of its encodings.
  std::string decoded;
  if (source == UrlSource::kRequestTarget) {
    const size_t query = text.find('?');
    decoded = decodeRounds(text.substr(0, query), false);
    if (query != std::string_view::npos) {
      decoded += '?';
      decoded += decodeRounds(text.substr(query + 1), true);
    }
  } else {
    decoded = decodeRounds(text, source == UrlSource::kForm);
  }
  scan(decoded, max_urls, source == UrlSource::kRequestTarget, &out);
  return out;
}

size_t headerPayloadStart(std::string_view value) {
  size_t start = std::min({value.find("${"), value.find("%{"), value.find("$("), value.find('`')});
  for (size_t p = value.find("()"); p < start; p = value.find("()", p + 2)) {
    size_t i = p + 2;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    if (i < value.size() && value[i] == '{') return p;
  }
  return start;
}

}  // namespace drosera::intel
