// The Store over the Db seam: one implementation for SQLite and PostgreSQL (docs/store.md).
//
// Writes: one transaction per call. On PostgreSQL the first statement locks the single `writer`
// row, so writers (several collectors may share a database) run one after the other and seq
// increases in commit order; SQLite's BEGIN IMMEDIATE does the same for its single writer.
// Inserting a batch: encode and compress outside the transaction, find duplicates already
// stored, insert the new events with consecutive seqs, update seq_hours, the sensors and the
// rule labels (one upsert per distinct key, not per event), store the file offsets, and commit.
// The aggregates (rollups, attackers, ip_hours, ip_rules) are folded from the stored events
// behind the inserts, many batches at a time (see "Folding"), and brought up to date before
// any read of them.
//
// Reads: on a second connection, in a read transaction when they take several statements.
// Aggregates filtered by time only come from the rollups (per minute for counts, per hour, per
// day and all-time once a day is folded) plus a scan of the events in the partial hours at the
// edges; any other filter scans the matching events (through the ip or time index when it can).
#include "store/sql_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "store/codec.h"
#include "store/schema.h"
#include "store/testing.h"

namespace drosera::store::internal {
namespace {

using core::Result;
using core::Status;

constexpr int64_t kMinI64 = INT64_MIN;
constexpr int64_t kMaxI64 = INT64_MAX;
constexpr size_t kMaxPage = 1000;
// Read connections at most: the API's io threads, the outputs' and the reporter's readers.
constexpr size_t kMaxReaders = 4;
constexpr size_t kScanChunk = 2000;    // rows per statement of a scan
constexpr uint64_t kWalkWindow = 20000;  // seqs per statement of a list's walk by primary key
// Events an event list may look at per page (EventQuery::max_scan) by default: about 100 ms
// of CPU each at the rates measured on the benchmark's machine (docs/store.md). By seq (the
// primary key) and through the ip index, where the rows lie scattered over the table and
// cost more; PostgreSQL's rows cost more than SQLite's.
struct ScanBudget {
  uint64_t seqs;     // walking the primary key: seqs looked at
  uint64_t ip_rows;  // walking the ip index: that address's events looked at
};
constexpr ScanBudget kScanBudgetSqlite{200'000, 80'000};
constexpr ScanBudget kScanBudgetPostgres{55'000, 12'500};
// Events an aggregate that scans them may look at (ScanReach::max_scan) by default: about half
// a second of CPU (docs/store.md, "Aggregates"). By seq through the primary key, and through an
// index (ip, time), where the rows lie scattered.
struct AggregateBudget {
  uint64_t by_seq;
  uint64_t by_index;
};
constexpr AggregateBudget kAggregateBudgetSqlite{500'000, 250'000};
constexpr AggregateBudget kAggregateBudgetPostgres{150'000, 75'000};
// Attackers a page with a filter that the order's index does not narrow may look at
// (ScanReach::max_scan for attackers()) by default: about half a second (docs/store.md).
constexpr uint64_t kAttackerBudgetSqlite = 500'000;
constexpr uint64_t kAttackerBudgetPostgres = 400'000;
constexpr uint64_t kAttackerWindow = 10'000;  // attackers per statement of such a walk
constexpr size_t kRetentionChunk = 2000;
constexpr int64_t kMaxBuckets = 1'000'000;
constexpr size_t kDictionarySamples = 500;       // bodies to train a dictionary on
constexpr uint64_t kRetrainEvents = 1'000'000;   // a fresh dictionary every million events
constexpr uint64_t kPackedCheckEvery = 32;       // packed bodies: one in this many decompressed
// A sensor's body: a line of at most 4 MiB (the raw record), a request body and the detail.
// A frame can declare much more in a few bytes: refused, so a batch stores no more than lines.
constexpr uint64_t kMaxPackedBodyBytes = 6ull << 20;
// A batch's bodies together: twice the collector's default max_batch_bytes (a body holds the
// raw record, and the request body again). More is refused, so a batch of small frames that
// each declare 6 MiB cannot make every reader decompress gigabytes.
constexpr uint64_t kMaxPackedBatchBytes = 64ull << 20;
constexpr size_t kMaxSampleBytes = 256 << 10;  // larger bodies are not dictionary samples
constexpr size_t kDictionaryBytes = 64 * 1024;
constexpr size_t kAttackerCacheRows = 500'000;
constexpr size_t kKeyCacheEntries = 1'000'000;
// Events an insert lets the aggregates fall behind before it folds them (docs/store.md,
// "Folding"), and the most one fold transaction takes (its rows are held in memory, ~0.5 KB each).
constexpr int64_t kFoldEvents = 100'000;
constexpr int64_t kFoldChunk = 131'072;
// The sizes in use: the constants, unless a test made them small (testing::setFoldSizesForTest).
std::atomic<int64_t> fold_events{kFoldEvents};
std::atomic<int64_t> fold_chunk{kFoldChunk};
// Hour rows a day fold reads at a time on SQLite (foldDaysHere); a test's small fold chunk
// makes it as small.
constexpr int64_t kFoldDayRows = 65'536;
std::atomic<int64_t> fold_day_rows{kFoldDayRows};
constexpr std::chrono::seconds kFoldBackoff{10};
constexpr size_t kKeepBufferBytes = 4 << 20;  // insert()'s buffers, kept between calls up to this
// Inserted events remembered for the fold at most (~0.5 KB each; see SqlStore::unfolded_), and
// their bytes at most (an attacker's URIs and user agents may be kilobytes each).
constexpr size_t kUnfoldedRows = 2 * kFoldChunk;
constexpr size_t kUnfoldedBytes = 128 << 20;

// The largest multiple of g at or before t (the smallest representable one when none is).
int64_t floorTo(int64_t t, int64_t g) {
  int64_t r = t % g;
  if (r < 0) {
    if (t - r < kMinI64 + g) return t - r;  // t - r - g would not fit
    r += g;
  }
  return t - r;
}

// Rollups bucket times within +-2^62 us (146,000 years): an absurd time (a broken clock, a
// crafted record) is stored exactly but counted at the edge, and no bucket arithmetic, ours or
// the database's, can overflow.
constexpr int64_t kRollupTimeLimit = int64_t{1} << 62;
int64_t rollupTime(int64_t t) { return std::clamp(t, -kRollupTimeLimit, kRollupTimeLimit); }

// The smallest multiple of g at or after t; none when it would overflow.
std::optional<int64_t> ceilTo(int64_t t, int64_t g) {
  const int64_t f = floorTo(t, g);
  if (f == t) return t;
  if (f > kMaxI64 - g) return std::nullopt;
  return f + g;
}

// ---------------------------------------------------------------------------------------------
// Scanning events.
//
// Event rows are narrow (the compressed body lives in event_bodies), so a scan that checks
// rows one by one reads little besides the columns it checks. Two ways through them:
//  * walkNewest() for event lists: newest first by seq from a cursor, at most a budget of rows
//    looked at per page, through the ip index when there is an ip, else the primary key in
//    windows of seqs; a time range first becomes the seqs its hours hold (seq_hours).
//  * scanMatching() for aggregates: every matching event newest first (or as many as a budget
//    allows), through the ip index, the time index or the primary key.
// Every condition is checked in C++ on the exact bytes (Matcher), identically for both
// databases; the SQL narrows the rows first (an index range, a window of seqs, and conditions
// that only drop rows that cannot match).

struct ScanRow {
  int64_t seq = 0;
  int64_t time_us = 0;
  std::string_view ip, sensor, method, uri, ua;
  int64_t port = 0, status = 0, flags = 0;
};

constexpr const char* kScanColumns =
    "seq, time_us, src_ip, sensor, dst_port, status, method, uri, user_agent, flags, keys";

// Which columns of kScanColumns a scan reads (seq and time_us always).
enum ScanNeeds : unsigned {
  kNeedIp = 1,
  kNeedSensor = 2,
  kNeedText = 4,   // uri, user_agent
  kNeedKeys = 8,
  kNeedAll = 0xFF,
};

void fillScanRow(const Row& r, ScanRow* s, std::string_view* keys, unsigned needs = kNeedAll) {
  s->seq = r.i64(0);
  s->time_us = r.i64(1);
  if (needs == kNeedAll) {
    s->port = r.i64(4);
    s->status = r.i64(5);
    s->method = r.bytes(6);
    s->flags = r.i64(9);
  }
  if (needs & kNeedIp) s->ip = r.bytes(2);
  if (needs & kNeedSensor) s->sensor = r.bytes(3);
  if (needs & kNeedText) {
    s->uri = r.bytes(7);
    s->ua = r.bytes(8);
  }
  if (needs & kNeedKeys) *keys = r.bytes(10);
}

// What a list's walk reads for `f`: what its conditions check, nothing else.
unsigned walkNeeds(const EventFilter& f) {
  unsigned n = 0;
  if (!f.ip.empty()) n |= kNeedIp;
  if (!f.sensor.empty()) n |= kNeedSensor;
  if (!f.text.empty()) n |= kNeedText;
  if (f.rule_id != 0 || !f.tag.empty() || !f.category.empty() || !f.trap.empty()) n |= kNeedKeys;
  return n;
}

// kScanColumns with constants for the columns a walk does not read (the positions stay).
std::string walkColumns(unsigned needs) {
  std::string c = "seq, time_us";
  c += needs & kNeedIp ? ", src_ip" : ", NULL";
  c += needs & kNeedSensor ? ", sensor" : ", NULL";
  c += ", 0, 0, NULL";
  c += needs & kNeedText ? ", uri, user_agent" : ", NULL, NULL";
  c += ", 0";
  c += needs & kNeedKeys ? ", keys" : ", NULL";
  return c;
}

// The hour an event is counted in (rollups, seq_hours, ip_hours).
int64_t hourOf(int64_t t) { return floorTo(rollupTime(t), kHourUs); }

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool hasKeyFilter(const EventFilter& f) {
  return f.rule_id != 0 || !f.tag.empty() || !f.category.empty() || !f.trap.empty();
}

bool hasResidual(const EventFilter& f) { return hasKeyFilter(f) || !f.text.empty(); }

bool onlyTimeRange(const EventFilter& f) {
  return f.ip.empty() && f.sensor.empty() && !hasResidual(f);
}

// An ip and perhaps a time range, nothing else: what the per-address tables answer.
bool onlyIpAndTime(const EventFilter& f) {
  return !f.ip.empty() && f.sensor.empty() && !hasResidual(f);
}

// Every condition of a filter, on the exact bytes.
class Matcher {
 public:
  explicit Matcher(const EventFilter& f) : f_(f), text_(f.text) {}
  bool needsKeys() const { return hasKeyFilter(f_); }
  bool match(const ScanRow& r, const KeysView& k) const {
    if (f_.from_us != 0 && r.time_us < f_.from_us) return false;
    if (f_.to_us != 0 && r.time_us >= f_.to_us) return false;
    if (!f_.ip.empty() && r.ip != f_.ip) return false;
    if (!f_.sensor.empty() && r.sensor != f_.sensor) return false;
    if (f_.rule_id != 0 && !contains(k.rule_ids, f_.rule_id)) return false;
    if (!f_.tag.empty() && !contains(k.tags, std::string_view(f_.tag))) return false;
    if (!f_.category.empty() && !contains(k.categories, std::string_view(f_.category))) {
      return false;
    }
    if (!f_.trap.empty() && !contains(k.traps, std::string_view(f_.trap))) return false;
    if (!text_.empty() && !text_.in(r.uri) && !text_.in(r.ua)) return false;
    return true;
  }

 private:
  const EventFilter& f_;
  const IgnoreCaseSearch text_;
};

// `sensor = ?`, kept off the identity index (sensor, unique_id): a database that used it
// would read that sensor's whole range, and sort it, for every statement of a scan. SQLite: a
// unary plus; PostgreSQL, which has none for bytea: a concatenation.
const char* sensorCondition(Dialect dialect) {
  return dialect == Dialect::kSqlite ? " AND +sensor = ?" : " AND sensor || ''::bytea = ?";
}

// Conditions the database can check on the rows of a window (time range, sensor), written so
// that no index serves them: the walk goes by the primary key. SQLite: a unary plus; PostgreSQL
// plans from statistics, and "+ 0" keeps the time index out of its choices.
// On PostgreSQL, which sends every row it returns over a socket, also conditions that keep
// only rows that may match the text and key filters (substrings of the columns; Matcher has
// the last word): `owned` keeps the bytes the parameters point to.
void windowConditions(const EventFilter& f, Dialect dialect, std::string* sql,
                      std::vector<Param>* params, std::deque<std::string>* owned) {
  const bool lite = dialect == Dialect::kSqlite;
  if (f.from_us != 0) {
    *sql += lite ? " AND +time_us >= ?" : " AND time_us + 0 >= ?";
    params->emplace_back(f.from_us);
  }
  if (f.to_us != 0) {
    *sql += lite ? " AND +time_us < ?" : " AND time_us + 0 < ?";
    params->emplace_back(f.to_us);
  }
  if (!f.sensor.empty()) {
    *sql += sensorCondition(dialect);
    params->emplace_back(f.sensor);
  }
  if (lite) return;
  auto keyPattern = [&](std::string_view s) {
    owned->push_back(keysPattern(s));
    *sql += " AND position(? in keys) > 0";
    params->emplace_back(owned->back());
  };
  if (f.rule_id != 0) {
    owned->push_back(keysRulePattern(f.rule_id));
    *sql += " AND position(? in keys) > 0";
    params->emplace_back(owned->back());
  }
  if (!f.tag.empty()) keyPattern(f.tag);
  if (!f.category.empty()) keyPattern(f.category);
  if (!f.trap.empty()) keyPattern(f.trap);
  if (!f.text.empty()) {
    // encode(.., 'escape') turns bytes into ASCII text (NUL, backslash and bytes from 0x80 as
    // escapes), the same way for the needle, so a substring of the bytes is a substring of the
    // text; lower() in the "C" collation folds ASCII letters only, whatever the server's
    // locale (in another, 'I' might not become 'i').
    const std::string needle = "lower(encode(?, 'escape') COLLATE \"C\")";
    *sql += " AND (strpos(lower(encode(uri, 'escape') COLLATE \"C\"), " + needle +
            ") > 0 OR strpos(lower(encode(user_agent, 'escape') COLLATE \"C\"), " + needle +
            ") > 0)";
    params->emplace_back(f.text);
    params->emplace_back(f.text);
  }
}

// The ip index. On SQLite (schema version 6) it is keyed by segments of kIpSegmentSeqs seqs
// first, ((seq >> 12), src_ip, seq): a batch's entries go into the few pages of the newest
// segment instead of pages all over an index ordered by address (about 400 page writes per
// batch of 1,000 events at 200,000 stored, more as the store grows). A statement through it
// names one segment, so a walk over an address's events goes segment by segment (244 per
// million events, one b-tree search each). PostgreSQL keeps (src_ip, seq): one segment that
// holds every seq.
constexpr int kIpSegmentBits = 12;
constexpr int64_t kIpSegmentSeqs = int64_t{1} << kIpSegmentBits;
static_assert(kIpSegmentBits == 12, "the index (schema.cc, version 6) and the SQL below say 12");

class IpSegments {
 public:
  explicit IpSegments(Dialect d) : on_(d == Dialect::kSqlite) {}

  // Appends "<segment condition>src_ip = ?" and its parameters: the segment's (set by
  // select()) and the address.
  void condition(std::string_view ip, std::string* sql, std::vector<Param>* params) {
    if (on_) {
      *sql += "(seq >> 12) = ? AND ";
      at_ = params->size();
      params->emplace_back(int64_t{0});
    }
    *sql += "src_ip = ?";
    params->emplace_back(ip);
  }

  // Narrows the walk to the seqs that can hold events of `ip` (SQLite; PostgreSQL's index needs
  // no help): those of the hours from its first to its last seen time (its attackers row, which
  // holds its folded events; seq_hours, the smallest and largest seq of each hour's events) and
  // those not folded yet. A rare address is then a few segments away, not all of them (244 per
  // million events). The row and writer.aggregated_seq are read by one statement: a fold moves
  // them together. A stored row the fold left out (its keys unreadable) may be outside.
  Status bound(Db& db, std::string_view ip) {
    if (!on_) return Status::ok();
    std::optional<int64_t> folded, first_us, last_us;
    auto st = db.run(
        "SELECT w.aggregated_seq, a.first_seen_us, a.last_seen_us FROM writer w "
        "LEFT JOIN attackers a ON a.ip = ? WHERE w.id = 1",
        std::vector<Param>{Param(ip)}, [&](const Row& r) {
          folded = r.i64(0);
          if (!r.isNull(1)) first_us = r.i64(1), last_us = r.i64(2);
        });
    if (!st || !folded) return st;
    spans_.clear();
    if (first_us) {
      st = db.run("SELECT MIN(min_seq), MAX(max_seq) FROM seq_hours WHERE hour >= ? AND hour <= ?",
                  std::vector<Param>{Param(hourOf(*first_us)), Param(hourOf(*last_us))},
                  [&](const Row& r) {
                    if (r.isNull(0) || r.i64(0) > *folded) return;
                    spans_.emplace_back(r.i64(0), std::min(r.i64(1), *folded));
                  });
      if (!st) return st;
    }
    if (!spans_.empty() && spans_.back().second >= *folded) {
      spans_.back().second = kMaxI64;
    } else {
      spans_.emplace_back(*folded + 1, kMaxI64);
    }
    return Status::ok();
  }
  // The largest seq <= `seq` (the smallest >= `seq`) the address's events can have, or kMinI64
  // (kMaxI64) if none.
  int64_t down(int64_t seq) const {
    for (auto it = spans_.rbegin(); it != spans_.rend(); ++it) {
      if (it->first <= seq) return std::min(seq, it->second);
    }
    return spans_.empty() ? seq : kMinI64;
  }
  int64_t up(int64_t seq) const {
    for (const auto& [lo, hi] : spans_) {
      if (hi >= seq) return std::max(seq, lo);
    }
    return spans_.empty() ? seq : kMaxI64;
  }

  // The segment of `seq`: its parameter set, its first and last seq returned (PostgreSQL:
  // every seq).
  std::pair<int64_t, int64_t> select(int64_t seq, std::vector<Param>* params) const {
    if (!on_) return {kMinI64, kMaxI64};
    const int64_t seg = seq >> kIpSegmentBits;
    (*params)[at_] = Param(seg);
    return {seg << kIpSegmentBits, (seg << kIpSegmentBits) + (kIpSegmentSeqs - 1)};
  }

 private:
  bool on_;
  size_t at_ = 0;
  std::vector<std::pair<int64_t, int64_t>> spans_;  // sorted, apart; empty: every seq
};

// SQLite: inserts rows of `per_row` parameters each with statements of many rows (VALUES (...),
// (...)...: 64 rows, then what is left in 32, 16... 1), one execution per chunk instead of one
// per row: a statement's execution costs SQLite about 3,000 instructions beside its rows' work
// (store_bench, callgrind). `head` is the statement up to VALUES, `tail` what follows the rows.
// `inserted` receives the rows the statements inserted (a row ON CONFLICT DO NOTHING skipped
// is not counted). (PostgreSQL's runMany is one statement for the batch already.)
Status insertRows(Db& db, std::string_view head, std::string_view tail, size_t per_row,
                  std::span<const Param> params, uint64_t* inserted) {
  DROSERA_CHECK(per_row > 0 && params.size() % per_row == 0);
  std::string row = "(";
  for (size_t i = 0; i < per_row; ++i) row += i == 0 ? "?" : ", ?";
  row += ")";
  *inserted = 0;
  size_t done = 0;
  const size_t rows = params.size() / per_row;
  for (size_t chunk = 64; chunk > 0; chunk /= 2) {
    if (rows - done < chunk) continue;
    std::string sql(head);
    for (size_t i = 0; i < chunk; ++i) {
      if (i > 0) sql += ", ";
      sql += row;
    }
    sql += tail;
    while (rows - done >= chunk) {
      uint64_t changed = 0;
      auto st = db.run(sql, params.subspan(done * per_row, chunk * per_row), nullptr, &changed);
      if (!st) return st;
      *inserted += changed;
      done += chunk;
    }
  }
  return Status::ok();
}

// An INSERT of one row (`sql`: "... VALUES (?, ...) [ON CONFLICT ...]") for each `per_row`
// parameters: on SQLite as statements of many rows (insertRows()), a row updating one an
// earlier row of the same statement inserted as it would in a statement of its own; on
// PostgreSQL runMany() (one statement for the batch).
Status insertEach(Db& db, std::string_view sql, size_t per_row, std::span<const Param> params) {
  if (db.dialect() != Dialect::kSqlite) return db.runMany(std::string(sql), per_row, params);
  const size_t values = sql.find("VALUES (");
  DROSERA_CHECK(values != std::string_view::npos);
  const size_t open = values + 7;
  const size_t close = sql.find(')', open);
  DROSERA_CHECK(close != std::string_view::npos);
  uint64_t inserted = 0;
  return insertRows(db, sql.substr(0, open), sql.substr(close + 1), per_row, params, &inserted);
}

// The smallest and largest stored seq (false: no event).
Result<bool> storedSeqs(Db& db, int64_t* lo, int64_t* hi) {
  bool any = false;
  auto st = db.run("SELECT (SELECT MIN(seq) FROM events), (SELECT MAX(seq) FROM events)", {},
                   [&](const Row& r) {
                     if (r.isNull(0)) return;
                     any = true;
                     *lo = r.i64(0);
                     *hi = r.i64(1);
                   });
  if (!st) return st;
  return any;
}

// The seqs the events of a time range can have, from the hours they fall in (seq_hours).
struct SeqRange {
  int64_t lo = 0;         // every matching event has lo <= seq <= hi
  int64_t hi = kMaxI64;
  bool empty = false;     // no event at all in the range
};

Status seqRangeOf(Db& db, const EventFilter& f, SeqRange* out) {
  *out = SeqRange{};
  if (f.from_us == 0 && f.to_us == 0) return Status::ok();
  if ((f.to_us != 0 && f.to_us == kMinI64) ||
      (f.from_us != 0 && f.to_us != 0 && f.from_us >= f.to_us)) {
    out->empty = true;
    return Status::ok();
  }
  // An event at t in [from, to) is in an hour of [hourOf(from), hourOf(to - 1)].
  const int64_t h0 = f.from_us != 0 ? hourOf(f.from_us) : kMinI64;
  const int64_t h1 = f.to_us != 0 ? hourOf(f.to_us - 1) : kMaxI64;
  bool found = false;
  auto st = db.run("SELECT MIN(min_seq), MAX(max_seq) FROM seq_hours WHERE hour >= ? AND hour <= ?",
                   std::vector<Param>{Param(h0), Param(h1)}, [&](const Row& r) {
                     if (r.isNull(0)) return;
                     found = true;
                     out->lo = r.i64(0);
                     out->hi = r.i64(1);
                   });
  if (!st) return st;
  if (!found) out->empty = true;
  return Status::ok();
}

using ScanFn = std::function<bool(const ScanRow&, const KeysView&)>;

// One row of a scan: its keys decoded (when `decode`: the filter or the caller needs them), the
// filter checked, fn called on a match. False: stop, because fn said so or the keys blob is
// unreadable (*error).
bool visitRow(const Matcher& m, bool decode, const ScanRow& row, std::string_view keys_blob,
              KeysView* keys, const ScanFn& fn, Status* error) {
  if (decode) {
    if (auto ks = decodeKeys(keys_blob, keys); !ks) {
      *error = ks;
      return false;
    }
  }
  return !m.match(row, *keys) || fn(row, *keys);
}

// Where walkNewest() stopped.
struct Walk {
  uint64_t examined = 0;   // rows (ip index) or seqs (primary key) looked at
  bool complete = false;   // nothing older can match
  int64_t cursor = 0;      // when not complete: every seq from here up to the start was examined
};

// Calls fn for the events matching `f` with seq < `before` (0: from the newest), newest
// first, until fn returns false, the events run out (complete) or `budget` rows have been
// looked at (`budgets`: by seq or through the ip index). `want`: how many matches the caller
// hopes for (sizes the first statement).
Status walkNewest(Db& db, const EventFilter& f, uint64_t before, size_t want,
                  const ScanBudget& budgets, const ScanFn& fn, Walk* w) {
  *w = Walk{};
  SeqRange range;
  if (auto st = seqRangeOf(db, f, &range); !st) return st;
  if (range.empty) {
    w->complete = true;
    return Status::ok();
  }
  int64_t cursor = before == 0 ? kMaxI64 : static_cast<int64_t>(std::min<uint64_t>(before, kMaxI64));
  if (range.hi < kMaxI64) cursor = std::min(cursor, range.hi + 1);
  int64_t lo = std::max<int64_t>(range.lo, 0);
  const bool by_ip = !f.ip.empty();
  {
    // Windows of seqs and segments of the ip index cover the stored seqs only: from the newest
    // event (not the top of the seq space, nor a cursor beyond it) down to the oldest (not
    // through the seqs that retention emptied).
    int64_t min_seq = 0, max_seq = 0;
    auto any = storedSeqs(db, &min_seq, &max_seq);
    if (!any) return any.status();
    if (!any.value()) {
      w->complete = true;
      return Status::ok();
    }
    lo = std::max(lo, min_seq);
    cursor = std::min(cursor, max_seq + 1);
  }
  // Two ways down: an address's rows one by one through the ip index, each counted and
  // checked here (they lie scattered over the table: reading them is the cost, and dropping
  // them in the database first saves little); or windows of kWalkWindow seqs by the primary
  // key, the database dropping the rows that cannot match.
  enum class Mode { kIpRows, kSeqWindows };
  const Mode mode = by_ip ? Mode::kIpRows : Mode::kSeqWindows;
  const uint64_t budget = std::max<uint64_t>(by_ip ? budgets.ip_rows : budgets.seqs, 1);
  const Matcher m(f);
  std::deque<std::string> owned;
  std::vector<Param> params;
  const unsigned needs = walkNeeds(f);
  std::string sql = "SELECT " + walkColumns(needs) + " FROM events WHERE ";
  IpSegments segments(db.dialect());
  if (by_ip) {
    if (auto st = segments.bound(db, f.ip); !st) return st;
    segments.condition(f.ip, &sql, &params);
    sql += " AND ";
  }
  sql += "seq < ? AND seq >= ?";
  const size_t at = params.size();  // the cursor; then the window's lower bound
  params.emplace_back(int64_t{0});
  params.emplace_back(lo);
  if (mode == Mode::kSeqWindows) windowConditions(f, db.dialect(), &sql, &params, &owned);
  sql += " ORDER BY seq DESC LIMIT ?";
  params.emplace_back(int64_t{0});
  size_t chunk = std::clamp<size_t>(want, 1, kScanChunk);
  KeysView keys;
  ScanRow row;
  for (;;) {
    if (by_ip) cursor = segments.down(cursor - 1) + 1;  // over seqs that hold none of its events
    if (cursor <= lo) {
      w->complete = true;
      return Status::ok();
    }
    if (w->examined >= budget) {
      w->cursor = cursor;
      return Status::ok();
    }
    const uint64_t left = budget - w->examined;
    int64_t window_lo = lo;
    uint64_t window_cost = 0;  // rows or seqs the window holds
    switch (mode) {
      case Mode::kIpRows:
        chunk = static_cast<size_t>(std::min<uint64_t>(chunk, left));
        window_lo = std::max(lo, segments.select(cursor - 1, &params).first);
        break;
      case Mode::kSeqWindows: {
        const int64_t span = static_cast<int64_t>(std::min<uint64_t>(kWalkWindow, left));
        window_lo = std::max(lo, cursor - span);
        window_cost = static_cast<uint64_t>(cursor - window_lo);
        break;
      }
    }
    params[at] = Param(cursor);
    params[at + 1] = Param(window_lo);
    params.back() = Param(static_cast<int64_t>(chunk));
    const int64_t from = cursor;
    size_t rows = 0;
    bool stop = false;
    Status inner;
    auto st = db.run(sql, params, [&](const Row& r) {
      if (stop) return;
      ++rows;
      std::string_view keys_blob;
      fillScanRow(r, &row, &keys_blob, needs);
      cursor = row.seq;
      stop = !visitRow(m, m.needsKeys(), row, keys_blob, &keys, fn, &inner);
    });
    if (!st) return st;
    if (!inner) return inner;
    if (stop) return Status::ok();
    if (mode == Mode::kIpRows) {
      w->examined += rows;
      // The whole segment was looked at. An empty one costs a b-tree search and no row: a
      // page stopped by its budget has looked at rows of the address (searched_until_us).
      if (rows < chunk) cursor = window_lo;
    } else if (rows < chunk) {
      cursor = window_lo;  // the whole window was looked at
      w->examined += window_cost;
    } else {
      w->examined += static_cast<uint64_t>(from - cursor);  // cut short by the limit
    }
    chunk = std::min(chunk * 2, kScanChunk);
  }
}

// A budget for scanMatching(), and how far the scan got.
struct ScanStop {
  uint64_t budget = 0;       // rows to look at at most; 0: every one
  uint64_t examined = 0;     // rows looked at
  bool cut = false;          // stopped at the budget with rows left
  int64_t last_time_us = 0;  // the time of the last row looked at
};

// Calls fn for every event matching `f` (aggregates), newest first, in chunks: through the ip
// index (by seq, within the seqs of the time range), else the time index (by time), else the
// primary key (by seq); fn returns false to stop. Chunks resume after the last row seen (keyset
// pagination). With `stop` and a budget: at most that many rows looked at. `max_seq`: only
// events with seq <= max_seq (those the aggregates hold, for the partial hours of a range
// whose whole hours the rollups answer).
Status scanMatching(Db& db, const EventFilter& f, const ScanFn& fn, ScanStop* stop = nullptr,
                    int64_t max_seq = kMaxI64) {
  const bool has_time = f.from_us != 0 || f.to_us != 0;
  const bool by_ip = !f.ip.empty();
  const bool by_time = !by_ip && has_time;
  SeqRange range;
  if (by_ip) {
    if (auto st = seqRangeOf(db, f, &range); !st) return st;
    if (range.empty) return Status::ok();
    int64_t first = 0, last = 0;
    auto any = storedSeqs(db, &first, &last);
    if (!any) return any.status();
    if (!any.value()) return Status::ok();
    range.lo = std::max(range.lo, first);
    range.hi = std::min(range.hi, last);
  }
  // With a budget the database leaves the sensor to the Matcher: every row it reads counts
  // against the budget, so a sensor with few events cannot make it read the whole range.
  const bool sensor_in_sql = !f.sensor.empty() && (stop == nullptr || stop->budget == 0);
  std::vector<Param> params;
  std::string sql = std::string("SELECT ") + kScanColumns + " FROM events WHERE ";
  IpSegments segments(db.dialect());
  size_t hi_at = 0;  // by ip: the parameters of the seqs, newest and oldest
  int64_t segment_lo = 0;
  if (by_ip) {
    if (auto st = segments.bound(db, f.ip); !st) return st;
    segments.condition(f.ip, &sql, &params);
    sql += " AND seq <= ? AND seq >= ? ORDER BY seq DESC";
    hi_at = params.size();
    const int64_t hi = segments.down(std::min(range.hi, max_seq));
    if (hi < range.lo) return Status::ok();
    params.emplace_back(hi);
    params.emplace_back(int64_t{0});
    segment_lo = std::max(range.lo, segments.select(hi, &params).first);
    params[hi_at + 1] = Param(segment_lo);
  } else if (by_time) {
    // Below (to, any seq), or below every (time, seq) there is.
    sql += "(time_us, seq) < (?, ?)";
    params.emplace_back(f.to_us != 0 ? f.to_us : kMaxI64);
    params.emplace_back(f.to_us != 0 ? kMinI64 : kMaxI64);
    if (f.from_us != 0) {
      sql += " AND time_us >= ?";
      params.emplace_back(f.from_us);
    }
    if (max_seq != kMaxI64) {
      sql += " AND seq <= ?";
      params.emplace_back(max_seq);
    }
    if (sensor_in_sql) {
      sql += sensorCondition(db.dialect());
      params.emplace_back(f.sensor);
    }
    sql += " ORDER BY time_us DESC, seq DESC";
  } else {
    sql += "seq <= ?";
    params.emplace_back(max_seq);
    if (sensor_in_sql) {
      sql += sensorCondition(db.dialect());
      params.emplace_back(f.sensor);
    }
    sql += " ORDER BY seq DESC";
  }
  sql += " LIMIT ?";
  params.emplace_back(static_cast<int64_t>(kScanChunk));
  const Matcher m(f);
  KeysView keys;
  ScanRow row;
  ScanStop unbounded;
  ScanStop& s = stop ? *stop : unbounded;
  for (;;) {
    size_t rows = 0;
    bool done = false;
    Status inner;
    auto st = db.run(sql, params, [&](const Row& r) {
      if (done) return;
      if (s.budget != 0 && s.examined >= s.budget) {  // a row beyond the budget
        s.cut = done = true;
        // Through the ip index the seqs of a time range hold events outside it too: how far
        // back the scan got is said within the range.
        if (f.from_us != 0) s.last_time_us = std::max(s.last_time_us, f.from_us);
        if (f.to_us != 0) s.last_time_us = std::min(s.last_time_us, f.to_us - 1);
        return;
      }
      ++rows;
      ++s.examined;
      std::string_view keys_blob;
      fillScanRow(r, &row, &keys_blob);
      s.last_time_us = row.time_us;
      if (by_time) {
        params[0] = Param(row.time_us);
        params[1] = Param(row.seq);
      } else {
        params[by_ip ? hi_at : 0] = Param(row.seq - 1);
      }
      done = !visitRow(m, true, row, keys_blob, &keys, fn, &inner);
    });
    if (!st) return st;
    if (!inner) return inner;
    if (done) return Status::ok();
    if (rows < kScanChunk) {
      // By ip: on to the next older segment, if the range goes on.
      if (!by_ip || segment_lo <= range.lo) return Status::ok();
      const int64_t hi = segments.down(segment_lo - 1);
      if (hi < range.lo) return Status::ok();
      params[hi_at] = Param(hi);
      segment_lo = std::max(range.lo, segments.select(hi, &params).first);
      params[hi_at + 1] = Param(segment_lo);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dimensions.

int kindOf(Dimension d) {
  switch (d) {
    case Dimension::kSourceIp: return kKindSourceIp;
    case Dimension::kRule: return kKindRule;
    case Dimension::kCategory: return kKindCategory;
    case Dimension::kTag: return kKindTag;
    case Dimension::kDstPort: return kKindDstPort;
    case Dimension::kUserAgent: return kKindUserAgent;
    case Dimension::kTrap: return kKindTrap;
    case Dimension::kSensor: return kKindSensor;
    case Dimension::kUri: return kKindUri;
    case Dimension::kMethod: return kKindMethod;
    case Dimension::kStatus: return kKindStatus;
  }
  return -1;
}

std::string_view pathOf(std::string_view uri) {
  return uri.substr(0, std::min(uri.find('?'), uri.size()));
}

// One event as the rollups see it, from a new event or from a stored row.
struct EventDims {
  int64_t time_us = 0;
  std::string_view ip, sensor, method, path, ua;
  int64_t port = 0, status = 0;
  bool alert = false;
  const std::vector<int>* rules = nullptr;
  const std::vector<std::string_view>* tags = nullptr;
  const std::vector<std::string_view>* categories = nullptr;
  const std::vector<std::string_view>* traps = nullptr;
};

// Calls fn(key) for each key the event has in `kind` (several for rules, tags...); `number`
// turns a port, status or rule id into its decimal key.
template <typename Num, typename Fn>
void forEachKey(const EventDims& d, int kind, Num& number, const Fn& fn) {
  switch (kind) {
    case kKindSourceIp: fn(d.ip); break;
    case kKindSensor: fn(d.sensor); break;
    case kKindMethod: fn(d.method); break;
    case kKindUri: fn(d.path); break;
    case kKindUserAgent: fn(d.ua); break;
    case kKindDstPort: fn(number(d.port)); break;
    case kKindStatus: fn(number(d.status)); break;
    case kKindRule:
      for (int id : *d.rules) fn(number(id));
      break;
    case kKindTag:
      for (auto t : *d.tags) fn(t);
      break;
    case kKindCategory:
      for (auto c : *d.categories) fn(c);
      break;
    case kKindTrap:
      for (auto t : *d.traps) fn(t);
      break;
    default: break;
  }
}

// From a row (ScanRow, StoredDims: the same member names), its path and its decoded keys.
template <typename RowLike>
EventDims dimsFrom(const RowLike& r, std::string_view path, const KeysView& k) {
  EventDims d;
  d.time_us = r.time_us;
  d.ip = r.ip;
  d.sensor = r.sensor;
  d.method = r.method;
  d.path = path;
  d.ua = r.ua;
  d.port = r.port;
  d.status = r.status;
  d.alert = isAlert(static_cast<int>(r.flags));
  d.rules = &k.rule_ids;
  d.tags = &k.tags;
  d.categories = &k.categories;
  d.traps = &k.traps;
  return d;
}

EventDims dimsOf(const ScanRow& r, const KeysView& k) { return dimsFrom(r, pathOf(r.uri), k); }

// A stored event as the aggregates see it, its bytes owned: the deltas and attacker updates keep
// views into them until their transaction commits, so they live in a deque (whose elements stay
// put) that outlives it.
struct StoredDims {
  int64_t seq = 0, time_us = 0, port = 0, status = 0, flags = 0;
  std::string ip, sensor, method, path, ua, keys;
  KeysView k;            // decoded from `keys`
  bool damaged = false;  // `keys` cannot be decoded: counted nowhere
};

// Appends the rows `sql` (selecting kScanColumns) returns to *out, their keys decoded.
Status readStoredDims(Db& db, const std::string& sql, const std::vector<Param>& params,
                      std::deque<StoredDims>* out) {
  const size_t first = out->size();
  auto st = db.run(sql, params, [&](const Row& r) {
    ScanRow s;
    std::string_view keys;
    fillScanRow(r, &s, &keys);
    StoredDims& d = out->emplace_back();
    d.seq = s.seq;
    d.time_us = s.time_us;
    d.port = s.port;
    d.status = s.status;
    d.flags = s.flags;
    d.ip = s.ip;
    d.sensor = s.sensor;
    d.method = s.method;
    d.path = pathOf(s.uri);
    d.ua = s.ua;
    d.keys = keys;
  });
  if (!st) return st;
  for (size_t i = first; i < out->size(); ++i) {
    StoredDims& d = (*out)[i];
    d.damaged = !decodeKeys(d.keys, &d.k);
  }
  return Status::ok();
}

EventDims dimsOf(const StoredDims& s) { return dimsFrom(s, s.path, s.k); }

// About the memory a StoredDims holds.
size_t bytesOf(const StoredDims& d) {
  return sizeof(StoredDims) + d.ip.size() + d.sensor.size() + d.method.size() + d.path.size() +
         d.ua.size() + d.keys.size() + d.k.rule_ids.size() * sizeof(int) +
         (d.k.tags.size() + d.k.categories.size() + d.k.traps.size()) * sizeof(std::string_view);
}

// Decimal keys, interned: the views stay valid as long as the table lives.
class Numbers {
 public:
  std::string_view operator()(int64_t v) {
    auto it = map_.find(v);
    if (it == map_.end()) it = map_.emplace(v, std::to_string(v)).first;
    return it->second;
  }

 private:
  std::unordered_map<int64_t, std::string> map_;  // node-based
};

// Hash for maps keyed by std::string and searched by std::string_view (with std::equal_to<>).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

constexpr int kDimensionKinds[] = {kKindSourceIp, kKindRule,   kKindCategory, kKindTag,
                                   kKindDstPort,  kKindUserAgent, kKindTrap,  kKindSensor,
                                   kKindUri,      kKindMethod, kKindStatus};

// ---------------------------------------------------------------------------------------------
// Rollup deltas of a batch (insert: +1 per event; retention: -1).

struct RollupKey {
  int level;
  int kind;
  int64_t bucket;
  std::string_view key;
  bool operator==(const RollupKey& o) const {
    return level == o.level && kind == o.kind && bucket == o.bucket && key == o.key;
  }
  bool operator<(const RollupKey& o) const {
    if (level != o.level) return level < o.level;
    if (kind != o.kind) return kind < o.kind;
    if (bucket != o.bucket) return bucket < o.bucket;
    return key < o.key;
  }
};

// A rollup key and its id in rollup_keys.
struct KeyRef {
  int kind;
  std::string_view key;
  int64_t id;
};

struct KindKeyHash {
  size_t operator()(const std::pair<int, std::string_view>& k) const {
    return std::hash<std::string_view>()(k.second) * 31 + static_cast<size_t>(k.first);
  }
};

struct RollupKeyHash {
  size_t operator()(const RollupKey& k) const {
    size_t h = std::hash<std::string_view>()(k.key);
    h ^= std::hash<int64_t>()(k.bucket) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= static_cast<size_t>(k.level * 131 + k.kind) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
  }
};

class RollupDeltas {
 public:
  explicit RollupDeltas(std::optional<int64_t> folded_until) : folded_until_(folded_until) {}

  void addEvent(const EventDims& d, int64_t sign) {
    const int64_t t = rollupTime(d.time_us);
    const int64_t minute = floorTo(t, kMinuteUs);
    const int64_t hour = floorTo(t, kHourUs);
    const int64_t day = floorTo(t, kDayUs);
    for (auto [level, bucket] : {std::pair{kLevelMinute, minute}, std::pair{kLevelHour, hour},
                                 std::pair{kLevelDay, day}}) {
      add(level, kKindTotal, bucket, {}, sign);
      if (d.alert) add(level, kKindAlerts, bucket, {}, sign);
    }
    // Dimensions per hour; per day too once the day is folded (a late event, or retention).
    const bool folded = folded_until_ && day < *folded_until_;
    for (int kind : kDimensionKinds) {
      forEachKey(d, kind, numbers_, [&](std::string_view key) {
        add(kLevelHour, kind, hour, key, sign);
        if (folded) {
          add(kLevelDay, kind, day, key, sign);
          add(kLevelAll, kind, 0, key, sign);
        }
      });
    }
  }

  bool empty() const { return deltas_.empty(); }

  // Writes the deltas, keys turned into their ids by `resolve` (sorted: b-tree locality, and
  // one lock order for concurrent writers), then drops rows that reached zero. `lowered`, if
  // given, receives the (kind, key id) of the hour rows of dimensions that went down.
  Status flush(Db& db, const std::function<Status(std::vector<KeyRef>*)>& resolve,
               std::vector<std::pair<int, int64_t>>* lowered = nullptr) {
    std::vector<KeyRef> refs;
    std::unordered_map<std::pair<int, std::string_view>, size_t, KindKeyHash> index;
    for (const auto& [k, n] : deltas_) {
      if (k.kind < kKindSourceIp || n == 0) continue;
      if (index.emplace(std::pair{k.kind, k.key}, refs.size()).second) {
        refs.push_back(KeyRef{k.kind, k.key, 0});
      }
    }
    if (auto st = resolve(&refs); !st) return st;
    struct Out {
      int level, kind;
      int64_t bucket, id, n;
    };
    std::vector<Out> rows;
    rows.reserve(deltas_.size());
    for (const auto& [k, n] : deltas_) {
      if (n == 0) continue;
      const int64_t id =
          k.kind < kKindSourceIp ? 0 : refs[index.at(std::pair{k.kind, k.key})].id;
      rows.push_back(Out{k.level, k.kind, k.bucket, id, n});
    }
    std::sort(rows.begin(), rows.end(), [](const Out& a, const Out& b) {
      return std::tie(a.level, a.kind, a.bucket, a.id) < std::tie(b.level, b.kind, b.bucket, b.id);
    });
    std::vector<Param> params;
    params.reserve(rows.size() * 5);
    std::vector<Param> zero;
    for (const Out& o : rows) {
      params.emplace_back(o.level);
      params.emplace_back(o.kind);
      params.emplace_back(o.bucket);
      params.emplace_back(o.id);
      params.emplace_back(o.n);
      if (o.n < 0) {
        zero.emplace_back(o.level);
        zero.emplace_back(o.kind);
        zero.emplace_back(o.bucket);
        zero.emplace_back(o.id);
        if (lowered != nullptr && o.level == kLevelHour && o.kind >= kKindSourceIp) {
          lowered->emplace_back(o.kind, o.id);
        }
      }
    }
    auto st = insertEach(
        db,
        "INSERT INTO rollups (level, kind, bucket, key, n) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (level, kind, bucket, key) DO UPDATE SET n = rollups.n + excluded.n",
        5, params);
    if (!st || zero.empty()) return st;
    return db.runMany(
        "DELETE FROM rollups WHERE level = ? AND kind = ? AND bucket = ? AND key = ? AND n <= 0",
        4, zero);
  }

 private:
  void add(int level, int kind, int64_t bucket, std::string_view key, int64_t d) {
    deltas_[RollupKey{level, kind, bucket, key}] += d;
  }

  std::optional<int64_t> folded_until_;
  std::unordered_map<RollupKey, int64_t, RollupKeyHash> deltas_;
  Numbers numbers_;
};

// ---------------------------------------------------------------------------------------------
// Per hour and per address, from a batch: seq_hours (the smallest and largest seq of each
// hour, from inserts; only widened, so a deleted event leaves it a little wide, never wrong),
// ip_hours (events and alerts per address and hour) and ip_rules (events per address and
// rule), +1 per event inserted and -1 per event deleted.
// ip_hours and ip_rules hold the tracked addresses only: those with kTrackedIpEvents events or
// more (attackers.events, which never drops; the row goes only once none of the address's
// events is stored, its ip_hours and ip_rules rows gone with them). An address below that has
// few enough events to count them; one that reaches it is counted from its stored events once,
// then kept up.
// Sorted maps: b-tree locality, and one lock order for writers.

constexpr uint64_t kTrackedIpEvents = 1000;

class PerIpDeltas {
 public:
  void addSeq(int64_t seq, int64_t time_us) {
    auto [it, fresh] = seqs_.try_emplace(hourOf(time_us), seq, seq);
    if (!fresh) {
      it->second.first = std::min(it->second.first, seq);
      it->second.second = std::max(it->second.second, seq);
    }
  }

  // `ip` must stay valid until flush().
  void addIp(std::string_view ip, int64_t time_us, bool alert, const std::vector<int>& rule_ids,
             int64_t sign) {
    Counts& c = hours_[{ip, hourOf(time_us)}];
    c.events += sign;
    if (alert) c.alerts += sign;
    for (int id : rule_ids) rules_[{ip, id}] += sign;
  }

  size_t size() const { return hours_.size() + rules_.size(); }

  Status flush(Db& db) {
    std::vector<Param> p;
    p.reserve(seqs_.size() * 3);
    for (const auto& [hour, range] : seqs_) {
      p.emplace_back(hour);
      p.emplace_back(range.first);
      p.emplace_back(range.second);
    }
    auto st = insertEach(
        db,
        "INSERT INTO seq_hours (hour, min_seq, max_seq) VALUES (?, ?, ?) ON CONFLICT (hour) DO "
        "UPDATE SET min_seq = CASE WHEN excluded.min_seq < seq_hours.min_seq "
        "THEN excluded.min_seq ELSE seq_hours.min_seq END, "
        "max_seq = CASE WHEN excluded.max_seq > seq_hours.max_seq "
        "THEN excluded.max_seq ELSE seq_hours.max_seq END",
        3, p);
    if (!st) return st;
    p.clear();
    std::vector<Param> zero;
    for (const auto& [key, c] : hours_) {
      if (c.events == 0 && c.alerts == 0) continue;
      p.emplace_back(key.first);
      p.emplace_back(key.second);
      p.emplace_back(c.events);
      p.emplace_back(c.alerts);
      if (c.events < 0) {
        zero.emplace_back(key.first);
        zero.emplace_back(key.second);
      }
    }
    st = insertEach(
        db,
        "INSERT INTO ip_hours (ip, hour, events, alerts) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (ip, hour) DO UPDATE SET events = ip_hours.events + excluded.events, "
        "alerts = ip_hours.alerts + excluded.alerts",
        4, p);
    if (!st) return st;
    st = db.runMany("DELETE FROM ip_hours WHERE ip = ? AND hour = ? AND events <= 0", 2, zero);
    if (!st) return st;
    p.clear();
    zero.clear();
    for (const auto& [key, n] : rules_) {
      if (n == 0) continue;
      p.emplace_back(key.first);
      p.emplace_back(static_cast<int64_t>(key.second));
      p.emplace_back(n);
      if (n < 0) {
        zero.emplace_back(key.first);
        zero.emplace_back(static_cast<int64_t>(key.second));
      }
    }
    st = insertEach(
        db,
        "INSERT INTO ip_rules (ip, rule_id, events) VALUES (?, ?, ?) "
        "ON CONFLICT (ip, rule_id) DO UPDATE SET events = ip_rules.events + excluded.events",
        3, p);
    if (!st) return st;
    st = db.runMany("DELETE FROM ip_rules WHERE ip = ? AND rule_id = ? AND events <= 0", 2, zero);
    seqs_.clear();
    hours_.clear();
    rules_.clear();
    return st;
  }

 private:
  struct Counts {
    int64_t events = 0, alerts = 0;
  };
  std::map<int64_t, std::pair<int64_t, int64_t>> seqs_;
  std::map<std::pair<std::string_view, int64_t>, Counts> hours_;
  std::map<std::pair<std::string_view, int>, int64_t> rules_;
};

// Adds every stored event of `ip` up to `max_seq` to its per-address rows (an address that
// became tracked), in chunks through the ip index; a row whose keys cannot be decoded is left
// out, as the fold leaves it out (foldChunk). `ip` must stay valid until the deltas are flushed.
// `bounded`: by its attackers row (IpSegments::bound; not while a migration builds the tables).
Status countStoredEvents(Db& db, std::string_view ip, int64_t max_seq, PerIpDeltas* deltas,
                         bool bounded = true) {
  int64_t min_seq = 0, last = 0;
  auto any = storedSeqs(db, &min_seq, &last);
  if (!any) return any.status();
  if (!any.value()) return Status::ok();
  max_seq = std::min(max_seq, last);
  std::string sql = "SELECT seq, time_us, flags, keys FROM events WHERE ";
  std::vector<Param> params;
  IpSegments segments(db.dialect());
  if (bounded) {
    if (auto st = segments.bound(db, ip); !st) return st;
  }
  segments.condition(ip, &sql, &params);
  sql += " AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?";
  const size_t at = params.size();  // from, to
  params.emplace_back(min_seq);
  params.emplace_back(int64_t{0});
  params.emplace_back(static_cast<int64_t>(kScanChunk));
  KeysView keys;
  int64_t from = min_seq;
  for (;;) {
    from = segments.up(from);
    if (from > max_seq) return Status::ok();
    const int64_t segment_hi = std::min(max_seq, segments.select(from, &params).second);
    params[at] = Param(from);
    params[at + 1] = Param(segment_hi);
    size_t rows = 0;
    auto st = db.run(sql, params, [&](const Row& r) {
      ++rows;
      from = r.i64(0) + 1;
      if (decodeKeys(r.bytes(3), &keys)) {
        deltas->addIp(ip, r.i64(1), isAlert(static_cast<int>(r.i64(2))), keys.rule_ids, +1);
      }
    });
    if (!st) return st;
    if (rows < kScanChunk) {
      if (segment_hi >= max_seq) return Status::ok();
      from = segment_hi + 1;
    }
  }
}

// The time of the first event at or after `seq` (of `ip`, if not empty).
Result<std::optional<int64_t>> timeOfFirstEvent(Db& db, std::string_view ip, int64_t seq) {
  std::optional<int64_t> time;
  auto on_row = [&](const Row& r) { time = r.i64(0); };
  if (ip.empty()) {
    auto st = db.run("SELECT time_us FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
                     std::vector<Param>{Param(seq)}, on_row);
    if (!st) return st;
    return time;
  }
  int64_t min_seq = 0, max_seq = 0;
  auto any = storedSeqs(db, &min_seq, &max_seq);
  if (!any) return any.status();
  std::string sql = "SELECT time_us FROM events WHERE ";
  std::vector<Param> params;
  IpSegments segments(db.dialect());
  if (auto st = segments.bound(db, ip); !st) return st;
  segments.condition(ip, &sql, &params);
  sql += " AND seq >= ? AND seq <= ? ORDER BY seq LIMIT 1";
  const size_t at = params.size();
  params.emplace_back(int64_t{0});
  params.emplace_back(int64_t{0});
  for (int64_t from = segments.up(std::max(seq, min_seq)); any.value() && !time && from <= max_seq;
       from = segments.up(from)) {
    const int64_t segment_hi = segments.select(from, &params).second;
    params[at] = Param(from);
    params[at + 1] = Param(segment_hi);
    if (auto st = db.run(sql, params, on_row); !st) return st;
    if (segment_hi >= max_seq) break;
    from = segment_hi + 1;
  }
  return time;
}

// Whether `ip` is tracked (has ip_hours and ip_rules rows): its attackers row's event count.
Result<bool> ipTracked(Db& db, const std::string& ip) {
  bool tracked = false;
  auto st = db.run("SELECT events FROM attackers WHERE ip = ?", std::vector<Param>{Param(ip)},
                   [&](const Row& r) {
                     tracked = static_cast<uint64_t>(r.i64(0)) >= kTrackedIpEvents;
                   });
  if (!st) return st;
  return tracked;
}

// ---------------------------------------------------------------------------------------------
// Decoding rows.

// An event's body with its sensor column: the sensor an event is from is the column, which the
// collector set from the token that sent it. A sensor packs its own events (packed.h), and a
// name in the body it compressed is not checked but in a sample: it never shows.
constexpr const char* kBodyWithSensor =
    "SELECT b.seq, b.body, e.sensor FROM event_bodies b JOIN events e ON e.seq = b.seq ";

// The stored body back to an event (raw record and request body only `with_payload`).
Status decodeEvent(Decompressor& dec, const Decompressor::Loader& load, std::string_view body,
                   bool with_payload, std::string* scratch, core::Event* e) {
  if (auto st = dec.decompress(body, scratch, load); !st) return st;
  return decodeBody(*scratch, with_payload, e);
}

// A damaged body (the database or its file altered underneath): named, then left out. At most
// 20 lines a minute (a lost dictionary damages a million events at once); the count of those
// not named is logged with the first damaged row of a later minute (not at all if none comes).
void logUnreadable(uint64_t seq, const Status& why) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point window;
  static uint64_t logged = 0, quiet = 0;
  std::lock_guard lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (now - window > std::chrono::minutes(1)) {
    if (quiet > 0) spdlog::error("store: {} more events could not be read and were left out", quiet);
    window = now;
    logged = quiet = 0;
  }
  if (logged++ < 20) {
    spdlog::error("store: event {} cannot be read and is left out ({})", seq, why.message());
  } else {
    ++quiet;
  }
}

// A fold that failed (an insert or read folds again after kFoldBackoff): at most one line a
// minute.
void logFoldFailure(const Status& why) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point last;
  std::lock_guard lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (last != std::chrono::steady_clock::time_point() && now - last < std::chrono::minutes(1)) return;
  last = now;
  spdlog::warn("store: folding stored events into the aggregates failed; the next insert or "
               "read does it again: {}", why.message());
}

// Size retention stopped short of deleting the last events: at most one line every 10 minutes
// (retention runs every minute).
void logHistoryOverLimit(uint64_t kept, uint64_t bytes, uint64_t limit) {
  static std::mutex mu;
  static std::chrono::steady_clock::time_point last;
  std::lock_guard lock(mu);
  const auto now = std::chrono::steady_clock::now();
  if (last != std::chrono::steady_clock::time_point() && now - last < std::chrono::minutes(10)) {
    return;
  }
  last = now;
  spdlog::warn(
      "store: retention: {} bytes, over the size limit of {}, and deleting the {} events "
      "left would not bring the store under it: what the store keeps besides events "
      "(attackers, rollup keys, dictionaries, sensors) is over the limit; the events "
      "are kept. Raise the limit.",
      bytes, limit, kept);
}

constexpr const char* kAttackerColumns =
    "ip, first_seen_us, last_seen_us, events, events_with_rules, categories, traps, sensors, "
    "flagged";

Status decodeAttacker(const Row& r, AttackerRow* a) {
  a->ip.assign(r.bytes(0));
  a->first_seen_us = r.i64(1);
  a->last_seen_us = r.i64(2);
  a->events = static_cast<uint64_t>(r.i64(3));
  a->events_with_rules = static_cast<uint64_t>(r.i64(4));
  if (auto st = decodeSet(r.bytes(5), &a->categories); !st) return st;
  if (auto st = decodeSet(r.bytes(6), &a->traps); !st) return st;
  if (auto st = decodeSet(r.bytes(7), &a->sensors); !st) return st;
  a->flagged = r.i64(8) != 0;
  return Status::ok();
}

bool attackerResidual(const EventFilter& f, const AttackerRow& a) {
  if (!f.sensor.empty() && !contains(a.sensors, f.sensor)) return false;
  if (!f.category.empty() && !contains(a.categories, f.category)) return false;
  if (!f.trap.empty() && !contains(a.traps, f.trap)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Migration to schema version 2 (schema.cc): ip_hours and ip_rules of the tracked addresses,
// from their stored events, a few addresses at a time (memory stays small).

Status backfillV2(Db& db) {
  std::deque<std::string> ips;
  auto st = db.run("SELECT ip FROM attackers WHERE events >= ? ORDER BY ip",
                   std::vector<Param>{Param(kTrackedIpEvents)},
                   [&](const Row& r) { ips.emplace_back(r.bytes(0)); });
  if (!st) return st;
  PerIpDeltas deltas;
  for (const std::string& ip : ips) {
    if (auto c = countStoredEvents(db, ip, kMaxI64, &deltas, false); !c) return c;
    if (deltas.size() >= 20000) {
      if (auto f = deltas.flush(db); !f) return f;
    }
  }
  return deltas.flush(db);
}

// ---------------------------------------------------------------------------------------------

// A mutex that serves its waiters in the order they came (a ticket lock). std::mutex lets the
// thread that releases it take it again at once, before a waiter wakes up: a retention or a
// fold that takes it for each of its transactions would keep an insert waiting for all of them.
class FifoMutex {
 public:
  void lock() {
    std::unique_lock l(mu_);
    const uint64_t ticket = next_++;
    cv_.wait(l, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard l(mu_);
      ++serving_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0, serving_ = 0;
};

// ---------------------------------------------------------------------------------------------

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<Db> writer, std::unique_ptr<Db> reader, ReaderPool::Opener open_reader)
      : dialect_(writer->dialect()),
        w_(std::move(writer)),
        readers_(std::move(reader), std::move(open_reader), &SqlStore::loadDictionary,
                 kMaxReaders) {}

  Result<InsertResult> insert(const std::vector<core::Event>& events,
                              const std::vector<FileOffset>& offsets) override {
    return insertImpl(events, offsets, nullptr);
  }
  Result<InsertResult> insertPacked(const std::vector<core::Event>& events,
                                    const std::vector<PackedBody>& bodies) override {
    if (bodies.size() != events.size()) {
      return Status::invalidArgument("store: a packed batch needs one body per event");
    }
    return insertImpl(events, {}, &bodies);
  }
  uint32_t dictionaryId() override { return dictionary_id_.load(std::memory_order_relaxed); }
  Result<std::optional<Dictionary>> dictionary() override {
    std::lock_guard lock(write_mu_);
    if (dictionary_.empty()) return std::optional<Dictionary>();
    return std::optional<Dictionary>(Dictionary{compressor_.dictionary(), dictionary_});
  }
  uint32_t packingDictionaryId(const std::string& sensor) override;
  Result<std::optional<Dictionary>> packingDictionary(const std::string& sensor) override;
  using Store::readAfter;
  Result<std::vector<StoredEvent>> readAfter(uint64_t after_seq, size_t limit,
                                            uint64_t* examined_to) override;
  Result<std::optional<StoredEvent>> event(uint64_t seq) override;
  Result<EventPage> events(const EventQuery& query) override;
  using Store::attackers;
  Result<std::vector<AttackerRow>> attackers(const AttackerQuery& query) override {
    return attackersWithin(query, nullptr);
  }
  Result<std::optional<AttackerRow>> attacker(const std::string& ip) override;
  using Store::countsOverTime;
  Result<std::vector<CountBucket>> countsOverTime(const EventFilter& filter, int64_t bucket_us,
                                                  ScanReach* reach) override;
  using Store::top;
  Result<std::vector<TopItem>> top(Dimension dimension, const EventFilter& filter, size_t limit,
                                   ScanReach* reach) override;
  Status sensorSeen(const std::string& sensor, int64_t now_us, int64_t lag_ms,
                    const std::string& status_json) override;
  Result<std::vector<SensorRow>> sensors() override;
  Result<uint64_t> cursor(const std::string& reader) override;
  Status setCursor(const std::string& reader, uint64_t seq) override;
  Result<std::optional<std::string>> getState(const std::string& ns,
                                              const std::string& key) override;
  Status putState(const std::string& ns, const std::string& key,
                  const std::string& value) override;
  Result<std::vector<FileOffset>> fileOffsets() override;
  Result<RetentionResult> applyRetention(int64_t older_than_us, uint64_t max_bytes) override;
  Result<StoreStats> stats() override;
  Status foldPending() override { return foldBehind(); }

 protected:
  Result<std::vector<AttackerRow>> attackersWithin(const AttackerQuery& query,
                                                   ScanReach* reach) override;

 private:
  // A write transaction holding the writer row (see the top of the file).
  class WriteTxn {
   public:
    explicit WriteTxn(SqlStore& s) : s_(s) {}
    ~WriteTxn() {
      if (open_) {
        s_.w_->rollback();
        forgetPending();  // rolled back: none of it may reach the caches
      }
    }
    Status begin() {
      // What an earlier transaction that failed left pending (its attacker rows point into
      // events that may be gone) must not be committed by this one.
      forgetPending();
      if (auto st = s_.w_->begin(true); !st) return st;
      open_ = true;
      const std::string sql =
          s_.dialect_ == Dialect::kPostgres
              ? "SELECT last_seq, event_count, folded_until, generation, last_rollup_key, "
                "aggregated_seq, keys_epoch FROM writer WHERE id = 1 FOR UPDATE"
              : "SELECT last_seq, event_count, folded_until, generation, last_rollup_key, "
                "aggregated_seq, keys_epoch FROM writer WHERE id = 1";
      bool found = false;
      auto st = s_.w_->run(sql, {}, [&](const Row& r) {
        found = true;
        last_seq = r.i64(0);
        event_count = r.i64(1);
        if (!r.isNull(2)) folded_until = r.i64(2);
        generation = r.i64(3);
        last_key_id = r.i64(4);
        aggregated_seq = r.i64(5);
        keys_epoch = r.i64(6);
      });
      if (!st) return st;
      if (!found) return Status::corruption("store: the writer row is missing");
      // Another writer (a second collector, another process) wrote since our last commit: what
      // we remember of the attackers may be stale.
      if (generation != s_.generation_) s_.attacker_cache_.clear();
      // Retention deleted rollup keys (whoever ran it): ids we remember may be gone.
      if (keys_epoch != s_.keys_epoch_) {
        s_.key_ids_.clear();
        s_.keys_epoch_ = keys_epoch;
      }
      begin_keys_epoch_ = keys_epoch;
      return Status::ok();
    }
    Status commit(int64_t new_last_seq, int64_t event_delta) {
      std::vector<Param> p{Param(new_last_seq), Param(event_delta)};
      p.push_back(folded_until ? Param(*folded_until) : Param());
      p.emplace_back(last_key_id);
      p.emplace_back(aggregated_seq);
      p.emplace_back(keys_epoch);
      auto st = s_.w_->run(
          "UPDATE writer SET last_seq = ?, event_count = event_count + ?, "
          "generation = generation + 1, folded_until = ?, last_rollup_key = ?, "
          "aggregated_seq = ?, keys_epoch = ? WHERE id = 1",
          p);
      if (!st) return st;
      st = s_.w_->commit();
      if (!st) return st;
      open_ = false;
      // The caches follow the commit. Memory running out midway leaves them empty (read again
      // from the tables), never half updated yet current.
      try {
        updateCaches();
      } catch (const std::bad_alloc&) {
        s_.attacker_cache_.clear();
        s_.key_ids_.clear();
        s_.pending_attackers_.clear();
        s_.pending_keys_.clear();
        s_.generation_ = -1;
        return st;
      }
      s_.generation_ = generation + 1;
      if (keys_epoch != begin_keys_epoch_) {  // this transaction deleted keys
        s_.key_ids_.clear();
        s_.keys_epoch_ = keys_epoch;
      }
      return st;
    }
    void updateCaches() {
      for (auto& u : s_.pending_attackers_) {
        auto it = s_.attacker_cache_.find(u.ip);
        if (it == s_.attacker_cache_.end()) {
          DROSERA_CHECK(u.sets.has_value());  // a row not remembered comes with its sets
          it = s_.attacker_cache_.emplace(std::string(u.ip), AttackerRow()).first;
          it->second.ip = it->first;
        }
        AttackerRow& a = it->second;
        a.first_seen_us = u.first_seen_us;
        a.last_seen_us = u.last_seen_us;
        a.events = u.events;
        a.events_with_rules = u.events_with_rules;
        a.flagged = u.flagged;
        if (u.sets) {
          a.categories = std::move(u.sets->categories);
          a.traps = std::move(u.sets->traps);
          a.sensors = std::move(u.sets->sensors);
        }
      }
      s_.pending_attackers_.clear();
      if (s_.attacker_cache_.size() > kAttackerCacheRows) s_.attacker_cache_.clear();
      for (auto& [k, id] : s_.pending_keys_) s_.key_ids_.insert_or_assign(std::move(k), id);
      s_.pending_keys_.clear();
      if (s_.key_ids_.size() > kKeyCacheEntries) s_.key_ids_.clear();
    }
    int64_t last_seq = 0;
    int64_t event_count = 0;
    int64_t generation = 0;
    int64_t last_key_id = 0;
    int64_t aggregated_seq = 0;  // the aggregates hold the events up to here
    // Bumped by a transaction that deletes rollup keys: every writer forgets the ids it
    // remembers when it sees it change.
    int64_t keys_epoch = 0;
    std::optional<int64_t> folded_until;

   private:
    void forgetPending() {
      s_.pending_attackers_.clear();
      s_.pending_keys_.clear();
    }
    SqlStore& s_;
    bool open_ = false;
    int64_t begin_keys_epoch_ = 0;
  };

  // A read transaction on the reader connection (one snapshot for several statements).
  class ReadTxn {
   public:
    explicit ReadTxn(Db& db) : db_(db) {}
    ~ReadTxn() {
      if (open_) db_.rollback();
    }
    Status begin() {
      auto st = db_.begin(false);
      open_ = st.isOk();
      return st;
    }

   private:
    Db& db_;
    bool open_ = false;
  };

  Status resolveKeys(WriteTxn& txn, std::vector<KeyRef>* keys);
  Status upsertSensorsAndRules(const std::vector<const core::Event*>& events);
  // Aggregates (see "Folding" below). foldBehind() takes write_mu_ for each of its
  // transactions (the caller does not hold it); the others run with it held.
  Status foldBehind(int64_t until = kMaxI64);
  Status foldChunk(WriteTxn& txn, int64_t upto, std::deque<StoredDims>* rows);
  Status upsertAttackers(const std::vector<const StoredDims*>& rows);
  Status foldPerIp(const std::vector<const StoredDims*>& rows, int64_t max_seq);
  Status foldDays(WriteTxn& txn, int64_t max_time_us);
  Status foldDaysHere(int64_t from, int64_t until);  // foldDays() on SQLite
  void catchUp();
  bool foldAllowed() const;
  void foldFailed(const Status& why);
  Result<uint64_t> deleteOldest(std::optional<int64_t> older_than_us, uint64_t max_count);
  Status dropHistory(WriteTxn& txn, std::vector<std::pair<int, int64_t>> lowered);
  Result<uint64_t> usedBytes(Db& db);
  // PostgreSQL: what the size limit is checked against (see keepPostgresUnder()).
  struct PostgresSize {
    uint64_t bytes = 0;          // the tables' files, indexes and TOAST included
    uint64_t live_bytes = 0;     // the same, less the share of dead rows VACUUM has not reached
    int64_t events = 0;          // stored events (writer.event_count)
    bool never_deleted = false;  // no event was ever deleted (writer.last_seq == event_count)
  };
  Result<PostgresSize> measurePostgres();
  Status keepSqliteUnder(uint64_t max_bytes, RetentionResult* out);
  Result<uint64_t> keepPostgresUnder(uint64_t max_bytes, const PostgresSize& at_start,
                                     RetentionResult* out);
  Status rollupCounts(Db& rd, int kind, const EventFilter& f,
                      std::unordered_map<int64_t, uint64_t>* ids,
                      std::unordered_map<std::string, uint64_t>* edges);
  Status scanCounts(Db& rd, int kind, const EventFilter& f,
                    std::unordered_map<std::string, uint64_t>* out, ScanStop* stop = nullptr,
                    int64_t max_seq = kMaxI64);
  // writer.aggregated_seq, in the reader's transaction: what the aggregates hold.
  static Result<int64_t> aggregatedSeq(Db& rd);
  // The budget for an aggregate's scan of `f` (reach: the caller's, nullptr: none).
  ScanStop scanStopFor(const EventFilter& f, const ScanReach* reach) const;
  Result<std::optional<int64_t>> foldedUntil(Db& db);

  // Dictionaries: samples of bodies are gathered until there are enough to train one, then
  // every kRetrainEvents events a new one (traffic changes); each is stored before first use.
  Status maybeTrainDictionary();
  Status loadNewestDictionary();
  void useDictionary(const std::string& bytes);
  Result<InsertResult> insertImpl(const std::vector<core::Event>& events,
                                  const std::vector<FileOffset>& offsets,
                                  const std::vector<PackedBody>* packed);
  // A body a sensor packed, event `i` of its batch, before it is stored (see insertPacked()).
  // `declared`: the sizes the batch's bodies declare so far, this one's added.
  Status checkPacked(size_t i, const PackedBody& packed, bool sample, uint64_t* declared);
  Result<bool> knownDictionary(uint32_t id);
  bool sampling() const;

  const Dialect dialect_;
  // w_, compressor_, samples_, since_training_, enc_, encoded_, body_, the caches below. Held for
  // one transaction at a time (a retention or a fold of many chunks takes it for each), and
  // fair: an insert waits for the transaction in progress, not for all of them.
  FifoMutex write_mu_;
  std::unique_ptr<Db> w_;
  Compressor compressor_;
  std::string dictionary_;  // compressor_'s, handed out to sensors (dictionary())
  std::atomic<uint32_t> dictionary_id_{0};
  // For packed bodies: the dictionaries known to be in the table, a decompressor for the ones
  // checked in full, and how many came (one in kPackedCheckEvery is checked in full).
  std::unordered_set<uint32_t> known_dictionaries_;
  Decompressor packed_decompressor_;
  uint64_t packed_seen_ = 0;
  // Which ones: at random (seeded for each batch), so that a sensor cannot tell which of its
  // bodies will be read.
  std::minstd_rand packed_pick_{std::random_device{}()};
  std::vector<std::string> samples_;
  uint64_t since_training_ = 0;
  // A batch's events as insert() encodes them; kept between calls for their capacity.
  struct Encoded {
    EventFacts facts;
    size_t keys_at = 0, body_at = 0, end = 0;  // in encoded_
    std::string_view keys, body;
    int flags = 0;
  };
  std::vector<Encoded> enc_;
  std::string encoded_;
  std::string body_;
  // The attackers rows as this writer last wrote them, valid while no other writer committed
  // (the writer row's generation is the one our last commit left); saves reading them back.
  std::unordered_map<std::string, AttackerRow, StringHash, std::equal_to<>> attacker_cache_;
  // An attackers row as a batch leaves it: its counts, and its sets when they changed (else they
  // are those of the remembered row). `ip` points into the folded rows (StoredDims).
  struct AttackerUpdate {
    std::string_view ip;
    int64_t first_seen_us = 0, last_seen_us = 0;
    uint64_t events = 0, events_with_rules = 0;
    bool flagged = false;
    struct Sets {
      std::vector<std::string> categories, traps, sensors;
    };
    std::optional<Sets> sets;
  };
  std::vector<AttackerUpdate> pending_attackers_;  // into the cache once the transaction commits
  int64_t generation_ = -1;
  int64_t keys_epoch_ = -1;  // writer.keys_epoch when key_ids_ was last known good
  // Ids of rollup keys (kind byte + key): ids never change, so entries stay true whoever wrote.
  std::unordered_map<std::string, int64_t> key_ids_;
  std::vector<std::pair<std::string, int64_t>> pending_keys_;  // into key_ids_ on commit
  // The events this writer inserted that the aggregates may not hold yet, as the fold reads
  // them (consecutive seqs): the fold takes them from here instead of reading them back. Only
  // a copy: whatever it lacks (events of another writer or of an earlier run, or more than
  // kUnfoldedRows or kUnfoldedBytes) the fold reads from the table, as before.
  std::deque<StoredDims> unfolded_;
  size_t unfolded_bytes_ = 0;  // about what unfolded_ holds (bytesOf())
  void rememberUnfolded(int64_t first_seq, const std::vector<const core::Event*>& fresh,
                        const std::vector<size_t>& fresh_index);
  void forgetUnfolded();
  void dropFolded(int64_t aggregated_seq);
  std::atomic<int64_t> fold_retry_at_{0};  // steady clock ticks: see foldAllowed()
  // The sensors' packing dictionaries (packingDictionaryId()): the id, and when the database
  // was last asked (steady seconds).
  struct SensorDictionary {
    uint32_t id = 0;
    double checked_at = -1e18;
    uint64_t inserted = 0;  // events of the sensor this store inserted since
    int64_t stored = 0;     // the sensor's events in the database then
    bool refreshing = false;  // a caller is asking the database (or training) now
  };
  std::mutex sensor_dictionaries_mu_;
  std::unordered_map<std::string, SensorDictionary, StringHash, std::equal_to<>>
      sensor_dictionaries_;
  // The id of `sensor`'s dictionary in the database, trained first when it has none (or an old
  // one) and has the events for it.
  Result<uint32_t> refreshSensorDictionary(const std::string& sensor, int64_t* stored);
  ReaderPool readers_;

 public:
  static Result<std::optional<std::string>> loadDictionary(Db& db, uint32_t id) {
    std::optional<std::string> out;
    auto st = db.run("SELECT bytes FROM dictionaries WHERE id = ?",
                     std::vector<Param>{Param(static_cast<int64_t>(id))},
                     [&](const Row& r) { out = std::string(r.bytes(0)); });
    if (!st) return st;
    return out;
  }
  Status init() { return loadNewestDictionary(); }
  ReaderPool& readersForTest() { return readers_; }
};

// ---------------------------------------------------------------------------------------------
// insert

struct PairHash {
  size_t operator()(const std::pair<std::string_view, std::string_view>& p) const {
    const size_t a = std::hash<std::string_view>()(p.first);
    return a ^ (std::hash<std::string_view>()(p.second) + 0x9e3779b97f4a7c15ull + (a << 6) +
                (a >> 2));
  }
};

Result<bool> SqlStore::knownDictionary(uint32_t id) {
  if (known_dictionaries_.count(id) != 0) return true;
  bool found = false;
  auto st = w_->run("SELECT 1 FROM dictionaries WHERE id = ?",
                    std::vector<Param>{Param(static_cast<int64_t>(id))},
                    [&](const Row&) { found = true; });
  if (!st) return st;
  if (found) known_dictionaries_.insert(id);
  return found;
}

Status SqlStore::checkPacked(size_t i, const PackedBody& p, bool sample, uint64_t* declared) {
  const std::string which = "store: the body of packed event " + std::to_string(i + 1);
  uint32_t dict = 0;
  uint64_t size = 0;
  if (auto st = checkCompressed(p.body, &dict, &size); !st) {
    return Status::invalidArgument(which + " is not a body the store writes");
  }
  // A frame that says more than a body can hold (a few bytes can say a gigabyte) is refused
  // unread.
  if (size > kMaxPackedBodyBytes) {
    return Status::invalidArgument(which + " declares " + std::to_string(size) +
                                   " bytes, more than an event's body can hold");
  }
  *declared += size;
  if (*declared > kMaxPackedBatchBytes) {
    return Status::invalidArgument(which + " brings what the batch's bodies declare to " +
                                   std::to_string(*declared) + " bytes, more than " +
                                   std::to_string(kMaxPackedBatchBytes) + " a batch can hold");
  }
  if (dict != 0) {
    auto known = knownDictionary(dict);
    if (!known) return known.status();
    if (!known.value()) {
      return Status::invalidArgument(which + " needs zstd dictionary " + std::to_string(dict) +
                                     ", which the store does not have");
    }
  }
  // In full: a stored (uncompressed) body costs nothing to check; a frame one time in
  // kPackedCheckEvery, and whenever the store samples bodies for its next dictionary.
  const bool stored = static_cast<uint8_t>(p.body[0]) == 0;
  const bool first = packed_seen_++ == 0;
  if (!stored && !sample && !first && packed_pick_() % kPackedCheckEvery != 0) {
    return Status::ok();
  }
  std::string& body = body_;
  if (stored) {
    body.assign(p.body.substr(1));
  } else {
    const Decompressor::Loader load = [this](uint32_t id) { return loadDictionary(*w_, id); };
    if (auto st = packed_decompressor_.decompress(p.body, &body, load); !st) {
      if (st.code() != Status::Code::kCorruption) return st;
      return Status::invalidArgument(which + " cannot be decompressed");
    }
  }
  if (!bodyHasDetail(body, p.detail)) {
    return Status::invalidArgument(which + " does not hold the detail sent with it");
  }
  if (sample && samples_.size() < kDictionarySamples && body.size() <= kMaxSampleBytes) {
    samples_.push_back(body);
  }
  return Status::ok();
}

Result<InsertResult> SqlStore::insertImpl(const std::vector<core::Event>& events,
                                          const std::vector<FileOffset>& offsets,
                                          const std::vector<PackedBody>* packed) {
  InsertResult result;
  if (events.empty() && offsets.empty()) return result;
  for (const auto& e : events) {
    if (e.sensor.empty() || e.unique_id.empty()) {
      return Status::invalidArgument(
          "store: an event without sensor or unique_id; the batch was not stored");
    }
  }
  // Duplicates inside the batch: the first occurrence wins.
  std::vector<const core::Event*> firsts;
  firsts.reserve(events.size());
  {
    std::unordered_set<std::pair<std::string_view, std::string_view>, PairHash> seen;
    seen.reserve(events.size() * 2);
    for (const auto& e : events) {
      if (seen.emplace(e.sensor, e.unique_id).second) firsts.push_back(&e);
    }
  }
  result.duplicates = events.size() - firsts.size();

  std::unique_lock lock(write_mu_);
  // Encode and compress before the transaction: other writers wait only for the database work.
  pending_attackers_.clear();
  pending_keys_.clear();
  if (auto st = maybeTrainDictionary(); !st) return st;
  // Keys and compressed bodies go one after the other into encoded_, viewed once it is complete.
  if (enc_.size() < firsts.size()) enc_.resize(firsts.size());
  if (encoded_.capacity() > kKeepBufferBytes) std::string().swap(encoded_);
  if (body_.capacity() > kKeepBufferBytes) std::string().swap(body_);
  encoded_.clear();
  const bool sample = sampling();
  uint64_t declared = 0;  // by the packed bodies
  // Seeded anew for every packed batch: what a sensor learns of the choices from one batch's
  // refusal tells it nothing of the next.
  if (packed != nullptr) packed_pick_.seed(std::random_device{}());
  for (size_t i = 0; i < firsts.size(); ++i) {
    const core::Event& e = *firsts[i];
    Encoded& x = enc_[i];
    factsOf(e, &x.facts);
    x.keys_at = encoded_.size();
    appendKeys(x.facts, &encoded_);
    x.body_at = encoded_.size();
    x.flags = flagsOf(x.facts);
    const size_t at = static_cast<size_t>(firsts[i] - events.data());
    if (packed != nullptr && !(*packed)[at].body.empty()) {
      const PackedBody& p = (*packed)[at];
      if (auto st = checkPacked(at, p, sample, &declared); !st) return st;
      encoded_.append(p.body);
    } else {
      encodeBody(e, &body_);
      compressor_.compressAppend(body_, &encoded_);
      if (sample && samples_.size() < kDictionarySamples && body_.size() <= kMaxSampleBytes) {
        samples_.push_back(body_);
      }
    }
    x.end = encoded_.size();
  }
  for (size_t i = 0; i < firsts.size(); ++i) {
    Encoded& x = enc_[i];
    x.keys = std::string_view(encoded_).substr(x.keys_at, x.body_at - x.keys_at);
    x.body = std::string_view(encoded_).substr(x.body_at, x.end - x.body_at);
  }
  const std::vector<Encoded>& enc = enc_;
  since_training_ += firsts.size();
  WriteTxn txn(*this);
  if (auto st = txn.begin(); !st) return st;

  // Duplicates already stored (under the writer lock nobody else can add one meanwhile).
  // PostgreSQL looks them up first (one statement for the batch). SQLite's insert skips them
  // (ON CONFLICT DO NOTHING, each execution's change count says which): one b-tree search per
  // event instead of two; a batch that had some takes its rows out again and inserts the others
  // with dense seqs, all in the same transaction.
  std::vector<char> dup(firsts.size(), 0);
  if (dialect_ != Dialect::kSqlite) {
    std::vector<Param> params;
    params.reserve(firsts.size() * 2);
    for (const auto* e : firsts) {
      params.emplace_back(e->sensor);
      params.emplace_back(e->unique_id);
    }
    auto st = w_->runMany("SELECT 1 FROM events WHERE sensor = ? AND unique_id = ?", 2, params,
                          [&](size_t i, const Row&) { dup[i] = 1; });
    if (!st) return st;
  }

  std::vector<const core::Event*> fresh;
  std::vector<size_t> fresh_index;  // into firsts
  std::vector<Param> params;
  std::vector<Param> bodies;
  int64_t seq = 0;
  auto rows = [&] {
    fresh.clear();
    fresh_index.clear();
    params.clear();
    bodies.clear();
    params.reserve(firsts.size() * 13);
    bodies.reserve(firsts.size() * 2);
    seq = txn.last_seq;
    for (size_t i = 0; i < firsts.size(); ++i) {
      if (dup[i]) continue;
      const core::Event& e = *firsts[i];
      const Encoded& x = enc[i];
      params.emplace_back(++seq);
      params.emplace_back(e.sensor);
      params.emplace_back(e.unique_id);
      params.emplace_back(e.time_us);
      params.emplace_back(e.src_ip);
      params.emplace_back(static_cast<int64_t>(e.src_port));
      params.emplace_back(static_cast<int64_t>(e.dst_port));
      params.emplace_back(e.method);
      params.emplace_back(e.uri);
      params.emplace_back(e.user_agent);
      params.emplace_back(static_cast<int64_t>(e.status));
      params.emplace_back(x.flags);
      params.emplace_back(x.keys);
      bodies.emplace_back(seq);
      bodies.emplace_back(x.body);
      fresh.push_back(&e);
      fresh_index.push_back(i);
    }
  };
  rows();
  if (!fresh.empty()) {
    static const std::string kInsertEventsHead =
        "INSERT INTO events (seq, sensor, unique_id, time_us, src_ip, src_port, dst_port, method, "
        "uri, user_agent, status, flags, keys) VALUES ";
    static const std::string kInsertEvents =
        kInsertEventsHead + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    Status st;
    if (dialect_ == Dialect::kSqlite) {
      // Rows of many events a statement; when some were stored already (fewer rows inserted
      // than given), they come out again and one statement an event says which.
      static const std::string kConflict = " ON CONFLICT (sensor, unique_id) DO NOTHING";
      uint64_t inserted = 0;
      st = insertRows(*w_, kInsertEventsHead, kConflict, 13, params, &inserted);
      if (!st) return st;
      if (inserted != fresh.size()) {
        st = w_->run("DELETE FROM events WHERE seq > ?", std::vector<Param>{Param(txn.last_seq)});
        if (!st) return st;
        std::vector<uint64_t> changed;
        st = w_->runMany(kInsertEvents + kConflict, 13, params, nullptr, &changed);
        if (!st) return st;
        bool any = false;
        for (size_t j = 0; j < changed.size(); ++j) {
          if (changed[j] == 0) dup[fresh_index[j]] = any = true;
        }
        if (any) {
          st = w_->run("DELETE FROM events WHERE seq > ?", std::vector<Param>{Param(txn.last_seq)});
          if (!st) return st;
          rows();
          if (!fresh.empty()) {
            st = insertRows(*w_, kInsertEventsHead, "", 13, params, &inserted);
          }
        }
      }
    } else {
      st = w_->runMany(kInsertEvents, 13, params);
    }
    if (!st) return st;
  }
  for (char d : dup) result.duplicates += d != 0 ? 1 : 0;
  if (!fresh.empty()) {
    Status st;
    if (dialect_ == Dialect::kSqlite) {
      uint64_t inserted = 0;
      st =
          insertRows(*w_, "INSERT INTO event_bodies (seq, body) VALUES ", "", 2, bodies, &inserted);
    } else {
      st = w_->runMany("INSERT INTO event_bodies (seq, body) VALUES (?, ?)", 2, bodies);
    }
    if (!st) return st;
    // seq_hours (event lists find a time range's seqs there) with the events; the aggregates
    // follow behind (foldBehind).
    PerIpDeltas seq_hours;
    for (size_t i = 0; i < fresh.size(); ++i) {
      seq_hours.addSeq(txn.last_seq + 1 + static_cast<int64_t>(i), fresh[i]->time_us);
    }
    if (auto st2 = seq_hours.flush(*w_); !st2) return st2;
    if (auto st2 = upsertSensorsAndRules(fresh); !st2) return st2;
  }

  if (!offsets.empty()) {
    // One row per key, the last given winning (one statement may not update a row twice).
    std::map<std::string_view, const FileOffset*> last;
    for (const auto& o : offsets) last[o.key] = &o;
    std::vector<Param> p;
    p.reserve(last.size() * 4);
    for (const auto& [key, op] : last) {
      const FileOffset& o = *op;
      p.emplace_back(o.key);
      p.emplace_back(o.path);
      p.emplace_back(o.offset);
      p.emplace_back(o.updated_us);
    }
    auto st = w_->runMany(
        "INSERT INTO file_offsets (key, path, byte_offset, updated_us) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET path = excluded.path, "
        "byte_offset = excluded.byte_offset, updated_us = excluded.updated_us",
        4, p);
    if (!st) return st;
  }

  const int64_t first_seq = txn.last_seq + 1;
  if (auto st = txn.commit(seq, static_cast<int64_t>(fresh.size())); !st) return st;
  dropFolded(txn.aggregated_seq);
  rememberUnfolded(first_seq, fresh, fresh_index);
  result.inserted = fresh.size();
  result.last_seq = fresh.empty() ? 0 : static_cast<uint64_t>(seq);
  lock.unlock();  // the fold takes it for each of its transactions
  // The batch is stored whatever happens to the fold: one that fails is done again by the next
  // insert or read (the aggregates say how far they got).
  if (seq - txn.aggregated_seq >= fold_events.load(std::memory_order_relaxed) && foldAllowed()) {
    if (auto st = foldBehind(seq); !st) foldFailed(st);
  }
  return result;
}

// After insert()'s commit: its events (seqs first_seq onwards), as readStoredDims() would read
// them back. Appended only where they continue the seqs remembered; else those are forgotten.
void SqlStore::rememberUnfolded(int64_t first_seq, const std::vector<const core::Event*>& fresh,
                                const std::vector<size_t>& fresh_index) {
  if (fresh.empty()) return;
  if (!unfolded_.empty() && unfolded_.back().seq + 1 != first_seq) forgetUnfolded();
  if (unfolded_.size() + fresh.size() > kUnfoldedRows || unfolded_bytes_ > kUnfoldedBytes) {
    forgetUnfolded();  // folding is far behind (or failing): it reads them back
    return;
  }
  try {
    for (size_t i = 0; i < fresh.size(); ++i) {
      const core::Event& e = *fresh[i];
      const Encoded& x = enc_[fresh_index[i]];
      StoredDims& d = unfolded_.emplace_back();
      d.seq = first_seq + static_cast<int64_t>(i);
      d.time_us = e.time_us;
      d.port = e.dst_port;
      d.status = e.status;
      d.flags = x.flags;
      d.ip = e.src_ip;
      d.sensor = e.sensor;
      d.method = e.method;
      d.path = pathOf(e.uri);
      d.ua = e.user_agent;
      d.keys = x.keys;
      d.damaged = !decodeKeys(d.keys, &d.k);
      unfolded_bytes_ += bytesOf(d);
    }
  } catch (const std::bad_alloc&) {
    forgetUnfolded();
  }
}

void SqlStore::forgetUnfolded() {
  unfolded_.clear();
  unfolded_bytes_ = 0;
}

// Forgets the remembered events the aggregates hold (whoever folded them).
void SqlStore::dropFolded(int64_t aggregated_seq) {
  while (!unfolded_.empty() && unfolded_.front().seq <= aggregated_seq) {
    unfolded_bytes_ -= std::min(unfolded_bytes_, bytesOf(unfolded_.front()));
    unfolded_.pop_front();
  }
}

// Ids for rollup keys: remembered, else read, else allocated from writer.last_rollup_key (under
// the writer lock, so two writers never hand out the same id).
Status SqlStore::resolveKeys(WriteTxn& txn, std::vector<KeyRef>* keys) {
  std::vector<size_t> missing;
  std::string probe;
  for (size_t i = 0; i < keys->size(); ++i) {
    KeyRef& k = (*keys)[i];
    probe.assign(1, static_cast<char>(k.kind));
    probe.append(k.key);
    auto it = key_ids_.find(probe);
    if (it != key_ids_.end()) k.id = it->second;
    else missing.push_back(i);
  }
  if (missing.empty()) return Status::ok();
  std::vector<Param> params;
  for (size_t i : missing) {
    params.emplace_back((*keys)[i].kind);
    params.emplace_back((*keys)[i].key);
  }
  auto st = w_->runMany("SELECT id FROM rollup_keys WHERE kind = ? AND key = ?", 2, params,
                        [&](size_t j, const Row& r) { (*keys)[missing[j]].id = r.i64(0); });
  if (!st) return st;
  std::vector<Param> fresh;
  for (size_t i : missing) {
    KeyRef& k = (*keys)[i];
    if (k.id == 0) {
      k.id = ++txn.last_key_id;
      fresh.emplace_back(k.id);
      fresh.emplace_back(k.kind);
      fresh.emplace_back(k.key);
    }
    std::string entry(1, static_cast<char>(k.kind));
    entry.append(k.key);
    pending_keys_.emplace_back(std::move(entry), k.id);
  }
  return insertEach(*w_, "INSERT INTO rollup_keys (id, kind, key) VALUES (?, ?, ?)", 3, fresh);
}

Status SqlStore::upsertAttackers(const std::vector<const StoredDims*>& events) {
  // The events by address (sorted: b-tree locality, and one lock order for concurrent
  // writers), so that an address's events are next to each other.
  // Grouped through a hash map, then only the addresses sorted (a chunk has many events per
  // address); each group's events stay in seq order.
  struct Group {
    std::string_view ip;
    uint32_t begin, end;  // into order
    const AttackerRow* cached = nullptr;
    std::optional<AttackerRow> stored;  // read from the database
  };
  std::vector<Group> groups;
  std::vector<uint32_t> order(events.size());
  {
    std::unordered_map<std::string_view, uint32_t> group_of;
    group_of.reserve(events.size());
    std::vector<uint32_t> gid(events.size());
    std::vector<uint32_t> sizes;
    for (uint32_t i = 0; i < events.size(); ++i) {
      auto [it, fresh] = group_of.try_emplace(events[i]->ip, static_cast<uint32_t>(sizes.size()));
      if (fresh) sizes.push_back(0);
      gid[i] = it->second;
      ++sizes[it->second];
    }
    std::vector<std::pair<std::string_view, uint32_t>> by_ip(group_of.begin(), group_of.end());
    std::sort(by_ip.begin(), by_ip.end());
    std::vector<uint32_t> next(sizes.size());  // where a group's next event goes in order
    groups.reserve(by_ip.size());
    uint32_t at = 0;
    for (const auto& [ip, g] : by_ip) {
      groups.push_back(Group{ip, at, at + sizes[g], nullptr, {}});
      next[g] = at;
      at += sizes[g];
    }
    for (uint32_t i = 0; i < events.size(); ++i) order[next[gid[i]]++] = i;
  }
  std::vector<Param> keys;  // the addresses this writer does not remember
  std::vector<size_t> where;
  for (size_t g = 0; g < groups.size(); ++g) {
    auto it = attacker_cache_.find(groups[g].ip);
    if (it != attacker_cache_.end()) {
      groups[g].cached = &it->second;
    } else {
      keys.emplace_back(groups[g].ip);
      where.push_back(g);
    }
  }
  Status inner;
  auto st = w_->runMany(std::string("SELECT ") + kAttackerColumns + " FROM attackers WHERE ip = ?",
                        1, keys, [&](size_t i, const Row& r) {
                          AttackerRow a;
                          if (auto s = decodeAttacker(r, &a); !s) inner = s;
                          groups[where[i]].stored = std::move(a);
                        });
  if (!st) return st;
  if (!inner) return inner;

  auto has = [](const std::vector<std::string>& set, std::string_view x) {
    return std::binary_search(set.begin(), set.end(), x,
                              [](const auto& a, const auto& b) {
                                return std::string_view(a) < std::string_view(b);
                              });
  };
  auto add = [](std::vector<std::string>* set, std::string_view x) {
    auto at = std::lower_bound(set->begin(), set->end(), x,
                               [](const std::string& a, std::string_view b) { return a < b; });
    if (at == set->end() || *at != x) set->emplace(at, x);
  };
  std::vector<std::string> blobs;  // owned bytes of the changed sets
  blobs.reserve(groups.size() * 3);
  std::vector<Param> full;     // new rows, or rows whose sets grow
  std::vector<Param> scalars;  // rows whose sets stay as they are
  std::vector<Param> later;    // SQLite: of those, the rows whose first sighting stays too
  std::vector<Param> grown, grown_later;  // SQLite: existing rows whose sets grow (the same)
  pending_attackers_.reserve(groups.size());
  for (Group& g : groups) {
    const AttackerRow* have = g.cached != nullptr ? g.cached : g.stored ? &*g.stored : nullptr;
    AttackerUpdate u;
    u.ip = g.ip;
    u.first_seen_us = have != nullptr ? have->first_seen_us : kMaxI64;
    u.last_seen_us = have != nullptr ? have->last_seen_us : kMinI64;
    u.events = have != nullptr ? have->events : 0;
    u.events_with_rules = have != nullptr ? have->events_with_rules : 0;
    u.flagged = have != nullptr && have->flagged;
    bool sets_change = have == nullptr;
    for (uint32_t k = g.begin; k < g.end; ++k) {
      const StoredDims& e = *events[order[k]];
      u.first_seen_us = std::min(u.first_seen_us, e.time_us);
      u.last_seen_us = std::max(u.last_seen_us, e.time_us);
      ++u.events;
      if ((e.flags & kFlagHasRules) != 0) ++u.events_with_rules;
      u.flagged = u.flagged || (e.flags & (kFlagHasTraps | kFlagAttackerFlagged)) != 0;
      if (!sets_change) {
        sets_change = !has(have->sensors, e.sensor);
        for (auto c : e.k.categories) sets_change = sets_change || !has(have->categories, c);
        for (auto t : e.k.traps) sets_change = sets_change || !has(have->traps, t);
      }
    }
    if (!sets_change) {
      // SQLite rewrites an index entry for every column a SET names, changed or not: a row
      // whose first sighting stays (the common case) is updated without it (see below).
      if (dialect_ == Dialect::kSqlite && have->first_seen_us == u.first_seen_us) {
        later.emplace_back(u.last_seen_us);
        later.emplace_back(static_cast<int64_t>(u.events));
        later.emplace_back(static_cast<int64_t>(u.events_with_rules));
        later.emplace_back(u.flagged ? 1 : 0);
        later.emplace_back(g.ip);
      } else {
        scalars.emplace_back(g.ip);
        scalars.emplace_back(u.first_seen_us);
        scalars.emplace_back(u.last_seen_us);
        scalars.emplace_back(static_cast<int64_t>(u.events));
        scalars.emplace_back(static_cast<int64_t>(u.events_with_rules));
        scalars.emplace_back(u.flagged ? 1 : 0);
      }
      if (g.stored) {  // remembered from now on
        u.sets.emplace();
        u.sets->categories = std::move(g.stored->categories);
        u.sets->traps = std::move(g.stored->traps);
        u.sets->sensors = std::move(g.stored->sensors);
      }
      pending_attackers_.push_back(std::move(u));
      continue;
    }
    // New sets: what the row had plus the batch's.
    u.sets.emplace();
    if (have != nullptr) {
      u.sets->categories = have->categories;
      u.sets->traps = have->traps;
      u.sets->sensors = have->sensors;
    }
    for (uint32_t k = g.begin; k < g.end; ++k) {
      const StoredDims& e = *events[order[k]];
      add(&u.sets->sensors, e.sensor);
      for (auto c : e.k.categories) add(&u.sets->categories, c);
      for (auto t : e.k.traps) add(&u.sets->traps, t);
    }
    // blobs has room for them all (reserved): views into it stay valid.
    DROSERA_CHECK(blobs.size() + 3 <= blobs.capacity());
    blobs.push_back(encodeSet(u.sets->categories));
    blobs.push_back(encodeSet(u.sets->traps));
    blobs.push_back(encodeSet(u.sets->sensors));
    const std::string_view categories = blobs[blobs.size() - 3];
    const std::string_view traps = blobs[blobs.size() - 2];
    const std::string_view sensors = blobs[blobs.size() - 1];
    if (dialect_ == Dialect::kSqlite && have != nullptr) {
      // SQLite: the row exists (this transaction read it, or the cache of this writer holds
      // it): an UPDATE, which without first_seen_us (when it stays) leaves that index alone.
      const bool first_stays = have->first_seen_us == u.first_seen_us;
      std::vector<Param>& v = first_stays ? grown_later : grown;
      if (!first_stays) v.emplace_back(u.first_seen_us);
      v.emplace_back(u.last_seen_us);
      v.emplace_back(static_cast<int64_t>(u.events));
      v.emplace_back(static_cast<int64_t>(u.events_with_rules));
      v.emplace_back(categories);
      v.emplace_back(traps);
      v.emplace_back(sensors);
      v.emplace_back(u.flagged ? 1 : 0);
      v.emplace_back(g.ip);
    } else {
      // A new row (SQLite: a plain INSERT, the row is known not to exist), or PostgreSQL's
      // upsert.
      full.emplace_back(g.ip);
      full.emplace_back(u.first_seen_us);
      full.emplace_back(u.last_seen_us);
      full.emplace_back(static_cast<int64_t>(u.events));
      full.emplace_back(static_cast<int64_t>(u.events_with_rules));
      full.emplace_back(categories);
      full.emplace_back(traps);
      full.emplace_back(sensors);
      full.emplace_back(u.flagged ? 1 : 0);
    }
    pending_attackers_.push_back(std::move(u));
  }
  // The rows exist and keep their sets. SQLite: an UPDATE, one b-tree search per row where an
  // upsert takes two; PostgreSQL: an upsert that leaves the sets alone, which takes the batch in
  // one statement.
  if (dialect_ == Dialect::kSqlite) {
    for (size_t p = 0; p < scalars.size(); p += 6) {
      std::rotate(scalars.begin() + p, scalars.begin() + p + 1, scalars.begin() + p + 6);
    }
    st = w_->runMany(
        "UPDATE attackers SET first_seen_us = ?, last_seen_us = ?, events = ?, "
        "events_with_rules = ?, flagged = ? WHERE ip = ?",
        6, scalars);
    if (st) {
      st = w_->runMany(
          "UPDATE attackers SET last_seen_us = ?, events = ?, events_with_rules = ?, flagged = ? "
          "WHERE ip = ?",
          5, later);
    }
    if (st) {
      st = w_->runMany(
          "UPDATE attackers SET first_seen_us = ?, last_seen_us = ?, events = ?, "
          "events_with_rules = ?, categories = ?, traps = ?, sensors = ?, flagged = ? WHERE ip = ?",
          9, grown);
    }
    if (st) {
      st = w_->runMany(
          "UPDATE attackers SET last_seen_us = ?, events = ?, events_with_rules = ?, "
          "categories = ?, traps = ?, sensors = ?, flagged = ? WHERE ip = ?",
          8, grown_later);
    }
    if (!st) return st;
    return insertEach(*w_,
                      "INSERT INTO attackers (ip, first_seen_us, last_seen_us, events, "
                      "events_with_rules, categories, traps, sensors, flagged) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      9, full);
  } else {
    st = w_->runMany(
        "INSERT INTO attackers (ip, first_seen_us, last_seen_us, events, events_with_rules, "
        "categories, traps, sensors, flagged) VALUES (?, ?, ?, ?, ?, '', '', '', ?) "
        "ON CONFLICT (ip) DO UPDATE SET first_seen_us = excluded.first_seen_us, "
        "last_seen_us = excluded.last_seen_us, events = excluded.events, "
        "events_with_rules = excluded.events_with_rules, flagged = excluded.flagged",
        6, scalars);
  }
  if (!st) return st;
  return insertEach(
      *w_,
      "INSERT INTO attackers (ip, first_seen_us, last_seen_us, events, events_with_rules, "
      "categories, traps, sensors, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (ip) DO UPDATE SET first_seen_us = excluded.first_seen_us, "
      "last_seen_us = excluded.last_seen_us, events = excluded.events, "
      "events_with_rules = excluded.events_with_rules, categories = excluded.categories, "
      "traps = excluded.traps, sensors = excluded.sensors, flagged = excluded.flagged",
      9, full);
}

// ip_hours and ip_rules for the tracked addresses (those that were already, and those these
// events take to kTrackedIpEvents: counted from their stored events up to `max_seq`, these
// included). After upsertAttackers(): pending_attackers_ has the new counts.
Status SqlStore::foldPerIp(const std::vector<const StoredDims*>& events, int64_t max_seq) {
  PerIpDeltas deltas;
  std::unordered_map<std::string_view, uint64_t> in_batch;
  for (const StoredDims* e : events) ++in_batch[e->ip];
  std::unordered_set<std::string_view> tracked;
  std::vector<std::string_view> newly;
  for (const AttackerUpdate& a : pending_attackers_) {
    auto it = in_batch.find(a.ip);
    if (it == in_batch.end()) continue;
    if (a.events >= kTrackedIpEvents + it->second) tracked.insert(it->first);
    else if (a.events >= kTrackedIpEvents) newly.push_back(it->first);
  }
  for (const StoredDims* e : events) {
    if (tracked.count(e->ip) != 0) {
      deltas.addIp(e->ip, e->time_us, isAlert(static_cast<int>(e->flags)), e->k.rule_ids, +1);
    }
  }
  std::sort(newly.begin(), newly.end());
  for (std::string_view ip : newly) {
    if (auto st = countStoredEvents(*w_, ip, max_seq, &deltas); !st) return st;
  }
  return deltas.flush(*w_);
}

Status SqlStore::upsertSensorsAndRules(const std::vector<const core::Event*>& events) {
  struct SensorDelta {
    int64_t first = kMaxI64, last = kMinI64, events = 0;
  };
  std::map<std::string_view, SensorDelta> sensors;
  std::map<int, std::string_view> rules;  // the last message seen in the batch
  for (const auto* e : events) {
    SensorDelta& s = sensors[e->sensor];
    s.first = std::min(s.first, e->time_us);
    s.last = std::max(s.last, e->time_us);
    ++s.events;
    for (const auto& r : e->rules) rules[r.id] = r.message;
  }
  static const std::string kEmptyJson = "{}";
  std::vector<Param> p;
  for (const auto& [name, s] : sensors) {
    p.emplace_back(name);
    p.emplace_back(s.first);
    p.emplace_back(s.last);
    p.emplace_back(s.events);
    p.emplace_back(kEmptyJson);
  }
  {
    std::lock_guard lock(sensor_dictionaries_mu_);
    for (const auto& [name, d] : sensors) {
      auto it = sensor_dictionaries_.find(name);
      if (it != sensor_dictionaries_.end()) it->second.inserted += static_cast<uint64_t>(d.events);
    }
  }
  auto st = w_->runMany(
      "INSERT INTO sensors (sensor, first_seen_us, last_seen_us, events, lag_ms, status_json) "
      "VALUES (?, ?, ?, ?, -1, ?) ON CONFLICT (sensor) DO UPDATE SET "
      "first_seen_us = CASE WHEN excluded.first_seen_us < sensors.first_seen_us "
      "THEN excluded.first_seen_us ELSE sensors.first_seen_us END, "
      "last_seen_us = CASE WHEN excluded.last_seen_us > sensors.last_seen_us "
      "THEN excluded.last_seen_us ELSE sensors.last_seen_us END, "
      "events = sensors.events + excluded.events",
      5, p);
  if (!st || rules.empty()) return st;
  p.clear();
  for (const auto& [id, message] : rules) {
    p.emplace_back(id);
    p.emplace_back(message);
  }
  return w_->runMany(
      "INSERT INTO rules (rule_id, message) VALUES (?, ?) ON CONFLICT (rule_id) DO UPDATE "
      "SET message = excluded.message WHERE rules.message <> excluded.message",
      2, p);
}

// ---------------------------------------------------------------------------------------------
// Folding: the aggregates (rollups, attackers, ip_hours, ip_rules) are kept up from the stored
// events behind the inserts, kFoldEvents at a time, not with every batch: the upserts of keys
// that many batches share (an hour's rules, paths and user agents, an address that keeps
// coming) are done once. writer.aggregated_seq says up to which seq they hold the events; every
// read of an aggregate and every retention chunk first folds what is missing (so what they
// answer is exact). The fold takes the events this writer stored from its copy of them
// (unfolded_) and reads the others from the database, so it is the same after a crash, whoever
// inserted them (another collector, another process).

// Folds the events after aggregated_seq up to `until` (or the last stored when it starts: not
// chasing what is inserted meanwhile), kFoldChunk at a time, each chunk in a transaction of its
// own, under write_mu_ (inserts go on in between, and would keep a fold that chased them going
// for as long as they come).
Status SqlStore::foldBehind(int64_t until) {
  for (;;) {
    std::lock_guard lock(write_mu_);
    std::deque<StoredDims> rows;  // outlives txn: the attacker updates point into it
    WriteTxn txn(*this);
    if (auto st = txn.begin(); !st) return st;
    until = std::min(until, txn.last_seq);
    const int64_t end = until;
    if (txn.aggregated_seq >= end) return Status::ok();
    const int64_t upto =
        std::min(end, txn.aggregated_seq + fold_chunk.load(std::memory_order_relaxed));
    if (auto st = foldChunk(txn, upto, &rows); !st) return st;
    if (auto st = txn.commit(txn.last_seq, 0); !st) return st;
  }
}

// Folds the events with seq in (txn.aggregated_seq, upto] into the aggregates, in txn. `rows`
// (empty, kept until txn commits) receives them.
Status SqlStore::foldChunk(WriteTxn& txn, int64_t upto, std::deque<StoredDims>* rows) {
  // The events in (aggregated_seq, upto]: those remembered (unfolded_), the others read back.
  dropFolded(txn.aggregated_seq);
  int64_t mem_lo = 0, mem_hi = -1;  // the remembered seqs used, [mem_lo, mem_hi]
  if (!unfolded_.empty() && unfolded_.front().seq <= upto) {
    mem_lo = unfolded_.front().seq;
    mem_hi = std::min(upto, unfolded_.back().seq);
  }
  auto readBack = [&](int64_t after, int64_t to) {
    if (after >= to) return Status::ok();
    return readStoredDims(*w_,
                          std::string("SELECT ") + kScanColumns +
                              " FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
                          {Param(after), Param(to)}, rows);
  };
  std::vector<const StoredDims*> all;  // in seq order
  if (auto st = readBack(txn.aggregated_seq, mem_hi < mem_lo ? upto : mem_lo - 1); !st) return st;
  for (const StoredDims& r : *rows) all.push_back(&r);
  for (const StoredDims& r : unfolded_) {
    if (r.seq > mem_hi) break;
    all.push_back(&r);
  }
  if (mem_hi >= mem_lo) {
    const size_t before = rows->size();
    if (auto st = readBack(mem_hi, upto); !st) return st;
    for (size_t i = before; i < rows->size(); ++i) all.push_back(&(*rows)[i]);
  }
  std::vector<const StoredDims*> good;
  good.reserve(all.size());
  int64_t max_time = kMinI64;
  RollupDeltas rollups(txn.folded_until);
  for (const StoredDims* row : all) {
    const StoredDims& r = *row;
    if (r.damaged) {
      logUnreadable(static_cast<uint64_t>(r.seq), Status::corruption("its keys cannot be decoded"));
      continue;
    }
    good.push_back(&r);
    max_time = std::max(max_time, r.time_us);
    rollups.addEvent(dimsOf(r), +1);
  }
  if (!good.empty()) {
    Status st = rollups.flush(*w_, [&](auto* k) { return resolveKeys(txn, k); });
    if (st) st = upsertAttackers(good);
    if (st) st = foldPerIp(good, upto);
    if (st) st = foldDays(txn, max_time);
    if (!st) return st;
  }
  txn.aggregated_seq = upto;
  return Status::ok();
}

// Before a read of the aggregates. A fold that fails (a full disk) is logged and the read
// answers from the aggregates as they are, a little behind (stats().unfolded says how much),
// rather than not at all. Nothing to fold (the common case) costs one read of the writer row,
// without the writer lock.
void SqlStore::catchUp() {
  if (!foldAllowed()) return;
  {
    auto lease = readers_.acquire();
    bool behind = true;
    auto st = !lease ? lease.status()
                     : lease->db().run("SELECT last_seq, aggregated_seq FROM writer WHERE id = 1",
                                       {}, [&](const Row& r) { behind = r.i64(1) < r.i64(0); });
    if (st && !behind) return;
  }
  if (auto st = foldBehind(); !st) foldFailed(st);
}

// After a failed fold, inserts and reads leave folding alone for kFoldBackoff (foldPending()
// and retention still try): a lasting failure (a full disk, a damaged row the database refuses)
// must not redo a fold of up to kFoldChunk events at every batch and every read.
bool SqlStore::foldAllowed() const {
  return std::chrono::steady_clock::now().time_since_epoch().count() >=
         fold_retry_at_.load(std::memory_order_relaxed);
}

void SqlStore::foldFailed(const Status& why) {
  logFoldFailure(why);
  fold_retry_at_.store(
      (std::chrono::steady_clock::now() + kFoldBackoff).time_since_epoch().count(),
      std::memory_order_relaxed);
}

// Folds the hour rows of the days that are over (by the newest event time seen) into day rows
// and all-time rows, so that long ranges read one row per key and day, or per key. Events that
// arrive late for a folded day update all three levels (RollupDeltas), so they stay equal.
Status SqlStore::foldDays(WriteTxn& txn, int64_t max_time_us) {
  const int64_t until = floorTo(rollupTime(max_time_us), kDayUs);
  if (txn.folded_until && *txn.folded_until >= until) return Status::ok();
  const int64_t from = txn.folded_until ? *txn.folded_until : kMinI64;
  if (dialect_ == Dialect::kSqlite) {
    if (auto st = foldDaysHere(from, until); !st) return st;
    txn.folded_until = until;
    return Status::ok();
  }
  // One dimension at a time: each statement reads one range of the primary key.
  for (int kind : kDimensionKinds) {
    std::vector<Param> days{Param(int64_t{kLevelDay}), Param(int64_t{kLevelHour}), Param(kind),
                            Param(from), Param(until)};
    auto st = w_->run(
        "INSERT INTO rollups (level, kind, bucket, key, n) "
        "SELECT ?, kind, bucket - (((bucket % 86400000000) + 86400000000) % 86400000000) AS day, "
        "key, CAST(SUM(n) AS BIGINT) FROM rollups "
        "WHERE level = ? AND kind = ? AND bucket >= ? AND bucket < ? GROUP BY kind, day, key "
        "ON CONFLICT (level, kind, bucket, key) DO UPDATE SET n = rollups.n + excluded.n",
        days);
    if (!st) return st;
    std::vector<Param> all{Param(int64_t{kLevelAll}), Param(int64_t{kLevelDay}), Param(kind),
                           Param(from), Param(until)};
    st = w_->run(
        "INSERT INTO rollups (level, kind, bucket, key, n) "
        "SELECT ?, kind, 0, key, CAST(SUM(n) AS BIGINT) FROM rollups "
        "WHERE level = ? AND kind = ? AND bucket >= ? AND bucket < ? GROUP BY kind, key "
        "ON CONFLICT (level, kind, bucket, key) DO UPDATE SET n = rollups.n + excluded.n",
        all);
    if (!st) return st;
  }
  txn.folded_until = until;
  return Status::ok();
}

// foldDays() on SQLite: the hour rows read once, summed here per day and key and per key, and
// written as upserts of 64 rows a statement. SQLite's INSERT ... SELECT ... GROUP BY sorted the
// rows of a day in a temporary b-tree, then read the day rows back for the all-time rows: about
// twice the work (docs/store.md, "Folding"). The day rows of [from, until) hold nothing yet
// (events of a day before it is folded count in its hour rows only), so their sums are the
// all-time rows' deltas too.
Status SqlStore::foldDaysHere(int64_t from, int64_t until) {
  struct DayKey {
    int64_t day, key;
    bool operator==(const DayKey&) const = default;
  };
  struct DayKeyHash {
    size_t operator()(const DayKey& k) const {
      return std::hash<uint64_t>()(static_cast<uint64_t>(k.day) * 0x9e3779b97f4a7c15ull ^
                                   static_cast<uint64_t>(k.key));
    }
  };
  std::unordered_map<DayKey, int64_t, DayKeyHash> days;
  std::unordered_map<int64_t, int64_t> all;
  std::vector<std::pair<DayKey, int64_t>> rows;
  std::vector<Param> params;
  // The hour rows are read kFoldDayRows at a time (a first fold over a long history would hold
  // them all): the sums of each part are added to the day and all-time rows, which the
  // upsert's `n + excluded.n` makes the same as one sum.
  const int64_t per_read = fold_day_rows.load(std::memory_order_relaxed);
  for (int kind : kDimensionKinds) {
    int64_t after_bucket = kMinI64, after_key = kMinI64;  // the last row read (none yet)
    for (;;) {
      days.clear();
      all.clear();
      int64_t read = 0;
      auto st = w_->run(
          "SELECT bucket, key, n FROM rollups WHERE level = ? AND kind = ? AND bucket >= ? AND "
          "bucket < ? AND (bucket, key) > (?, ?) ORDER BY bucket, key LIMIT ?",
          std::vector<Param>{Param(int64_t{kLevelHour}), Param(kind), Param(from), Param(until),
                             Param(after_bucket), Param(after_key), Param(per_read)},
          [&](const Row& r) {
            after_bucket = r.i64(0);
            after_key = r.i64(1);
            const int64_t n = r.i64(2);
            days[DayKey{floorTo(after_bucket, kDayUs), after_key}] += n;
            all[after_key] += n;
            ++read;
          });
      if (!st) return st;
      rows.assign(days.begin(), days.end());
      for (const auto& [key, n] : all) rows.push_back({DayKey{kMinI64, key}, n});
      // In the primary key's order: the day rows (by day, key), then the all-time rows (by key).
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        const bool a_all = a.first.day == kMinI64, b_all = b.first.day == kMinI64;
        return std::tuple(a_all, a.first.day, a.first.key) <
               std::tuple(b_all, b.first.day, b.first.key);
      });
      params.clear();
      params.reserve(rows.size() * 5);
      for (const auto& [k, n] : rows) {
        const bool is_all = k.day == kMinI64;
        params.emplace_back(int64_t{is_all ? kLevelAll : kLevelDay});
        params.emplace_back(kind);
        params.emplace_back(is_all ? int64_t{0} : k.day);
        params.emplace_back(k.key);
        params.emplace_back(n);
      }
      st = insertEach(
          *w_,
          "INSERT INTO rollups (level, kind, bucket, key, n) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT (level, kind, bucket, key) DO UPDATE SET n = rollups.n + excluded.n",
          5, params);
      if (!st) return st;
      if (read < per_read) break;
    }
  }
  return Status::ok();
}

bool SqlStore::sampling() const {
  return compressor_.dictionary() == 0 || since_training_ + kDictionarySamples >= kRetrainEvents;
}

Status SqlStore::loadNewestDictionary() {
  std::lock_guard lock(write_mu_);
  std::string dict;
  auto st = w_->run("SELECT bytes FROM dictionaries ORDER BY created_seq DESC, id DESC LIMIT 1", {},
                    [&](const Row& r) { dict.assign(r.bytes(0)); });
  if (!st) return st;
  if (!dict.empty()) useDictionary(dict);
  return Status::ok();
}

void SqlStore::useDictionary(const std::string& bytes) {
  compressor_.useDictionary(bytes);
  dictionary_ = bytes;
  dictionary_id_.store(compressor_.dictionary(), std::memory_order_relaxed);
  known_dictionaries_.insert(compressor_.dictionary());
}

// A sensor's own dictionary (Store::packingDictionaryId). The known ids are asked again every
// 10 minutes (another collector of a PostgreSQL fleet may have retrained one), a sensor without
// one every 10 s.
uint32_t SqlStore::packingDictionaryId(const std::string& sensor) {
  constexpr double kRecheckKnown = 600, kRecheckNone = 10;
  constexpr size_t kMaxSensors = 100'000;  // remembered; more and the map starts again
  const double now =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  {
    std::lock_guard lock(sensor_dictionaries_mu_);
    if (sensor_dictionaries_.size() >= kMaxSensors) sensor_dictionaries_.clear();
    SensorDictionary& d = sensor_dictionaries_[sensor];
    if (d.refreshing) return d.id;  // one caller at a time asks (and trains)
    // A sensor without one is asked about again as soon as it may have the events for one.
    const bool may_train = d.id == 0 && d.stored + static_cast<int64_t>(d.inserted) >=
                                            static_cast<int64_t>(kDictionarySamples);
    if (!may_train && now - d.checked_at < (d.id != 0 ? kRecheckKnown : kRecheckNone)) {
      return d.id;
    }
    d.checked_at = now;
    d.inserted = 0;
    d.refreshing = true;
  }
  int64_t stored = 0;
  auto id = refreshSensorDictionary(sensor, &stored);
  if (!id) {
    spdlog::warn("store: the packing dictionary of sensor {}: {}", sensor, id.status().message());
  }
  std::lock_guard lock(sensor_dictionaries_mu_);
  SensorDictionary& d = sensor_dictionaries_[sensor];
  d.refreshing = false;
  if (id) {
    d.id = id.value();
    d.stored = stored;
    if (d.id == 0 && stored >= static_cast<int64_t>(kDictionarySamples)) {
      // The events were there and made no dictionary (bodies too large to sample, or too
      // alike): tried again after 500 more, or in 10 minutes.
      d.stored = 0;
      d.checked_at = now + kRecheckKnown - kRecheckNone;
    }
  }
  return d.id;
}

Result<std::optional<Store::Dictionary>> SqlStore::packingDictionary(const std::string& sensor) {
  const uint32_t id = packingDictionaryId(sensor);
  if (id == 0) return std::optional<Dictionary>();
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  auto bytes = loadDictionary(lease->db(), id);
  if (!bytes) return bytes.status();
  if (!bytes.value()) return std::optional<Dictionary>();
  return std::optional<Dictionary>(Dictionary{id, std::move(*bytes.value())});
}

Result<uint32_t> SqlStore::refreshSensorDictionary(const std::string& sensor, int64_t* stored) {
  int64_t events = 0, trained_at = 0, id = 0;
  std::vector<std::string> samples;
  {
    auto lease = readers_.acquire();
    if (!lease) return lease.status();
    Db& rd = lease->db();
    auto st = rd.run("SELECT events, dictionary, dictionary_events FROM sensors WHERE sensor = ?",
                     std::vector<Param>{Param(sensor)}, [&](const Row& r) {
                       events = r.i64(0);
                       id = r.i64(1);
                       trained_at = r.i64(2);
                     });
    if (!st) return st;
    *stored = events;
    const bool fresh = id != 0 && events - trained_at < static_cast<int64_t>(kRetrainEvents);
    if (fresh || events < static_cast<int64_t>(kDictionarySamples)) {
      return static_cast<uint32_t>(id);
    }
    // Its newest bodies (by transaction id, which the sensor's index orders), decompressed.
    Status inner;
    std::string body;
    st = rd.run(
        "SELECT b.body FROM events e JOIN event_bodies b ON b.seq = e.seq WHERE e.sensor = ? "
        "ORDER BY e.unique_id DESC LIMIT ?",
        std::vector<Param>{Param(sensor), Param(static_cast<int64_t>(kDictionarySamples))},
        [&](const Row& r) {
          if (!inner) return;
          auto d = lease->decompressor().decompress(r.bytes(0), &body, lease->loader());
          if (!d) {
            if (d.code() != Status::Code::kCorruption) inner = d;  // a damaged row: skipped
            return;
          }
          if (body.size() <= kMaxSampleBytes) samples.push_back(body);
        });
    if (!st) return st;
    if (!inner) return inner;
  }
  if (samples.size() < kDictionarySamples / 2) return static_cast<uint32_t>(id);
  auto dict = trainDictionary(samples, kDictionaryBytes);
  if (!dict) return static_cast<uint32_t>(id);
  const uint32_t new_id = internal::dictionaryId(*dict);
  std::lock_guard lock(write_mu_);
  WriteTxn txn(*this);
  if (auto st = txn.begin(); !st) return st;
  auto st = w_->run(
      "INSERT INTO dictionaries (id, created_seq, bytes) VALUES (?, ?, ?) ON CONFLICT (id) DO "
      "NOTHING",
      std::vector<Param>{Param(static_cast<int64_t>(new_id)), Param(txn.last_seq), Param(*dict)});
  if (!st) return st;
  auto kept = loadDictionary(*w_, new_id);
  if (!kept) return kept.status();
  // An id taken by another dictionary (random 32-bit ids): this one is dropped.
  if (kept.value() != dict) return static_cast<uint32_t>(id);
  st = w_->run(
      "UPDATE sensors SET dictionary = ?, dictionary_events = ? WHERE sensor = ?",
      std::vector<Param>{Param(static_cast<int64_t>(new_id)), Param(events), Param(sensor)});
  if (!st) return st;
  if (auto c = txn.commit(txn.last_seq, 0); !c) return c;
  known_dictionaries_.insert(new_id);
  spdlog::info("store: trained packing dictionary {} for sensor {} on {} of its events", new_id,
               sensor, samples.size());
  return new_id;
}

Status SqlStore::maybeTrainDictionary() {
  if (samples_.size() < kDictionarySamples) return Status::ok();
  auto dict = trainDictionary(samples_, kDictionaryBytes);
  samples_.clear();
  since_training_ = 0;
  if (!dict) return Status::ok();  // the samples made no useful dictionary: try again later
  const uint32_t id = internal::dictionaryId(*dict);
  // Stored (and committed) before any event uses it. Ids are random 32-bit numbers: if one is
  // taken already by another dictionary, this one is dropped.
  WriteTxn txn(*this);
  if (auto st = txn.begin(); !st) return st;
  auto st = w_->run(
      "INSERT INTO dictionaries (id, created_seq, bytes) VALUES (?, ?, ?) ON CONFLICT (id) DO "
      "NOTHING",
      std::vector<Param>{Param(static_cast<int64_t>(id)), Param(txn.last_seq), Param(*dict)});
  if (!st) return st;
  auto stored = loadDictionary(*w_, id);
  if (!stored) return stored.status();
  if (auto c = txn.commit(txn.last_seq, 0); !c) return c;
  if (stored.value() == dict) useDictionary(*dict);
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Reading events

Result<std::vector<StoredEvent>> SqlStore::readAfter(uint64_t after_seq, size_t limit,
                                                    uint64_t* examined_to) {
  std::vector<StoredEvent> out;
  if (examined_to != nullptr) *examined_to = after_seq;
  if (limit == 0) return out;
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::string scratch;
  // A body that cannot be decoded (a damaged row) is left out and logged: the readers (outputs,
  // the MISP reporter) see a gap in the seqs, count it as missed and go on, instead of failing
  // on that row for ever. A dictionary the database cannot deliver now is an error (retried).
  // Rows are fetched `limit` at a time (those past a full batch are not used), at most
  // kMaxExamined per call: a long run of damaged rows (a lost dictionary damages a million)
  // ends the call early, with what it found, and the reader comes back for more. A dictionary
  // found missing is not asked for again within the call.
  constexpr size_t kMaxExamined = 10000;
  std::unordered_set<uint32_t> missing;
  const Decompressor::Loader load = [&](uint32_t id) -> Result<std::optional<std::string>> {
    if (missing.count(id) != 0) return std::optional<std::string>();
    auto d = lease->loader()(id);
    if (d && !d.value()) missing.insert(id);
    return d;
  };
  size_t examined = 0;
  for (;;) {
    Status inner;
    size_t rows = 0;
    auto st = rd.run(std::string(kBodyWithSensor) + "WHERE b.seq > ? ORDER BY b.seq LIMIT ?",
                     std::vector<Param>{Param(after_seq), Param(static_cast<uint64_t>(limit))},
                     [&](const Row& r) {
                       ++rows;
                       if (!inner || out.size() == limit) return;
                       ++examined;
                       StoredEvent se;
                       se.seq = static_cast<uint64_t>(r.i64(0));
                       auto d = decodeEvent(lease->decompressor(), load, r.bytes(1), true, &scratch,
                                            &se.event);
                       if (d) {
                         se.event.sensor.assign(r.bytes(2));
                         after_seq = se.seq;
                         out.push_back(std::move(se));
                       } else if (d.code() == Status::Code::kCorruption) {
                         after_seq = se.seq;
                         logUnreadable(se.seq, d);
                       } else {
                         inner = d;
                       }
                     });
    if (!st) return st;
    if (!inner) return inner;
    if (examined_to != nullptr) *examined_to = after_seq;
    if (out.size() == limit || rows < limit) return out;  // full, or no more rows
    if (examined >= kMaxExamined) return out;  // damaged rows: the reader comes back
  }
}

Result<std::optional<StoredEvent>> SqlStore::event(uint64_t seq) {
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::optional<StoredEvent> out;
  std::string scratch;
  Status inner;
  auto st = rd.run(std::string(kBodyWithSensor) + "WHERE b.seq = ?", std::vector<Param>{Param(seq)},
                   [&](const Row& r) {
                     StoredEvent se;
                     se.seq = static_cast<uint64_t>(r.i64(0));
                     inner = decodeEvent(lease->decompressor(), lease->loader(), r.bytes(1), true,
                                         &scratch, &se.event);
                     se.event.sensor.assign(r.bytes(2));
                     out = std::move(se);
                   });
  if (!st) return st;
  if (!inner) return inner;
  return out;
}

Result<EventPage> SqlStore::events(const EventQuery& query) {
  EventPage page;
  const size_t limit = std::min(query.limit, kMaxPage);
  if (limit == 0) return page;
  const ScanBudget budget =
      query.max_scan != 0
          ? ScanBudget{query.max_scan, query.max_scan}
          : (dialect_ == Dialect::kSqlite ? kScanBudgetSqlite : kScanBudgetPostgres);
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  ReadTxn txn(rd);
  if (auto st = txn.begin(); !st) return st;
  // The seqs of the page (and one more, to know there is more), then their bodies only.
  std::vector<int64_t> seqs;
  bool more = false;
  Walk walk;
  auto st = walkNewest(
      rd, query.filter, query.before_seq, limit + 1, budget,
      [&](const ScanRow& row, const KeysView&) {
        if (seqs.size() == limit) {
          more = true;
          return false;
        }
        seqs.push_back(row.seq);
        return true;
      },
      &walk);
  if (!st) return st;
  // Copied out, then decoded: decoding may need a dictionary, read on this connection, which
  // is busy with the batch until it is done (PostgreSQL: a pipeline).
  std::vector<Param> params(seqs.begin(), seqs.end());
  std::vector<std::optional<std::string>> bodies(seqs.size());
  std::vector<std::string> sensors(seqs.size());
  st = rd.runMany(std::string(kBodyWithSensor) + "WHERE b.seq = ?", 1, params,
                  [&](size_t i, const Row& r) {
                    bodies[i] = std::string(r.bytes(1));
                    sensors[i].assign(r.bytes(2));
                  });
  if (!st) return st;
  page.events.reserve(seqs.size());
  std::string scratch;
  for (size_t i = 0; i < seqs.size(); ++i) {
    // A damaged row is left out of the page (and logged), as readAfter() does: one bad row
    // does not take the whole list down.
    StoredEvent se;
    se.seq = static_cast<uint64_t>(seqs[i]);
    Status d = bodies[i] ? decodeEvent(lease->decompressor(), lease->loader(), *bodies[i], false,
                                       &scratch, &se.event)
                         : Status::corruption("it has no body");
    if (d) {
      se.event.sensor = std::move(sensors[i]);
      page.events.push_back(std::move(se));
    } else if (d.code() == Status::Code::kCorruption) {
      logUnreadable(se.seq, d);
    } else {
      return d;
    }
  }
  if (more) {
    page.next_cursor = static_cast<uint64_t>(seqs.back());
  } else if (!walk.complete) {
    // The budget ran out: the next page goes on below where this one stopped.
    page.partial = true;
    page.next_cursor = static_cast<uint64_t>(walk.cursor);
    if (auto found = timeOfFirstEvent(rd, query.filter.ip, walk.cursor); !found) {
      return found.status();
    } else if (found.value()) {
      page.searched_until_us = *found.value();
    }
  }
  return page;
}

// ---------------------------------------------------------------------------------------------
// Attackers

// A page of attackers. Each order has its index, (column DESC, ip) (schema version 4): a page
// without a residual condition (one the index does not narrow: a sensor, category or trap, a
// time range by last_seen with another order) reads its rows, the offset's included, and no
// more. With one, the rows are walked in the index's order (keyset pagination: each statement
// starts after the last row of the one before), the database keeping those whose sets hold the
// element's bytes (a prefilter; the exact check is attackerResidual()):
//  * without a budget, kScanChunk rows that may match at a time, until the page is full;
//  * with one (reach), windows of rows: the last row of the next window from the index alone,
//    then the rows of the window that may match, so that every row looked at counts against
//    the budget and only those that may match are read whole.
Result<std::vector<AttackerRow>> SqlStore::attackersWithin(const AttackerQuery& query,
                                                           ScanReach* reach) {
  std::vector<AttackerRow> out;
  if (reach != nullptr) {
    reach->partial = false;
    reach->searched_until_us = 0;
  }
  const size_t limit = std::min(query.limit, kMaxPage);
  const char* order = nullptr;
  if (query.order == "last_seen") order = "last_seen_us";
  else if (query.order == "events") order = "events";
  else if (query.order == "first_seen") order = "first_seen_us";
  else return Status::invalidArgument("store: attackers order must be last_seen, events or first_seen");
  if (limit == 0) return out;
  catchUp();
  const EventFilter& f = query.filter;
  const bool lite = dialect_ == Dialect::kSqlite;
  const bool by_last_seen = query.order == "last_seen";
  const bool sets = !f.sensor.empty() || !f.category.empty() || !f.trap.empty();
  // Conditions the index narrows (the time range when the order is by last_seen, an ip), and
  // those checked row by row.
  std::string range;
  std::vector<Param> range_params;
  std::string residual;
  std::vector<Param> residual_params;
  std::deque<std::string> owned;
  auto timeConditions = [&](std::string* sql, std::vector<Param>* p) {
    if (f.from_us != 0) {
      *sql += " AND last_seen_us >= ?";
      p->emplace_back(f.from_us);
    }
    if (f.to_us != 0) {
      *sql += " AND last_seen_us < ?";
      p->emplace_back(f.to_us);
    }
  };
  if (!f.ip.empty()) {
    range += " AND ip = ?";
    range_params.emplace_back(f.ip);
  }
  if (by_last_seen || !f.ip.empty()) {
    timeConditions(&range, &range_params);
  } else {
    timeConditions(&residual, &residual_params);
  }
  auto setCondition = [&](const std::string& element, const char* column) {
    if (element.empty()) return;
    owned.push_back(keysPattern(element));  // a set's element is encoded as a key is
    residual += lite ? std::string(" AND instr(") + column + ", ?) > 0"
                     : std::string(" AND position(? in ") + column + ") > 0";
    residual_params.emplace_back(owned.back());
  };
  setCondition(f.sensor, "sensors");
  setCondition(f.category, "categories");
  setCondition(f.trap, "traps");

  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  Status inner;
  size_t skipped = 0;
  // Decodes a row (the columns of kAttackerColumns); keeps it if it matches, past the offset.
  auto take = [&](const Row& r) {
    AttackerRow a;
    inner = decodeAttacker(r, &a);
    if (!inner || !attackerResidual(f, a)) return;
    if (skipped < query.offset) {
      ++skipped;
      return;
    }
    out.push_back(std::move(a));
  };
  const std::string order_by = std::string(" ORDER BY ") + order + " DESC, ip";

  if (residual.empty() && !sets) {
    // The index gives the page: no row beyond it is read.
    std::string sql = std::string("SELECT ") + kAttackerColumns + " FROM attackers WHERE 1 = 1" +
                      range + order_by + " LIMIT ? OFFSET ?";
    std::vector<Param> params = range_params;
    params.emplace_back(static_cast<uint64_t>(limit));
    params.emplace_back(static_cast<uint64_t>(query.offset));
    skipped = query.offset;  // by the database
    auto st = rd.run(sql, params, [&](const Row& r) {
      if (inner) take(r);
    });
    if (!st) return st;
    if (!inner) return inner;
    return out;
  }

  // Row by row, in windows of the index's order (keyset pagination: each starts after the
  // last row of the previous one: k <= ? AND (k < ? OR ip > ?) in the order k DESC, ip).
  ScanStop stop;
  if (reach != nullptr) {
    stop.budget = reach->max_scan != 0 ? reach->max_scan
                                       : (lite ? kAttackerBudgetSqlite : kAttackerBudgetPostgres);
  }
  const std::string k(order);
  const std::string after = " AND " + k + " <= ? AND (" + k + " < ? OR ip > ?)";
  const std::string upto = " AND " + k + " >= ? AND (" + k + " > ? OR ip <= ?)";
  // With a budget, a window of kAttackerWindow rows (or what is left of the budget) at a time:
  // its last row first, from the index alone, then its rows that may match. Without one, the
  // rows that may match, kScanChunk at a time.
  const std::string last_sql = "SELECT " + k + ", ip FROM attackers WHERE 1 = 1" + range +
                               "%AFTER%" + order_by + " LIMIT 1 OFFSET ?";
  const std::string rows_sql = std::string("SELECT ") + kAttackerColumns + ", " + k +
                               " FROM attackers WHERE 1 = 1" + range + residual + "%AFTER%" +
                               "%UPTO%" + order_by + " LIMIT ?";
  auto fill = [](std::string sql, bool with_after, bool with_upto, const std::string& a,
                 const std::string& u) {
    sql.replace(sql.find("%AFTER%"), 7, with_after ? a : "");
    const size_t at = sql.find("%UPTO%");
    if (at != std::string::npos) sql.replace(at, 6, with_upto ? u : "");
    return sql;
  };
  bool started = false;
  int64_t last_k = 0;
  std::string last_ip;
  for (;;) {
    std::vector<Param> base = range_params;
    if (started) {
      base.emplace_back(last_k);
      base.emplace_back(last_k);
      base.emplace_back(last_ip);
    }
    // The window's end, when a budget bounds it and the rows go on past it.
    std::optional<std::pair<int64_t, std::string>> end;
    uint64_t window = 0;
    if (stop.budget != 0) {
      window = std::min<uint64_t>(kAttackerWindow, stop.budget - stop.examined);
      std::vector<Param> p = base;
      p.emplace_back(static_cast<int64_t>(window - 1));
      auto st = rd.run(fill(last_sql, started, false, after, upto), p,
                       [&](const Row& r) { end.emplace(r.i64(0), std::string(r.bytes(1))); });
      if (!st) return st;
    }
    std::vector<Param> p = range_params;
    p.insert(p.end(), residual_params.begin(), residual_params.end());
    p.insert(p.end(), base.begin() + static_cast<std::ptrdiff_t>(range_params.size()), base.end());
    if (end) {
      p.emplace_back(end->first);
      p.emplace_back(end->first);
      p.emplace_back(end->second);
    }
    // Within a window every row that may match is wanted; without one, kScanChunk of them.
    p.emplace_back(static_cast<int64_t>(end ? window : kScanChunk));
    size_t rows = 0;
    bool full = false;
    auto st = rd.run(fill(rows_sql, started, end.has_value(), after, upto), p, [&](const Row& r) {
      if (!inner || full) return;
      ++rows;
      last_k = r.i64(9);
      last_ip.assign(r.bytes(0));
      take(r);
      full = out.size() == limit;
    });
    if (!st) return st;
    if (!inner) return inner;
    started = true;
    if (full) return out;
    if (stop.budget == 0) {
      if (rows < kScanChunk) return out;  // no row that may match is left
      continue;
    }
    if (!end) return out;  // the window held every row left
    stop.examined += window;
    last_k = end->first;
    last_ip = std::move(end->second);
    if (stop.examined >= stop.budget) {
      // Stopped at the budget (whether a row is left does not matter): partial.
      if (reach != nullptr) {
        reach->partial = true;
        reach->searched_until_us = query.order == "events" ? 0 : last_k;
      }
      return out;
    }
  }
}

Result<std::optional<AttackerRow>> SqlStore::attacker(const std::string& ip) {
  catchUp();
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::optional<AttackerRow> out;
  Status inner;
  auto st = rd.run(std::string("SELECT ") + kAttackerColumns + " FROM attackers WHERE ip = ?",
                   std::vector<Param>{Param(ip)}, [&](const Row& r) {
                     AttackerRow a;
                     inner = decodeAttacker(r, &a);
                     out = std::move(a);
                   });
  if (!st) return st;
  if (!inner) return inner;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Aggregates

Result<std::optional<int64_t>> SqlStore::foldedUntil(Db& db) {
  std::optional<int64_t> out;
  auto st = db.run("SELECT folded_until FROM writer WHERE id = 1", {}, [&](const Row& r) {
    if (!r.isNull(0)) out = r.i64(0);
  });
  if (!st) return st;
  return out;
}

ScanStop SqlStore::scanStopFor(const EventFilter& f, const ScanReach* reach) const {
  ScanStop stop;
  if (!reach) return stop;
  if (reach->max_scan != 0) {
    stop.budget = reach->max_scan;
  } else {
    const AggregateBudget& b =
        dialect_ == Dialect::kSqlite ? kAggregateBudgetSqlite : kAggregateBudgetPostgres;
    const bool by_index = !f.ip.empty() || f.from_us != 0 || f.to_us != 0;
    stop.budget = by_index ? b.by_index : b.by_seq;
  }
  return stop;
}

// What a budgeted scan tells its caller.
void reportReach(const ScanStop& stop, ScanReach* reach) {
  if (!reach) return;
  reach->partial = stop.cut;
  reach->searched_until_us = stop.cut ? stop.last_time_us : 0;
}

// Counts per key of `kind` over the events matching `f`, scanning them.
Status SqlStore::scanCounts(Db& rd, int kind, const EventFilter& f,
                            std::unordered_map<std::string, uint64_t>* out, ScanStop* stop,
                            int64_t max_seq) {
  Numbers numbers;
  return scanMatching(
      rd, f,
      [&](const ScanRow& r, const KeysView& k) {
        forEachKey(dimsOf(r, k), kind, numbers, [&](std::string_view key) {
          auto it = out->find(std::string(key));
          if (it == out->end()) it = out->emplace(std::string(key), 0).first;
          ++it->second;
        });
        return true;
      },
      stop, max_seq);
}

Result<int64_t> SqlStore::aggregatedSeq(Db& rd) {
  int64_t seq = 0;
  auto st = rd.run("SELECT aggregated_seq FROM writer WHERE id = 1", {},
                   [&](const Row& r) { seq = r.i64(0); });
  if (!st) return st;
  return seq;
}

// Counts per key of `kind` over a time range: rollup rows for the whole hours and days inside
// it (by key id, into `ids`), a scan of the events for the partial hours at its ends (by key,
// into `edges`).
Status SqlStore::rollupCounts(Db& rd, int kind, const EventFilter& f,
                              std::unordered_map<int64_t, uint64_t>* ids,
                              std::unordered_map<std::string, uint64_t>* edges) {
  const bool has_from = f.from_us != 0, has_to = f.to_us != 0;
  if (has_from && has_to && f.from_us >= f.to_us) return Status::ok();
  // The events scanned (the partial hours at the ends, or all of a range without a whole hour)
  // are those the rollups hold, no later ones (batches committed since the last fold), as of
  // the same transaction: the edges and the interior count the same events.
  auto aggregated = aggregatedSeq(rd);
  if (!aggregated) return aggregated.status();
  const int64_t horizon = aggregated.value();
  // The interior [h0, h1) is hour-aligned.
  int64_t h0 = kMinI64, h1 = kMaxI64;
  if (has_from) {
    const auto c = ceilTo(f.from_us, kHourUs);
    if (!c) return scanCounts(rd, kind, f, edges, nullptr, horizon);
    h0 = *c;
  }
  if (has_to) h1 = floorTo(f.to_us, kHourUs);
  if (h0 >= h1) return scanCounts(rd, kind, f, edges, nullptr, horizon);  // no whole hour inside
  if (has_from && f.from_us != h0) {
    EventFilter edge;
    edge.from_us = f.from_us;
    edge.to_us = h0;
    if (auto st = scanCounts(rd, kind, edge, edges, nullptr, horizon); !st) return st;
  }
  if (has_to && f.to_us != h1) {
    EventFilter edge;
    edge.from_us = h1;
    edge.to_us = f.to_us;
    if (auto st = scanCounts(rd, kind, edge, edges, nullptr, horizon); !st) return st;
  }
  auto folded = foldedUntil(rd);
  if (!folded) return folded.status();
  struct Piece {
    int level;
    int64_t lo, hi;
  };
  std::vector<Piece> pieces;
  const std::optional<int64_t> d0 =
      h0 == kMinI64 ? std::optional<int64_t>(kMinI64) : ceilTo(h0, kDayUs);
  int64_t d1 = h1 == kMaxI64 ? kMaxI64 : floorTo(h1, kDayUs);
  if (folded.value()) d1 = std::min(d1, *folded.value());
  if (folded.value() && d0 && *d0 < d1) {
    // Whole folded days: every one of them (the all-time rows) or a range of day rows.
    if (*d0 == kMinI64 && d1 == *folded.value()) pieces.push_back({kLevelAll, 0, 1});
    else pieces.push_back({kLevelDay, *d0, d1});
    if (h0 < *d0) pieces.push_back({kLevelHour, h0, *d0});
    if (d1 < h1) pieces.push_back({kLevelHour, d1, h1});
  } else {
    pieces.push_back({kLevelHour, h0, h1});
  }
  for (const Piece& p : pieces) {
    // Summed here rather than with GROUP BY: a hash of integers beats SQLite's sorter by far.
    auto st = rd.run(
        "SELECT key, n FROM rollups WHERE level = ? AND kind = ? AND bucket >= ? AND bucket < ?",
        std::vector<Param>{Param(p.level), Param(kind), Param(p.lo), Param(p.hi)},
        [&](const Row& r) {
          const int64_t n = r.i64(1);
          if (n > 0) (*ids)[r.i64(0)] += static_cast<uint64_t>(n);
        });
    if (!st) return st;
  }
  return Status::ok();
}

Result<std::vector<TopItem>> SqlStore::top(Dimension dimension, const EventFilter& filter,
                                           size_t limit, ScanReach* reach) {
  std::vector<TopItem> out;
  reportReach(ScanStop{}, reach);
  const int kind = kindOf(dimension);
  if (kind < 0) return Status::invalidArgument("store: unknown dimension");
  catchUp();
  limit = std::min(limit, kMaxPage);
  if (limit == 0) return out;
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  ReadTxn txn(rd);
  if (auto st = txn.begin(); !st) return st;
  std::unordered_map<std::string, uint64_t> counts;  // by key
  bool tracked = false;
  if (kind == kKindRule && onlyIpAndTime(filter) && filter.from_us == 0 && filter.to_us == 0) {
    auto t = ipTracked(rd, filter.ip);
    if (!t) return t.status();
    tracked = t.value();
  }
  if (tracked) {
    // One address's rules, all time: its ip_rules rows.
    auto st = rd.run("SELECT rule_id, events FROM ip_rules WHERE ip = ?",
                     std::vector<Param>{Param(filter.ip)}, [&](const Row& r) {
                       if (r.i64(1) > 0) {
                         counts[std::to_string(r.i64(0))] += static_cast<uint64_t>(r.i64(1));
                       }
                     });
    if (!st) return st;
  } else if (!onlyTimeRange(filter)) {
    ScanStop stop = scanStopFor(filter, reach);
    if (auto st = scanCounts(rd, kind, filter, &counts, &stop); !st) return st;
    reportReach(stop, reach);
  } else {
    std::unordered_map<int64_t, uint64_t> ids;
    if (auto st = rollupCounts(rd, kind, filter, &ids, &counts); !st) return st;
    // The edges' keys to their ids, so that both add up.
    std::vector<std::string> edge_keys;
    std::vector<Param> probe;
    for (const auto& [k, n] : counts) edge_keys.push_back(k);
    for (const auto& k : edge_keys) {
      probe.emplace_back(kind);
      probe.emplace_back(k);
    }
    auto st = rd.runMany("SELECT id FROM rollup_keys WHERE kind = ? AND key = ?", 2, probe,
                         [&](size_t i, const Row& r) {
                           auto it = counts.find(edge_keys[i]);
                           ids[r.i64(0)] += it->second;
                           counts.erase(it);
                         });
    if (!st) return st;
    // Only the best ids need their keys: the first `limit`, and those tied with the last of
    // them (ties are ordered by key).
    std::vector<std::pair<int64_t, uint64_t>> ranked(ids.begin(), ids.end());
    const size_t n = std::min(limit, ranked.size());
    auto by_count = [](const auto& a, const auto& b) { return a.second > b.second; };
    std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n ? n - 1 : 0),
                     ranked.end(), by_count);
    const uint64_t floor_count = n ? ranked[n - 1].second : 0;
    std::vector<Param> wanted;
    std::vector<uint64_t> wanted_counts;
    for (const auto& [id, c] : ranked) {
      if (c >= floor_count) {
        wanted.emplace_back(id);
        wanted_counts.push_back(c);
      }
    }
    st = rd.runMany(
        "SELECT key FROM rollup_keys WHERE id = ?", 1, wanted,
        [&](size_t i, const Row& r) { counts[std::string(r.bytes(0))] += wanted_counts[i]; });
    if (!st) return st;
  }
  std::vector<std::pair<const std::string*, uint64_t>> items;
  items.reserve(counts.size());
  for (const auto& [k, n] : counts) items.emplace_back(&k, n);
  const size_t n = std::min(limit, items.size());
  auto better = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : *a.first < *b.first;
  };
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(n), items.end(),
                    better);
  for (size_t i = 0; i < n; ++i) out.push_back(TopItem{*items[i].first, "", items[i].second});
  if (kind == kKindRule && !out.empty()) {
    std::vector<Param> ids;
    for (const auto& t : out) {
      ids.emplace_back(static_cast<int64_t>(std::strtoll(t.key.c_str(), nullptr, 10)));
    }
    auto st2 = rd.runMany("SELECT message FROM rules WHERE rule_id = ?", 1, ids,
                          [&](size_t i, const Row& r) { out[i].label.assign(r.bytes(0)); });
    if (!st2) return st2;
  }
  return out;
}

Result<std::vector<CountBucket>> SqlStore::countsOverTime(const EventFilter& filter,
                                                          int64_t bucket_us, ScanReach* reach) {
  reportReach(ScanStop{}, reach);
  if (bucket_us <= 0) return Status::invalidArgument("store: bucket_us must be positive");
  catchUp();
  const bool has_from = filter.from_us != 0, has_to = filter.to_us != 0;
  if (has_from && has_to) {
    if (filter.from_us >= filter.to_us) return std::vector<CountBucket>{};
    const int64_t first = floorTo(filter.from_us, bucket_us);
    int64_t span = 0;
    if (__builtin_sub_overflow(filter.to_us, first, &span) || span / bucket_us > kMaxBuckets) {
      return Status::invalidArgument("store: more than 1,000,000 buckets requested");
    }
  }
  std::map<int64_t, CountBucket> buckets;
  auto bump = [&](int64_t t, uint64_t n, uint64_t alerts) {
    const int64_t b = floorTo(t, bucket_us);
    CountBucket& c = buckets[b];
    c.start_us = b;
    c.count += n;
    c.alerts += alerts;
  };
  auto scan = [&](Db& rd, const EventFilter& f, ScanStop* stop = nullptr,
                  int64_t max_seq = kMaxI64) {
    return scanMatching(
        rd, f,
        [&](const ScanRow& r, const KeysView&) {
          bump(r.time_us, 1, isAlert(static_cast<int>(r.flags)) ? 1 : 0);
          return true;
        },
        stop, max_seq);
  };
  // The events an aggregate of a time range (or of one tracked address and a time range)
  // scans are those the rollups (ip_hours) hold: see rollupCounts(). Set in the transaction.
  int64_t horizon = kMaxI64;
  // A scan of the whole filter (not of the partial hours or buckets at the ends of a range
  // the rollups answer): within the budget.
  auto scanAll = [&](Db& rd) {
    ScanStop stop = scanStopFor(filter, reach);
    auto st = scan(rd, filter, &stop, horizon);
    if (st) reportReach(stop, reach);
    return st;
  };

  int level = -1;
  int64_t g = 0;
  if (bucket_us % kDayUs == 0) level = kLevelDay, g = kDayUs;
  else if (bucket_us % kHourUs == 0) level = kLevelHour, g = kHourUs;
  else if (bucket_us % kMinuteUs == 0) level = kLevelMinute, g = kMinuteUs;

  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  ReadTxn txn(rd);
  if (auto st = txn.begin(); !st) return st;
  bool tracked = false;
  if (onlyIpAndTime(filter) && bucket_us % kHourUs == 0) {
    auto t = ipTracked(rd, filter.ip);
    if (!t) return t.status();
    tracked = t.value();
  }
  if (tracked || onlyTimeRange(filter)) {
    auto aggregated = aggregatedSeq(rd);
    if (!aggregated) return aggregated.status();
    horizon = aggregated.value();
  }
  if (tracked) {
    // One address: its ip_hours rows for the whole hours of the range, its events for the
    // partial hours at the ends (each hour lies in one bucket: buckets are whole hours).
    int64_t h0 = kMinI64, h1 = kMaxI64;
    bool whole = true;
    if (has_from) {
      const auto c = ceilTo(filter.from_us, kHourUs);
      if (c) h0 = *c;
      else whole = false;
    }
    if (has_to) h1 = floorTo(filter.to_us, kHourUs);
    if (!whole || h0 >= h1) {
      if (auto st = scanAll(rd); !st) return st;
    } else {
      EventFilter edge;
      edge.ip = filter.ip;
      if (has_from && filter.from_us != h0) {
        edge.from_us = filter.from_us;
        edge.to_us = h0;
        if (auto st = scan(rd, edge, nullptr, horizon); !st) return st;
      }
      if (has_to && filter.to_us != h1) {
        edge.from_us = h1;
        edge.to_us = filter.to_us;
        if (auto st = scan(rd, edge, nullptr, horizon); !st) return st;
      }
      auto st = rd.run(
          "SELECT hour, events, alerts FROM ip_hours WHERE ip = ? AND hour >= ? AND hour < ?",
          std::vector<Param>{Param(filter.ip), Param(h0), Param(h1)}, [&](const Row& r) {
            if (r.i64(1) <= 0) return;
            bump(r.i64(0), static_cast<uint64_t>(r.i64(1)),
                 static_cast<uint64_t>(std::max<int64_t>(r.i64(2), 0)));
          });
      if (!st) return st;
    }
  } else if (level < 0 || !onlyTimeRange(filter)) {
    if (auto st = scanAll(rd); !st) return st;
  } else {
    int64_t g0 = kMinI64, g1 = kMaxI64;  // the interior, aligned to g
    bool whole = true;
    if (has_from) {
      const auto c = ceilTo(filter.from_us, g);
      if (c) g0 = *c;
      else whole = false;
    }
    if (has_to) g1 = floorTo(filter.to_us, g);
    if (!whole || g0 >= g1) {
      if (auto st = scanAll(rd); !st) return st;
    } else {
      if (has_from && filter.from_us != g0) {
        EventFilter edge;
        edge.from_us = filter.from_us;
        edge.to_us = g0;
        if (auto st = scan(rd, edge, nullptr, horizon); !st) return st;
      }
      if (has_to && filter.to_us != g1) {
        EventFilter edge;
        edge.from_us = g1;
        edge.to_us = filter.to_us;
        if (auto st = scan(rd, edge, nullptr, horizon); !st) return st;
      }
      auto st = rd.run(
          "SELECT kind, bucket, n FROM rollups WHERE level = ? AND kind <= ? AND bucket >= ? "
          "AND bucket < ?",
          std::vector<Param>{Param(level), Param(int64_t{kKindAlerts}), Param(g0), Param(g1)},
          [&](const Row& r) {
            const int64_t n = r.i64(2);
            if (n <= 0) return;
            if (r.i64(0) == kKindTotal)
              bump(r.i64(1), static_cast<uint64_t>(n), 0);
            else
              bump(r.i64(1), 0, static_cast<uint64_t>(n));
          });
      if (!st) return st;
    }
  }
  std::vector<CountBucket> out;
  if (has_from && has_to) {
    // Every bucket of the range, empty ones included.
    for (int64_t b = floorTo(filter.from_us, bucket_us); b < filter.to_us; b += bucket_us) {
      auto it = buckets.find(b);
      out.push_back(it != buckets.end() ? it->second : CountBucket{b, 0, 0});
      if (b > kMaxI64 - bucket_us) break;
    }
  } else {
    for (const auto& [b, c] : buckets) out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sensors, cursors, state, offsets

Status SqlStore::sensorSeen(const std::string& sensor, int64_t now_us, int64_t lag_ms,
                            const std::string& status_json) {
  std::lock_guard lock(write_mu_);
  return w_->run(
      "INSERT INTO sensors (sensor, first_seen_us, last_seen_us, events, lag_ms, status_json) "
      "VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (sensor) DO UPDATE SET "
      "first_seen_us = CASE WHEN excluded.first_seen_us < sensors.first_seen_us "
      "THEN excluded.first_seen_us ELSE sensors.first_seen_us END, "
      "last_seen_us = CASE WHEN excluded.last_seen_us > sensors.last_seen_us "
      "THEN excluded.last_seen_us ELSE sensors.last_seen_us END, "
      "lag_ms = excluded.lag_ms, status_json = excluded.status_json",
      std::vector<Param>{Param(sensor), Param(now_us), Param(now_us), Param(lag_ms),
                         Param(status_json)});
}

Result<std::vector<SensorRow>> SqlStore::sensors() {
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::vector<SensorRow> out;
  auto st = rd.run(
      "SELECT sensor, first_seen_us, last_seen_us, events, lag_ms, status_json FROM sensors "
      "ORDER BY sensor",
      {}, [&](const Row& r) {
        SensorRow s;
        s.sensor.assign(r.bytes(0));
        s.first_seen_us = r.i64(1);
        s.last_seen_us = r.i64(2);
        s.events = static_cast<uint64_t>(r.i64(3));
        s.lag_ms = r.i64(4);
        s.status_json.assign(r.bytes(5));
        out.push_back(std::move(s));
      });
  if (!st) return st;
  return out;
}

Result<uint64_t> SqlStore::cursor(const std::string& reader) {
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  uint64_t seq = 0;
  auto st = rd.run("SELECT seq FROM cursors WHERE reader = ?", std::vector<Param>{Param(reader)},
                   [&](const Row& r) { seq = static_cast<uint64_t>(r.i64(0)); });
  if (!st) return st;
  return seq;
}

Status SqlStore::setCursor(const std::string& reader, uint64_t seq) {
  std::lock_guard lock(write_mu_);
  return w_->run(
      "INSERT INTO cursors (reader, seq) VALUES (?, ?) "
      "ON CONFLICT (reader) DO UPDATE SET seq = excluded.seq",
      std::vector<Param>{Param(reader), Param(seq)});
}

Result<std::optional<std::string>> SqlStore::getState(const std::string& ns,
                                                      const std::string& key) {
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::optional<std::string> out;
  auto st = rd.run("SELECT value FROM state WHERE ns = ? AND key = ?",
                   std::vector<Param>{Param(ns), Param(key)},
                   [&](const Row& r) { out = std::string(r.bytes(0)); });
  if (!st) return st;
  return out;
}

Status SqlStore::putState(const std::string& ns, const std::string& key,
                          const std::string& value) {
  std::lock_guard lock(write_mu_);
  return w_->run(
      "INSERT INTO state (ns, key, value) VALUES (?, ?, ?) "
      "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
      std::vector<Param>{Param(ns), Param(key), Param(value)});
}

Result<std::vector<FileOffset>> SqlStore::fileOffsets() {
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  std::vector<FileOffset> out;
  auto st = rd.run("SELECT key, path, byte_offset, updated_us FROM file_offsets ORDER BY key", {},
                   [&](const Row& r) {
                     FileOffset o;
                     o.key.assign(r.bytes(0));
                     o.path.assign(r.bytes(1));
                     o.offset = static_cast<uint64_t>(r.i64(2));
                     o.updated_us = r.i64(3);
                     out.push_back(std::move(o));
                   });
  if (!st) return st;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Retention and stats

// Our tables (PostgreSQL's size is theirs, their indexes and TOAST included).
constexpr const char* kPostgresTables =
    "('events', 'event_bodies', 'rollups', 'rollup_keys', 'attackers', 'sensors', 'rules', "
    "'cursors', 'state', 'file_offsets', 'dictionaries', 'writer', 'schema_version', "
    "'seq_hours', 'ip_hours', 'ip_rules')";

Result<uint64_t> SqlStore::usedBytes(Db& db) {
  const std::string sql =
      dialect_ == Dialect::kSqlite
          ? "SELECT (page_count - freelist_count) * page_size "
            "FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
          : std::string(
                "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) "
                "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                "AND c.relkind = 'r' AND c.relname IN ") +
                kPostgresTables;
  int64_t bytes = 0;
  auto st = db.run(sql, {}, [&](const Row& r) { bytes = r.i64(0); });
  if (!st) return st;
  return static_cast<uint64_t>(std::max<int64_t>(bytes, 0));
}

// The size of the tables, and the same less the share of each one (its indexes with it, its
// TOAST table apart) that dead rows take: rows deleted or updated that VACUUM has not reached
// yet, by the statistics (n_dead_tup, which the server has within a second of a commit). The
// live rows of `events` and `event_bodies` (and of the TOAST table of the bodies: so many
// chunks per body) are the stored events, counted exactly; the statistics' count of live rows
// lags behind the inserts by up to a second.
Result<SqlStore::PostgresSize> SqlStore::measurePostgres() {
  PostgresSize out;
  std::lock_guard lock(write_mu_);
  auto st = w_->run("SELECT event_count, last_seq FROM writer WHERE id = 1", {}, [&](const Row& r) {
    out.events = r.i64(0);
    out.never_deleted = r.i64(1) == r.i64(0);
  });
  if (!st) return st;
  // This connection's own inserts, updates and deletes reach the statistics at most once a
  // second (and a lone one only after 10 s of idleness): with PostgreSQL 15 or later, make it
  // send them now, which it does when this statement ends (outside a transaction), so that the
  // dead rows of the folds just done are counted as dead.
  int64_t version = 0;
  st = w_->run("SELECT CAST(current_setting('server_version_num') AS BIGINT)", {},
               [&](const Row& r) { version = r.i64(0); });
  if (st && version >= 150000) st = w_->run("SELECT pg_stat_force_next_flush()", {});
  if (!st) return st;
  const std::string sql =
      std::string(
          "SELECT c.relname, pg_total_relation_size(c.oid), "
          "CASE WHEN c.reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(c.reltoastrelid) END, "
          "COALESCE(s.n_live_tup, 0), COALESCE(s.n_dead_tup, 0), COALESCE(ts.n_live_tup, 0), "
          "COALESCE(ts.n_dead_tup, 0) "
          "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
          "LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid "
          "LEFT JOIN pg_catalog.pg_stat_all_tables ts ON ts.relid = c.reltoastrelid "
          "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname IN ") +
      kPostgresTables;
  long double live = 0;
  st = w_->run(sql, {}, [&](const Row& r) {
    const auto share = [](long double alive, long double dead) {
      return alive + dead <= 0 ? 1.0L : alive / (alive + dead);
    };
    const int64_t total = std::max<int64_t>(r.i64(1), 0);
    const int64_t toast = std::clamp<int64_t>(r.i64(2), 0, total);
    const std::string_view name = r.bytes(0);
    long double main_share, toast_share;
    if (name == "events" || name == "event_bodies") {
      const long double events = static_cast<long double>(std::max<int64_t>(out.events, 0));
      main_share = toast_share = share(events, static_cast<long double>(r.i64(4)));
    } else {
      main_share = share(static_cast<long double>(r.i64(3)), static_cast<long double>(r.i64(4)));
      toast_share = share(static_cast<long double>(r.i64(5)), static_cast<long double>(r.i64(6)));
    }
    out.bytes += static_cast<uint64_t>(total);
    live += static_cast<long double>(total - toast) * main_share +
            static_cast<long double>(toast) * toast_share;
  });
  if (!st) return st;
  out.live_bytes = static_cast<uint64_t>(live);
  return out;
}

// Deletes up to `max_count` of the oldest events (by time; those older than `older_than_us`
// only, when given), in transactions of kRetentionChunk, taking them out of the rollups.
Result<uint64_t> SqlStore::deleteOldest(std::optional<int64_t> older_than_us,
                                        uint64_t max_count) {
  uint64_t deleted = 0;
  // What the aggregates subtract they must hold: fold first, in committed chunks.
  if (auto st = foldBehind(); !st) return st;
  while (deleted < max_count) {
    // One transaction at a time: this store's inserts go on between them.
    std::lock_guard lock(write_mu_);
    const uint64_t want = std::min<uint64_t>(kRetentionChunk, max_count - deleted);
    // Own the rows' bytes (the rollup deltas keep views into them until flushed), and those of
    // the events folded in this transaction.
    std::deque<StoredDims> folded, gone;
    WriteTxn txn(*this);
    if (auto st = txn.begin(); !st) return st;
    // What another writer (a second collector, another process) inserted since.
    const bool behind = txn.aggregated_seq < txn.last_seq;
    if (behind) {
      if (auto st = foldChunk(txn, txn.last_seq, &folded); !st) return st;
    }
    std::string sql = std::string("SELECT ") + kScanColumns + " FROM events";
    std::vector<Param> params;
    if (older_than_us) {
      sql += " WHERE time_us < ?";
      params.emplace_back(*older_than_us);
    }
    sql += " ORDER BY time_us, seq LIMIT ?";
    params.emplace_back(want);

    if (auto st = readStoredDims(*w_, sql, params, &gone); !st) return st;
    if (gone.empty()) {
      if (behind) {
        if (auto st = txn.commit(txn.last_seq, 0); !st) return st;
      }
      break;
    }

    RollupDeltas rollups(txn.folded_until);
    PerIpDeltas per_ip;
    // The tracked addresses among them (their ip_hours and ip_rules rows lose these events).
    std::unordered_set<std::string_view> tracked;
    {
      std::set<std::string_view> ips;
      for (const StoredDims& g : gone) ips.insert(g.ip);
      std::vector<Param> p(ips.begin(), ips.end());
      std::vector<std::string_view> order(ips.begin(), ips.end());
      auto s2 = w_->runMany("SELECT events FROM attackers WHERE ip = ?", 1, p,
                            [&](size_t i, const Row& r) {
                              if (static_cast<uint64_t>(r.i64(0)) >= kTrackedIpEvents) {
                                tracked.insert(order[i]);
                              }
                            });
      if (!s2) return s2;
    }
    std::vector<Param> seqs;
    for (const StoredDims& g : gone) {
      seqs.emplace_back(g.seq);
      if (g.damaged) continue;  // never folded (foldChunk): nothing to take out
      const EventDims d = dimsOf(g);
      rollups.addEvent(d, -1);
      if (tracked.count(g.ip) != 0) per_ip.addIp(g.ip, g.time_us, d.alert, g.k.rule_ids, -1);
    }
    if (auto s2 = w_->runMany("DELETE FROM events WHERE seq = ?", 1, seqs); !s2) return s2;
    if (auto s2 = w_->runMany("DELETE FROM event_bodies WHERE seq = ?", 1, seqs); !s2) return s2;
    if (auto s2 = per_ip.flush(*w_); !s2) return s2;
    std::vector<std::pair<int, int64_t>> lowered;
    if (auto s2 = rollups.flush(
            *w_, [&](auto* k) { return resolveKeys(txn, k); }, &lowered);
        !s2) {
      return s2;
    }
    if (auto s2 = dropHistory(txn, std::move(lowered)); !s2) return s2;
    if (auto s2 = txn.commit(txn.last_seq, -static_cast<int64_t>(gone.size())); !s2) return s2;
    deleted += gone.size();
    if (gone.size() < want) break;
  }
  return deleted;
}

// In a retention chunk's transaction, after its events were deleted and taken out of the
// aggregates: what no stored event needs any more, which would otherwise stay for ever and, under
// a size limit, leave less and less room to the events (docs/store.md, "Retention").
//  * Rollup keys that no rollup row refers to. A key with a stored event has an hour row for it
//    (hour rows stay when their days are folded), so of the keys whose hour rows went down
//    (`lowered`: kind, id), those with neither an all-time row (events in folded days) nor an
//    hour row in the days not folded yet (the newest day: at most 24 hours) are deleted. Ids are
//    never reused; writer.keys_epoch goes up, so that every writer forgets the ids it remembers.
//  * Attackers last seen before the oldest stored event: none of their events is stored (their
//    ip_hours and ip_rules rows went with the last of them). The rows of the others count every
//    event of theirs, those deleted included: history while the address is in the store.
//  * seq_hours of hours whose events are all gone.
Status SqlStore::dropHistory(WriteTxn& txn, std::vector<std::pair<int, int64_t>> lowered) {
  std::sort(lowered.begin(), lowered.end());
  lowered.erase(std::unique(lowered.begin(), lowered.end()), lowered.end());
  if (!lowered.empty()) {
    std::vector<int64_t> hours;  // of the days not folded
    std::vector<Param> p{Param(int64_t{kLevelHour}), Param(int64_t{kKindTotal})};
    std::string sql = "SELECT bucket FROM rollups WHERE level = ? AND kind = ? AND key = 0";
    if (txn.folded_until) {
      sql += " AND bucket >= ?";
      p.emplace_back(*txn.folded_until);
    }
    auto st = w_->run(sql, p, [&](const Row& r) { hours.push_back(r.i64(0)); });
    if (!st) return st;
    // A day not folded holds 24 hours (more: not a day; then the keys wait for the next run).
    if (hours.size() <= 24) {
      // One statement per key, each of its lookups the whole primary key of rollups (which
      // every database serves from its index, whatever its statistics say).
      std::string check = "SELECT 1 WHERE EXISTS (SELECT 1 FROM rollups WHERE level = " +
                          std::to_string(kLevelAll) + " AND kind = ? AND bucket = 0 AND key = ?)";
      for (size_t i = 0; i < hours.size(); ++i) {
        check += " OR EXISTS (SELECT 1 FROM rollups WHERE level = " + std::to_string(kLevelHour) +
                 " AND kind = ? AND bucket = ? AND key = ?)";
      }
      const size_t per = 2 + 3 * hours.size();
      std::vector<Param> params;
      params.reserve(lowered.size() * per);
      for (const auto& [kind, id] : lowered) {
        params.emplace_back(kind);
        params.emplace_back(id);
        for (int64_t h : hours) {
          params.emplace_back(kind);
          params.emplace_back(h);
          params.emplace_back(id);
        }
      }
      std::vector<char> used(lowered.size(), 0);
      st = w_->runMany(check, per, params, [&](size_t i, const Row&) { used[i] = 1; });
      if (!st) return st;
      std::vector<Param> unused;
      for (size_t i = 0; i < lowered.size(); ++i) {
        if (!used[i]) unused.emplace_back(lowered[i].second);
      }
      if (!unused.empty()) {
        st = w_->runMany("DELETE FROM rollup_keys WHERE id = ?", 1, unused);
        if (!st) return st;
        ++txn.keys_epoch;
      }
    }
  }
  std::optional<int64_t> oldest_time, oldest_seq;
  auto st = w_->run("SELECT MIN(time_us), MIN(seq) FROM events", {}, [&](const Row& r) {
    if (r.isNull(0)) return;
    oldest_time = r.i64(0);
    oldest_seq = r.i64(1);
  });
  if (!st) return st;
  uint64_t gone = 0;
  st = oldest_time ? w_->run("DELETE FROM attackers WHERE last_seen_us < ?",
                             std::vector<Param>{Param(*oldest_time)}, nullptr, &gone)
                   : w_->run("DELETE FROM attackers", {}, nullptr, &gone);
  if (!st) return st;
  if (gone != 0) {
    // This writer's memory of them (and of the rows the fold of this transaction wrote).
    attacker_cache_.clear();
    pending_attackers_.clear();
  }
  return oldest_seq ? w_->run("DELETE FROM seq_hours WHERE max_seq < ?",
                              std::vector<Param>{Param(*oldest_seq)})
                    : w_->run("DELETE FROM seq_hours", {});
}

Result<RetentionResult> SqlStore::applyRetention(int64_t older_than_us, uint64_t max_bytes) {
  // write_mu_ is taken for each statement or transaction, not for the whole run: this store's
  // inserts go on between the chunks of a long run.
  const auto used = [&] {
    std::lock_guard lock(write_mu_);
    return usedBytes(*w_);
  };
  RetentionResult out;
  auto before = used();
  if (!before) return before.status();
  out.bytes_before = before.value();
  // PostgreSQL: measured before anything of this run is deleted (the files keep their size, and
  // the events deleted by age would count as live bytes of the events left).
  std::optional<PostgresSize> pg_start;
  if (max_bytes != 0 && dialect_ == Dialect::kPostgres && out.bytes_before > max_bytes) {
    auto m = measurePostgres();
    if (!m) return m.status();
    pg_start = m.value();
  }
  if (older_than_us != 0) {
    auto n = deleteOldest(older_than_us, UINT64_MAX);
    if (!n) return n.status();
    out.deleted += n.value();
  }
  auto bytes = used();
  if (!bytes) return bytes.status();
  out.bytes_after = bytes.value();
  if (pg_start) {
    auto n = keepPostgresUnder(max_bytes, *pg_start, &out);
    if (!n) return n.status();
  } else if (max_bytes != 0 && dialect_ == Dialect::kSqlite) {
    auto st = keepSqliteUnder(max_bytes, &out);
    if (!st) return st;
  }
  return out;
}

// SQLite's used pages (page count less free pages) drop at once: delete, measure, repeat. The
// events' share of the size is what deleting them frees, their attackers and rollup keys with
// them (dropHistory): `state` keeps what the last run freed per event
// (`retention`/`sqlite-freed-per-event`), and a round goes by what the rounds before freed, by
// that, or by the bytes of the newest events' bodies if larger (events may have grown since);
// the first run ever by the store's size per event (too much when history is large, so at most
// half of the events). Never all the events for the sake of history: when deleting every one left
// would not be enough, or rounds freed nothing, it stops there and says so.
Status SqlStore::keepSqliteUnder(uint64_t max_bytes, RetentionResult* out) {
  static const std::string kNs = "retention", kKey = "sqlite-freed-per-event";
  long double known = 0;
  {
    std::lock_guard lock(write_mu_);
    auto st = w_->run("SELECT value FROM state WHERE ns = ? AND key = ?",
                      std::vector<Param>{Param(kNs), Param(kKey)}, [&](const Row& r) {
                        known = std::strtold(std::string(r.bytes(0)).c_str(), nullptr);
                      });
    if (!st) return st;
    if (known > 0) {
      long double body = 0;
      st = w_->run(
          "SELECT AVG(length(body)) FROM (SELECT body FROM event_bodies ORDER BY seq DESC "
          "LIMIT 1000) b",
          {}, [&](const Row& r) { body = static_cast<long double>(r.i64(0)); });
      if (!st) return st;
      known = std::max(known, body);
    }
  }
  uint64_t deleted = 0, freed = 0;
  for (int round = 0; round < 64 && out->bytes_after > max_bytes; ++round) {
    int64_t count = 0;
    {
      std::lock_guard lock(write_mu_);
      auto st = w_->run("SELECT event_count FROM writer WHERE id = 1", {},
                        [&](const Row& r) { count = r.i64(0); });
      if (!st) return st;
    }
    if (count <= 0) break;
    const long double over = static_cast<long double>(out->bytes_after - max_bytes);
    long double per = known;
    if (deleted >= 64) {
      if (freed == 0) {
        logHistoryOverLimit(static_cast<uint64_t>(count), out->bytes_after, max_bytes);
        break;
      }
      per = static_cast<long double>(freed) / static_cast<long double>(deleted);
    }
    uint64_t n;
    if (per > 0) {
      if (over / per >= static_cast<long double>(count)) {
        logHistoryOverLimit(static_cast<uint64_t>(count), out->bytes_after, max_bytes);
        break;
      }
      n = static_cast<uint64_t>(over / per) + 1;
    } else {
      const long double share = static_cast<long double>(out->bytes_after) / count;
      n = std::min(static_cast<uint64_t>(over / share) + 1,
                   std::max<uint64_t>(static_cast<uint64_t>(count) / 2, 1));
    }
    n = std::min(std::max<uint64_t>(n, 64), static_cast<uint64_t>(count));
    auto del = deleteOldest(std::nullopt, n);
    if (!del) return del.status();
    out->deleted += del.value();
    uint64_t now = 0;
    {
      std::lock_guard lock(write_mu_);
      auto used_now = usedBytes(*w_);
      if (!used_now) return used_now.status();
      now = used_now.value();
    }
    deleted += del.value();
    if (now < out->bytes_after) freed += out->bytes_after - now;
    out->bytes_after = now;
    if (del.value() == 0) break;
  }
  if (deleted >= 64 && freed > 0) {
    std::lock_guard lock(write_mu_);
    return w_->run(
        "INSERT INTO state (ns, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
        std::vector<Param>{Param(kNs), Param(kKey), Param(std::to_string(freed / deleted))});
  }
  return Status::ok();
}

// PostgreSQL keeps the files of its tables at their largest: VACUUM makes the space of deleted
// rows reusable (when it gets to them) but does not give it back, so the measured size does not
// drop as rows go, and taking the same share off at every run would empty the store. So the
// limit becomes a number of events: limit / bytes per event, the bytes per event measured as
// live bytes / events (measurePostgres(), at the start of a run, before it deletes anything)
// and kept in the state table (`retention`/`postgres-bytes-per-event`: bytes, the size they
// were measured at, and whether they were measured before any event was ever deleted).
//  * Measured before any event was ever deleted, the files hold no space of deleted events:
//    the measure is kept, and taken again only when the files grow to twice the size it was
//    taken at (larger events).
//  * Measured after events were deleted (an age limit ran before the size first passed the
//    limit; a store of an earlier version), the space of the deleted events that VACUUM has
//    made reusable counts as live (PostgreSQL tells dead rows, not free space, without an
//    extension): the measure may be too large. It is taken again at every run and the smallest
//    kept (deleting down to it leaves the files, and so the next measures, as they were: never a
//    smaller and smaller store).
Result<uint64_t> SqlStore::keepPostgresUnder(uint64_t max_bytes, const PostgresSize& at_start,
                                             RetentionResult* out) {
  static const std::string kNs = "retention", kKey = "postgres-bytes-per-event",
                           kOldKey = "postgres-size";
  if (at_start.events <= 0) return uint64_t{0};
  uint64_t per_event = 0, measured_at = 0;
  bool clean = false;
  std::optional<uint64_t> old_per_event;  // kOldKey: an earlier version's measure
  std::unique_lock lock(write_mu_);       // up to the deletion, which takes it for each chunk
  auto st = w_->run("SELECT key, value FROM state WHERE ns = ? AND key IN (?, ?)",
                    std::vector<Param>{Param(kNs), Param(kKey), Param(kOldKey)}, [&](const Row& r) {
                      const std::string value(r.bytes(1));
                      unsigned long long b = 0, at = 0;
                      int c = 0;
                      if (r.bytes(0) == kKey) {
                        if (std::sscanf(value.c_str(), "%llu %llu %d", &b, &at, &c) == 3) {
                          per_event = b;
                          measured_at = at;
                          clean = c != 0;
                        }
                      } else if (std::sscanf(value.c_str(), "%llu", &b) == 1 && b > 0) {
                        old_per_event = b;
                      }
                    });
  if (!st) return st;
  const uint64_t now_per_event =
      std::max<uint64_t>(1, at_start.live_bytes / static_cast<uint64_t>(at_start.events));
  const uint64_t was = per_event;
  const bool grown = at_start.bytes / 2 > measured_at;
  if (per_event == 0 || grown) {
    per_event = now_per_event;
    clean = at_start.never_deleted;
    measured_at = at_start.bytes;
    if (was == 0 && !clean && old_per_event) per_event = std::min(per_event, *old_per_event);
  } else if (!clean && now_per_event < per_event) {
    per_event = now_per_event;
  }
  if (per_event != was || grown) {
    const std::string value =
        std::to_string(per_event) + " " + std::to_string(measured_at) + " " + (clean ? "1" : "0");
    st = w_->run(
        "INSERT INTO state (ns, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
        std::vector<Param>{Param(kNs), Param(kKey), Param(value)});
    if (!st) return st;
  }
  int64_t count = 0;
  st = w_->run("SELECT event_count FROM writer WHERE id = 1", {},
               [&](const Row& r) { count = r.i64(0); });
  if (!st) return st;
  lock.unlock();
  const int64_t target = static_cast<int64_t>(max_bytes / per_event);
  uint64_t deleted = 0;
  if (target <= 0 && count > 0) {
    // Not one event fits (its share of the history included): deleting them all would not
    // bring the size under the limit, and they would be lost for nothing.
    logHistoryOverLimit(static_cast<uint64_t>(count), at_start.bytes, max_bytes);
  } else if (count > target) {
    auto del = deleteOldest(std::nullopt, static_cast<uint64_t>(count - target));
    if (!del) return del.status();
    deleted = del.value();
    out->deleted += deleted;
  }
  // An estimate of the live bytes: the files keep their size.
  out->bytes_after =
      static_cast<uint64_t>(std::max<int64_t>(count - static_cast<int64_t>(deleted), 0)) *
      per_event;
  return deleted;
}

Result<StoreStats> SqlStore::stats() {
  catchUp();
  auto lease = readers_.acquire();
  if (!lease) return lease.status();
  Db& rd = lease->db();
  ReadTxn txn(rd);
  if (auto st = txn.begin(); !st) return st;
  StoreStats s;
  s.schema_version = kSchemaVersion;
  auto st = rd.run("SELECT last_seq, event_count, aggregated_seq FROM writer WHERE id = 1", {},
                   [&](const Row& r) {
                     s.last_seq = static_cast<uint64_t>(r.i64(0));
                     s.events = static_cast<uint64_t>(r.i64(1));
                     s.unfolded = static_cast<uint64_t>(std::max<int64_t>(0, r.i64(0) - r.i64(2)));
                   });
  if (!st) return st;
  st = rd.run("SELECT COUNT(*) FROM attackers", {},
              [&](const Row& r) { s.attackers = static_cast<uint64_t>(r.i64(0)); });
  if (!st) return st;
  st = rd.run("SELECT version FROM schema_version", {},
              [&](const Row& r) { s.schema_version = static_cast<int>(r.i64(0)); });
  if (!st) return st;
  auto bytes = usedBytes(rd);
  if (!bytes) return bytes.status();
  s.bytes = bytes.value();
  return s;
}

}  // namespace

core::Result<std::unique_ptr<Store>> openSqlStore(std::unique_ptr<Db> writer,
                                                  std::unique_ptr<Db> reader,
                                                  ReaderPool::Opener open_reader) {
  auto step = [](Db& db, int version) { return version == 2 ? backfillV2(db) : Status::ok(); };
  if (auto st = migrate(*writer, step); !st) return st;
  auto store =
      std::make_unique<SqlStore>(std::move(writer), std::move(reader), std::move(open_reader));
  if (auto st = store->init(); !st) return st;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace drosera::store::internal

namespace drosera::store::testing {

void setFoldSizesForTest(int64_t fold_events, int64_t fold_chunk) {
  internal::fold_events.store(fold_events > 0 ? fold_events : internal::kFoldEvents);
  internal::fold_chunk.store(fold_chunk > 0 ? fold_chunk : internal::kFoldChunk);
  internal::fold_day_rows.store(fold_chunk > 0 ? fold_chunk : internal::kFoldDayRows);
}

core::Result<std::shared_ptr<void>> holdReadersForTest(Store& store, size_t n) {
  auto* sql = dynamic_cast<internal::SqlStore*>(&store);
  if (sql == nullptr) return core::Status::invalidArgument("not a SQL store");
  auto held = std::make_shared<std::vector<internal::ReaderPool::Lease>>();
  held->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto lease = sql->readersForTest().acquire();
    if (!lease) return lease.status();
    held->push_back(std::move(lease).value());
  }
  return std::shared_ptr<void>(held);
}

size_t maxReadersForTest() { return internal::kMaxReaders; }

}  // namespace drosera::store::testing

