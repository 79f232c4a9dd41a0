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

// The first line at or after `from` that is exactly `marker` (CR allowed), complete: ended by a
// newline, or by the end of a `finished` buffer. `glued`: or that ends in it (an A marker
// appended to the partial line a writer that died left).
size_t nextMarkerLine(std::string_view buffer, std::string_view marker, size_t from,
                      bool finished = false, bool glued = false) {
  for (size_t p = buffer.find(marker, from); p != std::string_view::npos;
       p = buffer.find(marker, p + 1)) {
    if (p > 0 && buffer[p - 1] != '\n' && !glued) continue;
    size_t q = p + marker.size();
    if (q < buffer.size() && buffer[q] == '\r') ++q;
    if ((q < buffer.size() && buffer[q] == '\n') || (finished && q == buffer.size())) return p;
  }
  return std::string_view::npos;
}

// The end of the line at `pos`: past its newline, or the end of the buffer.
size_t lineEnd(std::string_view buffer, size_t pos) {
  const size_t nl = buffer.find('\n', pos);
  return nl == std::string_view::npos ? buffer.size() : nl + 1;
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

// Where the last A marker on a complete line starts; 0 when there is none.
size_t lastAMarker(std::string_view buffer) {
  size_t end = buffer.rfind('\n');
  while (end != std::string_view::npos && end > 0) {
    const size_t nl = buffer.rfind('\n', end - 1);
    const size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    size_t offset;
    const auto m = markerEnding(buffer.substr(start, end - start), offset);
    if (m && m->part == 'A') return start + offset;
    end = nl;
  }
  return 0;
}

// The entries of buffer[from, to), a region at whose end every entry started in it has ended
// (a new entry begins there, or nothing more will be written), read in one pass: for each A
// marker line, where its Z marker line ends (npos: torn, no Z before the next A marker of its
// boundary or the region's end), where its last own marker line ends, and where the next A
// marker of its boundary starts. Markers of another boundary inside an entry (a request body)
// are entries of the region too; the splitter steps over them as it takes the entry around them.
struct EndedRegion {
  struct Entry {
    size_t start = 0;
    size_t z_end = std::string_view::npos;
    size_t own_end = 0;
    size_t next_a = std::string_view::npos;
  };
  size_t from = 0;
  size_t to = 0;               // empty until a region is scanned
  std::vector<Entry> entries;  // by start
  // next_complete[i]: the first index >= i whose entry has a Z (entries.size() if none).
  std::vector<size_t> next_complete;

  const Entry* find(size_t start) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), start,
                               [](const Entry& e, size_t s) { return e.start < s; });
    return it != entries.end() && it->start == start ? &*it : nullptr;
  }

  // The start of the first entry at or after `pos` and before `limit` that is complete, its Z
  // before `limit`; `limit` when none is.
  size_t firstCompleteFrom(size_t pos, size_t limit) const {
    size_t i =
        static_cast<size_t>(std::lower_bound(entries.begin(), entries.end(), pos,
                                             [](const Entry& e, size_t s) { return e.start < s; }) -
                            entries.begin());
    for (i = i < entries.size() ? next_complete[i] : i;
         i < entries.size() && entries[i].start < limit; i = next_complete[i + 1]) {
      // One complete past `limit` spans the start of a real entry: forged, or torn with a later
      // entry's Z of its boundary. Seldom more than a few.
      if (entries[i].z_end <= limit) return entries[i].start;
    }
    return limit;
  }
};

void scanEndedRegion(std::string_view buffer, size_t from, size_t to, bool finished,
                     EndedRegion& r) {
  r.from = from;
  r.to = to;
  r.entries.clear();
  std::unordered_map<std::string_view, size_t> open;    // key -> index of its entry still open
  std::unordered_map<std::string_view, size_t> last_a;  // key -> index of its latest entry
  LineCursor cur{buffer.substr(0, to)};
  cur.pos = from;
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
    EndedRegion::Entry& e = r.entries[it->second];
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
  // Every entry that starts before `ended` has ended there, complete or torn: at the end of the
  // buffer when nothing more will come; when no writer is in the middle of an entry, at the
  // last A marker (the entry it starts may yet be completed by a writer that was slow).
  const size_t ended = finished                       ? buffer.size()
                       : tail == NativeTail::kSettled ? lastAMarker(buffer)
                                                      : 0;
  LineCursor cur{buffer};
  std::string_view line;
  size_t line_start = 0;
  // Entries of a region that ends where a new entry is known to begin (or where they all ended):
  // every entry starting in it has ended by then, completely or torn.
  EndedRegion region;
  while (true) {
    // The next A marker on a complete line.
    std::optional<Marker> a;
    size_t a_start = 0;
    bool partial_line = false;
    while (cur.next(line, line_start)) {
      if (!finished && cur.pos == buffer.size() && buffer.back() != '\n') {
        partial_line = true;  // more data may complete it
        break;
      }
      const auto m = markerOfLine(line);
      if (m && m->part == 'A') {
        a = m;
        a_start = line_start;
        break;
      }
      if (!blank(line)) out.skipped_bytes += cur.pos - line_start;
      out.consumed = cur.pos;
    }
    if (!a) {
      if (partial_line) out.consumed = line_start;
      return out;
    }
    if (a_start >= region.to) {
      // Its Z marker: same boundary, at a line start, a complete line. An A marker with this
      // boundary before the Z means the entry was torn (its writer died) and another began: the
      // boundary is random, so no request body can hold it, and the new entry shows that this
      // one has ended (the writers append whole entries, one at a time).
      const std::string z = markerText(*a, 'Z');
      size_t entry_end = nextMarkerLine(buffer, z, a_start, finished);
      if (entry_end != std::string_view::npos) entry_end = lineEnd(buffer, entry_end);
      const size_t next_a = nextMarkerLine(
          buffer.substr(0, entry_end == std::string_view::npos ? buffer.size() : entry_end),
          markerText(*a, 'A'), a_start + 1, finished, /*glued=*/true);
      const bool complete = entry_end != std::string_view::npos && next_a == std::string_view::npos;
      if (complete && entry_end - a_start <= max_entry_bytes) {
        out.entries.push_back(buffer.substr(a_start, entry_end - a_start));
        out.consumed = entry_end;
        cur.pos = entry_end;
        continue;
      }
      if (!complete && (next_a != std::string_view::npos || a_start < ended)) {
        // Torn: the entries that follow it up to that proof are sorted out in one pass.
        scanEndedRegion(buffer, a_start, next_a == std::string_view::npos ? ended : next_a,
                        finished, region);
      } else if (!complete && buffer.size() - a_start <= max_entry_bytes) {
        // No Z yet, nothing shows it will not come: the writer may be between two writes of it.
        // Complete entries seen after it (forged in a request body being written) prove nothing.
        out.consumed = a_start;
        return out;
      } else {
        // Torn (no Z within the bound) or oversized: drop it, up to the next A marker.
        cur.pos = a_start;
        cur.next(line, line_start);
        size_t resume = std::string_view::npos;
        while (cur.next(line, line_start)) {
          if (cur.pos == buffer.size() && buffer.back() != '\n') break;
          const auto m = markerOfLine(line);
          if (m && m->part == 'A' &&
              (entry_end == std::string_view::npos || line_start >= entry_end)) {
            resume = line_start;
            break;
          }
        }
        if (resume == std::string_view::npos) {
          // No later entry yet: drop what is complete, keep a trailing partial line.
          resume = (cur.pos == buffer.size() && buffer.back() != '\n') ? line_start : buffer.size();
          if (entry_end != std::string_view::npos) resume = std::max(resume, entry_end);
        }
        out.skipped_bytes += resume - a_start;
        out.consumed = resume;
        cur.pos = resume;
        continue;
      }
    }
    // In a region known to have ended.
    const EndedRegion::Entry* e = region.find(a_start);
    DROSERA_CHECK(e != nullptr);  // the region holds every A marker line in it
    size_t resume;
    if (e->z_end != std::string_view::npos && e->z_end - a_start <= max_entry_bytes) {
      out.entries.push_back(buffer.substr(a_start, e->z_end - a_start));
      resume = e->z_end;
    } else if (e->z_end != std::string_view::npos) {
      out.skipped_bytes += e->z_end - a_start;  // oversized
      resume = e->z_end;
    } else {
      // Torn. Its bytes run at least to its own last marker; the entries after them are taken
      // from the first one complete before the next entry known to be real (its boundary's next
      // A marker, or the region's end). One inside its last part (a forged entry in a request
      // body cut short) cannot be told from a real one, and is taken too.
      resume = region.firstCompleteFrom(
          e->own_end, e->next_a != std::string_view::npos ? e->next_a : region.to);
      out.skipped_bytes += resume - a_start;
    }
    out.consumed = resume;
    cur.pos = resume;
  }
}

}  // namespace drosera::collector
