#include "http/ranges.h"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "core/digits.h"
#include "http/parser.h"

namespace drosera::http {
namespace {

using core::isDigit;

constexpr int64_t kMaxOff = std::numeric_limits<int64_t>::max();
// Apache's defaults: MaxRanges 200, MaxRangeOverlaps and MaxRangeReversals 20 (measured: 21
// overlaps or reversals are answered whole).
constexpr int kApacheMaxRanges = 200;
constexpr int kApacheMaxOverlaps = 20;
constexpr int kApacheMaxReversals = 20;
// nginx has no limit of its own: thousands of one-byte ranges would make a multipart answer
// many times the file's size, held until it is written. Beyond this many bytes of part
// headers drosera sends the file whole (a real nginx streams them).
constexpr size_t kMaxPartHeaderBytes = 256 << 10;

// ap_parse_strict_length(), which Apache's range parser reads each number with: decimal
// digits only (no white space, no sign), at least one, and no overflow.
bool strictLength(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    const int d = c - '0';
    if (v > (kMaxOff - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// The value up to a NUL: both servers read header values as C strings.
std::string_view cString(std::string_view s) { return s.substr(0, s.find('\0')); }

// Apache merges a repeated request header into one value (", "); nginx 1.22 keeps the first
// Range (a second If-Range is a 400 there, which the parser does not model: the first here).
std::optional<std::string> requestHeader(const core::HttpRequestData& req, std::string_view name,
                                         bool merge) {
  std::optional<std::string> out;
  for (const auto& h : req.headers) {
    if (!iequals(h.name, name)) continue;
    if (!out) {
      out = h.value;
      if (!merge) break;
    } else {
      out->append(", ").append(h.value);
    }
  }
  return out;
}

// If-Range: whether the ranges may be sent (a Range without If-Range: yes).
bool ifRangeHolds(bool apache, const core::HttpRequestData& req, const Response& r, int64_t now_s) {
  const std::optional<std::string> if_range = requestHeader(req, "If-Range", apache);
  if (!if_range) return true;
  const std::string* etag = findHeader(r.headers, "ETag");
  const std::string* last_modified = findHeader(r.headers, "Last-Modified");
  const std::string_view v = cString(*if_range);
  // Apache: an entity tag starts with a quote; nginx: it ends with one (so W/"..." is one too,
  // and never equals the strong tag of a file).
  const bool is_etag = apache ? !v.empty() && v.front() == '"' : v.size() >= 2 && v.back() == '"';
  if (is_etag) return etag != nullptr && v == *etag;
  if (last_modified == nullptr || v != *last_modified) return false;
  if (!apache) return true;
  // Apache takes a date as strong only once the file is a minute older than the request
  // (measured: 200 at 30 s, 206 at 62 s).
  const std::optional<int64_t> mtime = parseHttpDate(*last_modified);
  return mtime && now_s - *mtime >= 60;
}

std::string contentRange(const ByteRange& b, uint64_t length) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, b.first, b.last, length);
  return buf;
}

// Apache's multipart boundary: 64 random bits drawn once per server start, in hex without
// leading zeros (its "%0" APR_UINT64_T_HEX_FMT has no width: a 15-digit boundary now and then).
const std::string& apacheBoundary() {
  static const std::string b = [] {
    std::random_device rd;
    const uint64_t v = (static_cast<uint64_t>(rd()) << 32) | rd();
    char buf[24];
    std::snprintf(buf, sizeof buf, "%" PRIx64, v);
    return std::string(buf);
  }();
  return b;
}

// nginx's: its temp-file counter (ngx_next_temp_number()), 1 for the first multipart answer
// after the start, written in 20 digits.
std::string nginxBoundary() {
  static std::atomic<uint64_t> counter{0};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020" PRIu64, counter.fetch_add(1) + 1);
  return std::string(buf, 20);
}

void removeHeader(Response* r, std::string_view name) {
  std::erase_if(r->headers, [&](const core::Header& h) { return iequals(h.name, name); });
}

void setHeader(Response* r, std::string_view name, std::string value) {
  for (auto& h : r->headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  r->headers.push_back({std::string(name), std::move(value)});
}

// Apache's byterange filter passes its parts down every 32 ranges: the content-length filter
// then never sees the whole answer, which goes chunked (one chunk per pass).
constexpr size_t kApachePassRanges = 32;

// A multipart/byteranges body (both servers: CRLF before each boundary line, the part's
// headers in each server's spelling). `chunked`: in Apache's chunks, one per pass.
std::string multipartBody(bool apache, std::string_view boundary, const std::string* type,
                          std::string_view body, const std::vector<ByteRange>& ranges,
                          bool chunked) {
  std::string out, pass;
  size_t total = 0;
  for (const auto& b : ranges) total += b.last - b.first + 1;
  out.reserve(total + ranges.size() * (120 + (type ? type->size() : 0)));
  std::string& to = chunked ? pass : out;
  auto flush = [&] {
    appendChunk(pass, &out);
    pass.clear();
  };
  for (size_t i = 0; i < ranges.size(); ++i) {
    const ByteRange& b = ranges[i];
    to.append("\r\n--").append(boundary).append("\r\n");
    if (type != nullptr) {
      to.append(apache ? "Content-type: " : "Content-Type: ").append(*type).append("\r\n");
    }
    to.append(apache ? "Content-range: " : "Content-Range: ");
    to.append(contentRange(b, body.size())).append("\r\n\r\n");
    to.append(body.substr(b.first, b.last - b.first + 1));
    if (chunked && i > 0 && i % kApachePassRanges == 0) flush();
  }
  to.append("\r\n--").append(boundary).append("--\r\n");
  if (chunked) {
    flush();
    out.append("0\r\n\r\n");
  }
  return out;
}

}  // namespace

RangeAnswer apacheRanges(std::string_view range, uint64_t length, std::vector<ByteRange>* out) {
  // ap_set_byterange() (modules/http/byterange_filter.c), step by step.
  out->clear();
  range = cString(range);
  if (range.size() < 6 || !iequals(range.substr(0, 6), "bytes=")) return RangeAnswer::kWhole;
  // The filter leaves an empty body alone; a body beyond off_t cannot be.
  if (length == 0 || length > static_cast<uint64_t>(kMaxOff)) return RangeAnswer::kWhole;
  const auto clength = static_cast<int64_t>(length);
  std::string_view rest = range.substr(6);
  int64_t ostart = 0, oend = 0, sum = 0;
  bool in_merge = false, unsatisfiable = false;
  int ranges = 0, overlaps = 0, reversals = 0;
  std::vector<ByteRange> merged;
  for (;;) {
    // ap_getword(',') : the word up to a comma, then past every comma that follows.
    const size_t comma = rest.find(',');
    const std::string_view word = rest.substr(0, comma);
    if (comma == std::string_view::npos) {
      rest = {};
    } else {
      const size_t next = rest.find_first_not_of(',', comma);
      rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
    }
    if (word.empty()) break;
    // One range that does not parse voids the whole header (RFC 2616 14.35.1).
    const size_t dash = word.find('-');
    if (dash == std::string_view::npos) return RangeAnswer::kWhole;
    int64_t start = 0, end = 0, n = 0;
    if (dash == 0) {  // "-N": the last N bytes
      if (!strictLength(word.substr(1), &n) || n < 1) return RangeAnswer::kWhole;
      start = clength - n;
      end = clength - 1;
    } else {
      if (!strictLength(word.substr(0, dash), &n)) return RangeAnswer::kWhole;
      start = n;
      const std::string_view last = word.substr(dash + 1);
      if (!last.empty()) {
        if (!strictLength(last, &n)) return RangeAnswer::kWhole;
        end = n;
        if (start > end) return RangeAnswer::kWhole;
      } else {
        end = clength - 1;
        if (start == 0) {  // "0-": the whole body as one range, whatever else was asked
          merged.clear();
          sum = 0;
          ranges = 0;
          in_merge = true;
          ostart = 0;
          oend = end;
          break;
        }
      }
    }
    if (start < 0) start = 0;
    if (start >= clength) {
      unsatisfiable = true;
      continue;
    }
    if (end >= clength) end = clength - 1;
    if (!in_merge) {  // a new set
      ostart = start;
      oend = end;
      in_merge = true;
      continue;
    }
    in_merge = start >= ostart && end <= oend;
    if (start < ostart && end >= ostart - 1) {
      ostart = start;
      ++reversals;
      in_merge = true;
    }
    if (end >= oend && start <= oend + 1) {
      oend = end;
      in_merge = true;
    }
    if (in_merge) {
      ++overlaps;
      continue;
    }
    merged.push_back({static_cast<uint64_t>(ostart), static_cast<uint64_t>(oend)});
    sum += oend - ostart + 1;
    in_merge = true;  // a new set again
    ostart = start;
    oend = end;
    ++ranges;
  }
  if (in_merge) {
    merged.push_back({static_cast<uint64_t>(ostart), static_cast<uint64_t>(oend)});
    sum += oend - ostart + 1;
    ++ranges;
  } else if (ranges == 0 && unsatisfiable) {
    return RangeAnswer::kUnsatisfiable;
  }
  if (sum > clength || ranges == 0) return RangeAnswer::kWhole;
  if (ranges > kApacheMaxRanges || overlaps > kApacheMaxOverlaps ||
      reversals > kApacheMaxReversals) {
    return RangeAnswer::kWhole;
  }
  *out = std::move(merged);
  return RangeAnswer::kPartial;
}

RangeAnswer nginxRanges(std::string_view range, uint64_t length, std::vector<ByteRange>* out) {
  // ngx_http_range_parse() (src/http/modules/ngx_http_range_filter_module.c), step by step;
  // the value ends at its NUL, as nginx's does.
  out->clear();
  range = cString(range);
  if (range.size() < 7 || !iequals(range.substr(0, 6), "bytes=")) return RangeAnswer::kWhole;
  if (length > static_cast<uint64_t>(kMaxOff)) return RangeAnswer::kWhole;
  const auto content_length = static_cast<int64_t>(length);
  constexpr int64_t cutoff = kMaxOff / 10, cutlim = kMaxOff % 10;
  size_t p = 6;
  auto at = [&](size_t i) { return i < range.size() ? range[i] : '\0'; };
  // Digits into *v; false on overflow.
  auto number = [&](int64_t* v) {
    while (isDigit(at(p))) {
      const int d = at(p) - '0';
      if (*v >= cutoff && (*v > cutoff || d > cutlim)) return false;
      *v = *v * 10 + d;
      ++p;
    }
    return true;
  };
  int64_t size = 0;
  for (;;) {
    int64_t start = 0, end = 0;  // end exclusive from here on
    bool suffix = false, open = false;
    while (at(p) == ' ') ++p;
    if (at(p) != '-') {
      if (!isDigit(at(p)) || !number(&start)) return RangeAnswer::kUnsatisfiable;
      while (at(p) == ' ') ++p;
      if (at(p++) != '-') return RangeAnswer::kUnsatisfiable;
      while (at(p) == ' ') ++p;
      if (at(p) == ',' || at(p) == '\0') {
        end = content_length;
        open = true;
      }
    } else {
      suffix = true;
      ++p;
    }
    if (!open) {
      if (!isDigit(at(p)) || !number(&end)) return RangeAnswer::kUnsatisfiable;
      while (at(p) == ' ') ++p;
      if (at(p) != ',' && at(p) != '\0') return RangeAnswer::kUnsatisfiable;
      if (suffix) {
        start = end < content_length ? content_length - end : 0;
        end = content_length - 1;
      }
      end = end >= content_length ? content_length : end + 1;
    }
    if (start < end) {
      out->push_back({static_cast<uint64_t>(start), static_cast<uint64_t>(end - 1)});
      if (size > kMaxOff - (end - start)) {
        out->clear();
        return RangeAnswer::kUnsatisfiable;
      }
      size += end - start;
    } else if (start == 0) {
      out->clear();
      return RangeAnswer::kWhole;
    }
    if (at(p++) != ',') break;
  }
  if (out->empty()) return RangeAnswer::kUnsatisfiable;
  if (size > content_length) {  // together more than the body: sent whole
    out->clear();
    return RangeAnswer::kWhole;
  }
  return RangeAnswer::kPartial;
}

void applyRanges(const Persona& persona, const core::HttpRequestData& request,
                 const RangeContext& ctx, Response* r) {
  const bool apache = persona.name == "apache";
  if (!apache && persona.name != "nginx") return;
  if (r->status != 200 || r->chunked || r->unknown_length) return;
  if (const std::string* a = findHeader(r->headers, "Accept-Ranges");
      a == nullptr || *a != "bytes") {
    return;
  }
  // Apache skips HTTP/0.9 and nginx anything before 1.0; neither reaches here.
  const std::optional<std::string> range = requestHeader(request, "Range", apache);
  if (!range) return;
  const std::string_view body = r->static_body.empty() ? std::string_view(r->body) : r->static_body;
  std::vector<ByteRange> ranges;
  const RangeAnswer answer = apache ? apacheRanges(*range, body.size(), &ranges)
                                    : nginxRanges(*range, body.size(), &ranges);
  // If-Range is looked at once the Range header is known to be one (nginx: "bytes=" and 7
  // bytes; Apache: "bytes="); a failed one sends the whole body, without a word.
  if (answer == RangeAnswer::kWhole || !ifRangeHolds(apache, request, *r, ctx.now_s)) return;

  if (answer == RangeAnswer::kUnsatisfiable) {
    Response e;
    e.status = 416;
    e.omit_body = r->omit_body;
    e.close = r->close;
    if (apache) {
      // The error page of ap_die(): no length known ahead, so chunked on a connection that
      // stays open and up to the close otherwise (an HTTP/1.0 client's is closed).
      e.headers.push_back({"Content-Type", "text/html; charset=iso-8859-1"});
      e.unknown_length = true;
      // A HEAD keeps the connection (Apache's header_only).
      if (request.version == "1.0" && !r->omit_body) e.close = true;
    } else {
      e.headers.push_back({"Content-Type", "text/html"});
      e.headers.push_back({"Content-Range", "bytes */" + std::to_string(body.size())});
    }
    e.body = errorPage(persona, 416, ctx.page_host, ctx.page_port);
    *r = std::move(e);
    return;
  }

  if (const std::string* type = findHeader(r->headers, "Content-Type");
      ranges.size() > 1 &&
      ranges.size() * (64 + 20 + (type ? type->size() : 0)) > kMaxPartHeaderBytes) {
    return;  // nginx only: Apache sends 200 parts at most
  }
  r->status = 206;
  if (!apache) removeHeader(r, "Accept-Ranges");  // nginx announces it on whole answers only
  if (ranges.size() == 1) {
    const ByteRange b = ranges.front();
    r->headers.push_back({"Content-Range", contentRange(b, body.size())});
    const std::string_view part = body.substr(b.first, b.last - b.first + 1);
    if (!r->static_body.empty()) {
      r->static_body = part;  // still a view of the site's file
    } else {
      r->body = std::string(part);
    }
    return;
  }
  const std::string boundary = apache ? apacheBoundary() : nginxBoundary();
  const std::string* type = findHeader(r->headers, "Content-Type");
  // More than 32 parts: Apache sends no length; chunked to an HTTP/1.1 client, even one that
  // asked to close (ap_set_keepalive() sets chunking before it looks at Connection), and up to
  // the close to an HTTP/1.0 one.
  const bool unknown = apache && ranges.size() > kApachePassRanges;
  const bool chunked = unknown && request.version != "1.0";
  std::string parts = multipartBody(apache, boundary, type, body, ranges, chunked);
  r->static_body = {};
  r->body = std::move(parts);
  r->chunked = chunked;
  if (unknown && !chunked) {
    r->unknown_length = true;
    r->close = !r->omit_body;  // a HEAD keeps the connection (Apache's header_only)
  }
  setHeader(r, "Content-Type", "multipart/byteranges; boundary=" + boundary);
}

}  // namespace drosera::http
