#include "http/parser.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>

#include "core/digits.h"

namespace drosera::http {
namespace {

using core::isDigit;

constexpr size_t kMaxBlankLines = 10;  // empty lines taken before a request line (Apache's)

bool isTchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool isWs(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && isWs(s.back())) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value contains `token` (case-insensitive).
bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view part = trim(value.substr(0, comma));
    if (iequals(part, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// nginx reads a request byte by byte and refuses a line at the first byte that cannot belong
// to one it takes, without waiting for the line's end (measured against 1.22; Apache reads the
// whole line first). For the part of a request line received so far (the empty lines before it
// skipped): the error nginx answers at once, or kNone while it waits for more.
ParseError nginxRefusesRequestLine(std::string_view p) {
  enum {
    kMethod,
    kBeforeTarget,
    kScheme,
    kSlash1,
    kSlash2,
    kAuthority,
    kPath,
    kBeforeVersion,
    kProtocol,
    kMajor,
    kMajorDone,
    kMinor,
    kAfterVersion
  } st = kMethod;
  static constexpr std::string_view kHttp = "HTTP/";
  size_t n = 0;  // letters of "HTTP/", or digits of the minor version, so far
  for (size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    const bool last_cr = c == '\r' && i + 1 == p.size();  // a line end half received
    switch (st) {
      case kMethod:
        if (c == ' ' && i > 0) {
          st = kBeforeTarget;
        } else if (!((c >= 'A' && c <= 'Z') || c == '_' || c == '-')) {
          return ParseError::kBadRequest;
        }
        break;
      case kBeforeTarget:
        if (c == '/') {
          st = kPath;
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
          st = kScheme;
        } else if (c != ' ') {
          return ParseError::kBadRequest;
        }
        break;
      case kScheme:
        if (c == ':') {
          st = kSlash1;
        } else if (!(isDigit(static_cast<char>(c)) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
                     c == '+' || c == '-' || c == '.')) {
          return ParseError::kBadRequest;
        }
        break;
      case kSlash1:
      case kSlash2:
        if (c != '/') return ParseError::kBadRequest;
        st = st == kSlash1 ? kSlash2 : kAuthority;
        break;
      case kAuthority:  // not followed further: nothing is refused early there
        return ParseError::kNone;
      case kPath:
        if (c == ' ') {
          st = kBeforeVersion;
        } else if ((c < 0x20 && !last_cr) || c == 0x7F) {
          return ParseError::kBadRequest;
        }
        break;
      case kBeforeVersion:
        if (c == 'H') {
          st = kProtocol;
          n = 1;
        } else if (c != ' ' && !last_cr) {
          return ParseError::kBadRequest;
        }
        break;
      case kProtocol:
        if (c != static_cast<unsigned char>(kHttp[n])) return ParseError::kBadRequest;
        if (++n == kHttp.size()) st = kMajor;
        break;
      case kMajor:  // 1 alone: nginx refuses 0 (400) and anything from 2 on (505) at once
        if (c == '0' || !isDigit(static_cast<char>(c))) return ParseError::kBadRequest;
        if (c != '1') return ParseError::kVersionNotSupported;
        st = kMajorDone;
        break;
      case kMajorDone:
        if (isDigit(static_cast<char>(c))) return ParseError::kVersionNotSupported;  // 10 on
        if (c != '.') return ParseError::kBadRequest;
        st = kMinor;
        n = 0;
        break;
      case kMinor:
        if (isDigit(static_cast<char>(c)) && n < 3) {
          ++n;
        } else if (n > 0 && (c == ' ' || last_cr)) {
          st = kAfterVersion;
        } else {
          return ParseError::kBadRequest;
        }
        break;
      case kAfterVersion:
        if (c != ' ' && !last_cr) return ParseError::kBadRequest;
        break;
    }
  }
  return ParseError::kNone;
}

// The same for a header line received so far: a name holding a space, a control byte or
// nothing (a line starting with a space or a colon), a NUL in the value. A name nginx only
// ignores (other characters) is not refused.
bool nginxRefusesHeaderLine(std::string_view p) {
  if (!p.empty() && p.back() == '\r') p.remove_suffix(1);  // a line end half received
  const size_t colon = p.find(':');
  if (colon == 0) return true;
  for (unsigned char c : p.substr(0, colon)) {
    if (c <= 0x20 || c == 0x7F) return true;
  }
  return colon != std::string_view::npos && p.find('\0', colon) != std::string_view::npos;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    const auto c = static_cast<unsigned char>(a[i] | 0x20);
    if ((c < 'a' || c > 'z') && a[i] != b[i]) return false;
  }
  return true;
}

bool mergedFieldTooLong(const std::vector<core::Header>& headers, uint64_t max) {
  std::map<std::string, uint64_t> joined;  // by lowercase name: the length joined so far
  for (const auto& h : headers) {
    std::string name = h.name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const uint64_t n = trim(h.value).size();
    auto [it, fresh] = joined.try_emplace(std::move(name), n);
    if (!fresh) it->second += 2 + n;
    if (it->second > max) return true;
  }
  return false;
}

const std::string* findHeader(const std::vector<core::Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

int statusFor(ParseError e) {
  switch (e) {
    case ParseError::kNone: return 200;
    case ParseError::kBadRequest: return 400;
    case ParseError::kUriTooLong: return 414;
    case ParseError::kHeadersTooLarge: return 431;
    case ParseError::kBodyTooLarge: return 413;
    case ParseError::kNotImplemented: return 501;
    case ParseError::kVersionNotSupported: return 505;
    case ParseError::kExpectationFailed:
      return 417;
  }
  return 400;
}

void RequestParser::reset() {
  state_ = State::kRequestLine;
  pos_ = 0;
  consumed_ = 0;
  blank_lines_ = 0;
  header_bytes_ = 0;
  body_remaining_ = 0;
  chunk_remaining_ = 0;
  raw_body_bytes_ = 0;
  chunked_ = false;
  expect_continue_ = false;
  expected_100_ = false;
  keep_alive_ = false;
  keep_alive_asked_ = false;
  error_ = ParseError::kNone;
  deferred_ = ParseError::kNone;
  request_ = core::HttpRequestData{};
  anomalies_.clear();
  limits_hit_.clear();
  head_done_ = false;
  head_bytes_ = 0;
  http09_ = false;
  body_error_ = false;
  nginx_buffer_end_ = kNginxFirstBuffer;
  nginx_large_buffers_ = 0;
}

uint64_t RequestParser::maxRequestLine() const {
  return limits_.max_request_line + (dialect_ == Dialect::kApache ? 1 : 0);
}

uint64_t RequestParser::maxHeaderLine() const {
  return limits_.max_header_line + (dialect_ == Dialect::kApache ? 1 : 0);
}

uint64_t RequestParser::maxHeaders() const {
  if (limits_.max_headers != 0) return limits_.max_headers;
  return dialect_ == Dialect::kNginx ? 1000 : 100;
}

ParseState RequestParser::refuseNginxRequestLine(std::string_view seen, ParseError e,
                                                 size_t consumed, const char* what) {
  parseRequestLine(seen);  // what came of it, for the engine
  http09_ = false;
  error_ = e;
  consumed_ = consumed;
  return fail(e, what);
}

uint64_t RequestParser::nginxLineRoom(uint64_t start) const {
  uint64_t room = std::min<uint64_t>(
      maxHeaderLine(), limits_.max_header_bytes - std::min(header_bytes_, limits_.max_header_bytes));
  // Without a buffer to move the line to, what is left of the one it starts in.
  if (limits_.nginx_buffers && nginx_large_buffers_ == kNginxLargeBuffers) {
    room = std::min<uint64_t>(room, nginx_buffer_end_ > start ? nginx_buffer_end_ - start : 0);
  }
  return room;
}

bool RequestParser::nginxBuffersHold(uint64_t start, uint64_t end) {
  if (dialect_ != Dialect::kNginx || !limits_.nginx_buffers || end <= nginx_buffer_end_) {
    return true;
  }
  // A line longer than a buffer (limits above nginx's 8k: the collector's request line) takes
  // one, however long: its length is the line limit's to judge.
  if (nginx_buffer_end_ == start + kNginxLargeBuffer) return true;
  if (nginx_large_buffers_ == kNginxLargeBuffers) return false;
  ++nginx_large_buffers_;
  nginx_buffer_end_ = start + kNginxLargeBuffer;
  return true;
}

bool RequestParser::http11OrLater() const {
  const std::string& v = request_.version;
  if (v == "1.1") return true;
  uint64_t major = 0, minor = 0;
  const size_t dot = v.find('.');
  if (dialect_ == Dialect::kLenient || dot == std::string::npos ||
      !core::parseDigits(std::string_view(v).substr(0, dot), &major) ||
      !core::parseDigits(std::string_view(v).substr(dot + 1), &minor)) {
    return false;
  }
  return major > 1 || (major == 1 && minor >= 1);  // Apache's 2.0, nginx's 1.2 and 1.01
}

void RequestParser::anomaly(const char* what) {
  if (std::find(anomalies_.begin(), anomalies_.end(), what) == anomalies_.end()) {
    anomalies_.emplace_back(what);
  }
}

void RequestParser::limit(const char* what) {
  if (std::find(limits_hit_.begin(), limits_hit_.end(), what) == limits_hit_.end()) {
    limits_hit_.emplace_back(what);
  }
}

ParseState RequestParser::fail(ParseError e, const char* what) {
  if (what) anomaly(what);
  body_error_ = body_error_ || state_ == State::kBody || state_ == State::kChunkSize ||
                state_ == State::kChunkData || state_ == State::kChunkDataEnd ||
                state_ == State::kTrailers;
  if (error_ == ParseError::kNone) error_ = e;
  state_ = State::kError;
  keep_alive_ = false;
  return ParseState::kError;
}

bool RequestParser::nextLine(std::string_view in, uint64_t max, std::string_view* line,
                             bool* too_long) {
  *too_long = false;
  size_t lf = in.find('\n', pos_);
  if (lf == std::string_view::npos) {
    // A CR at the very end may be the first half of the line end: it does not count.
    size_t pending = in.size() - pos_;
    if (pending > 0 && in.back() == '\r') --pending;
    if (pending > max) *too_long = true;
    return false;
  }
  size_t end = lf;
  const bool crlf = end > pos_ && in[end - 1] == '\r';
  if (crlf) --end;
  if (end - pos_ > max) *too_long = true;
  if (!crlf) {
    anomaly("bare_lf");
    // Apache's strict reading wants CRLF in the head (a line too long is refused as such
    // first: Apache stops reading it at its limit, before its end).
    if (dialect_ == Dialect::kApache && !head_done_ && error_ == ParseError::kNone &&
        !*too_long) {
      error_ = ParseError::kBadRequest;
    }
  }
  *line = in.substr(pos_, end - pos_);
  pos_ = lf + 1;
  return true;
}

void RequestParser::parseLongRequestLine(std::string_view line) {
  limit("max_request_line");
  // Keep the method and the start of the target for the engine: the first max_request_line
  // bytes, whether the line end has arrived or not (the same request for any split into reads).
  parseRequestLine(line.substr(0, limits_.max_request_line));
  if (request_.version == "0.9") {  // cut short, not an HTTP/0.9 request
    request_.version.clear();
    http09_ = false;
    anomalies_.erase(std::remove(anomalies_.begin(), anomalies_.end(), "http09"), anomalies_.end());
  }
}

bool RequestParser::parseRequestLine(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) anomaly("nul_in_request_line");
  if (line.find('\r') != std::string_view::npos) anomaly("bare_cr");
  // Split on runs of spaces and tabs; be lenient about how many.
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isWs(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !isWs(line[i])) ++i;
    if (i > start) parts.push_back(line.substr(start, i - start));
  }
  bool ws_ok = true;
  if (line.size() != 0 && (isWs(line.front()) || line.find("  ") != std::string_view::npos)) {
    anomaly("extra_whitespace");
    ws_ok = dialect_ != Dialect::kApache;
  }
  if (dialect_ == Dialect::kApache && parts.size() >= 3 && !line.empty() && line.back() == ' ') {
    anomaly("extra_whitespace");  // after the version (after a lone target it is HTTP/0.9)
    ws_ok = false;
  }
  if (line.find('\t') != std::string_view::npos) {
    anomaly("tab_in_request_line");
    ws_ok = ws_ok && dialect_ == Dialect::kLenient;
  }
  if (parts.empty()) {
    anomaly("empty_request_line");
    return false;
  }
  request_.method = std::string(parts[0]);
  bool ok = ws_ok;
  for (char c : parts[0]) {
    if (!isTchar(static_cast<unsigned char>(c))) {
      anomaly("invalid_method");
      ok = false;
      break;
    }
  }
  if (parts.size() == 1) {
    anomaly("missing_target");
    return false;
  }
  // The target: no control bytes; a path, "*", an absolute URL, or CONNECT's authority.
  auto targetOk = [&] {
    for (unsigned char c : request_.target) {
      if (c < 0x20 || c == 0x7F) {
        anomaly("control_in_target");
        return false;
      }
    }
    const std::string& t = request_.target;
    if (!t.empty() && t[0] != '/' && t != "*" && t.rfind("http://", 0) != 0 &&
        t.rfind("https://", 0) != 0 && request_.method != "CONNECT") {
      anomaly("invalid_target");
      return false;
    }
    return true;
  };
  std::string_view version;
  if (parts.size() == 2) {
    request_.target = std::string(parts[1]);
    anomaly("http09");
    request_.version = "0.9";
    const bool target_ok = targetOk();
    // Apache answers a well-formed GET that way (anything else gets its 400 in HTTP/1.1),
    // nginx any method it can read (its 400 page alone for those it does not serve); a target
    // either refuses gets the 400 in HTTP/1.1.
    const bool nginx_method =
        request_.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == std::string::npos;
    http09_ = ok && target_ok &&
              ((dialect_ == Dialect::kNginx && nginx_method) ||
               (dialect_ == Dialect::kApache && request_.method == "GET"));
    return http09_ && target_ok && (dialect_ == Dialect::kApache || request_.method == "GET");
  }
  if (parts.size() > 3) {
    // "GET /a b HTTP/1.1": spaces inside the target. Keep them for the engine.
    anomaly("space_in_target");
    const char* first = parts[1].data();
    const char* last = parts[parts.size() - 2].data() + parts[parts.size() - 2].size();
    request_.target = std::string(first, static_cast<size_t>(last - first));
    ok = false;
  } else {
    request_.target = std::string(parts[1]);
  }
  version = parts.back();
  const bool target_ok = targetOk();
  // nginx refuses a major version over 1 as soon as it reads its first digit.
  if (dialect_ == Dialect::kNginx && version.size() > 5 && version.substr(0, 5) == "HTTP/" &&
      version[5] >= '2' && version[5] <= '9') {
    request_.version = std::string(version.substr(5));
    anomaly("unsupported_version");
    if (error_ == ParseError::kNone) error_ = ParseError::kVersionNotSupported;
    return false;
  }
  // nginx reads up to three digits a side, the first of the major 1-9; the others one.
  const size_t dot = version.find('.');
  const bool nginx_digits =
      dialect_ == Dialect::kNginx && version.substr(0, 5) == "HTTP/" && version.size() > 5 &&
      version[5] != '0' && dot != std::string_view::npos && dot > 5 && dot <= 8 &&
      version.size() > dot + 1 && version.size() <= dot + 4 &&
      std::all_of(version.begin() + 5, version.begin() + static_cast<std::ptrdiff_t>(dot),
                  isDigit) &&
      std::all_of(version.begin() + static_cast<std::ptrdiff_t>(dot) + 1, version.end(), isDigit);
  if (nginx_digits || (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                       isDigit(version[5]) && version[6] == '.' && isDigit(version[7]))) {
    request_.version = std::string(version.substr(5));
    const bool major0 =
        request_.version.size() > 1 && request_.version[0] == '0' && request_.version[1] == '.';
    if (major0 && dialect_ != Dialect::kLenient) {  // HTTP/0.9 is not written out
      anomaly("invalid_version");
      return false;
    }
    const bool major1 =
        request_.version.size() > 1 && request_.version[0] == '1' && request_.version[1] == '.';
    if (!major1 && dialect_ != Dialect::kApache) {
      anomaly("unsupported_version");
      if (error_ == ParseError::kNone) error_ = ParseError::kVersionNotSupported;
      return false;
    }
    if (!major1) anomaly("unsupported_version");  // Apache reads it as 1.1
  } else {
    request_.version = std::string(version);
    anomaly("invalid_version");
    return false;
  }
  return target_ok && ok;
}

void RequestParser::parseHeaderLine(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    anomaly("nul_in_header");
    if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
  }
  if (line.find('\r') != std::string_view::npos) {
    anomaly("bare_cr");
    if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
  }
  if (isWs(line.front())) {
    // obs-fold: a continuation of the previous header. Apache joins it (after a header), nginx
    // refuses it.
    anomaly("obs_fold");
    if (error_ == ParseError::kNone && (dialect_ != Dialect::kApache || request_.headers.empty())) {
      error_ = ParseError::kBadRequest;
    }
    if (!request_.headers.empty()) {
      request_.headers.back().value += ' ';
      request_.headers.back().value += std::string(trim(line));
    }
    return;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    anomaly("header_without_colon");
    if (error_ == ParseError::kNone && dialect_ != Dialect::kNginx) {  // nginx ignores it
      error_ = ParseError::kBadRequest;
    }
    request_.headers.push_back({std::string(trim(line)), ""});
    return;
  }
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && isWs(name.back())) {
    anomaly("space_before_colon");
    if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
    name = trim(name);
  }
  if (name.empty()) {
    anomaly("empty_header_name");
    if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
  }
  for (char c : name) {
    if (!isTchar(static_cast<unsigned char>(c))) {
      anomaly("invalid_header_name");
      if (dialect_ == Dialect::kApache && error_ == ParseError::kNone) {
        error_ = ParseError::kBadRequest;
      }
      break;
    }
  }
  const std::string_view value = trim(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7F;
      })) {
    anomaly("control_in_header");
    if (dialect_ == Dialect::kApache && error_ == ParseError::kNone) {
      error_ = ParseError::kBadRequest;
    }
  }
  request_.headers.push_back({std::string(name), std::string(value)});
}

bool RequestParser::finishHead() {
  // Apache joins a repeated header's values (", ") and refuses the head when one so joined is
  // longer than LimitRequestFieldSize (measured; the single line may be a byte longer).
  // (A joined value is shorter than the head's lines together: most heads need no look.)
  if (dialect_ == Dialect::kApache && error_ == ParseError::kNone &&
      header_bytes_ > limits_.max_header_line &&
      mergedFieldTooLong(request_.headers, limits_.max_header_line)) {
    limit("max_header_line");
    error_ = ParseError::kHeadersTooLarge;
  }
  // Connection semantics.
  const std::string* connection = findHeader(request_.headers, "Connection");
  keep_alive_asked_ = connection && hasToken(*connection, "keep-alive");
  if (http11OrLater()) {
    keep_alive_ = !(connection && hasToken(*connection, "close"));
    if (!findHeader(request_.headers, "Host")) {
      anomaly("missing_host");
      if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
    }
  } else {
    keep_alive_ = keep_alive_asked_;
  }
  // Expect, its values joined as Apache joins a repeated header.
  std::string expects;
  int expect_count = 0;
  for (const auto& h : request_.headers) {
    if (!iequals(h.name, "Expect")) continue;
    if (expect_count++ > 0) expects += ", ";
    expects += trim(h.value);
  }
  expected_100_ = iequals(expects, "100-continue") && http11OrLater();
  expect_continue_ = expected_100_;
  if (!expects.empty() && !iequals(expects, "100-continue")) {
    anomaly("unsupported_expect");
    // Apache refuses any other expectation, whatever the version (measured); nginx ignores it.
    if (dialect_ == Dialect::kApache && error_ == ParseError::kNone) {
      error_ = ParseError::kExpectationFailed;
    }
  }
  if (expect_count > 1) {
    anomaly("duplicate_expect");
    if (dialect_ == Dialect::kNginx && error_ == ParseError::kNone) {  // a header it takes once
      error_ = ParseError::kBadRequest;
    }
  }

  // Framing: Transfer-Encoding wins over Content-Length, but both at once is smuggling.
  const std::string* te = nullptr;
  const std::string* cl = nullptr;
  int cl_count = 0;
  for (const auto& h : request_.headers) {
    if (iequals(h.name, "Transfer-Encoding")) {
      if (te) anomaly("duplicate_transfer_encoding");
      te = &h.value;
    } else if (iequals(h.name, "Content-Length")) {
      if (cl && *cl != h.value) {
        anomaly("conflicting_content_length");
        if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
      }
      cl = &h.value;
      ++cl_count;
    }
  }
  if (cl_count > 1) {
    anomaly("duplicate_content_length");
    // Both servers refuse a repeated length, even an equal one.
    if (dialect_ != Dialect::kLenient && error_ == ParseError::kNone) {
      error_ = ParseError::kBadRequest;
    }
  }
  if (te) {
    if (cl) {
      anomaly("content_length_and_transfer_encoding");
      // Apache drops the length; nginx refuses the request.
      if (error_ == ParseError::kNone && dialect_ != Dialect::kApache) {
        error_ = ParseError::kBadRequest;
      }
    }
    // The last coding must be chunked; other codings are not implemented.
    std::string_view v = trim(*te);
    size_t comma = v.rfind(',');
    std::string_view last = trim(comma == std::string_view::npos ? v : v.substr(comma + 1));
    // Apache frames by a last "chunked" whatever precedes it, and refuses anything else (400).
    const bool framed = iequals(last, "chunked") &&
                        (comma == std::string_view::npos || dialect_ == Dialect::kApache);
    if (!framed) {
      anomaly("unsupported_transfer_encoding");
      if (error_ == ParseError::kNone) {
        error_ =
            dialect_ == Dialect::kApache ? ParseError::kBadRequest : ParseError::kNotImplemented;
      }
      return false;
    }
    chunked_ = true;
    return true;
  }
  if (cl) {
    uint64_t n = 0;
    // As Apache and nginx: leading zeros are fine, a length past the largest file offset is not.
    if (!core::parseDigits(trim(*cl), &n) || n > static_cast<uint64_t>(INT64_MAX)) {
      anomaly("invalid_content_length");
      if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
      return false;
    }
    body_remaining_ = n;
    request_.body_bytes = n;
    if (n > limits_.max_body_bytes) {
      limit("max_body_bytes");
      if (error_ == ParseError::kNone) error_ = ParseError::kBodyTooLarge;
    }
  }
  return true;
}

ParseState RequestParser::parse(std::string_view in) {
  std::string_view line;
  bool too_long = false;
  while (true) {
    switch (state_) {
      case State::kRequestLine: {
        // Tolerate empty lines before the request line (RFC 9112 2.2), as many as Apache does.
        // More is a flood, not a client: they would be held
        // until the header timeout, and a request behind 64 MiB of them would go uninspected.
        while (pos_ < in.size() && (in[pos_] == '\r' || in[pos_] == '\n')) {
          // Apache's strict reading wants CRLF there too.
          if (dialect_ == Dialect::kApache && in[pos_] == '\n' &&
              (pos_ == 0 || in[pos_ - 1] != '\r')) {
            consumed_ = ++pos_;
            return fail(ParseError::kBadRequest, "bare_lf");
          }
          if (in[pos_++] == '\n') ++blank_lines_;
          if (blank_lines_ > kMaxBlankLines || pos_ > 2 * kMaxBlankLines + 2) {
            consumed_ = pos_;
            return fail(ParseError::kBadRequest, "blank_lines");
          }
        }
        if (pos_ >= in.size()) return ParseState::kNeedMore;
        const size_t line_start = pos_;
        if (!nextLine(in, maxRequestLine(), &line, &too_long)) {
          nginxBuffersHold(line_start, in.size());  // (the first line always fits one)
          // nginx refuses a line at its first impossible byte, before it knows its length.
          if (dialect_ == Dialect::kNginx) {
            const std::string_view seen = in.substr(pos_, maxRequestLine());
            if (const ParseError e = nginxRefusesRequestLine(seen); e != ParseError::kNone) {
              return refuseNginxRequestLine(seen, e, in.size(), "incomplete_line");
            }
          }
          if (too_long) {
            parseLongRequestLine(in.substr(pos_));
            consumed_ = in.size();
            return fail(ParseError::kUriTooLong, nullptr);
          }
          return ParseState::kNeedMore;
        }
        // The same whole: nginx reads the line byte by byte, and the first byte it cannot take
        // decides, before the line's length or what follows (a target of "&" is a 400 before a
        // version of 2.0 could be a 505).
        if (dialect_ == Dialect::kNginx) {
          const std::string_view seen = line.substr(0, maxRequestLine());
          if (const ParseError e = nginxRefusesRequestLine(seen); e != ParseError::kNone) {
            return refuseNginxRequestLine(seen, e, pos_, nullptr);
          }
        }
        if (too_long) {
          parseLongRequestLine(line);
          consumed_ = pos_;
          return fail(ParseError::kUriTooLong, nullptr);
        }
        nginxBuffersHold(line_start, pos_);
        const bool line_ok = parseRequestLine(line);
        // Apache's strict reading refuses a bare LF before anything else: its 400 in HTTP/1.1.
        if (http09_ && dialect_ == Dialect::kApache && error_ != ParseError::kNone) {
          http09_ = false;
        }
        if (line_ok && http09_ && error_ == ParseError::kNone) {  // no headers, no body
          head_done_ = true;
          keep_alive_ = false;
          state_ = State::kDone;
          consumed_ = pos_;
          return ParseState::kComplete;
        }
        if (!line_ok) {
          if (error_ == ParseError::kNone) error_ = ParseError::kBadRequest;
          if (request_.version == "0.9" || request_.target.empty()) {
            consumed_ = pos_;
            return fail(error_, nullptr);
          }
          // Keep reading headers that already arrived, for the engine; answer the error after.
        }
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        const size_t line_start = pos_;
        // nginx reads a line byte by byte: among the bytes it reads before a limit stops it,
        // the first it cannot take (a space or control byte in a name, a NUL in a value) is its
        // 400, however the line came and whatever follows.
        const uint64_t room = dialect_ == Dialect::kNginx ? nginxLineRoom(line_start) : 0;
        if (!nextLine(in, maxHeaderLine(), &line, &too_long)) {
          if (dialect_ == Dialect::kNginx && nginxRefusesHeaderLine(in.substr(pos_, room))) {
            parseHeaderLine(in.substr(pos_, maxHeaderLine()));  // what came, for the engine
            consumed_ = in.size();
            return fail(ParseError::kBadRequest, "incomplete_line");
          }
          size_t pending = in.size() - pos_;
          if (pending > 0 && in.back() == '\r') --pending;
          if (too_long || header_bytes_ + pending > limits_.max_header_bytes ||
              !nginxBuffersHold(line_start, in.size())) {
            limit(too_long ? "max_header_line" : "max_header_bytes");
            consumed_ = in.size();
            return fail(ParseError::kHeadersTooLarge, nullptr);
          }
          if (error_ != ParseError::kNone) {
            // A broken request line: do not wait for more; answer with what we have.
            consumed_ = in.size();
            return fail(error_, nullptr);
          }
          return ParseState::kNeedMore;
        }
        if (dialect_ == Dialect::kNginx && !line.empty() &&
            nginxRefusesHeaderLine(line.substr(0, room))) {
          parseHeaderLine(line.substr(0, maxHeaderLine()));  // what came of it, for the engine
          consumed_ = pos_;
          return fail(ParseError::kBadRequest, nullptr);
        }
        if (too_long) {
          // The limit is the answer, as when the line arrives in parts and is refused unread;
          // the cut line is kept for the engine, but its shape (no colon...) decides nothing.
          limit("max_header_line");
          if (error_ == ParseError::kNone) error_ = ParseError::kHeadersTooLarge;
          parseHeaderLine(line.substr(0, maxHeaderLine()));
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        if (!nginxBuffersHold(line_start, pos_)) {
          limit("max_header_bytes");
          if (error_ == ParseError::kNone) error_ = ParseError::kHeadersTooLarge;
          parseHeaderLine(line);
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        if (line.empty()) {
          head_done_ = true;
          head_bytes_ = pos_;
          bool body_ok = finishHead();
          // Apache reads the body of a request whose expectation it refuses, then answers 417
          // (measured): the error waits for the body (one within the limit).
          if (error_ == ParseError::kExpectationFailed && body_ok &&
              std::find(limits_hit_.begin(), limits_hit_.end(), "max_body_bytes") ==
                  limits_hit_.end()) {
            deferred_ = error_;
            error_ = ParseError::kNone;
          }
          if (error_ != ParseError::kNone || !body_ok) {
            consumed_ = pos_;
            // Whatever body bytes already arrived are kept for the engine: by Content-Length,
            // or as they came when the body was chunked (Content-Length and Transfer-Encoding at
            // once: the smuggled request is in there, undecoded).
            if (body_remaining_ > 0 && error_ != ParseError::kBodyTooLarge) {
              size_t take = std::min<uint64_t>(body_remaining_, in.size() - pos_);
              take = std::min<uint64_t>(take, limits_.max_body_bytes);
              request_.body.assign(in.substr(pos_, take));
              consumed_ += take;
            } else if (chunked_ || error_ == ParseError::kBodyTooLarge) {
              size_t take = std::min<uint64_t>(limits_.max_body_bytes, in.size() - pos_);
              request_.body.assign(in.substr(pos_, take));
              if (error_ != ParseError::kBodyTooLarge) request_.body_bytes = take;
              consumed_ += take;
            }
            return fail(error_ == ParseError::kNone ? ParseError::kBadRequest : error_, nullptr);
          }
          state_ = chunked_ ? State::kChunkSize : State::kBody;
          break;
        }
        header_bytes_ += line.size() + 2;
        if (header_bytes_ > limits_.max_header_bytes) {
          limit("max_header_bytes");
          if (error_ == ParseError::kNone) error_ = ParseError::kHeadersTooLarge;
          parseHeaderLine(line);
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        if (request_.headers.size() >= maxHeaders()) {
          limit("max_headers");
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        parseHeaderLine(line);
        break;
      }
      case State::kBody: {
        size_t avail = in.size() - pos_;
        if (avail > 0) expect_continue_ = false;
        size_t take = std::min<uint64_t>(avail, body_remaining_);
        request_.body.append(in.substr(pos_, take));
        pos_ += take;
        body_remaining_ -= take;
        if (body_remaining_ > 0) return ParseState::kNeedMore;
        expect_continue_ = false;
        consumed_ = pos_;
        state_ = State::kDone;  // (a deferred error is no error of the body)
        if (deferred_ != ParseError::kNone) return fail(deferred_, nullptr);
        return ParseState::kComplete;
      }
      case State::kChunkSize: {
        size_t line_start = pos_;
        if (!nextLine(in, 4096, &line, &too_long)) {
          if (too_long) {
            consumed_ = in.size();
            return fail(ParseError::kBadRequest, "bad_chunk_size");
          }
          if (pos_ < in.size()) expect_continue_ = false;  // the body has started
          return ParseState::kNeedMore;
        }
        expect_continue_ = false;
        raw_body_bytes_ += pos_ - line_start;
        std::string_view size_text = line.substr(0, line.find(';'));
        if (size_text.size() != line.size()) anomaly("chunk_extension");
        size_text = trim(size_text);
        uint64_t size = 0;
        bool valid = !size_text.empty() && size_text.size() <= 15;
        for (char c : size_text) {
          int d = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
          if (d < 0) {
            valid = false;
            break;
          }
          size = size * 16 + static_cast<uint64_t>(d);
        }
        if (!valid || too_long) {
          consumed_ = pos_;
          return fail(ParseError::kBadRequest, "bad_chunk_size");
        }
        if (size == 0) {
          state_ = State::kTrailers;
          break;
        }
        if (request_.body_bytes + size > limits_.max_body_bytes) {
          limit("max_body_bytes");
          request_.body_bytes += size;
          size_t take = std::min<uint64_t>(
              {size, in.size() - pos_, limits_.max_body_bytes - request_.body.size()});
          request_.body.append(in.substr(pos_, take));
          consumed_ = pos_ + take;
          return fail(ParseError::kBodyTooLarge, nullptr);
        }
        request_.body_bytes += size;
        chunk_remaining_ = size;
        state_ = State::kChunkData;
        break;
      }
      case State::kChunkData: {
        size_t avail = in.size() - pos_;
        size_t take = std::min<uint64_t>(avail, chunk_remaining_);
        request_.body.append(in.substr(pos_, take));
        pos_ += take;
        raw_body_bytes_ += take;
        chunk_remaining_ -= take;
        if (chunk_remaining_ > 0) return ParseState::kNeedMore;
        state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (pos_ >= in.size()) return ParseState::kNeedMore;
        if (in[pos_] == '\n') {
          anomaly("bare_lf");
          ++pos_;
        } else if (in[pos_] == '\r') {
          if (pos_ + 1 >= in.size()) return ParseState::kNeedMore;
          if (in[pos_ + 1] != '\n') {
            consumed_ = pos_;
            return fail(ParseError::kBadRequest, "bad_chunk_end");
          }
          pos_ += 2;
        } else {
          consumed_ = pos_;
          return fail(ParseError::kBadRequest, "bad_chunk_end");
        }
        raw_body_bytes_ += 2;
        if (raw_body_bytes_ > 2 * limits_.max_body_bytes + 65536) {
          limit("max_body_bytes");
          consumed_ = pos_;
          return fail(ParseError::kBodyTooLarge, "chunk_overhead");
        }
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailers: {
        if (!nextLine(in, maxHeaderLine(), &line, &too_long)) {
          if (too_long) {
            limit("max_header_line");
            consumed_ = in.size();
            return fail(ParseError::kHeadersTooLarge, nullptr);
          }
          if (error_ != ParseError::kNone) {
            // A malformed trailer: answer now, as for a malformed header, rather than hold the
            // connection for trailers that cannot make the request valid.
            consumed_ = in.size();
            return fail(error_, nullptr);
          }
          return ParseState::kNeedMore;
        }
        if (too_long) {  // as above: the same answer whether the line arrived whole or in parts
          limit("max_header_line");
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        if (line.empty()) {
          consumed_ = pos_;
          if (error_ != ParseError::kNone) return fail(error_, nullptr);  // a malformed trailer
          state_ = State::kDone;
          if (deferred_ != ParseError::kNone) return fail(deferred_, nullptr);
          return ParseState::kComplete;
        }
        anomaly("chunked_trailer");
        header_bytes_ += line.size() + 2;
        if (header_bytes_ > limits_.max_header_bytes ||
            request_.headers.size() >= maxHeaders()) {
          limit(header_bytes_ > limits_.max_header_bytes ? "max_header_bytes" : "max_headers");
          consumed_ = pos_;
          return fail(ParseError::kHeadersTooLarge, nullptr);
        }
        parseHeaderLine(line);
        break;
      }
      case State::kDone:
        return ParseState::kComplete;
      case State::kError:
        return ParseState::kError;
    }
  }
}

}  // namespace drosera::http
