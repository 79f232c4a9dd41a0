#include "collector/parse_util.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/classify.h"

namespace drosera::collector::internal {
namespace {

constexpr int64_t kUsPerSecond = 1000000;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads exactly `n` digits at s[pos]; advances pos.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  out = v;
  pos += n;
  return true;
}

// One or two digits (a day of month written by %e or by a lenient writer).
bool oneOrTwoDigits(std::string_view s, size_t& pos, int& out) {
  if (pos < s.size() && isDigit(s[pos]) && pos + 1 < s.size() && isDigit(s[pos + 1])) {
    return digits(s, pos, 2, out);
  }
  return digits(s, pos, 1, out);
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// Fraction of a second after '.': any number of digits, microseconds kept.
int64_t fraction(std::string_view s, size_t& pos) {
  int64_t us = 0;
  int scale = 0;
  while (pos < s.size() && isDigit(s[pos])) {
    if (scale < 6) {
      us = us * 10 + (s[pos] - '0');
      ++scale;
    }
    ++pos;
  }
  for (; scale < 6; ++scale) us *= 10;
  return us;
}

int daysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[static_cast<size_t>(m - 1)];
}

std::optional<int64_t> toUs(int64_t y, int mo, int d, int h, int mi, int sec, int64_t frac_us,
                            int64_t offset_seconds) {
  if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 ||
      mi > 59 || sec > 60) {
    return std::nullopt;
  }
  const int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = ((days * 24 + h) * 60 + mi) * 60 + sec - offset_seconds;
  return secs * kUsPerSecond + frac_us;
}

// "+hhmm", "-hh:mm", "Z", and mod_security2's "--0500" / "--03-30" (sign, then each of hours and
// minutes printed with "%.2d", which repeats the minus sign).
std::optional<int64_t> zoneOffsetSeconds(std::string_view z) {
  if (z == "Z" || z == "GMT" || z == "UTC") return 0;
  size_t pos = 0;
  if (z.empty() || (z[0] != '+' && z[0] != '-')) return std::nullopt;
  const int sign = z[0] == '-' ? -1 : 1;
  ++pos;
  if (sign < 0 && pos < z.size() && z[pos] == '-') ++pos;
  int hh = 0;
  int mm = 0;
  if (!digits(z, pos, 2, hh)) return std::nullopt;
  if (pos < z.size() && (z[pos] == ':' || (sign < 0 && z[pos] == '-'))) ++pos;
  if (!digits(z, pos, 2, mm) || pos != z.size() || hh > 23 || mm > 59) return std::nullopt;
  return sign * (hh * 3600 + mm * 60);
}

std::string unescapeModsec(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      const char c = v[i + 1];
      if (c == '"' || c == '\\') {
        out += c;
        ++i;
        continue;
      }
      if (c == 'x' && i + 3 < v.size() && hexValue(v[i + 2]) >= 0 && hexValue(v[i + 3]) >= 0) {
        out += static_cast<char>(hexValue(v[i + 2]) * 16 + hexValue(v[i + 3]));
        i += 3;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

struct Token {
  std::string_view key;
  std::string_view value;  // still escaped
};

constexpr size_t kMaxKeyBytes = 32;
constexpr size_t kMaxTokens = 512;
// The metadata block is searched for in the last bytes of a message line only: it ends the line,
// and a bound keeps a hostile multi-megabyte line linear.
constexpr size_t kMaxMetadataBytes = 64 * 1024;

// "[key "value"]" at s[pos]. Strict: a quote inside the value must be escaped (\"), as
// ModSecurity writes its metadata. Lenient: the value ends at the first `"]` that is followed by
// " [" or the end of the line. Returns the position after ']' or npos.
size_t parseToken(std::string_view s, size_t pos, bool strict, Token& t) {
  if (pos >= s.size() || s[pos] != '[') return std::string_view::npos;
  size_t i = pos + 1;
  const size_t key_start = i;
  while (i < s.size() && (isAlpha(s[i]) || s[i] == '_') && i - key_start < kMaxKeyBytes) ++i;
  if (i == key_start || i + 1 >= s.size() || s[i] != ' ' || s[i + 1] != '"') {
    return std::string_view::npos;
  }
  t.key = s.substr(key_start, i - key_start);
  i += 2;
  const size_t value_start = i;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\' && strict) {
      i += 2;
      continue;
    }
    if (c == '"') {
      if (i + 1 < s.size() && s[i + 1] == ']') {
        const size_t after = i + 2;
        const std::string_view rest = s.substr(after);
        if (strict || trim(rest).empty() || rest.substr(0, 2) == " [") {
          t.value = s.substr(value_start, i - value_start);
          return after;
        }
      }
      if (strict) return std::string_view::npos;
    }
    ++i;
  }
  return std::string_view::npos;
}

// Tokens from s[pos] on, separated by spaces. `complete`: they must run to the end of the line.
bool parseBlock(std::string_view s, size_t pos, bool strict, bool complete,
                std::vector<Token>& out) {
  out.clear();
  while (pos < s.size()) {
    Token t;
    const size_t next = parseToken(s, pos, strict, t);
    if (next == std::string_view::npos) return !complete && !out.empty();
    out.push_back(t);
    if (out.size() > kMaxTokens) return false;
    pos = next;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (trim(s.substr(pos)).empty()) return true;
  }
  return !out.empty();
}

bool looksLikeTokenStart(std::string_view s, size_t p) {
  if (s[p] != '[' || (p > 0 && s[p - 1] != ' ')) return false;
  size_t i = p + 1;
  while (i < s.size() && (isAlpha(s[i]) || s[i] == '_')) ++i;
  return i > p + 1 && i + 1 < s.size() && s[i] == ' ' && s[i + 1] == '"';
}

// The first position from `window` on where a chain of strict tokens starts that runs to the end
// of `line` and holds an id; npos when there is none. Linear in the line: a chain that fails (or
// holds no id) marks its token starts, whose own chains are its suffixes, and a later chain that
// reaches one of them stops there. Each token is so read at most once, and a strict value's scan
// ends at the next quote that opens a value (a space before it, so never escaped).
size_t findStrictBlock(std::string_view line, size_t window) {
  std::vector<bool> dead(line.size() - window);
  std::vector<size_t> walked;
  for (size_t p = line.find('[', window); p != std::string_view::npos; p = line.find('[', p + 1)) {
    if (!looksLikeTokenStart(line, p) || dead[p - window]) continue;
    walked.clear();
    bool have_id = false;
    bool complete = false;
    size_t pos = p;
    while (true) {
      if (pos != p && dead[pos - window]) break;
      Token t;
      const size_t next = parseToken(line, pos, /*strict=*/true, t);
      if (next == std::string_view::npos) break;
      walked.push_back(pos);
      have_id = have_id || t.key == "id";
      pos = next;
      while (pos < line.size() && line[pos] == ' ') ++pos;
      if (pos == line.size()) {
        complete = walked.size() <= kMaxTokens;
        break;
      }
    }
    if (complete && have_id) return p;
    for (size_t w : walked) dead[w - window] = true;
  }
  return std::string_view::npos;
}

// A rule id or line number: 0 when it is not a number an int holds.
int smallInt(std::string_view s) {
  const auto v = parseInt(s);
  return v && *v >= 0 && *v <= 2000000000 ? static_cast<int>(*v) : 0;
}

std::optional<int64_t> numberAfter(std::string_view text, std::string_view label) {
  const size_t p = text.find(label);
  if (p == std::string_view::npos) return std::nullopt;
  size_t i = p + label.size();
  const size_t start = i;
  while (i < text.size() && isDigit(text[i]) && i - start < 12) ++i;
  return parseInt(text.substr(start, i - start));
}

void addScore(core::Event& e, std::string_view name, int64_t value, size_t max_items) {
  if (value == 0) return;
  for (auto& [n, v] : e.scores) {
    if (n == name) {
      v = std::max(v, value);
      return;
    }
  }
  if (e.scores.size() < max_items) e.scores.emplace_back(std::string(name), value);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<int64_t> parseInt(std::string_view s) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return neg ? -v : v;
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Shift the year to start in March so that the leap day ends it; count 400-year eras.
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t month_from_march = m > 2 ? m - 3 : m + 9;
  const int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

int monthFromName(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (name == kMonths[i]) return static_cast<int>(i + 1);
  }
  return 0;
}

std::optional<int64_t> parseModsecTimestamp(std::string_view s, int utc_offset_minutes) {
  s = trim(s);
  // "Mon Nov 30 13:54:40 2026": week day, month, day, time, year; single or double spaces.
  std::array<std::string_view, 5> parts;
  size_t n = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos >= s.size()) break;
    const size_t start = pos;
    while (pos < s.size() && s[pos] != ' ') ++pos;
    if (n == parts.size()) return std::nullopt;
    parts[n++] = s.substr(start, pos - start);
  }
  if (n != 5 || parts[0].size() != 3) return std::nullopt;
  const int month = monthFromName(parts[1]);
  size_t p = 0;
  int day = 0;
  if (!oneOrTwoDigits(parts[2], p, day) || p != parts[2].size()) return std::nullopt;
  int h = 0, mi = 0, sec = 0, year = 0;
  p = 0;
  if (!digits(parts[3], p, 2, h) || !expect(parts[3], p, ':') || !digits(parts[3], p, 2, mi) ||
      !expect(parts[3], p, ':') || !digits(parts[3], p, 2, sec) || p != parts[3].size()) {
    return std::nullopt;
  }
  p = 0;
  if (!digits(parts[4], p, 4, year) || p != parts[4].size()) return std::nullopt;
  return toUs(year, month, day, h, mi, sec, 0, int64_t{utc_offset_minutes} * 60);
}

std::optional<int64_t> parseApacheTime(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  size_t p = 0;
  int d = 0, h = 0, mi = 0, sec = 0, y = 0;
  if (!oneOrTwoDigits(s, p, d) || !expect(s, p, '/')) return std::nullopt;
  if (p + 3 > s.size()) return std::nullopt;
  const int mo = monthFromName(s.substr(p, 3));
  p += 3;
  if (!expect(s, p, '/') || !digits(s, p, 4, y) || !expect(s, p, ':') || !digits(s, p, 2, h) ||
      !expect(s, p, ':') || !digits(s, p, 2, mi) || !expect(s, p, ':') || !digits(s, p, 2, sec)) {
    return std::nullopt;
  }
  int64_t frac = 0;
  if (expect(s, p, '.')) frac = fraction(s, p);
  if (!expect(s, p, ' ')) return std::nullopt;
  while (p < s.size() && s[p] == ' ') ++p;
  const auto zone = zoneOffsetSeconds(s.substr(p));
  if (!zone) return std::nullopt;
  return toUs(y, mo, d, h, mi, sec, frac, *zone);
}

std::optional<int64_t> parseIsoTime(std::string_view s) {
  s = trim(s);
  size_t p = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, p, 4, y) || !expect(s, p, '-') || !digits(s, p, 2, mo) || !expect(s, p, '-') ||
      !digits(s, p, 2, d)) {
    return std::nullopt;
  }
  if (!expect(s, p, 'T') && !expect(s, p, ' ') && !expect(s, p, 't')) return std::nullopt;
  if (!digits(s, p, 2, h) || !expect(s, p, ':') || !digits(s, p, 2, mi) || !expect(s, p, ':') ||
      !digits(s, p, 2, sec)) {
    return std::nullopt;
  }
  int64_t frac = 0;
  if (expect(s, p, '.')) frac = fraction(s, p);
  std::string_view zone = s.substr(p);
  if (zone == "z") zone = "Z";
  const auto off = zoneOffsetSeconds(zone);
  if (!off) return std::nullopt;
  return toUs(y, mo, d, h, mi, sec, frac, *off);
}

std::optional<int64_t> parseHttpDate(std::string_view s) {
  s = trim(s);
  // "Mon, 30 Nov 2026 08:24:40 GMT"
  const size_t comma = s.find(", ");
  if (comma == std::string_view::npos || comma > 9) return std::nullopt;
  s.remove_prefix(comma + 2);
  size_t p = 0;
  int d = 0, y = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, p, 2, d) || !expect(s, p, ' ') || p + 3 > s.size()) return std::nullopt;
  const int mo = monthFromName(s.substr(p, 3));
  p += 3;
  if (!expect(s, p, ' ') || !digits(s, p, 4, y) || !expect(s, p, ' ') || !digits(s, p, 2, h) ||
      !expect(s, p, ':') || !digits(s, p, 2, mi) || !expect(s, p, ':') || !digits(s, p, 2, sec) ||
      s.substr(p) != " GMT") {
    return std::nullopt;
  }
  return toUs(y, mo, d, h, mi, sec, 0, 0);
}

int severityFromText(std::string_view s) {
  s = trim(s);
  if (s.size() == 1 && s[0] >= '0' && s[0] <= '7') return s[0] - '0';
  static constexpr std::array<std::string_view, 8> kNames = {
      "EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (iequals(s, kNames[i])) return static_cast<int>(i);
  }
  return -1;
}

bool parseRuleMessageText(std::string_view line, const ParseContext& context, core::RuleHit& hit) {
  line = trim(line);
  for (std::string_view prefix :
       {std::string_view("Message: "), std::string_view("ModSecurity: ")}) {
    if (line.substr(0, prefix.size()) == prefix) {
      line.remove_prefix(prefix.size());
      break;
    }
  }
  const size_t window = line.size() > kMaxMetadataBytes ? line.size() - kMaxMetadataBytes : 0;

  // Every place that looks like a token start is tried, left to right, however many the text
  // before the block holds: a bound on the tries would let that text (the attacker's) use them
  // up. A chain starting before the real block cannot run into it (its text ends in "' )" or "."
  // and its [file "..." quote cannot be taken into a value), so the first chain that runs to the
  // end with an id is the block ModSecurity appended.
  const size_t block = findStrictBlock(line, window);
  std::vector<Token> tokens;
  tokens.reserve(32);
  size_t start = block;
  if (block != std::string_view::npos) {
    parseBlock(line, block, /*strict=*/true, /*complete=*/true, tokens);
  } else {
    // No suffix made only of well-formed tokens with an id: v3 leaves quotes in [uri] unescaped
    // (an XSS probe in the path puts one there). The last [file "..."] starts the block, read
    // leniently as far as it goes: [file "..."] cannot be forged inside the escaped [data] and
    // [msg] values, and the real one follows any the text before it holds. Text in the path can
    // forge metadata on this path only.
    size_t last_file = std::string_view::npos;
    for (size_t p = line.find("[file \"", window); p != std::string_view::npos;
         p = line.find("[file \"", p + 1)) {
      if (looksLikeTokenStart(line, p)) last_file = p;
    }
    if (last_file == std::string_view::npos ||
        !parseBlock(line, last_file, /*strict=*/false, /*complete=*/false, tokens)) {
      return false;
    }
    start = last_file;
  }

  bool have_id = false, have_msg = false, have_data = false, have_sev = false, have_file = false,
       have_line = false, have_ver = false;
  for (const Token& t : tokens) {
    if (t.key == "id" && !have_id) {
      have_id = true;
      hit.id = smallInt(unescapeModsec(t.value));
    } else if (t.key == "msg" && !have_msg) {
      have_msg = true;
      hit.message = unescapeModsec(t.value);
    } else if (t.key == "data" && !have_data) {
      have_data = true;
      hit.data = unescapeModsec(t.value);
    } else if (t.key == "severity" && !have_sev) {
      have_sev = true;
      hit.severity = severityFromText(unescapeModsec(t.value));
    } else if (t.key == "file" && !have_file) {
      have_file = true;
      hit.file = unescapeModsec(t.value);
    } else if (t.key == "line" && !have_line) {
      have_line = true;
      hit.line = smallInt(t.value);
    } else if (t.key == "ver" && !have_ver) {
      have_ver = true;
      hit.ver = unescapeModsec(t.value);
    } else if (t.key == "tag" && hit.tags.size() < context.max_tags) {
      hit.tags.push_back(unescapeModsec(t.value));
    }
  }
  std::string_view match = trim(line.substr(0, start));
  if (match.substr(0, 9) == "Warning. ") match.remove_prefix(9);
  hit.match.assign(match.substr(0, std::min(match.size(), kMaxMetadataBytes)));
  return hit.id > 0;
}

void scoresFromRuleMessages(core::Event& e, size_t max_items) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kNamed = {{
      {"SQLI=", "sql_injection_score"},
      {"XSS=", "xss_score"},
      {"RFI=", "rfi_score"},
      {"LFI=", "lfi_score"},
      {"RCE=", "rce_score"},
      {"PHPI=", "php_injection_score"},
      {"HTTP=", "http_violation_score"},
      {"SESS=", "session_fixation_score"},
  }};
  int64_t inbound = 0;
  int64_t outbound = 0;
  for (const auto& r : e.rules) {
    const int file = r.id / 1000;
    if (file != 949 && file != 959 && file != 980) continue;
    const std::string_view msg = r.message;
    if (msg.substr(0, 10) == "Correlated") continue;
    const bool out_rule = msg.substr(0, 8) == "Outbound";
    if (auto v = numberAfter(msg, "Inbound Scores: blocking=")) inbound = std::max(inbound, *v);
    if (auto v = numberAfter(msg, "Outbound Scores: blocking=")) outbound = std::max(outbound, *v);
    if (auto v = numberAfter(msg, "Total Inbound Score: ")) inbound = std::max(inbound, *v);
    if (auto v = numberAfter(msg, "Total Outbound Score: ")) outbound = std::max(outbound, *v);
    if (auto v = numberAfter(msg, "Total Score: ")) {
      (out_rule ? outbound : inbound) = std::max(out_rule ? outbound : inbound, *v);
    }
    if (out_rule) {
      if (auto v = numberAfter(msg, "(score ")) outbound = std::max(outbound, *v);
    }
    for (const auto& [abbr, name] : kNamed) {
      // "- SQLI=20,XSS=0,..." (CRS 3) or "(SQLI=0, XSS=0, ...)" (CRS 4): a word boundary first.
      for (size_t p = msg.find(abbr); p != std::string_view::npos; p = msg.find(abbr, p + 1)) {
        if (p > 0 && isAlpha(msg[p - 1])) continue;
        if (auto v = numberAfter(msg.substr(p), abbr)) addScore(e, name, *v, max_items);
        break;
      }
    }
  }
  if (inbound > 0) {
    addScore(e, "inbound_anomaly_score", inbound, max_items);
    e.inbound_score = std::max(e.inbound_score, inbound);
  }
  if (outbound > 0) {
    addScore(e, "outbound_anomaly_score", outbound, max_items);
    e.outbound_score = std::max(e.outbound_score, outbound);
  }
}

void finishEvent(core::Event& e, const ParseContext& context) {
  bool have_host = false;
  bool have_ua = false;
  for (const auto& h : e.request_headers) {
    if (!have_host && iequals(h.name, "Host")) {
      e.host = h.value;
      have_host = true;
    } else if (!have_ua && iequals(h.name, "User-Agent")) {
      e.user_agent = h.value;
      have_ua = true;
    }
  }
  auto score = [&](std::string_view name) -> int64_t {
    for (const auto& [n, v] : e.scores) {
      if (n == name) return v;
    }
    return 0;
  };
  if (e.inbound_score == 0) {
    e.inbound_score = score("inbound_anomaly_score");
    if (e.inbound_score == 0) e.inbound_score = score("anomaly_score");
  }
  if (e.outbound_score == 0) e.outbound_score = score("outbound_anomaly_score");
  if (e.sensor.empty()) e.sensor = context.sensor;
  if (e.time_us == 0) e.time_us = context.fallback_time_us;
  e.categories = core::classify(e.rules, e.traps);
}

void splitRequestLine(std::string_view line, core::Event& e) {
  line = trim(line);
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos) {
    e.method.assign(line);
    return;
  }
  e.method.assign(line.substr(0, sp));
  std::string_view rest = trim(line.substr(sp + 1));
  const size_t last = rest.rfind(' ');
  if (last != std::string_view::npos && rest.substr(last + 1, 5) == "HTTP/") {
    e.http_version.assign(rest.substr(last + 6));
    rest = trim(rest.substr(0, last));
  }
  e.uri.assign(rest);
}

void appendBounded(std::string& out, std::string_view s, size_t max) {
  if (out.size() >= max) return;
  out.append(s.substr(0, max - out.size()));
}

}  // namespace drosera::collector::internal
