// The inspection pool: journal-backed queue, ordering, overflow to disk, restart, backlog cap.
#include "sensor/inspection_pool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <new>
#include <thread>

namespace drosera::sensor {
namespace {

class FakeInspector : public engine::Inspector {
 public:
  explicit FakeInspector(int delay_us = 0) : delay_us_(delay_us) {}
  core::Verdict inspect(const core::Capture& c) override {
    if (delay_us_) std::this_thread::sleep_for(std::chrono::microseconds(delay_us_));
    core::Verdict v;
    v.inspected = true;
    if (c.request.target.find("attack") != std::string::npos) {
      core::RuleMatch m;
      m.id = 942100;
      v.matches.push_back(m);
    }
    ++calls;
    return v;
  }
  std::string producer() const override { return "fake"; }
  std::vector<std::string> components() const override { return {}; }
  std::string ruleEngineState() const override { return "DetectionOnly"; }
  std::atomic<int> calls{0};

 private:
  int delay_us_;
};

struct Recorder {
  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<uint64_t> seqs;
  std::atomic<int> fail_first{0};
  bool write(const core::Capture& c, const core::Verdict&, int64_t) {
    if (fail_first.load() > 0) {
      --fail_first;
      return false;
    }
    std::lock_guard lock(mu);
    ids.push_back(c.unique_id);
    seqs.push_back(c.seq);
    return true;
  }
};

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drosera-pool-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<InspectionPool> makePool(engine::Inspector& insp, Recorder& rec,
                                           PoolOptions o = {}) {
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    EXPECT_TRUE(j.isOk()) << j.status().message();
    return std::make_unique<InspectionPool>(
        insp, std::move(*j), o,
        [&rec](const core::Capture& c, const core::Verdict& v, int64_t t) {
          return rec.write(c, v, t);
        },
        nullptr);
  }

  static core::Capture capture(int i, size_t body = 100) {
    core::Capture c;
    c.unique_id = "id-" + std::to_string(i);
    c.request.method = "GET";
    c.request.target = i % 7 == 0 ? "/attack?" + std::to_string(i) : "/page/" + std::to_string(i);
    c.request.version = "1.1";
    c.raw = std::string(body, 'x');
    c.received_us = 1;
    return c;
  }

  static void waitFor(const std::function<bool()>& done, int seconds = 20) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::string dir_;
};

TEST_F(PoolTest, EveryCaptureIsInspectedOnceInJournalOrder) {
  FakeInspector insp;
  Recorder rec;
  auto pool = makePool(insp, rec);
  pool->start();
  std::string why;
  for (int i = 0; i < 500; ++i) {
    auto c = capture(i);
    ASSERT_TRUE(pool->submit(c, &why)) << why;
  }
  waitFor([&] { return pool->stats().inspected == 500; });
  pool->stop(5);
  ASSERT_EQ(rec.ids.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(rec.ids[i], "id-" + std::to_string(i));
  for (size_t i = 1; i < rec.seqs.size(); ++i) EXPECT_EQ(rec.seqs[i], rec.seqs[i - 1] + 1);
}

class JitterInspector : public FakeInspector {
 public:
  core::Verdict inspect(const core::Capture& c) override {
    // Uneven engine times: later captures often finish first.
    std::this_thread::sleep_for(std::chrono::microseconds((c.unique_id.size() * 7919 + c.seq * 104729) % 3000));
    return FakeInspector::inspect(c);
  }
};

TEST_F(PoolTest, EventsAreWrittenInJournalOrderWhateverFinishesFirst) {
  JitterInspector insp;
  Recorder rec;
  PoolOptions o;
  o.threads = 4;
  auto pool = makePool(insp, rec, o);
  pool->start();
  std::string why;
  for (int i = 0; i < 400; ++i) {
    auto c = capture(i);
    ASSERT_TRUE(pool->submit(c, &why));
  }
  waitFor([&] { return pool->stats().inspected == 400; }, 60);
  pool->stop(5);
  ASSERT_EQ(rec.seqs.size(), 400u);
  for (size_t i = 1; i < rec.seqs.size(); ++i) ASSERT_LT(rec.seqs[i - 1], rec.seqs[i]) << i;
}

TEST_F(PoolTest, BurstLargerThanTheMemoryQueueIsReadBackFromDisk) {
  FakeInspector insp(200);
  Recorder rec;
  PoolOptions o;
  o.queue_max_items = 8;
  auto pool = makePool(insp, rec, o);
  pool->start();
  std::string why;
  for (int i = 0; i < 1000; ++i) {
    auto c = capture(i, 300);
    ASSERT_TRUE(pool->submit(c, &why)) << why;
  }
  EXPECT_GT(pool->stats().backlog, 8u);  // the burst outran the memory queue
  EXPECT_LE(pool->stats().queued_memory, 8u);
  waitFor([&] { return pool->stats().inspected == 1000; }, 60);
  pool->stop(5);
  ASSERT_EQ(rec.ids.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(rec.ids[i], "id-" + std::to_string(i));
  EXPECT_EQ(pool->stats().backlog, 0u);
}

TEST_F(PoolTest, WhatIsLeftAtStopIsInspectedAfterRestartExactlyOnce) {
  Recorder rec;
  {
    FakeInspector slow(2000);
    PoolOptions o;
    o.queue_max_items = 4;
    auto pool = makePool(slow, rec, o);
    pool->start();
    std::string why;
    for (int i = 0; i < 300; ++i) {
      auto c = capture(i);
      ASSERT_TRUE(pool->submit(c, &why));
    }
    pool->stop(0);  // no drain: most captures stay in the journal
    EXPECT_LT(rec.ids.size(), 300u);
  }
  FakeInspector fast;
  auto pool = makePool(fast, rec);
  pool->start();
  waitFor([&] {
    std::lock_guard lock(rec.mu);
    return rec.ids.size() >= 300;
  });
  pool->stop(5);
  ASSERT_EQ(rec.ids.size(), 300u);
  std::vector<std::string> sorted = rec.ids;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "duplicates";
}

TEST_F(PoolTest, CapturesJournaledButNeverCheckpointedAreRedoneAfterACrash) {
  Recorder rec;
  {
    // A pool that never ran (as if killed before inspecting): only the journal holds them.
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    ASSERT_TRUE(j.isOk());
    FakeInspector insp;
    InspectionPool pool(insp, std::move(*j), {}, [&](auto& c, auto& v, int64_t t) {
      return rec.write(c, v, t);
    }, nullptr);
    std::string why;
    for (int i = 0; i < 50; ++i) {
      auto c = capture(i);
      ASSERT_TRUE(pool.submit(c, &why));
    }
  }
  EXPECT_TRUE(rec.ids.empty());
  FakeInspector insp;
  auto pool = makePool(insp, rec);
  pool->start();
  waitFor([&] { return pool->stats().inspected == 50; });
  pool->stop(5);
  EXPECT_EQ(rec.ids.size(), 50u);
}

TEST_F(PoolTest, BacklogCapRejectsInsteadOfGrowing) {
  FakeInspector insp;
  Recorder rec;
  PoolOptions o;
  o.backlog_max_bytes = 4096;
  auto pool = makePool(insp, rec, o);  // not started: nothing drains
  std::string why;
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 100; ++i) {
    auto c = capture(i, 500);
    if (pool->submit(c, &why)) {
      ++accepted;
    } else {
      ++rejected;
      EXPECT_EQ(why, "backlog_full");
      EXPECT_EQ(c.unique_id, "id-" + std::to_string(i)) << "a rejected capture is left intact";
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
  EXPECT_EQ(pool->stats().rejected_backlog_full, static_cast<uint64_t>(rejected));
}

// The event log could not be made durable (fdatasync failed): the journal must not forget the
// captures behind those events; a later sync that works lets the checkpoint go on.
TEST_F(PoolTest, NoCheckpointPastEventsThatCouldNotBeSynced) {
  FakeInspector insp;
  Recorder rec;
  std::atomic<bool> sync_ok{false};
  uint64_t checkpoint_after_failed_sync = 0;
  uint64_t first = 0;  // the checkpoint of an empty journal
  {
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    ASSERT_TRUE(j.isOk());
    first = (*j)->checkpointSeq();
  }
  {
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    ASSERT_TRUE(j.isOk());
    InspectionPool pool(insp, std::move(*j), {},
                        [&](auto& c, auto& v, int64_t t) { return rec.write(c, v, t); },
                        [&] { return sync_ok.load(); });
    pool.start();
    std::string why;
    for (int i = 0; i < 20; ++i) {
      auto c = capture(i);
      ASSERT_TRUE(pool.submit(c, &why));
    }
    waitFor([&] { return pool.stats().inspected == 20; });
    pool.checkpointNow();
    EXPECT_GT(pool.stats().journal_errors, 0u);
    pool.stop(5);
  }
  {
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    ASSERT_TRUE(j.isOk());
    checkpoint_after_failed_sync = (*j)->checkpointSeq();
  }
  EXPECT_EQ(checkpoint_after_failed_sync, first);  // all 20 are inspected again after a restart
  sync_ok = true;
  {
    auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
    ASSERT_TRUE(j.isOk());
    InspectionPool pool(insp, std::move(*j), {},
                        [&](auto& c, auto& v, int64_t t) { return rec.write(c, v, t); },
                        [&] { return sync_ok.load(); });
    pool.start();
    waitFor([&] { return pool.stats().inspected == 20; });
    pool.stop(5);
  }
  auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
  ASSERT_TRUE(j.isOk());
  EXPECT_EQ((*j)->checkpointSeq(), first + 20);
}

TEST_F(PoolTest, EventWriteFailuresAreRetriedNotDropped) {
  FakeInspector insp;
  Recorder rec;
  rec.fail_first = 5;
  auto pool = makePool(insp, rec);
  pool->start();
  std::string why;
  for (int i = 0; i < 20; ++i) {
    auto c = capture(i);
    ASSERT_TRUE(pool->submit(c, &why));
  }
  waitFor([&] { return pool->stats().inspected == 20; });
  pool->stop(5);
  EXPECT_EQ(rec.ids.size(), 20u);
  EXPECT_EQ(rec.fail_first.load(), 0);
}

// The engine out of memory (libmodsecurity throws std::bad_alloc): before, the exception ended
// the process. A capture whose inspection runs out is tried again (memory comes back: it is
// inspected), or after a few tries written uninspected; the captures behind it are not held up
// for ever, and none is lost. Writing the event running out counts as a failed write (retried).
class OutOfMemoryInspector : public FakeInspector {
 public:
  core::Verdict inspect(const core::Capture& c) override {
    if (c.unique_id == "id-3" && fail_id3.load() > 0) {
      --fail_id3;
      throw std::bad_alloc();
    }
    if (c.unique_id == "id-5") throw std::bad_alloc();  // always
    return FakeInspector::inspect(c);
  }
  std::atomic<int> fail_id3{2};
};

TEST_F(PoolTest, AnEngineOutOfMemoryIsRetriedThenWrittenUninspectedNothingLost) {
  OutOfMemoryInspector insp;
  Recorder rec;
  std::mutex mu;
  std::map<std::string, bool> inspected;
  int throw_writes = 1;
  auto j = CaptureJournal::open({dir_ + "/journal", 1 << 16});
  ASSERT_TRUE(j.isOk()) << j.status().message();
  auto pool = std::make_unique<InspectionPool>(
      insp, std::move(*j), PoolOptions{},
      [&](const core::Capture& c, const core::Verdict& v, int64_t t) {
        std::lock_guard lock(mu);
        if (c.unique_id == "id-7" && throw_writes-- > 0) throw std::bad_alloc();
        inspected[c.unique_id] = v.inspected;
        return rec.write(c, v, t);
      },
      nullptr);
  pool->start();
  std::string why;
  for (int i = 0; i < 10; ++i) {
    auto c = capture(i);
    ASSERT_TRUE(pool->submit(c, &why)) << why;
  }
  waitFor([&] { return pool->stats().inspected == 10; });
  const PoolStats st = pool->stats();
  pool->stop(5);
  ASSERT_EQ(rec.ids.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rec.ids[i], "id-" + std::to_string(i));
  EXPECT_TRUE(inspected["id-3"]);   // the third try had memory
  EXPECT_FALSE(inspected["id-5"]);  // never: written uninspected (engine_error)
  EXPECT_TRUE(inspected["id-7"]);   // its first write ran out, the retry wrote it
  EXPECT_EQ(st.engine_gave_up, 1u);
  EXPECT_EQ(st.out_of_memory, 2u + 4u + 1u);
}

}  // namespace
}  // namespace drosera::sensor
