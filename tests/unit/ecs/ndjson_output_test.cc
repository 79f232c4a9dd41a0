// The NDJSON output: every stored event becomes one line, once, in store order, across batches,
// rotations, a crash between the write and the cursor, and a line torn by a crash.
#include "ecs/ndjson_output.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ecs_validator.h"
#include "test_support.h"

namespace drosera::ecs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::MemStore;

class NdjsonOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("drosera-ecs-ndjson-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    config_.path = (dir_ / "ecs" / "ecs.ndjson").string();
    config_.batch = 10;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void insert(int from, int to) {
    std::vector<core::Event> v;
    for (int n = from; n < to; ++n) {
      core::Event e = n % 2 ? testing::sqliEvent(n) : testing::benignEvent(n);
      e.unique_id = "u" + std::to_string(n);
      v.push_back(std::move(e));
    }
    ASSERT_TRUE(store_.insert(v));
  }

  std::unique_ptr<NdjsonOutput> open() {
    auto out = NdjsonOutput::open(store_, config_, EcsMapper());
    EXPECT_TRUE(out) << out.status().toString();
    return out ? std::move(*out) : nullptr;
  }

  static void drain(NdjsonOutput& out) {
    for (;;) {
      auto n = out.writeBatch();
      ASSERT_TRUE(n) << n.status().toString();
      if (*n == 0) return;
    }
  }

  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
  }

  // Sequences of every line in the rotated files (oldest first) and the current file.
  std::vector<uint64_t> allSequences() {
    std::vector<std::pair<uint64_t, std::string>> rotated;
    for (const auto& e : fs::directory_iterator(dir_ / "ecs")) {
      const std::string name = e.path().filename().string();
      if (name.rfind("ecs.ndjson.", 0) == 0) {
        rotated.push_back({std::stoull(name.substr(11)), e.path().string()});
      }
    }
    std::sort(rotated.begin(), rotated.end());
    std::vector<std::string> files;
    for (const auto& r : rotated) files.push_back(r.second);
    files.push_back(config_.path);
    std::vector<uint64_t> seqs;
    for (const auto& f : files) {
      for (const auto& l : lines(f)) {
        json j = json::parse(l, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << l.substr(0, 200);
        if (!j.is_discarded()) seqs.push_back(j["event"]["sequence"].get<uint64_t>());
      }
    }
    return seqs;
  }

  static std::vector<uint64_t> range(uint64_t from, uint64_t to) {
    std::vector<uint64_t> v;
    for (uint64_t i = from; i <= to; ++i) v.push_back(i);
    return v;
  }

  fs::path dir_;
  EcsNdjsonConfig config_;
  MemStore store_;
};

TEST_F(NdjsonOutputTest, WritesEveryEventOnceInStoreOrder) {
  insert(0, 25);
  auto out = open();
  ASSERT_TRUE(out);
  drain(*out);
  EXPECT_EQ(allSequences(), range(1, 25));
  EXPECT_EQ(*store_.cursor("ecs-ndjson"), 25u);
  EXPECT_EQ(out->stats().written, 25u);
  insert(25, 31);
  drain(*out);
  EXPECT_EQ(allSequences(), range(1, 31));

  const testing::EcsSchema schema(DROSERA_SHARED_DIR "/ecs/fields.csv");
  ASSERT_TRUE(schema.ok());
  for (const auto& l : lines(config_.path)) {
    const auto errors = schema.validate(json::parse(l));
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  }
}

TEST_F(NdjsonOutputTest, RotatesBySizeAndKeepsTheNewestFiles) {
  config_.rotate_bytes = 8000;
  config_.keep_files = 3;
  insert(0, 100);
  {
    auto out = open();
    ASSERT_TRUE(out);
    drain(*out);
    EXPECT_GT(out->stats().rotations, 3u);
  }
  std::vector<uint64_t> numbers;
  for (const auto& e : fs::directory_iterator(dir_ / "ecs")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ecs.ndjson.", 0) == 0) numbers.push_back(std::stoull(name.substr(11)));
  }
  std::sort(numbers.begin(), numbers.end());
  ASSERT_EQ(numbers.size(), 3u);
  EXPECT_EQ(numbers[2] - numbers[0], 2u);  // the three newest, consecutive
  // What is left is the tail of the stream, without gaps.
  auto seqs = allSequences();
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs, range(seqs.front(), 100));
  // A new process continues the numbering.
  const uint64_t last = numbers.back();
  insert(100, 160);
  auto out = open();
  ASSERT_TRUE(out);
  drain(*out);
  for (const auto& e : fs::directory_iterator(dir_ / "ecs")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ecs.ndjson.", 0) == 0) {
      EXPECT_GT(std::stoull(name.substr(11)), last);
    }
  }
  seqs = allSequences();
  EXPECT_EQ(seqs, range(seqs.front(), 160));
}

TEST_F(NdjsonOutputTest, ACrashBeforeTheCursorMovedWritesNothingTwice) {
  insert(0, 10);
  {
    auto out = open();
    ASSERT_TRUE(out);
    drain(*out);
  }
  // The process died after the lines reached the disk, before the cursor was stored.
  ASSERT_TRUE(store_.setCursor("ecs-ndjson", 4));
  insert(10, 15);
  auto out = open();
  ASSERT_TRUE(out);
  EXPECT_EQ(*store_.cursor("ecs-ndjson"), 10u);
  drain(*out);
  EXPECT_EQ(allSequences(), range(1, 15));
}

TEST_F(NdjsonOutputTest, ATornLastLineIsCutOff) {
  insert(0, 6);
  {
    auto out = open();
    ASSERT_TRUE(out);
    drain(*out);
  }
  ASSERT_TRUE(store_.setCursor("ecs-ndjson", 5));  // the sixth line was being written...
  {
    // ...and only half of it reached the disk.
    auto ls = lines(config_.path);
    std::ofstream f(config_.path, std::ios::trunc);
    for (size_t i = 0; i + 1 < ls.size(); ++i) f << ls[i] << '\n';
    f << ls.back().substr(0, ls.back().size() / 2);
  }
  auto out = open();
  ASSERT_TRUE(out);
  EXPECT_EQ(*store_.cursor("ecs-ndjson"), 5u);
  drain(*out);
  EXPECT_EQ(allSequences(), range(1, 6));
}

TEST_F(NdjsonOutputTest, AFileLeftByAnotherDatabaseIsNotTrusted) {
  fs::create_directories(dir_ / "ecs");
  {
    std::ofstream f(config_.path);
    f << R"({"event":{"sequence":500,"id":"from-elsewhere"}})" << '\n';
  }
  insert(0, 3);
  auto out = open();
  ASSERT_TRUE(out);
  EXPECT_EQ(*store_.cursor("ecs-ndjson"), 0u);
  drain(*out);
  const auto ls = lines(config_.path);
  ASSERT_EQ(ls.size(), 4u);
  EXPECT_EQ(json::parse(ls[3])["event"]["sequence"], 3);
}

TEST_F(NdjsonOutputTest, AFailedWriteLeavesNothingAndMovesNothing) {
  insert(0, 3);
  config_.path = "/dev/full";
  auto out = open();
  ASSERT_TRUE(out);
  auto n = out->writeBatch();
  EXPECT_FALSE(n);
  EXPECT_EQ(*store_.cursor("ecs-ndjson"), 0u);
}

TEST_F(NdjsonOutputTest, RunsOnItsOwnThread) {
  config_.poll_interval_s = 0.02;
  insert(0, 40);
  auto out = open();
  ASSERT_TRUE(out);
  out->start();
  insert(40, 45);
  out->wake();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out->stats().cursor < 45 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  out->stop();
  EXPECT_EQ(out->stats().cursor, 45u);
  EXPECT_EQ(allSequences(), range(1, 45));
}

TEST_F(NdjsonOutputTest, RefusesAnEmptyPath) {
  config_.path.clear();
  EXPECT_FALSE(NdjsonOutput::open(store_, config_, EcsMapper()));
}

}  // namespace
}  // namespace drosera::ecs
