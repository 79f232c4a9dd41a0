// The _bulk output against a local server that answers like Elasticsearch (fake_elasticsearch.h):
// every stored event ends up indexed exactly once whatever the server does (per-item 201/409/400/
// 429/503, whole-request 429/503/413/400/401, answers slower than the client's timeout) and
// across a restart of the output in the middle of the stream.
#include "ecs/bulk_output.h"

#include <gtest/gtest.h>

#include <atomic>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/base64.h"
#include "ecs_validator.h"
#include "fake_elasticsearch.h"
#include "test_support.h"

namespace drosera::ecs {
namespace {

using nlohmann::json;
using testing::FakeElasticsearch;
using testing::MemStore;

EcsBulkConfig fastConfig(const FakeElasticsearch& es) {
  EcsBulkConfig c;
  c.enabled = true;
  c.url = es.url();
  c.batch_docs = 50;
  c.flush_interval_s = 0.05;
  c.poll_interval_s = 0.02;
  c.timeout_s = 2;
  c.connect_timeout_s = 1;
  c.backoff_initial_s = 0.01;
  c.backoff_max_s = 0.05;
  c.auth_pause_s = 0.05;
  c.auth = "none";
  return c;
}

bool waitUntil(const std::function<bool()>& done, double seconds = 20) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Inserts events u<from>..u<to-1> (mixed kinds, two UTC days).
void insertEvents(MemStore& store, int from, int to) {
  std::vector<core::Event> batch;
  for (int n = from; n < to; ++n) {
    core::Event e = n % 3 == 0   ? testing::sqliEvent(n)
                    : n % 7 == 0 ? testing::trapEvent(n, "robots")
                                 : testing::benignEvent(n);
    e.unique_id = "u" + std::to_string(n);
    e.time_us = testing::kBaseTimeUs + int64_t{n} * 600 * 1000000;  // 10 minutes apart
    batch.push_back(std::move(e));
  }
  ASSERT_TRUE(store.insert(batch));
}

std::unique_ptr<BulkOutput> makeOutput(MemStore& store, const EcsBulkConfig& c) {
  auto out = BulkOutput::create(store, c, EcsMapper());
  EXPECT_TRUE(out) << out.status().toString();
  return out ? std::move(*out) : nullptr;
}

// Every event u<from>..u<to-1> is indexed once, in the index of its day.
void expectIndexedOnce(const FakeElasticsearch& es, int from, int to,
                       const std::set<int>& except = {}) {
  const auto docs = es.docs();
  size_t expected = 0;
  for (int n = from; n < to; ++n) {
    const std::string id = "sensor-a:u" + std::to_string(n);
    if (except.count(n)) {
      EXPECT_EQ(docs.count(id), 0u) << id;
      continue;
    }
    ++expected;
    auto it = docs.find(id);
    ASSERT_NE(it, docs.end()) << id << " was not indexed";
    EXPECT_EQ(it->second.index,
              indexName("drosera-%Y.%m.%d", testing::kBaseTimeUs + int64_t{n} * 600 * 1000000));
  }
  EXPECT_EQ(docs.size(), expected);
}

TEST(BulkOutput, IndexesEveryEventOnceAfterInstallingTheTemplate) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 230);
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  // More events later: the output picks them up (woken, or by polling).
  insertEvents(store, 230, 260);
  out->wake();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();

  expectIndexedOnce(es, 0, 260);
  const auto st = out->stats();
  EXPECT_EQ(st.created, 260u);
  EXPECT_EQ(st.duplicates, 0u);
  EXPECT_EQ(st.dead_lettered, 0u);
  EXPECT_TRUE(st.template_installed);
  EXPECT_TRUE(st.healthy);
  EXPECT_EQ(*store.cursor("ecs-bulk"), store.lastSeq());
  EXPECT_GE(es.bulkRequests(), 6u);  // 50 per request

  const auto log = es.requestLog();
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[0], "GET /");
  EXPECT_EQ(log[1], "PUT /_index_template/drosera");
  EXPECT_EQ(log[2].rfind("POST /_bulk?filter_path=", 0), 0u);
  const json tpl = json::parse(es.templateBody());
  EXPECT_EQ(tpl["index_patterns"], json::array({"drosera-*"}));
  EXPECT_EQ(tpl["template"]["mappings"]["properties"]["source"]["properties"]["ip"]["type"], "ip");
  EXPECT_TRUE(es.sawGzip());
  EXPECT_FALSE(es.sawPlain());

  // What Elasticsearch received is ECS.
  const testing::EcsSchema schema(DROSERA_SHARED_DIR "/ecs/fields.csv");
  ASSERT_TRUE(schema.ok());
  for (const auto& [id, doc] : es.docs()) {
    const auto errors = schema.validate(json::parse(doc.source));
    EXPECT_TRUE(errors.empty()) << id << ": " << ::testing::PrintToString(errors);
  }
}

TEST(BulkOutput, PerItemOutcomes) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 120);
  // Already indexed before (a resend after a lost answer): 409, counted as done.
  for (int n : {4, 50, 51}) es.preload("sensor-a:u" + std::to_string(n), "drosera-2026.11.28");
  es.setItemHook([](const std::string& id, int attempt) {
    if (id == "sensor-a:u17" || id == "sensor-a:u77") return 400;  // mapping error: for good
    if (id == "sensor-a:u3" && attempt == 1) return 429;
    if (id == "sensor-a:u13" && attempt <= 3) return 503;
    if (id == "sensor-a:u99" && attempt <= 2) return 500;
    return 0;
  });
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();

  const auto docs = es.docs();
  for (int n = 0; n < 120; ++n) {
    const std::string id = "sensor-a:u" + std::to_string(n);
    if (n == 17 || n == 77) {
      EXPECT_EQ(docs.count(id), 0u);
    } else {
      EXPECT_EQ(docs.count(id), 1u) << id;
    }
  }
  const auto st = out->stats();
  EXPECT_EQ(st.duplicates, 3u);
  EXPECT_EQ(st.created, 120u - 3u - 2u);
  EXPECT_EQ(st.dead_lettered, 2u);
  EXPECT_EQ(st.item_retries, 1u + 3u + 2u);
  EXPECT_EQ(es.attempts()["sensor-a:u13"], 4);
  EXPECT_EQ(es.attempts()["sensor-a:u17"], 1);  // never sent again

  const auto dead = store.stateIn("ecs-dead-letter");
  ASSERT_EQ(dead.size(), 2u);
  const json d = json::parse(dead.at("sensor-a:u17"));
  EXPECT_EQ(d["status"], 400);
  EXPECT_EQ(d["error"]["type"], "mapper_parsing_exception");
  EXPECT_EQ(d["seq"], 18);  // u17 is the 18th event stored
  EXPECT_EQ(d["index"], "drosera-2026.11.28");
  EXPECT_TRUE(testing::EcsSchema::isIsoDate(d["time"].get<std::string>()));

  // The cursor never passed an unfinished item: it only grew.
  const auto history = store.cursorHistory("ecs-bulk");
  ASSERT_FALSE(history.empty());
  EXPECT_TRUE(std::is_sorted(history.begin(), history.end()));
  EXPECT_EQ(history.back(), store.lastSeq());
}

// A document the cluster keeps failing with 5xx while others go in beside it is dead-lettered
// after 16 such failures, so that it does not hold the stream for ever. A failure while nothing
// goes in (the cluster down, or the document sent alone) is not counted: when every document
// fails alike, and then the cluster recovers unevenly, nothing is dead-lettered.
TEST(BulkOutput, APoisonDocumentIsDeadLetteredAClusterOutageIsNot) {
  {
    FakeElasticsearch es;
    MemStore store;
    insertEvents(store, 0, 30);
    es.setItemHook([](const std::string& id, int) { return id == "sensor-a:u5" ? 500 : 0; });
    // The window (batch_docs) holds the finished documents behind u5 until it is finished: room
    // for the new ones to ride along.
    EcsBulkConfig c = fastConfig(es);
    c.batch_docs = 500;
    auto out = makeOutput(store, c);
    ASSERT_TRUE(out);
    out->start();
    // New events keep coming, and go in beside it.
    int next = 30;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out->stats().dead_lettered == 0 && std::chrono::steady_clock::now() < deadline) {
      insertEvents(store, next, next + 1);
      ++next;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
    out->stop();
    EXPECT_GE(es.attempts()["sensor-a:u5"], 16);
    EXPECT_EQ(out->stats().dead_lettered, 1u);
    EXPECT_EQ(out->stats().created, static_cast<uint64_t>(next - 1));
    const auto dead = store.stateIn("ecs-dead-letter");
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(json::parse(dead.at("sensor-a:u5"))["status"], 500);
  }
  {
    // Everything fails 20 times; then u5 fails twice more after the others went in.
    FakeElasticsearch es;
    MemStore store;
    insertEvents(store, 0, 30);
    es.setItemHook([](const std::string& id, int attempt) {
      if (attempt <= 20) return 503;
      return id == "sensor-a:u5" && attempt <= 22 ? 500 : 0;
    });
    auto out = makeOutput(store, fastConfig(es));
    ASSERT_TRUE(out);
    out->start();
    ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
    out->stop();
    EXPECT_EQ(es.attempts()["sensor-a:u5"], 23);
    EXPECT_EQ(out->stats().dead_lettered, 0u);
    EXPECT_EQ(out->stats().created, 30u);
    EXPECT_TRUE(store.stateIn("ecs-dead-letter").empty());
  }
}

// Inserts events u<from>..u<to-1>, one second apart from `time_us` on.
void insertEventsAt(MemStore& store, int from, int to, int64_t time_us) {
  std::vector<core::Event> batch;
  for (int n = from; n < to; ++n) {
    core::Event e = testing::benignEvent(n);
    e.unique_id = "u" + std::to_string(n);
    e.time_us = time_us + int64_t{n - from} * 1000000;
    batch.push_back(std::move(e));
  }
  ASSERT_TRUE(store.insert(batch));
}

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Per-item refusals of the index the stream writes to now (403 privileges that do not cover
// today's index): sent again until they stop, however long, never dead-lettered, the output
// unhealthy.
TEST(BulkOutput, RefusalsOfTodaysIndexAreRetriedNotDeadLettered) {
  FakeElasticsearch es;
  MemStore store;
  insertEventsAt(store, 0, 30, nowUs());
  std::atomic<bool> refuse{true};
  es.setItemHook([&](const std::string&, int) { return refuse.load() ? 403 : 0; });
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  // Well past the 16 refusals after which another index's documents are dead-lettered.
  ASSERT_TRUE(waitUntil([&] { return out->stats().index_refusals >= 30u * 20; }));
  EXPECT_FALSE(out->stats().healthy);
  EXPECT_EQ(out->stats().dead_lettered, 0u);
  EXPECT_NE(out->stats().last_error.find("403"), std::string::npos) << out->stats().last_error;
  EXPECT_EQ(out->stats().refused_indices.size(), 1u);
  EXPECT_EQ(out->stats().cursor, 0u);
  refuse = false;  // the operator fixed the role
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  EXPECT_EQ(es.docs().size(), 30u);
  EXPECT_EQ(out->stats().dead_lettered, 0u);
  EXPECT_TRUE(out->stats().healthy);
  EXPECT_TRUE(out->stats().refused_indices.empty());
  EXPECT_TRUE(store.stateIn("ecs-dead-letter").empty());
}

// One document refused for good for its index's reason (an old daily index ILM made read-only:
// 403 cluster_block_exception) among 200: the others are indexed while it waits, it is
// dead-lettered after 16 refusals, the cursor passes it.
TEST(BulkOutput, ADocumentItsIndexRefusesForGoodIsDeadLetteredWithoutHoldingTheOthers) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 200);  // late events: their days are past
  const std::string blocked = "sensor-a:u3";
  const std::string reason =
      "index [drosera-2026.11.28] blocked by: [FORBIDDEN/8/index write (api)];";
  std::atomic<int> first_sends{0};
  std::atomic<int> sent_before_last_refusal{-1};
  es.setItemErrorHook([&](const std::string& id, const std::string&, int attempt) {
    FakeElasticsearch::ItemError e;
    if (attempt == 1) ++first_sends;
    if (id != blocked) return e;
    if (attempt == 16) sent_before_last_refusal = first_sends.load();
    return FakeElasticsearch::ItemError{403, "cluster_block_exception", reason};
  });
  EcsBulkConfig c = fastConfig(es);
  c.flush_interval_s = 0;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();

  expectIndexedOnce(es, 0, 200, {3});
  EXPECT_EQ(es.attempts()[blocked], 16);
  EXPECT_EQ(sent_before_last_refusal.load(), 200) << "the others waited for it";
  const auto st = out->stats();
  EXPECT_EQ(st.created, 199u);
  EXPECT_EQ(st.dead_lettered, 1u);
  EXPECT_EQ(st.index_refusals, 16u);
  EXPECT_TRUE(st.healthy);
  // Listed until it refused nothing for 16 times backoff_max_s.
  EXPECT_LE(st.refused_indices.size(), 1u);
  EXPECT_NE(st.last_error.find("cluster_block_exception"), std::string::npos) << st.last_error;
  const auto dead = store.stateIn("ecs-dead-letter");
  ASSERT_EQ(dead.size(), 1u);
  const json d = json::parse(dead.at(blocked));
  EXPECT_EQ(d["status"], 403);
  EXPECT_EQ(d["seq"], 4);
  EXPECT_EQ(d["error"]["type"], "cluster_block_exception");
  EXPECT_NE(d["error"]["reason"].get<std::string>().find("FORBIDDEN/8"), std::string::npos);
  const auto history = store.cursorHistory("ecs-bulk");
  EXPECT_TRUE(std::is_sorted(history.begin(), history.end()));
  EXPECT_EQ(*store.cursor("ecs-bulk"), store.lastSeq());
}

// A backlog larger than the window for an old index that refuses everything (read-only after
// ILM's rollover): dead-lettered after 16 refusals, one record each, the rest of it at its first
// refusal; today's events behind it are indexed.
TEST(BulkOutput, ABacklogForAReadOnlyOldIndexDoesNotStallTheStream) {
  FakeElasticsearch es;
  MemStore store;
  const int64_t today = nowUs();
  const int64_t old_day = today - int64_t{5} * 86400 * 1000000;
  const std::string old_index = indexName("drosera-%Y.%m.%d", old_day);
  insertEventsAt(store, 0, 130, old_day);
  insertEventsAt(store, 130, 150, today);
  es.setItemErrorHook([&](const std::string&, const std::string& index, int) {
    if (index != old_index) return FakeElasticsearch::ItemError{};
    return FakeElasticsearch::ItemError{
        403, "cluster_block_exception",
        "index [" + index + "] blocked by: [FORBIDDEN/8/index write (api)];"};
  });
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  EXPECT_EQ(es.docCount(), 20u);
  const auto st = out->stats();
  EXPECT_EQ(st.dead_lettered, 130u);
  EXPECT_EQ(store.stateIn("ecs-dead-letter").size(), 130u);
  EXPECT_EQ(json::parse(store.stateIn("ecs-dead-letter").at("sensor-a:u0"))["error"]["type"],
            "cluster_block_exception");
  EXPECT_EQ(es.attempts()["sensor-a:u0"], 16);
  EXPECT_EQ(es.attempts()["sensor-a:u129"], 1);
}

// The shard limit refuses to create indices for a while (a 400 validation_exception that is not
// the documents' fault): nothing is dead-lettered, everything is indexed once it clears. Today's
// index waits as long as it takes, while yesterday's late events go in beside it.
TEST(BulkOutput, AShardLimitThatClearsDeadLettersNothing) {
  FakeElasticsearch es;
  MemStore store;
  const int64_t today = nowUs();
  const std::string todays = indexName("drosera-%Y.%m.%d", today);
  const std::string older = indexName("drosera-%Y.%m.%d", today - int64_t{2} * 86400 * 1000000);
  insertEventsAt(store, 0, 20, today - int64_t{86400} * 1000000);
  insertEventsAt(store, 20, 40, today);
  insertEventsAt(store, 40, 60, today - int64_t{2} * 86400 * 1000000);
  std::atomic<int> today_refusals{0};
  std::atomic<int> old_refusals{0};
  es.setItemErrorHook([&](const std::string& id, const std::string& index, int attempt) {
    const FakeElasticsearch::ItemError limit{
        400, "validation_exception",
        "Validation Failed: 1: this action would add [2] shards, but this cluster currently has "
        "[1000]/[1000] maximum normal shards open;"};
    // Today's index: refused in its first 24 requests; the one of two days ago: in its first 5.
    if (index == todays && attempt <= 24) {
      if (id == "sensor-a:u20") ++today_refusals;
      return limit;
    }
    if (index == older && attempt <= 5) {
      if (id == "sensor-a:u40") ++old_refusals;
      return limit;
    }
    return FakeElasticsearch::ItemError{};
  });
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  EXPECT_EQ(today_refusals.load(), 24);
  EXPECT_EQ(old_refusals.load(), 5);
  EXPECT_EQ(es.docCount(), 60u);
  const auto st = out->stats();
  EXPECT_EQ(st.dead_lettered, 0u);
  EXPECT_EQ(st.created, 60u);
  EXPECT_TRUE(st.healthy);
  EXPECT_TRUE(store.stateIn("ecs-dead-letter").empty());
}

// A refusal of the whole stream (the role lost its write privilege, a cluster-wide block) that
// lasts past 16 requests: yesterday's backlog waits with today's events instead of being
// dead-lettered (its refusals counted while today's index was refused too). At midnight the
// index that was today's would otherwise lose its backlog the same way.
TEST(BulkOutput, AWholeStreamRefusalDeadLettersNoBacklog) {
  FakeElasticsearch es;
  MemStore store;
  const int64_t today = nowUs();
  insertEventsAt(store, 0, 20, today - int64_t{86400} * 1000000);
  insertEventsAt(store, 20, 40, today);
  std::atomic<int> refusals{0};
  es.setItemErrorHook([&](const std::string& id, const std::string& index, int attempt) {
    if (attempt > 24) return FakeElasticsearch::ItemError{};
    if (id == "sensor-a:u0") ++refusals;
    return FakeElasticsearch::ItemError{
        403, "security_exception",
        "action [indices:data/write/bulk[s]] is unauthorized for user [drosera] on indices [" +
            index + "]"};
  });
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  EXPECT_EQ(refusals.load(), 24);
  EXPECT_EQ(es.docCount(), 40u);
  EXPECT_EQ(out->stats().dead_lettered, 0u);
  EXPECT_TRUE(store.stateIn("ecs-dead-letter").empty());
}

TEST(BulkOutput, CursorStopsBeforeTheFirstUnfinishedItem) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 10);
  es.setItemHook([](const std::string& id, int attempt) {
    return id == "sensor-a:u2" && attempt <= 2 ? 503 : 0;
  });
  EcsBulkConfig c = fastConfig(es);
  c.flush_interval_s = 0;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->step();  // template + the first request: u0, u1 done; u2 again; u3..u9 done
  EXPECT_EQ(es.docCount(), 9u);
  EXPECT_EQ(out->stats().cursor, 2u);  // seq 2 is u1
  EXPECT_EQ(*store.cursor("ecs-bulk"), 2u);
  out->step();  // u2 again: 503 again
  EXPECT_EQ(*store.cursor("ecs-bulk"), 2u);
  out->step();  // u2 indexed: the cursor jumps over everything done meanwhile
  EXPECT_EQ(*store.cursor("ecs-bulk"), 10u);
  EXPECT_EQ(es.docCount(), 10u);
  EXPECT_EQ(es.attempts()["sensor-a:u3"], 1);  // done items are not sent again
}

TEST(BulkOutput, WholeRequestErrorsAreRetriedWithBackoff) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 80);
  es.answerNextBulks({429, 503, 503, 502, 500, 429});
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  const auto t0 = std::chrono::steady_clock::now();
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  expectIndexedOnce(es, 0, 80);
  const auto st = out->stats();
  EXPECT_EQ(st.failed_requests, 6u);
  EXPECT_TRUE(st.healthy);
  EXPECT_EQ(st.duplicates, 0u);
  // Six backoffs of at least half of 10, 20, 40, 50, 50, 50 ms.
  EXPECT_GE(took, 0.1);
}

TEST(BulkOutput, AnswersSlowerThanTheTimeoutAreResentAndCountedAsDuplicates) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 100);
  es.setSlowAnswers(2, 1500);  // indexed, but answered after the client gave up
  EcsBulkConfig c = fastConfig(es);
  c.timeout_s = 0.3;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  expectIndexedOnce(es, 0, 100);
  const auto st = out->stats();
  EXPECT_GE(st.failed_requests, 2u);
  EXPECT_GE(st.duplicates, 50u);  // at least the first batch came back as 409
  EXPECT_EQ(st.created + st.duplicates, 100u);
  EXPECT_GE(es.conflicts(), st.duplicates);  // the second attempt was answered late as well
}

TEST(BulkOutput, RestartMidwayIndexesEveryEventExactlyOnce) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 200);
  EcsBulkConfig c = fastConfig(es);
  c.batch_docs = 40;
  c.timeout_s = 0.5;
  es.setSlowAnswers(1000, 100);  // slow enough to stop the output in the middle of the stream
  {
    auto first = makeOutput(store, c);
    ASSERT_TRUE(first);
    first->start();
    ASSERT_TRUE(waitUntil([&] { return es.docCount() >= 80; }));
    // From now on Elasticsearch indexes but answers too late: the collector is stopped while a
    // request is in flight, as a crash or a restart would.
    es.setSlowAnswers(1000, 3000);
    const size_t requests = es.bulkRequests();
    ASSERT_TRUE(waitUntil([&] { return es.bulkRequests() > requests; }));
    first.reset();
  }
  const uint64_t cursor = *store.cursor("ecs-bulk");
  EXPECT_LT(cursor, store.lastSeq());
  EXPECT_GT(es.docCount(), cursor) << "the in-flight batch was indexed, not acknowledged";

  // Events keep arriving while no output runs; then Elasticsearch is down for a while.
  insertEvents(store, 200, 260);
  es.setSlowAnswers(0, 0);
  es.answerNextBulks({503, 503, 503, 503});
  auto second = makeOutput(store, c);
  ASSERT_TRUE(second);
  second->start();
  insertEvents(store, 260, 300);
  second->wake();
  ASSERT_TRUE(waitUntil([&] { return second->stats().cursor == store.lastSeq(); }));
  second->stop();

  expectIndexedOnce(es, 0, 300);
  const auto st = second->stats();
  EXPECT_GE(st.duplicates, 1u) << "the batch in flight at the restart came back as 409";
  EXPECT_EQ(st.created + st.duplicates, store.lastSeq() - cursor);
  EXPECT_EQ(es.conflicts(), st.duplicates);
  EXPECT_EQ(*store.cursor("ecs-bulk"), store.lastSeq());
}

TEST(BulkOutput, TooLargeBatchesAreSplitAndAHugeDocumentDeadLettered) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 60);
  core::Event huge = testing::benignEvent(60);
  huge.unique_id = "u60";
  huge.time_us = testing::kBaseTimeUs + int64_t{60} * 600 * 1000000;
  huge.user_agent = std::string(300000, 'U');
  ASSERT_TRUE(store.insert({huge}));
  insertEvents(store, 61, 70);
  es.setMaxBodyBytes(100000);  // about 40 ordinary documents
  EcsBulkConfig c = fastConfig(es);
  c.batch_docs = 70;
  c.compress = false;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  expectIndexedOnce(es, 0, 70, {60});
  const auto st = out->stats();
  EXPECT_GE(st.splits, 2u);
  EXPECT_EQ(st.dead_lettered, 1u);
  const json d = json::parse(store.stateIn("ecs-dead-letter").at("sensor-a:u60"));
  EXPECT_EQ(d["status"], 413);
  EXPECT_TRUE(es.sawPlain());
}

TEST(BulkOutput, AWholeRequest400IsBisectedToTheBadDocument) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 30);
  core::Event bad = testing::benignEvent(30);
  bad.unique_id = "u30";
  bad.time_us = testing::kBaseTimeUs + int64_t{30} * 600 * 1000000;
  bad.user_agent = "POISON";
  ASSERT_TRUE(store.insert({bad}));
  insertEvents(store, 31, 45);
  es.refuseBodiesWith("POISON");
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  expectIndexedOnce(es, 0, 45, {30});
  EXPECT_EQ(out->stats().dead_lettered, 1u);
  EXPECT_EQ(json::parse(store.stateIn("ecs-dead-letter").at("sensor-a:u30"))["status"], 400);
}

TEST(BulkOutput, AnEndpointRefusingEverythingDoesNotEmptyTheStreamIntoDeadLetters) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 40);
  es.refuseBodiesWith("{");  // every request: 400, as a wrong proxy path might answer
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().failed_requests >= 5; }));
  out->stop();
  const auto st = out->stats();
  EXPECT_LE(st.dead_lettered, 1u);
  EXPECT_FALSE(st.healthy);
  EXPECT_LE(*store.cursor("ecs-bulk"), 1u);
  EXPECT_EQ(es.docCount(), 0u);
}

TEST(BulkOutput, RefusedCredentialsPauseUntilTheSecretIsFixed) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 20);
  const std::string key_file =
      ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-drosera_es_key";
  { std::ofstream(key_file) << "key-id:wrong-secret\n"; }
  es.requireAuthorization("ApiKey " + core::base64Encode("key-id:right-secret"));
  EcsBulkConfig c = fastConfig(es);
  c.auth = "api_key";
  c.api_key_env.clear();
  c.api_key_file = key_file;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().auth_failed; }));
  EXPECT_FALSE(out->stats().healthy);
  EXPECT_EQ(es.docCount(), 0u);
  EXPECT_EQ(out->stats().last_error.find("wrong-secret"), std::string::npos);
  { std::ofstream(key_file) << "key-id:right-secret\n"; }  // the operator fixes the file
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  expectIndexedOnce(es, 0, 20);
  EXPECT_FALSE(out->stats().auth_failed);
  EXPECT_TRUE(out->stats().healthy);
  std::remove(key_file.c_str());
}

TEST(BulkOutput, SendsBasicCredentialsFromAFile) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 5);
  const std::string pw_file =
      ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-drosera_es_pw";
  { std::ofstream(pw_file) << "s3cret pass\r\n"; }
  const std::string expected = "Basic " + core::base64Encode("elastic:s3cret pass");
  es.requireAuthorization(expected);
  EcsBulkConfig c = fastConfig(es);
  c.auth = "basic";
  c.username = "elastic";
  c.password_env.clear();
  c.password_file = pw_file;
  c.flavor = "elasticsearch";  // no GET /
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  for (const auto& a : es.authorizations()) EXPECT_EQ(a, expected);
  EXPECT_EQ(es.requestLog().front(), "PUT /_index_template/drosera");
  std::remove(pw_file.c_str());
}

TEST(BulkOutput, OpenSearchGetsATemplateItUnderstands) {
  FakeElasticsearch es;
  es.pretendOpenSearch(true);
  MemStore store;
  insertEvents(store, 0, 3);
  EcsBulkConfig c = fastConfig(es);
  c.index = "honeypot-%Y.%m";
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  out->stop();
  const std::string tpl = es.templateBody();
  EXPECT_EQ(tpl.find("\"wildcard\""), std::string::npos);
  EXPECT_EQ(tpl.find("match_only_text"), std::string::npos);
  EXPECT_EQ(json::parse(tpl)["index_patterns"], json::array({"honeypot-*"}));
  EXPECT_EQ(es.docs().at("sensor-a:u0").index, "honeypot-2026.11");
}

TEST(BulkOutput, StoreFailuresAreRetried) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 120);
  store.failNextReads(3);
  store.failNextSetCursor(2);
  auto out = makeOutput(store, fastConfig(es));
  ASSERT_TRUE(out);
  out->start();
  ASSERT_TRUE(waitUntil([&] { return *store.cursor("ecs-bulk") == store.lastSeq(); }));
  out->stop();
  expectIndexedOnce(es, 0, 120);
  EXPECT_EQ(out->stats().duplicates, 0u);
}

TEST(BulkOutput, APartialBatchWaitsForTheFlushInterval) {
  FakeElasticsearch es;
  MemStore store;
  insertEvents(store, 0, 5);
  EcsBulkConfig c = fastConfig(es);
  c.batch_docs = 1000;
  c.flush_interval_s = 0.3;
  auto out = makeOutput(store, c);
  ASSERT_TRUE(out);
  const auto t0 = std::chrono::steady_clock::now();
  out->start();
  ASSERT_TRUE(waitUntil([&] { return out->stats().cursor == store.lastSeq(); }));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out->stop();
  EXPECT_GE(took, 0.25);
  EXPECT_EQ(es.bulkRequests(), 1u);
}

TEST(BulkOutput, ConfigurationMistakesAreRefusedAtCreate) {
  MemStore store;
  EcsBulkConfig c;
  auto bad = [&](const std::function<void(EcsBulkConfig&)>& change) {
    EcsBulkConfig x = c;
    change(x);
    return !BulkOutput::create(store, x, EcsMapper());
  };
  EXPECT_FALSE(bad([](EcsBulkConfig&) {}));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.url = "ftp://es:9200"; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.url = "https://elastic:pw@es:9200"; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.index = "Drosera-%Y"; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) {
    x.data_stream = true;
    x.index = "logs-x-%Y";
  }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.batch_docs = 0; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.flavor = "solr"; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.auth = "token"; }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) {
    x.auth = "basic";
    x.username = "elastic";
    x.password_env = "DROSERA_TEST_SURELY_UNSET_VARIABLE";
  }));
  EXPECT_TRUE(bad([](EcsBulkConfig& x) { x.template_file = "/nonexistent/template.json"; }));
  const std::string not_json =
      ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-drosera_bad_template.json";
  { std::ofstream(not_json) << "{\"index_patterns\": ["; }
  EXPECT_TRUE(bad([&](EcsBulkConfig& x) { x.template_file = not_json; }));
  std::remove(not_json.c_str());
}

}  // namespace
}  // namespace drosera::ecs
