// Fuzz target: the index line of a concurrent audit log (collector::parseMlogcIndexLine), what
// mlogc sends as X-ForensicLog-Summary. Input: the line. Seeds: lines of real v2 and v3 indexes.
// Invariants:
//  - an accepted line has what a receiver relies on: a unique id (not "-"), a path, an md5 of 32
//    lower-case hex digits; every text field is a piece of the line; the status has 3 digits;
//  - a line end ("\n", "\r\n") changes nothing;
//  - round trip: the fields written out as a v2 index line read back the same.
#include <string>

#include "collector/parse.h"
#include "fuzz_check.h"

namespace {

using drosera::collector::IndexEntry;
using drosera::collector::parseMlogcIndexLine;

bool sameEntry(const IndexEntry& a, const IndexEntry& b) {
  return a.v3 == b.v3 && a.host == b.host && a.remote_ip == b.remote_ip && a.time_us == b.time_us &&
         a.request_line == b.request_line && a.status == b.status && a.unique_id == b.unique_id &&
         a.path == b.path && a.size == b.size && a.md5 == b.md5 && a.truncated == b.truncated;
}

bool plainToken(const std::string& s) {
  return !s.empty() && s.find_first_of(" \"\\\r\n") == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto r = parseMlogcIndexLine(line);
  if (!r.isOk()) return 0;
  const IndexEntry& e = *r;

  FUZZ_CHECK(!e.unique_id.empty() && e.unique_id != "-");
  FUZZ_CHECK(!e.path.empty());
  FUZZ_CHECK(e.md5.size() == 32);
  for (char c : e.md5) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  for (const std::string* f : {&e.host, &e.remote_ip, &e.request_line, &e.unique_id, &e.path}) {
    FUZZ_CHECK(line.find(*f) != std::string_view::npos);
  }
  FUZZ_CHECK(e.status >= 0 && e.status <= 999);

  if (!line.empty() && line.back() != '\n' && line.back() != '\r') {
    for (const char* end : {"\n", "\r\n"}) {
      const auto again = parseMlogcIndexLine(std::string(line) + end);
      if (line.size() + 2 <= 64 * 1024) FUZZ_CHECK(again.isOk() && sameEntry(*again, e));
    }
  }

  // Written out as mod_security2 writes it. Fields with spaces or quotes cannot be written back
  // unambiguously (ModSecurity escapes them; this writer does not).
  if (plainToken(e.host) && plainToken(e.remote_ip) && plainToken(e.unique_id) &&
      plainToken(e.path) && e.request_line.find_first_of("\"\\\r\n") == std::string::npos) {
    const std::string v2 = e.host + " " + e.remote_ip + " - - [30/Nov/2026:03:44:12 +0000] \"" +
                           e.request_line + "\" " + std::to_string(e.status) + " 0 \"-\" \"-\" " +
                           e.unique_id + " \"-\" " + e.path + " 0 " + std::to_string(e.size) +
                           " md5:" + e.md5 + (e.truncated ? " L" : " ");
    const auto back = parseMlogcIndexLine(v2);
    FUZZ_CHECK(back.isOk());
    FUZZ_CHECK(!back->v3 && back->host == e.host && back->remote_ip == e.remote_ip);
    FUZZ_CHECK(back->unique_id == e.unique_id && back->path == e.path);
    FUZZ_CHECK(back->size == e.size && back->md5 == e.md5 && back->truncated == e.truncated);
    FUZZ_CHECK(back->time_us == 1796010252000000);
    if (e.status != 0) {
      FUZZ_CHECK(back->request_line == e.request_line && back->status == e.status);
    }
  }
  return 0;
}
