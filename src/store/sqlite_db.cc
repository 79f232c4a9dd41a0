// The SQLite side of the Db seam, and openSqliteStore(). The only file that includes sqlite3.h.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/db.h"
#include "store/sql_store.h"
#include "store/testing.h"

namespace drosera::store {
namespace internal {
namespace {

core::Status sqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string m = "sqlite: ";
  m += what;
  m += ": ";
  m += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return core::Status::unavailable(m);
    case SQLITE_FULL: return core::Status::resourceExhausted(m);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return core::Status::corruption(m);
    case SQLITE_NOMEM: return core::Status::resourceExhausted(m);
    default: return core::Status::ioError(m);
  }
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  bool isNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t i64(int col) const override { return sqlite3_column_int64(s_, col); }
  std::string_view bytes(int col) const override {
    const void* p = sqlite3_column_blob(s_, col);
    const int n = sqlite3_column_bytes(s_, col);
    if (p == nullptr || n <= 0) return {};
    return std::string_view(static_cast<const char*>(p), static_cast<size_t>(n));
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  ~SqliteDb() override {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  core::Status execScript(const std::string& sql) override {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string m = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return sqliteError(nullptr, rc, m);
    }
    return core::Status::ok();
  }

  core::Status run(const std::string& sql, std::span<const Param> params, const RowFn& on_row,
                   uint64_t* changes) override {
    sqlite3_stmt* stmt = nullptr;
    if (auto st = prepare(sql, &stmt); !st) return st;
    return step(stmt, params, [&](const Row& r) { if (on_row) on_row(r); }, changes);
  }

  core::Status runMany(const std::string& sql, size_t per_exec, std::span<const Param> params,
                       const IndexedRowFn& on_row, std::vector<uint64_t>* changes) override {
    DROSERA_CHECK(per_exec > 0 && params.size() % per_exec == 0);
    const size_t n = params.size() / per_exec;
    if (changes != nullptr) changes->assign(n, 0);
    if (n == 0) return core::Status::ok();  // as on PostgreSQL: nothing to run, nothing to prepare
    sqlite3_stmt* stmt = nullptr;
    if (auto st = prepare(sql, &stmt); !st) return st;
    for (size_t i = 0; i < n; ++i) {
      auto st = step(stmt, params.subspan(i * per_exec, per_exec),
                     [&](const Row& r) { if (on_row) on_row(i, r); },
                     changes != nullptr ? &(*changes)[i] : nullptr);
      if (!st) return st;
    }
    return core::Status::ok();
  }

  core::Status begin(bool write) override {
    return execScript(write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  core::Status commit() override { return execScript("COMMIT"); }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_)) (void)execScript("ROLLBACK");
  }

  sqlite3* handle() { return db_; }

 private:
  core::Status prepare(const std::string& sql, sqlite3_stmt** out) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      *out = it->second;
      return core::Status::ok();
    }
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return sqliteError(db_, rc, "prepare");
    stmts_.emplace(sql, stmt);
    *out = stmt;
    return core::Status::ok();
  }

  template <typename Fn>
  core::Status step(sqlite3_stmt* stmt, std::span<const Param> params, const Fn& on_row,
                    uint64_t* changes) {
    DROSERA_CHECK(static_cast<int>(params.size()) == sqlite3_bind_parameter_count(stmt));
    for (size_t i = 0; i < params.size(); ++i) {
      const int col = static_cast<int>(i + 1);
      const Param& p = params[i];
      int rc = SQLITE_OK;
      switch (p.kind) {
        case Param::Kind::kNull: rc = sqlite3_bind_null(stmt, col); break;
        case Param::Kind::kInt: rc = sqlite3_bind_int64(stmt, col, p.i); break;
        case Param::Kind::kBytes:
          // A null pointer would bind SQL NULL: an empty string is an empty blob.
          rc = p.s.empty() ? sqlite3_bind_zeroblob(stmt, col, 0)
                           : sqlite3_bind_blob64(stmt, col, p.s.data(), p.s.size(),
                                                 SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) {
        sqlite3_reset(stmt);
        return sqliteError(db_, rc, "bind");
      }
    }
    // Reset however this ends (an exception from on_row too): a statement left mid-way would
    // hold its read snapshot, and drop pointers into the caller's strings.
    struct Reset {
      sqlite3_stmt* stmt;
      ~Reset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } reset{stmt};
    SqliteRow row(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        on_row(row);
        continue;
      }
      if (rc == SQLITE_DONE) break;
      return sqliteError(db_, rc, "step");
    }
    if (changes != nullptr) *changes = static_cast<uint64_t>(sqlite3_changes64(db_));
    return core::Status::ok();
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

core::Result<std::unique_ptr<SqliteDb>> openConnection(const std::string& path, bool writer,
                                                       bool synchronous_full) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    core::Status st = sqliteError(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return st;
  }
  auto conn = std::make_unique<SqliteDb>(db);
  sqlite3_busy_timeout(db, 10000);
  std::string pragmas =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA foreign_keys=OFF;"
      "PRAGMA temp_store=MEMORY;"
      "PRAGMA cache_size=-65536;";  // 64 MiB per connection
  if (writer) {
    pragmas += synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
    // Checkpoint every 16 MiB of WAL instead of 4: fewer fsyncs during a burst of ingest.
    pragmas += "PRAGMA wal_autocheckpoint=4096;";
  } else {
    pragmas += "PRAGMA query_only=ON;PRAGMA mmap_size=2147418112;";
  }
  if (auto st = conn->execScript(pragmas); !st) return st;
  return conn;
}

}  // namespace
}  // namespace internal

core::Result<std::unique_ptr<Store>> openSqliteStore(const SqliteOptions& options) {
  if (options.path.empty()) return core::Status::invalidArgument("sqlite store: empty path");
  // The file holds attacker data and sensor credentials' names: owner only. SQLite gives its
  // -wal and -shm files the same mode as the database file.
  const int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    return core::Status::fromErrno("sqlite store: create " + options.path, errno);
  }
  auto writer = internal::openConnection(options.path, true, options.synchronous_full);
  if (!writer) return writer.status();
  // The reader opens after the writer has switched the file to WAL.
  auto reader = internal::openConnection(options.path, false, false);
  if (!reader) return reader.status();
  auto more = [path = options.path]() -> core::Result<std::unique_ptr<internal::Db>> {
    auto db = internal::openConnection(path, false, false);
    if (!db) return db.status();
    return std::unique_ptr<internal::Db>(std::move(db).value());
  };
  return internal::openSqlStore(std::move(writer).value(), std::move(reader).value(), more);
}

namespace testing {

core::Result<std::unique_ptr<internal::Db>> openSqliteDbForTest(const std::string& path,
                                                                bool synchronous_full) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return core::Status::fromErrno("sqlite: create " + path, errno);
  ::close(fd);
  auto conn = internal::openConnection(path, true, synchronous_full);
  if (!conn) return conn.status();
  return std::unique_ptr<internal::Db>(std::move(conn).value());
}

core::Status sqliteExecForTest(const std::string& path, const std::string& sql) {
  auto conn = internal::openConnection(path, true, false);
  if (!conn) return conn.status();
  return conn.value()->execScript(sql);
}

}  // namespace testing
}  // namespace drosera::store
