// The collector's parsers: one audit record in, one normalised core::Event out. Formats: drosera's
// own event line (a ModSecurity v3 JSON record plus a "drosera" object), libmodsecurity v3 JSON
// (nginx), mod_security2 v2 JSON, and the native A..Z format (v2 "--b-A--" and the v3
// "---b---A--" variant); plus the mlogc index line and a splitter for native serial logs.
//
// Every record is hostile: a malformed one is an error Result (never an exception, never a
// crash), a merely odd one a partial event. Every size is bounded by ParseContext. All functions
// are pure and thread-safe (the JSON parsers reuse one simdjson parser per thread).
// Formats, pitfalls and fixtures: docs/collector-parsers.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace drosera::collector {

// What the caller knows about where a record came from. Defaults suit a local file.
struct ParseContext {
  // Sensor name for records that carry none (files: configured; mlogc: the Basic-auth user).
  // A drosera line names its own sensor in drosera.sensor, which wins.
  std::string sensor;
  // Zone of libmodsecurity v3's transaction.time_stamp, which is local time without a zone:
  // minutes east of UTC (+330 for India). Not used for drosera lines (always UTC).
  int utc_offset_minutes = 0;
  // Time given to a record whose own time is missing or unparseable (0: leave it 0).
  int64_t fallback_time_us = 0;
  // Transaction id for a record that carries none (mlogc: the id of the X-ForensicLog-Summary
  // index line). With neither, the record is refused: the store deduplicates on it.
  std::string fallback_unique_id;
  // Larger records are refused with kResourceExhausted: one JSON line or one native entry.
  size_t max_record_bytes = 16u << 20;
  // Per-record bounds on what is kept; the rest is dropped (the raw record keeps everything).
  size_t max_rules = 1000;           // rule hits
  size_t max_headers = 256;          // request headers
  size_t max_tags = 64;              // tags per rule hit
  size_t max_items = 256;            // traps, scores, anomalies, limits_hit (each)
  size_t max_body_bytes = 1u << 20;  // request body bytes
  // Copy the record into Event::raw_record.
  bool keep_raw_record = true;
};

enum class RecordFormat { kUnknown, kDrosera, kModsec3Json, kModsec2Json, kNative };

// A cheap look at the first bytes (and, for JSON, a few keys): which parser to call. A hint
// only: the JSON parsers decide for themselves (parseV3Json sees whether a top-level "drosera"
// object exists). kUnknown for anything else, including an empty record.
RecordFormat detectFormat(std::string_view record);
const char* formatName(RecordFormat format);  // "drosera", "modsec3-json", ...

// detectFormat, then the matching parser.
core::Result<core::Event> parseRecord(std::string_view record, const ParseContext& context);

// A drosera event line or a libmodsecurity v3 JSON record (one object; surrounding whitespace
// allowed). Event::format is "drosera" when the record has a top-level "drosera" object, else
// "modsec3-json". Bytes that are not UTF-8 (nginx writes them raw) are read as Latin-1, the
// way drosera escapes them. Errors: not JSON, truncated, too deep, no transaction, no unique id
// (and no ParseContext::fallback_unique_id).
core::Result<core::Event> parseV3Json(std::string_view record, const ParseContext& context);

// A mod_security2 v2 JSON record (SecAuditLogFormat JSON). Event::format "modsec2-json".
core::Result<core::Event> parseV2Json(std::string_view record, const ParseContext& context);

// One native entry, from its A marker to its Z marker; leading blank lines allowed. Both the v2
// and the v3 boundary styles. Event::format "modsec2-native" (the format family, whichever
// writer). Errors: no A marker, no Z marker (a truncated entry), no unique id.
core::Result<core::Event> parseV2Native(std::string_view entry, const ParseContext& context);

// Native serial logs hold entries back to back. splitNativeEntries returns the complete entries
// of `buffer` (views into it, A marker line to Z marker line inclusive) and how many bytes were
// consumed: the caller keeps buffer[consumed..] and appends to it. Text outside entries is
// skipped, and so is a torn entry (its writer died) once it is known to be one: an A marker of
// its own boundary follows before its Z (boundaries are random: no request body holds one), its
// Z does not come within max_entry_bytes, or `tail` says that no writer is in the middle of an
// entry and a complete entry follows it (or nothing more will come). The complete entries after
// a torn one are kept: from the first that starts after the torn entry's last marker and ends
// before that proof (past the bound: from the next A marker after that last marker). Else a
// complete entry after one without its Z proves nothing: it may be a forged one in the request
// body of an entry still being written. Unless `tail` is kFinished, never consumes a partial
// entry or a partial marker line that more data could complete, however long: the caller bounds
// what it keeps (the tailer skips max_entry_bytes without a newline).
struct NativeSplit {
  std::vector<std::string_view> entries;
  size_t consumed = 0;
  size_t skipped_bytes = 0;  // non-blank bytes dropped: junk or torn entries
};
// What the caller knows of the bytes that may follow `buffer`.
enum class NativeTail {
  kGrowing,   // more may come, and a writer may be in the middle of an entry
  kSettled,   // more may come, but no writer is in the middle of one (the file has been quiet)
  kFinished,  // nothing more will come
};
NativeSplit splitNativeEntries(std::string_view buffer, size_t max_entry_bytes = 16u << 20,
                               NativeTail tail = NativeTail::kGrowing);

// One line of a concurrent audit log's index (SecAuditLog with SecAuditLogType Concurrent): what
// mlogc reads from its pipe and sends as X-ForensicLog-Summary. Two dialects:
//  v2: host ip ruser luser [time] "request" status bytes "referer" "ua" id "session" path 0 size
//      md5:hex, then " " or " L" (fields truncated to fit PIPE_BUF);
//  v3: no luser, referer unquoted, real User-Agent, session replaced by the referer, absolute
//      path, size printed as a double ("473.000000"), no trailer.
struct IndexEntry {
  bool v3 = false;
  std::string host;  // Host header or "-"
  std::string remote_ip;
  int64_t time_us = 0;       // 0 when unparseable
  std::string request_line;  // as written (v2: escaped by ModSecurity)
  int status = 0;
  std::string unique_id;
  std::string path;        // v2: relative to SecAuditLogStorageDir, with its leading '/';
                           // v3: absolute
  uint64_t size = 0;       // bytes of the entry file
  std::string md5;         // 32 lower-case hex digits
  bool truncated = false;  // v2 " L": ModSecurity shortened some fields
};
// Strict on what a receiver relies on (unique_id, path, size, md5), lenient on the rest.
// A trailing "\n" or "\r\n" is allowed. Lines longer than 64 KiB are refused.
core::Result<IndexEntry> parseMlogcIndexLine(std::string_view line);

}  // namespace drosera::collector
