// The file tailer (collector/tailer.h) on real files in a temporary folder, with a real SQLite
// store and a fake clock: rotation (the old file read alongside the new one, left at its end even
// when that end is a partial record), a store that fails at start and mid-pass, bounded buffers
// in both formats, and the counters of what was dropped.
#include "collector/tailer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "collector/collector.h"
#include "collector/parse.h"
#include "fixtures.h"
#include "store/testing.h"

namespace drosera::collector {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000;

// One libmodsecurity v3 JSON record (a real one from tests/data) with its own unique id.
std::string jsonLine(const std::string& unique_id) {
  static const nlohmann::json kTemplate =
      nlohmann::json::parse(testutil::fixtureLines("modsec3_json.log").at(0));
  nlohmann::json r = kTemplate;
  r["transaction"]["unique_id"] = unique_id;
  return r.dump() + "\n";
}

// One native entry (mod_security2 serial format), parts A, B and Z.
std::string nativeEntry(const std::string& boundary, const std::string& unique_id) {
  return "--" + boundary + "-A--\n[30/Nov/2026:14:14:14 +0000] " + unique_id +
         " 192.0.2.7 40000 127.0.0.1 80\n--" + boundary +
         "-B--\nGET /x HTTP/1.1\nHost: shop.example.com\n\n--" + boundary + "-Z--\n\n";
}

void append(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::app) << bytes;
}

// Descriptors of this process open on a deleted file whose name starts with `path`.
int openDeleted(const fs::path& path) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(path.string(), 0) == 0 &&
        target.find("(deleted)") != std::string::npos) {
      ++n;
    }
  }
  return n;
}

class TailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = fs::path(::testing::TempDir()) /
           ("drosera-tailer-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    log_ = dir_ / "audit.log";
    core::Config c;
    c.general.data_dir = (dir_ / "data").string();
    c.collector.listen = "127.0.0.1:0";
    c.collector.sqlite_path = db().string();
    auto col = Collector::create(c);
    ASSERT_TRUE(col) << col.status().message();
    collector_ = std::move(*col);
  }
  void TearDown() override {
    collector_.reset();
    fs::remove_all(dir_);
  }

  fs::path db() const { return dir_ / "store.db"; }

  std::unique_ptr<FileTailer> tailer(const std::string& format = "auto", TailerOptions o = {},
                                     const fs::path& path = {}) {
    core::TailConfig t;
    t.path = (path.empty() ? log_ : path).string();
    t.format = format;
    t.sensor = "t";
    if (!o.now_us) o.now_us = [this] { return clock_us_; };
    return std::make_unique<FileTailer>(t, *collector_, std::move(o));
  }

  static nlohmann::json status(const FileTailer& t) {
    return nlohmann::json::parse(t.statusJson());
  }

  // Polls until a pass handles nothing (at most `max` passes).
  static void drain(FileTailer& t, int max = 10) {
    for (int i = 0; i < max && t.pollOnce() > 0; ++i) {
    }
  }

  std::multiset<std::string> storedIds() {
    std::multiset<std::string> out;
    auto events = collector_->store().readAfter(0, 100000);
    EXPECT_TRUE(events) << events.status().message();
    if (events) {
      for (const auto& e : *events) out.insert(e.event.unique_id);
    }
    return out;
  }

  uint64_t savedOffsetMax() {
    auto offsets = collector_->store().fileOffsets();
    EXPECT_TRUE(offsets) << offsets.status().message();
    uint64_t best = 0;
    if (offsets) {
      for (const auto& o : *offsets) best = std::max(best, o.offset);
    }
    return best;
  }

  void sql(const std::string& statement) {
    auto st = store::testing::sqliteExecForTest(db().string(), statement);
    ASSERT_TRUE(st) << st.message();
  }

  fs::path dir_;
  fs::path log_;
  std::unique_ptr<Collector> collector_;
  int64_t clock_us_ = 1'800'000'000 * kSecond;
};

TEST_F(TailerTest, NativeEntryHelperParses) {
  auto e = parseV2Native(nativeEntry("ab12cd34", "n-1"), ParseContext{});
  ASSERT_TRUE(e) << e.status().message();
  EXPECT_EQ(e->unique_id, "n-1");
}

// Fix: a rotated file that ends in a partial record was never left (nothing after it read).
TEST_F(TailerTest, RotatedFileEndingInAPartialLineIsLeftAndCounted) {
  const std::string partial = jsonLine("a-3").substr(0, 40);  // a full disk cut it
  append(log_, jsonLine("a-1") + jsonLine("a-2") + partial);
  {
    auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
    drain(*t);
    fs::rename(log_, log_.string() + ".1");
    append(log_, jsonLine("b-1"));
    drain(*t);
    EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1"}));
    EXPECT_FALSE(status(*t)["rotated_offset"].is_null());  // still read: it may still grow
    clock_us_ += 11 * kSecond;
    t->pollOnce();
    auto st = status(*t);
    EXPECT_TRUE(st["rotated_offset"].is_null()) << st;
    EXPECT_EQ(st["rejected"], 1) << st;
    EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), partial.size()) << st;
    EXPECT_EQ(savedOffsetMax(), fs::file_size(log_.string() + ".1"));  // its end, committed
  }
  // A restart does not go back to it; the new file goes on where it was.
  append(log_, jsonLine("b-2"));
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  auto st = status(*t);
  EXPECT_TRUE(st["rotated_offset"].is_null()) << st;
  EXPECT_EQ(st["rejected"], 0) << st;
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1", "b-2"}));
  EXPECT_EQ(collector_->stats().duplicates.load(), 0u);
}

// A rotated file whose last JSON record lacks only its newline: the record is stored when the
// file is left, not counted as rejected (it used to be).
TEST_F(TailerTest, ARecordLackingOnlyItsNewlineIsStoredWhenItsFileIsLeft) {
  std::string last = jsonLine("a-2");
  last.pop_back();  // the newline
  append(log_, jsonLine("a-1") + last);
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1"}));  // it may still be written
  fs::rename(log_, log_.string() + ".1");
  append(log_, jsonLine("b-1"));
  drain(*t);
  clock_us_ += 11 * kSecond;
  t->pollOnce();
  auto st = status(*t);
  EXPECT_TRUE(st["rotated_offset"].is_null()) << st;
  EXPECT_EQ(st["rejected"], 0) << st;
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), 0u) << st;
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1"}));
  EXPECT_EQ(savedOffsetMax(), fs::file_size(log_.string() + ".1"));
  // A restart stores nothing twice.
  t.reset();
  auto again = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*again);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1"}));
}

// Fix: after a restart the tailer went back to the rotated file with a partial end, for ever.
TEST_F(TailerTest, RestartReadsARotatedFileWithAPartialEndAlongsideAndLeavesIt) {
  const std::string partial = jsonLine("a-2").substr(0, 40);
  append(log_, jsonLine("a-1") + partial);
  drain(*tailer("auto", {.rotation_grace_us = 10 * kSecond}));
  fs::rename(log_, log_.string() + ".1");  // rotated while the collector was down
  append(log_, jsonLine("b-1"));
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "b-1"}));
  EXPECT_FALSE(status(*t)["rotated_offset"].is_null());
  clock_us_ += 11 * kSecond;
  t->pollOnce();
  auto st = status(*t);
  EXPECT_TRUE(st["rotated_offset"].is_null()) << st;
  EXPECT_EQ(st["rejected"], 1) << st;
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), partial.size()) << st;
  EXPECT_EQ(collector_->stats().duplicates.load(), 0u);
}

// Fix: the same for a deleted native log whose writer died mid entry; its descriptor is closed.
TEST_F(TailerTest, DeletedNativeFileEndingInATornEntryIsClosed) {
  const std::string torn = nativeEntry("0badf00d", "n-2").substr(0, 90);
  append(log_, nativeEntry("0badf00d", "n-1") + torn);
  auto t = tailer("modsec2-native", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  fs::remove(log_);
  append(log_, nativeEntry("5eed5eed", "n-3"));
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"n-1", "n-3"}));
  EXPECT_EQ(openDeleted(log_), 1);
  clock_us_ += 11 * kSecond;
  t->pollOnce();
  EXPECT_EQ(openDeleted(log_), 0);  // its space is freed
  auto st = status(*t);
  EXPECT_EQ(st["rejected"], 1) << st;
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), torn.size()) << st;
}

// Fix: the complete entries after a torn one (its writer died) were held until 16 MiB more came,
// and rejected with it when its file was left. A torn entry is known once no writer can still be
// writing it: its file has been quiet (10 s) or is left, or its boundary starts a later entry.
TEST_F(TailerTest, EntriesAfterATornOneAreStoredOnceItsFileIsQuietOrLeft) {
  // Cut in its B marker line: the next writer's A marker goes on at the end of that line.
  const std::string torn = nativeEntry("0badf00d", "n-1").substr(0, 90);
  append(log_, torn + nativeEntry("11112222", "n-2") + nativeEntry("33334444", "n-3"));
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  EXPECT_TRUE(storedIds().empty());  // a writer may be in the middle of n-1: wait
  clock_us_ += 9 * kSecond;
  drain(*t);
  EXPECT_TRUE(storedIds().empty());
  clock_us_ += 1 * kSecond;
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"n-2", "n-3"}));
  auto st = status(*t);
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), torn.size()) << st;
  EXPECT_EQ(st["offset"], fs::file_size(log_)) << st;
}

// Fix: the last A marker in a quiet file was taken for the start of an entry still being
// written, though it was in the request body of the last, complete one: that entry was lost and
// the forged entry in its body stored.
TEST_F(TailerTest, AQuietFileEndingInAnEntryWithAForgedOneInItsBodyStoresThatEntry) {
  const std::string torn = nativeEntry("0badf00d", "n-1").substr(0, 90);
  std::string last = nativeEntry("33334444", "n-3");
  last.insert(last.find("--33334444-Z--"),
              "--33334444-C--\na=" + nativeEntry("ffff9999", "forged") + "\n");
  append(log_, torn + nativeEntry("11112222", "n-2") + last);
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  EXPECT_TRUE(storedIds().empty());
  clock_us_ += 10 * kSecond;
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"n-2", "n-3"}));
  auto st = status(*t);
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), torn.size()) << st;
  EXPECT_EQ(st["offset"], fs::file_size(log_)) << st;
}

TEST_F(TailerTest, EntriesAfterATornOneAreStoredWhenItsRotatedFileIsLeft) {
  // The file rotated before it was quiet for long (the reviewer's case), and left after the
  // grace: what it held is split one last time, and only the torn entry is rejected.
  const std::string torn = nativeEntry("0badf00d", "n-1").substr(0, 90);
  append(log_, torn + nativeEntry("11112222", "n-2") + nativeEntry("33334444", "n-3"));
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond, .torn_entry_quiet_us = 60 * kSecond});
  drain(*t);
  EXPECT_TRUE(storedIds().empty());
  fs::rename(log_, log_.string() + ".1");
  append(log_, nativeEntry("55556666", "n-4"));
  drain(*t);
  EXPECT_EQ(storedIds(), std::multiset<std::string>{"n-4"});
  clock_us_ += 11 * kSecond;
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"n-2", "n-3", "n-4"}));
  auto st = status(*t);
  EXPECT_TRUE(st["rotated_offset"].is_null()) << st;
  EXPECT_EQ(st["rejected"], 1) << st;
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), torn.size()) << st;
  EXPECT_EQ(savedOffsetMax(), fs::file_size(log_.string() + ".1"));
}

TEST_F(TailerTest, ATornEntrysBoundaryStartingALaterEntrySkipsOnlyTheTornOne) {
  // It used to skip everything up to that later entry.
  const std::string torn = nativeEntry("aaaa1111", "u-1").substr(0, 90);
  append(log_, torn + nativeEntry("bbbb2222", "u-2") + nativeEntry("cccc3333", "u-3") +
                   nativeEntry("aaaa1111", "u-4"));
  auto t = tailer("modsec2-native");
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"u-2", "u-3", "u-4"}));
  EXPECT_EQ(status(*t).value("skipped_bytes", uint64_t{0}), torn.size()) << t->statusJson();
}

// Fix: a store error while reading the saved positions made the tailer start over from byte 0.
TEST_F(TailerTest, StoreErrorAtStartIsRetriedWithoutReading) {
  append(log_, jsonLine("a-1") + jsonLine("a-2") + jsonLine("a-3"));
  drain(*tailer());
  ASSERT_EQ(storedIds().size(), 3u);
  append(log_, jsonLine("a-4"));
  sql("ALTER TABLE file_offsets RENAME TO file_offsets_away");
  auto t = tailer();
  EXPECT_EQ(t->pollOnce(), 0u);
  EXPECT_EQ(t->pollOnce(), 0u);
  auto st = status(*t);
  EXPECT_NE(st["last_error"].get<std::string>().find("saved positions"), std::string::npos) << st;
  EXPECT_EQ(st["offset"], 0);
  EXPECT_EQ(collector_->stats().store_errors.load(), 0u);  // nothing was read, nothing written
  sql("ALTER TABLE file_offsets_away RENAME TO file_offsets");
  drain(*t);
  st = status(*t);
  EXPECT_EQ(st["events"], 1) << st;
  EXPECT_EQ(st["offset"], fs::file_size(log_)) << st;
  EXPECT_EQ(collector_->stats().duplicates.load(), 0u);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "a-3", "a-4"}));
}

// Fix: with a 3 s grace, writes to the renamed file after it were lost, and the new file was
// not read until the grace had passed.
TEST_F(TailerTest, LateWritesToTheRenamedFileAreReadWhileTheNewOneIs) {
  append(log_, jsonLine("a-1"));
  auto t = tailer();  // the default grace
  drain(*t);
  fs::rename(log_, log_.string() + ".1");
  append(log_, jsonLine("b-1"));
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "b-1"}));  // at once
  clock_us_ += 10 * kSecond;  // more than the old 3 s grace, nothing written
  drain(*t);
  EXPECT_FALSE(status(*t)["rotated_offset"].is_null());
  clock_us_ += 20 * kSecond;  // an old Apache child finishes a slow request
  append(log_.string() + ".1", jsonLine("a-2"));
  append(log_, jsonLine("b-2"));
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1", "b-2"}));
  clock_us_ += 59 * kSecond;
  t->pollOnce();
  EXPECT_FALSE(status(*t)["rotated_offset"].is_null());
  clock_us_ += 2 * kSecond;  // quiet for a minute: left
  t->pollOnce();
  EXPECT_TRUE(status(*t)["rotated_offset"].is_null());
  EXPECT_EQ(status(*t)["rejected"], 0);
}

// Bounded: a second rotation finishes the oldest file without waiting for its grace.
TEST_F(TailerTest, SecondRotationLeavesTheOldestFile) {
  const std::string one = log_.string() + ".1", two = log_.string() + ".2";
  append(log_, jsonLine("a-1"));
  auto t = tailer();
  drain(*t);
  fs::rename(log_, one);
  append(log_, jsonLine("b-1"));
  drain(*t);
  fs::rename(one, two);
  fs::rename(log_, one);
  append(log_, jsonLine("c-1"));
  drain(*t);
  append(one, jsonLine("b-2"));  // one generation old: still read
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "b-1", "b-2", "c-1"}));
  EXPECT_EQ(status(*t)["rotated_offset"], fs::file_size(one));
  EXPECT_EQ(status(*t)["offset"], fs::file_size(log_));
}

// Fix: a restart read only one rotated file, so a file rotated away whole while the collector
// was down (two rotations) was never read. Now every file left is read, oldest first; rotated
// files from before the one read last are history and stay unread, and so are files whose
// names are not rotations of the log.
TEST_F(TailerTest, RestartAfterTwoRotationsReadsEveryFileLeftOldestFirst) {
  const std::string one = log_.string() + ".1", two = log_.string() + ".2";
  const std::string history = log_.string() + ".9";
  append(history, jsonLine("z-1"));  // rotated long before drosera read this log
  fs::last_write_time(history, fs::file_time_type::clock::now() - std::chrono::hours(24));
  append(log_, jsonLine("a-1"));
  drain(*tailer("auto", {.rotation_grace_us = 10 * kSecond}));
  // Down: the file read last gets more, then two rotations.
  append(log_, jsonLine("a-2"));
  fs::rename(log_, one);
  append(log_, jsonLine("b-1") + jsonLine("b-2"));
  fs::rename(one, two);
  fs::rename(log_, one);
  append(log_, jsonLine("c-1"));
  // Not rotations of this log: a copy kept by hand, another site's log.
  append(log_.string() + ".bak", jsonLine("y-1"));
  append(log_.string() + "-site2", jsonLine("y-2"));
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  std::vector<std::string> in_order;  // by seq: the oldest file's records first
  auto stored = collector_->store().readAfter(0, 100);
  ASSERT_TRUE(stored) << stored.status().message();
  for (const auto& e : *stored) in_order.push_back(e.event.unique_id);
  EXPECT_EQ(in_order, (std::vector<std::string>{"a-1", "a-2", "b-1", "b-2", "c-1"}));
  EXPECT_EQ(status(*t)["rotated_backlog"], 0);
  EXPECT_EQ(status(*t)["rotated_offset"], fs::file_size(one));
  clock_us_ += 11 * kSecond;
  drain(*t);
  EXPECT_TRUE(status(*t)["rotated_offset"].is_null());
  // Another restart reads nothing again.
  t.reset();
  auto again = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*again);
  EXPECT_EQ(storedIds().size(), 5u);
  EXPECT_EQ(collector_->stats().duplicates.load(), 0u);
  EXPECT_EQ(status(*again)["rotated_backlog"], 0);
}

// Fix: files rotated away while the collector was down and last written at the same time
// (copied back with their times: a restore, an rsync) were taken in directory order. By name:
// .5 before .4 ... before .1. The older ones are the backlog, each read to its end, the oldest
// first; the newest is read as the file rotated last, beside the file at the path.
TEST_F(TailerTest, RestartTakesRotatedFilesOfTheSameTimeByRotationCount) {
  append(log_, jsonLine("a-1"));
  drain(*tailer("auto", {.rotation_grace_us = 10 * kSecond}));
  // Down: six rotations; the file read last is .6 now.
  append(log_, jsonLine("a-2"));
  fs::rename(log_, log_.string() + ".6");
  for (int n = 5; n >= 1; --n) {
    append(log_.string() + "." + std::to_string(n), jsonLine("r" + std::to_string(n)));
  }
  append(log_, jsonLine("d-1"));
  const auto when = fs::file_time_type::clock::now();
  for (int n = 1; n <= 6; ++n) fs::last_write_time(log_.string() + "." + std::to_string(n), when);
  auto t = tailer("auto", {.rotation_grace_us = 10 * kSecond});
  drain(*t);
  auto stored = collector_->store().readAfter(0, 100);
  ASSERT_TRUE(stored) << stored.status().message();
  std::vector<std::string> backlog;  // in store order, the records of the files before .1
  for (const auto& e : *stored) {
    if (e.event.unique_id != "r1" && e.event.unique_id != "d-1") {
      backlog.push_back(e.event.unique_id);
    }
  }
  EXPECT_EQ(backlog, (std::vector<std::string>{"a-1", "a-2", "r5", "r4", "r3", "r2"}));
  EXPECT_EQ(stored->size(), 8u);
  EXPECT_EQ(status(*t)["rotated_offset"], fs::file_size(log_.string() + ".1"));
}

// Fix: copytruncate while the collector was down lost the records written after its last
// save: they are only in the copy, a new file without a saved position. The copy is read from
// its start; what was stored already is a duplicate.
TEST_F(TailerTest, RestartReadsTheCopyOfALogTruncatedWhileDown) {
  clock_us_ = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count() -
              10 * kSecond;  // the saves happen before the copy is written, as in life
  const fs::path history = log_.string() + ".5";
  append(history, jsonLine("z-1"));
  fs::last_write_time(history, fs::file_time_type::clock::now() - std::chrono::hours(24));
  append(log_, jsonLine("a-1"));
  drain(*tailer());
  append(log_, jsonLine("a-2"));
  fs::copy_file(log_, log_.string() + ".1");
  fs::resize_file(log_, 0);
  append(log_, "\n" + jsonLine("b-1"));  // its first bytes differ: seen as truncated
  auto t = tailer();
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"a-1", "a-2", "b-1"}));
  EXPECT_EQ(collector_->stats().duplicates.load(), 1u);
}

// Fix: in native mode a run of bytes without a newline grew the buffer without limit.
TEST_F(TailerTest, NativeRunWithoutNewlineIsSkippedPastTheBound) {
  const std::string first = nativeEntry("0badf00d", "n-1");
  append(log_, first + std::string(10000, 'x'));
  auto t = tailer("modsec2-native", {.max_record_bytes = 4096});
  for (int i = 0; i < 3; ++i) t->pollOnce();
  auto st = status(*t);
  EXPECT_EQ(st["offset"], first.size() + 10000) << st;  // nothing held any more
  EXPECT_EQ(st.value("skipped_bytes", uint64_t{0}), 10000u) << st;
  append(log_, "\n" + nativeEntry("0badf00d", "n-2"));
  drain(*t);
  EXPECT_EQ(storedIds(), (std::multiset<std::string>{"n-1", "n-2"}));
}

// Fix: bytes dropped (junk between native entries, an over-long line) were not counted.
TEST_F(TailerTest, SkippedBytesAreCounted) {
  append(log_, jsonLine("a-1") + std::string(5000, 'y'));
  auto lines = tailer("auto", {.max_record_bytes = 4096});
  for (int i = 0; i < 3; ++i) lines->pollOnce();
  EXPECT_EQ(status(*lines).value("skipped_bytes", uint64_t{0}), 5000u) << lines->statusJson();
  EXPECT_EQ(status(*lines)["offset"], fs::file_size(log_));

  const fs::path native = dir_ / "native.log";
  const std::string junk = "not an entry\n";
  append(native, nativeEntry("0badf00d", "n-1") + junk + nativeEntry("0badf00d", "n-2"));
  auto entries = tailer("modsec2-native", {}, native);
  drain(*entries);
  EXPECT_EQ(status(*entries).value("skipped_bytes", uint64_t{0}), junk.size())
      << entries->statusJson();
  EXPECT_EQ(status(*entries)["events"], 2);
}

// Fix: a pass whose second batch failed counted its rejected records again when read again, and
// read again the batch already committed.
TEST_F(TailerTest, FailedBatchIsNotCountedTwice) {
  std::string text;
  for (int i = 0; i < 600; ++i) {
    if (i == 10 || i == 20 || i == 550) text += "{\"not\": \"a record\"}\n";
    text += jsonLine("l-" + std::to_string(i));
  }
  append(log_, text);
  const std::string end = std::to_string(text.size());
  sql("CREATE TRIGGER fail_i BEFORE INSERT ON file_offsets WHEN NEW.byte_offset = " + end +
      " BEGIN SELECT RAISE(ABORT, 'injected'); END;"
      "CREATE TRIGGER fail_u BEFORE UPDATE ON file_offsets WHEN NEW.byte_offset = " +
      end + " BEGIN SELECT RAISE(ABORT, 'injected'); END;");
  auto t = tailer();
  t->pollOnce();
  auto st = status(*t);
  EXPECT_EQ(st["events"], 500) << st;  // the first batch
  EXPECT_EQ(st["rejected"], 2) << st;  // the rejected records it held
  EXPECT_NE(st["last_error"].get<std::string>().find("injected"), std::string::npos) << st;
  sql("DROP TRIGGER fail_i; DROP TRIGGER fail_u;");
  drain(*t);
  st = status(*t);
  EXPECT_EQ(st["events"], 600) << st;
  EXPECT_EQ(st["rejected"], 3) << st;
  EXPECT_EQ(st["offset"], text.size()) << st;
  EXPECT_EQ(collector_->stats().duplicates.load(), 0u);
  EXPECT_EQ(storedIds().size(), 600u);
}

// Fix: statusJson() read the offset that the polling thread wrote, without a lock (run it under
// ThreadSanitizer to see the race).
TEST_F(TailerTest, StatusIsReadWhileThePollingThreadRuns) {
  auto t = tailer();
  t->start();
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) (void)t->statusJson();
  });
  for (int i = 0; i < 50; ++i) {
    append(log_, jsonLine("a-" + std::to_string(i)));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int i = 0; i < 200 && status(*t)["events"] != 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  done = true;
  reader.join();
  t->stop();
  EXPECT_EQ(status(*t)["events"], 50);
  EXPECT_EQ(status(*t)["offset"], fs::file_size(log_));
}

}  // namespace
}  // namespace drosera::collector
