// The index line of a concurrent audit log (mlogc's input, X-ForensicLog-Summary). Read by
// hand rather than with mlogc's regex: bounded time, and exact about the fields a receiver
// relies on. The fixed fields at the end are read from the right, so a request line or a
// User-Agent full of quotes and spaces cannot shift them.
#include "collector/parse.h"
#include "collector/parse_util.h"

namespace drosera::collector {
namespace {

constexpr size_t kMaxIndexLine = 64 * 1024;

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Removes and returns the last space-separated token of `s`.
std::string_view popRight(std::string_view& s) {
  const size_t sp = s.rfind(' ');
  std::string_view tok = sp == std::string_view::npos ? s : s.substr(sp + 1);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(0, sp);
  return tok;
}

// Removes and returns the first space-separated token of `s`.
std::string_view popLeft(std::string_view& s) {
  const size_t sp = s.find(' ');
  std::string_view tok = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return tok;
}

// "YYYYMMDD-HHMMSS-<unique_id>": the file name ModSecurity gives an entry.
std::string_view idFromPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.size() < 17 || name[8] != '-' || name[15] != '-') return {};
  return name.substr(16);
}

// The request line inside its quotes, then status: `"GET / HTTP/1.1" 200 ...`. The closing
// quote is the first unescaped one followed by " <digits> ".
void readRequestAndStatus(std::string_view middle, IndexEntry& out) {
  if (middle.empty() || middle[0] != '"') return;
  for (size_t i = 1; i + 2 < middle.size(); ++i) {
    if (middle[i] == '\\') {
      ++i;
      continue;
    }
    if (middle[i] != '"' || middle[i + 1] != ' ') continue;
    size_t j = i + 2;
    const size_t start = j;
    while (j < middle.size() && middle[j] >= '0' && middle[j] <= '9') ++j;
    if (j == start || j - start > 3 || (j < middle.size() && middle[j] != ' ')) continue;
    out.request_line.assign(middle.substr(1, i - 1));
    out.status = static_cast<int>(internal::parseInt(middle.substr(start, j - start)).value_or(0));
    return;
  }
}

}  // namespace

core::Result<IndexEntry> parseMlogcIndexLine(std::string_view line) {
  if (line.size() > kMaxIndexLine) {
    return core::Status::invalidArgument("index line: longer than 64 KiB");
  }
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  IndexEntry out;
  if (line.size() >= 2 && line.substr(line.size() - 2) == " L") {
    out.truncated = true;
    line.remove_suffix(2);
  } else if (!line.empty() && line.back() == ' ') {
    line.remove_suffix(1);
  }

  // Right: ... <path> <offset> <size> md5:<hex>
  std::string_view rest = line;
  const std::string_view hash = popRight(rest);
  const std::string_view size = popRight(rest);
  const std::string_view offset = popRight(rest);
  out.path.assign(popRight(rest));
  if (hash.size() != 36 || hash.substr(0, 4) != "md5:") {
    return core::Status::invalidArgument("index line: no md5:<hex> hash at the end");
  }
  for (char c : hash.substr(4)) {
    if (!isHex(c)) return core::Status::invalidArgument("index line: hash is not hex");
    out.md5 += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  // v2 prints the size as an integer, v3 as a double ("473.000000").
  const size_t dot = size.find('.');
  const auto size_value = internal::parseInt(size.substr(0, dot));
  if (!size_value || *size_value < 0 ||
      (dot != std::string_view::npos &&
       size.substr(dot + 1).find_first_not_of('0') != std::string_view::npos)) {
    return core::Status::invalidArgument("index line: bad size");
  }
  out.size = static_cast<uint64_t>(*size_value);
  if (!internal::parseInt(offset) || out.path.empty()) {
    return core::Status::invalidArgument("index line: bad path or offset");
  }

  // Left: host ip ruser [luser] [time]
  out.host.assign(popLeft(rest));
  out.remote_ip.assign(popLeft(rest));
  popLeft(rest);  // remote user
  if (rest.empty()) return core::Status::invalidArgument("index line: too few fields");
  out.v3 = rest[0] == '[';
  if (!out.v3) popLeft(rest);  // local user (v2 only)
  if (rest.empty() || rest[0] != '[') return core::Status::invalidArgument("index line: no time");
  const size_t close = rest.find(']');
  if (close == std::string_view::npos) return core::Status::invalidArgument("index line: no time");
  out.time_us = internal::parseApacheTime(rest.substr(1, close - 1)).value_or(0);
  std::string_view middle = internal::trim(rest.substr(close + 1));

  // The unique id: v2 writes `<id> "<session>"` before the path; v3 `<id> <referer>` (the
  // referer unquoted, spaces and all), so there the entry's file name is the reliable source.
  if (!out.v3 && !middle.empty() && middle.back() == '"') {
    const size_t open = middle.rfind(" \"", middle.size() - 2);
    if (open != std::string_view::npos) {
      std::string_view head = middle.substr(0, open);
      out.unique_id.assign(popRight(head));
    }
  }
  if (out.unique_id.empty()) out.unique_id.assign(idFromPath(out.path));
  if (out.unique_id.empty() || out.unique_id == "-") {
    return core::Status::invalidArgument("index line: no unique id");
  }
  readRequestAndStatus(middle, out);
  return out;
}

}  // namespace drosera::collector
