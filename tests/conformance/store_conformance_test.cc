// The Store conformance suite (DESIGN decision 6): every test runs against SQLite (a temporary
// file) and against PostgreSQL (the server tests/conformance/pg_server.sh started; its conninfo
// in DROSERA_PG_CONNINFO, each test in a schema of its own). Without that variable, or without
// a server behind it, the PostgreSQL half fails: it never skips.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "store/codec.h"
#include "store/packed.h"
#include "store/schema.h"
#include "store/store.h"
#include "store/testing.h"
#include "store_test_util.h"

namespace drosera::store {
namespace {

using testutil::event;
using testutil::kBase;
using testutil::kDay;
using testutil::kHour;
using testutil::kMinute;
using testutil::Model;
using testutil::rule;

enum class Backend { kSqlite, kPostgres };

// The schema version this drosera writes (src/store/schema.h).
constexpr int kCurrentSchema = 7;
// Makes a current store's tables those of version 6 (for tests that make an older store).
const std::string kUndoV7 =
    "ALTER TABLE sensors DROP COLUMN dictionary; "
    "ALTER TABLE sensors DROP COLUMN dictionary_events";

std::string hexOf(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// `n` random lowercase letters (incompressible enough for size tests), 13 from each draw
// (26^13 < 2^64; the bodies of the size tests take a million of them).
std::string randomText(std::mt19937_64& rng, size_t n) {
  std::string s(n, ' ');
  uint64_t bits = 0;
  int left = 0;
  for (auto& c : s) {
    if (left == 0) {
      bits = rng();
      left = 13;
    }
    c = static_cast<char>('a' + bits % 26);
    bits /= 26;
    --left;
  }
  return s;
}

void expectSameEvent(const core::Event& a, const core::Event& b, bool with_payload) {
  EXPECT_EQ(a.sensor, b.sensor);
  EXPECT_EQ(a.unique_id, b.unique_id);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.time_us, b.time_us);
  EXPECT_EQ(a.src_ip, b.src_ip);
  EXPECT_EQ(a.src_port, b.src_port);
  EXPECT_EQ(a.dst_ip, b.dst_ip);
  EXPECT_EQ(a.dst_port, b.dst_port);
  EXPECT_EQ(a.listener_kind, b.listener_kind);
  EXPECT_EQ(a.tls, b.tls);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.uri, b.uri);
  EXPECT_EQ(a.http_version, b.http_version);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.user_agent, b.user_agent);
  EXPECT_EQ(a.status, b.status);
  ASSERT_EQ(a.request_headers.size(), b.request_headers.size());
  for (size_t i = 0; i < a.request_headers.size(); ++i) {
    EXPECT_EQ(a.request_headers[i].name, b.request_headers[i].name);
    EXPECT_EQ(a.request_headers[i].value, b.request_headers[i].value);
  }
  ASSERT_EQ(a.rules.size(), b.rules.size());
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const auto &x = a.rules[i], &y = b.rules[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.severity, y.severity);
    EXPECT_EQ(x.message, y.message);
    EXPECT_EQ(x.data, y.data);
    EXPECT_EQ(x.match, y.match);
    EXPECT_EQ(x.tags, y.tags);
    EXPECT_EQ(x.file, y.file);
    EXPECT_EQ(x.line, y.line);
    EXPECT_EQ(x.ver, y.ver);
  }
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.inbound_score, b.inbound_score);
  EXPECT_EQ(a.outbound_score, b.outbound_score);
  EXPECT_EQ(a.categories, b.categories);
  ASSERT_EQ(a.traps.size(), b.traps.size());
  for (size_t i = 0; i < a.traps.size(); ++i) {
    EXPECT_EQ(a.traps[i].kind, b.traps[i].kind);
    EXPECT_EQ(a.traps[i].bait, b.traps[i].bait);
    EXPECT_EQ(a.traps[i].captured, b.traps[i].captured);
    EXPECT_EQ(a.traps[i].rule_id, b.traps[i].rule_id);
    EXPECT_EQ(a.traps[i].origin, b.traps[i].origin);
  }
  EXPECT_EQ(a.attacker_flagged, b.attacker_flagged);
  EXPECT_EQ(a.anomalies, b.anomalies);
  EXPECT_EQ(a.limits_hit, b.limits_hit);
  EXPECT_EQ(a.inspected, b.inspected);
  if (with_payload) {
    EXPECT_EQ(a.raw_record, b.raw_record);
    EXPECT_EQ(a.request_body, b.request_body);
  } else {
    EXPECT_EQ(b.raw_record, "");
    EXPECT_EQ(b.request_body, "");
  }
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (pg()) {
      const char* base = std::getenv("DROSERA_PG_CONNINFO");
      ASSERT_TRUE(base != nullptr && *base != '\0')
          << "DROSERA_PG_CONNINFO is not set: run the suite through "
             "tests/conformance/run_conformance.sh (ctest -R store_conformance)";
      base_conninfo_ = base;
      std::random_device rd;
      schema_ = "t_" + std::to_string(rd()) + std::to_string(rd());
      auto st = testing::postgresExecForTest(base_conninfo_, "CREATE SCHEMA " + schema_);
      ASSERT_TRUE(st.isOk()) << "PostgreSQL unreachable: " << st.toString();
      conninfo_ = base_conninfo_ + " options='-c search_path=" + schema_ + "'";
    } else {
      ASSERT_FALSE(dir_.path().empty());
      path_ = dir_.file("store.db");
    }
    auto s = open();
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    store_ = std::move(s).value();
  }

  void TearDown() override {
    store_.reset();
    if (pg() && !schema_.empty()) {
      (void)testing::postgresExecForTest(base_conninfo_,
                                         "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }
  }

  bool pg() const { return GetParam() == Backend::kPostgres; }

  // Another Store on the same database.
  core::Result<std::unique_ptr<Store>> open() {
    if (pg()) return openPostgresStore(PostgresOptions{conninfo_});
    return openSqliteStore(SqliteOptions{path_, false});
  }

  core::Status exec(const std::string& sql) {
    return pg() ? testing::postgresExecForTest(conninfo_, sql)
                : testing::sqliteExecForTest(path_, sql);
  }

  // A literal byte string in the dialect at hand (for test-only SQL).
  std::string bytesLiteral(const std::string& bytes) const {
    return pg() ? "'\\x" + hexOf(bytes) + "'::bytea" : "X'" + hexOf(bytes) + "'";
  }

  // Makes every insert into `table` whose `column` equals `value` fail.
  void injectFailure(const std::string& table, const std::string& column,
                     const std::string& value) {
    std::string sql;
    if (pg()) {
      sql = "CREATE FUNCTION fail_" + table + "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW." + column + " = " + bytesLiteral(value) +
            " THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER fail_" + table + " BEFORE INSERT ON " + table +
            " FOR EACH ROW EXECUTE FUNCTION fail_" + table + "();";
    } else {
      sql = "CREATE TRIGGER fail_" + table + " BEFORE INSERT ON " + table + " WHEN NEW." + column +
            " = " + bytesLiteral(value) + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;";
    }
    ASSERT_TRUE(exec(sql).isOk());
  }

  void removeFailure(const std::string& table) {
    ASSERT_TRUE(exec(pg() ? "DROP TRIGGER fail_" + table + " ON " + table
                          : "DROP TRIGGER fail_" + table)
                    .isOk());
  }

  InsertResult insertOk(const std::vector<core::Event>& events,
                        const std::vector<FileOffset>& offsets = {}) {
    auto r = store_->insert(events, offsets);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    if (!r.isOk()) return {};
    return r.value();
  }

  // In batches of 100: a store trains its dictionary at the batch after its first 500 events.
  void insertInHundreds(const std::vector<core::Event>& events) {
    for (size_t i = 0; i < events.size(); i += 100) {
      std::vector<core::Event> b(
          events.begin() + static_cast<std::ptrdiff_t>(i),
          events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 100)));
      ASSERT_EQ(insertOk(b).inserted, b.size());
    }
  }

  // Inserts in batches, recording what the model expects.
  void insertModel(Model* m, const std::vector<core::Event>& events, size_t batch = 97) {
    for (size_t i = 0; i < events.size(); i += batch) {
      std::vector<core::Event> b(events.begin() + static_cast<std::ptrdiff_t>(i),
                                 events.begin() + static_cast<std::ptrdiff_t>(
                                                      std::min(events.size(), i + batch)));
      auto r = insertOk(b);
      ASSERT_EQ(r.inserted, b.size());
      uint64_t seq = r.last_seq - b.size();
      for (auto& e : b) m->events.emplace_back(++seq, std::move(e));
    }
  }

  std::vector<uint64_t> allSeqs(size_t page = 7) {
    std::vector<uint64_t> seqs;
    uint64_t after = 0;
    for (;;) {
      auto r = store_->readAfter(after, page);
      EXPECT_TRUE(r.isOk());
      if (!r.isOk() || r->empty()) break;
      for (const auto& e : r.value()) seqs.push_back(e.seq);
      after = r->back().seq;
    }
    return seqs;
  }

  void expectTopMatches(const Model& m, Dimension d, const EventFilter& f, size_t limit,
                        const std::string& what) {
    auto got = store_->top(d, f, limit);
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    auto want = m.top(d, f, limit);
    std::vector<std::pair<std::string, uint64_t>> have;
    for (const auto& t : got.value()) have.emplace_back(t.key, t.count);
    EXPECT_EQ(have, want) << what << " dimension " << static_cast<int>(d);
  }

  void expectCountsMatch(const Model& m, const EventFilter& f, int64_t bucket,
                         const std::string& what) {
    auto got = store_->countsOverTime(f, bucket);
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    auto want = m.counts(f, bucket);
    ASSERT_EQ(got->size(), want.size()) << what << " bucket " << bucket;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got.value()[i].start_us, want[i].start_us) << what << " #" << i;
      EXPECT_EQ(got.value()[i].count, want[i].count) << what << " #" << i;
      EXPECT_EQ(got.value()[i].alerts, want[i].alerts) << what << " #" << i;
    }
  }

  // Pages through a list (`max_scan` events looked at per page, 0: the store's default) and
  // checks it against the model: every matching event once, newest first; a page full unless
  // it is the last or stopped at its budget; a partial page says where it stopped. Returns the
  // number of partial pages.
  size_t expectListMatches(const Model& m, const EventFilter& f, size_t page,
                           const std::string& what, uint64_t max_scan = 0) {
    std::vector<uint64_t> got;
    EventQuery q;
    q.filter = f;
    q.limit = page;
    q.max_scan = max_scan;
    size_t partial = 0;
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = store_->events(q);
      EXPECT_TRUE(r.isOk()) << r.status().toString();
      if (!r.isOk()) break;
      EXPECT_LE(r->events.size(), page);
      for (const auto& e : r->events) {
        EXPECT_TRUE(Model::matches(f, e.event)) << what << " #" << e.seq;
        if (q.before_seq != 0) {
          EXPECT_LT(e.seq, q.before_seq) << what;
        }
        if (r->next_cursor != 0) {
          EXPECT_GE(e.seq, r->next_cursor) << what;
        }
        got.push_back(e.seq);
      }
      if (r->partial) {
        ++partial;
        EXPECT_NE(r->next_cursor, 0u) << what;
        // How far back it searched: the time of the oldest event it looked at, the first one
        // (of the address, for an ip) at or after where it stopped.
        std::optional<int64_t> oldest;
        uint64_t oldest_seq = UINT64_MAX;
        for (const auto& [seq, e] : m.events) {
          if (seq >= r->next_cursor && seq < oldest_seq && (f.ip.empty() || e.src_ip == f.ip)) {
            oldest_seq = seq;
            oldest = e.time_us;
          }
        }
        EXPECT_EQ(r->searched_until_us, oldest.value_or(0)) << what;
      } else {
        EXPECT_EQ(r->searched_until_us, 0) << what;
      }
      if (r->next_cursor == 0) break;
      if (!r->partial) {
        EXPECT_EQ(r->events.size(), page) << what;
      }
      EXPECT_TRUE(q.before_seq == 0 || r->next_cursor < q.before_seq) << what;
      q.before_seq = r->next_cursor;
    }
    EXPECT_EQ(got, m.list(f)) << what;
    return partial;
  }

  testutil::TempDir dir_;
  std::string path_;
  std::string base_conninfo_, conninfo_, schema_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------------

TEST_P(StoreTest, FreshStoreIsEmptyAtTheCurrentSchemaVersion) {
  auto s = store_->stats();
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  EXPECT_EQ(s->events, 0u);
  EXPECT_EQ(s->attackers, 0u);
  EXPECT_EQ(s->last_seq, 0u);
  EXPECT_EQ(s->schema_version, kCurrentSchema);
  EXPECT_GT(s->bytes, 0u);
  auto r = store_->readAfter(0, 10);
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r->empty());
  auto e = store_->event(1);
  ASSERT_TRUE(e.isOk());
  EXPECT_FALSE(e->has_value());
  auto p = store_->events(EventQuery{});
  ASSERT_TRUE(p.isOk());
  EXPECT_TRUE(p->events.empty());
  EXPECT_EQ(p->next_cursor, 0u);
  auto t = store_->top(Dimension::kSourceIp, EventFilter{}, 10);
  ASSERT_TRUE(t.isOk());
  EXPECT_TRUE(t->empty());
  auto c = store_->countsOverTime(EventFilter{}, kHour);
  ASSERT_TRUE(c.isOk());
  EXPECT_TRUE(c->empty());
  // Empty insert: nothing happens.
  auto i = store_->insert({}, {});
  ASSERT_TRUE(i.isOk());
  EXPECT_EQ(i->inserted, 0u);
  EXPECT_EQ(i->last_seq, 0u);
}

TEST_P(StoreTest, FullEventRoundTripsExactly) {
  core::Event e = event("u1", kBase + 123456789);
  e.format = "modsec3-json";
  e.tls = true;
  e.listener_kind = "fake";
  e.src_port = 65535;
  e.dst_port = 8443;
  e.http_version = "2";
  e.status = 404;
  e.request_headers.push_back({"Cookie", "a=b; c=d"});
  e.request_headers.push_back({"Cookie", "second=1"});
  e.request_body = "user=admin&pass=hunter2";
  e.rules = {rule(942100, "SQL Injection", {}, 2),
             rule(941100, "XSS", {"attack-xss", "OWASP_CRS"}, 2),
             rule(949110, "Inbound Anomaly Score Exceeded", {"attack-generic"}, 0)};
  e.rules[1].line = -1;
  e.scores = {{"inbound_anomaly_score", 10}, {"sql_injection_score", 5}, {"neg", -3}};
  e.inbound_score = 10;
  e.outbound_score = -1;
  core::TrapHit t;
  t.kind = "honeytoken";
  t.bait = "AKIA-FAKE";
  t.captured = "AKIA-FAKE:secret";
  t.rule_id = 990007;
  t.origin = "u0";
  e.traps = {t};
  e.attacker_flagged = true;
  e.anomalies = {"bare_lf", "nul_in_header"};
  e.limits_hit = {"max_body_bytes"};
  e.inspected = false;
  testutil::classify(&e);
  e.raw_record = std::string(5000, 'x') + "{\"json\":true}";

  auto r = insertOk({e});
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.last_seq, 1u);

  auto one = store_->event(1);
  ASSERT_TRUE(one.isOk() && one->has_value());
  EXPECT_EQ((*one)->seq, 1u);
  expectSameEvent(e, (*one)->event, true);

  auto after = store_->readAfter(0, 10);
  ASSERT_TRUE(after.isOk());
  ASSERT_EQ(after->size(), 1u);
  expectSameEvent(e, after.value()[0].event, true);

  // Lists leave the raw record and the body out, and keep everything else.
  auto page = store_->events(EventQuery{});
  ASSERT_TRUE(page.isOk());
  ASSERT_EQ(page->events.size(), 1u);
  expectSameEvent(e, page->events[0].event, false);
}

TEST_P(StoreTest, HostileStringsRoundTripAndFilterExactly) {
  const std::string nul("a\0b", 3);
  const std::string bad_utf8("\xff\xfe\xc0\xaf\xed\xa0\x80", 7);
  const std::string sql = "x'); DROP TABLE events; --";
  const std::string quotes = "\"'`\\\\%_*?";
  const std::string all = nul + bad_utf8 + sql + quotes + std::string("\0", 1);
  core::Event e = event(all + "uid", kBase, "1.2.3.4" + nul, "sensor" + bad_utf8);
  e.method = sql;
  e.uri = "/" + all + "?q=" + all;
  e.host = all;
  e.user_agent = bad_utf8 + "UA" + nul;
  e.http_version = nul;
  e.request_headers = {{all, all}, {"", ""}};
  e.request_body = all + all;
  e.rules = {rule(942100, all, {all, "attack-sqli"})};
  e.rules[0].data = all;
  e.rules[0].match = all;
  e.scores = {{all, 1}};
  core::TrapHit t;
  t.kind = "cookie" + nul;
  t.bait = all;
  t.captured = all;
  e.traps = {t};
  e.categories = {all, "attack-sqli"};
  e.anomalies = {all};
  e.raw_record = all + std::string(300, '\xff') + all;
  auto r = insertOk({e});
  ASSERT_EQ(r.inserted, 1u);

  auto back = store_->event(r.last_seq);
  ASSERT_TRUE(back.isOk() && back->has_value());
  expectSameEvent(e, (*back)->event, true);

  // Filters compare bytes exactly.
  EventFilter f;
  f.ip = e.src_ip;
  f.sensor = e.sensor;
  f.tag = all;
  f.category = all;
  f.trap = t.kind;
  auto page = store_->events(EventQuery{f, 0, 10});
  ASSERT_TRUE(page.isOk()) << page.status().toString();
  ASSERT_EQ(page->events.size(), 1u);
  expectSameEvent(e, page->events[0].event, false);
  f.ip = "1.2.3.4";  // a prefix is not the value
  page = store_->events(EventQuery{f, 0, 10});
  ASSERT_TRUE(page.isOk());
  EXPECT_TRUE(page->events.empty());

  EventFilter text;
  text.text = sql;  // case-insensitive substring of the uri
  page = store_->events(EventQuery{text, 0, 10});
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->events.size(), 1u);
  text.text = "ua" + nul;  // of the user agent, NUL included
  page = store_->events(EventQuery{text, 0, 10});
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->events.size(), 1u);
  text.text = "DROP TABLE events; --x";
  page = store_->events(EventQuery{text, 0, 10});
  ASSERT_TRUE(page.isOk());
  EXPECT_TRUE(page->events.empty());

  // Aggregates keep the exact bytes as keys.
  auto top = store_->top(Dimension::kUserAgent, EventFilter{}, 10);
  ASSERT_TRUE(top.isOk());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top.value()[0].key, e.user_agent);
  top = store_->top(Dimension::kUri, EventFilter{}, 10);
  ASSERT_TRUE(top.isOk());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top.value()[0].key, Model::pathOf(e.uri));  // up to the first '?'
  top = store_->top(Dimension::kRule, EventFilter{}, 10);
  ASSERT_TRUE(top.isOk());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top.value()[0].label, all);

  auto a = store_->attacker(e.src_ip);
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->ip, e.src_ip);
  EXPECT_EQ((*a)->sensors, std::vector<std::string>{e.sensor});
  EXPECT_EQ((*a)->traps, std::vector<std::string>{t.kind});

  // The store still works (no table was dropped).
  auto s = store_->stats();
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->events, 1u);

  // Cursors, state and offsets take hostile names and values too.
  ASSERT_TRUE(store_->setCursor(all, 7).isOk());
  EXPECT_EQ(store_->cursor(all).value(), 7u);
  ASSERT_TRUE(store_->putState(all, all, all + all).isOk());
  auto v = store_->getState(all, all);
  ASSERT_TRUE(v.isOk() && v->has_value());
  EXPECT_EQ(**v, all + all);
  ASSERT_TRUE(store_->sensorSeen(e.sensor, kBase, 5, all).isOk());
  auto sensors = store_->sensors();
  ASSERT_TRUE(sensors.isOk());
  ASSERT_EQ(sensors->size(), 1u);
  EXPECT_EQ(sensors.value()[0].status_json, all);
}

TEST_P(StoreTest, AbsurdTimesAreStoredExactlyAndBreakNothing) {
  // A broken sensor clock or a crafted record: the times are kept as they are, and neither
  // inserts (which fold days) nor aggregates nor retention fail on them.
  const std::vector<int64_t> times = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX - 1, INT64_MAX,
                                      -(int64_t{1} << 62) - 5};
  std::vector<core::Event> batch;
  for (size_t i = 0; i < times.size(); ++i) {
    batch.push_back(event("t" + std::to_string(i), times[i], "9.9.9." + std::to_string(i)));
  }
  ASSERT_EQ(insertOk(batch).inserted, times.size());
  ASSERT_EQ(insertOk({event("normal", kBase)}).inserted, 1u);
  auto all = store_->readAfter(0, 100);
  ASSERT_TRUE(all.isOk());
  ASSERT_EQ(all->size(), times.size() + 1);
  for (size_t i = 0; i < times.size(); ++i) EXPECT_EQ(all.value()[i].event.time_us, times[i]);
  auto top = store_->top(Dimension::kSourceIp, EventFilter{}, 100);
  ASSERT_TRUE(top.isOk()) << top.status().toString();
  EXPECT_EQ(top->size(), times.size() + 1);
  EventFilter recent;
  recent.from_us = kBase - kDay;
  recent.to_us = kBase + kDay;
  auto c = store_->countsOverTime(recent, kHour);
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  uint64_t total = 0;
  for (const auto& b : c.value()) total += b.count;
  EXPECT_EQ(total, 1u);
  EventFilter edges;
  edges.from_us = INT64_MIN + 7;
  edges.to_us = INT64_MAX;
  ASSERT_TRUE(store_->top(Dimension::kSensor, edges, 10).isOk());
  ASSERT_TRUE(store_->countsOverTime(EventFilter{}, kDay).isOk());
  auto page = store_->events(EventQuery{edges, 0, 100});
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->events.size(), 4u);  // INT64_MIN, INT64_MIN + 1 and INT64_MAX are outside
  auto a = store_->attacker("9.9.9.0");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->first_seen_us, INT64_MIN);
  auto r = store_->applyRetention(kBase - kDay, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->deleted, 4u);
  EXPECT_EQ(store_->stats()->events, 3u);
  ASSERT_EQ(insertOk({event("after", kBase + 1)}).inserted, 1u);
}

TEST_P(StoreTest, RawRecordsOfEverySizeRoundTripThroughCompression) {
  std::mt19937_64 rng(7);
  std::string random_bytes(200000, '\0');
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  std::string repetitive;
  while (repetitive.size() < 1'500'000) repetitive += "{\"request\":{\"headers\":{\"Host\":\"x\"}}}";
  const std::vector<std::string> raws = {"", "x", std::string(63, 'a'), std::string(64, 'a'),
                                         random_bytes, repetitive, std::string(100, '\0')};
  std::vector<core::Event> batch;
  for (size_t i = 0; i < raws.size(); ++i) {
    core::Event e = event("raw" + std::to_string(i), kBase + static_cast<int64_t>(i));
    e.raw_record = raws[i];
    e.request_body = raws[raws.size() - 1 - i];
    batch.push_back(e);
  }
  auto r = insertOk(batch);
  ASSERT_EQ(r.inserted, raws.size());
  auto back = store_->readAfter(0, 100);
  ASSERT_TRUE(back.isOk());
  ASSERT_EQ(back->size(), raws.size());
  for (size_t i = 0; i < raws.size(); ++i) {
    EXPECT_EQ(back.value()[i].event.raw_record, raws[i]) << i;
    EXPECT_EQ(back.value()[i].event.request_body, raws[raws.size() - 1 - i]) << i;
  }
  // Compression pays: 1.5 MB of repetitive JSON takes far less room than that.
  auto s = store_->stats();
  ASSERT_TRUE(s.isOk());
  if (!pg()) {
    EXPECT_LT(s->bytes, 1'500'000u);
  }
}

TEST_P(StoreTest, DictionaryCompressedEventsReadBackInEveryInstance) {
  // After its first thousand events a store trains a zstd dictionary on them and compresses
  // with it; any instance must read those events back, including one opened before the
  // dictionary existed.
  auto early = open();
  ASSERT_TRUE(early.isOk());
  std::mt19937_64 rng(13);
  std::vector<core::Event> events;
  for (int i = 0; i < 2500; ++i) {
    core::Event e = testutil::randomEvent(rng, i, kBase, kDay);
    e.raw_record = "{\"transaction\":{\"client_ip\":\"" + e.src_ip + "\",\"uri\":\"" + e.uri +
                   "\",\"n\":" + std::to_string(rng()) + "}," + std::string(2000, 'j') + "}";
    e.request_body = i % 3 == 0 ? "a=" + std::to_string(i) : "";
    events.push_back(std::move(e));
  }
  for (size_t i = 0; i < events.size(); i += 100) {
    std::vector<core::Event> b(events.begin() + static_cast<std::ptrdiff_t>(i),
                               events.begin() + static_cast<std::ptrdiff_t>(i + 100));
    ASSERT_EQ(insertOk(b).inserted, 100u);
  }
  auto check = [&](Store& s, const std::string& who) {
    uint64_t after = 0;
    size_t n = 0;
    for (;;) {
      auto r = s.readAfter(after, 333);
      ASSERT_TRUE(r.isOk()) << who << ": " << r.status().toString();
      if (r->empty()) break;
      for (const auto& se : r.value()) {
        expectSameEvent(events[se.seq - 1], se.event, true);
        after = se.seq;
        ++n;
      }
    }
    EXPECT_EQ(n, events.size()) << who;
    auto page = s.events(EventQuery{EventFilter{}, 0, 1000});
    ASSERT_TRUE(page.isOk()) << who;
    ASSERT_EQ(page->events.size(), 1000u);
    expectSameEvent(events[2499], page->events[0].event, false);
  };
  check(*early.value(), "an instance opened before the dictionary");
  check(*store_, "the writer");
  auto later = open();
  ASSERT_TRUE(later.isOk());
  check(*later.value(), "a new instance");
  // The stored size shows the dictionary at work: 2,500 bodies of 2 KB+ in far less.
  if (!pg()) {
    EXPECT_LT(store_->stats()->bytes, 2500u * 1500u);
  }
  // Without its dictionary a record cannot be read: it is left out (and its seq examined), the
  // others still read; the event itself reads as corruption.
  early.value().reset();
  later.value().reset();
  store_.reset();
  ASSERT_TRUE(exec("DELETE FROM dictionaries").isOk());
  auto blind = open();
  ASSERT_TRUE(blind.isOk());
  auto first = blind.value()->readAfter(0, 10);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(first->size(), 10u);
  uint64_t examined = 0;
  auto last = blind.value()->readAfter(2400, 10, &examined);
  ASSERT_TRUE(last.isOk()) << last.status().toString();
  EXPECT_TRUE(last->empty());
  EXPECT_EQ(examined, 2500u);
  auto one = blind.value()->event(2500);
  ASSERT_FALSE(one.isOk());
  EXPECT_EQ(one.status().code(), core::Status::Code::kCorruption) << one.status().toString();
  store_ = std::move(blind).value();
}

TEST_P(StoreTest, DuplicatesAreSkippedAndCountedAcrossAndWithinBatches) {
  std::vector<core::Event> first;
  for (int i = 0; i < 5; ++i) first.push_back(event("d" + std::to_string(i), kBase + i));
  auto r1 = insertOk(first);
  EXPECT_EQ(r1.inserted, 5u);
  EXPECT_EQ(r1.duplicates, 0u);
  EXPECT_EQ(r1.last_seq, 5u);

  // The same batch again: all duplicates, nothing changes.
  auto r2 = insertOk(first);
  EXPECT_EQ(r2.inserted, 0u);
  EXPECT_EQ(r2.duplicates, 5u);
  EXPECT_EQ(r2.last_seq, 0u);

  // Mixed: two old, one new twice, one new; same unique_id from another sensor is not a dup.
  std::vector<core::Event> mixed = {first[0], event("n1", kBase + 10), first[3],
                                    event("n1", kBase + 11), event("n2", kBase + 12),
                                    event("d0", kBase + 13, "203.0.113.7", "sensor-2")};
  auto r3 = insertOk(mixed);
  EXPECT_EQ(r3.inserted, 3u);
  EXPECT_EQ(r3.duplicates, 3u);
  EXPECT_EQ(r3.last_seq, 8u);

  EXPECT_EQ(allSeqs(), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // The first occurrence in the batch won.
  auto n1 = store_->event(6);
  ASSERT_TRUE(n1.isOk() && n1->has_value());
  EXPECT_EQ((*n1)->event.unique_id, "n1");
  EXPECT_EQ((*n1)->event.time_us, kBase + 10);
  // Nothing counted twice.
  auto s = store_->stats();
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->events, 8u);
  auto a = store_->attacker("203.0.113.7");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->events, 8u);
  auto c = store_->countsOverTime(EventFilter{}, kDay);
  ASSERT_TRUE(c.isOk());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ(c.value()[0].count, 8u);
  auto sensors = store_->sensors();
  ASSERT_TRUE(sensors.isOk());
  ASSERT_EQ(sensors->size(), 2u);
  EXPECT_EQ(sensors.value()[0].events, 7u);
  EXPECT_EQ(sensors.value()[1].events, 1u);
}

// SQLite inserts the rows of up to 64 events a statement: a stored event in the middle of a long
// batch, in the middle of one such statement, still leaves the others with dense seqs in order.
TEST_P(StoreTest, StoredEventsInsideALongBatchAreSkipped) {
  insertOk({event("m100", kBase + 100), event("m150", kBase + 150)});
  std::vector<core::Event> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(event("m" + std::to_string(i), kBase + i));
  auto r = insertOk(batch);
  EXPECT_EQ(r.inserted, 198u);
  EXPECT_EQ(r.duplicates, 2u);
  EXPECT_EQ(r.last_seq, 200u);
  std::vector<uint64_t> want(200);
  std::iota(want.begin(), want.end(), 1);
  EXPECT_EQ(allSeqs(), want);
  for (uint64_t seq : {3u, 102u, 103u, 152u, 200u}) {
    auto e = store_->event(seq);
    ASSERT_TRUE(e.isOk() && e->has_value()) << seq;
    // seq 3 onwards are the batch's, less m100 and m150.
    const int i = static_cast<int>(seq) - 3 + (seq >= 103 ? 1 : 0) + (seq >= 152 ? 1 : 0);
    EXPECT_EQ((*e)->event.unique_id, "m" + std::to_string(i)) << seq;
  }
  auto s = store_->stats();
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->events, 200u);
}

// Packed ingest (store/packed.h): a sensor packs its events with the store's dictionary; the
// store keeps the bodies as they came, and they read back as the events the sensor had, from
// the sensor the collector says (the column), in every instance.
TEST_P(StoreTest, PackedEventsReadBackAsTheSensorHadThem) {
  auto none = store_->dictionary();
  ASSERT_TRUE(none.isOk());
  EXPECT_FALSE(none->has_value()) << "no dictionary before the store has trained one";
  EXPECT_EQ(store_->dictionaryId(), 0u);
  std::mt19937_64 rng(77);
  auto withRecord = [&](core::Event e, int i) {
    e.raw_record = "{\"transaction\":{\"client_ip\":\"" + e.src_ip + "\",\"uri\":\"" + e.uri +
                   "\",\"n\":" + std::to_string(rng()) + "}," + std::string(1500, 'p') + "}";
    e.request_body = i % 3 == 0 ? "a=" + std::to_string(i) : "";
    return e;
  };
  std::vector<core::Event> plain;
  for (int i = 0; i < 600; ++i)
    plain.push_back(withRecord(testutil::randomEvent(rng, i, kBase, kDay), i));
  insertInHundreds(plain);
  auto dict = store_->dictionary();
  ASSERT_TRUE(dict.isOk() && dict->has_value()) << "trained on the first 500 events";
  store::Packer packer(dict.value()->bytes);
  EXPECT_EQ(packer.dictionaryId(), dict.value()->id);
  EXPECT_EQ(store_->dictionaryId(), dict.value()->id);

  // 100 events packed as a sensor does, one of them with a forged sensor name inside.
  std::vector<core::Event> sent;
  std::string batch;
  for (int i = 600; i < 700; ++i) {
    sent.push_back(withRecord(testutil::randomEvent(rng, i, kBase, kDay), i));
    core::Event inside = sent.back();
    if (i == 650) inside.sensor = "sensor-forged";
    packer.append(inside, &batch);
  }
  store::Packer::appendLine("{\"not\": \"packed\"}", &batch);
  std::string_view in = batch;
  ASSERT_TRUE(store::openPackedBatch(&in).isOk());
  std::vector<core::Event> decoded;
  std::vector<Store::PackedBody> bodies;
  int lines = 0;
  while (!in.empty()) {
    store::PackedRecord rec;
    ASSERT_TRUE(store::nextPackedRecord(&in, &rec).isOk());
    if (rec.is_line) {
      EXPECT_EQ(rec.line, "{\"not\": \"packed\"}");
      ++lines;
      continue;
    }
    core::Event e;
    ASSERT_TRUE(store::decodePackedDetail(rec.detail, &e).isOk());
    EXPECT_TRUE(e.raw_record.empty());
    e.sensor = sent[decoded.size()].sensor;  // the collector's: the token's
    decoded.push_back(std::move(e));
    bodies.push_back({rec.detail, rec.body});
  }
  EXPECT_EQ(lines, 1);
  ASSERT_EQ(decoded.size(), 100u);
  // An event the collector parsed itself (no packed body) goes in the same batch.
  decoded.push_back(withRecord(testutil::randomEvent(rng, 700, kBase, kDay), 700));
  sent.push_back(decoded.back());
  bodies.push_back({});
  auto r = store_->insertPacked(decoded, bodies);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->inserted, 101u);
  EXPECT_EQ(r->last_seq, 701u);
  // Resent: duplicates, nothing stored.
  r = store_->insertPacked(decoded, bodies);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->duplicates, 101u);

  auto check = [&](Store& s, const std::string& who) {
    auto got = s.readAfter(600, 1000);
    ASSERT_TRUE(got.isOk()) << who << ": " << got.status().toString();
    ASSERT_EQ(got->size(), 101u) << who;
    for (const auto& se : got.value()) expectSameEvent(sent[se.seq - 601], se.event, true);
    auto one = s.event(651);
    ASSERT_TRUE(one.isOk() && one->has_value()) << who;
    EXPECT_EQ((*one)->event.sensor, sent[50].sensor) << who << ": the column, not the body";
    expectSameEvent(sent[50], (*one)->event, true);
    auto page = s.events(EventQuery{EventFilter{}, 0, 200});
    ASSERT_TRUE(page.isOk()) << who;
    for (const auto& se : page->events) {
      if (se.seq > 600) expectSameEvent(sent[se.seq - 601], se.event, false);
    }
  };
  check(*store_, "the writer");
  auto later = open();
  ASSERT_TRUE(later.isOk());
  check(*later.value(), "a new instance");
  // The aggregates count them as any.
  auto st = store_->stats();
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st->events, 701u);
}

// A packed body the store will not keep refuses the whole batch, naming the event, and stores
// nothing: one that is not a frame, one that needs a dictionary the store does not have, one
// whose frame does not hold the detail sent with it (checked in full: the first of a store's,
// then one in 32).
// Each sensor packs with a dictionary trained on its own events only: a sensor's token reads
// nothing of another sensor's traffic from it (a decoy host name all of beta's events carry is
// in the store's own dictionary, trained on both, and in beta's, never in alpha's). None before
// a sensor has 500 events; persisted; alpha's packed events are taken.
TEST_P(StoreTest, EachSensorPacksWithADictionaryOfItsOwnTraffic) {
  std::mt19937_64 rng(79);
  auto of = [&](const std::string& sensor, const std::string& host, int i) {
    core::Event e = testutil::randomEvent(rng, i, kBase, kDay);
    e.sensor = sensor;
    e.unique_id = sensor + "-" + std::to_string(100000 + i);
    e.host = host;
    e.raw_record = "{\"transaction\":{\"host\":\"" + host + "\",\"n\":" + std::to_string(rng()) +
                   ",\"pad\":\"" + std::string(700, 'p') + "\"}}";
    return e;
  };
  const std::string secret = "beta-decoy-7f3a9c.corp.internal";
  std::vector<core::Event> events;
  for (int i = 0; i < 1200; ++i) {
    events.push_back(i % 2 == 0 || i >= 1000 ? of("alpha", "alpha.example", i)
                                             : of("beta", secret, i));
  }
  insertInHundreds(events);  // alpha 700 events, beta 500
  EXPECT_EQ(store_->packingDictionaryId("nobody"), 0u);
  auto global = store_->dictionary();
  ASSERT_TRUE(global.isOk() && global->has_value());
  EXPECT_NE(global.value()->bytes.find(secret), std::string::npos)
      << "the store's own dictionary, trained on both sensors, holds beta's host name";
  // Both have the events for one of their own.
  const uint32_t alpha = store_->packingDictionaryId("alpha");
  const uint32_t beta = store_->packingDictionaryId("beta");
  ASSERT_NE(alpha, 0u);
  ASSERT_NE(beta, 0u);
  EXPECT_NE(alpha, beta);
  EXPECT_NE(alpha, global.value()->id);
  auto a = store_->packingDictionary("alpha");
  auto b = store_->packingDictionary("beta");
  ASSERT_TRUE(a.isOk() && a->has_value() && b.isOk() && b->has_value());
  EXPECT_EQ(a.value()->id, alpha);
  EXPECT_EQ(a.value()->bytes.find(secret), std::string::npos)
      << "alpha's dictionary holds nothing of beta's traffic";
  EXPECT_NE(b.value()->bytes.find(secret), std::string::npos);
  // A sensor with fewer than 500 events has none.
  std::vector<core::Event> few;
  for (int i = 0; i < 300; ++i) few.push_back(of("gamma", "gamma.example", 2000 + i));
  insertInHundreds(few);
  EXPECT_EQ(store_->packingDictionaryId("gamma"), 0u);
  auto g = store_->packingDictionary("gamma");
  ASSERT_TRUE(g.isOk());
  EXPECT_FALSE(g->has_value());
  // alpha's events packed with its dictionary are taken, and read back whole.
  store::Packer packer(a.value()->bytes);
  const core::Event sent = of("alpha", "alpha.example", 5000);
  std::string batch;
  packer.append(sent, &batch);
  std::string_view in = batch;
  ASSERT_TRUE(store::openPackedBatch(&in).isOk());
  store::PackedRecord rec;
  ASSERT_TRUE(store::nextPackedRecord(&in, &rec).isOk());
  core::Event decoded;
  ASSERT_TRUE(store::decodePackedDetail(rec.detail, &decoded).isOk());
  decoded.sensor = "alpha";
  auto r = store_->insertPacked({decoded}, {{rec.detail, rec.body}});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->inserted, 1u);
  auto back = store_->event(r->last_seq);
  ASSERT_TRUE(back.isOk() && back->has_value());
  expectSameEvent(sent, (*back)->event, true);
  // Another instance finds the same dictionaries.
  store_.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened.isOk()) << reopened.status().toString();
  store_ = std::move(reopened).value();
  EXPECT_EQ(store_->packingDictionaryId("alpha"), alpha);
  EXPECT_EQ(store_->packingDictionaryId("beta"), beta);
}

TEST_P(StoreTest, PackedBodiesTheStoreWillNotKeepRefuseTheBatch) {
  std::mt19937_64 rng(78);
  std::vector<core::Event> plain;
  std::vector<std::string> samples;
  for (int i = 0; i < 600; ++i) {
    plain.push_back(testutil::randomEvent(rng, i, kBase, kDay));
    plain.back().raw_record = "{\"record\":" + std::to_string(rng()) + std::string(900, 'q') + "}";
    samples.push_back(store::internal::encodeBody(plain.back()));
  }
  insertInHundreds(plain);
  auto dict = store_->dictionary();
  ASSERT_TRUE(dict.isOk() && dict->has_value());
  store::Packer packer(dict.value()->bytes);
  auto pack = [&](const core::Event& e, store::Packer& p) {
    std::string b;
    p.append(e, &b);
    std::string_view in = b;
    EXPECT_TRUE(store::openPackedBatch(&in).isOk());
    store::PackedRecord rec;
    EXPECT_TRUE(store::nextPackedRecord(&in, &rec).isOk());
    return std::pair<std::string, std::string>(rec.detail, rec.body);
  };
  core::Event a = testutil::randomEvent(rng, 1000, kBase, kDay);
  a.raw_record = std::string(800, 'a');
  core::Event b = testutil::randomEvent(rng, 1001, kBase, kDay);
  b.raw_record = std::string(800, 'b');
  const auto pa = pack(a, packer);
  const auto pb = pack(b, packer);
  auto refused = [&](std::vector<core::Event> events, std::vector<Store::PackedBody> bodies,
                     const std::string& why, const std::string& which = "packed event 2") {
    auto r = store_->insertPacked(events, bodies);
    ASSERT_FALSE(r.isOk()) << why;
    EXPECT_EQ(r.status().code(), core::Status::Code::kInvalidArgument) << why;
    EXPECT_NE(r.status().message().find("of " + which + " "), std::string::npos)
        << why << ": " << r.status().message();
    auto s = store_->stats();
    ASSERT_TRUE(s.isOk());
    EXPECT_EQ(s->events, 600u) << why << ": nothing stored";
  };
  core::Event da, db;
  ASSERT_TRUE(store::decodePackedDetail(pa.first, &da).isOk());
  ASSERT_TRUE(store::decodePackedDetail(pb.first, &db).isOk());
  // a's detail with b's body: the first packed body a store sees is checked in full.
  refused({da, db}, {{pa.first, pb.second}, {pb.first, pb.second}}, "another event's body",
          "packed event 1");
  std::string cut = pb.second.substr(0, pb.second.size() - 3);
  refused({da, db}, {{pa.first, pa.second}, {pb.first, cut}}, "a frame cut short");
  std::string codec = pb.second;
  codec[0] = 7;
  refused({da, db}, {{pa.first, pa.second}, {pb.first, codec}}, "an unknown codec");
  // A frame that declares more than an event's body can hold (7 MiB in a few KB).
  {
    store::internal::Compressor plain_zstd;
    std::string huge;
    plain_zstd.compress(std::string(7u << 20, 'z'), &huge);
    ASSERT_LT(huge.size(), 1u << 20);
    refused({da, db}, {{pa.first, pa.second}, {pb.first, huge}}, "a frame that declares 7 MiB");
  }
  // A dictionary of other samples: not the store's.
  for (auto& x : samples) x += "other";
  auto other = store::internal::trainDictionary(samples, 16 * 1024);
  ASSERT_TRUE(other.has_value());
  store::Packer stranger(*other);
  ASSERT_NE(stranger.dictionaryId(), dict.value()->id);
  const auto ps = pack(b, stranger);
  refused({da, db}, {{pa.first, pa.second}, {ps.first, ps.second}}, "an unknown dictionary");
  // Bodies that each declare what a body may hold, but together more than a batch may: the
  // twelfth brings the batch past 64 MiB.
  {
    std::vector<core::Event> big;
    std::vector<std::pair<std::string, std::string>> packs;
    for (int i = 0; i < 12; ++i) {
      big.push_back(testutil::randomEvent(rng, 2000 + i, kBase, kDay));
      big.back().raw_record = std::string((11u << 19) + i, 'x');  // 5.5 MiB
      packs.push_back(pack(big.back(), packer));
      ASSERT_LT(packs.back().second.size(), 64u << 10);
    }
    std::vector<core::Event> decoded(12);
    std::vector<Store::PackedBody> bodies;
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(store::decodePackedDetail(packs[i].first, &decoded[i]).isOk());
      bodies.push_back({packs[i].first, packs[i].second});
    }
    refused(decoded, bodies, "bodies declaring 66 MiB together", "packed event 12");
    decoded.pop_back();
    bodies.pop_back();
    auto r = store_->insertPacked(decoded, bodies);  // 60.5 MiB: taken
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_EQ(r->inserted, 11u);
    auto back = store_->event(611);
    ASSERT_TRUE(back.isOk() && back->has_value());
    expectSameEvent(big[10], (*back)->event, true);
  }
  // And whole, they go in.
  auto r = store_->insertPacked({da, db}, {{pa.first, pa.second}, {pb.first, pb.second}});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->inserted, 2u);
  auto got = store_->event(613);
  ASSERT_TRUE(got.isOk() && got->has_value());
  expectSameEvent(b, (*got)->event, true);
}

TEST_P(StoreTest, InvalidEventRefusesTheWholeBatch) {
  insertOk({event("ok0", kBase)});
  std::vector<core::Event> batch = {event("ok1", kBase + 1), event("", kBase + 2)};
  auto r = store_->insert(batch, {FileOffset{"k", "/var/log/x", 10, 1}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::Status::Code::kInvalidArgument);
  batch = {event("ok1", kBase + 1), event("ok2", kBase + 2, "1.1.1.1", "")};
  r = store_->insert(batch);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(allSeqs(), std::vector<uint64_t>{1});
  EXPECT_TRUE(store_->fileOffsets()->empty());
  EXPECT_EQ(store_->stats()->events, 1u);
}

TEST_P(StoreTest, SeqIncreasesStrictlyAndReadAfterSeesEveryEventOnce) {
  uint64_t expect_last = 0;
  for (int b = 0; b < 12; ++b) {
    std::vector<core::Event> batch;
    for (int i = 0; i <= b; ++i) {
      batch.push_back(event("s" + std::to_string(b) + "-" + std::to_string(i),
                            kBase - b * kMinute + i));  // times go backwards: seq does not
    }
    auto r = insertOk(batch);
    expect_last += batch.size();
    EXPECT_EQ(r.last_seq, expect_last);
  }
  std::vector<uint64_t> want(expect_last);
  for (uint64_t i = 0; i < expect_last; ++i) want[i] = i + 1;
  for (size_t page : {1u, 5u, 13u, 1000u}) EXPECT_EQ(allSeqs(page), want) << page;
  auto r = store_->readAfter(expect_last, 10);
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r->empty());
  auto limited = store_->readAfter(10, 3);
  ASSERT_TRUE(limited.isOk());
  ASSERT_EQ(limited->size(), 3u);
  EXPECT_EQ(limited.value()[0].seq, 11u);
  EXPECT_EQ(store_->stats()->last_seq, expect_last);
}

// Reads do not wait for one another: a long one (a filtered aggregate over a month, an output
// catching up) holds one read connection and the others go on. Past the store's maximum a read
// waits for a connection to come back, then completes.
TEST_P(StoreTest, AReadDoesNotWaitForTheReadsInProgress) {
  insertOk({event("r1", kBase), event("r2", kBase + kMinute)});
  const size_t max = testing::maxReadersForTest();
  ASSERT_GE(max, 2u);
  // Declared first, destroyed last: after the readers held are given back.
  std::future<core::Result<std::vector<TopItem>>> read;
  auto held = testing::holdReadersForTest(*store_, max - 1);
  ASSERT_TRUE(held.isOk()) << held.status().toString();
  read = std::async(std::launch::async,
                    [&] { return store_->top(Dimension::kSourceIp, EventFilter{}, 10); });
  ASSERT_EQ(read.wait_for(std::chrono::seconds(30)), std::future_status::ready)
      << "a read waited for the reads in progress";
  auto top = read.get();
  ASSERT_TRUE(top.isOk()) << top.status().toString();
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top->at(0).count, 2u);

  std::future<core::Result<std::vector<StoredEvent>>> waiting;
  auto rest = testing::holdReadersForTest(*store_, 1);  // every connection busy now
  ASSERT_TRUE(rest.isOk()) << rest.status().toString();
  waiting = std::async(std::launch::async, [&] { return store_->readAfter(0, 10); });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "more reads at once than the store's maximum";
  rest.value().reset();
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto events = waiting.get();
  ASSERT_TRUE(events.isOk()) << events.status().toString();
  EXPECT_EQ(events->size(), 2u);
}

// Reads from several threads at once (the API's io threads, the outputs, the reporter) answer
// as the same reads one at a time: each read connection has its own statements and its own
// decompressor (with the dictionary the store trained).
TEST_P(StoreTest, ConcurrentReadsAnswerAsTheSameReadsOneAtATime) {
  std::mt19937_64 rng(11);
  for (int b = 0; b < 4; ++b) {
    std::vector<core::Event> batch;
    for (int i = 0; i < 200; ++i) {
      batch.push_back(testutil::randomEvent(rng, b * 200 + i, kBase, 6 * kHour));
    }
    insertOk(batch);
  }
  auto ids = [](const std::vector<StoredEvent>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) {
      out.push_back(std::to_string(e.seq) + e.event.unique_id + e.event.raw_record + e.event.uri);
    }
    return out;
  };
  auto tops = [](const std::vector<TopItem>& v) {
    std::vector<std::string> out;
    for (const auto& t : v) out.push_back(t.key + "=" + std::to_string(t.count));
    return out;
  };
  EventQuery q;
  q.filter.text = "php";
  q.limit = 40;
  EventFilter ranged;
  ranged.from_us = kBase + kHour + 17 * kMinute;
  ranged.to_us = kBase + 4 * kHour;
  struct Answers {
    std::vector<std::string> after, page, top, ranged_top;
    std::vector<int64_t> counts;
    std::string one;
  };
  auto answer = [&](Answers* a) -> core::Status {
    auto after = store_->readAfter(0, 1000);
    if (!after) return after.status();
    a->after = ids(after.value());
    auto page = store_->events(q);
    if (!page) return page.status();
    a->page = ids(page->events);
    auto top = store_->top(Dimension::kUserAgent, EventFilter{}, 10);
    if (!top) return top.status();
    a->top = tops(top.value());
    auto rt = store_->top(Dimension::kRule, ranged, 10);
    if (!rt) return rt.status();
    a->ranged_top = tops(rt.value());
    auto counts = store_->countsOverTime(ranged, kHour);
    if (!counts) return counts.status();
    a->counts.clear();
    for (const auto& c : counts.value()) a->counts.push_back(static_cast<int64_t>(c.count));
    auto one = store_->event(417);
    if (!one) return one.status();
    a->one = one.value() ? one.value()->event.raw_record : "";
    return core::Status::ok();
  };
  Answers serial;
  auto st = answer(&serial);
  ASSERT_TRUE(st.isOk()) << st.toString();
  ASSERT_EQ(serial.after.size(), 800u);
  ASSERT_FALSE(serial.page.empty());
  ASSERT_FALSE(serial.one.empty());
  std::atomic<int> failed{0}, differed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 8; ++k) {
        Answers a;
        if (!answer(&a).isOk()) {
          ++failed;
        } else if (a.after != serial.after || a.page != serial.page || a.top != serial.top ||
                   a.ranged_top != serial.ranged_top || a.counts != serial.counts ||
                   a.one != serial.one) {
          ++differed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(differed.load(), 0);
}

// A damaged body (the file or the database altered underneath) is left out of what readers
// get, so the outputs and the reporter go past it (counting a gap) instead of failing on it for
// ever; lists leave it out too. The event itself reads as corruption.
TEST_P(StoreTest, ADamagedBodyIsLeftOutOfReadsAndListsNotFailingThem) {
  std::vector<core::Event> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(event("d" + std::to_string(i), kBase + i));
  ASSERT_EQ(insertOk(batch).inserted, 10u);
  ASSERT_TRUE(exec("UPDATE event_bodies SET body = " + bytesLiteral(std::string("\x01\xff\x00", 3)) +
                   " WHERE seq IN (3, 4)")
                  .isOk());
  auto seqsOf = [](const std::vector<StoredEvent>& v) {
    std::vector<uint64_t> out;
    for (const auto& e : v) out.push_back(e.seq);
    return out;
  };
  auto all = store_->readAfter(0, 100);
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  EXPECT_EQ(seqsOf(*all), (std::vector<uint64_t>{1, 2, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(all.value()[2].event.unique_id, "d4");
  uint64_t examined = 0;
  auto one = store_->readAfter(2, 1, &examined);  // only damaged rows in its first LIMIT: on
  ASSERT_TRUE(one.isOk()) << one.status().toString();
  EXPECT_EQ(seqsOf(*one), (std::vector<uint64_t>{5}));
  EXPECT_EQ(examined, 5u);
  EXPECT_EQ(missedSeqs(2, *one, examined), 2u);
  // Damaged rows at the end: nothing to return, but the reader learns it may move past them.
  ASSERT_TRUE(exec("UPDATE event_bodies SET body = " + bytesLiteral(std::string("\x01\xff\x00", 3)) +
                   " WHERE seq IN (9, 10)")
                  .isOk());
  auto tail = store_->readAfter(8, 5, &examined);
  ASSERT_TRUE(tail.isOk()) << tail.status().toString();
  EXPECT_TRUE(tail->empty());
  EXPECT_EQ(examined, 10u);
  EXPECT_EQ(missedSeqs(8, *tail, examined), 2u);
  ASSERT_TRUE(store_->readAfter(10, 5, &examined).isOk());
  EXPECT_EQ(examined, 10u);  // nothing after: where it started
  auto two = store_->readAfter(1, 3);
  ASSERT_TRUE(two.isOk());
  EXPECT_EQ(seqsOf(*two), (std::vector<uint64_t>{2, 5, 6}));
  EventQuery q;
  q.limit = 100;
  auto page = store_->events(q);
  ASSERT_TRUE(page.isOk()) << page.status().toString();
  std::vector<uint64_t> listed;
  for (const auto& e : page->events) listed.push_back(e.seq);
  EXPECT_EQ(listed, (std::vector<uint64_t>{8, 7, 6, 5, 2, 1}));
  auto damaged = store_->event(3);
  ASSERT_FALSE(damaged.isOk());
  EXPECT_EQ(damaged.status().code(), core::Status::Code::kCorruption);
}

// A long run of damaged rows (a lost dictionary damages every event it compressed) is examined
// at most 10,000 rows per call: the call ends early, holding the reader lock no longer, and
// says how far it got; the reader comes back for the rest.
TEST_P(StoreTest, ALongRunOfDamagedRowsIsExaminedInBoundedSteps) {
  for (int b = 0; b < 11; ++b) {
    std::vector<core::Event> batch;
    for (int i = 0; i < 1000; ++i) {
      batch.push_back(event("r" + std::to_string(b * 1000 + i), kBase + b * 1000 + i));
    }
    ASSERT_EQ(insertOk(batch).inserted, 1000u);
  }
  ASSERT_TRUE(exec("UPDATE event_bodies SET body = " + bytesLiteral(std::string("\x01\xff\x00", 3)) +
                   " WHERE seq <= 10500")
                  .isOk());
  uint64_t examined = 0;
  auto first = store_->readAfter(0, 1000, &examined);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_TRUE(first->empty());
  EXPECT_EQ(examined, 10000u);
  auto second = store_->readAfter(examined, 1000, &examined);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  ASSERT_EQ(second->size(), 500u);
  EXPECT_EQ(second->front().seq, 10501u);
  EXPECT_EQ(examined, 11000u);
}

TEST_P(StoreTest, AFailingBatchLeavesNothingBehind) {
  Model m;
  std::mt19937_64 rng(3);
  std::vector<core::Event> good = testutil::randomEvents(rng, 0, 40, kBase, kHour * 30);
  insertModel(&m, good, 40);
  ASSERT_TRUE(insertOk({}, {FileOffset{"file-1", "/var/log/a", 100, 5}}).inserted == 0);
  auto stats_before = store_->stats().value();
  auto attackers_before = store_->attackers(AttackerQuery{}).value();

  // A batch whose events are inserted before the sensors step fails there (a trigger refuses
  // one new sensor, as a constraint would).
  injectFailure("sensors", "sensor", "sensor-bad");
  std::vector<core::Event> bad = testutil::randomEvents(rng, 100, 30, kBase, kHour * 30);
  bad[17].sensor = "sensor-bad";
  auto r = store_->insert(bad, {FileOffset{"file-1", "/var/log/a", 999, 6},
                                FileOffset{"file-2", "/var/log/b", 1, 6}});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("injected failure"), std::string::npos)
      << r.status().toString();

  // Nothing of it: events, seq, counts, attackers, rollups, offsets.
  auto stats_after = store_->stats().value();
  EXPECT_EQ(stats_after.events, stats_before.events);
  EXPECT_EQ(stats_after.last_seq, stats_before.last_seq);
  EXPECT_EQ(stats_after.attackers, stats_before.attackers);
  EXPECT_TRUE(store_->readAfter(stats_before.last_seq, 100)->empty());
  auto attackers_after = store_->attackers(AttackerQuery{}).value();
  ASSERT_EQ(attackers_after.size(), attackers_before.size());
  for (size_t i = 0; i < attackers_after.size(); ++i) {
    EXPECT_EQ(attackers_after[i].ip, attackers_before[i].ip);
    EXPECT_EQ(attackers_after[i].events, attackers_before[i].events);
  }
  auto offsets = store_->fileOffsets().value();
  ASSERT_EQ(offsets.size(), 1u);
  EXPECT_EQ(offsets[0].offset, 100u);
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kUri}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "after failure");
  }
  expectCountsMatch(m, EventFilter{}, kHour, "after failure");
  EXPECT_EQ(allSeqs().size(), 40u);

  // A failure at the very end (the file offsets) also takes the events back.
  removeFailure("sensors");
  injectFailure("file_offsets", "key", "file-2");
  r = store_->insert(bad, {FileOffset{"file-2", "/var/log/b", 1, 6}});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(store_->stats()->events, stats_before.events);
  removeFailure("file_offsets");

  // The store goes on: the same batch now goes in whole, with the next seqs.
  auto ok = store_->insert(bad, {FileOffset{"file-1", "/var/log/a", 999, 6}});
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ(ok->inserted, bad.size());
  EXPECT_EQ(ok->last_seq, stats_before.last_seq + bad.size());
  uint64_t seq = stats_before.last_seq;
  for (auto& e : bad) m.events.emplace_back(++seq, e);
  expectTopMatches(m, Dimension::kSourceIp, EventFilter{}, 1000, "after recovery");
  expectCountsMatch(m, EventFilter{}, kHour, "after recovery");
  EXPECT_EQ(store_->fileOffsets().value()[0].offset, 999u);
}

// The aggregates are folded from the stored events behind the inserts. A fold that fails (a
// trigger refuses one attacker, as a constraint would) leaves the batch stored; foldPending()
// and retention fail with its cause; reads answer from what was folded before (stats say how
// many events are not) and leave folding alone for a while; nothing of it is half-counted: once
// it can, the fold takes it whole.
TEST_P(StoreTest, AFailedFoldLeavesTheBatchStoredAndIsDoneAgain) {
  Model m;
  std::mt19937_64 rng(5);
  std::vector<core::Event> good = testutil::randomEvents(rng, 0, 40, kBase, kHour * 30);
  insertModel(&m, good, 40);
  ASSERT_TRUE(store_->foldPending().isOk());

  injectFailure("attackers", "ip", "6.6.6.6");
  std::vector<core::Event> bad = testutil::randomEvents(rng, 100, 30, kBase, kHour * 30);
  bad[3].src_ip = m.events[0].second.src_ip;  // an address already counted
  bad[17].src_ip = "6.6.6.6";
  insertModel(&m, bad, 30);  // stored: folding is not part of the insert
  auto fold = store_->foldPending();
  ASSERT_FALSE(fold.isOk());
  EXPECT_NE(fold.message().find("injected failure"), std::string::npos) << fold.toString();
  Model folded;
  folded.events.assign(m.events.begin(), m.events.begin() + 40);
  expectTopMatches(folded, Dimension::kSourceIp, EventFilter{}, 1000, "while the fold fails");
  expectCountsMatch(folded, EventFilter{}, kHour, "while the fold fails");
  auto six = store_->attacker("6.6.6.6");
  ASSERT_TRUE(six.isOk()) << six.status().toString();
  EXPECT_FALSE(six->has_value());
  auto stats = store_->stats();
  ASSERT_TRUE(stats.isOk()) << stats.status().toString();
  EXPECT_EQ(stats->events, 70u);
  EXPECT_EQ(stats->unfolded, 30u);
  auto retention = store_->applyRetention(kBase + 100 * kDay, 0);
  ASSERT_FALSE(retention.isOk());
  EXPECT_EQ(allSeqs().size(), 70u);

  removeFailure("attackers");
  // Reads leave folding alone for a while after a failure (a lasting one must not cost a fold
  // at every read); foldPending() tries at once.
  expectTopMatches(folded, Dimension::kSourceIp, EventFilter{}, 1000, "backing off");
  ASSERT_TRUE(store_->foldPending().isOk());
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kUri,
                      Dimension::kSensor, Dimension::kCategory}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "after the failed fold");
  }
  EXPECT_EQ(store_->stats()->unfolded, 0u);
  expectCountsMatch(m, EventFilter{}, kHour, "after the failed fold");
  std::map<std::string, uint64_t> counted, rows;
  for (const auto& [seq, e] : m.events) ++counted[e.src_ip];
  AttackerQuery q;
  q.limit = 1000;
  auto attackers = store_->attackers(q);
  ASSERT_TRUE(attackers.isOk()) << attackers.status().toString();
  for (const auto& a : attackers.value()) rows[a.ip] = a.events;
  EXPECT_EQ(rows, counted);
}

// Folds that inserts trigger, each in several chunks (small sizes for the test), count every
// event once: an address that reaches the tracked threshold (1,000 events) inside a chunk that
// is not its fold's last has its per-address rows counted from its events up to that chunk only,
// the later chunks adding the rest.
TEST_P(StoreTest, FoldsOfSeveralChunksTriggeredByInsertsCountEveryEventOnce) {
  testing::setFoldSizesForTest(300, 128);
  struct Reset {
    ~Reset() { testing::setFoldSizesForTest(0, 0); }
  } reset;
  Model m;
  std::mt19937_64 rng(73);
  std::vector<core::Event> events;
  for (int i = 0; i < 2600; ++i) {
    core::Event e = testutil::randomEvent(rng, i, kBase, 3 * kDay);
    if (i % 2 == 0) e.src_ip = "198.51.100.99";  // 1,300 events: tracked halfway through
    events.push_back(std::move(e));
  }
  insertModel(&m, events, 97);
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kTag}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "small folds");
  }
  expectCountsMatch(m, EventFilter{}, kHour, "small folds");
  EventFilter f;
  f.ip = "198.51.100.99";
  expectTopMatches(m, Dimension::kRule, f, 1000, "rules of the tracked address");
  expectCountsMatch(m, f, kHour, "activity of the tracked address");
  f.from_us = kBase + 5 * kHour;
  f.to_us = kBase + 2 * kDay + 17 * kMinute;
  expectCountsMatch(m, f, 3 * kHour, "activity of the tracked address in a range");
  auto a = store_->attacker("198.51.100.99");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->events, 1300u);
}

// A writer folds the events it inserted from memory, and reads back those it did not insert
// (another writer's, in between its own). Two writers take turns, with batches of several
// sizes (duplicates among them), and small folds that either of them triggers: every aggregate
// is exactly the model's.
TEST_P(StoreTest, TwoWritersTakingTurnsFoldEveryEventOnce) {
  testing::setFoldSizesForTest(250, 96);
  struct Reset {
    ~Reset() { testing::setFoldSizesForTest(0, 0); }
  } reset;
  auto second = open();
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  Store* writers[] = {store_.get(), second.value().get()};
  Model m;
  std::mt19937_64 rng(4242);
  int next = 0;
  for (int turn = 0; turn < 60; ++turn) {
    // Mostly one writer for a few batches, then the other: runs of its own seqs, and gaps.
    Store* w = writers[(turn / 3 + (turn % 7 == 0 ? 1 : 0)) % 2];
    const size_t n = 1 + rng() % 90;
    std::vector<core::Event> batch;
    for (size_t i = 0; i < n; ++i) {
      core::Event e = testutil::randomEvent(rng, next++, kBase, 2 * kDay);
      if (i % 4 == 0) e.src_ip = "198.51.100.7";  // a busy address, tracked on the way
      batch.push_back(std::move(e));
    }
    if (turn % 5 == 4 && !m.events.empty()) batch.push_back(m.events.back().second);  // stored
    auto r = w->insert(batch);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    ASSERT_EQ(r->inserted, n) << "turn " << turn;
    uint64_t seq = r->last_seq - n;
    for (size_t i = 0; i < n; ++i) m.events.emplace_back(++seq, batch[i]);
  }
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kTag, Dimension::kUri,
                      Dimension::kSensor}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "turns");
  }
  expectCountsMatch(m, EventFilter{}, kHour, "turns");
  EventFilter f;
  f.ip = "198.51.100.7";
  expectTopMatches(m, Dimension::kRule, f, 1000, "rules of the busy address");
  expectCountsMatch(m, f, kHour, "activity of the busy address");
  std::map<std::string, uint64_t> per_ip;
  for (const auto& [seq, e] : m.events) ++per_ip[e.src_ip];
  for (Store* w : writers) {
    auto a = w->attackers(AttackerQuery{EventFilter{}, 1000, 0, "events"});
    ASSERT_TRUE(a.isOk()) << a.status().toString();
    std::map<std::string, uint64_t> have;
    for (const auto& x : a.value()) have[x.ip] = x.events;
    EXPECT_EQ(have, per_ip);
  }
}

// Events stored but not folded yet when the store closes (a crash, or a stop) are folded by the
// next read after it opens again, once.
TEST_P(StoreTest, EventsNotYetFoldedWhenTheStoreClosedAreFoldedOnceAfterItOpens) {
  Model m;
  std::mt19937_64 rng(6);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 300, kBase, kDay * 3);
  insertModel(&m, std::vector<core::Event>(events.begin(), events.begin() + 100), 50);
  ASSERT_TRUE(store_->foldPending().isOk());
  insertModel(&m, std::vector<core::Event>(events.begin() + 100, events.end()), 50);
  store_.reset();
  auto again = open();
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  store_ = std::move(again).value();
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kTag,
                      Dimension::kUserAgent}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "after reopening");
  }
  expectCountsMatch(m, EventFilter{}, kHour, "after reopening");
  expectCountsMatch(m, EventFilter{}, kDay, "after reopening, days");
  EXPECT_EQ(store_->stats()->attackers, m.top(Dimension::kSourceIp, EventFilter{}, 100000).size());
}

// A batch fails at its very end, then retention commits (folding the stored events first)
// before any other insert: nothing of the failed batch may reach the aggregates or what the
// writer remembers (its attackers, its key ids), or the retried batch is counted twice.
TEST_P(StoreTest, RetentionAfterAFailedBatchCommitsNothingOfIt) {
  std::mt19937_64 rng(11);
  std::vector<core::Event> first;
  core::Event old = event("old-1", kBase - 10 * kDay);
  first.push_back(old);
  for (int i = 0; i < 20; ++i) first.push_back(testutil::randomEvent(rng, i, kBase, kHour * 30));
  insertOk(first);
  std::vector<core::Event> bad = testutil::randomEvents(rng, 100, 30, kBase, kHour * 30);
  for (int i = 0; i < 30; i += 3) bad[static_cast<size_t>(i)].src_ip = first[1].src_ip;
  injectFailure("file_offsets", "key", "boom");
  auto r = store_->insert(bad, {FileOffset{"boom", "/var/log/a", 1, 6}});
  ASSERT_FALSE(r.isOk());
  removeFailure("file_offsets");
  auto gone = store_->applyRetention(kBase - 5 * kDay, 0);
  ASSERT_TRUE(gone.isOk()) << gone.status().toString();
  EXPECT_EQ(gone->deleted, 1u);
  auto ok = store_->insert(bad);
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ(ok->inserted, bad.size());
  // Every attackers row equals a count over the events ever stored (attackers.events is of all
  // time: retention does not take the old event off it); the old event's address, none of whose
  // events is stored any more, has no row.
  std::map<std::string, uint64_t> counted;
  for (const auto* batch : {&first, &bad}) {
    for (const auto& e : *batch) ++counted[e.src_ip];
  }
  ASSERT_EQ(counted.at(old.src_ip), 1u);
  counted.erase(old.src_ip);
  AttackerQuery q;
  q.limit = 1000;
  std::map<std::string, uint64_t> rows;
  const auto attackers = store_->attackers(q).value();
  for (const auto& a : attackers) {
    if (a.events > 0) rows[a.ip] = a.events;
  }
  EXPECT_EQ(rows, counted);
}

TEST_P(StoreTest, FileOffsetsAreCommittedWithTheirEvents) {
  auto r = insertOk({event("f1", kBase)}, {FileOffset{"dev:ino:fp1", "/var/log/modsec.log", 4096,
                                                      kBase},
                                           FileOffset{"dev:ino:fp2", "/var/log/other.log", 10,
                                                      kBase}});
  EXPECT_EQ(r.inserted, 1u);
  auto o = store_->fileOffsets();
  ASSERT_TRUE(o.isOk());
  ASSERT_EQ(o->size(), 2u);
  EXPECT_EQ(o.value()[0].key, "dev:ino:fp1");
  EXPECT_EQ(o.value()[0].path, "/var/log/modsec.log");
  EXPECT_EQ(o.value()[0].offset, 4096u);
  EXPECT_EQ(o.value()[0].updated_us, kBase);
  // Moving on, with a renamed path; a batch of duplicates still moves the offset.
  r = insertOk({event("f1", kBase)}, {FileOffset{"dev:ino:fp1", "/var/log/modsec.log.1", 8192,
                                                 kBase + 1}});
  EXPECT_EQ(r.duplicates, 1u);
  o = store_->fileOffsets();
  EXPECT_EQ(o.value()[0].path, "/var/log/modsec.log.1");
  EXPECT_EQ(o.value()[0].offset, 8192u);
  EXPECT_EQ(o.value()[1].offset, 10u);
  // Offsets alone (lines that produced no event).
  insertOk({}, {FileOffset{"dev:ino:fp2", "/var/log/other.log", 20, kBase + 2}});
  EXPECT_EQ(store_->fileOffsets().value()[1].offset, 20u);
  // Rolled back with a failing batch.
  injectFailure("events", "unique_id", "boom");
  auto bad = store_->insert({event("f2", kBase), event("boom", kBase)},
                            {FileOffset{"dev:ino:fp1", "/x", 99999, kBase + 3}});
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(store_->fileOffsets().value()[0].offset, 8192u);
  EXPECT_EQ(store_->stats()->events, 1u);
}

TEST_P(StoreTest, EventListsFilterAndPageLikeABruteForceModel) {
  Model m;
  std::mt19937_64 rng(11);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 600, kBase, 3 * kDay);
  insertModel(&m, events, 101);

  std::vector<std::pair<std::string, EventFilter>> filters;
  filters.push_back({"none", {}});
  {
    EventFilter f;
    f.ip = "203.0.113.2";
    filters.push_back({"ip", f});
  }
  {
    EventFilter f;
    f.ip = std::string("1.2.3.4\0x", 9);
    filters.push_back({"ip with NUL", f});
  }
  {
    EventFilter f;
    f.rule_id = 942100;
    filters.push_back({"rule", f});
  }
  {
    EventFilter f;
    f.tag = "OWASP_CRS";
    filters.push_back({"tag", f});
  }
  {
    EventFilter f;
    f.category = "attack-xss";
    filters.push_back({"category", f});
  }
  {
    EventFilter f;
    f.category = "honeytrap";
    filters.push_back({"honeytrap", f});
  }
  {
    EventFilter f;
    f.trap = "robots";
    filters.push_back({"trap", f});
  }
  {
    EventFilter f;
    f.sensor = "sensor-b";
    filters.push_back({"sensor", f});
  }
  {
    EventFilter f;
    f.text = "sElEcT";
    filters.push_back({"text uri", f});
  }
  {
    EventFilter f;
    f.text = "SQLMAP";
    filters.push_back({"text ua", f});
  }
  {
    EventFilter f;
    f.from_us = kBase + kDay + 17 * kMinute;
    f.to_us = kBase + 2 * kDay + 3;
    filters.push_back({"time", f});
  }
  {
    EventFilter f;
    f.from_us = kBase + kDay;
    f.ip = "198.51.100.4";
    f.rule_id = 949110;
    f.sensor = "sensor-a";
    filters.push_back({"combined", f});
  }
  {
    EventFilter f;
    f.rule_id = 123;
    filters.push_back({"no match", f});
  }
  for (const auto& [name, f] : filters) {
    for (size_t page : {1u, 7u, 100u}) expectListMatches(m, f, page, name);
  }
  // A page larger than 1000 is cut to 1000; a cursor in the middle continues from there.
  EventQuery q;
  q.limit = 5000;
  auto big = store_->events(q);
  ASSERT_TRUE(big.isOk());
  EXPECT_EQ(big->events.size(), 600u);
  q.limit = 10;
  q.before_seq = 300;
  auto mid = store_->events(q);
  ASSERT_TRUE(mid.isOk());
  ASSERT_EQ(mid->events.size(), 10u);
  EXPECT_EQ(mid->events[0].seq, 299u);
  EXPECT_EQ(mid->next_cursor, 290u);
}

TEST_P(StoreTest, EventListsOverALongHistory) {
  // Enough events for a list to walk past its newest-first budget and switch plans.
  Model m;
  std::vector<core::Event> events;
  for (int i = 0; i < 30000; ++i) {
    core::Event e = event("h" + std::to_string(i), kBase + i * kMinute / 10,
                          "10.1." + std::to_string(i % 50) + ".1",
                          i % 7 == 0 ? "sensor-rare" : "sensor-1");
    e.raw_record.clear();
    e.request_headers.clear();
    if (i % 1000 == 5) e.uri = "/needle?x=" + std::to_string(i);
    events.push_back(std::move(e));
  }
  // Late arrivals: old times, new seqs.
  for (int i = 0; i < 50; ++i) events.push_back(event("late" + std::to_string(i), kBase + i));
  insertModel(&m, events, 1000);
  std::vector<std::pair<std::string, EventFilter>> filters;
  auto add = [&](const std::string& n, int64_t from, int64_t to, const std::string& sensor,
                 const std::string& text) {
    EventFilter f;
    f.from_us = from;
    f.to_us = to;
    f.sensor = sensor;
    f.text = text;
    filters.push_back({n, f});
  };
  add("recent", kBase + 2900 * kMinute / 10 * 10, 0, "", "");
  add("an hour long ago", kBase + 10 * kMinute, kBase + 70 * kMinute, "", "");
  add("the start, with late arrivals", kBase, kBase + kMinute, "", "");
  add("old and rare", kBase + 100 * kMinute, kBase + 200 * kMinute, "sensor-rare", "");
  add("text everywhere", 0, 0, "", "NEEDLE");
  add("text in a range", kBase + 1000 * kMinute, kBase + 2000 * kMinute, "", "needle");
  for (const auto& [name, f] : filters) expectListMatches(m, f, 40, name);
}

TEST_P(StoreTest, ListsStopAtTheirScanBudgetAndGoOnFromThere) {
  // A filter that matches few events looks at no more than max_scan of them per page: the
  // page comes back partial (perhaps empty) with a cursor where it stopped and how far back in
  // time that is, and the pages together hold every match exactly once.
  Model m;
  std::vector<core::Event> events;
  for (int i = 0; i < 6000; ++i) {
    core::Event e = event("b" + std::to_string(i), kBase + i * kMinute / 4,
                          i % 3 == 0 ? "192.0.2.1" : "192.0.2." + std::to_string(2 + i % 40),
                          i % 11 == 0 ? "sensor-x" : "sensor-1");
    e.raw_record = "r" + std::to_string(i);
    if (i % 1300 == 7) e.uri = "/rare-Needle/" + std::to_string(i);
    if (i % 900 == 3) {
      core::TrapHit t;
      t.kind = "robots";
      e.traps.push_back(t);
      testutil::classify(&e);
    }
    events.push_back(std::move(e));
  }
  // Late arrivals: old times, new seqs.
  for (int i = 0; i < 20; ++i) {
    core::Event e = event("late" + std::to_string(i), kBase + i * kMinute, "192.0.2.1");
    if (i % 5 == 0) e.uri = "/rare-needle/late";
    events.push_back(std::move(e));
  }
  insertModel(&m, events, 500);

  struct Case {
    std::string name;
    EventFilter f;
    uint64_t max_scan;
    bool expect_partial;
  };
  std::vector<Case> cases;
  auto add = [&](const std::string& name, uint64_t max_scan, bool expect_partial, auto set) {
    EventFilter f;
    set(f);
    cases.push_back({name, f, max_scan, expect_partial});
  };
  add("text, whole store", 700, true, [](EventFilter& f) { f.text = "RARE-needle"; });
  add("text matching nothing", 1000, true, [](EventFilter& f) { f.text = "nowhere"; });
  add("trap", 450, true, [](EventFilter& f) { f.trap = "robots"; });
  add("ip and text (ip index)", 300, true, [](EventFilter& f) {
    f.ip = "192.0.2.1";
    f.text = "needle";
  });
  add("time range and text", 250, true, [](EventFilter& f) {
    f.from_us = kBase + 100 * kMinute;
    f.to_us = kBase + 900 * kMinute;
    f.text = "needle";
  });
  add("time range, sensor", 100, true, [](EventFilter& f) {
    f.from_us = kBase + 10 * kMinute;
    f.to_us = kBase + 1000 * kMinute;
    f.sensor = "sensor-x";
  });
  add("the start, with late arrivals", 400, true, [](EventFilter& f) {
    f.from_us = kBase;
    f.to_us = kBase + 30 * kMinute;
  });
  add("a budget of one", 1, true, [](EventFilter& f) { f.ip = "192.0.2.7"; });
  add("the default budget: never partial here", 0, false, [](EventFilter& f) {
    f.text = "needle";
  });
  for (const auto& c : cases) {
    for (size_t page : {1u, 3u, 50u}) {
      const size_t partial = expectListMatches(m, c.f, page, c.name, c.max_scan);
      if (c.expect_partial) {
        EXPECT_GT(partial, 0u) << c.name << " page " << page;
      } else {
        EXPECT_EQ(partial, 0u) << c.name << " page " << page;
      }
    }
  }

  // Each partial page looked at no more than its budget: by the primary key, seqs; through the
  // ip index, that address's events.
  auto spans = [&](const EventFilter& f, uint64_t max_scan) {
    EventQuery q;
    q.filter = f;
    q.limit = 50;
    q.max_scan = max_scan;
    size_t pages = 0, empty_partial = 0;
    uint64_t before = m.events.back().first + 1;
    for (;;) {
      auto r = store_->events(q);
      EXPECT_TRUE(r.isOk());
      if (!r.isOk() || r->next_cursor == 0) break;
      ++pages;
      if (r->partial) {
        uint64_t looked = 0;
        for (const auto& [seq, e] : m.events) {
          if (seq >= r->next_cursor && seq < before && (f.ip.empty() || e.src_ip == f.ip)) {
            ++looked;
          }
        }
        EXPECT_LE(looked, max_scan);
        if (r->events.empty()) ++empty_partial;
      }
      before = r->next_cursor;
      q.before_seq = before;
    }
    EXPECT_GT(pages, 2u);
    EXPECT_GT(empty_partial, 0u);  // a page may find nothing and still go on
  };
  EventFilter nothing;
  nothing.text = "nowhere";
  spans(nothing, 800);
  nothing.ip = "192.0.2.1";
  spans(nothing, 333);
  // A page that is full before its budget runs out is not partial.
  EventQuery q;
  q.limit = 5;
  q.max_scan = 10;
  auto full = store_->events(q);
  ASSERT_TRUE(full.isOk());
  EXPECT_EQ(full->events.size(), 5u);
  EXPECT_FALSE(full->partial);
  EXPECT_EQ(full->next_cursor, full->events.back().seq);
}

TEST_P(StoreTest, TextSearchIsABytesSubstringIgnoringAsciiCaseOnly) {
  // URIs and user agents of arbitrary bytes (NUL, backslash, LIKE wildcards, bytes from 0x80,
  // digits beside them, letters of both cases): every needle finds exactly what a byte-by-byte
  // search ignoring ASCII case finds, whatever the database does first to narrow the rows.
  const char kAlphabet[] = "aAbBiIzZ0127\\%_?/x \x80\xff\xc3\xa9\xc4\xb1\0";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);  // the NUL in it kept
  std::mt19937_64 rng(97);
  auto randomBytes = [&](size_t max_len) {
    std::string s(rng() % max_len, 'a');
    for (auto& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  Model m;
  std::vector<core::Event> events;
  for (int i = 0; i < 400; ++i) {
    core::Event e = event("t" + std::to_string(i), kBase + i * kMinute);
    e.uri = "/" + randomBytes(24);
    e.user_agent = randomBytes(16);
    events.push_back(std::move(e));
  }
  insertModel(&m, events, 100);
  std::vector<std::string> needles = {"0",   "00",   "000",      "\\",       "\\0",    "\\000",
                                      "\\\\", "\x80", "\\200",    "\\377",    "%",      "_",
                                      "%_",  "i",    "I",        "\xc4\xb1", "\xc3\xa9", "\xc3\x89",
                                      "zZ",  "/",    std::string("\0", 1), std::string("a\0", 2),
                                      "x\xff", "ABI", "nothing at all"};
  for (int i = 0; i < 60; ++i) {
    // A piece of a stored value with its letters' case flipped at random.
    const core::Event& e = events[rng() % events.size()];
    const std::string& from = rng() % 2 ? e.uri : e.user_agent;
    if (from.empty()) continue;
    const size_t at = rng() % from.size();
    std::string n = from.substr(at, 1 + rng() % 4);
    for (auto& c : n) {
      if (rng() % 2 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) c ^= 0x20;
    }
    needles.push_back(n);
  }
  size_t matched = 0;
  for (const auto& n : needles) {
    EventFilter f;
    f.text = n;
    const size_t want = m.list(f).size();
    matched += want > 0 ? 1 : 0;
    expectListMatches(m, f, 1000, "needle " + hexOf(n));
    expectListMatches(m, f, 13, "needle " + hexOf(n) + " in a range", 0);
    EventFilter ranged = f;
    ranged.from_us = kBase + 50 * kMinute;
    ranged.to_us = kBase + 300 * kMinute;
    expectListMatches(m, ranged, 1000, "needle " + hexOf(n) + " in a range");
    expectCountsMatch(m, f, kHour, "needle " + hexOf(n));
  }
  EXPECT_GT(matched, needles.size() / 2);  // the needles do find things
}

TEST_P(StoreTest, AttackerRowsFollowTheirEvents) {
  core::Event a1 = event("a1", kBase + 100, "198.51.100.9", "sensor-1");
  a1.rules = {rule(942100, "SQLi", {}), rule(949110, "score", {})};
  testutil::classify(&a1);
  core::Event a2 = event("a2", kBase + 50, "198.51.100.9", "sensor-2");  // earlier, arrives later
  a2.rules = {rule(949110, "score", {})};  // a scoring rule alone is no evidence
  core::Event a3 = event("a3", kBase + 500, "198.51.100.9", "sensor-1");
  core::TrapHit t;
  t.kind = "robots";
  a3.traps = {t};
  testutil::classify(&a3);
  core::Event b1 = event("b1", kBase + 200, "203.0.113.50", "sensor-1");
  core::Event c1 = event("c1", kBase + 300, "203.0.113.60", "sensor-3");
  c1.attacker_flagged = true;
  insertOk({a1, b1});
  insertOk({a2, c1});
  insertOk({a3});

  auto a = store_->attacker("198.51.100.9");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->first_seen_us, kBase + 50);
  EXPECT_EQ((*a)->last_seen_us, kBase + 500);
  EXPECT_EQ((*a)->events, 3u);
  EXPECT_EQ((*a)->events_with_rules, 1u);
  EXPECT_EQ((*a)->categories, (std::vector<std::string>{"attack-sqli", "honeytrap"}));
  EXPECT_EQ((*a)->traps, std::vector<std::string>{"robots"});
  EXPECT_EQ((*a)->sensors, (std::vector<std::string>{"sensor-1", "sensor-2"}));
  EXPECT_TRUE((*a)->flagged);
  auto b = store_->attacker("203.0.113.50");
  ASSERT_TRUE(b.isOk() && b->has_value());
  EXPECT_FALSE((*b)->flagged);
  EXPECT_TRUE((*b)->categories.empty());
  auto c = store_->attacker("203.0.113.60");
  ASSERT_TRUE(c.isOk() && c->has_value());
  EXPECT_TRUE((*c)->flagged);  // the sensor knew it
  EXPECT_FALSE(store_->attacker("203.0.113.61")->has_value());

  auto ips = [&](AttackerQuery q) {
    std::vector<std::string> out;
    auto r = store_->attackers(q);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    if (r.isOk()) {
      for (const auto& x : r.value()) out.push_back(x.ip);
    }
    return out;
  };
  AttackerQuery q;
  EXPECT_EQ(ips(q), (std::vector<std::string>{"198.51.100.9", "203.0.113.60", "203.0.113.50"}));
  q.order = "events";
  EXPECT_EQ(ips(q), (std::vector<std::string>{"198.51.100.9", "203.0.113.50", "203.0.113.60"}));
  q.order = "first_seen";
  EXPECT_EQ(ips(q), (std::vector<std::string>{"203.0.113.60", "203.0.113.50", "198.51.100.9"}));
  q.order = "last_seen";
  q.limit = 1;
  q.offset = 1;
  EXPECT_EQ(ips(q), std::vector<std::string>{"203.0.113.60"});
  q = AttackerQuery{};
  q.filter.sensor = "sensor-1";
  EXPECT_EQ(ips(q), (std::vector<std::string>{"198.51.100.9", "203.0.113.50"}));
  q.offset = 1;
  EXPECT_EQ(ips(q), std::vector<std::string>{"203.0.113.50"});
  q = AttackerQuery{};
  q.filter.category = "honeytrap";
  EXPECT_EQ(ips(q), std::vector<std::string>{"198.51.100.9"});
  q = AttackerQuery{};
  q.filter.trap = "robots";
  EXPECT_EQ(ips(q), std::vector<std::string>{"198.51.100.9"});
  q = AttackerQuery{};
  q.filter.from_us = kBase + 250;
  q.filter.to_us = kBase + 400;
  EXPECT_EQ(ips(q), std::vector<std::string>{"203.0.113.60"});
  q = AttackerQuery{};
  q.filter.ip = "203.0.113.50";
  EXPECT_EQ(ips(q), std::vector<std::string>{"203.0.113.50"});
  q = AttackerQuery{};
  q.order = "bogus";
  EXPECT_FALSE(store_->attackers(q).isOk());
}

// An address already stored whose batch brings an earlier event: its first sighting moves
// back, in the row and in the first_seen order, whether the batch adds to its sets or not
// (SQLite updates such rows through statements of their own, which name first_seen_us only
// when it moved).
TEST_P(StoreTest, AnEarlierEventMovesFirstSeenBack) {
  insertOk({event("x1", kBase + 1000, "198.51.100.20", "sensor-1"),
            event("y1", kBase + 700, "198.51.100.21", "sensor-1"),
            event("z1", kBase + 900, "198.51.100.22", "sensor-1"),
            event("w1", kBase + 800, "198.51.100.23", "sensor-1")});
  ASSERT_TRUE(store_->attacker("198.51.100.20").isOk());  // folded: the row exists
  insertOk({event("x2", kBase + 400, "198.51.100.20", "sensor-1"),
            event("y2", kBase + 2000, "198.51.100.21", "sensor-1"),
            event("z2", kBase + 300, "198.51.100.22", "sensor-2"),  // a new sensor too
            event("w2", kBase + 3000, "198.51.100.23", "sensor-2")});
  auto z = store_->attacker("198.51.100.22");
  ASSERT_TRUE(z.isOk() && z->has_value());
  EXPECT_EQ((*z)->first_seen_us, kBase + 300);
  EXPECT_EQ((*z)->last_seen_us, kBase + 900);
  EXPECT_EQ((*z)->sensors, (std::vector<std::string>{"sensor-1", "sensor-2"}));
  auto w = store_->attacker("198.51.100.23");
  ASSERT_TRUE(w.isOk() && w->has_value());
  EXPECT_EQ((*w)->first_seen_us, kBase + 800);
  EXPECT_EQ((*w)->last_seen_us, kBase + 3000);
  EXPECT_EQ((*w)->events, 2u);
  EXPECT_EQ((*w)->sensors, (std::vector<std::string>{"sensor-1", "sensor-2"}));
  auto x = store_->attacker("198.51.100.20");
  ASSERT_TRUE(x.isOk() && x->has_value());
  EXPECT_EQ((*x)->first_seen_us, kBase + 400);
  EXPECT_EQ((*x)->last_seen_us, kBase + 1000);
  EXPECT_EQ((*x)->events, 2u);
  auto y = store_->attacker("198.51.100.21");
  ASSERT_TRUE(y.isOk() && y->has_value());
  EXPECT_EQ((*y)->first_seen_us, kBase + 700);
  EXPECT_EQ((*y)->last_seen_us, kBase + 2000);
  AttackerQuery q;
  q.order = "first_seen";
  auto page = store_->attackers(q);
  ASSERT_TRUE(page.isOk());
  ASSERT_EQ(page->size(), 4u);
  EXPECT_EQ(page.value()[0].ip, "198.51.100.23");  // newest first sighting first
  EXPECT_EQ(page.value()[1].ip, "198.51.100.21");
  EXPECT_EQ(page.value()[2].ip, "198.51.100.20");
  EXPECT_EQ(page.value()[3].ip, "198.51.100.22");
}

TEST_P(StoreTest, AttackerRowsMatchABruteForceModel) {
  Model m;
  std::mt19937_64 rng(5);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 500, kBase, 4 * kDay);
  insertModel(&m, events, 33);
  auto want = m.attackers();
  auto got = store_->attackers(AttackerQuery{EventFilter{}, 1000, 0, "events"});
  ASSERT_TRUE(got.isOk());
  ASSERT_EQ(got->size(), want.size());
  for (const auto& g : got.value()) {
    const AttackerRow& w = want.at(g.ip);
    EXPECT_EQ(g.first_seen_us, w.first_seen_us);
    EXPECT_EQ(g.last_seen_us, w.last_seen_us);
    EXPECT_EQ(g.events, w.events);
    EXPECT_EQ(g.events_with_rules, w.events_with_rules);
    EXPECT_EQ(g.categories, w.categories);
    EXPECT_EQ(g.traps, w.traps);
    EXPECT_EQ(g.sensors, w.sensors);
    EXPECT_EQ(g.flagged, w.flagged);
  }
  for (size_t i = 1; i < got->size(); ++i) {
    EXPECT_GE(got.value()[i - 1].events, got.value()[i].events);
  }
}

// What a page of attackers must hold (AttackerQuery, Store::attackers): the model's attackers
// in the query's order, those that pass its filter, past its offset, up to its limit; with a
// budget (max_scan != 0) only among the first max_scan of those the order's index narrows to
// (an ip; a time range when the order is last_seen), `partial` when it ran out first.
struct AttackerPage {
  std::vector<std::string> ips;
  bool partial = false;
  int64_t searched_until_us = 0;
};

// The value the query's order sorts attackers by (chosen once: the model's sort calls it a
// hundred thousand times a query).
struct AttackerOrderKey {
  explicit AttackerOrderKey(const std::string& order)
      : by_events(order == "events"),
        seen(order == "first_seen" ? &AttackerRow::first_seen_us : &AttackerRow::last_seen_us) {}
  int64_t operator()(const AttackerRow& a) const {
    return by_events ? static_cast<int64_t>(a.events) : a.*seen;
  }
  bool by_events;
  const int64_t AttackerRow::*seen;
};

bool inAttackerTime(const EventFilter& f, const AttackerRow& a) {
  return (f.from_us == 0 || a.last_seen_us >= f.from_us) &&
         (f.to_us == 0 || a.last_seen_us < f.to_us);
}

bool narrowedByTime(const AttackerQuery& q) {
  return q.order == "last_seen" || !q.filter.ip.empty();
}

// The attackers the query's order index narrows to, in that order (the sort is the model's
// cost: a test asking many pages of one order and filter sorts once).
std::vector<const AttackerRow*> modelAttackerOrder(const std::map<std::string, AttackerRow>& all,
                                                   const AttackerQuery& q) {
  const AttackerOrderKey key(q.order);
  const bool narrowed_by_time = narrowedByTime(q);
  std::vector<const AttackerRow*> rows;
  for (const auto& [ip, a] : all) {
    if (!q.filter.ip.empty() && ip != q.filter.ip) continue;
    if (narrowed_by_time && !inAttackerTime(q.filter, a)) continue;
    rows.push_back(&a);
  }
  std::sort(rows.begin(), rows.end(), [&](const AttackerRow* a, const AttackerRow* b) {
    const int64_t ka = key(*a), kb = key(*b);
    return ka != kb ? ka > kb : a->ip < b->ip;
  });
  return rows;
}

// The page among `rows`, modelAttackerOrder's answer for the same order and filter.
AttackerPage modelAttackerPage(const std::vector<const AttackerRow*>& rows, const AttackerQuery& q,
                               uint64_t max_scan) {
  const AttackerOrderKey key(q.order);
  const EventFilter& f = q.filter;
  const bool narrowed_by_time = narrowedByTime(q);
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  const bool residual = !f.sensor.empty() || !f.category.empty() || !f.trap.empty() ||
                        (!narrowed_by_time && (f.from_us != 0 || f.to_us != 0));
  AttackerPage page;
  size_t skipped = 0;
  uint64_t examined = 0;
  for (const AttackerRow* a : rows) {
    if (residual && max_scan != 0 && examined == max_scan) {
      page.partial = true;
      page.searched_until_us = q.order == "events" ? 0 : key(*rows[examined - 1]);
      break;
    }
    ++examined;
    if (!inAttackerTime(f, *a) || (!f.sensor.empty() && !has(a->sensors, f.sensor)) ||
        (!f.category.empty() && !has(a->categories, f.category)) ||
        (!f.trap.empty() && !has(a->traps, f.trap))) {
      continue;
    }
    if (skipped < q.offset) {
      ++skipped;
      continue;
    }
    page.ips.push_back(a->ip);
    if (page.ips.size() == q.limit) break;
  }
  // A budget that ran out with the last row the index gives is partial too (the store does not
  // look further to know).
  if (residual && max_scan != 0 && !page.partial && page.ips.size() < q.limit &&
      examined == max_scan && examined == rows.size()) {
    page.partial = true;
    page.searched_until_us = q.order == "events" ? 0 : key(*rows[examined - 1]);
  }
  return page;
}

AttackerPage modelAttackerPage(const std::map<std::string, AttackerRow>& all,
                               const AttackerQuery& q, uint64_t max_scan) {
  return modelAttackerPage(modelAttackerOrder(all, q), q, max_scan);
}

// Pages of attackers through the orders' indexes, with filters the index does not narrow (the
// sets; a time range with another order), ties across the chunks the store reads them in, and
// budgets that run out, against the model. Many rows share their times and counts, so that
// ties fall across chunks of 2,000.
TEST_P(StoreTest, AttackerPagesWithFiltersMatchABruteForceModel) {
  Model m;
  std::mt19937_64 rng(13);
  const std::vector<std::string> sensors = {"s-a", "s-b", "s-c"};
  const std::vector<std::string> traps = {"robots", "cookie"};
  std::vector<core::Event> events;
  for (int i = 0; i < 5200; ++i) {
    const std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) +
                           "." + std::to_string(i % 256);
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      core::Event e = event("a" + std::to_string(i) + "-" + std::to_string(k),
                            kBase + static_cast<int64_t>(rng() % 40) * kHour, ip,
                            sensors[rng() % sensors.size()]);
      if (rng() % 5 == 0) {
        core::TrapHit t;
        t.kind = traps[rng() % traps.size()];
        e.traps.push_back(t);
      }
      if (rng() % 4 == 0) e.rules = {rule(942100, "SQLi", {})};
      testutil::classify(&e);
      events.push_back(std::move(e));
    }
  }
  std::shuffle(events.begin(), events.end(), rng);
  insertModel(&m, events, 1000);
  const auto all = m.attackers();
  ASSERT_EQ(store_->stats()->attackers, all.size());

  std::vector<EventFilter> filters;
  filters.emplace_back();
  {
    EventFilter f;
    f.sensor = "s-b";
    filters.push_back(f);
    f.trap = "robots";
    filters.push_back(f);
    EventFilter c;
    c.category = "honeytrap";
    filters.push_back(c);
    EventFilter t;
    t.from_us = kBase + 10 * kHour;
    t.to_us = kBase + 30 * kHour;
    filters.push_back(t);
    t.sensor = "s-c";
    filters.push_back(t);
    EventFilter none;
    none.sensor = "no-such-sensor";
    filters.push_back(none);
    EventFilter ip;
    ip.ip = "10.0.3.7";
    ip.sensor = all.at("10.0.3.7").sensors.front();
    filters.push_back(ip);
  }
  size_t partial_pages = 0;
  for (const std::string order : {"last_seen", "events", "first_seen"}) {
    for (size_t fi = 0; fi < filters.size(); ++fi) {
      AttackerQuery order_and_filter;
      order_and_filter.filter = filters[fi];
      order_and_filter.order = order;
      const std::vector<const AttackerRow*> ordered = modelAttackerOrder(all, order_and_filter);
      for (const auto& [limit, offset] :
           std::vector<std::pair<size_t, size_t>>{{10, 0}, {1000, 1500}, {7, 3}}) {
        for (uint64_t max_scan : {uint64_t{0}, uint64_t{1}, uint64_t{700}, uint64_t{2500}}) {
          AttackerQuery q;
          q.filter = filters[fi];
          q.order = order;
          q.limit = limit;
          q.offset = offset;
          const std::string what = order + " filter " + std::to_string(fi) + " limit " +
                                   std::to_string(limit) + " offset " + std::to_string(offset) +
                                   " max_scan " + std::to_string(max_scan);
          ScanReach reach;
          reach.max_scan = max_scan;
          auto got = max_scan == 0 ? store_->attackers(q) : store_->attackers(q, &reach);
          ASSERT_TRUE(got.isOk()) << got.status().toString() << " " << what;
          const AttackerPage want = modelAttackerPage(ordered, q, max_scan);
          std::vector<std::string> ips;
          for (const auto& a : got.value()) {
            ips.push_back(a.ip);
            const AttackerRow& w = all.at(a.ip);
            EXPECT_EQ(a.events, w.events) << what;
            EXPECT_EQ(a.last_seen_us, w.last_seen_us) << what;
            EXPECT_EQ(a.sensors, w.sensors) << what;
            EXPECT_EQ(a.traps, w.traps) << what;
          }
          EXPECT_EQ(ips, want.ips) << what;
          EXPECT_EQ(reach.partial, want.partial) << what;
          EXPECT_EQ(reach.searched_until_us, want.searched_until_us) << what;
          partial_pages += reach.partial ? 1 : 0;
        }
      }
    }
  }
  EXPECT_GT(partial_pages, 20u);
}

// A measurement, not a check (run with --gtest_also_run_disabled_tests; docs/store.md): pages
// of attackers over 1,000,000 rows, unfiltered and with a filter that matches none.
TEST_P(StoreTest, DISABLED_AttackerPagesOverAMillionAttackers) {
  const int n = 1000000;
  const std::string sql =
      pg() ? "INSERT INTO attackers SELECT decode(lpad(to_hex(g), 8, '0'), 'hex'), g, g, g % 1000, "
             "0, '\\x0100'::bytea, '\\x0100'::bytea, '\\x01010173'::bytea, 0 "
             "FROM generate_series(1, " +
                 std::to_string(n) + ") g; ANALYZE attackers"
           : "WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c WHERE g < " +
                 std::to_string(n) +
                 ") INSERT INTO attackers SELECT CAST(printf('%08x', g) AS "
                 "BLOB), g, g, g % 1000, 0, X'0100', X'0100', X'01010173', 0 FROM c";
  ASSERT_TRUE(exec(sql).isOk());
  auto rss = [] {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
  };
  auto timed = [&](const std::string& what, AttackerQuery q, ScanReach* reach) {
    const long rss0 = rss();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = reach ? store_->attackers(q, reach) : store_->attackers(q);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    std::printf("[ %s %s: %.3f s, %zu rows%s, peak RSS +%ld MiB ]\n", pg() ? "pg" : "sqlite",
                what.c_str(), s, r->size(), reach && reach->partial ? ", partial" : "",
                rss() - rss0);
  };
  for (const std::string order : {"last_seen", "events", "first_seen"}) {
    AttackerQuery q;
    q.order = order;
    q.limit = 10;
    timed("page of 10 by " + order, q, nullptr);
    q.offset = 100000;
    timed("page of 10 by " + order + " at offset 100,000", q, nullptr);
  }
  AttackerQuery q;
  q.limit = 10;
  q.filter.sensor = "no-such-sensor";
  timed("sensor filter matching none, no budget", q, nullptr);
  ScanReach reach;
  timed("sensor filter matching none, default budget", q, &reach);
  q.order = "events";
  q.filter.sensor.clear();
  q.filter.from_us = n - 1000;
  reach = ScanReach{};
  timed("by events, last seen in the newest 1,000, default budget", q, &reach);
}

// The time ranges every aggregate is checked over: unbounded, half-open, hour-aligned, ragged,
// inside one hour, across folded days.
std::vector<std::pair<std::string, EventFilter>> ranges() {
  std::vector<std::pair<std::string, EventFilter>> out;
  auto add = [&](const std::string& n, int64_t from, int64_t to) {
    EventFilter f;
    f.from_us = from;
    f.to_us = to;
    out.push_back({n, f});
  };
  add("all", 0, 0);
  add("from", kBase + kDay + 7 * kMinute + 1, 0);
  add("to", 0, kBase + 2 * kDay + 3 * kHour + 59 * kMinute);
  add("hours", kBase + 5 * kHour, kBase + 29 * kHour);
  add("days", kBase, kBase + 3 * kDay);
  add("ragged", kBase + 17 * kMinute + 3, kBase + 2 * kDay + 5 * kHour + 1);
  add("inside an hour", kBase + kDay + 10 * kMinute, kBase + kDay + 50 * kMinute);
  add("before everything", kBase - 10 * kDay, kBase - 9 * kDay);
  add("empty", kBase + kHour, kBase + kHour);
  return out;
}

constexpr Dimension kAllDimensions[] = {
    Dimension::kSourceIp, Dimension::kRule,   Dimension::kCategory, Dimension::kTag,
    Dimension::kDstPort,  Dimension::kUserAgent, Dimension::kTrap, Dimension::kSensor,
    Dimension::kUri,      Dimension::kMethod, Dimension::kStatus};

// An aggregate of a time range reads the rollups for its whole hours and scans the events of
// the partial hours at its ends: both must count the same events, those the aggregates hold,
// not the batches committed since the last fold as well (the reviewer saw odd counts in 4 of
// 582 answers on SQLite and 92 of 541 on PostgreSQL with a writer inserting one edge and one
// interior event per batch). Folds failing here keep batches unfolded for as long as needed.
TEST_P(StoreTest, TimeRangeAggregatesCountTheEventsTheAggregatesHoldAtEveryEnd) {
  Model m;
  std::mt19937_64 rng(6);
  std::vector<core::Event> good = testutil::randomEvents(rng, 0, 300, kBase, 3 * kDay);
  for (int i = 0; i < 1100; ++i) {  // an address with ip_hours rows (1,000 events or more)
    good.push_back(testutil::randomEvent(rng, 1000 + i, kBase, 3 * kDay));
    good.back().src_ip = "198.51.100.99";
  }
  insertModel(&m, good, 500);
  ASSERT_TRUE(store_->foldPending().isOk());
  Model folded = m;

  injectFailure("attackers", "ip", "6.6.6.6");
  std::vector<core::Event> more = testutil::randomEvents(rng, 5000, 200, kBase, 3 * kDay);
  for (size_t i = 0; i < more.size(); i += 3) more[i].src_ip = "198.51.100.99";
  more[7].src_ip = "6.6.6.6";
  insertModel(&m, more, 100);
  ASSERT_FALSE(store_->foldPending().isOk());
  ASSERT_EQ(store_->stats()->unfolded, more.size());
  auto check = [&](const Model& want, const std::string& when) {
    for (const auto& [name, f] : ranges()) {
      for (Dimension d : {Dimension::kSensor, Dimension::kUri, Dimension::kSourceIp}) {
        expectTopMatches(want, d, f, 1000, when + " " + name);
      }
      if (f.from_us != 0 && f.to_us != 0 && f.to_us - f.from_us <= 3 * kDay) {
        expectCountsMatch(want, f, kHour, when + " " + name);
        EventFilter ip = f;
        ip.ip = "198.51.100.99";
        expectCountsMatch(want, ip, kHour, when + " 198.51.100.99 " + name);
      }
    }
  };
  check(folded, "while the fold fails");
  removeFailure("attackers");
  ASSERT_TRUE(store_->foldPending().isOk());
  check(m, "folded");
}

// Reads of the aggregates while this store's inserts keep coming: each read folds what is
// unfolded first, up to the last event stored when it starts (a fold that chased the inserts
// went on for as long as they came: one top() took 150 s on PostgreSQL), and counts the same
// events at the edges of its range as inside (each batch holds one edge event and one interior
// one, so every answer is odd: the seed plus pairs).
TEST_P(StoreTest, ReadsOfTheAggregatesReturnWhileInsertsKeepComing) {
  ASSERT_TRUE(store_->insert({event("seed", kBase + kHour)}).isOk());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    for (int i = 0; !stop && std::chrono::steady_clock::now() < until; ++i) {
      auto r = store_->insert({event("edge" + std::to_string(i), kBase + 45 * kMinute),
                               event("mid" + std::to_string(i), kBase + 90 * kMinute)});
      if (!r.isOk()) break;
    }
  });
  EventFilter f;
  f.from_us = kBase + 30 * kMinute;
  f.to_us = kBase + 3 * kHour + 30 * kMinute;
  double slowest = 0;
  int uneven = 0;  // answers that counted an edge event without its batch's interior one
  for (int i = 0; i < 30; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto t = store_->top(Dimension::kSensor, f, 5);
    slowest = std::max(
        slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(t.isOk()) << t.status().toString();
    ASSERT_FALSE(t->empty());
    uneven += t->front().count % 2 == 1 ? 0 : 1;
    auto c = store_->countsOverTime(f, kHour);
    ASSERT_TRUE(c.isOk()) << c.status().toString();
    uint64_t total = 0;
    for (const auto& b : c.value()) total += b.count;
    uneven += total % 2 == 1 ? 0 : 1;
  }
  stop = true;
  writer.join();
  std::printf("[ slowest read %.3f s, %d uneven answers of 60 ]\n", slowest, uneven);
  EXPECT_LT(slowest, 2.0);
  EXPECT_EQ(uneven, 0);
}

TEST_P(StoreTest, AggregatesMatchBruteForceCounts) {
  Model m;
  std::mt19937_64 rng(23);
  std::vector<core::Event> events;
  // Five days, inserted in time order so that days get folded, then late events for the
  // first days (already folded) and a few far outside.
  for (int i = 0; i < 1500; ++i) events.push_back(testutil::randomEvent(rng, i, kBase, 5 * kDay));
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
  insertModel(&m, events, 150);
  std::vector<core::Event> late = testutil::randomEvents(rng, 5000, 200, kBase, 2 * kDay);
  late.push_back(testutil::randomEvent(rng, 9000, kBase - 400 * kDay, kHour));
  late.push_back(testutil::randomEvent(rng, 9001, kBase + 40 * kDay, kHour));
  insertModel(&m, late, 67);

  for (const auto& [name, f] : ranges()) {
    for (Dimension d : kAllDimensions) {
      expectTopMatches(m, d, f, 1000, name);
      expectTopMatches(m, d, f, 3, name + " top 3");
    }
    if (f.from_us != 0 || f.to_us != 0) {
      for (int64_t b : {kMinute, 5 * kMinute, kHour, 6 * kHour, kDay, 90'000'000L, 7'000'001L}) {
        if (f.from_us != 0 && f.to_us != 0 && (f.to_us - f.from_us) / b > 20000) continue;
        expectCountsMatch(m, f, b, name);
      }
    } else {
      for (int64_t b : {kHour, kDay, 7 * kDay}) expectCountsMatch(m, f, b, name);
    }
  }
  // Other filters go through the events.
  std::vector<EventFilter> filters(6);
  filters[0].ip = "203.0.113.3";
  filters[1].rule_id = 941100;
  filters[2].sensor = "sensor-c";
  filters[2].from_us = kBase + kDay + 1;
  filters[3].tag = "OWASP_CRS";
  filters[4].text = "php";
  filters[5].trap = "cookie";
  filters[5].category = "honeytrap";
  for (const auto& f : filters) {
    for (Dimension d : kAllDimensions) expectTopMatches(m, d, f, 1000, "filtered");
    expectCountsMatch(m, f, kHour, "filtered");
  }
  // Rule labels.
  auto rules = store_->top(Dimension::kRule, EventFilter{}, 100);
  ASSERT_TRUE(rules.isOk());
  for (const auto& t : rules.value()) {
    EXPECT_FALSE(t.label.empty()) << t.key;
    if (t.key == "942100") {
      EXPECT_EQ(t.label, "SQL Injection Attack Detected via libinjection");
    }
  }
  auto ports = store_->top(Dimension::kDstPort, EventFilter{}, 100);
  for (const auto& t : ports.value()) EXPECT_TRUE(t.label.empty());
  EXPECT_FALSE(store_->countsOverTime(EventFilter{}, 0).isOk());
  EventFilter huge;
  huge.from_us = 1;
  huge.to_us = kBase;
  EXPECT_FALSE(store_->countsOverTime(huge, kMinute).isOk());
}

TEST_P(StoreTest, ScanningAggregatesStopAtTheirBudgetAndSayHowFarTheyCounted) {
  // An aggregate that scans the events looks at no more than max_scan of them, newest first (by
  // time with a time range and no ip, else by seq): its counts are exactly those of the events
  // it looked at, and it says the time of the last. Times are unique and seqs do not follow
  // them (random times, some inserted late), so both orders are checked.
  Model m;
  std::mt19937_64 rng(97);
  std::vector<core::Event> events;
  std::set<int64_t> times;
  for (int i = 0; events.size() < 2400; ++i) {
    core::Event e = testutil::randomEvent(rng, i, kBase, 3 * kDay);
    if (times.insert(e.time_us).second) events.push_back(std::move(e));
  }
  insertModel(&m, events, 300);

  // The events a scan of `f` looks at, in its order: what the SQL narrows to before the
  // conditions checked in C++ (the ip, else the time range; with a budget, not the sensor).
  auto scanOrder = [&](const EventFilter& f) {
    std::vector<const std::pair<uint64_t, core::Event>*> v;
    const bool by_ip = !f.ip.empty(), by_time = !by_ip && (f.from_us != 0 || f.to_us != 0);
    for (const auto& se : m.events) {
      const core::Event& e = se.second;
      if (by_ip && e.src_ip != f.ip) continue;
      if (by_time &&
          ((f.from_us != 0 && e.time_us < f.from_us) || (f.to_us != 0 && e.time_us >= f.to_us))) {
        continue;
      }
      v.push_back(&se);
    }
    std::sort(v.begin(), v.end(), [&](const auto* a, const auto* b) {
      if (by_time && a->second.time_us != b->second.time_us) {
        return a->second.time_us > b->second.time_us;
      }
      return a->first > b->first;
    });
    return v;
  };

  struct Case {
    std::string name;
    EventFilter f;
    int64_t bucket;
  };
  std::vector<Case> cases(7);
  cases[0] = {"text, no time (by seq)", {}, kHour};
  cases[0].f.text = "php";
  cases[1] = {"rule and a time range (by time)", {}, kHour};
  cases[1].f.rule_id = 930120;
  cases[1].f.from_us = kBase + kDay / 3;
  cases[1].f.to_us = kBase + 2 * kDay + 7;
  cases[2] = {"sensor from a time on (by time)", {}, 6 * kHour};
  cases[2].f.sensor = "sensor-b";
  cases[2].f.from_us = kBase + kDay;
  cases[3] = {"an address and a trap (by seq, ip index)", {}, kHour};
  cases[3].f.ip = "203.0.113.2";
  cases[3].f.trap = "cookie";
  cases[4] = {"tag (by seq)", {}, kDay};
  cases[4].f.tag = "OWASP_CRS";
  cases[5] = {"a time range in buckets of 90 s (by time)", {}, 90'000'000};
  cases[5].f.from_us = kBase + kHour + 5;
  cases[5].f.to_us = kBase + 20 * kHour;
  cases[6] = {"category, to a time (by time)", {}, kHour};
  cases[6].f.category = "honeytrap";
  cases[6].f.to_us = kBase + 2 * kDay;

  for (const auto& c : cases) {
    const auto order = scanOrder(c.f);
    ASSERT_GT(order.size(), 50u) << c.name;
    for (uint64_t max_scan : {uint64_t{1}, uint64_t{37}, uint64_t{order.size() / 2},
                              uint64_t{order.size()}, uint64_t{0}}) {
      const std::string what = c.name + ", max_scan " + std::to_string(max_scan);
      const size_t looked = max_scan == 0 ? order.size() : std::min<size_t>(max_scan, order.size());
      const bool partial = looked < order.size();
      Model seen;
      for (size_t i = 0; i < looked; ++i) seen.events.push_back(*order[i]);
      const int64_t until = partial ? order[looked - 1]->second.time_us : 0;

      store::ScanReach reach;
      reach.max_scan = max_scan;
      if (c.bucket != 90'000'000) {
        for (Dimension d : {Dimension::kUri, Dimension::kRule, Dimension::kSourceIp}) {
          reach.partial = !partial;
          auto got = store_->top(d, c.f, 1000, &reach);
          ASSERT_TRUE(got.isOk()) << got.status().toString();
          std::vector<std::pair<std::string, uint64_t>> have;
          for (const auto& t : got.value()) have.emplace_back(t.key, t.count);
          EXPECT_EQ(have, seen.top(d, c.f, 1000)) << what << " dimension " << static_cast<int>(d);
          EXPECT_EQ(reach.partial, partial) << what;
          EXPECT_EQ(reach.searched_until_us, until) << what;
        }
      }
      reach.partial = !partial;
      auto got = store_->countsOverTime(c.f, c.bucket, &reach);
      ASSERT_TRUE(got.isOk()) << got.status().toString();
      const auto want = seen.counts(c.f, c.bucket);
      ASSERT_EQ(got->size(), want.size()) << what;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got.value()[i].start_us, want[i].start_us) << what << " #" << i;
        EXPECT_EQ(got.value()[i].count, want[i].count) << what << " #" << i;
        EXPECT_EQ(got.value()[i].alerts, want[i].alerts) << what << " #" << i;
      }
      EXPECT_EQ(reach.partial, partial) << what;
      EXPECT_EQ(reach.searched_until_us, until) << what;
    }
  }

  // A time range alone is answered from the rollups and the events of its partial hours, in
  // full: never partial, whatever the budget.
  EventFilter range;
  range.from_us = kBase + kHour + 5;
  range.to_us = kBase + 2 * kDay + kMinute;
  store::ScanReach reach;
  reach.max_scan = 1;
  auto top = store_->top(Dimension::kRule, range, 1000, &reach);
  ASSERT_TRUE(top.isOk());
  EXPECT_FALSE(reach.partial);
  std::vector<std::pair<std::string, uint64_t>> have;
  for (const auto& t : top.value()) have.emplace_back(t.key, t.count);
  EXPECT_EQ(have, m.top(Dimension::kRule, range, 1000));
  auto counts = store_->countsOverTime(range, kHour, &reach);
  ASSERT_TRUE(counts.isOk());
  EXPECT_FALSE(reach.partial);
  EXPECT_EQ(counts->size(), m.counts(range, kHour).size());
}

TEST_P(StoreTest, AnAddressesActivityAndRulesMatchBruteForceCounts) {
  // The attacker page's aggregates: for an address with many events (1,000 or more) from
  // per-address tables (ip_hours, ip_rules) kept with every insert and retention, for the
  // others from their events. Either way they must equal a count over the events, before and
  // after an address crosses that line (in the middle of a batch, as here).
  Model m;
  std::mt19937_64 rng(61);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 1200, kBase, 4 * kDay);
  for (int i = 0; i < 1300; ++i) {
    core::Event e = testutil::randomEvent(rng, 2000 + i, kBase, 4 * kDay);
    e.src_ip = "198.51.100.99";
    events.push_back(std::move(e));
  }
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
  const std::vector<std::string> ips = {"198.51.100.99", "203.0.113.1", "2001:db8::2",
                                        std::string("1.2.3.4\0x", 9),
                                        "192.0.2.250"};  // the last one never seen
  auto check = [&](const std::string& when) {
    for (const auto& ip : ips) {
      EventFilter by_ip;
      by_ip.ip = ip;
      expectTopMatches(m, Dimension::kRule, by_ip, 1000, when + " rules of " + ip);
      expectTopMatches(m, Dimension::kRule, by_ip, 2, when + " top 2 rules of " + ip);
      for (const auto& [name, range] : ranges()) {
        EventFilter f = range;
        f.ip = ip;
        expectTopMatches(m, Dimension::kRule, f, 1000, when + " rules, " + name);
        for (int64_t b : {kHour, 3 * kHour, kDay, 15 * kMinute}) {
          if (f.from_us != 0 && f.to_us != 0 && (f.to_us - f.from_us) / b > 20000) continue;
          if ((f.from_us == 0 || f.to_us == 0) && b < kHour) continue;
          expectCountsMatch(m, f, b, when + " activity of " + ip + ", " + name);
        }
      }
    }
  };
  // Halfway: the busy address is still below the line.
  insertModel(&m, std::vector<core::Event>(events.begin(), events.begin() + 1100), 111);
  check("below the line");
  insertModel(&m, std::vector<core::Event>(events.begin() + 1100, events.end()), 111);
  std::vector<core::Event> late;
  for (int i = 0; i < 150; ++i) {
    late.push_back(testutil::randomEvent(rng, 6000 + i, kBase, kDay));
    if (i % 3 == 0) late.back().src_ip = "198.51.100.99";
  }
  insertModel(&m, late, 40);
  check("after insert");
  const int64_t cutoff = kBase + kDay + 5 * kHour + 7 * kMinute;
  auto r = store_->applyRetention(cutoff, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  std::erase_if(m.events, [&](const auto& p) { return p.second.time_us < cutoff; });
  EXPECT_GT(r->deleted, 100u);
  check("after retention");
}

// On SQLite the ip index is keyed by segments of 4,096 seqs first (schema version 6), and every
// statement through it names one segment. An address's events spread over many segments, with
// empty segments and gaps of every size between them (seqs skipped here as retention or a
// failed batch would leave them), are listed, paged within a budget, counted and tracked as a
// count over the events says: the busy address crosses the tracking line (1,000 events) with
// its earlier events in older segments; the others are counted from their events.
TEST_P(StoreTest, AnAddressesEventsOverManySegmentsOfTheIpIndexAreAllFound) {
  Model m;
  std::mt19937_64 rng(83);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 1500, kBase, 4 * kDay);
  for (size_t i = 0; i < events.size(); ++i) {
    if (i % 10 < 7)
      events[i].src_ip = "198.51.100.99";  // 1,050 events
    else if (i % 10 == 7)
      events[i].src_ip = "203.0.113.5";
  }
  const int64_t gaps[] = {4096 * 3 + 5, 1, 4096, 9000, 4095, 0, 20000, 2, 4097};
  size_t g = 0;
  for (size_t i = 0; i < events.size(); i += 100) {
    insertModel(&m,
                std::vector<core::Event>(
                    events.begin() + static_cast<std::ptrdiff_t>(i),
                    events.begin() + static_cast<std::ptrdiff_t>(std::min(i + 100, events.size()))),
                100);
    const int64_t gap = gaps[g++ % std::size(gaps)];
    ASSERT_TRUE(exec("UPDATE writer SET last_seq = last_seq + " + std::to_string(gap)).isOk());
  }
  ASSERT_GT(m.events.back().first, 20u * 4096u);
  for (const std::string ip : {"198.51.100.99", "203.0.113.5", "192.0.2.250"}) {
    EventFilter f;
    f.ip = ip;
    for (size_t page : {1u, 33u, 1000u}) expectListMatches(m, f, page, "list of " + ip);
    expectListMatches(m, f, 20, "list of " + ip + " within a budget", 37);
    expectTopMatches(m, Dimension::kRule, f, 1000, "rules of " + ip);
    expectTopMatches(m, Dimension::kUri, f, 5, "paths of " + ip);
    for (const auto& [name, range] : ranges()) {
      EventFilter r = range;
      r.ip = ip;
      expectListMatches(m, r, 50, "list of " + ip + ", " + name);
      expectTopMatches(m, Dimension::kRule, r, 1000, "rules of " + ip + ", " + name);
      expectCountsMatch(m, r, kHour, "activity of " + ip + ", " + name);
    }
  }
  // A list page stopped by its budget says how far back it searched: the first event of the
  // address at or after where it stopped, which may lie many segments further up.
  EventFilter sparse;
  sparse.ip = "203.0.113.5";
  EXPECT_GT(expectListMatches(m, sparse, 7, "sparse within a budget of 3", 3), 0u);

  // An address whose only event lies below thousands of seqs of others: a page within a budget
  // of one row walks the empty segments and finds it (a review's case: counting the empty
  // segments against the budget stopped the page with nothing looked at, and how far back it
  // had searched was then the epoch, or a time after the range asked for).
  Model lone;
  insertModel(&lone, {event("lone-1", kBase + kHour, "198.51.100.200")}, 1);
  ASSERT_TRUE(exec("UPDATE writer SET last_seq = last_seq + 5000").isOk());
  insertModel(&lone,
              {event("lone-2", kBase + 3 * kDay, "198.51.100.201"),
               event("lone-3", kBase + 3 * kDay + 5, "198.51.100.200")},
              2);
  for (int64_t to : {int64_t{0}, kBase + kDay}) {
    EventQuery q;
    q.filter.ip = "198.51.100.200";
    q.filter.from_us = to != 0 ? kBase : 0;
    q.filter.to_us = to;
    q.limit = 10;
    q.before_seq = lone.events[1].first;  // below lone-3: only lone-1 is left to find
    q.max_scan = 1;
    auto r = store_->events(q);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    ASSERT_EQ(r->events.size(), 1u) << "to " << to;
    EXPECT_EQ(r->events[0].event.unique_id, "lone-1");
    if (pg()) {
      // Its budget spent on lone-1, the page cannot tell that nothing older is left.
      EXPECT_TRUE(r->partial);
      EXPECT_EQ(r->searched_until_us, kBase + kHour) << "to " << to;
      EXPECT_EQ(r->next_cursor, lone.events[0].first);
    } else {
      // SQLite's walk knows where the address's events can be (IpSegments::bound): lone-1
      // is alone in the first hour the address was seen, so nothing older is left.
      EXPECT_FALSE(r->partial) << "to " << to;
    }
  }
}

// SQLite walks an address's segments only where its events can be (IpSegments::bound): the seqs
// of the hours from its first to its last seen time, and those not folded yet. Each of the
// address's events here is somewhere else: the first (folded), a late one older than it
// (folded: first seen moves back, to an hour whose only seq is far up), one not folded right
// after it; thousands of seqs of other events between them. Every read through the ip index
// must find all of them.
TEST_P(StoreTest, ARareAddressIsFoundWhereverItsEventsLie) {
  const std::string ip = "198.51.100.77";
  auto hit = [&](const std::string& uid, int64_t t, int rule_id) {
    core::Event e = event(uid, t, ip);
    e.rules.push_back(rule(rule_id, "rule " + std::to_string(rule_id), {"attack-sqli"}));
    return e;
  };
  Model m;
  auto gap = [&] { ASSERT_TRUE(exec("UPDATE writer SET last_seq = last_seq + 9000").isOk()); };
  insertModel(
      &m, {hit("r-1", kBase + 2 * kDay, 942100), event("o-1", kBase + 2 * kDay + 1, "192.0.2.1")});
  ASSERT_TRUE(store_->foldPending().isOk());
  gap();
  // Late: older than r-1.
  insertModel(&m, {hit("r-2", kBase, 941100), event("o-2", kBase + 3 * kDay, "192.0.2.2")});
  ASSERT_TRUE(store_->foldPending().isOk());
  // Not folded, the first seq after the folded ones.
  insertModel(&m, {hit("r-3", kBase + 5 * kDay, 930120)});
  gap();
  insertModel(&m, {event("o-3", kBase + 5 * kDay + 1, "192.0.2.3")});
  EventFilter f;
  f.ip = ip;
  for (size_t page : {1u, 2u, 10u})
    expectListMatches(m, f, page, "list, page " + std::to_string(page));
  expectListMatches(m, f, 10, "list within a budget of 1", 1);
  EventFilter day0 = f;  // the late event's day only
  day0.from_us = kBase;
  day0.to_us = kBase + kDay;
  expectListMatches(m, day0, 10, "list of the late event's day");
  expectTopMatches(m, Dimension::kRule, f, 10, "rules");  // folds r-3 first
  expectTopMatches(m, Dimension::kRule, day0, 10, "rules of the late event's day");
  expectCountsMatch(m, f, kDay, "activity");
  auto a = store_->attacker(ip);
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->events, 3u);
  EXPECT_EQ((*a)->first_seen_us, kBase);
  for (size_t page : {1u, 10u}) expectListMatches(m, f, page, "list once folded");
}

// The bound of SQLite's walks (IpSegments::bound) against the model, at random: fold sizes and
// chunks, batches, addresses that come for a while and go (and come back much later), a busy one
// that crosses the tracking line, late and future events, extreme times, gaps of seqs over
// segment edges, folds and retention at random moments. After every round, for the busy address
// and ten others: list pages (with budgets, from random cursors, within random time ranges),
// rules, paths and activity. (From a review, where it passed 250 seeds. Its two seeds here fail
// with the first or last hour left out of the bound, the hours' seqs cut one short of the folded
// ones, or the two ranges not joined when they touch.)
TEST_P(StoreTest, AddressesAreFoundUnderRandomFoldsGapsLateEventsAndRetention) {
  if (pg()) GTEST_SKIP() << "the bound is SQLite's (PostgreSQL's ip index needs none)";
  struct Reset {
    ~Reset() { testing::setFoldSizesForTest(0, 0); }
  } reset;
  Model m;
  int64_t clock = kBase;
  int uid = 0;
  for (const uint64_t seed : {1u, 2u}) {
    std::mt19937_64 rng(seed);
    const std::string what = "seed " + std::to_string(seed);
    const bool extreme = seed == 2;
    testing::setFoldSizesForTest(1 + static_cast<int64_t>(rng() % 2000),
                                 1 + static_cast<int64_t>(rng() % 300));
    std::vector<std::string> ips;
    for (int i = 0; i < 40; ++i) {
      ips.push_back("10.9." + std::to_string(seed) + "." + std::to_string(i));
    }
    const std::string busy = "10.8.8." + std::to_string(seed);
    auto randomRange = [&](EventFilter* f) {
      f->from_us = kBase - 2 * kDay +
                   static_cast<int64_t>(rng() % static_cast<uint64_t>(clock - kBase + 2 * kDay));
      f->to_us = f->from_us + 1 + static_cast<int64_t>(rng() % kDay);
    };
    auto check = [&](const std::string& when) {
      std::vector<std::string> picked = {busy};
      for (int k = 0; k < 10; ++k) picked.push_back(ips[rng() % ips.size()]);
      for (const auto& ip : picked) {
        EventFilter f;
        f.ip = ip;
        const std::string w = when + ", " + ip;
        expectListMatches(m, f, 1 + rng() % 40, w + " list");
        expectListMatches(m, f, 1 + rng() % 10, w + " list within a budget", 1 + rng() % 6);
        EventQuery q;  // from a random cursor
        q.filter = f;
        q.limit = 1000;
        q.before_seq = 1 + rng() % (m.events.back().first + 10);
        auto r = store_->events(q);
        ASSERT_TRUE(r.isOk()) << r.status().toString();
        std::vector<uint64_t> got, want;
        for (const auto& e : r->events) got.push_back(e.seq);
        for (uint64_t s : m.list(f)) {
          if (s < q.before_seq && want.size() < q.limit) want.push_back(s);
        }
        EXPECT_EQ(got, want) << w << " before " << q.before_seq;
        EventFilter range = f;
        randomRange(&range);
        expectListMatches(m, range, 1 + rng() % 20, w + " list of a range");
        expectListMatches(m, range, 1 + rng() % 20, w + " list of a range within a budget",
                          1 + rng() % 4);
        randomRange(&range);
        expectTopMatches(m, Dimension::kRule, f, 1000, w + " rules");
        expectTopMatches(m, Dimension::kUri, range, 1000, w + " paths of a range");
        if (!extreme) {  // (the model's buckets do not clamp times as the store's do)
          expectCountsMatch(m, f, kHour, w + " activity");
          expectCountsMatch(m, range, kHour, w + " activity of a range");
        }
      }
    };
    const int rounds = 15 + static_cast<int>(rng() % 10);
    for (int round = 0; round < rounds; ++round) {
      const int batches = 1 + static_cast<int>(rng() % 5);
      for (int b = 0; b < batches; ++b) {
        std::vector<core::Event> batch;
        const int n = 1 + static_cast<int>(rng() % 120);
        for (int i = 0; i < n; ++i) {
          core::Event e = testutil::randomEvent(rng, uid++, clock, 10 * kMinute);
          const int pick = static_cast<int>(rng() % 100);
          if (pick < 30) {
            e.src_ip = busy;
          } else if (pick < 45) {  // a few addresses at a time, moving on with the rounds
            e.src_ip = ips[(round * 2 + rng() % 3) % ips.size()];
          } else if (pick < 55) {
            e.src_ip = ips[rng() % ips.size()];
          }
          if (i == 0 && rng() % 2 == 0) e.src_ip = ips[rng() % ips.size()];
          if (rng() % 200 == 0) e.time_us = clock - static_cast<int64_t>(rng() % (3 * kDay));
          if (rng() % 300 == 0) e.time_us = clock + static_cast<int64_t>(rng() % (2 * kDay));
          if (extreme && rng() % 40 == 0) {
            static const int64_t kTimes[] = {INT64_MIN,
                                             INT64_MAX,
                                             0,
                                             -1,
                                             INT64_MIN + 1,
                                             (int64_t{1} << 62) + 5,
                                             -(int64_t{1} << 62) - 5};
            e.time_us = kTimes[rng() % std::size(kTimes)];
          }
          batch.push_back(std::move(e));
        }
        insertModel(&m, batch, 1 + rng() % 60);
        clock += static_cast<int64_t>(rng() % (2 * kHour));
        if (rng() % 3 == 0) {
          static const int64_t kGaps[] = {1, 4095, 4096, 4097, 5000, 9000, 20000, 100};
          ASSERT_TRUE(exec("UPDATE writer SET last_seq = last_seq + " +
                           std::to_string(kGaps[rng() % std::size(kGaps)]))
                          .isOk());
        }
      }
      if (rng() % 3 == 0) {
        ASSERT_TRUE(store_->foldPending().isOk());
      }
      if (rng() % 6 == 0) {
        const int64_t cutoff =
            kBase - kDay +
            static_cast<int64_t>(rng() % static_cast<uint64_t>(clock - kBase + kDay));
        auto r = store_->applyRetention(cutoff, 0);
        ASSERT_TRUE(r.isOk()) << r.status().toString();
        const size_t before = m.events.size();
        std::erase_if(m.events, [&](const auto& p) { return p.second.time_us < cutoff; });
        EXPECT_EQ(r->deleted, before - m.events.size()) << what;
      }
      check(what + ", round " + std::to_string(round));
      if (HasFailure()) return;
    }
  }
}

// A reader lists a rare address (some of its events late, by up to 30 days) while a writer
// inserts, folds every 50 events and leaves gaps of seqs: every event of it committed before a
// read is in that read.
TEST_P(StoreTest, AReaderListingAnAddressWhileFoldsRunMissesNone) {
  if (pg()) GTEST_SKIP() << "the bound is SQLite's";
  struct Reset {
    ~Reset() { testing::setFoldSizesForTest(0, 0); }
  } reset;
  testing::setFoldSizesForTest(50, 17);
  std::mutex mu;
  std::vector<uint64_t> committed;  // seqs of the rare address's events
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937_64 rng(7);
    int uid = 0;
    for (int round = 0; round < 400 && !HasFailure(); ++round) {
      std::vector<core::Event> batch;
      const int n = 1 + static_cast<int>(rng() % 30);
      for (int i = 0; i < n; ++i) {
        core::Event e = testutil::randomEvent(rng, uid++, kBase + round * kHour, kHour);
        if (rng() % 20 == 0) {
          e.src_ip = "198.51.100.66";
          if (rng() % 2 == 0) e.time_us = kBase - static_cast<int64_t>(rng() % (30 * kDay));
        }
        batch.push_back(std::move(e));
      }
      auto r = store_->insert(batch, {});
      EXPECT_TRUE(r.isOk()) << r.status().toString();
      if (!r.isOk()) break;
      uint64_t seq = r->last_seq - batch.size();
      {
        std::lock_guard lock(mu);
        for (const auto& e : batch) {
          ++seq;
          if (e.src_ip == "198.51.100.66") committed.push_back(seq);
        }
      }
      if (rng() % 4 == 0) {
        EXPECT_TRUE(
            exec("UPDATE writer SET last_seq = last_seq + " + std::to_string(rng() % 9000)).isOk());
      }
    }
    done = true;
  });
  auto reader = open();
  ASSERT_TRUE(reader.isOk()) << reader.status().toString();
  int reads = 0;
  while (!done && !HasFailure()) {
    std::vector<uint64_t> want;
    {
      std::lock_guard lock(mu);
      want = committed;
    }
    EventQuery q;
    q.filter.ip = "198.51.100.66";
    q.limit = 1000;
    auto r = (*reader)->events(q);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    std::set<uint64_t> got;
    for (const auto& e : r->events) got.insert(e.seq);
    for (uint64_t s : want) EXPECT_TRUE(got.count(s)) << "read " << reads << " missed " << s;
    ++reads;
  }
  writer.join();
  EXPECT_GT(reads, 10);
}

TEST_P(StoreTest, SensorsReportEventsAndHeartbeats) {
  insertOk({event("x1", kBase + 10, "1.1.1.1", "alpha"), event("x2", kBase + 30, "1.1.1.1", "alpha"),
            event("x3", kBase + 20, "1.1.1.1", "beta")});
  auto s = store_->sensors();
  ASSERT_TRUE(s.isOk());
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ(s.value()[0].sensor, "alpha");
  EXPECT_EQ(s.value()[0].first_seen_us, kBase + 10);
  EXPECT_EQ(s.value()[0].last_seen_us, kBase + 30);
  EXPECT_EQ(s.value()[0].events, 2u);
  EXPECT_EQ(s.value()[0].lag_ms, -1);
  EXPECT_EQ(s.value()[0].status_json, "{}");
  ASSERT_TRUE(store_->sensorSeen("alpha", kBase + 1000, 250, "{\"backlog\":3}").isOk());
  ASSERT_TRUE(store_->sensorSeen("gamma", kBase + 2000, 0, "{}").isOk());
  // An older heartbeat does not move last_seen back.
  ASSERT_TRUE(store_->sensorSeen("alpha", kBase + 500, 100, "{\"backlog\":0}").isOk());
  s = store_->sensors();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ(s.value()[0].last_seen_us, kBase + 1000);
  EXPECT_EQ(s.value()[0].lag_ms, 100);
  EXPECT_EQ(s.value()[0].status_json, "{\"backlog\":0}");
  EXPECT_EQ(s.value()[0].events, 2u);
  EXPECT_EQ(s.value()[2].sensor, "gamma");
  EXPECT_EQ(s.value()[2].events, 0u);
  EXPECT_EQ(s.value()[2].first_seen_us, kBase + 2000);
  // Events after a heartbeat keep the heartbeat's lag.
  insertOk({event("x4", kBase + 5000, "1.1.1.1", "alpha")});
  s = store_->sensors();
  EXPECT_EQ(s.value()[0].last_seen_us, kBase + 5000);
  EXPECT_EQ(s.value()[0].lag_ms, 100);
  EXPECT_EQ(s.value()[0].events, 3u);
}

TEST_P(StoreTest, CursorsAndStatePersist) {
  EXPECT_EQ(store_->cursor("misp").value(), 0u);
  ASSERT_TRUE(store_->setCursor("misp", 42).isOk());
  ASSERT_TRUE(store_->setCursor("ecs", 7).isOk());
  ASSERT_TRUE(store_->setCursor("misp", 43).isOk());
  EXPECT_EQ(store_->cursor("misp").value(), 43u);
  EXPECT_EQ(store_->cursor("ecs").value(), 7u);
  EXPECT_FALSE(store_->getState("misp", "day").value().has_value());
  ASSERT_TRUE(store_->putState("misp", "day", "2026-11-30").isOk());
  ASSERT_TRUE(store_->putState("misp", "event", std::string(100000, 'e')).isOk());
  ASSERT_TRUE(store_->putState("other", "day", "x").isOk());
  ASSERT_TRUE(store_->putState("misp", "day", "2026-12-01").isOk());
  EXPECT_EQ(store_->getState("misp", "day").value().value(), "2026-12-01");
  EXPECT_EQ(store_->getState("misp", "event").value().value(), std::string(100000, 'e'));
  EXPECT_EQ(store_->getState("other", "day").value().value(), "x");
  ASSERT_TRUE(store_->putState("misp", "empty", "").isOk());
  auto empty = store_->getState("misp", "empty");
  ASSERT_TRUE(empty.isOk() && empty->has_value());
  EXPECT_EQ(**empty, "");
  // Another instance sees them (they are durable, not cached).
  store_.reset();
  auto again = open();
  ASSERT_TRUE(again.isOk());
  store_ = std::move(again).value();
  EXPECT_EQ(store_->cursor("misp").value(), 43u);
  EXPECT_EQ(store_->getState("misp", "day").value().value(), "2026-12-01");
}

TEST_P(StoreTest, RetentionByAgeDeletesOldestAndKeepsAggregatesConsistent) {
  Model m;
  std::mt19937_64 rng(31);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 900, kBase, 6 * kDay);
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
  insertModel(&m, events, 100);
  auto attackers_before = m.attackers();

  const int64_t cutoff = kBase + 2 * kDay + 7 * kHour + 13 * kMinute;
  auto r = store_->applyRetention(cutoff, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  size_t gone = 0;
  std::erase_if(m.events, [&](const auto& p) {
    const bool old = p.second.time_us < cutoff;
    gone += old ? 1 : 0;
    return old;
  });
  EXPECT_EQ(r->deleted, gone);
  EXPECT_GT(gone, 100u);
  EXPECT_GT(r->bytes_before, 0u);
  EXPECT_EQ(store_->stats()->events, m.events.size());
  for (const auto& [name, f] : ranges()) {
    for (Dimension d : kAllDimensions) expectTopMatches(m, d, f, 1000, "after retention " + name);
    if (f.from_us != 0 && f.to_us != 0 && f.to_us - f.from_us <= 3 * kDay) {
      expectCountsMatch(m, f, kHour, "after retention " + name);
    }
  }
  expectCountsMatch(m, EventFilter{}, kDay, "after retention");
  expectListMatches(m, EventFilter{}, 50, "after retention");
  // A search that finds nothing looks at the stored events only: not at the seqs retention
  // emptied, nor at seqs past the newest event.
  for (uint64_t before : {uint64_t{0}, uint64_t{1'000'000'000'000}}) {
    EventQuery q;
    q.filter.text = "nowhere";
    q.max_scan = 50;
    q.before_seq = before;
    size_t pages = 0;
    for (; pages < 100; ++pages) {
      auto r = store_->events(q);
      ASSERT_TRUE(r.isOk());
      EXPECT_TRUE(r->events.empty());
      if (r->next_cursor == 0) break;
      q.before_seq = r->next_cursor;
    }
    EXPECT_LE(pages, (m.events.size() + 49) / 50) << before;
  }
  // Attackers with stored events stay as they were: their counts are of all their events,
  // those deleted included (every address here has events on every day).
  auto attackers = store_->attackers(AttackerQuery{EventFilter{}, 1000, 0, "events"});
  ASSERT_TRUE(attackers.isOk());
  EXPECT_EQ(attackers->size(), attackers_before.size());
  for (const auto& a : attackers.value()) EXPECT_EQ(a.events, attackers_before.at(a.ip).events);
  // Nothing older: nothing to do. Seq goes on after retention.
  auto again = store_->applyRetention(cutoff, 0);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->deleted, 0u);
  auto next = insertOk({event("after-retention", kBase)});
  EXPECT_EQ(next.last_seq, 901u);
}

TEST_P(StoreTest, RetentionBySizeDeletesTheOldestUntilUnder) {
  std::mt19937_64 rng(41);
  Model m;
  std::vector<core::Event> events;
  for (int i = 0; i < 1500; ++i) {
    core::Event e = testutil::randomEvent(rng, i, kBase, 10 * kDay);
    e.raw_record.resize(3000);
    for (auto& c : e.raw_record) c = static_cast<char>('a' + rng() % 26);  // 3 KB, ~2 KB zstd
    events.push_back(std::move(e));
  }
  insertModel(&m, events, 250);
  auto before = store_->stats().value();
  const uint64_t target = before.bytes / 2;
  auto r = store_->applyRetention(0, target);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->bytes_before, before.bytes);
  EXPECT_LE(r->bytes_after, target);
  EXPECT_GT(r->deleted, 300u);
  EXPECT_LT(r->deleted, 1400u);
  // The oldest went first: every survivor is at least as new as every deleted event.
  std::sort(m.events.begin(), m.events.end(), [](const auto& a, const auto& b) {
    return a.second.time_us != b.second.time_us ? a.second.time_us < b.second.time_us
                                                : a.first < b.first;
  });
  m.events.erase(m.events.begin(), m.events.begin() + static_cast<std::ptrdiff_t>(r->deleted));
  EXPECT_EQ(store_->stats()->events, m.events.size());
  std::vector<uint64_t> kept = allSeqs(500);
  std::vector<uint64_t> want;
  for (const auto& [seq, e] : m.events) want.push_back(seq);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(kept, want);
  if (!pg()) {
    EXPECT_LE(store_->stats()->bytes, target);
  }
  for (Dimension d : {Dimension::kSourceIp, Dimension::kRule, Dimension::kTag}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "after size retention");
  }
  expectCountsMatch(m, EventFilter{}, kHour, "after size retention");

  // The next runs delete about what came in since, not the same share again: PostgreSQL's files
  // keep their size after a delete (it took half of what was left at every run).
  const uint64_t kept_after_first = store_->stats()->events;
  for (int run = 0; run < 3; ++run) {
    std::vector<core::Event> more;
    for (int i = 0; i < 50; ++i) {
      core::Event e = testutil::randomEvent(rng, 5000 + run * 100 + i, kBase + 11 * kDay, kDay);
      e.raw_record.resize(3000);
      for (auto& c : e.raw_record) c = static_cast<char>('a' + rng() % 26);
      more.push_back(std::move(e));
    }
    ASSERT_EQ(insertOk(more).inserted, more.size());
    auto again = store_->applyRetention(0, target);
    ASSERT_TRUE(again.isOk()) << again.status().toString();
    EXPECT_LT(again->deleted, 150u) << "run " << run;
    EXPECT_GT(store_->stats()->events, kept_after_first * 8 / 10) << "run " << run;
  }
}

// 2,000 events with 3 KB raw records, 1,500 of them older than `cutoff`.
std::vector<core::Event> oldAndNewEvents(std::mt19937_64& rng, int64_t cutoff) {
  std::vector<core::Event> events;
  for (int i = 0; i < 2000; ++i) {
    const int64_t t = i < 1500 ? cutoff - 5 * kDay + i * kMinute : cutoff + 5 * kDay + i * kMinute;
    core::Event e = event("e" + std::to_string(i), t, "10.0.0." + std::to_string(i % 200));
    e.raw_record.resize(3000);
    for (auto& c : e.raw_record) c = static_cast<char>('a' + rng() % 26);
    events.push_back(std::move(e));
  }
  return events;
}

// Runs retention (`cutoff`, `cap`) three times, 100 new events before each, and checks that
// each run deletes nothing: what is kept is well under the cap.
void expectRunsKeepWhatComes(Store* store, std::mt19937_64& rng, int64_t cutoff, uint64_t cap,
                             uint64_t kept, const std::string& what) {
  for (int run = 0; run < 3; ++run) {
    std::vector<core::Event> more;
    for (int i = 0; i < 100; ++i) {
      core::Event e =
          event("m" + std::to_string(run * 100 + i), cutoff + 6 * kDay + (run * 100 + i) * kMinute);
      e.raw_record.resize(3000);
      for (auto& c : e.raw_record) c = static_cast<char>('a' + rng() % 26);
      more.push_back(std::move(e));
    }
    auto in = store->insert(more);
    ASSERT_TRUE(in.isOk());
    ASSERT_EQ(in->inserted, 100u);
    auto again = store->applyRetention(cutoff, cap);
    ASSERT_TRUE(again.isOk()) << again.status().toString();
    kept += 100;
    EXPECT_EQ(again->deleted, 0u) << what << " run " << run;
    EXPECT_EQ(store->stats()->events, kept) << what << " run " << run;
  }
}

// An age limit and a size limit in one run: the events the age limit deletes must not count
// as bytes of those left (PostgreSQL's files keep their size: measured after the age step,
// the bytes per event were four times too many, and the store was kept at about half of what
// fits, deleting exactly the new events at every run).
TEST_P(StoreTest, SizeRetentionAfterAnAgeDeletionInTheSameRunKeepsWhatFits) {
  std::mt19937_64 rng(7);
  const int64_t cutoff = kBase + 5 * kDay;
  std::vector<core::Event> events = oldAndNewEvents(rng, cutoff);
  for (size_t i = 0; i < events.size(); i += 250) {
    std::vector<core::Event> b(events.begin() + static_cast<std::ptrdiff_t>(i),
                               events.begin() + static_cast<std::ptrdiff_t>(i + 250));
    ASSERT_EQ(insertOk(b).inserted, 250u);
  }
  const uint64_t size = store_->stats()->bytes;
  const uint64_t cap = size * 6 / 10;  // the 500 new events take about a quarter of it
  auto r = store_->applyRetention(cutoff, cap);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->deleted, 1500u);
  EXPECT_EQ(store_->stats()->events, 500u);
  EXPECT_LE(r->bytes_after, cap);
  expectRunsKeepWhatComes(store_.get(), rng, cutoff, cap, 500, "same run");
}

// The same when the age limit ran before the size first passed the limit: the deleted events'
// rows are dead (on PostgreSQL until VACUUM reaches them, which the test keeps from happening)
// and must not count as bytes of the events left.
TEST_P(StoreTest, SizeRetentionAfterEarlierDeletionsDiscountsTheirSpace) {
  std::mt19937_64 rng(8);
  const int64_t cutoff = kBase + 5 * kDay;
  std::vector<core::Event> events = oldAndNewEvents(rng, cutoff);
  if (pg()) {
    for (const char* table : {"events", "event_bodies"}) {
      ASSERT_TRUE(exec(std::string("ALTER TABLE ") + table +
                       " SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)")
                      .isOk());
    }
  }
  for (size_t i = 0; i < events.size(); i += 250) {
    std::vector<core::Event> b(events.begin() + static_cast<std::ptrdiff_t>(i),
                               events.begin() + static_cast<std::ptrdiff_t>(i + 250));
    ASSERT_EQ(insertOk(b).inserted, 250u);
  }
  const uint64_t size = store_->stats()->bytes;
  auto r = store_->applyRetention(cutoff, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ(r->deleted, 1500u);
  // PostgreSQL's statistics (dead rows) reach the server within a second of the commit.
  if (pg()) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  expectRunsKeepWhatComes(store_.get(), rng, cutoff, size * 6 / 10, 500, "later run");
}

// A retention of many chunks takes the store's write lock for each chunk, not for the whole
// run: an insert of the same store goes in between two chunks instead of waiting for all of
// them (10,000,000 old events took about 17 minutes on PostgreSQL, ingest stopped meanwhile).
TEST_P(StoreTest, AnInsertDuringALongRetentionGoesInBetweenItsChunks) {
  const int n = 30000;
  for (int b = 0; b < n / 1000; ++b) {
    std::vector<core::Event> batch;
    for (int i = 0; i < 1000; ++i) {
      const int k = b * 1000 + i;
      batch.push_back(
          event("old" + std::to_string(k), kBase + k * 1000000LL,
                "10.1." + std::to_string(k % 250) + "." + std::to_string(k / 250 % 250)));
    }
    ASSERT_EQ(insertOk(batch).inserted, 1000u);
  }
  ASSERT_TRUE(store_->foldPending().isOk());
  std::atomic<bool> started{false}, done{false};
  double retention_s = 0;
  std::thread retention([&] {
    started = true;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = store_->applyRetention(kBase + 10 * kDay, 0);
    retention_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done = true;
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_EQ(r->deleted, uint64_t(n));
  });
  while (!started) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  auto in = store_->insert({event("new", kBase + 20 * kDay)});
  const double insert_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool retention_was_running = !done;
  retention.join();
  ASSERT_TRUE(in.isOk()) << in.status().toString();
  EXPECT_EQ(in->inserted, 1u);
  EXPECT_TRUE(retention_was_running)
      << "the insert took " << insert_s << " s, the retention " << retention_s << " s";
  EXPECT_LT(insert_s, retention_s / 4) << "the retention took " << retention_s << " s";
  std::printf("[ retention of %d events: %.2f s; an insert during it: %.3f s ]\n", n, retention_s,
              insert_s);
  // The new event stays (and is counted), the old ones are gone.
  EXPECT_EQ(store_->stats()->events, 1u);
  auto a = store_->attacker("203.0.113.7");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->events, 1u);
}

// Under a size limit, with every event bringing an address, a path and a user agent of its
// own: the attackers rows and rollup keys of the deleted events go with them, so every run
// keeps about the limit's worth of events (SQLite kept 3,724, 2,305, 887, then 0 events,
// history taking the room), and the aggregates still count the stored events.
TEST_P(StoreTest, SizeRetentionKeepsTheLimitsWorthWhileEveryEventBringsNewHistory) {
  std::mt19937_64 rng(3);
  Model m;
  int k = 0;
  auto batch = [&](int n) {
    std::vector<core::Event> b;
    for (int i = 0; i < n; ++i, ++k) {
      core::Event e = event("k" + std::to_string(k), kBase + k * 1000000LL,
                            "10." + std::to_string(k / 65536 % 256) + "." +
                                std::to_string(k / 256 % 256) + "." + std::to_string(k % 256));
      e.uri = "/" + randomText(rng, 24) + ".php?x=1";
      e.user_agent = "Mozilla/5.0 (" + randomText(rng, 30) + ")";
      e.raw_record = randomText(rng, 1200);
      b.push_back(std::move(e));
    }
    return b;
  };
  for (int i = 0; i < 4; ++i) insertModel(&m, batch(1000), 1000);
  const uint64_t cap = store_->stats()->bytes;  // about 4,000 events' worth
  for (int run = 0; run < 12; ++run) {
    for (int i = 0; i < 2; ++i) insertModel(&m, batch(1000), 1000);
    auto r = store_->applyRetention(0, cap);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    const uint64_t kept = store_->stats()->events;
    // PostgreSQL measures live bytes from its table statistics, which a backend reports at
    // most once a second: before the store made its connection report them first, one run
    // under the sanitizers kept 2,816. The fault this guards against kept 887, then 0.
    EXPECT_GE(kept, 3000u) << "run " << run;
    // PostgreSQL's limit is on live bytes, and the size the limit was taken from held the dead
    // rows of the folds' updates as well.
    EXPECT_LE(kept, pg() ? 5500u : 4500u) << "run " << run;
    if (!pg()) {
      EXPECT_LE(store_->stats()->bytes, cap) << "run " << run;
    }
    // The oldest went; the attackers are those of the stored events. (insertModel appends in
    // sequence order.)
    ASSERT_TRUE(std::is_sorted(m.events.begin(), m.events.end(),
                               [](const auto& a, const auto& b) { return a.first < b.first; }));
    m.events.erase(m.events.begin(), m.events.end() - static_cast<std::ptrdiff_t>(
                                                          std::min<size_t>(kept, m.events.size())));
    EXPECT_EQ(store_->stats()->attackers, kept) << "run " << run;
  }
  for (Dimension d :
       {Dimension::kSourceIp, Dimension::kUri, Dimension::kUserAgent, Dimension::kSensor}) {
    expectTopMatches(m, d, EventFilter{}, 20, "after size retention");
  }
  EventFilter recent;
  recent.from_us = kBase + (k - 1500) * 1000000LL + 17;
  recent.to_us = kBase + k * 1000000LL;
  expectTopMatches(m, Dimension::kUri, recent, 20, "a range after size retention");
}

// A size limit that the store's history alone is over (here: smaller than an empty store)
// must not delete every event for it: size retention stops and says so (it deleted them all).
TEST_P(StoreTest, SizeRetentionNeverDeletesTheLastEventsForHistory) {
  std::mt19937_64 rng(5);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 400, kBase, kDay);
  for (auto& e : events) e.raw_record = randomText(rng, 1000);
  Model m;
  insertModel(&m, events, 100);
  // The first run may delete some (SQLite measures what deleting events frees by deleting
  // them); then none goes.
  auto r = store_->applyRetention(0, 1);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  const uint64_t kept = store_->stats()->events;
  EXPECT_GE(kept, 200u);
  for (int run = 1; run < 4; ++run) {
    r = store_->applyRetention(0, 1);
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_EQ(r->deleted, 0u) << "run " << run;
    EXPECT_EQ(store_->stats()->events, kept) << "run " << run;
  }
}

// Retention takes with the events what no stored event needs any more: the attackers rows of
// addresses none of whose events is stored (the others keep counting every event of theirs,
// the deleted ones included), and the rollup keys no rollup row refers to. A key deleted
// comes back with a new id when an event brings it again, whichever writer remembered the old
// one: the aggregates count it.
TEST_P(StoreTest, RetentionDropsTheHistoryNoStoredEventNeeds) {
  auto second = open();
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  core::Event gone1 = event("g1", kBase, "198.51.100.1");
  gone1.uri = "/old-path?a=1";
  gone1.user_agent = "old-agent";
  core::Event gone2 = event("g2", kBase + kHour, "198.51.100.2");
  gone2.uri = "/old-path";
  core::Event both_old = event("b1", kBase + 2 * kHour, "198.51.100.3");
  core::Event both_new = event("b2", kBase + 3 * kDay, "198.51.100.3");
  core::Event fresh = event("f1", kBase + 3 * kDay + kHour, "198.51.100.4");
  insertOk({gone1, gone2, both_old});
  // The second writer remembers the ids of the old path and user agent (it folds them).
  auto in = second.value()->insert({both_new, fresh});
  ASSERT_TRUE(in.isOk());
  ASSERT_TRUE(second.value()->foldPending().isOk());
  auto r = store_->applyRetention(kBase + kDay, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->deleted, 3u);
  EXPECT_FALSE(store_->attacker("198.51.100.1")->has_value());
  EXPECT_FALSE(store_->attacker("198.51.100.2")->has_value());
  auto kept = store_->attacker("198.51.100.3");
  ASSERT_TRUE(kept.isOk() && kept->has_value());
  EXPECT_EQ((*kept)->events, 2u);  // the deleted one included
  EXPECT_EQ((*kept)->first_seen_us, kBase + 2 * kHour);
  EXPECT_EQ(store_->stats()->attackers, 2u);
  // The old path and user agent come back, through the writer that remembered their ids and
  // through the other one.
  core::Event back1 = event("back1", kBase + 3 * kDay + 2 * kHour, "198.51.100.1");
  back1.uri = "/old-path?b=2";
  back1.user_agent = "old-agent";
  in = second.value()->insert({back1});
  ASSERT_TRUE(in.isOk());
  ASSERT_TRUE(second.value()->foldPending().isOk());
  core::Event back2 = event("back2", kBase + 3 * kDay + 3 * kHour, "198.51.100.2");
  back2.uri = "/old-path";
  insertOk({back2});
  for (Store* s : {store_.get(), second.value().get()}) {
    auto uris = s->top(Dimension::kUri, EventFilter{}, 10);
    ASSERT_TRUE(uris.isOk());
    std::map<std::string, uint64_t> got;
    for (const auto& t : uris.value()) got[t.key] = t.count;
    EXPECT_EQ(got, (std::map<std::string, uint64_t>{{"/index.php", 2}, {"/old-path", 2}}));
    auto uas = s->top(Dimension::kUserAgent, EventFilter{}, 10);
    ASSERT_TRUE(uas.isOk());
    got.clear();
    for (const auto& t : uas.value()) got[t.key] = t.count;
    EXPECT_EQ(got["old-agent"], 1u);
    EXPECT_EQ(got[both_new.user_agent], 3u);
    auto ips = s->top(Dimension::kSourceIp, EventFilter{}, 10);
    ASSERT_TRUE(ips.isOk());
    EXPECT_EQ(ips->size(), 4u);
  }
  auto a = store_->attacker("198.51.100.1");
  ASSERT_TRUE(a.isOk() && a->has_value());
  EXPECT_EQ((*a)->events, 1u);  // a new row: its earlier events are gone
  // Everything goes with the last events.
  r = store_->applyRetention(kBase + 10 * kDay, 0);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->deleted, 4u);
  EXPECT_EQ(store_->stats()->attackers, 0u);
  auto none = store_->top(Dimension::kUri, EventFilter{}, 10);
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, ReopeningKeepsEverythingAndSeqContinues) {
  insertOk({event("p1", kBase), event("p2", kBase + 1)}, {FileOffset{"k", "/p", 5, 1}});
  store_.reset();
  auto again = open();
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  store_ = std::move(again).value();
  EXPECT_EQ(store_->stats()->events, 2u);
  auto r = insertOk({event("p3", kBase + 2), event("p1", kBase)});
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.last_seq, 3u);
  EXPECT_EQ(store_->fileOffsets()->size(), 1u);
}

TEST_P(StoreTest, ANewerSchemaIsRefusedWithAClearError) {
  store_.reset();
  ASSERT_TRUE(exec("UPDATE schema_version SET version = 99").isOk());
  auto s = open();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos)
      << s.status().toString();
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
  // Back to the current version: it opens again, nothing lost.
  ASSERT_TRUE(exec("UPDATE schema_version SET version = " + std::to_string(kCurrentSchema)).isOk());
  auto ok = open();
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  store_ = std::move(ok).value();
}

TEST_P(StoreTest, ADatabaseOfSomethingElseIsRefused) {
  store_.reset();
  ASSERT_TRUE(exec("DROP TABLE schema_version").isOk());
  auto s = open();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.status().message().find("schema_version"), std::string::npos)
      << s.status().toString();
}

TEST_P(StoreTest, AnOlderDatabaseIsUpgradedWhenOpened) {
  // Version 0 is an empty database (with a schema_version table at 0): opening it applies
  // every migration, as opening a version-1 store will once version 2 exists.
  store_.reset();
  if (pg()) {
    std::random_device rd;
    const std::string schema = "t_old" + std::to_string(rd());
    ASSERT_TRUE(testing::postgresExecForTest(base_conninfo_,
                                             "CREATE SCHEMA " + schema + "; SET search_path = " +
                                                 schema + "; CREATE TABLE schema_version "
                                                 "(version INTEGER NOT NULL); INSERT INTO "
                                                 "schema_version VALUES (0)")
                    .isOk());
    auto s = openPostgresStore(PostgresOptions{base_conninfo_ + " options='-c search_path=" +
                                               schema + "'"});
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    EXPECT_EQ(s.value()->stats()->schema_version, kCurrentSchema);
    EXPECT_EQ(s.value()->insert({event("u", kBase)})->inserted, 1u);
    s.value().reset();
    (void)testing::postgresExecForTest(base_conninfo_, "DROP SCHEMA " + schema + " CASCADE");
  } else {
    const std::string path = dir_.file("old.db");
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    ASSERT_TRUE(testing::sqliteExecForTest(
                    path, "CREATE TABLE schema_version (version INTEGER NOT NULL); "
                          "INSERT INTO schema_version VALUES (0)")
                    .isOk());
    auto s = openSqliteStore(SqliteOptions{path, true});
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    EXPECT_EQ(s.value()->stats()->schema_version, kCurrentSchema);
    EXPECT_EQ(s.value()->insert({event("u", kBase)})->inserted, 1u);
  }
}

// A collector of version 2 still running on a database another one upgraded (a fleet sharing
// PostgreSQL) must not write: it would count its batches in the aggregates, which the folds of
// version 3 count again. Its writer statements name writer.last_key_id, which version 3 renamed.
TEST_P(StoreTest, AWriterOfSchemaTwoCannotWriteAnUpgradedStore) {
  insertOk({event("v2-guard", kBase)});
  auto st = exec("SELECT last_seq, event_count, folded_until, generation, last_key_id FROM writer "
                 "WHERE id = 1");
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("last_key_id"), std::string::npos) << st.toString();
  st = exec("UPDATE writer SET last_seq = last_seq, last_key_id = 0 WHERE id = 1");
  EXPECT_FALSE(st.isOk());
}

TEST_P(StoreTest, AVersionOneStoreWithItsEventsIsUpgradedWhenOpened) {
  // A store of schema version 1 (its tables as version 1 made them, the compressed bodies in
  // the events table) opens at the current version with every event, body and count intact,
  // and the tables version 2 added (event_bodies, seq_hours, ip_hours, ip_rules) filled from
  // its events. The version-1 store is made from the rows of a current one.
  Model m;
  std::mt19937_64 rng(71);
  std::vector<core::Event> events;
  for (int i = 0; i < 2600; ++i) {  // over 1000: bodies compressed with a trained dictionary
    core::Event e = testutil::randomEvent(rng, i, kBase, 3 * kDay);
    if (i % 2 == 0) e.src_ip = "198.51.100.99";  // an address with many events
    e.raw_record = "{\"n\":" + std::to_string(rng()) + "," + std::string(300, 'r') + "}";
    e.request_body = i % 4 == 0 ? "pwd=" + std::to_string(i) : "";
    events.push_back(std::move(e));
  }
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.time_us < b.time_us; });
  for (int i = 0; i < 60; ++i) events.push_back(testutil::randomEvent(rng, 5000 + i, kBase, kDay));
  insertModel(&m, events, 120);
  ASSERT_TRUE(store_->setCursor("misp", 77).isOk());
  // Version 1 kept its aggregates up with every batch: the copied ones must hold every event.
  ASSERT_TRUE(store_->foldPending().isOk());
  store_.reset();

  const internal::Dialect dialect = pg() ? internal::Dialect::kPostgres : internal::Dialect::kSqlite;
  std::string copy = internal::migrationSql(1, dialect);
  copy += ";CREATE TABLE schema_version (version INTEGER NOT NULL);"
          "INSERT INTO schema_version VALUES (1);"
          "DELETE FROM writer;";
  const std::string from = pg() ? schema_ + "." : "cur.";
  copy +=
      "INSERT INTO writer SELECT id, last_seq, event_count, generation, folded_until, "
      "last_rollup_key FROM " +
      from + "writer;";
  // sensors: the columns of version 1 (version 7 added two).
  copy +=
      "INSERT INTO sensors SELECT sensor, first_seen_us, last_seen_us, events, lag_ms, "
      "status_json FROM " +
      from + "sensors;";
  for (const char* table : {"dictionaries", "rollup_keys", "rollups", "attackers", "rules",
                            "cursors", "state", "file_offsets"}) {
    copy += std::string("INSERT INTO ") + table + " SELECT * FROM " + from + table + ";";
  }
  copy += "INSERT INTO events (seq, sensor, unique_id, time_us, src_ip, src_port, dst_port, "
          "method, uri, user_agent, status, flags, keys, body) SELECT e.seq, e.sensor, "
          "e.unique_id, e.time_us, e.src_ip, e.src_port, e.dst_port, e.method, e.uri, "
          "e.user_agent, e.status, e.flags, e.keys, b.body FROM " + from + "events e JOIN " +
          from + "event_bodies b ON b.seq = e.seq;";
  std::string v1_schema;
  struct DropSchema {
    std::string conninfo, schema;
    ~DropSchema() {
      if (!schema.empty()) {
        (void)testing::postgresExecForTest(conninfo, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
      }
    }
  } drop;
  core::Result<std::unique_ptr<Store>> old = core::Status::internal("not opened");
  if (pg()) {
    std::random_device rd;
    v1_schema = "t_v1_" + std::to_string(rd());
    drop = DropSchema{base_conninfo_, v1_schema};
    auto st = testing::postgresExecForTest(
        base_conninfo_, "CREATE SCHEMA " + v1_schema + "; SET search_path = " + v1_schema + ";" +
                            copy);
    ASSERT_TRUE(st.isOk()) << st.toString();
    old = openPostgresStore(
        PostgresOptions{base_conninfo_ + " options='-c search_path=" + v1_schema + "'"});
  } else {
    const std::string v1_path = dir_.file("v1.db");
    FILE* f = std::fopen(v1_path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    auto st = testing::sqliteExecForTest(
        v1_path, "ATTACH DATABASE '" + path_ + "' AS cur;" + copy + "DETACH DATABASE cur;");
    ASSERT_TRUE(st.isOk()) << st.toString();
    old = openSqliteStore(SqliteOptions{v1_path, false});
  }
  ASSERT_TRUE(old.isOk()) << old.status().toString();
  store_ = std::move(old).value();

  auto check = [&](const std::string& when) {
    auto stats = store_->stats();
    ASSERT_TRUE(stats.isOk());
    EXPECT_EQ(stats->schema_version, kCurrentSchema) << when;
    EXPECT_EQ(stats->events, m.events.size()) << when;
    // Every event back exactly, raw record and request body included.
    size_t n = 0;
    uint64_t after = 0;
    for (;;) {
      auto r = store_->readAfter(after, 500);
      ASSERT_TRUE(r.isOk()) << r.status().toString();
      if (r->empty()) break;
      for (const auto& se : r.value()) {
        ASSERT_LT(n, m.events.size());
        EXPECT_EQ(se.seq, m.events[n].first) << when;
        expectSameEvent(m.events[n].second, se.event, true);
        ++n;
        after = se.seq;
      }
    }
    EXPECT_EQ(n, m.events.size()) << when;
    for (const auto& [name, f] : ranges()) {
      expectListMatches(m, f, 100, when + " list " + name);
      expectTopMatches(m, Dimension::kSourceIp, f, 1000, when + " " + name);
    }
    for (const std::string ip : {"198.51.100.99", "203.0.113.1", "2001:db8::1", "10.0.0.1"}) {
      EventFilter f;
      f.ip = ip;
      expectListMatches(m, f, 100, when + " list " + ip);
      expectTopMatches(m, Dimension::kRule, f, 1000, when + " rules of " + ip);
      expectCountsMatch(m, f, kHour, when + " activity of " + ip);
      f.from_us = kBase + 5 * kHour;
      f.to_us = kBase + 2 * kDay + 17 * kMinute;
      expectCountsMatch(m, f, 3 * kHour, when + " activity of " + ip + " in a range");
    }
    EventFilter text;
    text.text = "WP-LOGIN";
    expectListMatches(m, text, 100, when + " text");
  };
  check("upgraded");
  EXPECT_EQ(store_->cursor("misp").value(), 77u);
  // It goes on: new events after the old ones, a resent old one is a duplicate.
  std::vector<core::Event> more = testutil::randomEvents(rng, 8000, 200, kBase, 4 * kDay);
  auto dup = store_->insert({events[5]});
  ASSERT_TRUE(dup.isOk());
  EXPECT_EQ(dup->duplicates, 1u);
  insertModel(&m, more, 50);
  EXPECT_EQ(m.events.back().first, events.size() + more.size());
  check("upgraded, then written");
}

// Schema version 4 adds an index per order of the attackers list: a store of version 3 (made
// from a current one by taking them out again) gets them when opened, its rows intact.
TEST_P(StoreTest, AVersionThreeStoreGetsTheAttackerIndexesWhenOpened) {
  Model m;
  std::mt19937_64 rng(73);
  insertModel(&m, testutil::randomEvents(rng, 0, 600, kBase, 3 * kDay), 100);
  ASSERT_TRUE(store_->foldPending().isOk());
  store_.reset();
  auto indexes = [&] {
    int64_t n = -1;
    const std::string names = "('attackers_last_seen', 'attackers_events', 'attackers_first_seen')";
    const std::string sql =
        pg() ? "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND "
               "tablename = 'attackers' AND indexname IN " +
                   names
             : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
               "'attackers' AND name IN " +
                   names;
    // exec() runs SQL but returns no rows: the count goes through the state table.
    EXPECT_TRUE(exec("DELETE FROM state WHERE ns = 'test'; INSERT INTO state (ns, key, value) "
                     "SELECT " +
                     bytesLiteral("test") + ", " + bytesLiteral("indexes") + ", " +
                     (pg() ? "convert_to(CAST((" + sql + ") AS text), 'UTF8')"
                           : "CAST(CAST((" + sql + ") AS TEXT) AS BLOB)"))
                    .isOk());
    auto s = open();
    EXPECT_TRUE(s.isOk());
    if (s.isOk()) {
      auto v = s.value()->getState("test", "indexes");
      if (v.isOk() && v->has_value()) n = std::stoll(v->value());
    }
    return n;
  };
  ASSERT_TRUE(exec("DROP INDEX attackers_last_seen; DROP INDEX attackers_events; "
                   "DROP INDEX attackers_first_seen; ALTER TABLE writer DROP COLUMN keys_epoch; "
                   "ALTER TABLE writer RENAME COLUMN last_rollup_key TO rollup_key_id; "
                   "UPDATE schema_version SET version = 3; " +
                   kUndoV7)
                  .isOk());
  auto s = open();
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  store_ = std::move(s).value();
  EXPECT_EQ(store_->stats()->schema_version, kCurrentSchema);
  EXPECT_EQ(indexes(), 3);
  const auto all = m.attackers();
  for (const std::string order : {"last_seen", "events", "first_seen"}) {
    AttackerQuery q;
    q.order = order;
    q.limit = 1000;
    auto got = store_->attackers(q);
    ASSERT_TRUE(got.isOk());
    std::vector<std::string> ips;
    for (const auto& a : got.value()) ips.push_back(a.ip);
    EXPECT_EQ(ips, modelAttackerPage(all, q, 0).ips) << order;
    q.filter.sensor = "sensor-b";
    q.limit = 3;
    q.offset = 2;
    got = store_->attackers(q);
    ASSERT_TRUE(got.isOk());
    ips.clear();
    for (const auto& a : got.value()) ips.push_back(a.ip);
    EXPECT_EQ(ips, modelAttackerPage(all, q, 0).ips) << order << " sensor-b";
  }
}

// Schema version 5 renames writer.rollup_key_id (to last_rollup_key) and adds keys_epoch: a
// store of version 4 (made from a current one) is upgraded when opened and goes on, and a
// writer of version 4, which would use the key ids it remembers after retention deleted them,
// can no longer write.
TEST_P(StoreTest, AVersionFourStoreIsUpgradedAndItsWritersLockedOut) {
  Model m;
  std::mt19937_64 rng(74);
  insertModel(&m, testutil::randomEvents(rng, 0, 300, kBase, 2 * kDay), 100);
  store_.reset();
  ASSERT_TRUE(exec("ALTER TABLE writer DROP COLUMN keys_epoch; "
                   "ALTER TABLE writer RENAME COLUMN last_rollup_key TO rollup_key_id; "
                   "UPDATE schema_version SET version = 4; " +
                   kUndoV7)
                  .isOk());
  const std::string v4_writer =
      "UPDATE writer SET last_seq = last_seq, rollup_key_id = rollup_key_id WHERE id = 1";
  ASSERT_TRUE(exec(v4_writer).isOk());
  auto s = open();
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  store_ = std::move(s).value();
  EXPECT_EQ(store_->stats()->schema_version, kCurrentSchema);
  EXPECT_FALSE(exec(v4_writer).isOk());
  insertModel(&m, testutil::randomEvents(rng, 1000, 100, kBase + 2 * kDay, kDay), 50);
  auto r = store_->applyRetention(kBase + kDay, 0);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  std::erase_if(m.events, [&](const auto& p) { return p.second.time_us < kBase + kDay; });
  for (Dimension d : {Dimension::kSourceIp, Dimension::kUri, Dimension::kRule}) {
    expectTopMatches(m, d, EventFilter{}, 1000, "upgraded from version 4");
  }
}

// Schema version 6 keys SQLite's ip index by segments of seqs first (nothing changes on
// PostgreSQL): a store of version 5 (a current one with the index as it was) gets the new
// index when opened, and an address's events are found through it as before, new ones too.
TEST_P(StoreTest, AVersionFiveStoreGetsTheSegmentedIpIndexWhenOpened) {
  Model m;
  std::mt19937_64 rng(75);
  std::vector<core::Event> events = testutil::randomEvents(rng, 0, 400, kBase, 2 * kDay);
  for (size_t i = 0; i < events.size(); i += 3) events[i].src_ip = "198.51.100.7";
  insertModel(&m, events, 100);
  store_.reset();
  if (!pg()) {
    ASSERT_TRUE(
        exec("DROP INDEX events_ip; CREATE INDEX events_ip ON events (src_ip, seq)").isOk());
  }
  ASSERT_TRUE(exec("UPDATE schema_version SET version = 5; " + kUndoV7).isOk());
  auto s = open();
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  store_ = std::move(s).value();
  EXPECT_EQ(store_->stats()->schema_version, kCurrentSchema);
  if (!pg()) {
    auto db = testing::openSqliteDbForTest(path_, false);
    ASSERT_TRUE(db.isOk()) << db.status().toString();
    std::string index;
    ASSERT_TRUE(db.value()
                    ->run("SELECT sql FROM sqlite_master WHERE name = 'events_ip'", {},
                          [&](const internal::Row& r) { index = std::string(r.bytes(0)); })
                    .isOk());
    EXPECT_EQ(index, "CREATE INDEX events_ip ON events ((seq >> 12), src_ip, seq)");
  }
  insertModel(&m, testutil::randomEvents(rng, 1000, 100, kBase + 2 * kDay, kDay), 50);
  for (const std::string ip : {"198.51.100.7", "203.0.113.1"}) {
    EventFilter f;
    f.ip = ip;
    expectListMatches(m, f, 30, "upgraded to version 6, list of " + ip);
    expectTopMatches(m, Dimension::kRule, f, 1000, "upgraded to version 6, rules of " + ip);
  }
}

TEST_P(StoreTest, TwoWritersAndAReaderSeeEveryEventExactlyOnce) {
  auto second = open();
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  auto reader_store = open();
  ASSERT_TRUE(reader_store.isOk());
  constexpr int kBatches = 40;
  constexpr int kBatch = 25;
  std::atomic<int> writers_done{0};
  std::atomic<bool> failed{false};
  auto writer = [&](Store* s, const std::string& sensor) {
    std::mt19937_64 rng(sensor.size());
    for (int b = 0; b < kBatches; ++b) {
      std::vector<core::Event> batch;
      for (int i = 0; i < kBatch; ++i) {
        batch.push_back(event(sensor + "-" + std::to_string(b * kBatch + i),
                              kBase + static_cast<int64_t>(rng() % kDay), "10.0.0." +
                              std::to_string(rng() % 50), sensor));
      }
      auto r = s->insert(batch);
      if (!r.isOk() || r->inserted != batch.size()) failed = true;
    }
    ++writers_done;
  };
  std::vector<uint64_t> seen;
  std::set<std::string> ids;
  auto reader = [&](Store* s) {
    uint64_t cursor = 0;
    for (;;) {
      const bool done = writers_done.load() == 2;
      auto r = s->readAfter(cursor, 17);
      if (!r.isOk()) {
        failed = true;
        return;
      }
      for (const auto& e : r.value()) {
        seen.push_back(e.seq);
        ids.insert(e.event.sensor + "/" + e.event.unique_id);
        cursor = e.seq;
      }
      if (done && r->empty()) return;
    }
  };
  std::thread w1(writer, store_.get(), std::string("w1"));
  std::thread w2(writer, second.value().get(), std::string("w22"));
  std::thread rd(reader, reader_store.value().get());
  w1.join();
  w2.join();
  rd.join();
  ASSERT_FALSE(failed.load());
  EXPECT_EQ(seen.size(), size_t{2 * kBatches * kBatch});
  EXPECT_EQ(ids.size(), size_t{2 * kBatches * kBatch});
  for (size_t i = 1; i < seen.size(); ++i) ASSERT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(store_->stats()->events, size_t{2 * kBatches * kBatch});
  auto a = store_->attackers(AttackerQuery{EventFilter{}, 1000, 0, "events"});
  uint64_t total = 0;
  for (const auto& x : a.value()) total += x.events;
  EXPECT_EQ(total, uint64_t{2 * kBatches * kBatch});
}

TEST_P(StoreTest, OneStoreIsSafeToShareBetweenThreads) {
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = store_->insert({event("t" + std::to_string(t) + "-" + std::to_string(i),
                                       kBase + i * kMinute)});
        if (!r.isOk()) failed = true;
        if (!store_->events(EventQuery{}).isOk()) failed = true;
        if (!store_->top(Dimension::kSourceIp, EventFilter{}, 5).isOk()) failed = true;
        if (!store_->setCursor("r" + std::to_string(t), static_cast<uint64_t>(i)).isOk()) {
          failed = true;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(store_->stats()->events, 80u);
  EXPECT_EQ(allSeqs(9).size(), 80u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

// ---------------------------------------------------------------------------------------------
// What only one of the two has.

TEST(SqliteOnly, TheDatabaseFilesAreOwnerOnly) {
  testutil::TempDir dir;
  const std::string path = dir.file("mode.db");
  {
    auto s = openSqliteStore(SqliteOptions{path, false});
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    ASSERT_TRUE(s.value()->insert({event("m", kBase)}).isOk());
    for (const std::string& p : {path, path + "-wal"}) {
      struct stat st{};
      ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
    }
  }
  EXPECT_FALSE(openSqliteStore(SqliteOptions{"", false}).isOk());
  EXPECT_FALSE(openSqliteStore(SqliteOptions{dir.file("no/such/dir/x.db"), false}).isOk());
  // Not a database at all.
  FILE* f = std::fopen(dir.file("junk.db").c_str(), "w");
  std::fputs("this is not a database, just some text that is long enough to matter......", f);
  std::fclose(f);
  EXPECT_FALSE(openSqliteStore(SqliteOptions{dir.file("junk.db"), false}).isOk());
}

// The store's VFS writes a commit's WAL frames together when the commit's last frame comes
// (sqlite_db.cc). A write the file system refuses there (here: the file size limit, EFBIG; a
// full disk gives ENOSPC the same way) fails the batch; nothing of it is stored, nothing stored
// before is lost, and the next batch goes in.
TEST(SqliteOnly, ACommitWhoseWalWriteFailsStoresNothingAndLosesNothing) {
  testutil::TempDir dir;
  const std::string path = dir.file("full.db");
  auto s = openSqliteStore(SqliteOptions{path, false});
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  Store& store = *s.value();
  std::mt19937_64 rng(5);
  auto batchOf = [&](int first, int n) {
    std::vector<core::Event> b;
    for (int i = 0; i < n; ++i) b.push_back(testutil::randomEvent(rng, first + i, kBase, kDay));
    return b;
  };
  ASSERT_TRUE(store.insert(batchOf(0, 40)).isOk());
  struct stat db {
  }, wal{};
  ASSERT_EQ(::stat(path.c_str(), &db), 0);
  ASSERT_EQ(::stat((path + "-wal").c_str(), &wal), 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(std::max(db.st_size, wal.st_size) + 16 * 1024);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
  auto refused = store.insert(batchOf(1000, 1500));  // about 1.5 MB of WAL
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(refused.isOk());
  auto later = store.insert(batchOf(5000, 30));
  ASSERT_TRUE(later.isOk()) << later.status().toString();
  EXPECT_EQ(later->inserted, 30u);
  auto check = [&](Store& st, const std::string& when) {
    auto all = st.readAfter(0, 10'000);
    ASSERT_TRUE(all.isOk()) << when << ": " << all.status().toString();
    std::set<std::string> ids;
    for (const auto& e : all.value()) ids.insert(e.event.unique_id);
    EXPECT_EQ(all->size(), 70u) << when;
    EXPECT_EQ(ids.size(), 70u) << when;
    for (const auto& e : all.value()) {
      const int n = std::stoi(e.event.unique_id.substr(1));  // "r<i>"
      EXPECT_TRUE(n < 40 || (n >= 5000 && n < 5030)) << when << ": " << e.event.unique_id;
    }
    EXPECT_EQ(st.stats()->events, 70u) << when;
  };
  check(store, "same store");
  s = core::Status::ok();  // closed
  auto again = openSqliteStore(SqliteOptions{path, false});
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  check(*again.value(), "reopened");
}

// The same VFS where SQLite writes its WAL otherwise than frame after frame: a transaction too
// big for its page cache spills pages into the WAL before its commit, rewrites some of those
// frames in place, and then the checksums after them (walRewriteChecksums). A crash image (the
// database and its WAL as they are on disk while the connection is open, without the
// wal-index) must recover to exactly what was committed.
namespace vfs_test {

struct Table {
  int64_t rows = -1, bytes = -1, sum = -1;
  std::string check;
  bool operator==(const Table&) const = default;
};

Table tableOf(internal::Db& db) {
  Table t;
  auto st = db.run("SELECT count(*), sum(length(v)), sum(unicode(substr(v, 7, 1)) * k) FROM t", {},
                   [&](const internal::Row& r) {
                     t.rows = r.i64(0);
                     t.bytes = r.isNull(1) ? 0 : r.i64(1);
                     t.sum = r.isNull(2) ? 0 : r.i64(2);
                   });
  EXPECT_TRUE(st.isOk()) << st.toString();
  st = db.run("PRAGMA integrity_check", {},
              [&](const internal::Row& r) { t.check += std::string(r.bytes(0)); });
  EXPECT_TRUE(st.isOk()) << st.toString();
  return t;
}

// The database and its WAL copied as they are (no -shm: the copy recovers from the WAL), opened.
Table crashImage(const testutil::TempDir& dir, const std::string& path, const std::string& name) {
  const std::string copy = dir.file(name);
  std::filesystem::copy_file(path, copy);
  std::filesystem::copy_file(path + "-wal", copy + "-wal");
  auto db = testing::openSqliteDbForTest(copy, false);
  EXPECT_TRUE(db.isOk()) << db.status().toString();
  return db.isOk() ? tableOf(*db.value()) : Table{};
}

// One big transaction: `n` rows of 1 KB, then every 7th changed (pages spilled, then rewritten).
core::Status bigTransaction(internal::Db& db, int first, int n) {
  if (auto st = db.begin(true); !st) return st;
  std::vector<internal::Param> p;
  std::vector<std::string> values;
  values.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    values.push_back("value-" + std::string(1, static_cast<char>('A' + i % 26)) +
                     std::string(1000, 'x'));
    p.emplace_back(int64_t{first + i});
    p.emplace_back(values.back());
  }
  if (auto st = db.runMany("INSERT INTO t (k, v) VALUES (?, ?)", 2, p); !st) return st;
  if (auto st = db.run("UPDATE t SET v = 'value-z' || substr(v, 8) WHERE k % 7 = 0 AND k >= ?",
                       std::vector<internal::Param>{internal::Param(int64_t{first})});
      !st) {
    return st;
  }
  return db.commit();
}

}  // namespace vfs_test

void checkSpilledAndRewrittenFrames(bool synchronous_full) {
  testutil::TempDir dir;
  const std::string path = dir.file("spill.db");
  auto opened = testing::openSqliteDbForTest(path, synchronous_full);
  ASSERT_TRUE(opened.isOk()) << opened.status().toString();
  internal::Db& db = *opened.value();
  ASSERT_TRUE(db.execScript("PRAGMA cache_size=16; PRAGMA wal_autocheckpoint=0;"
                            "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
                  .isOk());
  auto st = vfs_test::bigTransaction(db, 0, 3000);
  ASSERT_TRUE(st.isOk()) << st.toString();
  const vfs_test::Table committed = vfs_test::tableOf(db);
  EXPECT_EQ(committed.rows, 3000);
  EXPECT_EQ(committed.check, "ok");
  EXPECT_EQ(vfs_test::crashImage(dir, path, "image1.db"), committed);

  // The same with a write refused on the way (the file size limit): the transaction fails,
  // nothing of it is stored, and the next one goes in.
  struct stat wal {};
  ASSERT_EQ(::stat((path + "-wal").c_str(), &wal), 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(wal.st_size + 200 * 1024);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &low), 0);
  st = vfs_test::bigTransaction(db, 10'000, 3000);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(st.isOk());
  db.rollback();
  EXPECT_EQ(vfs_test::tableOf(db), committed);
  EXPECT_EQ(vfs_test::crashImage(dir, path, "image2.db"), committed);
  st = vfs_test::bigTransaction(db, 20'000, 500);
  ASSERT_TRUE(st.isOk()) << st.toString();
  const vfs_test::Table after = vfs_test::tableOf(db);
  EXPECT_EQ(after.rows, 3500);
  EXPECT_EQ(vfs_test::crashImage(dir, path, "image3.db"), after);
}

TEST(SqliteOnly, SpilledAndRewrittenWalFramesRecoverFromACrashImage) {
  checkSpilledAndRewrittenFrames(false);
}

// The same with synchronous=FULL: SQLite syncs the WAL at each commit (and pads it where the
// file system needs whole sectors written).
TEST(SqliteOnly, SpilledAndRewrittenWalFramesRecoverFromACrashImageWithFullSync) {
  checkSpilledAndRewrittenFrames(true);
}

// Frames a transaction spilled into the WAL before it rolled back are written before its
// write lock goes (the VFS's buffer never outlives it): another writer then commits frames at
// the same offsets, which a late write of the old ones would destroy.
TEST(SqliteOnly, ARolledBackTransactionLeavesNothingToOverwriteAnotherWriters) {
  testutil::TempDir dir;
  const std::string path = dir.file("two.db");
  auto a = testing::openSqliteDbForTest(path, false);
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  ASSERT_TRUE(a.value()
                  ->execScript("PRAGMA cache_size=16; PRAGMA wal_autocheckpoint=0;"
                               "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
                  .isOk());
  auto b = testing::openSqliteDbForTest(path, false);
  ASSERT_TRUE(b.isOk()) << b.status().toString();
  // Everything checkpointed: the next transaction starts the WAL again at its first frame.
  ASSERT_TRUE(b.value()->execScript("PRAGMA wal_checkpoint(TRUNCATE)").isOk());
  internal::Db& da = *a.value();
  ASSERT_TRUE(da.begin(true).isOk());
  std::vector<internal::Param> p;
  const std::string big(1000, 'a');
  for (int i = 0; i < 2000; ++i) {
    p.emplace_back(int64_t{i});
    p.emplace_back(big);
  }
  ASSERT_TRUE(da.runMany("INSERT INTO t (k, v) VALUES (?, ?)", 2, p).isOk());  // spills
  da.rollback();
  auto st = vfs_test::bigTransaction(*b.value(), 100'000, 1000);
  ASSERT_TRUE(st.isOk()) << st.toString();
  const vfs_test::Table committed = vfs_test::tableOf(*b.value());
  EXPECT_EQ(committed.rows, 1000);
  EXPECT_EQ(committed.check, "ok");
  EXPECT_EQ(vfs_test::tableOf(da), committed);  // A reads the WAL again
  EXPECT_EQ(vfs_test::crashImage(dir, path, "image.db"), committed);
  auto c = testing::openSqliteDbForTest(path, false);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(vfs_test::tableOf(*c.value()), committed);
}

TEST(PostgresOnly, AConnectionTheServerDroppedIsReestablished) {
  const char* base = std::getenv("DROSERA_PG_CONNINFO");
  ASSERT_TRUE(base != nullptr && *base != '\0') << "DROSERA_PG_CONNINFO is not set";
  std::random_device rd;
  const std::string schema = "t_conn" + std::to_string(rd());
  ASSERT_TRUE(testing::postgresExecForTest(base, "CREATE SCHEMA " + schema).isOk());
  const std::string conninfo =
      std::string(base) + " options='-c search_path=" + schema + "' application_name=victim";
  {
    auto s = openPostgresStore(PostgresOptions{conninfo});
    ASSERT_TRUE(s.isOk()) << s.status().toString();
    Store& store = *s.value();
    ASSERT_TRUE(store.insert({event("c1", kBase)}).isOk());
    // The server drops every connection of the store (a restart, a failover, an admin).
    ASSERT_TRUE(testing::postgresExecForTest(
                    base, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'victim'")
                    .isOk());
    // The next call may fail (its transaction never started or was lost); one after works.
    auto r = store.insert({event("c2", kBase + 1)});
    if (!r.isOk()) {
      EXPECT_EQ(r.status().code(), core::Status::Code::kUnavailable) << r.status().toString();
      r = store.insert({event("c2", kBase + 1)});
    }
    ASSERT_TRUE(r.isOk()) << r.status().toString();
    EXPECT_EQ(r->inserted, 1u);
    auto all = store.readAfter(0, 10);
    if (!all.isOk()) all = store.readAfter(0, 10);
    ASSERT_TRUE(all.isOk()) << all.status().toString();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ(all.value()[1].seq, 2u);
  }
  EXPECT_FALSE(openPostgresStore(PostgresOptions{"host=127.0.0.1 port=1 connect_timeout=2"}).isOk());
  (void)testing::postgresExecForTest(base, "DROP SCHEMA " + schema + " CASCADE");
}

}  // namespace
}  // namespace drosera::store
