// Fuzz target: the HTTP/1.x request parser (src/http/parser.h), in each dialect.
//
// Input: an option byte (bit 0: small limits, given by five more bytes after the next; bits 1
// and 2: the dialect, 1 Apache, 2 nginx, else the lenient reading), a byte
// seeding how the stream is cut into reads, then the bytes a client sends on one connection
// (pipelined requests allowed). Seeds: "\0\0" + a request. Invariants:
//  - offsets stay inside the input; a complete request consumed at least one byte;
//  - kComplete means no error, head and body complete, body size = announced size; kError names
//    an error with one of the statuses a real server answers; limits bound every output;
//  - the parser gives the same answer whether the bytes arrive at once or read by read (the
//    server parses the same buffer again after every read);
//  - a request that parsed without any anomaly, written out again, parses to the same request.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "http/parser.h"

namespace {

using drosera::http::Dialect;
using drosera::http::ParseError;
using drosera::http::ParserLimits;
using drosera::http::ParseState;
using drosera::http::RequestParser;

// What one parse() ended with; compared between the one-read and the many-reads runs.
struct Outcome {
  ParseState state = ParseState::kNeedMore;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;
  drosera::core::HttpRequestData request;
  std::vector<std::string> anomalies;
  std::vector<std::string> limits_hit;
};

bool sameRequest(const drosera::core::HttpRequestData& a, const drosera::core::HttpRequestData& b) {
  if (a.method != b.method || a.target != b.target || a.version != b.version || a.body != b.body ||
      a.body_bytes != b.body_bytes || a.headers.size() != b.headers.size()) {
    return false;
  }
  for (size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      return false;
    }
  }
  return true;
}

bool unique(const std::vector<std::string>& v) {
  std::vector<std::string> s = v;
  std::sort(s.begin(), s.end());
  return std::adjacent_find(s.begin(), s.end()) == s.end();
}

// Invariants that hold after every parse() call on `input`.
void checkCall(RequestParser& p, ParseState st, std::string_view input, const ParserLimits& l,
               Dialect d) {
  const auto& r = p.request();
  FUZZ_CHECK(p.consumed() <= input.size());
  FUZZ_CHECK(r.body.size() <= l.max_body_bytes);
  // (Apache takes a line a byte longer)
  FUZZ_CHECK(r.method.size() + r.target.size() <=
             std::min<uint64_t>(input.size(),
                                l.max_request_line + (d == Dialect::kApache ? 1 : 0)));
  // The check for too many headers comes before a line is added; a line that breaks the byte
  // limit is still added (for the engine) after it: at most one more.
  // (0: the dialect's own count: nginx 1000, the others 100)
  const uint64_t max_headers =
      l.max_headers != 0 ? l.max_headers : d == Dialect::kNginx ? 1000 : 100;
  FUZZ_CHECK(r.headers.size() <= max_headers + 1);
  uint64_t header_text = 0;
  for (const auto& h : r.headers) header_text += h.name.size() + h.value.size();
  // (Apache takes a line a byte longer)
  FUZZ_CHECK(header_text <= l.max_header_bytes + l.max_header_line + 1);
  FUZZ_CHECK(unique(p.anomalies()) && p.anomalies().size() <= 64);
  FUZZ_CHECK(unique(p.limitsHit()) && p.limitsHit().size() <= 8);
  // (Apache and nginx read a later version as 1.1: HTTP/2.1 may ask for 100 Continue)
  FUZZ_CHECK(!p.expectsContinue() || r.version == "1.1" || d != Dialect::kLenient);
  switch (st) {
    case ParseState::kComplete:
      FUZZ_CHECK(p.consumed() > 0);
      FUZZ_CHECK(p.error() == ParseError::kNone);
      FUZZ_CHECK(p.headComplete() && p.bodyComplete());
      FUZZ_CHECK(r.body.size() == r.body_bytes);
      FUZZ_CHECK(p.limitsHit().empty());
      break;
    case ParseState::kError: {
      FUZZ_CHECK(p.error() != ParseError::kNone);
      FUZZ_CHECK(!p.keepAlive());
      const int s = drosera::http::statusFor(p.error());
      FUZZ_CHECK(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505);
      FUZZ_CHECK(!p.bodyComplete());
      break;
    }
    case ParseState::kNeedMore:
      FUZZ_CHECK(p.error() == ParseError::kNone || p.error() == ParseError::kBodyTooLarge ||
                 p.error() == ParseError::kVersionNotSupported);
      FUZZ_CHECK(!p.bodyComplete());
      break;
  }
}

Outcome snapshot(RequestParser& p, ParseState st) {
  return {st, p.error(), p.consumed(), p.request(), p.anomalies(), p.limitsHit()};
}

// Parses `input` one request after another, handing each the whole rest of the stream.
std::vector<Outcome> parseWhole(std::string_view input, const ParserLimits& limits, Dialect d) {
  std::vector<Outcome> out;
  RequestParser p(limits, d);
  while (true) {
    const ParseState st = p.parse(input);
    checkCall(p, st, input, limits, d);
    // Parsing the same bytes again changes nothing once the parser has decided.
    if (st != ParseState::kNeedMore) {
      const size_t consumed = p.consumed();
      FUZZ_CHECK(p.parse(input) == st && p.consumed() == consumed);
    }
    out.push_back(snapshot(p, st));
    if (st != ParseState::kComplete || out.size() >= 64) break;
    input.remove_prefix(p.consumed());
    p.reset();
  }
  return out;
}

// The same, the way the server reads: the buffer grows by reads of random sizes, and parse()
// sees the whole buffer of the current request after each read.
std::vector<Outcome> parseInReads(std::string_view input, const ParserLimits& limits, Dialect d,
                                  uint32_t seed) {
  std::vector<Outcome> out;
  std::minstd_rand rng(seed);
  RequestParser p(limits, d);
  size_t have = 0;  // bytes of `input` received so far
  while (true) {
    ParseState st = ParseState::kNeedMore;
    do {
      have = std::min(input.size(), have + 1 + rng() % 64);
      st = p.parse(input.substr(0, have));
      checkCall(p, st, input.substr(0, have), limits, d);
    } while (st == ParseState::kNeedMore && have < input.size());
    out.push_back(snapshot(p, st));
    if (st != ParseState::kComplete || out.size() >= 64) break;
    input.remove_prefix(p.consumed());
    have -= p.consumed();
    p.reset();
  }
  return out;
}

// A request as a client that follows the RFC would write it.
std::string serialise(const drosera::core::HttpRequestData& r, bool chunked) {
  std::string s = r.method + " " + r.target + " HTTP/" + r.version + "\r\n";
  for (const auto& h : r.headers) s += h.name + ": " + h.value + "\r\n";
  s += "\r\n";
  if (!chunked) return s + r.body;
  if (!r.body.empty()) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", r.body.size());
    s += size + r.body + "\r\n";
  }
  return s + "0\r\n\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  drosera::fuzz::Input fin(data, size);
  ParserLimits limits;
  const uint8_t options = fin.byte();
  const uint32_t seed = fin.byte();
  if (options & 1) {
    // Small limits, so that the fuzzer reaches every limit with short inputs.
    limits.max_request_line = fin.inRange(1, 256);
    limits.max_header_bytes = fin.inRange(1, 256) * 4;
    limits.max_header_line = fin.inRange(1, limits.max_header_bytes);
    limits.max_headers = fin.inRange(0, 16);  // 0: the dialect's own
    limits.max_body_bytes = fin.inRange(0, 255) * 2;
  }
  // Bits 1 and 2: the dialect (nginx's header buffers and Apache's limits read split by split
  // too).
  const Dialect dialect = (options >> 1 & 3) == 1   ? Dialect::kApache
                          : (options >> 1 & 3) == 2 ? Dialect::kNginx
                                                    : Dialect::kLenient;
  const std::string input(fin.rest());

  const std::vector<Outcome> whole = parseWhole(input, limits, dialect);
  const std::vector<Outcome> reads = parseInReads(input, limits, dialect, seed);
  FUZZ_CHECK(whole.size() == reads.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    const Outcome& a = whole[i];
    const Outcome& b = reads[i];
    FUZZ_CHECK(a.state == b.state);
    FUZZ_CHECK(a.error == b.error);
    if (a.error == ParseError::kUriTooLong) {
      // The start of an over-long request line, however it was read.
      FUZZ_CHECK(a.request.method == b.request.method && a.request.target == b.request.target &&
                 a.request.version == b.request.version);
    }
    if (a.state == ParseState::kComplete) {
      FUZZ_CHECK(a.consumed == b.consumed);
      FUZZ_CHECK(sameRequest(a.request, b.request));
      FUZZ_CHECK(a.anomalies == b.anomalies);
    }
  }

  // Round trip: a clean request, written out again, reads back the same. Written out, a header
  // line may be a byte longer ("a:b" becomes "a: b"): the head limits do not apply here.
  ParserLimits roomy = limits;
  roomy.max_request_line = roomy.max_header_line = roomy.max_header_bytes = 1 << 24;
  roomy.max_headers = 1 << 20;
  roomy.nginx_buffers = false;
  for (const Outcome& o : whole) {
    if (o.state != ParseState::kComplete || !o.anomalies.empty()) continue;
    const std::string* te = drosera::http::findHeader(o.request.headers, "Transfer-Encoding");
    const std::string again = serialise(o.request, te != nullptr);
    RequestParser p(roomy, dialect);
    const ParseState st = p.parse(again);
    FUZZ_CHECK(st == ParseState::kComplete);
    FUZZ_CHECK(p.consumed() == again.size());
    FUZZ_CHECK(sameRequest(p.request(), o.request));
    FUZZ_CHECK(p.anomalies().empty());
  }
  return 0;
}
