// What one sensor group saw in one UTC day, folded from stored events: the attacker IPs with
// their counts, categories and traps, the notable requests (future http-request objects), the
// payload URLs, captured credentials and pending sightings. One DayPart becomes one MISP event
// (misp_model.h); a busy day continues in part 2, 3... (max_ips_per_event).
//
// A DayPart is kept in the store's state (namespace "misp") as JSON and folded in store-sequence
// order. `applied_seq` makes folding idempotent: an event whose IP is already in the part with
// a seq <= applied_seq was folded before a crash and is skipped when the batch is read again.
// Values only; no I/O. Not thread-safe (one reporter owns its parts).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace drosera::intel {

struct IpRecord {
  std::string ip;  // canonical text
  int64_t first_us = 0;
  int64_t last_us = 0;
  uint64_t requests = 0;
  uint64_t evidence_requests = 0;       // with a (non-scoring) rule or a trap hit
  uint64_t exploit_requests = 0;        // with exploit evidence (see isExploit*)
  std::vector<std::string> categories;  // CRS attack-* classes, sorted
  std::vector<std::string> traps;       // trap kinds, sorted
  std::vector<int> rules;               // rule ids, sorted, at most kMaxRulesPerIp
  std::vector<std::string> sensors;     // sorted, at most kMaxSensorsPerIp
  std::vector<std::string> covered;     // classes already shown by one of its http-requests
  uint64_t objects = 0;                 // http-request records kept for it
  uint64_t urls = 0;                    // payload URLs kept for it
  uint64_t credentials = 0;
  int64_t last_sighting_us = 0;  // 0: none; rate limit of sightings
  int64_t changed = 0;           // part timestamp of its last change
};

struct RequestRecord {
  std::string key;  // "<sensor>|<unique_id>": names the object's UUID
  std::string ip;
  std::string sensor;
  int64_t time_us = 0;
  std::string method;  // a MISP http-method value, or empty
  std::string uri;     // cleaned (cleanUri); query dropped when it held
                       // credentials that are not shared
  std::string user_agent;
  std::string content_type;
  std::string summary;  // rules and traps, for the object's text relation
  std::string unique_id;
  bool exploit = false;
  int64_t changed = 0;
};

struct UrlRecord {
  std::string url;
  std::string ip;  // first source
  int64_t first_us = 0;
  int64_t last_us = 0;
  uint64_t count = 0;
  std::vector<std::string> categories;  // of the requests that carried it
  int64_t changed = 0;
};

struct CredentialRecord {
  std::string value;  // as typed (cleaned, bounded)
  std::string ip;     // first source
  int64_t first_us = 0;
  int64_t last_us = 0;
  uint64_t count = 0;
  int64_t changed = 0;
};

struct PendingSighting {
  uint64_t index = 0;  // absolute, per part
  std::string ip;
  int64_t time_s = 0;
};

struct DayPart {
  std::string group;
  std::string date;  // YYYY-MM-DD (UTC)
  int part = 1;
  uint64_t applied_seq = 0;   // highest store seq folded into this part
  uint64_t version = 0;       // bumped on every change
  int64_t timestamp = 0;      // Unix seconds of the last change (MISP timestamp)
  bool closed = false;        // the day is over (analysis complete, published)
  std::vector<IpRecord> ips;  // in order of first appearance
  std::vector<RequestRecord> requests;
  std::vector<UrlRecord> urls;
  std::vector<CredentialRecord> credentials;
  uint64_t sighting_next = 0;              // index the next sighting gets
  std::vector<PendingSighting> sightings;  // the newest, at most kMaxPendingSightings
  uint64_t sightings_dropped = 0;

  // Not serialised: lookup by IP, rebuilt by reindex(); whether this batch changed the part.
  std::unordered_map<std::string, size_t> ip_index;
  bool touched = false;

  void reindex();
  IpRecord* findIp(const std::string& ip);
  const IpRecord* findIp(const std::string& ip) const;
};

inline constexpr size_t kMaxRulesPerIp = 32;
inline constexpr size_t kMaxSensorsPerIp = 16;
inline constexpr size_t kMaxPendingSightings = 1000;
inline constexpr size_t kMaxCredentialsPerIp = 20;

struct FoldOptions {
  uint64_t max_requests_per_ip = 3;
  uint64_t max_urls_per_ip = 10;
  bool share_credentials = false;
  bool report_unclassified = false;
  bool sightings = false;  // collect sightings (REST transport present)
  int64_t sighting_interval_us = 3600ll * 1000000;
  // A payload URL may be reported (not warninglisted, not the sensor itself). Required.
  std::function<bool(const std::string& url, const core::Event& e)> url_allowed;
};

// The evidence one event carries, computed once per event.
struct Evidence {
  std::vector<std::string> categories;    // attack-* (no "honeytrap")
  std::vector<std::string> traps;         // kinds
  std::vector<int> rules;                 // non-scoring rule ids
  std::vector<std::string> payload_urls;  // allowed ones
  bool any() const { return !categories.empty() || !traps.empty(); }
  bool exploit = false;
};

Evidence evidenceOf(const core::Event& e, const FoldOptions& options);

bool isExploitCategory(std::string_view category);
bool isExploitTrap(std::string_view kind);
// An IP becomes an attribute when it showed evidence (or report_unclassified is on).
bool isReportable(const IpRecord& ip, bool report_unclassified);

// "YYYY-MM-DD" of a time in microseconds since the epoch (UTC).
std::string utcDate(int64_t time_us);
// Microseconds since the epoch of 00:00 UTC of the day after `date`; 0 if `date` is malformed.
int64_t endOfDayUs(const std::string& date);

// Marks the part changed in this batch: the first time, bumps version and sets timestamp to
// max(timestamp + 1, now_s), so every change has a newer MISP timestamp.
void touch(DayPart& part, int64_t now_s);

// Folds one event (already accepted: its source is not filtered) into the part, which must
// hold the source `ip` (canonical text of e.src_ip) or be the part new IPs go to. Touches the
// part.
void foldEvent(DayPart& part, const core::Event& e, const std::string& ip, const Evidence& ev,
               uint64_t seq, int64_t now_s, const FoldOptions& options);

std::string serializePart(const DayPart& part);
core::Result<DayPart> parsePart(std::string_view json);

}  // namespace drosera::intel
