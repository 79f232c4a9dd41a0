// Internal to the store: the schema and its versioned migrations (docs/store.md). One logical
// schema for both databases; the dialect differences are spelled out in schema.cc.
#pragma once

#include <functional>
#include <string>

#include "store/db.h"

namespace drosera::store::internal {

// The version this build writes. A database at a lower version is upgraded when opened; one at
// a higher version is refused.
inline constexpr int kSchemaVersion = 7;

// Brings the database behind `db` to kSchemaVersion in one transaction (PostgreSQL: under an
// advisory lock, so collectors starting together migrate once). Refuses a newer database and
// one that holds tables of ours without a schema_version table.
// `after_step` (if given) runs after the SQL of each step, in the same transaction: the steps
// that need more than SQL (decoding blobs) are finished there.
using MigrationStep = std::function<core::Status(Db& db, int version)>;
core::Status migrate(Db& db, const MigrationStep& after_step = nullptr);

// The DDL of one migration step (version-1 to version) for a dialect; exposed for tests.
std::string migrationSql(int version, Dialect dialect);

// Rollup dimensions as stored in rollups.kind (on-disk values: never renumber).
enum RollupKind : int {
  kKindTotal = 0,
  kKindAlerts = 1,
  kKindSourceIp = 10,
  kKindRule = 11,
  kKindCategory = 12,
  kKindTag = 13,
  kKindDstPort = 14,
  kKindUserAgent = 15,
  kKindTrap = 16,
  kKindSensor = 17,
  kKindUri = 18,
  kKindMethod = 19,
  kKindStatus = 20,
};

// Rollup levels as stored in rollups.level. Totals (kKindTotal, kKindAlerts) have minute, hour
// and day rows, dimensions hour rows, folded from the events behind the inserts (sql_store.cc);
// day rows and one all-time row per key (bucket 0) are folded from the hours once a day is
// over (writer.folded_until), and kept up to date from then on.
enum RollupLevel : int { kLevelMinute = 0, kLevelHour = 1, kLevelDay = 2, kLevelAll = 3 };

inline constexpr int64_t kMinuteUs = 60'000'000;
inline constexpr int64_t kHourUs = 60 * kMinuteUs;
inline constexpr int64_t kDayUs = 24 * kHourUs;

}  // namespace drosera::store::internal
