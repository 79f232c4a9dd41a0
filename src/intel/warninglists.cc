#include "intel/warninglists.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <regex>

#include "http/ip_match.h"

namespace drosera::intel {
namespace {

using Addr = std::array<uint8_t, 16>;

struct Range {
  Addr lo;
  Addr hi;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "10.0.0.0/8" or "203.0.113.7" (IPv4 stored as IPv4-mapped IPv6).
bool parseCidr(std::string_view text, Range* out) {
  std::string_view addr = text;
  int prefix = -1;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
  }
  Addr a{};
  if (!http::parseIp(addr, &a)) return false;
  const bool v4 = addr.find(':') == std::string_view::npos;
  if (prefix < 0) prefix = v4 ? 32 : 128;
  if ((v4 && prefix > 32) || prefix > 128) return false;
  const int bits = v4 ? prefix + 96 : prefix;
  out->lo = a;
  out->hi = a;
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits - i * 8, 0, 8);
    const uint8_t mask = keep == 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - keep));
    out->lo[i] = static_cast<uint8_t>(a[i] & mask);
    out->hi[i] = static_cast<uint8_t>(a[i] | static_cast<uint8_t>(~mask));
  }
  return true;
}

}  // namespace

struct Warninglists::List {
  std::string name;
  std::string type;                   // cidr | string | substring | hostname | regex
  std::vector<std::string> matching;  // empty: all types
  std::vector<Range> ranges;          // cidr: sorted, merged
  std::vector<std::string> strings;   // string (sorted), substring and hostname (lower-case)
  std::vector<std::regex> regexes;

  bool appliesTo(std::string_view t) const {
    if (matching.empty()) return true;
    return std::find(matching.begin(), matching.end(), t) != matching.end();
  }
  bool containsIp(const Addr& a) const {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), a,
                               [](const Addr& x, const Range& r) { return x < r.lo; });
    if (it == ranges.begin()) return false;
    --it;
    return !(it->hi < a);
  }
};

Warninglists::Warninglists() = default;
Warninglists::~Warninglists() = default;
Warninglists::Warninglists(Warninglists&&) noexcept = default;
Warninglists& Warninglists::operator=(Warninglists&&) noexcept = default;
Warninglists::Warninglists(const Warninglists&) = default;
Warninglists& Warninglists::operator=(const Warninglists&) = default;

size_t Warninglists::lists() const { return lists_.size(); }

core::Status Warninglists::addList(const std::string& name, std::string_view type,
                                   const std::vector<std::string>& matching,
                                   const std::vector<std::string>& entries, bool strict) {
  if (type != "cidr" && type != "string" && type != "substring" && type != "hostname" &&
      type != "regex") {
    return core::Status::invalidArgument("warninglist '" + name + "': unknown type '" +
                                         std::string(type) + "'");
  }
  if (entries_ + entries.size() > limits_.max_entries) {
    return core::Status::resourceExhausted("warninglist '" + name + "': more than " +
                                           std::to_string(limits_.max_entries) +
                                           " entries in all lists");
  }
  auto list = std::make_shared<List>();
  list->name = name;
  list->type = std::string(type);
  list->matching = matching;
  for (const std::string& e : entries) {
    if (type == "cidr") {
      Range r{};
      if (!parseCidr(e, &r)) {
        if (strict) {
          return core::Status::invalidArgument("'" + e + "' in " + name +
                                               " is not an IP address or CIDR block");
        }
        ++skipped_;
        continue;
      }
      list->ranges.push_back(r);
    } else if (type == "regex") {
      // Lists write PCRE as "/.../flags"; keep the body.
      std::string body = e;
      if (body.size() >= 2 && body.front() == '/') {
        const size_t end = body.rfind('/');
        if (end > 0) body = body.substr(1, end - 1);
      }
      try {
        list->regexes.emplace_back(body, std::regex::ECMAScript | std::regex::icase);
      } catch (const std::regex_error&) {
        ++skipped_;  // PCRE syntax std::regex does not know
      }
    } else if (type == "hostname") {
      std::string h = lower(e);
      while (!h.empty() && h.front() == '.') h.erase(h.begin());
      if (!h.empty()) list->strings.push_back(std::move(h));
    } else if (type == "substring") {
      if (!e.empty()) list->strings.push_back(lower(e));
    } else {
      list->strings.push_back(e);
    }
  }
  if (type == "cidr") {
    std::sort(list->ranges.begin(), list->ranges.end(),
              [](const Range& a, const Range& b) { return a.lo < b.lo; });
    std::vector<Range> merged;
    for (const Range& r : list->ranges) {
      if (!merged.empty() && !(merged.back().hi < r.lo)) {
        if (merged.back().hi < r.hi) merged.back().hi = r.hi;
      } else {
        merged.push_back(r);
      }
    }
    list->ranges = std::move(merged);
  }
  if (type == "string") std::sort(list->strings.begin(), list->strings.end());
  entries_ += entries.size();
  lists_.push_back(std::move(list));
  return core::Status::ok();
}

core::Status Warninglists::loadDirectory(const std::string& dir, const WarninglistLimits& limits) {
  limits_ = limits;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return core::Status::notFound("warninglist folder " + dir + " does not exist");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const fs::path& p = entry.path();
    std::error_code sub_ec;
    if (entry.is_directory(sub_ec)) {
      // The upstream repository's layout: lists/<name>/list.json.
      if (fs::is_regular_file(p / "list.json", sub_ec)) files.push_back(p / "list.json");
      continue;
    }
    if (p.extension() != ".json" || p.filename() == "schema.json") continue;
    if (!entry.is_regular_file(sub_ec)) continue;
    files.push_back(p);
  }
  if (ec) return core::Status::ioError("cannot list " + dir + ": " + ec.message());
  if (files.size() > limits.max_files) {
    return core::Status::resourceExhausted(dir + " holds more than " +
                                           std::to_string(limits.max_files) + " list files");
  }
  std::sort(files.begin(), files.end());  // deterministic order of match() answers
  for (const fs::path& p : files) {
    const uint64_t size = fs::file_size(p, ec);
    if (ec) return core::Status::ioError("cannot read " + p.string() + ": " + ec.message());
    if (size > limits.max_file_bytes) {
      return core::Status::resourceExhausted(p.string() + " is larger than " +
                                             std::to_string(limits.max_file_bytes) + " bytes");
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return core::Status::ioError("cannot open " + p.string());
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return core::Status::invalidArgument(p.string() + " is not valid JSON");
    }
    // The fields the misp-warninglists schema requires.
    const auto str = [&](const char* k) { return j.contains(k) && j[k].is_string(); };
    if (!str("name") || !str("type") || !str("description") || !j.contains("version") ||
        !j["version"].is_number_integer() || !j.contains("list") || !j["list"].is_array()) {
      return core::Status::invalidArgument(
          p.string() + " is not a warninglist (needs name, type, description, version, list)");
    }
    std::vector<std::string> matching;
    if (j.contains("matching_attributes")) {
      if (!j["matching_attributes"].is_array()) {
        return core::Status::invalidArgument(p.string() + ": matching_attributes is not a list");
      }
      for (const auto& m : j["matching_attributes"]) {
        if (m.is_string()) matching.push_back(m.get<std::string>());
      }
    }
    std::vector<std::string> entries;
    entries.reserve(j["list"].size());
    for (const auto& e : j["list"]) {
      if (e.is_string()) entries.push_back(e.get<std::string>());
    }
    core::Status s = addList(j["name"].get<std::string>(), j["type"].get<std::string>(), matching,
                             entries, false);
    if (!s) return core::Status::invalidArgument(p.string() + ": " + s.message());
  }
  return core::Status::ok();
}

std::optional<std::string> Warninglists::matchOne(std::string_view type,
                                                  std::string_view value) const {
  Addr addr{};
  const bool is_ip = value.find('/') == std::string_view::npos && http::parseIp(value, &addr);
  const std::string low = lower(value);
  for (const auto& l : lists_) {
    if (!l->appliesTo(type)) continue;
    if (l->type == "cidr") {
      if (is_ip && l->containsIp(addr)) return l->name;
    } else if (l->type == "string") {
      if (std::binary_search(l->strings.begin(), l->strings.end(), std::string(value))) {
        return l->name;
      }
    } else if (l->type == "substring") {
      for (const auto& s : l->strings) {
        if (low.find(s) != std::string::npos) return l->name;
      }
    } else if (l->type == "hostname") {
      for (const auto& s : l->strings) {
        if (low == s ||
            (low.size() > s.size() && low.ends_with(s) && low[low.size() - s.size() - 1] == '.')) {
          return l->name;
        }
      }
    } else if (l->type == "regex") {
      if (value.size() > limits_.max_regex_input) continue;
      const std::string v(value);
      for (const auto& re : l->regexes) {
        if (std::regex_search(v, re)) return l->name;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> Warninglists::match(std::string_view type,
                                               std::string_view value) const {
  if (auto m = matchOne(type, value)) return m;
  if (type == "url" || type == "link") {
    const std::string host = urlHost(value);
    if (host.empty()) return std::nullopt;
    Addr a{};
    if (http::parseIp(host, &a)) return matchOne("ip-dst", host);
    if (auto m = matchOne("hostname", host)) return m;
    return matchOne("domain", host);
  }
  return std::nullopt;
}

namespace {

// Whether the first `bits` bits of `addr` are those of `net`.
bool inNet(const uint8_t* addr, std::initializer_list<uint8_t> net, int bits) {
  int i = 0;
  for (const uint8_t n : net) {
    const int left = bits - 8 * i;
    if (left <= 0) break;
    const uint8_t mask = left >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - left));
    if ((addr[i] & mask) != (n & mask)) return false;
    ++i;
  }
  return true;
}

// IANA's IPv4 special-purpose registry, the blocks that are not globally reachable.
bool isNonGlobalV4(const uint8_t* a) {
  return inNet(a, {0}, 8) ||              // "this network"
         inNet(a, {10}, 8) ||             // private (RFC 1918)
         inNet(a, {100, 64}, 10) ||       // shared address space, CGNAT (RFC 6598)
         inNet(a, {127}, 8) ||            // loopback
         inNet(a, {169, 254}, 16) ||      // link-local
         inNet(a, {172, 16}, 12) ||       // private
         inNet(a, {192, 0, 0}, 24) ||     // IETF protocol assignments
         inNet(a, {192, 0, 2}, 24) ||     // documentation (RFC 5737)
         inNet(a, {192, 168}, 16) ||      // private
         inNet(a, {198, 18}, 15) ||       // benchmarking
         inNet(a, {198, 51, 100}, 24) ||  // documentation
         inNet(a, {203, 0, 113}, 24) ||   // documentation
         inNet(a, {224}, 4) ||            // multicast
         inNet(a, {240}, 4);              // reserved, and broadcast 255.255.255.255
}

bool isNonGlobalV6(const uint8_t* a) {
  static constexpr uint8_t kZero[10] = {};
  if (std::equal(kZero, kZero + 10, a) && a[10] == 0xFF && a[11] == 0xFF) {
    return isNonGlobalV4(a + 12);  // IPv4-mapped
  }
  // NAT64's well-known prefix and 6to4 must not carry a non-global IPv4 address (RFC 6052,
  // RFC 3056); with a global one they are reachable.
  if (inNet(a, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96)) return isNonGlobalV4(a + 12);
  if (inNet(a, {0x20, 0x02}, 16)) return isNonGlobalV4(a + 2);
  // Outside 2000::/3 nothing is global unicast: ::, ::1, unique local fc00::/7, link-local
  // fe80::/10, multicast ff00::/8, discard-only 100::/64, local-use NAT64 64:ff9b:1::/48...
  if (!inNet(a, {0x20}, 3)) return true;
  return inNet(a, {0x20, 0x01, 0x0d, 0xb8}, 32) ||      // documentation (RFC 3849)
         inNet(a, {0x3f, 0xff, 0x00}, 20) ||            // documentation (RFC 9637)
         inNet(a, {0x20, 0x01, 0x00, 0x02, 0, 0}, 48);  // benchmarking (RFC 5180)
}

}  // namespace

bool isNonGlobalAddress(std::string_view ip) {
  std::array<uint8_t, 16> a{};
  if (!http::parseIp(ip, &a)) return false;
  return isNonGlobalV6(a.data());  // IPv4 comes back as IPv4-mapped
}

std::string urlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view auth = rest.substr(0, end);
  if (const size_t at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth.front() == '[') {
    const size_t close = auth.find(']');
    if (close == std::string_view::npos) return "";
    return lower(auth.substr(1, close - 1));
  }
  if (const size_t colon = auth.find(':'); colon != std::string_view::npos) {
    auth = auth.substr(0, colon);
  }
  return lower(auth);
}

}  // namespace drosera::intel
