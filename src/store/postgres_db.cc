// The PostgreSQL side of the Db seam, and openPostgresStore(). The only file that includes
// libpq-fe.h. Parameters and results travel in binary (int8 and bytea), statements are
// prepared once per connection, runMany() pipelines its executions, and a connection the
// server dropped is re-established before the next statement (the failed call reports the
// error; its transaction is gone, so nothing of it was stored).
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/db.h"
#include "store/sql_store.h"
#include "store/testing.h"

namespace drosera::store {
namespace internal {
namespace {

constexpr unsigned kInt8Oid = 20;
constexpr unsigned kInt4Oid = 23;
constexpr unsigned kInt2Oid = 21;
constexpr unsigned kBoolOid = 16;
constexpr unsigned kByteaOid = 17;
constexpr unsigned kInt8ArrayOid = 1016;
constexpr unsigned kByteaArrayOid = 1001;
constexpr size_t kPipelineChunk = 256;  // executions per Sync: keeps both socket buffers small

core::Status pgError(std::string_view what, const PGresult* res, PGconn* conn) {
  std::string m = "postgres: ";
  m += what;
  m += ": ";
  const char* msg = res != nullptr ? PQresultErrorMessage(res) : nullptr;
  if (msg == nullptr || *msg == '\0') msg = conn != nullptr ? PQerrorMessage(conn) : "";
  m += msg;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (conn != nullptr && PQstatus(conn) == CONNECTION_BAD) return core::Status::unavailable(m);
  if (state != nullptr) {
    if (std::strncmp(state, "08", 2) == 0 || std::strcmp(state, "40001") == 0 ||
        std::strcmp(state, "40P01") == 0 || std::strncmp(state, "57P", 3) == 0) {
      return core::Status::unavailable(m);
    }
    if (std::strncmp(state, "53", 2) == 0) return core::Status::resourceExhausted(m);
  }
  return core::Status::ioError(m);
}

// `?` placeholders to `$1`, `$2`... (no `?` appears inside our SQL's string literals).
std::string numberPlaceholders(const std::string& sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  bool in_literal = false;
  for (char c : sql) {
    if (c == '\'') in_literal = !in_literal;
    if (c == '?' && !in_literal) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  *count = n;
  return out;
}

// `INSERT INTO t (a, b, c) VALUES (?, 0, ?) rest` becomes
// `INSERT INTO t (a, b, c) SELECT u.c1, 0, u.c2 FROM unnest($1::int8[], $2::bytea[]) AS u(c1, c2)
// rest`: one statement for a whole batch of rows, its columns sent as binary arrays. False when
// the statement is not of that shape. `kinds` gives each placeholder's kind ('i' or 'b').
bool unnestInsert(const std::string& sql, const std::string& kinds, std::string* out) {
  if (sql.rfind("INSERT INTO ", 0) != 0) return false;
  const size_t values = sql.find(" VALUES (");
  if (values == std::string::npos) return false;
  const size_t open = values + 9;
  const size_t close = sql.find(')', open);
  if (close == std::string::npos) return false;
  std::string select = " SELECT ";
  std::string unnest = " FROM unnest(";
  std::string names = " AS u(";
  size_t item_start = open;
  size_t k = 0;
  for (size_t i = open; i <= close; ++i) {
    if (i != close && sql[i] != ',') continue;
    std::string item = sql.substr(item_start, i - item_start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (select.size() > 8) select += ", ";
    if (item == "?") {
      if (k >= kinds.size() || (kinds[k] != 'i' && kinds[k] != 'b')) return false;
      const std::string n = std::to_string(k + 1);
      select += "u.c" + n;
      unnest += (k ? ", $" : "$") + n + (kinds[k] == 'i' ? "::int8[]" : "::bytea[]");
      names += (k ? ", c" : "c") + n;
      ++k;
    } else {
      if (item.find('?') != std::string::npos) return false;
      select += item;
    }
    item_start = i + 1;
  }
  if (k != kinds.size()) return false;
  *out = sql.substr(0, values) + select + unnest + ")" + names + ")" + sql.substr(close + 1);
  return true;
}

// A binary one-dimensional array (PostgreSQL's array_send layout) of one column of a batch.
std::string arrayOf(std::span<const Param> params, size_t per_exec, size_t column, bool ints) {
  const size_t n = params.size() / per_exec;
  std::string out;
  auto put32 = [&](uint32_t v) {
    for (int b = 3; b >= 0; --b) out += static_cast<char>((v >> (8 * b)) & 0xFF);
  };
  bool nulls = false;
  size_t bytes = 20;
  for (size_t r = 0; r < n; ++r) {
    const Param& p = params[r * per_exec + column];
    nulls = nulls || p.kind == Param::Kind::kNull;
    bytes += 4 + (p.kind == Param::Kind::kInt ? 8 : p.s.size());
  }
  out.reserve(bytes);
  put32(1);                                  // dimensions
  put32(nulls ? 1 : 0);                      // has nulls
  put32(ints ? kInt8Oid : kByteaOid);        // element type
  put32(static_cast<uint32_t>(n));           // length
  put32(1);                                  // lower bound
  for (size_t r = 0; r < n; ++r) {
    const Param& p = params[r * per_exec + column];
    if (p.kind == Param::Kind::kNull) {
      put32(0xFFFFFFFFu);
    } else if (p.kind == Param::Kind::kInt) {
      put32(8);
      const uint64_t v = static_cast<uint64_t>(p.i);
      for (int b = 7; b >= 0; --b) out += static_cast<char>((v >> (8 * b)) & 0xFF);
    } else {
      put32(static_cast<uint32_t>(p.s.size()));
      out.append(p.s.data(), p.s.size());
    }
  }
  return out;
}

class PgRow final : public Row {
 public:
  PgRow(const PGresult* res, int row) : res_(res), row_(row) {}
  bool isNull(int col) const override { return PQgetisnull(res_, row_, col) != 0; }
  int64_t i64(int col) const override {
    if (PQgetisnull(res_, row_, col)) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row_, col));
    const int len = PQgetlength(res_, row_, col);
    const unsigned type = PQftype(res_, col);
    // Our SQL only returns integers of these types (sums are cast to bigint).
    DROSERA_CHECK((type == kInt8Oid && len == 8) || (type == kInt4Oid && len == 4) ||
                  (type == kInt2Oid && len == 2) || (type == kBoolOid && len == 1));
    uint64_t v = 0;
    for (int i = 0; i < len; ++i) v = (v << 8) | p[i];
    switch (len) {
      case 8: return static_cast<int64_t>(v);
      case 4: return static_cast<int32_t>(static_cast<uint32_t>(v));
      case 2: return static_cast<int16_t>(static_cast<uint16_t>(v));
      default: return static_cast<int64_t>(v);
    }
  }
  std::string_view bytes(int col) const override {
    if (PQgetisnull(res_, row_, col)) return {};
    return std::string_view(PQgetvalue(res_, row_, col),
                            static_cast<size_t>(PQgetlength(res_, row_, col)));
  }

 private:
  const PGresult* res_;
  int row_;
};

struct ResultGuard {
  PGresult* res;
  ~ResultGuard() { PQclear(res); }
};

// Binary parameter values for one execution.
class Bound {
 public:
  explicit Bound(std::span<const Param> params) {
    const size_t n = params.size();
    values_.resize(n);
    lengths_.resize(n);
    formats_.assign(n, 1);
    ints_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const Param& p = params[i];
      switch (p.kind) {
        case Param::Kind::kNull:
          values_[i] = nullptr;
          lengths_[i] = 0;
          break;
        case Param::Kind::kInt: {
          uint64_t v = static_cast<uint64_t>(p.i);
          for (int b = 7; b >= 0; --b) {
            ints_[i][b] = static_cast<char>(v & 0xFF);
            v >>= 8;
          }
          values_[i] = ints_[i].data();
          lengths_[i] = 8;
          break;
        }
        case Param::Kind::kBytes:
          // A non-null pointer even for an empty string: null would mean SQL NULL.
          values_[i] = p.s.empty() ? "" : p.s.data();
          lengths_[i] = static_cast<int>(p.s.size());
          break;
      }
    }
  }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::vector<std::array<char, 8>> ints_;
};

class PgDb final : public Db {
 public:
  explicit PgDb(PGconn* conn) : conn_(conn) {}
  ~PgDb() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }

  core::Status execScript(const std::string& sql) override {
    if (auto st = ensureConnected(); !st) return st;
    ResultGuard g{PQexec(conn_, sql.c_str())};
    const ExecStatusType s = PQresultStatus(g.res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY) {
      return pgError("exec", g.res, conn_);
    }
    return core::Status::ok();
  }

  core::Status run(const std::string& sql, std::span<const Param> params, const RowFn& on_row,
                   uint64_t* changes) override {
    if (auto st = ensureConnected(); !st) return st;
    const std::string* name = nullptr;
    if (auto st = prepare(sql, params, &name); !st) return st;
    Bound b(params);
    ResultGuard g{PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                 b.values(), b.lengths(), b.formats(), 1)};
    return consume(g.res, [&](const Row& r) { if (on_row) on_row(r); }, changes);
  }

  core::Status runMany(const std::string& sql, size_t per_exec, std::span<const Param> params,
                       const IndexedRowFn& on_row, std::vector<uint64_t>* changes) override {
    DROSERA_CHECK(per_exec > 0 && params.size() % per_exec == 0);
    const size_t n = params.size() / per_exec;
    if (changes != nullptr) changes->assign(n, 0);
    if (n == 0) return core::Status::ok();
    if (n == 1) {
      return run(sql, params, [&](const Row& r) { if (on_row) on_row(0, r); },
                 changes != nullptr ? &(*changes)[0] : nullptr);
    }
    if (auto st = ensureConnected(); !st) return st;
    if (!on_row && changes == nullptr) {
      // Inserts and upserts: the whole batch in one statement.
      std::string kinds;
      bool uniform = true;
      for (size_t c = 0; c < per_exec && uniform; ++c) {
        char kind = 0;
        for (size_t r = 0; r < n; ++r) {
          const Param& p = params[r * per_exec + c];
          const char k = p.kind == Param::Kind::kInt ? 'i' : p.kind == Param::Kind::kBytes ? 'b' : 0;
          if (k == 0) continue;
          if (kind != 0 && kind != k) uniform = false;
          kind = k;
        }
        kinds += kind == 0 ? 'i' : kind;
      }
      std::string bulk;
      if (uniform && unnestInsert(sql, kinds, &bulk)) return runArrays(bulk, kinds, per_exec, params);
    }
    const std::string* name = nullptr;
    if (auto st = prepare(sql, params.subspan(0, per_exec), &name); !st) return st;
    if (PQenterPipelineMode(conn_) != 1) return pgError("pipeline", nullptr, conn_);
    // An exception out of a row callback (out of memory) leaves results unread in pipeline
    // mode: the connection is then started afresh before its next statement.
    struct Unwinding {
      bool* poisoned;
      int before = std::uncaught_exceptions();
      ~Unwinding() {
        if (std::uncaught_exceptions() > before) *poisoned = true;
      }
    } unwinding{&poisoned_};
    core::Status first_error;
    for (size_t base = 0; base < n && first_error.isOk(); base += kPipelineChunk) {
      const size_t count = std::min(kPipelineChunk, n - base);
      size_t sent = 0;
      for (; sent < count; ++sent) {
        Bound b(params.subspan((base + sent) * per_exec, per_exec));
        if (PQsendQueryPrepared(conn_, name->c_str(), static_cast<int>(per_exec), b.values(),
                                b.lengths(), b.formats(), 1) != 1) {
          first_error = pgError("pipeline send", nullptr, conn_);
          break;
        }
      }
      if (PQpipelineSync(conn_) != 1) {
        if (first_error.isOk()) first_error = pgError("pipeline sync", nullptr, conn_);
        break;
      }
      // Results: each execution's results end with a null; the Sync's result ends the chunk.
      size_t index = 0;
      size_t nulls_in_a_row = 0;
      for (;;) {
        PGresult* res = PQgetResult(conn_);
        if (res == nullptr) {
          ++index;
          // A dead connection returns null forever.
          if (++nulls_in_a_row > 2 && PQstatus(conn_) == CONNECTION_BAD) {
            if (first_error.isOk()) first_error = pgError("pipeline", nullptr, conn_);
            break;
          }
          continue;
        }
        nulls_in_a_row = 0;
        ResultGuard g{res};
        const ExecStatusType s = PQresultStatus(res);
        if (s == PGRES_PIPELINE_SYNC) break;
        if (s == PGRES_PIPELINE_ABORTED) continue;
        const size_t exec = base + index;
        auto st = consume(res, [&](const Row& r) { if (on_row) on_row(exec, r); },
                          changes != nullptr && exec < n ? &(*changes)[exec] : nullptr);
        if (!st && first_error.isOk()) first_error = st;
      }
    }
    if (PQexitPipelineMode(conn_) != 1 && first_error.isOk()) {
      first_error = pgError("pipeline exit", nullptr, conn_);
    }
    return first_error;
  }

  core::Status begin(bool write) override {
    return execScript(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  core::Status commit() override { return execScript("COMMIT"); }
  void rollback() override {
    if (PQstatus(conn_) != CONNECTION_OK) return;
    const PGTransactionStatusType t = PQtransactionStatus(conn_);
    if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) PQclear(PQexec(conn_, "ROLLBACK"));
  }

 private:
  core::Status runArrays(const std::string& sql, const std::string& kinds, size_t per_exec,
                         std::span<const Param> params) {
    std::vector<std::string> arrays;
    arrays.reserve(per_exec);
    for (size_t c = 0; c < per_exec; ++c) {
      arrays.push_back(arrayOf(params, per_exec, c, kinds[c] == 'i'));
    }
    std::vector<Param> array_params;
    for (const auto& a : arrays) array_params.emplace_back(std::string_view(a));
    const std::string* name = nullptr;
    if (auto st = prepareTyped(sql, kinds, &name); !st) return st;
    Bound b(array_params);
    ResultGuard g{PQexecPrepared(conn_, name->c_str(), static_cast<int>(per_exec), b.values(),
                                 b.lengths(), b.formats(), 1)};
    return consume(g.res, [](const Row&) {}, nullptr);
  }

  // A statement whose parameters are arrays of int8 ('i') or bytea ('b').
  core::Status prepareTyped(const std::string& sql, const std::string& kinds,
                            const std::string** name) {
    const std::string key = sql + '\0' + "arrays:" + kinds;
    auto it = prepared_.find(key);
    if (it != prepared_.end()) {
      *name = &it->second;
      return core::Status::ok();
    }
    std::vector<unsigned> types;
    for (char k : kinds) types.push_back(k == 'i' ? kInt8ArrayOid : kByteaArrayOid);
    std::string stmt_name = "drosera_" + std::to_string(++statements_);
    ResultGuard g{PQprepare(conn_, stmt_name.c_str(), sql.c_str(), static_cast<int>(types.size()),
                            reinterpret_cast<const Oid*>(types.data()))};
    if (PQresultStatus(g.res) != PGRES_COMMAND_OK) return pgError("prepare", g.res, conn_);
    auto [pos, ok] = prepared_.emplace(key, std::move(stmt_name));
    (void)ok;
    *name = &pos->second;
    return core::Status::ok();
  }

  core::Status ensureConnected() {
    if (PQstatus(conn_) == CONNECTION_OK && !poisoned_) return core::Status::ok();
    poisoned_ = false;
    prepared_.clear();  // the server forgot them with the session
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) return pgError("reconnect", nullptr, conn_);
    return core::Status::ok();
  }

  core::Status prepare(const std::string& sql, std::span<const Param> params,
                       const std::string** name) {
    // Parameter types follow the kinds bound on first use; a statement is prepared once per
    // combination of kinds (a NULL leaves its type to the server).
    std::string key = sql;
    key += '\0';
    for (const Param& p : params) {
      key += p.kind == Param::Kind::kInt ? 'i' : p.kind == Param::Kind::kBytes ? 'b' : 'n';
    }
    auto it = prepared_.find(key);
    if (it != prepared_.end()) {
      *name = &it->second;
      return core::Status::ok();
    }
    int count = 0;
    const std::string text = numberPlaceholders(sql, &count);
    DROSERA_CHECK(count == static_cast<int>(params.size()));
    std::vector<unsigned> types(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      types[i] = params[i].kind == Param::Kind::kInt     ? kInt8Oid
                 : params[i].kind == Param::Kind::kBytes ? kByteaOid
                                                         : 0;
    }
    std::string stmt_name = "drosera_" + std::to_string(++statements_);
    ResultGuard g{PQprepare(conn_, stmt_name.c_str(), text.c_str(), count,
                            reinterpret_cast<const Oid*>(types.data()))};
    if (PQresultStatus(g.res) != PGRES_COMMAND_OK) return pgError("prepare", g.res, conn_);
    auto [pos, ok] = prepared_.emplace(std::move(key), std::move(stmt_name));
    (void)ok;
    *name = &pos->second;
    return core::Status::ok();
  }

  template <typename Fn>
  core::Status consume(PGresult* res, const Fn& on_row, uint64_t* changes) {
    const ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_TUPLES_OK) {
      const int rows = PQntuples(res);
      for (int i = 0; i < rows; ++i) on_row(PgRow(res, i));
    } else if (s != PGRES_COMMAND_OK) {
      return pgError("execute", res, conn_);
    }
    if (changes != nullptr) {
      const char* n = PQcmdTuples(res);
      *changes = (n != nullptr && *n != '\0') ? std::strtoull(n, nullptr, 10) : 0;
    }
    return core::Status::ok();
  }

  PGconn* conn_;
  bool poisoned_ = false;  // left mid-pipeline by an exception: reset before the next use
  std::unordered_map<std::string, std::string> prepared_;
  uint64_t statements_ = 0;
};

void ignoreNotice(void*, const char*) {}

core::Result<std::unique_ptr<PgDb>> connect(const std::string& conninfo, const char* role) {
  const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
  const std::string app = std::string("drosera-store-") + role;
  const char* values[] = {conninfo.c_str(), app.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return core::Status::unavailable("postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    core::Status st = pgError("connect", nullptr, conn);
    PQfinish(conn);
    return core::Status::unavailable(st.message());
  }
  PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
  auto db = std::make_unique<PgDb>(conn);
  if (auto st = db->execScript("SET client_min_messages = warning"); !st) return st;
  return db;
}

}  // namespace
}  // namespace internal

core::Result<std::unique_ptr<Store>> openPostgresStore(const PostgresOptions& options) {
  auto writer = internal::connect(options.conninfo, "writer");
  if (!writer) return writer.status();
  auto reader = internal::connect(options.conninfo, "reader");
  if (!reader) return reader.status();
  auto more = [conninfo = options.conninfo]() -> core::Result<std::unique_ptr<internal::Db>> {
    auto db = internal::connect(conninfo, "reader");
    if (!db) return db.status();
    return std::unique_ptr<internal::Db>(std::move(db).value());
  };
  return internal::openSqlStore(std::move(writer).value(), std::move(reader).value(), more);
}

namespace testing {

core::Status postgresExecForTest(const std::string& conninfo, const std::string& sql) {
  auto conn = internal::connect(conninfo, "test");
  if (!conn) return conn.status();
  return conn.value()->execScript(sql);
}

core::Result<int64_t> postgresServerPidForTest(const std::string& conninfo) {
  auto conn = internal::connect(conninfo, "test");
  if (!conn) return conn.status();
  int64_t backend = 0;
  internal::Db& db = *conn.value();
  auto st = db.run("SELECT CAST(pg_backend_pid() AS BIGINT)", {},
                   [&](const internal::Row& r) { backend = r.i64(0); });
  if (!st) return st;
  // While the connection is open its backend's parent is the postmaster: /proc/PID/stat is
  // "pid (comm) state ppid ...", and comm may hold spaces, so read after the last ')'.
  std::string stat;
  if (FILE* f = std::fopen(("/proc/" + std::to_string(backend) + "/stat").c_str(), "r")) {
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    stat.assign(buf, n);
  }
  const size_t close = stat.rfind(')');
  long long ppid = 0;
  if (close == std::string::npos ||
      std::sscanf(stat.c_str() + close + 1, " %*c %lld", &ppid) != 1 || ppid <= 1) {
    return core::Status::notFound("postgres: the server is not a local process");
  }
  return static_cast<int64_t>(ppid);
}

}  // namespace testing
}  // namespace drosera::store
