// The outputs on the real SQLite store (not the in-memory test store): cursors and dead letters
// persist in the database, and a restart of both outputs midway indexes / writes every event once.
#ifdef DROSERA_ECS_HAVE_STORE_LIB

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "ecs/bulk_output.h"
#include "ecs/ndjson_output.h"
#include "fake_elasticsearch.h"
#include "store/store.h"
#include "store/testing.h"
#include "test_support.h"

namespace drosera::ecs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool waitUntil(const std::function<bool()>& done, double seconds = 20) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

std::vector<core::Event> events(int from, int to) {
  std::vector<core::Event> v;
  for (int n = from; n < to; ++n) {
    core::Event e = n % 4 == 0 ? testing::sqliEvent(n) : testing::benignEvent(n);
    e.unique_id = "u" + std::to_string(n);
    e.raw_record = "{\"transaction\":{\"unique_id\":\"u" + std::to_string(n) + "\"}}";
    v.push_back(std::move(e));
  }
  return v;
}

TEST(EcsOnSqliteStore, BulkAndNdjsonOutputsSurviveARestart) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("drosera-ecs-sqlite-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  store::SqliteOptions so;
  so.path = (dir / "drosera.db").string();
  testing::FakeElasticsearch es;
  es.setItemHook([](const std::string& id, int) { return id == "sensor-a:u33" ? 400 : 0; });

  EcsBulkConfig bc;
  bc.url = es.url();
  bc.batch_docs = 25;
  bc.flush_interval_s = 0.02;
  bc.poll_interval_s = 0.02;
  bc.timeout_s = 0.4;
  bc.backoff_initial_s = 0.01;
  bc.backoff_max_s = 0.05;
  EcsNdjsonConfig nc;
  nc.path = (dir / "ecs" / "ecs.ndjson").string();
  nc.batch = 25;
  nc.rotate_bytes = 20000;

  {
    auto st = store::openSqliteStore(so);
    ASSERT_TRUE(st) << st.status().toString();
    store::Store& store = **st;
    ASSERT_TRUE(store.insert(events(0, 150)));
    es.setSlowAnswers(1000, 60);
    auto bulk = BulkOutput::create(store, bc, EcsMapper());
    ASSERT_TRUE(bulk) << bulk.status().toString();
    auto nd = NdjsonOutput::open(store, nc, EcsMapper());
    ASSERT_TRUE(nd) << nd.status().toString();
    (*bulk)->start();
    ASSERT_TRUE((*nd)->writeBatch());
    ASSERT_TRUE((*nd)->writeBatch());
    ASSERT_TRUE(waitUntil([&] { return es.docCount() >= 50; }));
    es.setSlowAnswers(1000, 2000);  // the next batch is indexed but its answer is lost
    const size_t requests = es.bulkRequests();
    ASSERT_TRUE(waitUntil([&] { return es.bulkRequests() > requests; }));
  }  // outputs stopped, store closed: the process went away

  auto st = store::openSqliteStore(so);
  ASSERT_TRUE(st) << st.status().toString();
  store::Store& store = **st;
  const uint64_t bulk_cursor = *store.cursor("ecs-bulk");
  EXPECT_GT(es.docCount(), bulk_cursor);
  EXPECT_EQ(*store.cursor("ecs-ndjson"), 50u);
  ASSERT_TRUE(store.insert(events(150, 200)));
  es.setSlowAnswers(0, 0);
  auto bulk = BulkOutput::create(store, bc, EcsMapper());
  ASSERT_TRUE(bulk);
  auto nd = NdjsonOutput::open(store, nc, EcsMapper());
  ASSERT_TRUE(nd);
  (*bulk)->start();
  (*nd)->start();
  ASSERT_TRUE(
      waitUntil([&] { return (*bulk)->stats().cursor == 200 && (*nd)->stats().cursor == 200; }));
  (*bulk)->stop();
  (*nd)->stop();

  const auto docs = es.docs();
  EXPECT_EQ(docs.size(), 199u);
  for (int n = 0; n < 200; ++n) {
    EXPECT_EQ(docs.count("sensor-a:u" + std::to_string(n)), n == 33 ? 0u : 1u) << n;
  }
  EXPECT_GE((*bulk)->stats().duplicates, 1u);
  auto dead = store.getState("ecs-dead-letter", "sensor-a:u33");
  ASSERT_TRUE(dead);
  ASSERT_TRUE(dead->has_value());
  EXPECT_EQ(json::parse(**dead)["status"], 400);

  // The NDJSON files hold each event once, in order.
  std::vector<std::pair<uint64_t, fs::path>> files;
  for (const auto& e : fs::directory_iterator(dir / "ecs")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ecs.ndjson.", 0) == 0) files.push_back({std::stoull(name.substr(11)), e});
  }
  std::sort(files.begin(), files.end());
  files.push_back({0, nc.path});
  uint64_t expect = 1;
  for (const auto& [n, f] : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      EXPECT_EQ(json::parse(line)["event"]["sequence"], expect);
      ++expect;
    }
  }
  EXPECT_EQ(expect, 201u);
  fs::remove_all(dir);
}

// Events that retention deleted before an output read them are counted (seqs are dense, so the
// gap says how many), not passed over in silence; so are damaged ones, which the store leaves
// out (an output used to fail on such an event for ever).
TEST(EcsOnSqliteStore, EventsDeletedOrDamagedBeforeTheyWereReadAreCounted) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("drosera-ecs-missed-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  store::SqliteOptions so;
  so.path = (dir / "drosera.db").string();
  auto st = store::openSqliteStore(so);
  ASSERT_TRUE(st) << st.status().toString();
  store::Store& store = **st;
  ASSERT_TRUE(store.insert(events(0, 30)));
  testing::FakeElasticsearch es;
  EcsBulkConfig bc;
  bc.url = es.url();
  bc.batch_docs = 10;
  bc.flush_interval_s = 0.02;
  bc.poll_interval_s = 0.02;
  EcsNdjsonConfig nc;
  nc.path = (dir / "ecs" / "ecs.ndjson").string();
  nc.batch = 10;
  auto nd = NdjsonOutput::open(store, nc, EcsMapper());
  ASSERT_TRUE(nd) << nd.status().toString();
  ASSERT_TRUE((*nd)->writeBatch());  // seqs 1..10 written
  // Retention takes the 12 oldest (seqs 1..12) before anything else was read.
  auto r = store.applyRetention(testing::kBaseTimeUs + 12 * 1000, 0);
  ASSERT_TRUE(r) << r.status().toString();
  ASSERT_EQ(r->deleted, 12u);
  // Two bodies damaged behind the store's back.
  ASSERT_TRUE(store::testing::sqliteExecForTest(
      so.path, "UPDATE event_bodies SET body = X'01FF00' WHERE seq IN (15, 25, 29, 30)"));
  ASSERT_TRUE((*nd)->writeBatch());
  EXPECT_EQ((*nd)->stats().missed, 3u);  // 11, 12 and 15
  EXPECT_EQ((*nd)->stats().written, 20u);
  EXPECT_EQ((*nd)->stats().cursor, 23u);
  auto bulk = BulkOutput::create(store, bc, EcsMapper());
  ASSERT_TRUE(bulk) << bulk.status().toString();
  (*bulk)->start();
  ASSERT_TRUE(waitUntil([&] { return (*bulk)->stats().cursor == 30; }));
  (*bulk)->stop();
  EXPECT_EQ((*bulk)->stats().missed, 16u);  // it started at seq 0
  EXPECT_EQ(es.docCount(), 14u);
  // The last rows are damaged: the outputs move past them all the same.
  ASSERT_TRUE((*nd)->writeBatch());  // 24, 26, 27, 28: and past 29 and 30
  EXPECT_EQ((*nd)->stats().cursor, 30u);
  EXPECT_EQ((*nd)->stats().written, 24u);
  EXPECT_EQ((*nd)->stats().missed, 6u);  // 11, 12, 15, 25, 29, 30
  auto nd_cursor = store.cursor(nc.cursor_name);
  ASSERT_TRUE(nd_cursor);
  EXPECT_EQ(*nd_cursor, 30u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace drosera::ecs

#endif  // DROSERA_ECS_HAVE_STORE_LIB
