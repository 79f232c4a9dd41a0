// Byte ranges (RFC 9110 14.2), answered as the persona's server answers them for a file:
// Apache 2.4's byterange filter (MaxRanges 200, MaxRangeOverlaps and MaxRangeReversals 20,
// the defaults) and nginx 1.22's range filter (max_ranges unlimited; drosera sends a file whole
// rather than thousands of parts, ranges.cc). Measured on loopback
// against the Debian packages (docs/sensor.md, "Personas"); tests/integration/test_ranges.py
// sends the same ranges to both and to drosera. IIS answers are left whole (not measured).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/capture.h"
#include "http/response.h"

namespace drosera::http {

struct ByteRange {
  uint64_t first = 0;  // both inclusive
  uint64_t last = 0;
};

enum class RangeAnswer {
  kWhole,          // the whole body, as if no Range had come
  kPartial,        // 206 with the ranges, in the order they are sent
  kUnsatisfiable,  // 416
};

// What a Range value ("bytes=..." and all) asks of a body of `length` bytes, each server's
// way: Apache ignores the whole header for one bad range, merges overlapping and adjacent
// ranges, and takes "0-" as the whole body; nginx answers 416 for a bad range, keeps the
// ranges as they come, and ignores them when together they ask for more than the body.
RangeAnswer apacheRanges(std::string_view range, uint64_t length, std::vector<ByteRange>* out);
RangeAnswer nginxRanges(std::string_view range, uint64_t length, std::vector<ByteRange>* out);

// Where the persona's 416 page says it is (Apache's footer: pageHost(), pagePort()), and the
// time now, which decides whether a Last-Modified is strong enough for Apache's If-Range.
struct RangeContext {
  std::string_view page_host;
  uint16_t page_port = 80;
  int64_t now_s = 0;
};

// Answers the request's Range, if it has one, from `r`, the whole answer. Only a 200 that
// announces "Accept-Ranges: bytes" (the site's files and the traps' baits; after content
// coding, so Apache ranges the compressed bytes and nginx, whose gzip drops Accept-Ranges,
// sends them whole) is ranged. If-Range is honoured: an ETag by exact comparison; a date equal
// to Last-Modified, which Apache only takes once the file is a minute old.
void applyRanges(const Persona& persona, const core::HttpRequestData& request,
                 const RangeContext& ctx, Response* r);

}  // namespace drosera::http
