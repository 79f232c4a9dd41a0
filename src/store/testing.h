// Test-only helpers for the conformance suite (tests/conformance/): run SQL on a store's
// database behind its back, to create a PostgreSQL schema per test, to inject a failure with a
// trigger, or to fake an old or future schema version; and a bare connection for the
// benchmark's ceiling. Not for production code.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "store/db.h"
#include "store/store.h"

namespace drosera::store::testing {

// Runs `sql` (several statements allowed) on its own connection to the SQLite file.
core::Status sqliteExecForTest(const std::string& path, const std::string& sql);
// Runs `sql` (several statements allowed) on its own connection.
core::Status postgresExecForTest(const std::string& conninfo, const std::string& sql);
// The process id of the PostgreSQL server behind `conninfo` when it runs on this machine (the
// parent of a backend, read from /proc): the benchmark adds its processes' CPU time to its own.
core::Result<int64_t> postgresServerPidForTest(const std::string& conninfo);

// Makes the stores of this process fold after `fold_events` unfolded events, `fold_chunk` at a
// time (sql_store.cc; 0: the defaults, 100,000 and 131,072), so that a test reaches the folds an
// insert triggers and folds of several chunks with a few hundred events. A day fold on SQLite
// then reads `fold_chunk` hour rows at a time too (65,536 by default).
void setFoldSizesForTest(int64_t fold_events, int64_t fold_chunk);

// Takes `n` of the read connections of a store opened by openSqliteStore/openPostgresStore
// (opening them as a read would) and keeps them until the result is destroyed, as `n` long
// reads in progress would: reads must not wait for one another up to maxReadersForTest().
core::Result<std::shared_ptr<void>> holdReadersForTest(Store& store, size_t n);
size_t maxReadersForTest();

// A bare connection with the store's own settings (WAL, synchronous, cache): the benchmark's
// ceiling, a plain insert of the same rows into one table. Creates the file (mode 0600).
core::Result<std::unique_ptr<internal::Db>> openSqliteDbForTest(const std::string& path,
                                                                bool synchronous_full);

}  // namespace drosera::store::testing
