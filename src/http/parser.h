// A lenient, incremental HTTP/1.x request parser. It never refuses to look at bytes: whatever a
// client sends is parsed as far as it goes, every deviation is noted as an anomaly, and the
// answer a real server would give (400, 413, 414, 431, 501, 505) is reported as data.
// One parser per connection, reused across pipelined requests; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture.h"

namespace drosera::http {

struct ParserLimits {
  uint64_t max_request_line = 8190;
  uint64_t max_header_line = 8190;
  uint64_t max_header_bytes = 65536;
  uint64_t max_headers = 0;  // 0: the dialect's own (maxHeaders())
  uint64_t max_body_bytes = 1048576;
  // The nginx dialect holds a head to nginx's header buffers too (nginxBuffersHold()); off,
  // to the limits above only (the collector's API, which is not a persona).
  bool nginx_buffers = true;
};

// Why a request cannot be served normally. The persona turns it into a status and a page.
enum class ParseError {
  kNone,
  kBadRequest,           // 400: malformed request line, header or chunking
  kUriTooLong,           // 414
  kHeadersTooLarge,      // 431: a header line, all headers, or too many of them
  kBodyTooLarge,         // 413
  kNotImplemented,       // 501: unknown transfer coding
  kVersionNotSupported,  // 505
  kExpectationFailed     // 417: an Expect other than 100-continue (Apache)
};

int statusFor(ParseError e);

// How strictly a request is read, as the server a persona imitates reads it (measured on
// loopback against Apache 2.4.71, HttpProtocolOptions Strict being its default since 2.4.25,
// and nginx 1.22.1; tests/integration/test_protocol.py). kLenient takes what either would.
enum class Dialect {
  kLenient,
  // Single spaces in the request line; CRLF line ends; any HTTP/1.x or later version read as
  // 1.1 (HTTP/0.x refused); header names of token characters, values without control bytes;
  // an obs-fold joined to the header above; Content-Length once; Transfer-Encoding whose last
  // coding is chunked, winning over Content-Length; an Expect but 100-continue 417; "GET /x"
  // an HTTP/0.9 request.
  kApache,
  // Spaces but no tabs in the request line; a version from HTTP/2 on 505, HTTP/0.x refused;
  // a header line without a colon ignored; Content-Length once; "METHOD /x" an HTTP/0.9
  // request for any method of capitals (answered with a body only, a 400 page but for GET).
  kNginx,
};

enum class ParseState { kNeedMore, kComplete, kError };

class RequestParser {
 public:
  explicit RequestParser(const ParserLimits& limits, Dialect dialect = Dialect::kLenient)
      : limits_(limits), dialect_(dialect) {}

  // Parses `input`: all bytes received and not yet consumed by earlier requests on this
  // connection. Call again with the same bytes plus more after kNeedMore; the parser resumes
  // where it stopped. On kComplete, consumed() bytes belong to this request and the rest start
  // the next (pipelined) one. On kError, error() says why; the request holds what was parsed.
  ParseState parse(std::string_view input);

  // Starts the next request on the same connection.
  void reset();

  core::HttpRequestData& request() { return request_; }
  const std::vector<std::string>& anomalies() const { return anomalies_; }
  std::vector<std::string>& anomalies() { return anomalies_; }
  const std::vector<std::string>& limitsHit() const { return limits_hit_; }
  ParseError error() const { return error_; }
  size_t consumed() const { return consumed_; }
  bool headComplete() const { return head_done_; }
  // The bytes of the head, the empty line included (0 before it is complete).
  size_t headBytes() const { return head_bytes_; }
  bool bodyComplete() const { return state_ == State::kDone; }
  // The request line is whole (read, or refused).
  bool requestLineDone() const { return state_ != State::kRequestLine; }
  // The client asked for "100 Continue" and the body has not started.
  bool expectsContinue() const { return expect_continue_; }
  // The client sent "Expect: 100-continue" (HTTP/1.1 or later), whether the body came or not.
  bool expected100() const { return expected_100_; }
  // The head announces a body (a Content-Length over 0, or chunks).
  bool announcedBody() const { return chunked_ || request_.body_bytes > 0; }
  // Keep-alive per HTTP version and the Connection header (valid once the head is complete).
  bool keepAlive() const { return keep_alive_; }
  // The client sent "Connection: keep-alive" (Apache answers with its Keep-Alive header only
  // then).
  bool keepAliveAsked() const { return keep_alive_asked_; }
  bool isHead() const { return request_.method == "HEAD"; }
  // An HTTP/0.9 request ("GET /x" alone on its line, no headers): answered with the body
  // alone, then the connection closes.
  bool http09() const { return http09_; }
  // The error arose in the body (chunking), once the head had been read: Apache's page then
  // names the request's host, where a bad head gets the server's own name.
  bool bodyError() const { return body_error_; }

 private:
  enum class State { kRequestLine, kHeaders, kBody, kChunkSize, kChunkData, kChunkDataEnd,
                     kTrailers, kDone, kError };

  // Returns the next line starting at pos_ (without CR/LF), or false if it is not complete.
  // Sets *too_long when more than `max` bytes arrived without a line end.
  bool nextLine(std::string_view in, uint64_t max, std::string_view* line, bool* too_long);
  bool parseRequestLine(std::string_view line);
  // A request line longer than max_request_line (414): parses its first max_request_line bytes.
  void parseLongRequestLine(std::string_view line);
  void parseHeaderLine(std::string_view line);
  bool finishHead();
  ParseState fail(ParseError e, const char* anomaly);
  void anomaly(const char* what);
  void limit(const char* what);

  // The limits as the dialect's server reads them: Apache takes a line a byte longer than its
  // LimitRequestLine and LimitRequestFieldSize (measured: 8191 bytes with their 8190). A header
  // count of 0 is the server's own: Apache's LimitRequestFields 100, Debian's nginx 1000
  // (measured; "client sent too many header lines").
  uint64_t maxRequestLine() const;
  uint64_t maxHeaderLine() const;
  uint64_t maxHeaders() const;

  // nginx reads a head into a buffer of 1 KiB (client_header_buffer_size 1k), then into at
  // most 4 of 8 KiB (large_client_header_buffers 4 8k): a line that does not fit in what is
  // left of one goes whole into the next, and without a next the head is too large (its 400,
  // measured: about 32 KiB, less the ends of buffers a line did not fit). Whether the line from
  // `start` to `end` (the bytes of it known so far) still fits; always, but in the nginx dialect.
  bool nginxBuffersHold(uint64_t start, uint64_t end);
  // The bytes of a header line from `start` that nginx reads before a limit stops it.
  uint64_t nginxLineRoom(uint64_t start) const;
  // nginx's refusal `e` of a request line at a byte of `seen` (kept for the engine); `consumed`
  // bytes end the request.
  ParseState refuseNginxRequestLine(std::string_view seen, ParseError e, size_t consumed,
                                    const char* what);
  static constexpr uint64_t kNginxFirstBuffer = 1024;
  static constexpr uint64_t kNginxLargeBuffer = 8192;
  static constexpr int kNginxLargeBuffers = 4;

  // The version is HTTP/1.1 or later in the dialect's reading (keep-alive by default, Host
  // required).
  bool http11OrLater() const;

  ParserLimits limits_;
  Dialect dialect_;
  State state_ = State::kRequestLine;
  size_t pos_ = 0;             // next unparsed byte in the input
  size_t consumed_ = 0;
  size_t blank_lines_ = 0;  // empty lines before the request line so far
  uint64_t header_bytes_ = 0;
  uint64_t body_remaining_ = 0;
  uint64_t chunk_remaining_ = 0;
  uint64_t raw_body_bytes_ = 0;
  bool chunked_ = false;
  bool expect_continue_ = false;
  bool expected_100_ = false;
  bool keep_alive_ = false;
  bool keep_alive_asked_ = false;
  bool head_done_ = false;     // the empty line ending the head was read
  bool http09_ = false;
  bool body_error_ = false;
  ParseError error_ = ParseError::kNone;
  ParseError deferred_ = ParseError::kNone;  // the error answered once the body is in
  size_t head_bytes_ = 0;
  uint64_t nginx_buffer_end_ = kNginxFirstBuffer;  // where the buffer of the current line ends
  int nginx_large_buffers_ = 0;                    // taken so far (nginxBuffersHold())
  core::HttpRequestData request_;
  std::vector<std::string> anomalies_;
  std::vector<std::string> limits_hit_;
};

// Case-insensitive ASCII comparison, for header names.
bool iequals(std::string_view a, std::string_view b);
// Whether the values of a repeated header, joined with ", " as Apache joins them, are longer
// than `max` bytes.
bool mergedFieldTooLong(const std::vector<core::Header>& headers, uint64_t max);
// The value of the first header called `name`, or nullptr.
const std::string* findHeader(const std::vector<core::Header>& headers, std::string_view name);

}  // namespace drosera::http
