// Internal to the store: the Store implementation shared by SQLite and PostgreSQL, written once
// against the Db seam (db.h). openSqliteStore()/openPostgresStore() build the two connections
// (one for writes, the first for reads) and hand them here with a way to open more readers.
#pragma once

#include <memory>

#include "store/db.h"
#include "store/reader_pool.h"
#include "store/store.h"

namespace drosera::store::internal {

// Brings the schema up to date on `writer` (schema.h) and returns the store. Refuses a
// database written by a newer drosera.
core::Result<std::unique_ptr<Store>> openSqlStore(std::unique_ptr<Db> writer,
                                                  std::unique_ptr<Db> reader,
                                                  ReaderPool::Opener open_reader);

}  // namespace drosera::store::internal
