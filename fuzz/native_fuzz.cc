// Fuzz target: the native audit log format (v2 "--b-A--" and v3 "---b---A--"): the splitter for
// serial logs (collector::splitNativeEntries) and the entry parser (collector::parseV2Native).
//
// Input: an option byte (event_checks.h), a byte seeding how the log is cut into reads, a byte
// choosing a small entry bound, then the log text. Seeds: "\0\0\0" + a real native log.
// Invariants:
//  - the split stays inside the buffer: entries in order, not overlapping, before `consumed`,
//    each from an A marker line to the Z marker line of the same boundary;
//  - fed read by read (keeping buffer[consumed..] and appending), the splitter finds the same
//    entries as on the whole log;
//  - every entry it finds is one the parser accepts (given a fallback id) and detectFormat calls
//    native; every event keeps the invariants of event_checks.h;
//  - the whole input parsed as one entry keeps them too.
#include <random>
#include <string>
#include <vector>

#include "event_checks.h"

namespace {

using drosera::collector::NativeSplit;
using drosera::collector::splitNativeEntries;

bool isMarkerLine(std::string_view line, char part) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line.size() >= 10 && line.substr(0, 2) == "--" && line[line.size() - 3] == part &&
         line.ends_with("--");
}

void checkSplit(const NativeSplit& s, std::string_view buffer) {
  FUZZ_CHECK(s.consumed <= buffer.size());
  FUZZ_CHECK(s.skipped_bytes <= s.consumed);
  const char* at = buffer.data();
  size_t entry_bytes = 0;
  for (std::string_view e : s.entries) {
    FUZZ_CHECK(e.data() >= at && e.data() + e.size() <= buffer.data() + s.consumed);
    at = e.data() + e.size();
    entry_bytes += e.size();
    FUZZ_CHECK(e.size() >= 2 && e.back() == '\n');
    const std::string_view first = e.substr(0, e.find('\n'));
    FUZZ_CHECK(isMarkerLine(first, 'A'));
    std::string_view body = e.substr(0, e.size() - 1);
    const std::string_view last = body.substr(body.rfind('\n') + 1);
    FUZZ_CHECK(isMarkerLine(last, 'Z'));
  }
  FUZZ_CHECK(entry_bytes + s.skipped_bytes <= s.consumed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  drosera::fuzz::Input in(data, size);
  const uint8_t options = in.byte();
  const uint32_t seed = in.byte();
  const size_t small_bound = 16 + in.byte() * 8;
  drosera::collector::ParseContext ctx = drosera::fuzz::contextFrom(options, in);
  const std::string_view log = in.rest();

  // The whole input as one entry.
  if (auto e = drosera::collector::parseV2Native(log, ctx)) {
    drosera::fuzz::checkEvent(*e, log, ctx);
    FUZZ_CHECK(e->format == "modsec2-native");
  }

  const NativeSplit whole = splitNativeEntries(log);
  checkSplit(whole, log);
  ctx.fallback_unique_id = "fuzz-fallback-id";
  for (std::string_view entry : whole.entries) {
    FUZZ_CHECK(drosera::collector::detectFormat(entry) ==
               drosera::collector::RecordFormat::kNative);
    const auto e = drosera::collector::parseV2Native(entry, ctx);
    if (entry.size() <= ctx.max_record_bytes) {
      FUZZ_CHECK(e.isOk());
      drosera::fuzz::checkEvent(*e, entry, ctx);
    }
  }

  // Read by read.
  std::minstd_rand rng(seed);
  std::string buffer;
  std::vector<std::string> got;
  size_t fed = 0;
  while (fed < log.size()) {
    const size_t n = std::min<size_t>(log.size() - fed, 1 + rng() % 512);
    buffer.append(log.substr(fed, n));
    fed += n;
    const NativeSplit s = splitNativeEntries(buffer);
    checkSplit(s, buffer);
    for (auto e : s.entries) got.emplace_back(e);
    buffer.erase(0, s.consumed);
  }
  FUZZ_CHECK(got.size() == whole.entries.size());
  for (size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(got[i] == whole.entries[i]);

  // A small bound on entries: torn and oversized entries are dropped, the rest as above.
  const NativeSplit bounded = splitNativeEntries(log, small_bound);
  checkSplit(bounded, log);
  for (std::string_view e : bounded.entries) FUZZ_CHECK(e.size() <= small_bound);
  return 0;
}
