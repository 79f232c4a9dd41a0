// Internal to the store: the little it needs from a SQL database, implemented once over SQLite
// (sqlite_db.cc, the only file that includes sqlite3.h) and once over PostgreSQL
// (postgres_db.cc, the only file that includes libpq-fe.h). The store's logic (sql_store.cc) is
// written once against this.
//
// SQL text uses `?` placeholders (rewritten to $n for PostgreSQL). Every value travels as a bound
// parameter: integers as 64-bit integers, strings as bytes (BLOB / bytea), so attacker data is
// never spliced into SQL and NUL bytes or invalid UTF-8 round-trip exactly.
// Thread-safety: none; a Db is one connection, used under its owner's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace drosera::store::internal {

enum class Dialect { kSqlite, kPostgres };

// One bound parameter. A string's bytes must outlive the call that binds it.
struct Param {
  enum class Kind : uint8_t { kNull, kInt, kBytes };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  std::string_view s;

  Param() = default;
  Param(int64_t v) : kind(Kind::kInt), i(v) {}  // NOLINT: implicit by design
  Param(int v) : kind(Kind::kInt), i(v) {}      // NOLINT
  Param(uint64_t v) : kind(Kind::kInt), i(static_cast<int64_t>(v)) {}  // NOLINT
  Param(std::string_view v) : kind(Kind::kBytes), s(v) {}               // NOLINT
  Param(const std::string& v) : kind(Kind::kBytes), s(v) {}             // NOLINT
  Param(const char*) = delete;  // say std::string_view("...") to mean bytes
};

// A result row, valid only inside the callback that receives it. Integer columns may be any
// integer type; string columns are bytes.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool isNull(int col) const = 0;
  virtual int64_t i64(int col) const = 0;
  virtual std::string_view bytes(int col) const = 0;
};

using RowFn = std::function<void(const Row&)>;
// For runMany(): the index of the execution (0-based) and one of its rows.
using IndexedRowFn = std::function<void(size_t, const Row&)>;

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;

  // Runs SQL without parameters (DDL); may hold several statements separated by ';'.
  virtual core::Status execScript(const std::string& sql) = 0;
  // Runs one statement, prepared once per connection and cached by its text. `changes`, if
  // given, receives the number of rows the statement inserted, updated or deleted.
  virtual core::Status run(const std::string& sql, std::span<const Param> params,
                           const RowFn& on_row = nullptr, uint64_t* changes = nullptr) = 0;
  // Runs the statement once per `per_exec` consecutive parameters (SQLite: a loop over one
  // prepared statement; PostgreSQL: a pipeline, one round trip per few hundred executions).
  // `changes`, if given, receives the rows each execution inserted, updated or deleted.
  // Stops at the first error; the caller rolls the transaction back.
  virtual core::Status runMany(const std::string& sql, size_t per_exec,
                               std::span<const Param> params,
                               const IndexedRowFn& on_row = nullptr,
                               std::vector<uint64_t>* changes = nullptr) = 0;

  // A write transaction excludes other writers of the SQLite file from its start (BEGIN
  // IMMEDIATE); on PostgreSQL the store locks its writer row as the first statement.
  // A read transaction gives a consistent snapshot to several statements.
  virtual core::Status begin(bool write) = 0;
  virtual core::Status commit() = 0;
  virtual void rollback() = 0;  // best effort; never fails loudly
};

}  // namespace drosera::store::internal
