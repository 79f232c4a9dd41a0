// The store: where the collector keeps normalised events, the attackers they come from, the
// sensors that sent them, and the progress of everyone who reads them (DESIGN decisions 5, 6).
// One interface, two implementations: SQLite (embedded, the default; WAL) and PostgreSQL (a
// fleet; several collectors may share one database). One schema with versioned migrations;
// the same conformance suite runs against both (tests/conformance/).
//
// Guarantees:
//  * insert() is atomic: every event of the batch, the attacker rows they touch and the file
//    offsets passed with them are committed together, or nothing is.
//  * (sensor, unique_id) is unique: a resent event is skipped and counted, never stored twice.
//  * Every stored event gets a sequence number (`seq`), strictly increasing in commit order, so
//    a reader that remembers the last seq it handled (cursor()/setCursor()) never misses an event
//    that commits later with a smaller number, and never sees one twice.
//  * Attacker data is hostile: every value is bound as a parameter, never spliced into SQL.
// Thread-safety: a Store may be used from several threads; implementations serialise writes
// (one connection for writes, one for reads, each behind its own mutex).
// docs/store.md describes the schema, the rollups behind the aggregates, and retention.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace drosera::store {

struct StoredEvent {
  uint64_t seq = 0;        // also the event's id in the API
  core::Event event;       // raw_record decompressed
};

// Seqs are dense, so the seqs up to `examined_to` missing from a readAfter(after_seq, ...) batch
// are events that were there and are not now: deleted by retention before the reader got to
// them, or damaged (left out by the store, which logs them). Readers count them as missed.
inline uint64_t missedSeqs(uint64_t after_seq, const std::vector<StoredEvent>& batch,
                           uint64_t examined_to) {
  uint64_t missed = 0;
  for (const auto& e : batch) {
    if (e.seq > after_seq + 1) missed += e.seq - after_seq - 1;
    after_seq = e.seq;
  }
  if (examined_to > after_seq) missed += examined_to - after_seq;
  return missed;
}

// A tailer's position in one file, committed with the events it produced.
struct FileOffset {
  std::string key;         // stable identity, e.g. "<device>:<inode>:<fingerprint>"
  std::string path;        // last known path
  uint64_t offset = 0;     // bytes consumed (always at a record boundary)
  int64_t updated_us = 0;
};

struct InsertResult {
  uint64_t inserted = 0;
  uint64_t duplicates = 0;
  uint64_t last_seq = 0;   // seq of the last inserted event (0 if none)
};

// Filters shared by event listing and aggregates. Empty/zero fields do not filter; strings are
// compared as bytes.
struct EventFilter {
  int64_t from_us = 0;     // time_us >= from_us
  int64_t to_us = 0;       // time_us <  to_us (0: no upper bound)
  std::string ip;          // src_ip equals
  int rule_id = 0;         // has this rule hit
  std::string tag;         // a rule hit carries this tag
  std::string category;    // has this category ("attack-sqli", "honeytrap")
  std::string trap;        // has a trap hit of this kind
  std::string sensor;      // sensor equals
  std::string text;        // substring of uri or user_agent, ignoring ASCII case
};

struct EventQuery {
  EventFilter filter;
  uint64_t before_seq = 0; // cursor: only events with seq < before_seq (0: from the newest)
  size_t limit = 100;      // at most 1000
  // The most events the store looks at for this page: a filter that matches few of them ends
  // its page there, `partial`, and the next page goes on from there. 0: the store's default,
  // about 100 ms of work (SQLite: 200,000 events, or 80,000 of one address, which lie scattered;
  // PostgreSQL: 55,000, or 12,500 of one address).
  uint64_t max_scan = 0;
};

// A page holds every matching event with seq in [next_cursor, before_seq), newest first. It
// is cut short by the limit (next_cursor: the last event's seq) or, for a filter that matches
// few of the events looked at, by the scan budget (`partial`: fewer events than the limit,
// perhaps none, and next_cursor where the search stopped). Either way another page may follow
// from next_cursor; 0 means the search is complete.
struct EventPage {
  std::vector<StoredEvent> events;  // newest first; raw_record and request_body left empty
  uint64_t next_cursor = 0;         // pass as before_seq for the next page; 0 when done
  bool partial = false;             // the page stopped at the scan budget, not at the limit
  // When partial: the time of the oldest (lowest seq) event looked at, i.e. how far back in
  // time the search got (seqs follow arrival, so about that far; 0 otherwise).
  int64_t searched_until_us = 0;
};

// How much an aggregate that scans the matching events (a filter other than a time range, see
// countsOverTime() and top()) may look at, and how far it got. The scan goes newest first: by
// time through the time index when the filter has a time range and no ip, else by seq (arrival)
// through the ip index or the primary key. The partial hours at the ends of a time range that
// the rollups answer are always counted in full.
struct ScanReach {
  uint64_t max_scan = 0;          // in: events to look at at most; 0: the store's budget
  bool partial = false;           // out: stopped there with events left: the counts are of the
                                  // newest events only
  int64_t searched_until_us = 0;  // out, when partial: the time of the oldest event counted
                                  // (by time: every later one is; by seq: about that far back)
};

// An address with at least one stored event; its counts are of all its events, those that
// retention deleted since included.
struct AttackerRow {
  std::string ip;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  uint64_t events = 0;
  uint64_t events_with_rules = 0;   // events where at least one non-scoring rule matched
  std::vector<std::string> categories;
  std::vector<std::string> traps;   // trap kinds triggered
  std::vector<std::string> sensors;
  bool flagged = false;             // any trap triggered, or a sensor flagged it
};

struct AttackerQuery {
  EventFilter filter;      // time range by last_seen; ip/sensor/category/trap as for events
                           // (rule_id, tag and text do not apply to attackers)
  size_t limit = 100;      // at most 1000
  size_t offset = 0;
  std::string order = "last_seen";  // last_seen | events | first_seen: all newest/most first,
                                    // ties by ip
};

struct CountBucket {
  int64_t start_us = 0;
  uint64_t count = 0;
  uint64_t alerts = 0;     // events with at least one non-scoring rule or trap hit
};

enum class Dimension { kSourceIp, kRule, kCategory, kTag, kDstPort, kUserAgent, kTrap, kSensor,
                       kUri, kMethod, kStatus };

// Keys: kUri is the path (the uri up to its first '?'); an event counts once per key it has
// (rules, tags, categories and traps: each distinct one of the event).
struct TopItem {
  std::string key;         // rule ids, ports and statuses as decimal text
  std::string label;       // kRule: the rule's message (the latest seen); otherwise empty
  uint64_t count = 0;
};

struct SensorRow {
  std::string sensor;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;      // last event or heartbeat
  uint64_t events = 0;
  int64_t lag_ms = -1;           // as last reported by the sensor's shipper (-1: unknown)
  std::string status_json;       // the sensor's last status document ({} if none)
};

struct RetentionResult {
  uint64_t deleted = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
};

struct StoreStats {
  uint64_t events = 0;
  uint64_t attackers = 0;
  uint64_t bytes = 0;            // database size on disk (approximate for PostgreSQL)
  uint64_t last_seq = 0;
  uint64_t unfolded = 0;         // events the aggregates do not hold yet (foldPending())
  int schema_version = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual core::Result<InsertResult> insert(const std::vector<core::Event>& events,
                                            const std::vector<FileOffset>& offsets = {}) = 0;

  // insert() of events a sensor packed (store/packed.h): events[i] as decodePackedDetail()
  // leaves it, `bodies[i]` the detail it was decoded from and the body the sensor compressed,
  // stored as it came and read back whole (an empty body: the
  // event is whole, parsed by the collector, and the store makes its body). Each body is checked
  // without decompressing it (one whole zstd frame, its size declared and at most 6 MiB, its
  // dictionary one the store has), and one in 32 in full (its detail the one given); a batch
  // with a body that fails is refused whole (InvalidArgument naming it), nothing stored.
  // A store that hands out no dictionary() takes none (InvalidArgument).
  struct PackedBody {
    std::string_view detail, body;
  };
  virtual core::Result<InsertResult> insertPacked(const std::vector<core::Event>& events,
                                                  const std::vector<PackedBody>& bodies) {
    (void)events;
    (void)bodies;
    return core::Status::invalidArgument("store: this store takes no packed events");
  }
  // The zstd dictionary the store compresses with now, for sensors that pack their events
  // (none before the store has trained one, on its first 500 events).
  struct Dictionary {
    uint32_t id = 0;
    std::string bytes;
  };
  virtual core::Result<std::optional<Dictionary>> dictionary() {
    return std::optional<Dictionary>();
  }
  virtual uint32_t dictionaryId() { return 0; }  // dictionary()'s id, without copying it (0: none)
  // The dictionary `sensor` packs its events with: trained on that sensor's own stored events,
  // so that a sensor's token reads nothing of the other sensors' traffic from it. The store
  // trains it once the sensor has 500 events stored (and again after each million more);
  // 0 / none before (the sensor sends lines). Looked up in memory: cheap enough for every
  // ingest answer (at most every 10 s a look at the database for a sensor without one).
  virtual uint32_t packingDictionaryId(const std::string& sensor) {
    (void)sensor;
    return 0;
  }
  virtual core::Result<std::optional<Dictionary>> packingDictionary(const std::string& sensor) {
    (void)sensor;
    return std::optional<Dictionary>();
  }

  // Events with seq > after_seq, oldest first, at most `limit`, complete (raw record included).
  // Damaged rows are left out (and logged); `*examined_to` gets the largest seq looked at
  // (after_seq when there was none), so that a reader moves past damaged rows at the end of a
  // batch instead of reading them again. Every seq after after_seq up to it that the batch
  // lacks is missed: missedSeqs(). A call examines at most 10,000 rows, so a run of damaged
  // rows can cut a batch short (even empty) before the end: the end is a call that examined
  // nothing (examined_to == after_seq).
  virtual core::Result<std::vector<StoredEvent>> readAfter(uint64_t after_seq, size_t limit,
                                                           uint64_t* examined_to) = 0;
  core::Result<std::vector<StoredEvent>> readAfter(uint64_t after_seq, size_t limit) {
    return readAfter(after_seq, limit, nullptr);
  }
  virtual core::Result<std::optional<StoredEvent>> event(uint64_t seq) = 0;
  virtual core::Result<EventPage> events(const EventQuery& query) = 0;

  // A page of attackers, newest/most first (through an index for each order). A filter the
  // order's index does not narrow (a sensor, category or trap; a time range with another order
  // than last_seen) is checked row by row: without `reach` through every row if need be; with
  // it, within its budget (at most reach->max_scan attackers looked at, the offset's included;
  // 0: the store's budget, about half a second), the page then `partial` when the budget ran
  // out first: its rows are the matches among the attackers looked at, and searched_until_us
  // says where it stopped: the last_seen (order last_seen) or first_seen (order first_seen) of
  // the last one looked at (0 for order events: the busiest max_scan addresses were looked at).
  virtual core::Result<std::vector<AttackerRow>> attackers(const AttackerQuery& query) = 0;
  core::Result<std::vector<AttackerRow>> attackers(const AttackerQuery& query, ScanReach* reach) {
    return attackersWithin(query, reach);
  }
  virtual core::Result<std::optional<AttackerRow>> attacker(const std::string& ip) = 0;

  // Events per bucket over [from_us, to_us); buckets aligned to multiples of bucket_us. With
  // both bounds every bucket of the range is returned, empty ones too (at most 1,000,000);
  // with an open bound only the buckets that hold events.
  // `reach`: the budget of a scan of the events, and whether it ran out (nullptr: no budget).
  virtual core::Result<std::vector<CountBucket>> countsOverTime(const EventFilter& filter,
                                                                int64_t bucket_us,
                                                                ScanReach* reach) = 0;
  core::Result<std::vector<CountBucket>> countsOverTime(const EventFilter& filter,
                                                        int64_t bucket_us) {
    return countsOverTime(filter, bucket_us, nullptr);
  }
  // The `limit` (at most 1000) most frequent keys, by count then key. Filters of a time range
  // only are answered from rollups; any other filter scans the matching events (`reach`, as
  // for countsOverTime()).
  virtual core::Result<std::vector<TopItem>> top(Dimension dimension, const EventFilter& filter,
                                                 size_t limit, ScanReach* reach) = 0;
  core::Result<std::vector<TopItem>> top(Dimension dimension, const EventFilter& filter,
                                         size_t limit) {
    return top(dimension, filter, limit, nullptr);
  }

  // A sensor reported in (shipper heartbeat with its lag and status document).
  virtual core::Status sensorSeen(const std::string& sensor, int64_t now_us, int64_t lag_ms,
                                  const std::string& status_json) = 0;
  virtual core::Result<std::vector<SensorRow>> sensors() = 0;

  // Reader cursors (the reporter, outputs): the last seq each has handled. 0 if never set.
  virtual core::Result<uint64_t> cursor(const std::string& reader) = 0;
  virtual core::Status setCursor(const std::string& reader, uint64_t seq) = 0;

  // Small durable key-value state for readers (e.g. what the MISP reporter has published).
  virtual core::Result<std::optional<std::string>> getState(const std::string& ns,
                                                            const std::string& key) = 0;
  virtual core::Status putState(const std::string& ns, const std::string& key,
                                const std::string& value) = 0;

  virtual core::Result<std::vector<FileOffset>> fileOffsets() = 0;

  // Deletes the oldest events first: all older than `older_than_us` (0: no age limit), then
  // more until the database is under `max_bytes` (0: no size limit). The rollups follow, so
  // aggregates count only stored events; what no stored event needs goes too (rollup keys, the
  // attackers rows of addresses none of whose events is stored: an attacker's row counts all of
  // its events, the deleted ones included, while one is stored). Sensor rows stay. A size limit
  // never deletes the last events for history that alone is over it (it logs a warning).
  // SQLite's size is its used pages (the file keeps its size and reuses them); PostgreSQL's is
  // its tables' size on disk, which drops only as VACUUM reuses space: there the limit becomes
  // a number of events, from the live bytes per event measured before the run deletes anything
  // (docs/store.md, "Retention").
  virtual core::Result<RetentionResult> applyRetention(int64_t older_than_us,
                                                       uint64_t max_bytes) = 0;
  virtual core::Result<StoreStats> stats() = 0;

  // The aggregates (attackers, counts over time, top, stats().attackers) follow the inserts up
  // to 50,000 events behind and are brought up to date by every read of them, so what they
  // answer is exact (when that fold fails, on a full disk say, the read logs it and answers from
  // what was folded; reads then leave folding alone for a few seconds). This brings them up to
  // date now, or says why it cannot (a benchmark counts the work it leaves).
  virtual core::Status foldPending() { return core::Status::ok(); }

 protected:
  // attackers(query, reach). By default without a budget: never partial.
  virtual core::Result<std::vector<AttackerRow>> attackersWithin(const AttackerQuery& query,
                                                                 ScanReach* reach) {
    if (reach != nullptr) {
      reach->partial = false;
      reach->searched_until_us = 0;
    }
    return attackers(query);
  }
};

struct SqliteOptions {
  std::string path;                  // the database file; created with mode 0600
  bool synchronous_full = false;     // FULL instead of NORMAL (WAL is crash-safe either way)
};

struct PostgresOptions {
  std::string conninfo;              // libpq connection string
};

core::Result<std::unique_ptr<Store>> openSqliteStore(const SqliteOptions& options);
core::Result<std::unique_ptr<Store>> openPostgresStore(const PostgresOptions& options);

}  // namespace drosera::store
