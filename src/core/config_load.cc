#include "core/config_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "core/json_text.h"
#include "core/paths.h"
#include "core/printable.h"

namespace drosera::core {
namespace {

using Value = toml::value;

// A problem with one value; the loader adds file, line and key.
using Problem = std::optional<std::string>;

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string fmtDouble(double d) {
  std::ostringstream os;
  os << d;
  std::string s = os.str();
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string describeType(const Value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "a boolean";
    case toml::value_t::integer: return "an integer";
    case toml::value_t::floating: return "a number";
    case toml::value_t::string: return "a string";
    case toml::value_t::array: return "an array";
    case toml::value_t::table: return "a table";
    default: return "a date/time";
  }
}

// ---- value parsers: toml value -> C++ value, or a problem --------------------------------

// toml11 3.7.1 reads an integer literal that does not fit in 64 bits as INT64_MAX or INT64_MIN
// (decimal, hexadecimal, octal) or wraps it (binary), without a word. The literal is read again
// here from the text it came from; a value with no text (built in code) is taken as it is.
Problem parseInteger(const Value& v, int64_t& out) {
  if (!v.is_integer()) return "expected an integer, got " + describeType(v);
  out = v.as_integer();
  const auto loc = v.location();
  const std::string& line = loc.line_str();
  if (loc.column() < 1 || loc.column() - 1 + uint64_t{loc.region()} > line.size()) {
    return std::nullopt;
  }
  const std::string text = line.substr(loc.column() - 1, loc.region());
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  unsigned base = 10;
  if (text.size() > i + 2 && text[i] == '0') {
    const char p = text[i + 1];
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) i += 2;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : uint64_t{INT64_MAX};
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') continue;
    const unsigned d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                       : std::isxdigit(static_cast<unsigned char>(c))
                           ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                           : 99;
    if (d >= base) return std::nullopt;  // not the literal: trust the parser
    if (magnitude > (limit - d) / base) {
      return "integer " + text + " is out of range (a TOML integer is " +
             (negative ? "at least " + std::to_string(INT64_MIN)
                       : "at most " + std::to_string(INT64_MAX)) +
             ")";
    }
    magnitude = magnitude * base + d;
  }
  return std::nullopt;
}

Problem parseBool(const Value& v, bool& out) {
  if (!v.is_boolean()) return "expected true or false, got " + describeType(v);
  out = v.as_boolean();
  return std::nullopt;
}

Problem parseInt(const Value& v, int64_t lo, int64_t hi, int64_t& out) {
  int64_t x = 0;
  if (Problem p = parseInteger(v, x)) return p;
  if (x < lo || x > hi) {
    return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (got " +
           std::to_string(x) + ")";
  }
  out = x;
  return std::nullopt;
}

Problem parseString(const Value& v, const std::vector<std::string>& allowed, std::string& out) {
  if (!v.is_string()) return "expected a string, got " + describeType(v);
  std::string s = v.as_string();
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "must be one of " + list + " (got " + quote(s) + ")";
  }
  out = s;
  return std::nullopt;
}

// A sensor's name; empty only where `allow_empty` (a default is made).
Problem parseSensorId(const Value& v, bool allow_empty, std::string& out) {
  std::string s;
  if (Problem p = parseString(v, {}, s)) return p;
  if (!(allow_empty && s.empty())) {
    if (auto why = sensorIdProblem(s)) return *why;
  }
  out = std::move(s);
  return std::nullopt;
}

Problem parseStringList(const Value& v, std::vector<std::string>& out) {
  if (!v.is_array()) return "expected an array of strings, got " + describeType(v);
  std::vector<std::string> r;
  for (const auto& e : v.as_array()) {
    if (!e.is_string()) return "expected an array of strings, found " + describeType(e);
    r.push_back(e.as_string());
  }
  out = std::move(r);
  return std::nullopt;
}

// "64MiB", "512k", 1048576
Problem parseBytes(const Value& v, uint64_t lo, uint64_t& out) {
  uint64_t x = 0;
  if (v.is_integer()) {
    int64_t i = 0;
    if (Problem p = parseInteger(v, i)) return p;
    if (i < 0) return "must not be negative";
    x = static_cast<uint64_t>(i);
  } else if (v.is_string()) {
    const std::string& s = v.as_string();
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0 || i > 15) return "expected a size such as 65536, \"64KiB\" or \"16MiB\" (got " + quote(s) + ")";
    x = std::stoull(s.substr(0, i));
    std::string unit = s.substr(i);
    while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    std::transform(unit.begin(), unit.end(), unit.begin(), ::tolower);
    uint64_t mult = 0;
    if (unit.empty() || unit == "b") mult = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1ull << 10;
    else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1ull << 20;
    else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1ull << 30;
    else return "unknown size unit " + quote(unit) + " (use B, KiB, MiB or GiB)";
    if (x > UINT64_MAX / mult) return "size too large (got " + quote(s) + ")";
    x *= mult;
  } else {
    return "expected a size (integer bytes or a string like \"16MiB\"), got " + describeType(v);
  }
  if (x < lo) return "must be at least " + std::to_string(lo) + " (got " + std::to_string(x) + ")";
  out = x;
  return std::nullopt;
}

// 5, 0.5, "200ms", "5s", "2m"
Problem parseSeconds(const Value& v, double lo, double hi, double& out) {
  double x = 0;
  if (v.is_integer()) {
    int64_t i = 0;
    if (Problem p = parseInteger(v, i)) return p;
    x = static_cast<double>(i);
  } else if (v.is_floating()) {
    x = v.as_floating();
  } else if (v.is_string()) {
    const std::string& s = v.as_string();
    // Decimal digits with an optional fraction, then the unit: no sign, space, exponent or hex
    // (std::stod took " 5" and "0x10").
    size_t used = 0;
    while (used < s.size() && std::isdigit(static_cast<unsigned char>(s[used]))) ++used;
    const size_t whole = used;
    if (used < s.size() && s[used] == '.') {
      ++used;
      while (used < s.size() && std::isdigit(static_cast<unsigned char>(s[used]))) ++used;
    }
    if (whole == 0 || std::from_chars(s.data(), s.data() + used, x).ec != std::errc()) {
      return "expected a duration such as 5, 0.5, \"200ms\" or \"2m\" (got " + quote(s) + ")";
    }
    std::string unit = s.substr(used);
    if (unit == "ms") x /= 1000;
    else if (unit == "s" || unit.empty()) {}
    else if (unit == "m") x *= 60;
    else if (unit == "h") x *= 3600;
    else return "unknown duration unit " + quote(unit) + " (use ms, s, m or h)";
  } else {
    return "expected a duration in seconds, got " + describeType(v);
  }
  if (!std::isfinite(x) || x < lo || x > hi) {
    return "must be between " + fmtDouble(lo) + " and " + fmtDouble(hi) + " seconds (got " +
           fmtDouble(x) + ")";
  }
  out = x;
  return std::nullopt;
}

// ---- value checks: what a key's value must be beyond its type ------------------------------
// Each is run by the loader on the value it reads (naming the line) and by validateConfig.

// An IP address as the server binds it (boost::asio::ip::make_address): IPv4 dotted quad, or
// IPv6 with an optional zone ("fe80::1%eth0"). No brackets, no names.
bool isIpAddress(const std::string& s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN || s.find('\0') != std::string::npos) return false;
  in_addr a4{};
  if (::inet_pton(AF_INET, s.c_str(), &a4) == 1) return true;
  const std::string v6 = s.substr(0, s.find('%'));
  in6_addr a6{};
  return ::inet_pton(AF_INET6, v6.c_str(), &a6) == 1;
}

Problem bindProblem(const std::vector<std::string>& bind) {
  for (const auto& a : bind) {
    if (!isIpAddress(a)) {
      return quote(a) +
             " is not an IP address (names are not resolved: give 0.0.0.0, :: or an "
             "address of this host)";
    }
  }
  return std::nullopt;
}

// An address or CIDR block as http::IpMatcher and the MISP warninglists read it: "10.0.0.0/8",
// "2001:db8::/32", "[::1]", a zone ignored.
Problem cidrProblem(const std::string& cidr) {
  std::string addr = cidr;
  int prefix = -1;
  if (const size_t slash = cidr.find('/'); slash != std::string::npos) {
    addr = cidr.substr(0, slash);
    const std::string p = cidr.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) {
      return quote(cidr) + ": bad prefix length";
    }
    prefix = std::stoi(p);
  }
  std::string bare = addr;  // as http::parseIp: the brackets, then the zone
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  bare = bare.substr(0, bare.find('%'));
  in_addr a4{};
  in6_addr a6{};
  if (addr.size() >= INET6_ADDRSTRLEN || bare.find('\0') != std::string::npos ||
      (::inet_pton(AF_INET, bare.c_str(), &a4) != 1 &&
       ::inet_pton(AF_INET6, bare.c_str(), &a6) != 1)) {
    return quote(cidr) + " is not an IP address or CIDR block";
  }
  const bool v4 = addr.find(':') == std::string::npos;
  if (prefix > (v4 ? 32 : 128)) {
    return quote(cidr) + ": the prefix of an IPv" + (v4 ? "4" : "6") + " block is at most /" +
           (v4 ? "32" : "128");
  }
  return std::nullopt;
}

Problem cidrListProblem(const std::vector<std::string>& list) {
  for (const auto& e : list) {
    if (Problem p = cidrProblem(e)) return p;
  }
  return std::nullopt;
}

// collector.listen: "address:port", the address an IP address ("[...]" around IPv6 allowed;
// empty: every IPv4 address), the port in digits, 0 (any free port) to 65535.
Problem listenProblem(const std::string& listen, std::string* address, uint16_t* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return "expected address:port, e.g. \"127.0.0.1:9080\" (got " + quote(listen) + ")";
  }
  const std::string digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos || std::stoul(digits) > 65535) {
    return "the port must be a number from 0 to 65535 (got " + quote(listen) + ")";
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  if (!isIpAddress(host)) {
    return "the address must be an IP address, names are not resolved (got " + quote(listen) + ")";
  }
  if (address) *address = host;
  if (port) *port = static_cast<uint16_t>(std::stoul(digits));
  return std::nullopt;
}

// As intel::validateMispConfig has it, but "127.*" must be an address: 127.example.org is a
// name, resolved anywhere.
bool isLoopbackHost(const std::string& host) {
  in_addr a4{};
  return host == "localhost" || host == "::1" ||
         (host.rfind("127.", 0) == 0 && ::inet_pton(AF_INET, host.c_str(), &a4) == 1);
}

struct HttpUrl {
  bool https = false;
  std::string host;  // without the brackets of an IPv6 address
};

// "https://host[:port][/path...]" or "http://...", userinfo allowed.
Problem httpUrlProblem(const std::string& url, HttpUrl* out) {
  size_t start = 0;
  if (url.rfind("https://", 0) == 0) {
    out->https = true;
    start = 8;
  } else if (url.rfind("http://", 0) == 0) {
    start = 7;
  } else {
    return "must start with https:// or http:// (got " + quote(url) + ")";
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f') {
      return "must not hold spaces or control characters (got " + quote(url) + ")";
    }
  }
  std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    authority = authority.substr(at + 1);
  }
  std::string port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return "unclosed [ in the host (got " + quote(url) + ")";
    out->host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return "unexpected text after the host (got " + quote(url) + ")";
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    out->host = authority.substr(0, colon);
    has_port = colon != std::string::npos;
    if (has_port) port = authority.substr(colon + 1);
  }
  if (out->host.empty()) return "has no host (got " + quote(url) + ")";
  if (has_port && (port.empty() || port.size() > 5 ||
                   port.find_first_not_of("0123456789") != std::string::npos ||
                   std::stoul(port) == 0 || std::stoul(port) > 65535)) {
    return "the port must be a number from 1 to 65535 (got " + quote(url) + ")";
  }
  return std::nullopt;
}

Problem mispUrlProblem(const MispConfig& m) {
  if (m.url.empty()) return std::nullopt;
  HttpUrl u;
  if (Problem p = httpUrlProblem(m.url, &u)) return p;
  if (!u.https && !isLoopbackHost(u.host)) {
    return "plain http would send the API key in clear: use https:// (got " + quote(m.url) + ")";
  }
  return std::nullopt;
}

bool isUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Problem uuidProblem(const std::string& s) {
  if (s.empty() || isUuid(s)) return std::nullopt;
  return "is not a UUID (got " + quote(s) + ")";
}

Problem mispGroupsProblem(const MispConfig& m) {
  std::set<std::string> sensors;
  for (const auto& g : m.sensor_groups) {
    if (g.name.empty() || g.name.size() > 128) return "a group needs a name of 1..128 bytes";
    for (const auto& s : g.sensors) {
      if (!sensors.insert(s).second) return "sensor " + quote(s) + " is in two groups";
    }
  }
  return std::nullopt;
}

// A time whose 0 means the persona's own (the limits' timeouts): 0, or at least 0.05 seconds.
Problem personaSecondsProblem(double t) {
  if (t == 0 || t >= 0.05) return std::nullopt;
  return "must be 0 (the persona's own) or at least 0.05 seconds (got " + fmtDouble(t) + ")";
}

// What a key's value must be beyond its type and range, by full key name. The loader checks a
// key as soon as it has read it (the message names the line); validateConfig checks them all.
struct KeyCheck {
  const char* key;
  Problem (*check)(const Config&);
};

const KeyCheck kKeyChecks[] = {
    {"server.bind", [](const Config& c) { return bindProblem(c.server.bind); }},
    {"server.trusted_proxies",
     [](const Config& c) { return cidrListProblem(c.server.trusted_proxies); }},
    {"collector.listen",
     [](const Config& c) { return listenProblem(c.collector.listen, nullptr, nullptr); }},
    {"shipper.url",
     [](const Config& c) -> Problem {
       HttpUrl u;
       if (c.shipper.url.empty()) return std::nullopt;
       return httpUrlProblem(c.shipper.url, &u);
     }},
    // The misp.* checks of intel::validateMispConfig that are not ranges: made here too, so that
    // `drosera run` and `drosera collector` refuse them before starting anything.
    {"misp.url", [](const Config& c) { return mispUrlProblem(c.misp); }},
    {"misp.org_name",
     [](const Config& c) -> Problem {
       if (c.misp.org_name.empty() || c.misp.org_name.size() > 255) return "must be 1..255 bytes";
       return std::nullopt;
     }},
    {"misp.org_uuid", [](const Config& c) { return uuidProblem(c.misp.org_uuid); }},
    {"misp.namespace_uuid", [](const Config& c) { return uuidProblem(c.misp.namespace_uuid); }},
    {"misp.tlp",
     [](const Config& c) -> Problem {
       if (c.misp.tlp.rfind("tlp:", 0) == 0) return std::nullopt;
       return "must be a tlp:* tag, e.g. \"tlp:amber\" (got " + quote(c.misp.tlp) + ")";
     }},
    {"misp.pap",
     [](const Config& c) -> Problem {
       if (c.misp.pap.empty() || c.misp.pap.rfind("PAP:", 0) == 0) return std::nullopt;
       return "must be a PAP:* tag, e.g. \"PAP:GREEN\" (got " + quote(c.misp.pap) + ")";
     }},
    {"misp.sensor_groups", [](const Config& c) { return mispGroupsProblem(c.misp); }},
    {"misp.allowlist", [](const Config& c) { return cidrListProblem(c.misp.allowlist); }},
    {"limits.header_timeout_s",
     [](const Config& c) { return personaSecondsProblem(c.limits.header_timeout_s); }},
    {"limits.body_timeout_s",
     [](const Config& c) { return personaSecondsProblem(c.limits.body_timeout_s); }},
    {"limits.keepalive_timeout_s",
     [](const Config& c) { return personaSecondsProblem(c.limits.keepalive_timeout_s); }},
    {"misp.sensor_addresses",
     [](const Config& c) { return cidrListProblem(c.misp.sensor_addresses); }},
};

Problem checkKey(const std::string& key, const Config& c) {
  for (const auto& k : kKeyChecks) {
    if (key == k.key) return k.check(c);
  }
  return std::nullopt;
}

// ---- the schema -----------------------------------------------------------------------

template <typename S>
struct Field {
  std::string name;
  std::string doc;
  std::function<Problem(const Value&, S&)> apply;
  std::function<std::string(const S&)> show;
};

template <typename S>
Field<S> boolField(std::string name, bool S::*m, std::string doc) {
  return {name, doc, [m](const Value& v, S& s) { return parseBool(v, s.*m); },
          [m](const S& s) { return std::string(s.*m ? "true" : "false"); }};
}

template <typename S, typename I>
Field<S> intField(std::string name, I S::*m, int64_t lo, int64_t hi, std::string doc) {
  return {name, doc,
          [m, lo, hi](const Value& v, S& s) {
            int64_t x = 0;
            Problem p = parseInt(v, lo, hi, x);
            if (!p) s.*m = static_cast<I>(x);
            return p;
          },
          [m](const S& s) { return std::to_string(s.*m); }};
}

template <typename S>
Field<S> bytesField(std::string name, uint64_t S::*m, uint64_t lo, std::string doc) {
  return {name, doc, [m, lo](const Value& v, S& s) { return parseBytes(v, lo, s.*m); },
          [m](const S& s) { return std::to_string(s.*m); }};
}

template <typename S>
Field<S> secondsField(std::string name, double S::*m, double lo, double hi, std::string doc) {
  return {name, doc, [m, lo, hi](const Value& v, S& s) { return parseSeconds(v, lo, hi, s.*m); },
          [m](const S& s) { return fmtDouble(s.*m); }};
}

template <typename S>
Field<S> stringField(std::string name, std::string S::*m, std::vector<std::string> allowed,
                     std::string doc) {
  return {name, doc,
          [m, allowed](const Value& v, S& s) { return parseString(v, allowed, s.*m); },
          [m](const S& s) { return quote(s.*m); }};
}

template <typename S>
Field<S> sensorIdField(std::string name, std::string S::*m, bool allow_empty, std::string doc) {
  return {name, doc,
          [m, allow_empty](const Value& v, S& s) { return parseSensorId(v, allow_empty, s.*m); },
          [m](const S& s) { return quote(s.*m); }};
}

template <typename S>
Field<S> listField(std::string name, std::vector<std::string> S::*m, std::string doc) {
  return {name, doc, [m](const Value& v, S& s) { return parseStringList(v, s.*m); },
          [m](const S& s) {
            std::string out = "[";
            for (size_t i = 0; i < (s.*m).size(); ++i) out += (i ? ", " : "") + quote((s.*m)[i]);
            return out + "]";
          }};
}

template <typename S>
Field<S> mapField(std::string name, std::vector<std::pair<std::string, std::string>> S::*m,
                  std::string doc) {
  return {name, doc,
          [m](const Value& v, S& s) -> Problem {
            if (!v.is_table()) return "expected a table of strings, e.g. {region = \"eu\"}";
            std::vector<std::pair<std::string, std::string>> out;
            for (const auto& [k, e] : v.as_table()) {
              // Each key is one field name (labels.<key>): Elasticsearch refuses an empty one,
              // and a dot would make an object of it (ECS: no dots in label keys).
              if (k.empty() || k.find('.') != std::string::npos) {
                return "key '" + k + "' must be a non-empty name without dots";
              }
              if (!e.is_string()) return "value of '" + k + "' is not a string";
              out.emplace_back(k, e.as_string());
            }
            s.*m = std::move(out);
            return std::nullopt;
          },
          [m](const S& s) {
            std::string out = "{";
            for (size_t i = 0; i < (s.*m).size(); ++i) {
              out += (i ? ", " : "") + (s.*m)[i].first + " = " + quote((s.*m)[i].second);
            }
            return out + "}";
          }};
}

const std::vector<std::string> kPersonas = {"apache", "nginx", "iis"};
const std::vector<std::string> kFsync = {"always", "interval", "never"};

std::vector<Field<CollectorSensorConfig>> sensorFields() {
  using S = CollectorSensorConfig;
  return {sensorIdField("name", &S::name, false, "the sensor's id (drosera sensor.id)"),
          stringField("token", &S::token, {}, "its token (or token_file)"),
          stringField("token_file", &S::token_file, {}, "file holding its token")};
}

std::vector<Field<MlogcUserConfig>> mlogcFields() {
  using M = MlogcUserConfig;
  return {stringField("user", &M::user, {}, "mlogc SensorUsername"),
          stringField("password", &M::password, {}, "mlogc SensorPassword (or password_file)"),
          stringField("password_file", &M::password_file, {}, "file holding the password"),
          sensorIdField("sensor", &M::sensor, true, "sensor name for its events; empty: the user")};
}

std::vector<Field<TailConfig>> tailFields() {
  using T = TailConfig;
  return {
      stringField("path", &T::path, {}, "the audit log file"),
      stringField("format", &T::format, {"auto", "modsec3-json", "modsec2-json", "modsec2-native"},
                  "record format"),
      sensorIdField("sensor", &T::sensor, true, "sensor name for its events; empty: the file name"),
      intField("utc_offset_minutes", &T::utc_offset_minutes, -1440, 1440,
               "zone of ModSecurity v3 time stamps, minutes east of UTC")};
}

std::vector<Field<ListenerConfig>> listenerFields() {
  using L = ListenerConfig;
  return {
      intField("port", &L::port, 0, 65535, "TCP port (0: any free port, for tests)"),
      stringField("kind", &L::kind, {"real", "fake"},
                  "real: the decoy site; fake: a honeytrap port, any request on it is a trap hit"),
      boolField("tls", &L::tls, "serve HTTPS on this port"),
      boolField("proxy_protocol", &L::proxy_protocol,
                "expect a PROXY protocol v1/v2 header from server.trusted_proxies"),
      stringField("persona", &L::persona, {"", "apache", "nginx", "iis"},
                  "persona of this port; empty: server.persona"),
      stringField("site", &L::site, {},
                  "site folder of this port; empty: site.root; builtin:<name>: a shipped site"),
  };
}

std::string suggest(const std::string& name, const std::vector<std::string>& candidates);

// misp.sensor_groups = {fleet = ["hp-1", "hp-2"]}: sensors reported together, by group name.
Field<MispConfig> mispGroupsField() {
  return {"sensor_groups", "{group = [sensor ids]}: one MISP event per group and day",
          [](const Value& v, MispConfig& m) -> Problem {
            if (!v.is_table()) {
              return "expected a table of lists, e.g. {fleet = [\"hp-1\", \"hp-2\"]}";
            }
            std::vector<MispSensorGroup> groups;
            for (const auto& [name, sensors] : v.as_table()) {
              MispSensorGroup g;
              g.name = name;
              if (Problem p = parseStringList(sensors, g.sensors)) {
                return "group '" + name + "': " + *p;
              }
              groups.push_back(std::move(g));
            }
            std::sort(groups.begin(), groups.end(),
                      [](const MispSensorGroup& a, const MispSensorGroup& b) {
                        return a.name < b.name;
                      });
            m.sensor_groups = std::move(groups);
            return std::nullopt;
          },
          [](const MispConfig& m) {
            std::string out = "{";
            for (size_t i = 0; i < m.sensor_groups.size(); ++i) {
              const auto& g = m.sensor_groups[i];
              out += (i ? ", " : "") + quote(g.name) + " = [";
              for (size_t j = 0; j < g.sensors.size(); ++j) {
                out += (j ? ", " : "") + quote(g.sensors[j]);
              }
              out += "]";
            }
            return out + "}";
          }};
}

// An array of tables inside a section: [[server.listener]], [[collector.sensor]], ...
struct TableArray {
  std::string name;     // "listener"
  std::string doc;      // printed before the entries in the default configuration
  std::string example;  // printed (commented out) when the default list is empty
  // Loads the array, replacing the default list. `fail(value, message)` makes the error.
  std::function<Status(const Value&, Config&,
                       const std::function<Status(const Value&, const std::string&)>&)>
      load;
  std::function<std::string(const Config&)> show;
};

// A section: a table in the file, its fields, and its arrays of tables.
struct Section {
  std::string name;
  std::string doc;
  std::vector<Field<Config>> fields;
  std::vector<TableArray> arrays = {};
};

// Builds a TableArray for entries of type E with their own fields. `required` keys must be in
// every entry; `check` may reject an entry given the ones before it (returns the key at fault
// and the message, or nothing).
template <typename E>
TableArray tableArray(
    std::string section, std::string name, std::string doc, std::string example,
    std::function<std::vector<E>&(Config&)> get,
    std::function<const std::vector<E>&(const Config&)> cget, std::vector<Field<E>> fields,
    std::vector<std::string> required,
    std::function<std::optional<std::pair<std::string, std::string>>(const std::vector<E>&,
                                                                     const E&)>
        check = {}) {
  const std::string full = section + "." + name;
  TableArray a;
  a.name = name;
  a.doc = doc;
  a.example = example;
  a.load = [=](const Value& v, Config& c,
               const std::function<Status(const Value&, const std::string&)>& fail) -> Status {
    if (!v.is_array()) return fail(v, full + ": expected an array of tables [[" + full + "]]");
    std::vector<std::string> names;
    for (const auto& f : fields) names.push_back(f.name);
    std::vector<E> result;
    for (const auto& entry : v.as_array()) {
      if (!entry.is_table()) return fail(entry, full + ": expected a table");
      E e;
      for (const auto& [key, fv] : entry.as_table()) {
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&key = key](const Field<E>& f) { return f.name == key; });
        if (it == fields.end()) {
          return fail(fv, "unknown key '" + full + "." + key + "'" + suggest(key, names));
        }
        if (Problem p = it->apply(fv, e)) return fail(fv, full + "." + key + ": " + *p);
      }
      for (const auto& r : required) {
        if (!entry.as_table().count(r)) {
          return fail(entry, full + ": every entry needs a '" + r + "' key");
        }
      }
      if (check) {
        if (auto bad = check(result, e)) {
          const auto& t = entry.as_table();
          return fail(t.count(bad->first) ? t.at(bad->first) : entry,
                      full + "." + bad->first + ": " + bad->second);
        }
      }
      result.push_back(std::move(e));
    }
    get(c) = std::move(result);
    return Status::ok();
  };
  a.show = [=](const Config& c) {
    std::string out;
    bool first = true;
    for (const auto& e : cget(c)) {
      out += "[[" + full + "]]\n";
      for (const auto& f : fields) {
        out += f.name + " = " + f.show(e);
        if (first) out += "  # " + f.doc;
        out += "\n";
      }
      first = false;
    }
    return out;
  };
  return a;
}

// Lifts a field of a sub-struct (e.g. LimitsConfig) to a field of Config.
template <typename S>
Field<Config> lift(S Config::*sub, Field<S> f) {
  auto apply = f.apply;
  auto show = f.show;
  return {f.name, f.doc, [sub, apply](const Value& v, Config& c) { return apply(v, c.*sub); },
          [sub, show](const Config& c) { return show(c.*sub); }};
}

// A field of a struct inside a section's struct (EcsOutputConfig::bulk...).
template <typename Outer, typename Inner>
Field<Outer> lift2(Inner Outer::*sub, Field<Inner> f) {
  auto apply = f.apply;
  auto show = f.show;
  return {f.name, f.doc, [sub, apply](const Value& v, Outer& o) { return apply(v, o.*sub); },
          [sub, show](const Outer& o) { return show(o.*sub); }};
}

std::vector<Section> schema() {
  using G = GeneralConfig;
  using Se = SensorConfig;
  using Sv = ServerConfig;
  using Li = LimitsConfig;
  using Si = SiteConfig;
  using E = EngineConfig;
  using I = InspectionConfig;
  using Ev = EventLogConfig;
  using T = TrapsConfig;
  using Sh = ShipperConfig;
  using Co = CollectorConfig;
  using EO = EcsOutputConfig;
  using EM = EcsMappingConfig;
  using GI = GeoIpConfig;
  using EN = EcsNdjsonConfig;
  using EB = EcsBulkConfig;
  using M = MispConfig;
  constexpr int64_t kMaxInt = 1'000'000'000;
  return {
      {"general",
       "Process-wide settings.",
       {lift(&Config::general, stringField("data_dir", &G::data_dir, {},
                                           "folder for all state: events, journal, keys, TLS")),
        lift(&Config::general,
             stringField("log_level", &G::log_level, {"trace", "debug", "info", "warn", "error"},
                         "log verbosity on stderr")),
        lift(&Config::general, stringField("user", &G::user, {},
                                           "become this user after binding the ports (started "
                                           "as root); empty: stay who started drosera"))}},
      {"sensor",
       "Identity and status of this sensor.",
       {lift(&Config::sensor, sensorIdField("id", &Se::id, true,
                                            "sensor id; empty: generated once, kept in data_dir")),
        lift(&Config::sensor, secondsField("status_interval_s", &Se::status_interval_s, 0.1, 3600,
                                           "seconds between status file updates and log lines"))}},
      {"server",
       "Listeners and how the server presents itself.",
       {lift(&Config::server,
             listField("bind", &Sv::bind, "addresses to listen on (IPv4 and IPv6)")),
        lift(&Config::server,
             stringField("persona", &Sv::persona, kPersonas,
                         "which real server the decoy imitates (headers, error pages)")),
        lift(&Config::server, stringField("server_header", &Sv::server_header, {},
                                          "Server header; empty: the persona's own")),
        lift(&Config::server,
             intField("io_threads", &Sv::io_threads, 1, 64, "threads answering requests")),
        lift(&Config::server,
             listField("trusted_proxies", &Sv::trusted_proxies,
                       "proxies (IP or CIDR) whose X-Forwarded-For / PROXY header is believed")),
        lift(&Config::server, stringField("tls_cert", &Sv::tls_cert, {},
                                          "PEM certificate; empty: generated per install")),
        lift(&Config::server, stringField("tls_key", &Sv::tls_key, {},
                                          "PEM private key; empty: generated per install"))},
       {tableArray<ListenerConfig>(
           "server", "listener",
           "Listeners: the real port serves the decoy site, every fake port is a honeytrap.\n"
           "Giving [[server.listener]] tables replaces this whole list.",
           "", [](Config& c) -> std::vector<ListenerConfig>& { return c.server.listeners; },
           [](const Config& c) -> const std::vector<ListenerConfig>& { return c.server.listeners; },
           listenerFields(), {"port"},
           [](const std::vector<ListenerConfig>& before,
              const ListenerConfig& l) -> std::optional<std::pair<std::string, std::string>> {
             for (const auto& other : before) {
               if (l.port != 0 && other.port == l.port) {
                 return std::make_pair(std::string("port"),
                                       "port " + std::to_string(l.port) + " is configured twice");
               }
             }
             return std::nullopt;
           })}},
      {"limits",
       "Bounds on what one client may send; every limit hit is recorded in the event.",
       {lift(&Config::limits, bytesField("max_request_line", &Li::max_request_line, 16,
                                         "bytes in the request line; more answers 414")),
        lift(&Config::limits, bytesField("max_header_line", &Li::max_header_line, 16,
                                         "bytes in one header line; more answers 400")),
        lift(&Config::limits, bytesField("max_header_bytes", &Li::max_header_bytes, 64,
                                         "bytes in all header lines; more answers 400")),
        lift(&Config::limits, intField("max_headers", &Li::max_headers, 0, 100000,
                                       "header lines; more answers 400 (0: the persona's own, "
                                       "Apache's 100, nginx's 1000)")),
        lift(&Config::limits, bytesField("max_body_bytes", &Li::max_body_bytes, 0,
                                         "request body bytes; more answers 413")),
        lift(&Config::limits,
             secondsField("header_timeout_s", &Li::header_timeout_s, 0, 3600,
                          "seconds for the whole request head; slower answers 408 (0: the "
                          "persona's own, Apache 20 s and 1 s more per 500 bytes up to 40, nginx "
                          "60 s without an answer, IIS 20 s)")),
        lift(&Config::limits, secondsField("body_timeout_s", &Li::body_timeout_s, 0, 3600,
                                           "seconds for the whole body; slower answers 408 (0: "
                                           "the persona's own, Apache 10 s and 1 s more per 500 "
                                           "bytes, nginx 60 s between reads without an answer, "
                                           "IIS 30 s)")),
        lift(&Config::limits,
             secondsField("keepalive_timeout_s", &Li::keepalive_timeout_s, 0, 3600,
                          "idle seconds between requests on a connection (0: the persona's own, "
                          "Apache 5, nginx 65, IIS 120)")),
        lift(&Config::limits,
             intField("max_keepalive_requests", &Li::max_keepalive_requests, 0, kMaxInt,
                      "requests served on one connection (0: the persona's own, Apache 100, "
                      "nginx 1000, IIS 100)")),
        lift(&Config::limits, intField("max_connections", &Li::max_connections, 1, kMaxInt,
                                       "open connections on all listeners")),
        lift(&Config::limits, intField("max_connections_per_ip", &Li::max_connections_per_ip, 1,
                                       kMaxInt, "open connections from one address"))}},
      {"site",
       "The decoy web site.",
       {lift(&Config::site, stringField("root", &Si::root, {},
                                        "site folder; empty: the site shipped with drosera")),
        lift(&Config::site, bytesField("max_file_bytes", &Si::max_file_bytes, 1,
                                       "larger files in the site folder are not served"))}},
      {"engine",
       "ModSecurity and the OWASP Core Rule Set.",
       {lift(&Config::engine, stringField("rule_engine", &E::rule_engine, {"DetectionOnly", "On"},
                                          "SecRuleEngine; the decoy answers the same either way")),
        lift(&Config::engine,
             stringField("crs_dir", &E::crs_dir, {},
                         "CRS folder holding rules/ (Debian package modsecurity-crs)")),
        lift(&Config::engine,
             stringField("crs_setup", &E::crs_setup, {}, "crs-setup.conf; empty: none")),
        lift(&Config::engine,
             intField("paranoia_level", &E::paranoia_level, 1, 4, "CRS paranoia level")),
        lift(&Config::engine, intField("executing_paranoia_level", &E::executing_paranoia_level, 0,
                                       4, "CRS executing paranoia level; 0: paranoia_level")),
        lift(&Config::engine, intField("inbound_threshold", &E::inbound_threshold, 1, 100000,
                                       "CRS inbound anomaly score threshold")),
        lift(&Config::engine, intField("outbound_threshold", &E::outbound_threshold, 1, 100000,
                                       "CRS outbound anomaly score threshold")),
        lift(&Config::engine,
             listField("extra_rules", &E::extra_rules, "rule files loaded after the CRS")),
        lift(&Config::engine, boolField("inspect_response_body", &E::inspect_response_body,
                                        "also inspect the decoy's own response bodies (slower)")),
        lift(&Config::engine,
             stringField("unicode_map", &E::unicode_map, {}, "SecUnicodeMapFile; empty: none")),
        lift(&Config::engine, intField("pcre_match_limit", &E::pcre_match_limit, 100, 10000000,
                                       "SecPcreMatchLimit"))}},
      {"inspection",
       "The queue between answering and inspecting.",
       {lift(&Config::inspection,
             intField("threads", &I::threads, 0, 256, "inspector threads; 0: one per core")),
        lift(&Config::inspection,
             intField("nice", &I::nice, 0, 19,
                      "nice value of the inspector threads: under a burst, answering comes first")),
        lift(&Config::inspection, intField("queue_max_items", &I::queue_max_items, 1, kMaxInt,
                                           "captures waiting in memory; more wait on disk")),
        lift(&Config::inspection, bytesField("queue_max_bytes", &I::queue_max_bytes, 1024,
                                             "bytes of captures waiting in memory")),
        lift(
            &Config::inspection,
            bytesField("backlog_max_bytes", &I::backlog_max_bytes, 1024,
                       "disk cap of the capture journal; past it requests are logged uninspected")),
        lift(
            &Config::inspection,
            secondsField("shutdown_drain_s", &I::shutdown_drain_s, 0, 3600,
                         "seconds spent inspecting the queue at shutdown; the rest waits on disk")),
        lift(&Config::inspection,
             stringField("fsync", &I::fsync, kFsync, "when the capture journal is synced to disk")),
        lift(&Config::inspection, secondsField("fsync_interval_s", &I::fsync_interval_s, 0.01, 3600,
                                               "seconds between syncs when fsync = interval"))}},
      {"event_log",
       "The sensor's event log: one ModSecurity v3 JSON audit record per line.",
       {lift(&Config::event_log,
             stringField("path", &Ev::path, {}, "empty: <data_dir>/events/event.log")),
        lift(&Config::event_log,
             bytesField("rotate_bytes", &Ev::rotate_bytes, 4096, "rotate the file at this size")),
        lift(&Config::event_log,
             intField("keep_files", &Ev::keep_files, 1, 100000, "rotated files kept")),
        lift(&Config::event_log,
             stringField("fsync", &Ev::fsync, kFsync, "when the event log is synced to disk")),
        lift(&Config::event_log, secondsField("fsync_interval_s", &Ev::fsync_interval_s, 0.01, 3600,
                                              "seconds between syncs when fsync = interval")),
        lift(&Config::event_log, bytesField("max_body_bytes", &Ev::max_body_bytes, 0,
                                            "request body bytes copied into the event")),
        lift(&Config::event_log, boolField("raw_request", &Ev::raw_request,
                                           "keep the raw request bytes (base64) in the event"))}},
      {"traps",
       "Honeytraps: baits the decoy lays and the rules that identify who uses them.",
       {lift(&Config::traps, boolField("enabled", &T::enabled, "lay the honeytraps")),
        lift(&Config::traps, intField("rule_id_base", &T::rule_id_base, 1, 99999000,
                                      "first id of the generated identification rules")),
        lift(&Config::traps,
             boolField("fake_ports", &T::fake_ports, "a request on a fake listener is a trap hit")),
        lift(&Config::traps,
             boolField("robots", &T::robots, "a Disallow bait in robots.txt that answers 401")),
        lift(&Config::traps, stringField("robots_path", &T::robots_path, {},
                                         "the robots.txt bait path; empty: chosen per install")),
        lift(&Config::traps,
             stringField("robots_realm", &T::robots_realm, {},
                         "Basic realm of the bait's 401; empty: chosen per install")),
        lift(&Config::traps, boolField("html_comment", &T::html_comment,
                                       "a developer comment pointing to a fake backup file")),
        lift(&Config::traps,
             stringField("comment_page", &T::comment_page, {}, "page that carries the comment")),
        lift(&Config::traps,
             stringField("comment_path", &T::comment_path, {},
                         "the file the comment points to; empty: chosen per install")),
        lift(&Config::traps,
             boolField("hidden_field", &T::hidden_field, "a hidden input before every </form>")),
        lift(&Config::traps, stringField("hidden_field_name", &T::hidden_field_name, {},
                                         "empty: chosen per install")),
        lift(&Config::traps, stringField("hidden_field_value", &T::hidden_field_value, {},
                                         "empty: chosen per install")),
        lift(&Config::traps, boolField("cookie", &T::cookie,
                                       "a signed per-visitor cookie; sent back altered: a hit")),
        lift(&Config::traps,
             stringField("cookie_name", &T::cookie_name, {}, "empty: chosen per install")),
        lift(&Config::traps,
             boolField("sensitive_files", &T::sensitive_files,
                       "fake /.env, /.git/config, /backup.sql, /wp-config.php.bak, /phpinfo.php")),
        lift(&Config::traps,
             boolField("admin_logins", &T::admin_logins,
                       "fake /admin/, /wp-login.php, /phpmyadmin/ that capture credentials")),
        lift(&Config::traps,
             boolField("honeytokens", &T::honeytokens,
                       "secrets handed out in fake files are recognised when used")),
        lift(&Config::traps,
             stringField("baits_dir", &T::baits_dir, {},
                         "bait templates; empty: the baits/ folder shipped with drosera")),
        lift(&Config::traps, intField("max_attackers", &T::max_attackers, 100, 100000000,
                                      "attacker state entries kept")),
        lift(&Config::traps,
             intField("max_tokens", &T::max_tokens, 100, 100000000, "honeytokens remembered"))}},
      {"shipper",
       "How a sensor sends its events to a collector (drosera sensor).",
       {lift(&Config::shipper, boolField("enabled", &Sh::enabled, "ship events to a collector")),
        lift(&Config::shipper,
             stringField("url", &Sh::url, {},
                         "the collector's ingest URL, e.g. https://collector:9080/api/v1/ingest")),
        lift(&Config::shipper, stringField("token", &Sh::token, {}, "this sensor's token")),
        lift(&Config::shipper,
             stringField("token_file", &Sh::token_file, {}, "file holding this sensor's token")),
        lift(&Config::shipper,
             intField("batch_events", &Sh::batch_events, 1, 100000, "events per batch")),
        lift(&Config::shipper,
             bytesField("batch_bytes", &Sh::batch_bytes, 1024, "bytes per batch")),
        lift(&Config::shipper,
             boolField("verify_tls", &Sh::verify_tls, "verify the collector's certificate")),
        lift(&Config::shipper,
             stringField("ca_file", &Sh::ca_file, {}, "CA bundle for the collector's certificate")),
        lift(&Config::shipper,
             boolField("pack", &Sh::pack,
                       "parse and compress batches here, with the collector's dictionary"))}},
      {"collector",
       "The collector: ingest, mlogc receiver, file tailing, store and JSON API.",
       {lift(&Config::collector, stringField("listen", &Co::listen, {},
                                             "address:port of the API, ingest and dashboard")),
        lift(&Config::collector, intField("io_threads", &Co::io_threads, 1, 64,
                                          "threads answering API and ingest requests")),
        lift(&Config::collector, boolField("tls", &Co::tls, "serve HTTPS")),
        lift(&Config::collector, stringField("tls_cert", &Co::tls_cert, {},
                                             "PEM certificate; empty: the generated one")),
        lift(&Config::collector, stringField("tls_key", &Co::tls_key, {}, "PEM private key")),
        lift(&Config::collector,
             stringField("api_token_file", &Co::api_token_file, {},
                         "API access token; empty: <data_dir>/secrets/api.token")),
        lift(&Config::collector,
             stringField("store", &Co::store, {"sqlite", "postgres"}, "where events are stored")),
        lift(&Config::collector, stringField("sqlite_path", &Co::sqlite_path, {},
                                             "SQLite database; empty: <data_dir>/store.db")),
        lift(&Config::collector, stringField("postgres", &Co::postgres, {},
                                             "PostgreSQL connection string (store = postgres)")),
        lift(&Config::collector, bytesField("max_batch_bytes", &Co::max_batch_bytes, 4096,
                                            "largest ingest batch or mlogc entry")),
        lift(&Config::collector, intField("max_concurrent_writes", &Co::max_concurrent_writes, 1,
                                          1024, "writers waiting for the store; more answer 503")),
        lift(&Config::collector,
             intField("max_connections", &Co::max_connections, 0, 1'000'000,
                      "client connections at once (sensors, mlogc, API), more answer 503; 0: 4096 "
                      "(drosera collector), 256 (drosera run)")),
        lift(&Config::collector,
             intField("max_connections_per_ip", &Co::max_connections_per_ip, 0, 1'000'000,
                      "client connections from one address; 0: 1024 (drosera collector), 128 "
                      "(drosera run)")),
        lift(&Config::collector, secondsField("retention_days", &Co::retention_days, 0, 36500,
                                              "delete events older than this many days; 0: keep")),
        lift(&Config::collector, bytesField("retention_bytes", &Co::retention_bytes, 0,
                                            "keep the store under this size; 0: no cap")),
        lift(&Config::collector, secondsField("retention_interval_s", &Co::retention_interval_s,
                                              0.1, 86400, "how often retention runs"))},
       {tableArray<CollectorSensorConfig>(
            "collector", "sensor",
            "Sensors allowed to ship to this collector, each with its token.",
            "[[collector.sensor]]\nname = \"sensor-eu-1\"\ntoken_file = "
            "\"/etc/drosera/sensor-eu-1.token\"\n",
            [](Config& c) -> std::vector<CollectorSensorConfig>& { return c.collector.sensors; },
            [](const Config& c) -> const std::vector<CollectorSensorConfig>& {
              return c.collector.sensors;
            },
            sensorFields(), {"name"}),
        tableArray<MlogcUserConfig>(
            "collector", "mlogc",
            "mlogc clients (ModSecurity v2): PUT /rpc/auditLogReceiver with Basic auth.",
            "[[collector.mlogc]]\nuser = \"apache-1\"\npassword_file = "
            "\"/etc/drosera/apache-1.pw\"\n",
            [](Config& c) -> std::vector<MlogcUserConfig>& { return c.collector.mlogc; },
            [](const Config& c) -> const std::vector<MlogcUserConfig>& {
              return c.collector.mlogc;
            },
            mlogcFields(), {"user"},
            [](const std::vector<MlogcUserConfig>&,
               const MlogcUserConfig& m) -> std::optional<std::pair<std::string, std::string>> {
              if (!m.sensor.empty()) return std::nullopt;
              if (auto why = sensorIdProblem(m.user)) {
                return std::make_pair(
                    "user", "names the sensor when 'sensor' is not set, " + *why + ": set sensor");
              }
              return std::nullopt;
            }),
        tableArray<TailConfig>(
            "collector", "tail",
            "ModSecurity audit logs (v2/v3 JSON or v2 native, serial) to follow.",
            "[[collector.tail]]\npath = \"/var/log/apache2/modsec_audit.log\"\nformat = \"auto\"\n",
            [](Config& c) -> std::vector<TailConfig>& { return c.collector.tails; },
            [](const Config& c) -> const std::vector<TailConfig>& { return c.collector.tails; },
            tailFields(), {"path"},
            [](const std::vector<TailConfig>&,
               const TailConfig& t) -> std::optional<std::pair<std::string, std::string>> {
              if (t.path.empty()) return std::make_pair("path", "cannot be empty");
              if (!t.sensor.empty()) return std::nullopt;
              const std::string file = std::filesystem::path(t.path).filename().string();
              if (auto why = sensorIdProblem(file)) {
                return std::make_pair("path",
                                      "its file name names the sensor when 'sensor' is "
                                      "not set, " +
                                          *why + ": set sensor");
              }
              return std::nullopt;
            })}},
      {"ecs.mapping",
       "ECS documents (docs/ecs.md): what goes into each one.",
       {lift(&Config::ecs,
             lift2(&EO::mapping, stringField("dataset", &EM::dataset, {}, "event.dataset"))),
        lift(&Config::ecs,
             lift2(&EO::mapping, listField("tags", &EM::tags, "added to every document's tags"))),
        lift(&Config::ecs,
             lift2(&EO::mapping,
                   mapField("labels", &EM::labels,
                            "labels.<key> on every document, e.g. {region = \"eu\"}"))),
        lift(&Config::ecs,
             lift2(&EO::mapping, bytesField("max_body_bytes", &EM::max_body_bytes, 0,
                                            "http.request.body.content is cut here; 0: left out"))),
        lift(&Config::ecs,
             lift2(&EO::mapping, boolField("include_original", &EM::include_original,
                                           "event.original = the raw record (large)"))),
        lift(&Config::ecs,
             lift2(&EO::mapping, bytesField("max_original_bytes", &EM::max_original_bytes, 0,
                                            "event.original is cut here"))),
        lift(&Config::ecs,
             lift2(&EO::mapping, bytesField("max_rule_data_bytes", &EM::max_rule_data_bytes, 0,
                                            "rule data and match are cut here")))}},
      {"ecs.geoip",
       "GeoIP for ECS documents and the dashboard (MaxMind mmdb files; optional).",
       {lift(&Config::ecs,
             lift2(&EO::geoip, stringField("city_db", &GI::city_db, {},
                                           "GeoLite2-City .mmdb; empty: no source.geo"))),
        lift(&Config::ecs,
             lift2(&EO::geoip, stringField("asn_db", &GI::asn_db, {},
                                           "GeoLite2-ASN .mmdb; empty: no source.as")))}},
      {"ecs.ndjson",
       "ECS NDJSON files (rotated) for Filebeat or Elastic Agent.",
       {lift(&Config::ecs,
             lift2(&EO::ndjson, boolField("enabled", &EN::enabled, "write the files"))),
        lift(&Config::ecs, lift2(&EO::ndjson, stringField("path", &EN::path, {},
                                                          "empty: <data_dir>/ecs/ecs.ndjson"))),
        lift(&Config::ecs, lift2(&EO::ndjson, bytesField("rotate_bytes", &EN::rotate_bytes, 4096,
                                                         "rotate at this size"))),
        lift(&Config::ecs, lift2(&EO::ndjson, intField("keep_files", &EN::keep_files, 1, 100000,
                                                       "rotated files kept"))),
        lift(&Config::ecs,
             lift2(&EO::ndjson, intField("batch", &EN::batch, 1, 100000, "events per write"))),
        lift(&Config::ecs,
             lift2(&EO::ndjson, secondsField("poll_interval_s", &EN::poll_interval_s, 0.01, 3600,
                                             "how often the store is polled"))),
        lift(&Config::ecs,
             lift2(&EO::ndjson, boolField("fsync", &EN::fsync, "sync before the cursor moves")))}},
      {"ecs.bulk",
       "Elasticsearch / OpenSearch _bulk output (create with deterministic _id).",
       {lift(&Config::ecs,
             lift2(&EO::bulk, boolField("enabled", &EB::enabled, "send to Elasticsearch"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("url", &EB::url, {}, "base URL"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, stringField("index", &EB::index, {},
                                          "index name, strftime over the event time"))),
        lift(&Config::ecs, lift2(&EO::bulk, boolField("data_stream", &EB::data_stream,
                                                      "write to a data stream (a fixed name)"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("flavor", &EB::flavor,
                                                        {"auto", "elasticsearch", "opensearch"},
                                                        "mapping types to use"))),
        lift(&Config::ecs, lift2(&EO::bulk, boolField("install_template", &EB::install_template,
                                                      "install the index template at start"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("template_name", &EB::template_name, {},
                                                        "index template name"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("template_file", &EB::template_file, {},
                                                        "empty: the built-in template"))),
        lift(&Config::ecs, lift2(&EO::bulk, intField("template_priority", &EB::template_priority, 0,
                                                     kMaxInt, "index template priority"))),
        lift(&Config::ecs, lift2(&EO::bulk, intField("batch_docs", &EB::batch_docs, 1, 100000,
                                                     "documents per request"))),
        lift(&Config::ecs, lift2(&EO::bulk, bytesField("batch_bytes", &EB::batch_bytes, 1024,
                                                       "request body cap"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, secondsField("flush_interval_s", &EB::flush_interval_s, 0.01, 3600,
                                           "partial batches wait this long"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, secondsField("poll_interval_s", &EB::poll_interval_s, 0.01, 3600,
                                           "how often the store is polled"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, secondsField("connect_timeout_s", &EB::connect_timeout_s, 0.1, 3600,
                                           "TCP and TLS connect"))),
        lift(&Config::ecs, lift2(&EO::bulk, secondsField("auth_pause_s", &EB::auth_pause_s, 0.1,
                                                         86400, "pause after 401/403"))),
        lift(&Config::ecs, lift2(&EO::bulk, secondsField("timeout_s", &EB::timeout_s, 0.1, 3600,
                                                         "whole request"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, secondsField("backoff_initial_s", &EB::backoff_initial_s, 0.01, 3600,
                                           "first wait between retries"))),
        lift(&Config::ecs, lift2(&EO::bulk, secondsField("backoff_max_s", &EB::backoff_max_s, 0.01,
                                                         3600, "longest wait between retries"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, boolField("compress", &EB::compress, "gzip request bodies"))),
        lift(&Config::ecs,
             lift2(&EO::bulk,
                   stringField("auth", &EB::auth, {"none", "basic", "api_key"}, "authentication"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, stringField("username", &EB::username, {}, "basic: user"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("password_env", &EB::password_env, {},
                                                        "basic: variable holding the password"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("password_file", &EB::password_file, {},
                                                        "basic: file holding the password"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("api_key_env", &EB::api_key_env, {},
                                                        "api_key: variable holding the key"))),
        lift(&Config::ecs, lift2(&EO::bulk, stringField("api_key_file", &EB::api_key_file, {},
                                                        "api_key: file holding the key"))),
        lift(&Config::ecs, lift2(&EO::bulk, boolField("verify_tls", &EB::verify_tls,
                                                      "verify the server certificate"))),
        lift(&Config::ecs,
             lift2(&EO::bulk, stringField("ca_file", &EB::ca_file, {}, "extra CA bundle (PEM)")))}},
      {"misp",
       "MISP reporting (docs/misp.md): a feed folder by default, the REST API with url.",
       {lift(&Config::misp, boolField("enabled", &M::enabled,
                                      "report periodically inside drosera run and collector")),
        lift(&Config::misp, secondsField("interval_s", &M::interval_s, 0.05, 86400,
                                         "between two periodic reports")),
        lift(&Config::misp, intField("batch_size", &M::batch_size, 1, 100000,
                                     "events read from the store per step")),
        lift(&Config::misp,
             stringField("url", &M::url, {}, "MISP base URL (https); empty: the feed folder only")),
        lift(&Config::misp, stringField("api_key_env", &M::api_key_env, {},
                                        "environment variable holding the API key")),
        lift(&Config::misp, stringField("api_key_file", &M::api_key_file, {},
                                        "file holding the API key (wins over api_key_env)")),
        lift(&Config::misp, boolField("verify_tls", &M::verify_tls,
                                      "verify MISP's certificate (off only for a lab)")),
        lift(&Config::misp, stringField("ca_file", &M::ca_file, {}, "extra CA bundle (PEM)")),
        lift(&Config::misp,
             secondsField("timeout_s", &M::timeout_s, 0.1, 3600, "one REST request")),
        lift(&Config::misp, intField("retry_attempts", &M::retry_attempts, 1, 20,
                                     "attempts per REST request on 5xx, 429 and network errors")),
        lift(&Config::misp, secondsField("retry_backoff_s", &M::retry_backoff_s, 0, 600,
                                         "first wait between attempts; doubles, at most 60 s")),
        lift(&Config::misp, stringField("feed_dir", &M::feed_dir, {},
                                        "feed folder; empty: <data_dir>/misp-feed when url is "
                                        "empty, no feed otherwise")),
        lift(&Config::misp, intField("feed_keep_days", &M::feed_keep_days, 0, 36500,
                                     "days kept in the feed (and reported at all); 0: all")),
        lift(&Config::misp, stringField("org_name", &M::org_name, {}, "the events' Orgc name")),
        lift(&Config::misp, stringField("org_uuid", &M::org_uuid, {},
                                        "the events' Orgc UUID; empty: generated once, kept")),
        lift(&Config::misp, stringField("namespace_uuid", &M::namespace_uuid, {},
                                        "UUIDv5 namespace of the ids; empty: generated once")),
        lift(&Config::misp, intField("distribution", &M::distribution, 0, 3,
                                     "0 your organisation .. 3 all communities (REST)")),
        lift(&Config::misp, intField("threat_level", &M::threat_level, 1, 4,
                                     "1 high, 2 medium, 3 low, 4 undefined")),
        lift(&Config::misp, stringField("tlp", &M::tlp, {}, "a tlp:* tag for every event")),
        lift(&Config::misp, stringField("pap", &M::pap, {}, "a PAP:* tag; empty: none")),
        lift(&Config::misp, listField("honeypot_tags", &M::honeypot_tags,
                                      "honeypot-basic:* tags describing the sensor")),
        lift(&Config::misp, listField("event_tags", &M::event_tags,
                                      "more event tags (from the taxonomies or the galaxy)")),
        lift(&Config::misp, mispGroupsField()),
        lift(&Config::misp, intField("max_requests_per_ip", &M::max_requests_per_ip, 0, 100,
                                     "http-request objects per address per day")),
        lift(&Config::misp, intField("max_urls_per_ip", &M::max_urls_per_ip, 0, 1000,
                                     "payload URLs per address per day")),
        lift(&Config::misp, intField("max_ips_per_event", &M::max_ips_per_event, 1, 100000,
                                     "addresses per event; then the day goes on in part 2")),
        lift(&Config::misp, boolField("report_unclassified", &M::report_unclassified,
                                      "also addresses without a rule or trap hit")),
        lift(&Config::misp, boolField("share_credentials", &M::share_credentials,
                                      "report credentials typed into fake logins")),
        lift(&Config::misp, secondsField("sighting_interval_s", &M::sighting_interval_s, 0, 604800,
                                         "REST: at most one sighting per address per "
                                         "interval")),
        lift(&Config::misp, secondsField("close_delay_s", &M::close_delay_s, 0, 604800,
                                         "a day is closed (complete, published) this long "
                                         "after midnight UTC")),
        lift(&Config::misp, stringField("misp_data_dir", &M::misp_data_dir, {},
                                        "taxonomies, galaxy, object templates, CRS mapping; "
                                        "empty: the data/misp shipped with drosera")),
        lift(&Config::misp, listField("warninglist_dirs", &M::warninglist_dirs,
                                      "every list in them is never reported; empty: "
                                      "<misp_data_dir>/warninglists")),
        lift(&Config::misp, listField("allowlist", &M::allowlist,
                                      "addresses/CIDRs never reported (monitoring, own scanners)")),
        lift(&Config::misp, listField("sensor_addresses", &M::sensor_addresses,
                                      "the sensors' own addresses (destinations are learnt "
                                      "too)"))}},
  };
}

// ---- loading ------------------------------------------------------------------------

size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 3;
  for (const auto& c : candidates) {
    size_t d = editDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string where(const std::string& file, const Value& v) {
  auto loc = v.location();
  return file + ":" + std::to_string(loc.line());
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  Status load(const Value& root, Config& config) {
    if (!root.is_table()) return Status::invalidArgument(file_ + ": not a TOML table");
    const auto sections = schema();
    std::vector<std::string> section_names;
    for (const auto& s : sections) section_names.push_back(s.name);
    for (const auto& [sname, svalue] : root.as_table()) {
      // Lambdas capture the structured bindings by init-capture: clang before 16 cannot capture
      // a binding itself.
      auto it = std::find_if(sections.begin(), sections.end(),
                             [&sname = sname](const Section& s) { return s.name == sname; });
      if (it == sections.end() && svalue.is_table() &&
          std::any_of(sections.begin(), sections.end(),
                      [&sname = sname](const Section& s) {
                        return s.name.rfind(sname + ".", 0) == 0;
                      })) {
        // A parent of nested sections ([ecs.bulk] lives in the table "ecs").
        for (const auto& [sub, subvalue] : svalue.as_table()) {
          const std::string full = sname + "." + sub;
          auto st = std::find_if(sections.begin(), sections.end(),
                                 [&](const Section& s) { return s.name == full; });
          if (st == sections.end()) {
            return fail(subvalue, "unknown section '" + full + "'" + suggest(full, section_names));
          }
          if (!subvalue.is_table()) return fail(subvalue, full + ": expected a table [" + full + "]");
          Status r = loadSection(*st, subvalue, config);
          if (!r) return r;
        }
        continue;
      }
      if (it == sections.end()) {
        return fail(svalue, "unknown section '" + sname + "'" + suggest(sname, section_names));
      }
      if (!svalue.is_table()) return fail(svalue, sname + ": expected a table [" + sname + "]");
      Status st = loadSection(*it, svalue, config);
      if (!st) return st;
    }
    return Status::ok();
  }

 private:
  Status fail(const Value& v, const std::string& msg) {
    return Status::invalidArgument(where(file_, v) + ": " + msg);
  }

  Status loadSection(const Section& section, const Value& table, Config& config) {
    std::vector<std::string> names;
    for (const auto& f : section.fields) names.push_back(f.name);
    for (const auto& a : section.arrays) names.push_back(a.name);
    for (const auto& [key, v] : table.as_table()) {
      const std::string full = section.name + "." + key;
      auto arr = std::find_if(section.arrays.begin(), section.arrays.end(),
                              [&key = key](const TableArray& a) { return a.name == key; });
      if (arr != section.arrays.end()) {
        Status st = arr->load(v, config, [this](const Value& at, const std::string& msg) {
          return fail(at, msg);
        });
        if (!st) return st;
        continue;
      }
      auto it = std::find_if(section.fields.begin(), section.fields.end(),
                             [&key = key](const Field<Config>& f) { return f.name == key; });
      if (it == section.fields.end()) {
        return fail(v, "unknown key '" + full + "'" + suggest(key, names));
      }
      if (Problem p = it->apply(v, config)) return fail(v, full + ": " + *p);
      if (Problem p = checkKey(full, config)) return fail(v, full + ": " + *p);
    }
    return Status::ok();
  }

  std::string file_;
};

Result<Config> loadValue(const Value& root, const std::string& name) {
  Config config;
  Status st = Loader(name).load(root, config);
  if (!st) return st;
  st = validateConfig(config);
  if (!st) return Status::invalidArgument(name + ": " + st.message());
  return config;
}

}  // namespace

Result<Config> loadConfigString(std::string_view text, const std::string& name) {
  // A TOML file is UTF-8 (TOML 1.0). Checked before toml11 sees the text: toml11 3.7.1 (Debian
  // 12) reads out of bounds when it reports invalid UTF-8 inside a string (toml11 issue #199,
  // fixed upstream by PR #208; found here by fuzz/config_fuzz.cc).
  size_t line_start = 0;
  for (int line = 1; line_start <= text.size(); ++line) {
    const size_t nl = std::min(text.find('\n', line_start), text.size());
    if (!isValidUtf8(text.substr(line_start, nl - line_start))) {
      return Status::invalidArgument(name + ":" + std::to_string(line) +
                                     ": not UTF-8 (a TOML file must be UTF-8 text)");
    }
    line_start = nl + 1;
  }
  try {
    std::istringstream in{std::string(text)};
    Value root = toml::parse(in, name);
    return loadValue(root, name);
  } catch (const toml::syntax_error& e) {
    return Status::invalidArgument(std::string("TOML syntax error: ") + e.what());
  } catch (const std::exception& e) {
    return Status::invalidArgument(name + ": " + e.what());
  }
}

Result<Config> loadConfigFile(const std::string& path) {
  // Read with open/fstat/read, not an ifstream: a folder opens as an ifstream and reads as
  // empty, which would be a valid file holding every default.
  const auto cannotRead = [&path](int err) {
    const std::string msg = "cannot read configuration file " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::notFound(msg) : Status::ioError(msg);
  };
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return cannotRead(errno);
  std::string text;
  struct stat st {};
  int err = ::fstat(fd, &st) == 0 ? 0 : errno;
  if (err == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* what = S_ISDIR(st.st_mode)    ? "a folder"
                       : S_ISFIFO(st.st_mode) ? "a pipe"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device";
    return Status::invalidArgument("configuration file " + path + " is " + what +
                                   ", not a regular file");
  }
  char buf[65536];
  while (err == 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      err = errno;
    }
  }
  ::close(fd);
  if (err != 0) return cannotRead(err);
  auto r = loadConfigString(text, path);
  if (!r) return r;
  if (Status host = validateConfigOnHost(*r); !host) {
    return Status::invalidArgument(path + ": " + host.message());
  }
  return r;
}

Status parseListenAddress(const std::string& listen, std::string* address, uint16_t* port) {
  if (Problem p = listenProblem(listen, address, port)) {
    return Status::invalidArgument("collector.listen: " + *p);
  }
  return Status::ok();
}

std::optional<std::string> sensorIdProblem(std::string_view id) {
  if (id.empty()) return "a sensor name cannot be empty";
  if (id.size() > 80)
    return "a sensor name has at most 80 bytes (got " + std::to_string(id.size()) + ")";
  for (char ch : id) {
    const auto u = static_cast<unsigned char>(ch);
    const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    if (!alnum && std::string_view("._:@+-").find(ch) == std::string_view::npos) {
      return "a sensor name is letters, digits and . _ : @ + - (got \"" + printable(id) + "\")";
    }
  }
  return std::nullopt;
}

Status validateConfig(const Config& c) {
  if (c.server.listeners.empty()) {
    return Status::invalidArgument("server.listener: at least one listener is needed");
  }
  if (c.server.bind.empty()) return Status::invalidArgument("server.bind: no address to listen on");
  std::set<uint16_t> ports;
  bool any_real = false;
  for (const auto& l : c.server.listeners) {
    if (l.port != 0 && !ports.insert(l.port).second) {
      return Status::invalidArgument("server.listener: port " + std::to_string(l.port) +
                                     " is configured twice");
    }
    any_real |= l.kind == "real";
  }
  if (!any_real) {
    return Status::invalidArgument("server.listener: at least one listener must be kind = \"real\"");
  }
  if (c.server.tls_cert.empty() != c.server.tls_key.empty()) {
    return Status::invalidArgument("server.tls_cert and server.tls_key must be set together");
  }
  if (c.limits.max_header_line > c.limits.max_header_bytes) {
    return Status::invalidArgument("limits.max_header_line is larger than limits.max_header_bytes");
  }
  if (c.engine.executing_paranoia_level != 0 &&
      c.engine.executing_paranoia_level < c.engine.paranoia_level) {
    return Status::invalidArgument(
        "engine.executing_paranoia_level must be 0 or at least engine.paranoia_level");
  }
  // What each key must be on its own (the loader has checked a file's keys already, naming
  // their lines; this covers structs built in code).
  for (const auto& k : kKeyChecks) {
    if (Problem p = k.check(c)) return Status::invalidArgument(std::string(k.key) + ": " + *p);
  }
  if (c.server.trusted_proxies.empty()) {
    for (const auto& l : c.server.listeners) {
      if (!l.proxy_protocol) continue;
      return Status::invalidArgument(
          "server.listener.proxy_protocol is true on port " + std::to_string(l.port) +
          " but server.trusted_proxies is empty: no PROXY header would be believed and every "
          "request would answer 400 (list the load balancers in server.trusted_proxies)");
    }
  }
  if (c.collector.tls_cert.empty() != c.collector.tls_key.empty()) {
    return Status::invalidArgument("collector.tls_cert and collector.tls_key must be set together");
  }
  if (c.collector.store == "postgres" && c.collector.postgres.empty()) {
    return Status::invalidArgument(
        "collector.postgres: a connection string is needed with collector.store = \"postgres\"");
  }
  if (!c.shipper.url.empty() && (!c.shipper.token.empty() || !c.shipper.token_file.empty())) {
    HttpUrl u;
    if (!httpUrlProblem(c.shipper.url, &u) && !u.https && !isLoopbackHost(u.host)) {
      return Status::invalidArgument("shipper.url: plain http would send the token (shipper." +
                                     std::string(c.shipper.token.empty() ? "token_file" : "token") +
                                     ") in clear: use https:// (got " + quote(c.shipper.url) + ")");
    }
  }
  return Status::ok();
}

namespace {

// A folder a key names: refused when it is missing or not a folder. A folder this process may
// not look into is left to the start (drosera may start as root, config check not).
Problem folderProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "no such folder " + quote(path);
    return std::nullopt;
  }
  if (!S_ISDIR(st.st_mode)) return quote(path) + " is not a folder";
  return std::nullopt;
}

Problem fileProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "no such file " + quote(path);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) return quote(path) + " is a folder, not a file";
  return std::nullopt;
}

}  // namespace

Status validateConfigOnHost(const Config& c) {
  const auto bad = [](const std::string& key, const std::string& why) {
    return Status::invalidArgument(key + ": " + why);
  };
  if (const std::string& user = c.general.user; !user.empty()) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    int r = 0;
    while ((r = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE &&
           buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
    }
    // Not found is 0 with no entry, or one of these (getpwnam_r(3)).
    if (found == nullptr && (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)) {
      return bad("general.user", "no such user '" + user + "'");
    }
    if (found == nullptr) {
      return bad("general.user", "cannot look up '" + user + "': " + std::strerror(r));
    }
    if (pw.pw_uid == 0) {
      return bad("general.user", "'" + user + "' is root; name an unprivileged user");
    }
  }
  if (!c.site.root.empty()) {
    if (Problem p = folderProblem(c.site.root)) return bad("site.root", *p);
  }
  for (const auto& l : c.server.listeners) {
    if (l.site.empty()) continue;
    const std::string where = " (the listener on port " + std::to_string(l.port) + ")";
    if (l.site.rfind("builtin:", 0) == 0) {
      const std::string name = l.site.substr(8);
      const std::string folder = shareDir() + "/sites/" + name;
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
          folderProblem(folder)) {
        return bad("server.listener.site",
                   "no built-in site " + quote(l.site) + " (no folder " + folder + ")" + where);
      }
      continue;
    }
    if (Problem p = folderProblem(l.site)) return bad("server.listener.site", *p + where);
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"server.tls_cert", &c.server.tls_cert},
      {"server.tls_key", &c.server.tls_key},
      {"collector.tls_cert", &c.collector.tls_cert},
      {"collector.tls_key", &c.collector.tls_key}};
  for (const auto& [key, path] : files) {
    if (path->empty()) continue;
    if (Problem p = fileProblem(*path)) return bad(key, *p);
  }
  return Status::ok();
}

std::string defaultConfigToml() {
  const Config config;
  std::string out =
      "# drosera configuration. Every key is shown with its default; a file only needs the keys\n"
      "# it changes. Sizes take bytes or \"64KiB\"/\"16MiB\"/\"1GiB\"; durations take seconds or\n"
      "# \"200ms\"/\"5s\"/\"2m\".\n";
  for (const auto& s : schema()) {
    out += "\n# " + s.doc + "\n[" + s.name + "]\n";
    for (const auto& f : s.fields) {
      out += f.name + " = " + f.show(config) + "  # " + f.doc + "\n";
    }
  }
  for (const auto& s : schema()) {
    for (const auto& a : s.arrays) {
      out += "\n";
      std::string doc = a.doc;
      for (size_t at = 0; (at = doc.find('\n', at)) != std::string::npos; at += 3) {
        doc.replace(at, 1, "\n# ");
      }
      out += "# " + doc + "\n";
      const std::string shown = a.show(config);
      if (!shown.empty()) {
        out += shown;
      } else if (!a.example.empty()) {
        std::string ex = a.example;
        out += "# " ;
        for (size_t at = 0; (at = ex.find('\n', at)) != std::string::npos && at + 1 < ex.size(); at += 3) {
          ex.replace(at, 1, "\n# ");
        }
        out += ex;
        if (ex.back() != '\n') out += "\n";
      }
    }
  }
  return out;
}

}  // namespace drosera::core
