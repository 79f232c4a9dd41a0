#include "store/schema.h"

#include <string_view>
#include <vector>

namespace drosera::store::internal {
namespace {

// Dialect differences, spelled out once:
//   {BLOB}           byte strings: BLOB (SQLite compares with memcmp) / BYTEA
//   {SEQ}            an integer key we assign: SQLite's rowid alias / a plain bigint key
//   {WITHOUT_ROWID}  SQLite stores small keyed tables in their primary-key b-tree
// Every string column is bytes: attacker strings may hold NUL bytes or invalid UTF-8, which a
// PostgreSQL text column refuses, and the store compares them byte for byte.
std::string substitute(std::string_view sql, Dialect d) {
  const bool lite = d == Dialect::kSqlite;
  std::string out;
  out.reserve(sql.size() + 256);
  size_t i = 0;
  while (i < sql.size()) {
    if (sql[i] == '{') {
      const size_t end = sql.find('}', i);
      const std::string_view name = sql.substr(i + 1, end - i - 1);
      if (name == "BLOB") out += lite ? "BLOB" : "BYTEA";
      else if (name == "SEQ") out += lite ? "INTEGER PRIMARY KEY" : "BIGINT PRIMARY KEY";
      else if (name == "WITHOUT_ROWID") out += lite ? "WITHOUT ROWID" : "";
      else if (name == "CLAMPED_TIME") {
        out += "CASE WHEN time_us > 4611686018427387904 THEN 4611686018427387904 "
               "WHEN time_us < -4611686018427387904 THEN -4611686018427387904 ELSE time_us END";
      }
      else DROSERA_CHECK(false && "unknown schema placeholder");
      i = end + 1;
    } else {
      out += sql[i++];
    }
  }
  return out;
}

// Version 1: the first schema. (schema_version itself is made by migrate(), at version 0.)
constexpr std::string_view kV1 = R"sql(
-- One row. Every write transaction on PostgreSQL locks it first, which orders writers and makes
-- seq increase in commit order; it also counts the stored events and says which days of the
-- rollups have been folded from hours into days (folded_until: days before it; NULL: none).
CREATE TABLE writer (
  id INTEGER PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  event_count BIGINT NOT NULL,
  generation BIGINT NOT NULL,
  folded_until BIGINT,
  last_key_id BIGINT NOT NULL);
INSERT INTO writer VALUES (1, 0, 0, 0, NULL, 0);

CREATE TABLE events (
  seq {SEQ},
  sensor {BLOB} NOT NULL,
  unique_id {BLOB} NOT NULL,
  time_us BIGINT NOT NULL,
  src_ip {BLOB} NOT NULL,
  src_port INTEGER NOT NULL,
  dst_port INTEGER NOT NULL,
  method {BLOB} NOT NULL,
  uri {BLOB} NOT NULL,
  user_agent {BLOB} NOT NULL,
  status INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  keys {BLOB} NOT NULL,
  body {BLOB} NOT NULL);
CREATE UNIQUE INDEX events_identity ON events (sensor, unique_id);
CREATE INDEX events_time ON events (time_us, seq);
CREATE INDEX events_ip ON events (src_ip, seq);

-- zstd dictionaries the bodies were compressed with (a frame names its dictionary by id).
-- Kept forever: a few tens of KiB each, a new one per million events.
CREATE TABLE dictionaries (
  id BIGINT PRIMARY KEY,
  created_seq BIGINT NOT NULL,
  bytes {BLOB} NOT NULL);

-- The keys of the rollups (an ip, a path, a rule id...), one integer id each: rollup rows stay
-- small and are summed by integer. Ids are never reused.
CREATE TABLE rollup_keys (
  id {SEQ},
  kind INTEGER NOT NULL,
  key {BLOB} NOT NULL);
CREATE UNIQUE INDEX rollup_keys_key ON rollup_keys (kind, key);

-- Counts per (level, kind, bucket, key id): see schema.h. Totals use key 0.
CREATE TABLE rollups (
  level INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  bucket BIGINT NOT NULL,
  key BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (level, kind, bucket, key)) {WITHOUT_ROWID};

CREATE TABLE attackers (
  ip {BLOB} PRIMARY KEY,
  first_seen_us BIGINT NOT NULL,
  last_seen_us BIGINT NOT NULL,
  events BIGINT NOT NULL,
  events_with_rules BIGINT NOT NULL,
  categories {BLOB} NOT NULL,
  traps {BLOB} NOT NULL,
  sensors {BLOB} NOT NULL,
  flagged INTEGER NOT NULL) {WITHOUT_ROWID};

CREATE TABLE sensors (
  sensor {BLOB} PRIMARY KEY,
  first_seen_us BIGINT NOT NULL,
  last_seen_us BIGINT NOT NULL,
  events BIGINT NOT NULL,
  lag_ms BIGINT NOT NULL,
  status_json {BLOB} NOT NULL) {WITHOUT_ROWID};

CREATE TABLE rules (
  rule_id BIGINT PRIMARY KEY,
  message {BLOB} NOT NULL);

CREATE TABLE cursors (
  reader {BLOB} PRIMARY KEY,
  seq BIGINT NOT NULL) {WITHOUT_ROWID};

CREATE TABLE state (
  ns {BLOB} NOT NULL,
  key {BLOB} NOT NULL,
  value {BLOB} NOT NULL,
  PRIMARY KEY (ns, key)) {WITHOUT_ROWID};

CREATE TABLE file_offsets (
  key {BLOB} PRIMARY KEY,
  path {BLOB} NOT NULL,
  byte_offset BIGINT NOT NULL,
  updated_us BIGINT NOT NULL) {WITHOUT_ROWID};
)sql";

// PostgreSQL only: the blobs are compressed already; don't let TOAST try again.
constexpr std::string_view kV1Postgres = R"sql(
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
)sql";

// Version 2: queries that stay fast at millions of events (docs/store.md, "Queries").
//  * The compressed bodies move to their own table, event_bodies: a scan of events (a search,
//    a filter checked row by row) reads narrow rows, and a body is read only for an event
//    that is returned.
//  * seq_hours: the smallest and largest seq of the events of each hour, so that a list over a
//    time range walks the seqs of that range only.
//  * ip_hours and ip_rules: events and alerts per address and hour, events per address and
//    rule, for the addresses with many events: an attacker's activity and top rules without
//    reading its events.
// The hour of an event is its time clamped to +-2^62 us, floored to the hour (as the rollups).
constexpr std::string_view kV2 = R"sql(
CREATE TABLE event_bodies (
  seq {SEQ},
  body {BLOB} NOT NULL);
INSERT INTO event_bodies (seq, body) SELECT seq, body FROM events ORDER BY seq;

CREATE TABLE events_v2 (
  seq {SEQ},
  sensor {BLOB} NOT NULL,
  unique_id {BLOB} NOT NULL,
  time_us BIGINT NOT NULL,
  src_ip {BLOB} NOT NULL,
  src_port INTEGER NOT NULL,
  dst_port INTEGER NOT NULL,
  method {BLOB} NOT NULL,
  uri {BLOB} NOT NULL,
  user_agent {BLOB} NOT NULL,
  status INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  keys {BLOB} NOT NULL);
INSERT INTO events_v2 (seq, sensor, unique_id, time_us, src_ip, src_port, dst_port, method, uri,
                       user_agent, status, flags, keys)
  SELECT seq, sensor, unique_id, time_us, src_ip, src_port, dst_port, method, uri, user_agent,
         status, flags, keys FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE UNIQUE INDEX events_identity ON events (sensor, unique_id);
CREATE INDEX events_time ON events (time_us, seq);
CREATE INDEX events_ip ON events (src_ip, seq);

CREATE TABLE seq_hours (
  hour BIGINT PRIMARY KEY,
  min_seq BIGINT NOT NULL,
  max_seq BIGINT NOT NULL) {WITHOUT_ROWID};
INSERT INTO seq_hours (hour, min_seq, max_seq)
  SELECT t - (((t % 3600000000) + 3600000000) % 3600000000) AS h, MIN(seq), MAX(seq)
  FROM (SELECT {CLAMPED_TIME} AS t, seq FROM events) x GROUP BY h;

-- ip_hours and ip_rules: the addresses with many events only (kTrackedIpEvents in
-- sql_store.cc), filled from their events by the store (backfillV2) in the same transaction.
CREATE TABLE ip_hours (
  ip {BLOB} NOT NULL,
  hour BIGINT NOT NULL,
  events BIGINT NOT NULL,
  alerts BIGINT NOT NULL,
  PRIMARY KEY (ip, hour)) {WITHOUT_ROWID};
CREATE TABLE ip_rules (
  ip {BLOB} NOT NULL,
  rule_id BIGINT NOT NULL,
  events BIGINT NOT NULL,
  PRIMARY KEY (ip, rule_id)) {WITHOUT_ROWID};
)sql";

constexpr std::string_view kV2Postgres = R"sql(
ALTER TABLE event_bodies ALTER COLUMN body SET STORAGE EXTERNAL;
)sql";

// Version 3: the aggregates (rollups, attackers, ip_hours, ip_rules) are folded from the events
// behind the inserts, in steps of many batches (sql_store.cc, foldBehind): writer.aggregated_seq
// says up to which seq they hold the events. A database of version 2 kept them up with every
// batch, so they hold all of its events. last_key_id is renamed so that a collector of an older
// version still running on a shared PostgreSQL database fails to write (its inserts are retried
// by the sensors until it is upgraded) instead of counting its batches in the aggregates, which
// the folds would then count again.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE writer ADD COLUMN aggregated_seq BIGINT NOT NULL DEFAULT 0;
UPDATE writer SET aggregated_seq = last_seq;
ALTER TABLE writer RENAME COLUMN last_key_id TO rollup_key_id;
)sql";

// Version 4: an index per order of the attackers list (descending, as the list goes: newest or
// most first, ties by ip), so that a page reads its rows and no others instead of sorting the
// whole table, and a filter the index does not narrow walks it in chunks (sql_store.cc,
// attackersWithin).
constexpr std::string_view kV4 = R"sql(
CREATE INDEX attackers_last_seen ON attackers (last_seen_us DESC, ip);
CREATE INDEX attackers_events ON attackers (events DESC, ip);
CREATE INDEX attackers_first_seen ON attackers (first_seen_us DESC, ip);
)sql";

// Version 5: retention deletes the rollup keys no rollup row refers to any more (sql_store.cc,
// dropHistory), and writer.keys_epoch goes up when it does, so that every writer forgets the key
// ids it remembers. rollup_key_id is renamed so that a collector of an older version, which would
// go on using the ids it remembers, fails to write instead.
constexpr std::string_view kV5 = R"sql(
ALTER TABLE writer ADD COLUMN keys_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE writer RENAME COLUMN rollup_key_id TO last_rollup_key;
)sql";

// Version 6 (SQLite only; nothing changes on PostgreSQL): the ip index is keyed by segments of
// 4,096 seqs first, so that a batch writes its entries into the newest segment's few pages
// instead of pages all over an index ordered by address (sql_store.cc, IpSegments, which every
// statement through it uses).
constexpr std::string_view kV6Sqlite = R"sql(
DROP INDEX events_ip;
CREATE INDEX events_ip ON events ((seq >> 12), src_ip, seq);
)sql";

// Version 7: each sensor packs with a zstd dictionary of its own, trained on its own events
// (sql_store.cc, packingDictionaryId), so that a sensor's token reads nothing of the others'
// traffic: the dictionary's id and the sensor's event count when it was trained.
constexpr std::string_view kV7 = R"sql(
ALTER TABLE sensors ADD COLUMN dictionary BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sensors ADD COLUMN dictionary_events BIGINT NOT NULL DEFAULT 0;
)sql";

constexpr const char* kOurTables[] = {"events", "writer", "rollups", "attackers", "sensors"};

core::Status tableExists(Db& db, std::string_view name, bool* exists) {
  std::string sql = db.dialect() == Dialect::kSqlite
                        ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '"
                        : "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_catalog.pg_tables "
                          "WHERE schemaname = current_schema() AND tablename = '";
  sql += name;  // one of our own constant names
  sql += "'";
  int64_t n = 0;
  auto st = db.run(sql, {}, [&](const Row& r) { n = r.i64(0); });
  *exists = n > 0;
  return st;
}

core::Status migrateLocked(Db& db, const MigrationStep& after_step) {
  bool has_version = false;
  if (auto st = tableExists(db, "schema_version", &has_version); !st) return st;
  int version = 0;
  if (has_version) {
    bool found = false;
    auto st = db.run("SELECT version FROM schema_version", {}, [&](const Row& r) {
      version = static_cast<int>(r.i64(0));
      found = true;
    });
    if (!st) return st;
    if (!found) return core::Status::corruption("store: schema_version table is empty");
  } else {
    for (const char* t : kOurTables) {
      bool exists = false;
      if (auto st = tableExists(db, t, &exists); !st) return st;
      if (exists) {
        return core::Status::invalidArgument(
            std::string("store: the database has a table '") + t +
            "' but no schema_version table: not a drosera store (or one damaged by hand)");
      }
    }
    if (auto st = db.execScript("CREATE TABLE schema_version (version INTEGER NOT NULL); "
                                "INSERT INTO schema_version VALUES (0)");
        !st) {
      return st;
    }
  }
  if (version > kSchemaVersion) {
    return core::Status::invalidArgument(
        "store: the database has schema version " + std::to_string(version) +
        ", newer than this drosera knows (" + std::to_string(kSchemaVersion) +
        "): upgrade drosera, or point it at another database");
  }
  for (int v = version + 1; v <= kSchemaVersion; ++v) {
    if (auto st = db.execScript(migrationSql(v, db.dialect())); !st) return st;
    if (after_step) {
      if (auto st = after_step(db, v); !st) return st;
    }
    if (auto st = db.run("UPDATE schema_version SET version = ?", std::vector<Param>{Param(v)});
        !st) {
      return st;
    }
  }
  return core::Status::ok();
}

}  // namespace

std::string migrationSql(int version, Dialect dialect) {
  switch (version) {
    case 1: {
      std::string sql = substitute(kV1, dialect);
      if (dialect == Dialect::kPostgres) sql += kV1Postgres;
      return sql;
    }
    case 2: {
      std::string sql = substitute(kV2, dialect);
      if (dialect == Dialect::kPostgres) sql += kV2Postgres;
      return sql;
    }
    case 3: return std::string(kV3);
    case 4:
      return std::string(kV4);
    case 5:
      return std::string(kV5);
    case 6:
      return dialect == Dialect::kSqlite ? std::string(kV6Sqlite) : std::string();
    case 7:
      return std::string(kV7);
    default: DROSERA_CHECK(false && "no such schema version");
  }
  return {};
}

core::Status migrate(Db& db, const MigrationStep& after_step) {
  if (auto st = db.begin(true); !st) return st;
  core::Status st;
  if (db.dialect() == Dialect::kPostgres) {
    // Collectors starting together: the first migrates, the others wait and find it done.
    st = db.run("SELECT pg_advisory_xact_lock(?)", std::vector<Param>{Param(int64_t{0x64726f73})});
  }
  if (st) st = migrateLocked(db, after_step);
  if (st) st = db.commit();
  if (!st) db.rollback();
  return st;
}

}  // namespace drosera::store::internal
