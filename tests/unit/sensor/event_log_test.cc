// The event log: whole lines, rotation by size into <path>.<n> with numbering that continues
// across restarts, keep_files, a torn last line cut off at open, and concurrent appenders.
#include "sensor/event_log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace drosera::sensor {
namespace {

namespace fs = std::filesystem;
using testutil::readFile;
using testutil::TempDir;
using testutil::writeFile;

std::unique_ptr<EventLog> openLog(const std::string& path, uint64_t rotate_bytes = 64ull << 20,
                                  uint64_t keep_files = 20,
                                  FsyncPolicy fsync = FsyncPolicy::kNever) {
  EventLog::Options o;
  o.path = path;
  o.rotate_bytes = rotate_bytes;
  o.keep_files = keep_files;
  o.fsync = fsync;
  auto r = EventLog::open(o);
  EXPECT_TRUE(r.isOk()) << r.status().toString();
  if (!r.isOk()) return nullptr;
  return std::move(r).value();
}

std::set<std::string> filesIn(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// A line of exactly `n` bytes (without the newline), recognisable by its number.
std::string lineOf(int number, size_t n) {
  std::string s = "{\"n\":" + std::to_string(number) + "}";
  s.resize(n, ' ');
  return s;
}

TEST(EventLog, AppendWritesLines) {
  TempDir t;
  const std::string path = t.path() + "/events/sub/event.log";  // folders are created
  auto log = openLog(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->path(), path);
  ASSERT_TRUE(log->append("{\"a\":1}").isOk());
  ASSERT_TRUE(log->append("{\"b\":2}").isOk());
  ASSERT_TRUE(log->append("").isOk());
  EXPECT_EQ(readFile(path), "{\"a\":1}\n{\"b\":2}\n\n");
  EXPECT_EQ(log->stats().lines.load(), 3u);
  EXPECT_EQ(log->stats().bytes.load(), 8u + 8u + 1u);
  EXPECT_EQ(log->stats().write_errors.load(), 0u);
  EXPECT_EQ(log->stats().rotations.load(), 0u);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(EventLog, AppendsToAnExistingFile) {
  TempDir t;
  const std::string path = t.file("event.log");
  writeFile(path, "old\n");
  auto log = openLog(path);
  ASSERT_TRUE(log->append("new").isOk());
  EXPECT_EQ(readFile(path), "old\nnew\n");
}

TEST(EventLog, ATornLastLineIsCutOffOnOpen) {
  // A run that died mid-line left a fragment. Ended with a newline (as before), the fragment
  // became a line of its own that the shipper sent and the collector rejected; its event is
  // written again from the capture journal anyway. (An earlier regression: the log was opened
  // O_WRONLY, so reading its last byte failed and the next event was glued onto the fragment.)
  TempDir t;
  const std::string path = t.file("event.log");
  writeFile(path, "{\"complete\":1}\n{\"torn\":");
  auto log = openLog(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(readFile(path), "{\"complete\":1}\n");
  ASSERT_TRUE(log->append("{\"next\":2}").isOk());
  EXPECT_EQ(readFile(path), "{\"complete\":1}\n{\"next\":2}\n");
}

TEST(EventLog, AFileThatIsOneTornLineIsEmptiedOnOpen) {
  TempDir t;
  const std::string path = t.file("event.log");
  writeFile(path, std::string(10000, 'x'));  // longer than one read back from the end
  auto log = openLog(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(readFile(path), "");
  ASSERT_TRUE(log->append("{\"next\":2}").isOk());
  EXPECT_EQ(readFile(path), "{\"next\":2}\n");
}

TEST(EventLog, FileEndingInNewlineOrEmptyIsLeftAlone) {
  TempDir t;
  writeFile(t.file("a.log"), "x\n");
  writeFile(t.file("b.log"), "");
  { auto a = openLog(t.file("a.log")); auto b = openLog(t.file("b.log")); }
  EXPECT_EQ(readFile(t.file("a.log")), "x\n");
  EXPECT_EQ(readFile(t.file("b.log")), "");
}

TEST(EventLog, RotatesAtRotateBytes) {
  TempDir t;
  const std::string path = t.file("event.log");
  // 30-byte lines take 31 bytes with the newline: three fit in 100 bytes, a fourth rotates.
  auto log = openLog(path, 100);
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(log->append(lineOf(i, 30)).isOk()) << i;
  EXPECT_EQ(filesIn(t.path()),
            (std::set<std::string>{"event.log", "event.log.1", "event.log.2", "event.log.3"}));
  EXPECT_EQ(linesOf(readFile(path + ".1")),
            (std::vector<std::string>{lineOf(1, 30), lineOf(2, 30), lineOf(3, 30)}));
  EXPECT_EQ(linesOf(readFile(path + ".2")),
            (std::vector<std::string>{lineOf(4, 30), lineOf(5, 30), lineOf(6, 30)}));
  EXPECT_EQ(linesOf(readFile(path + ".3")),
            (std::vector<std::string>{lineOf(7, 30), lineOf(8, 30), lineOf(9, 30)}));
  EXPECT_EQ(readFile(path), lineOf(10, 30) + "\n");
  EXPECT_EQ(log->nextRotation(), 4u);
  EXPECT_EQ(log->stats().rotations.load(), 3u);
  EXPECT_EQ(log->stats().lines.load(), 10u);
  for (const auto& f : filesIn(t.path())) EXPECT_LE(fs::file_size(t.file(f)), 100u) << f;
}

TEST(EventLog, ExactlyFullFileDoesNotRotate) {
  TempDir t;
  const std::string path = t.file("event.log");
  auto log = openLog(path, 20);
  ASSERT_TRUE(log->append(std::string(9, 'a')).isOk());
  ASSERT_TRUE(log->append(std::string(9, 'b')).isOk());  // 20 bytes: exactly the limit
  EXPECT_FALSE(fs::exists(path + ".1"));
  EXPECT_EQ(fs::file_size(path), 20u);
  ASSERT_TRUE(log->append("c").isOk());
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_EQ(readFile(path), "c\n");
}

TEST(EventLog, LineLongerThanRotateBytesIsWrittenWhole) {
  TempDir t;
  const std::string path = t.file("event.log");
  auto log = openLog(path, 50);
  const std::string big(200, 'B');
  ASSERT_TRUE(log->append(big).isOk());  // empty file: written as it is
  EXPECT_EQ(readFile(path), big + "\n");
  EXPECT_FALSE(fs::exists(path + ".1"));
  ASSERT_TRUE(log->append(big).isOk());  // non-empty file: rotates first
  EXPECT_EQ(readFile(path + ".1"), big + "\n");
  EXPECT_EQ(readFile(path), big + "\n");
}

TEST(EventLog, RotationNumberingContinuesAfterReopen) {
  TempDir t;
  const std::string path = t.file("event.log");
  {
    auto log = openLog(path, 100);
    for (int i = 1; i <= 7; ++i) ASSERT_TRUE(log->append(lineOf(i, 30)).isOk());
    EXPECT_EQ(log->nextRotation(), 3u);
  }
  auto log = openLog(path, 100);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->nextRotation(), 3u);
  // The current file holds line 7; two more fill it, the third rotates into event.log.3.
  for (int i = 8; i <= 10; ++i) ASSERT_TRUE(log->append(lineOf(i, 30)).isOk());
  EXPECT_EQ(linesOf(readFile(path + ".3")),
            (std::vector<std::string>{lineOf(7, 30), lineOf(8, 30), lineOf(9, 30)}));
  EXPECT_EQ(log->nextRotation(), 4u);
  EXPECT_EQ(linesOf(readFile(path + ".1"))[0], lineOf(1, 30));  // older files untouched
}

TEST(EventLog, NumberingStartsAfterTheHighestExistingNumber) {
  TempDir t;
  const std::string path = t.file("event.log");
  writeFile(path + ".2", "two\n");
  writeFile(path + ".17", "seventeen\n");
  writeFile(path + ".99x", "not a rotation\n");
  writeFile(path + ".", "empty number\n");
  writeFile(path + ".bak", "backup\n");
  writeFile(t.file("other.log.500"), "another log\n");
  writeFile(t.file("xevent.log.300"), "another prefix\n");
  auto log = openLog(path, 100);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->nextRotation(), 18u);
  ASSERT_TRUE(log->append(std::string(60, 'a')).isOk());
  ASSERT_TRUE(log->append(std::string(60, 'b')).isOk());
  EXPECT_EQ(readFile(path + ".18"), std::string(60, 'a') + "\n");
  EXPECT_EQ(readFile(path + ".17"), "seventeen\n");
}

TEST(EventLog, RelativePathWithoutFolder) {
  TempDir t;
  struct Cwd {
    fs::path old = fs::current_path();
    ~Cwd() { fs::current_path(old); }
  } restore;
  fs::current_path(t.path());
  writeFile(t.file("rel.log.4"), "four\n");
  {
    auto log = openLog("rel.log", 100);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->nextRotation(), 5u);
    ASSERT_TRUE(log->append("x").isOk());
  }
  EXPECT_EQ(readFile(t.file("rel.log")), "x\n");
}

TEST(EventLog, KeepFilesRemovesTheOldest) {
  TempDir t;
  const std::string path = t.file("event.log");
  auto log = openLog(path, 40, /*keep_files=*/2);
  // 30-byte lines: one per file, so every append after the first rotates.
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(log->append(lineOf(i, 30)).isOk());
  EXPECT_EQ(filesIn(t.path()),
            (std::set<std::string>{"event.log", "event.log.4", "event.log.5"}));
  EXPECT_EQ(linesOf(readFile(path + ".5")), std::vector<std::string>{lineOf(5, 30)});
  EXPECT_EQ(readFile(path), lineOf(6, 30) + "\n");
  EXPECT_EQ(log->stats().rotations.load(), 5u);
}

TEST(EventLog, KeepFilesAppliesToFilesFromAnEarlierRun) {
  TempDir t;
  const std::string path = t.file("event.log");
  for (int n = 1; n <= 5; ++n) writeFile(path + "." + std::to_string(n), "old\n");
  writeFile(path, std::string(39, 'x') + "\n");
  auto log = openLog(path, 40, /*keep_files=*/3);
  ASSERT_TRUE(log->append("trigger").isOk());  // rotates into .6
  EXPECT_EQ(filesIn(t.path()),
            (std::set<std::string>{"event.log", "event.log.4", "event.log.5", "event.log.6"}));
}

TEST(EventLog, KeepOneFile) {
  TempDir t;
  const std::string path = t.file("event.log");
  auto log = openLog(path, 40, 1);
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(log->append(lineOf(i, 30)).isOk());
  EXPECT_EQ(filesIn(t.path()), (std::set<std::string>{"event.log", "event.log.3"}));
}

TEST(EventLog, FsyncPolicies) {
  EXPECT_EQ(parseFsyncPolicy("always"), FsyncPolicy::kAlways);
  EXPECT_EQ(parseFsyncPolicy("never"), FsyncPolicy::kNever);
  EXPECT_EQ(parseFsyncPolicy("interval"), FsyncPolicy::kInterval);
  EXPECT_EQ(parseFsyncPolicy(""), FsyncPolicy::kInterval);
  TempDir t;
  for (FsyncPolicy p : {FsyncPolicy::kAlways, FsyncPolicy::kInterval, FsyncPolicy::kNever}) {
    const std::string path = t.file("f" + std::to_string(static_cast<int>(p)) + ".log");
    auto log = openLog(path, 1 << 20, 20, p);
    ASSERT_TRUE(log->append("line").isOk());
    EXPECT_TRUE(log->sync().isOk());
    EXPECT_TRUE(log->sync().isOk());  // nothing new: still fine
    EXPECT_EQ(readFile(path), "line\n");
  }
}

TEST(EventLog, OpenFailsWhenThePathIsAFolder) {
  TempDir t;
  fs::create_directories(t.file("dir.log"));
  EventLog::Options o;
  o.path = t.file("dir.log");
  auto r = EventLog::open(o);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("dir.log"), std::string::npos) << r.status().message();
}

TEST(EventLog, ConcurrentAppendsNeverInterleave) {
  TempDir t;
  const std::string path = t.file("event.log");
  auto log = openLog(path, 4096, 1000);
  constexpr int kThreads = 4;
  constexpr int kLines = 300;
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&log, th] {
      for (int i = 0; i < kLines; ++i) {
        const std::string line = "{\"t\":" + std::to_string(th) + ",\"i\":" + std::to_string(i) +
                                 ",\"pad\":\"" + std::string(static_cast<size_t>(i % 50), 'p') +
                                 "\"}";
        EXPECT_TRUE(log->append(line).isOk());
      }
    });
  }
  for (auto& th : threads) th.join();
  // Every line of every file is one whole line from one thread, each exactly once.
  std::set<std::pair<int, int>> seen;
  for (const auto& f : filesIn(t.path())) {
    const std::string text = readFile(t.file(f));
    ASSERT_TRUE(text.empty() || text.back() == '\n') << f;
    EXPECT_LE(text.size(), 4096u) << f;
    for (const auto& line : linesOf(text)) {
      int th = -1, i = -1;
      ASSERT_EQ(std::sscanf(line.c_str(), "{\"t\":%d,\"i\":%d,", &th, &i), 2) << line;
      EXPECT_EQ(line, "{\"t\":" + std::to_string(th) + ",\"i\":" + std::to_string(i) +
                          ",\"pad\":\"" + std::string(static_cast<size_t>(i % 50), 'p') + "\"}");
      EXPECT_TRUE(seen.insert({th, i}).second) << "duplicate " << line;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kLines));
  EXPECT_EQ(log->stats().lines.load(), static_cast<uint64_t>(kThreads * kLines));
}

}  // namespace
}  // namespace drosera::sensor
