// The native audit log format (parts A..Z between boundary markers), v2 "--b-X--" and
// libmodsecurity v3's "---b---X--", and the splitter for serial native logs.
#include <algorithm>
#include <optional>
#include <unordered_map>
#include <vector>

#include "collector/parse.h"
#include "collector/parse_util.h"

namespace drosera::collector {
namespace {

constexpr size_t kMinBoundary = 4;
constexpr size_t kMaxBoundary = 64;

struct Marker {
  std::string_view boundary;
  char part = 0;
  bool v3 = false;
};

bool isAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view chompCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "--0c990461-A--" (v2) or "---qGkRIeox---A--" (v3); the line without its newline.
std::optional<Marker> parseMarker(std::string_view line) {
  line = chompCr(line);
  Marker m;
  size_t pos;
  if (line.substr(0, 3) == "---") {
    m.v3 = true;
    pos = 3;
  } else if (line.substr(0, 2) == "--") {
    pos = 2;
  } else {
    return std::nullopt;
  }
  const size_t start = pos;
  while (pos < line.size() && isAlnum(line[pos]) && pos - start <= kMaxBoundary) ++pos;
  m.boundary = line.substr(start, pos - start);
  if (m.boundary.size() < kMinBoundary || m.boundary.size() > kMaxBoundary) return std::nullopt;
  const std::string_view sep = m.v3 ? "---" : "-";
  if (line.substr(pos, sep.size()) != sep) return std::nullopt;
  pos += sep.size();
  if (pos + 3 != line.size() || line[pos] < 'A' || line[pos] > 'Z' ||
      line.substr(pos + 1) != "--") {
    return std::nullopt;
  }
  m.part = line[pos];
  return m;
}

std::string markerText(const Marker& m, char part) {
  std::string s = m.v3 ? "---" : "--";
  s += m.boundary;
  s += m.v3 ? "---" : "-";
  s += part;
  s += "--";
  return s;
}

// Walks `text` line by line; `line` excludes the newline, `next` is where the next line starts.
struct LineCursor {
  std::string_view text;
  size_t pos = 0;
  bool next(std::string_view& line, size_t& line_start) {
    if (pos >= text.size()) return false;
    line_start = pos;
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    line = text.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    return true;
  }
};

bool blank(std::string_view s) { return internal::trim(s).empty(); }

// The bytes of the lines of `text` that are not blank, with their newlines: text outside entries.
size_t nonBlankBytes(std::string_view text) {
  LineCursor cur{text};
  std::string_view line;
  size_t start;
  size_t n = 0;
  while (cur.next(line, start)) {
    if (!blank(line)) n += cur.pos - start;
  }
  return n;
}

// A marker, when the line (without its newline) is one; long lines are not looked at.
std::optional<Marker> markerOfLine(std::string_view line) {
  return line.size() <= 2 * kMaxBoundary + 10 ? parseMarker(line) : std::nullopt;
}

// The marker that ends `line` (without its newline), and where it starts in it: the whole line,
// or an A marker after other bytes (a writer died in the middle of a line, and the next one
// appended its entry to it).
std::optional<Marker> markerEnding(std::string_view line, size_t& offset) {
  line = chompCr(line);
  offset = 0;
  if (auto m = markerOfLine(line)) return m;
  const size_t longest = 2 * kMaxBoundary + 10;
  for (size_t p = line.size() > longest ? line.size() - longest : 1; p + 1 < line.size(); ++p) {
    if (line[p] != '-' || line[p + 1] != '-') continue;
    if (auto m = parseMarker(line.substr(p)); m && m->part == 'A') {
      offset = p;
      return m;
    }
  }
  return std::nullopt;
}

// What identifies an entry's markers: "--b-" or "---b---" (the marker line without "X--").
std::string_view markerKey(std::string_view line) {
  line = chompCr(line);
  return line.substr(0, line.size() - 3);
}

// The candidate entries of buffer[0, to) (`to` ends a line, or is the end of a finished buffer),
// read in one pass: for each A marker (a line of its own, or the end of a line: a writer died in
// the middle of one), where its Z marker line ends (npos: none before the next A marker of its
// boundary or `to`), where its last own marker line ends, and where the next A marker of its
// boundary starts. Markers of another boundary inside an entry (a request body) make candidates
// too: the splitter steps over them as it takes the entry around them.
struct EntryScan {
  struct Entry {
    size_t start = 0;
    size_t z_end = std::string_view::npos;
    size_t own_end = 0;
    size_t next_a = std::string_view::npos;
  };
  size_t to = 0;
  std::vector<Entry> entries;  // by start
  // next_complete[i]: the first index >= i whose entry has a Z (entries.size() if none).
  std::vector<size_t> next_complete;

  size_t indexFrom(size_t pos) const {
    return static_cast<size_t>(
        std::lower_bound(entries.begin(), entries.end(), pos,
                         [](const Entry& e, size_t s) { return e.start < s; }) -
        entries.begin());
  }

  // The start of the first entry at or after `pos`; `to` when there is none.
  size_t startFrom(size_t pos) const {
    const size_t i = indexFrom(pos);
    return i < entries.size() ? entries[i].start : to;
  }

  // The start of the first entry at or after `pos` and before `limit` that is complete, its Z
  // before `limit`; `limit` when none is.
  size_t firstCompleteFrom(size_t pos, size_t limit) const {
    size_t i = indexFrom(pos);
    for (i = i < entries.size() ? next_complete[i] : i;
         i < entries.size() && entries[i].start < limit; i = next_complete[i + 1]) {
      // One complete past `limit` spans the start of a real entry: forged, or torn with a later
      // entry's Z of its boundary. Seldom more than a few.
      if (entries[i].z_end <= limit) return entries[i].start;
    }
    return limit;
  }
};

void scanEntries(std::string_view buffer, size_t to, bool finished, EntryScan& r) {
  r.to = to;
  r.entries.clear();
  std::unordered_map<std::string_view, size_t> open;    // key -> index of its entry still open
  std::unordered_map<std::string_view, size_t> last_a;  // key -> index of its latest entry
  LineCursor cur{buffer.substr(0, to)};
  std::string_view line;
  size_t start;
  while (cur.next(line, start)) {
    const bool whole = cur.pos > start + line.size() || (finished && to == buffer.size());
    size_t offset = 0;
    const auto m = whole ? markerEnding(line, offset) : std::nullopt;
    if (!m) continue;
    start += offset;
    const std::string_view key = markerKey(line.substr(offset));
    if (m->part == 'A') {
      if (auto it = last_a.find(key); it != last_a.end()) r.entries[it->second].next_a = start;
      last_a[key] = open[key] = r.entries.size();
      r.entries.push_back({start, std::string_view::npos, cur.pos, std::string_view::npos});
      continue;
    }
    auto it = open.find(key);
    if (it == open.end()) continue;  // no entry of this boundary open: ends nothing
    EntryScan::Entry& e = r.entries[it->second];
    e.own_end = cur.pos;
    if (m->part == 'Z') {
      e.z_end = cur.pos;
      open.erase(it);
    }
  }
  r.next_complete.assign(r.entries.size() + 1, r.entries.size());
  for (size_t i = r.entries.size(); i-- > 0;) {
    r.next_complete[i] = r.entries[i].z_end != std::string_view::npos ? i : r.next_complete[i + 1];
  }
}

void readHeaderA(std::string_view a, core::Event& e, std::optional<int64_t>& time) {
  a = internal::trim(a);
  const size_t open = a.find('[');
  const size_t close = a.find(']');
  if (open != 0 || close == std::string_view::npos) return;
  time = internal::parseApacheTime(a.substr(1, close - 1));
  std::string_view rest = a.substr(close + 1);
  std::string_view tok[5];
  size_t n = 0;
  size_t pos = 0;
  while (n < 5 && pos < rest.size()) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    const size_t start = pos;
    while (pos < rest.size() && rest[pos] != ' ') ++pos;
    if (pos > start) tok[n++] = rest.substr(start, pos - start);
  }
  auto portOf = [](std::string_view s) -> uint16_t {
    const auto v = internal::parseInt(s);
    return v && *v > 0 && *v <= 65535 ? static_cast<uint16_t>(*v) : 0;
  };
  if (n > 0) e.unique_id.assign(tok[0]);
  if (n > 1) e.src_ip.assign(tok[1]);
  if (n > 2) e.src_port = portOf(tok[2]);
  if (n > 3) e.dst_ip.assign(tok[3]);
  if (n > 4) e.dst_port = portOf(tok[4]);
}

void readPartB(std::string_view b, core::Event& e, const ParseContext& ctx) {
  LineCursor cur{b};
  std::string_view line;
  size_t start;
  bool first = true;
  while (cur.next(line, start)) {
    line = chompCr(line);
    if (first) {
      first = false;
      internal::splitRequestLine(line, e);
      continue;
    }
    if (line.empty()) break;
    if (e.request_headers.size() >= ctx.max_headers) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    e.request_headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
}

// Status from "HTTP/1.1 404 Not Found" (v3 writes "HTTP/1.1 200"); the Date header, if any.
void readPartF(std::string_view f, core::Event& e, std::optional<int64_t>& date) {
  LineCursor cur{f};
  std::string_view line;
  size_t start;
  bool first = true;
  while (cur.next(line, start)) {
    line = chompCr(line);
    if (first) {
      first = false;
      const size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        std::string_view code = line.substr(sp + 1, 3);
        if (const auto v = internal::parseInt(code); v && *v >= 100 && *v <= 999) {
          e.status = static_cast<int>(*v);
        }
      }
      continue;
    }
    if (line.empty()) break;
    if (line.size() > 5 && internal::iequals(line.substr(0, 5), "Date:")) {
      date = internal::parseHttpDate(line.substr(5));
    }
  }
}

void readPartH(std::string_view h, core::Event& e, const ParseContext& ctx) {
  LineCursor cur{h};
  std::string_view line;
  size_t start;
  while (cur.next(line, start)) {
    if (e.rules.size() >= ctx.max_rules) break;
    line = chompCr(line);
    // v2 "Message: ...", v3 "ModSecurity: ..."; Apache-Error lines also carry [file] and
    // [line] but no rule.
    if (line.substr(0, 9) != "Message: " && line.substr(0, 13) != "ModSecurity: ") continue;
    core::RuleHit hit;
    if (internal::parseRuleMessageText(line, ctx, hit)) e.rules.push_back(std::move(hit));
  }
}

}  // namespace

core::Result<core::Event> parseV2Native(std::string_view entry, const ParseContext& ctx) {
  if (entry.size() > ctx.max_record_bytes) {
    return core::Status::resourceExhausted("native: entry of " + std::to_string(entry.size()) +
                                           " bytes, limit " + std::to_string(ctx.max_record_bytes));
  }
  LineCursor cur{entry};
  std::string_view line;
  size_t line_start = 0;
  std::optional<Marker> a;
  while (cur.next(line, line_start)) {
    if (blank(line)) continue;
    a = parseMarker(line);
    break;
  }
  if (!a || a->part != 'A') return core::Status::invalidArgument("native: no A marker");

  // Parts by letter: [begin, end) of their contents. The first of each letter counts.
  struct Span {
    size_t begin = 0;
    size_t end = 0;
    bool seen = false;
  };
  Span parts[26];
  parts[0] = {cur.pos, 0, true};
  Span* open = &parts[0];
  bool complete = false;
  const size_t marker_size = markerText(*a, 'A').size();
  while (cur.next(line, line_start)) {
    const std::string_view l = chompCr(line);
    if (l.size() != marker_size || l[0] != '-') continue;
    const auto m = parseMarker(l);
    if (!m || m->boundary != a->boundary || m->v3 != a->v3) continue;
    if (open != nullptr) {
      open->end = line_start;
      open = nullptr;
    }
    if (m->part == 'Z') {
      complete = true;
      break;
    }
    Span& next = parts[m->part - 'A'];
    if (!next.seen) {
      next = {cur.pos, 0, true};
      open = &next;
    }
  }
  if (!complete) return core::Status::invalidArgument("native: entry has no Z marker (truncated)");
  auto part = [&](char p) -> std::string_view {
    const Span& s = parts[p - 'A'];
    if (!s.seen || s.end < s.begin) return {};
    return entry.substr(s.begin, s.end - s.begin);
  };

  core::Event e;
  std::optional<int64_t> time;
  std::optional<int64_t> date;
  readHeaderA(part('A'), e, time);
  readPartB(part('B'), e, ctx);
  std::string_view body = part('C').empty() ? part('I') : part('C');
  // The writer ends the body with one newline (v2) or two (v3).
  for (int i = 0; i < (a->v3 ? 2 : 1) && !body.empty() && body.back() == '\n'; ++i) {
    body.remove_suffix(1);
  }
  internal::appendBounded(e.request_body, body, ctx.max_body_bytes);
  readPartF(part('F'), e, date);
  readPartH(part('H'), e, ctx);
  if (e.unique_id.empty()) e.unique_id = ctx.fallback_unique_id;
  if (e.unique_id.empty()) return core::Status::invalidArgument("native: no unique id in part A");
  if (time) {
    e.time_us = *time;
  } else if (date) {
    e.time_us = *date;
  }
  e.format = "modsec2-native";
  internal::scoresFromRuleMessages(e, ctx.max_items);
  internal::finishEvent(e, ctx);
  if (ctx.keep_raw_record) e.raw_record.assign(entry);
  return e;
}

NativeSplit splitNativeEntries(std::string_view buffer, size_t max_entry_bytes, NativeTail tail) {
  NativeSplit out;
  const bool finished = tail == NativeTail::kFinished;
  // Complete lines only, unless nothing more will come: more data may complete a marker line.
  const size_t last_nl = buffer.rfind('\n');
  const size_t to = finished ? buffer.size() : last_nl == std::string_view::npos ? 0 : last_nl + 1;
  EntryScan scan;
  scanEntries(buffer, to, finished, scan);
  // From one entry taken as real to the next. A complete one is taken whole, with any candidates
  // in its body. One without its Z is torn or still being written; after a torn one, the next
  // real entry is looked for past its own markers (what follows them may be its request body).
  size_t pos = 0;
  size_t i = 0;
  while (true) {
    while (i < scan.entries.size() && scan.entries[i].start < pos) ++i;
    const size_t start = i < scan.entries.size() ? scan.entries[i].start : to;
    out.skipped_bytes += nonBlankBytes(buffer.substr(pos, start - pos));
    out.consumed = start;
    if (i == scan.entries.size()) return out;
    const EntryScan::Entry& e = scan.entries[i];
    if (e.z_end != std::string_view::npos) {
      if (e.z_end - e.start <= max_entry_bytes) {
        out.entries.push_back(buffer.substr(e.start, e.z_end - e.start));
      } else {
        out.skipped_bytes += e.z_end - e.start;  // oversized
      }
      pos = e.z_end;
      continue;
    }
    size_t resume = std::string_view::npos;
    if (e.next_a != std::string_view::npos) {
      // Torn: an entry of its boundary begins later (the boundary is random: no request body
      // holds it), and every entry before that one has ended (writers append whole entries, one
      // at a time). The entries in between are kept from the first complete one past its own
      // markers. One inside its last part (a forged entry in a request body cut short) cannot be
      // told from a real one, and is taken too.
      resume = scan.firstCompleteFrom(e.own_end, e.next_a);
    } else if (tail != NativeTail::kGrowing) {
      // No writer is in the middle of an entry, but for the last one perhaps (a slow writer): it
      // is torn when a complete entry follows (one forged in its body if it is that last one:
      // this cannot be told), or when nothing more will come.
      resume = scan.firstCompleteFrom(e.own_end, to);
      if (resume == to && !finished) resume = std::string_view::npos;
    }
    if (resume == std::string_view::npos) {
      // Perhaps still being written: complete entries after it prove nothing (they may be forged
      // in its request body). Wait for its Z, up to the bound.
      if (buffer.size() - e.start <= max_entry_bytes) return out;
      // Torn: its Z did not come within the bound. What follows its own markers may be an entry
      // still being written, with forged ones in its body: resume at the next A marker, not the
      // next complete entry.
      resume = scan.startFrom(e.own_end);
    }
    out.skipped_bytes += resume - e.start;
    pos = resume;
  }
}

}  // namespace drosera::collector
