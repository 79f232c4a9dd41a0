// The SQLite side of the Db seam, and openSqliteStore(). The only file that includes sqlite3.h.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <new>
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

// ---------------------------------------------------------------------------------------------
// A VFS over SQLite's default one that writes a transaction's WAL frames together. SQLite writes
// every frame with two system calls (its 24-byte header, then the page), some 1,200 per batch of
// 1000 events; through a VM's system calls that was most of a commit's time (docs/store.md).
// Here the WAL's writes that each start where the one before ended are gathered in memory and
// written together, in calls of 64 KiB (the unix VFS masks a write's length to 17 bits):
//  * at the commit frame's page (a frame header whose "database size" field is set marks the
//    commit), before SQLite publishes the commit in the wal-index: the write that completes the
//    commit returns the error if that one fails, and SQLite rolls the transaction back, as after
//    a failed write of its own;
//  * before anything that reads or measures the WAL (xRead, xFileSize), syncs, truncates, closes
//    or controls it, and before a write elsewhere;
//  * when 8 MiB are waiting (a transaction whose pages spill from the cache before its commit).
// A write elsewhere (the WAL's header at offset 0, SQLite rewriting a frame of the transaction in
// place, or the checksums of its frames after the commit frame, walRewriteChecksums()) is written
// at once, and so is everything after a commit frame's header until the transaction's write lock is
// released (the padding frames of synchronous=FULL): their errors are SQLite's to see. And the
// database file's shared-memory locks write what waits in its connection's WAL first, so that
// frames a rolled-back transaction spilled never outlive its write lock (to land later over another
// writer's). So a reader (another connection or process) never looks at a published frame that is
// not in the file (the page cache), and no write error goes unreported. These are the ways SQLite
// 3.40 writes its WAL (wal.c: sqlite3WalFrames(), walWriteOneFrame(), walRewriteChecksums(), the
// WAL header at offset 0 followed by a sync); with another SQLite release the store opens the
// default VFS instead (walCoalescingVfs()). Files other than WALs pass through unchanged. A file is
// used by one connection at a time (SQLite's own rule).

struct VfsFile {
  sqlite3_file base;   // pMethods: kIoMethods (or null when the base VFS's open failed)
  sqlite3_file* real;  // the base VFS's file, in the same allocation, after this struct
  bool wal;
  bool after_commit_header;  // WAL: the last write was the header of a commit frame
  bool committing;           // WAL: since a commit frame's header, until the write lock goes
  std::string* pending;      // WAL: appended bytes waiting, to be written at pending_at
  sqlite3_int64 pending_at;
  sqlite3_int64 end;  // WAL: where the last write ended (the next one, if it appends)
  int failed;         // WAL: a write of waiting bytes failed in this write transaction
  const char* name;   // main database: the name SQLite opened it by (its WAL's key to it)
  VfsFile* peer;      // main database: its connection's WAL; WAL: that database (or null)
};

// The main database files open through this VFS, by the name pointer SQLite opened them with:
// one per connection (pager), which sqlite3_filename_database() gives back for its WAL.
std::mutex g_files_mu;
std::unordered_map<const char*, VfsFile*>& mainFiles() {
  static auto* files = new std::unordered_map<const char*, VfsFile*>();
  return *files;
}

constexpr size_t kRealFileOffset = (sizeof(VfsFile) + 15) / 16 * 16;
constexpr size_t kWalFlushBytes = 8 << 20;
constexpr size_t kWalWriteBytes = 64 << 10;
constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;

sqlite3_vfs* g_base_vfs = nullptr;

int flushWal(VfsFile* f) {
  if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
  int rc = SQLITE_OK;
  const std::string& p = *f->pending;
  for (size_t at = 0; at < p.size() && rc == SQLITE_OK; at += kWalWriteBytes) {
    const size_t n = std::min(kWalWriteBytes, p.size() - at);
    rc = f->real->pMethods->xWrite(f->real, p.data() + at, static_cast<int>(n),
                                   f->pending_at + static_cast<sqlite3_int64>(at));
  }
  // A failure reported to a read, say, may end only a statement, not the transaction: its
  // writes fail from now on, so that it cannot commit without these frames (until its write
  // lock is released, see vfsShmLock()).
  if (rc != SQLITE_OK && f->peer != nullptr) f->failed = rc;
  f->pending->clear();  // written, or failed: SQLite rolls back and writes these frames again
  if (f->pending->capacity() > kWalFlushBytes * 2) std::string().swap(*f->pending);
  return rc;
}

VfsFile* cast(sqlite3_file* f) { return reinterpret_cast<VfsFile*>(f); }

int vfsClose(sqlite3_file* file) {
  VfsFile* f = cast(file);
  const int rc = flushWal(f);
  {
    std::lock_guard lock(g_files_mu);
    if (f->peer != nullptr) f->peer->peer = nullptr;
    f->peer = nullptr;
    if (f->name != nullptr) mainFiles().erase(f->name);
  }
  delete f->pending;
  f->pending = nullptr;
  const int rc2 = f->real->pMethods->xClose(f->real);
  return rc != SQLITE_OK ? rc : rc2;
}

int vfsRead(sqlite3_file* file, void* buf, int n, sqlite3_int64 off) {
  VfsFile* f = cast(file);
  if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, buf, n, off);
}

int vfsWrite(sqlite3_file* file, const void* buf, int n, sqlite3_int64 off) {
  VfsFile* f = cast(file);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, buf, n, off);
  if (f->failed != SQLITE_OK) return f->failed;
  const auto* bytes = static_cast<const unsigned char*>(buf);
  // A frame header (after the WAL's own) whose bytes 4-7, the database size after a commit,
  // are not zero: the page written next completes the commit. Everything after it until the
  // transaction's write lock is released (the padding frames of synchronous=FULL, split at its
  // sync point, say; vfsShmLock() ends it) is written at once too.
  const bool commit_header = n == kFrameHeaderBytes && off >= kWalHeaderBytes &&
                             (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  const bool commit_page = f->after_commit_header || f->committing;
  f->committing = f->committing || commit_header;
  f->after_commit_header = commit_header;
  if (off != f->end) {  // not where the last write ended: what waits goes first, then this
    if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
    f->end = off + n;
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }
  try {
    if (f->pending->empty()) f->pending_at = off;
    f->pending->append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    f->pending->clear();
    return SQLITE_IOERR_NOMEM;
  }
  f->end = off + n;
  if (commit_page || f->pending->size() >= kWalFlushBytes) return flushWal(f);
  return SQLITE_OK;
}

int vfsTruncate(sqlite3_file* file, sqlite3_int64 size) {
  VfsFile* f = cast(file);
  if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
  f->end = std::min(f->end, size);
  return f->real->pMethods->xTruncate(f->real, size);
}

int vfsSync(sqlite3_file* file, int flags) {
  VfsFile* f = cast(file);
  if (f->failed != SQLITE_OK) return f->failed;
  if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int vfsFileSize(sqlite3_file* file, sqlite3_int64* size) {
  VfsFile* f = cast(file);
  if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int vfsLock(sqlite3_file* file, int lock) {
  return cast(file)->real->pMethods->xLock(cast(file)->real, lock);
}
int vfsUnlock(sqlite3_file* file, int lock) {
  return cast(file)->real->pMethods->xUnlock(cast(file)->real, lock);
}
int vfsCheckReservedLock(sqlite3_file* file, int* out) {
  return cast(file)->real->pMethods->xCheckReservedLock(cast(file)->real, out);
}
int vfsFileControl(sqlite3_file* file, int op, void* arg) {
  VfsFile* f = cast(file);
  if (int rc = flushWal(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int vfsSectorSize(sqlite3_file* file) {
  return cast(file)->real->pMethods->xSectorSize(cast(file)->real);
}
int vfsDeviceCharacteristics(sqlite3_file* file) {
  return cast(file)->real->pMethods->xDeviceCharacteristics(cast(file)->real);
}
int vfsShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return cast(file)->real->pMethods->xShmMap(cast(file)->real, region, size, extend, out);
}
// On the main database: its WAL's bytes go first. A write transaction that rolled back may
// have left frames that spilled before its commit: they are written before its write lock is
// released (harmless: past the WAL's last frame, overwritten by the next writer), never after,
// over another writer's frames. A failed write fails a lock being taken.
int vfsShmLock(sqlite3_file* file, int offset, int n, int flags) {
  VfsFile* f = cast(file);
  const int flushed = f->peer != nullptr ? flushWal(f->peer) : SQLITE_OK;
  if (flushed != SQLITE_OK && (flags & SQLITE_SHM_LOCK) != 0) return flushed;
  // The write lock (slot 0) released: the transaction is over, its commit and a failure with
  // it. (With locking_mode=EXCLUSIVE, which the store does not use, SQLite takes and releases
  // it without a call here: a failure would then last until the connection closes.)
  if (f->peer != nullptr && (flags & SQLITE_SHM_UNLOCK) != 0 && offset == 0) {
    f->peer->failed = SQLITE_OK;
    f->peer->committing = false;
  }
  return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}
void vfsShmBarrier(sqlite3_file* file) {
  VfsFile* f = cast(file);
  if (f->peer != nullptr) (void)flushWal(f->peer);  // never anything waiting here: see above
  f->real->pMethods->xShmBarrier(f->real);
}
int vfsShmUnmap(sqlite3_file* file, int delete_flag) {
  return cast(file)->real->pMethods->xShmUnmap(cast(file)->real, delete_flag);
}
int vfsFetch(sqlite3_file* file, sqlite3_int64 off, int n, void** out) {
  return cast(file)->real->pMethods->xFetch(cast(file)->real, off, n, out);
}
int vfsUnfetch(sqlite3_file* file, sqlite3_int64 off, void* p) {
  return cast(file)->real->pMethods->xUnfetch(cast(file)->real, off, p);
}

const sqlite3_io_methods kIoMethods = {
    3,
    vfsClose,
    vfsRead,
    vfsWrite,
    vfsTruncate,
    vfsSync,
    vfsFileSize,
    vfsLock,
    vfsUnlock,
    vfsCheckReservedLock,
    vfsFileControl,
    vfsSectorSize,
    vfsDeviceCharacteristics,
    vfsShmMap,
    vfsShmLock,
    vfsShmBarrier,
    vfsShmUnmap,
    vfsFetch,
    vfsUnfetch,
};

int vfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  VfsFile* f = cast(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealFileOffset);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->after_commit_header = false;
  f->committing = false;
  f->failed = SQLITE_OK;
  f->pending = nullptr;
  f->pending_at = 0;
  f->end = 0;
  f->name = nullptr;
  f->peer = nullptr;
  if (f->wal) {
    f->pending = new (std::nothrow) std::string();
    if (f->pending == nullptr) return SQLITE_NOMEM;
  }
  const int rc = g_base_vfs->xOpen(g_base_vfs, name, f->real, flags, out_flags);
  if (f->real->pMethods != nullptr) {
    // The base's methods must have what ours pass on (SQLite's unix VFS: version 3).
    DROSERA_CHECK(f->real->pMethods->iVersion >= 3);
    f->base.pMethods = &kIoMethods;
    if (name != nullptr && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0) {
      std::lock_guard lock(g_files_mu);
      if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
        f->name = name;
        mainFiles()[name] = f;
      } else if (auto it = mainFiles().find(sqlite3_filename_database(name));
                 it != mainFiles().end()) {
        f->peer = it->second;
        it->second->peer = f;
      }
    }
  } else {
    delete f->pending;
    f->pending = nullptr;
  }
  return rc;
}

// The VFS's name (registered on the first call; not the default), or null (SQLite's default
// VFS) with an SQLite release whose WAL writes were not checked against the rules above.
const char* walCoalescingVfs() {
  static const char* const name = []() -> const char* {
    const int v = sqlite3_libversion_number();
    if (v < 3040000 || v >= 3041000) return nullptr;
    static sqlite3_vfs vfs;
    g_base_vfs = sqlite3_vfs_find(nullptr);
    DROSERA_CHECK(g_base_vfs != nullptr);
    vfs = *g_base_vfs;  // every other call goes to the base VFS, with the base as its vfs
    vfs.zName = "drosera-wal";
    vfs.szOsFile = static_cast<int>(kRealFileOffset) + g_base_vfs->szOsFile;
    vfs.pNext = nullptr;
    vfs.xOpen = vfsOpen;
    vfs.xDelete = [](sqlite3_vfs*, const char* n, int sync) {
      return g_base_vfs->xDelete(g_base_vfs, n, sync);
    };
    vfs.xAccess = [](sqlite3_vfs*, const char* n, int flags, int* out) {
      return g_base_vfs->xAccess(g_base_vfs, n, flags, out);
    };
    vfs.xFullPathname = [](sqlite3_vfs*, const char* n, int size, char* out) {
      return g_base_vfs->xFullPathname(g_base_vfs, n, size, out);
    };
    vfs.xDlOpen = [](sqlite3_vfs*, const char* n) { return g_base_vfs->xDlOpen(g_base_vfs, n); };
    vfs.xDlError = [](sqlite3_vfs*, int n, char* out) { g_base_vfs->xDlError(g_base_vfs, n, out); };
    vfs.xDlSym = [](sqlite3_vfs*, void* h, const char* sym) {
      return g_base_vfs->xDlSym(g_base_vfs, h, sym);
    };
    vfs.xDlClose = [](sqlite3_vfs*, void* h) { g_base_vfs->xDlClose(g_base_vfs, h); };
    vfs.xRandomness = [](sqlite3_vfs*, int n, char* out) {
      return g_base_vfs->xRandomness(g_base_vfs, n, out);
    };
    vfs.xSleep = [](sqlite3_vfs*, int us) { return g_base_vfs->xSleep(g_base_vfs, us); };
    vfs.xCurrentTime = [](sqlite3_vfs*, double* out) {
      return g_base_vfs->xCurrentTime(g_base_vfs, out);
    };
    vfs.xGetLastError = [](sqlite3_vfs*, int n, char* out) {
      return g_base_vfs->xGetLastError(g_base_vfs, n, out);
    };
    vfs.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) {
      return g_base_vfs->xCurrentTimeInt64(g_base_vfs, out);
    };
    vfs.xSetSystemCall = [](sqlite3_vfs*, const char* n, sqlite3_syscall_ptr f) {
      return g_base_vfs->xSetSystemCall(g_base_vfs, n, f);
    };
    vfs.xGetSystemCall = [](sqlite3_vfs*, const char* n) {
      return g_base_vfs->xGetSystemCall(g_base_vfs, n);
    };
    vfs.xNextSystemCall = [](sqlite3_vfs*, const char* n) {
      return g_base_vfs->xNextSystemCall(g_base_vfs, n);
    };
    DROSERA_CHECK(sqlite3_vfs_register(&vfs, 0) == SQLITE_OK);
    return vfs.zName;
  }();
  return name;
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
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, walCoalescingVfs());
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
    // Checkpoint every 64 MiB of WAL instead of 4: fewer fsyncs during a burst of ingest, and
    // a page written by many commits in between is copied into the database once (about 4 %
    // less CPU per event, docs/store.md; a checkpoint then takes up to ~0.1 s of one commit).
    pragmas += "PRAGMA wal_autocheckpoint=16384;";
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
