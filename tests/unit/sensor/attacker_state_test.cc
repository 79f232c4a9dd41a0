// The sensor's attacker state: what a restart brings back, what the bound drops, and that a
// save that failed is tried again.
#include "sensor/attacker_state.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "temp_dir.h"

namespace drosera::sensor {
namespace {

using testutil::TempDir;

std::vector<core::TrapHit> trap(const std::string& kind) {
  core::TrapHit h;
  h.kind = kind;
  h.bait = "/backup.sql";
  return {h};
}

TEST(AttackerStateTest, ARestartBringsBackFlagsCountsAndTraps) {
  TempDir t;
  const std::string path = t.path() + "/attackers.json";
  {
    AttackerState s(100);
    s.record("203.0.113.7", "", 1000, {});
    s.record("203.0.113.7", "", 2000, trap("robots"));
    s.record("198.51.100.1", "", 3000, {});
    ASSERT_TRUE(s.save(path).isOk());
  }
  AttackerState back(100);
  ASSERT_TRUE(back.load(path).isOk());
  const AttackerView v = back.view("203.0.113.7");
  EXPECT_TRUE(v.flagged);
  EXPECT_EQ(v.events, 2u);
  EXPECT_EQ(v.first_seen_us, 1000);
  EXPECT_EQ(v.last_seen_us, 2000);
  EXPECT_EQ(v.traps, std::vector<std::string>{"robots"});
  EXPECT_FALSE(back.view("198.51.100.1").flagged);
  EXPECT_EQ(back.view("198.51.100.1").events, 1u);
}

TEST(AttackerStateTest, TheLeastRecentlySeenAreDroppedPastTheBound) {
  AttackerState s(2);
  s.record("192.0.2.1", "", 1, {});
  s.record("192.0.2.2", "", 2, {});
  s.record("192.0.2.1", "", 3, {});  // .1 is now the most recent
  s.record("192.0.2.3", "", 4, {});  // drops .2
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.view("192.0.2.2").events, 0u);
  EXPECT_EQ(s.view("192.0.2.1").events, 2u);
  EXPECT_EQ(s.view("192.0.2.3").events, 1u);
}

TEST(AttackerStateTest, NothingNewIsNotWrittenAgain) {
  TempDir t;
  const std::string path = t.path() + "/attackers.json";
  AttackerState s(100);
  s.record("203.0.113.7", "", 1000, {});
  ASSERT_TRUE(s.save(path).isOk());
  std::filesystem::remove(path);
  ASSERT_TRUE(s.save(path).isOk());
  EXPECT_FALSE(std::filesystem::exists(path));  // unchanged since the last save
  s.record("203.0.113.7", "", 2000, {});
  ASSERT_TRUE(s.save(path).isOk());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(AttackerStateTest, ASaveThatFailedIsTriedAgainNextTime) {
  TempDir t;
  const std::string dir = t.path() + "/state";  // not there yet: the first save fails
  const std::string path = dir + "/attackers.json";
  AttackerState s(100);
  s.record("203.0.113.7", "", 1000, trap("cookie"));
  EXPECT_FALSE(s.save(path).isOk());
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(s.save(path).isOk());  // nothing new was recorded in between
  AttackerState back(100);
  ASSERT_TRUE(back.load(path).isOk());
  EXPECT_TRUE(back.view("203.0.113.7").flagged);
}

}  // namespace
}  // namespace drosera::sensor
