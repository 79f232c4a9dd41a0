// End to end with the real SQLite store (when src/store builds it): events inserted through the
// Store, the reporter reading them by its cursor, the feed it writes; and a real kill -9 of a
// child process running the reporter at each of its steps, after which the parent finishes the
// work from the same database: the feed equals that of one clean run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#ifdef DROSERA_INTEL_WITH_SQLITE_STORE

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "intel/feed_transport.h"
#include "intel/reporter.h"
#include "store/store.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using testutil::TempDir;

constexpr int64_t kNow = testutil::kDay + 26 * testutil::kHour;  // the day is over

std::unique_ptr<store::Store> openDb(const std::string& path) {
  store::SqliteOptions o;
  o.path = path;
  auto s = store::openSqliteStore(o);
  EXPECT_TRUE(s.isOk()) << s.status().toString();
  return s ? std::move(*s) : nullptr;
}

std::unique_ptr<Reporter> makeReporter(store::Store* db, const std::string& feed_dir,
                                       std::function<bool(const std::string&)> fault) {
  MispConfig c = testutil::baseConfig();
  c.feed_dir = feed_dir;
  ReporterOptions o;
  o.now_us = [] { return kNow; };
  o.fault = fault;
  static MispCatalog catalog = testutil::catalog();
  FeedOptions fo;
  fo.dir = feed_dir;
  fo.now_us = o.now_us;
  fo.fault = fault;
  fo.fsync = false;  // a killed process loses nothing the kernel has; fsync guards power loss
  auto feed = FeedTransport::open(fo, &catalog);
  EXPECT_TRUE(feed.isOk());
  std::vector<std::unique_ptr<MispTransport>> t;
  t.push_back(std::move(*feed));
  auto r =
      Reporter::createWith(c, db, testutil::catalog(), testutil::warninglists(), std::move(t), o);
  EXPECT_TRUE(r.isOk()) << r.status().toString();
  return std::move(*r);
}

TEST(SqliteEndToEndTest, StoreToFeed) {
  TempDir dir;
  auto db = openDb(dir.file("drosera.db"));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->insert(testutil::dayOfAttacks()).isOk());
  auto r = Reporter::create(
      [] {
        MispConfig c = testutil::baseConfig();
        return c;
      }(),
      dir.path(), db.get(), {[] { return kNow; }});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  auto st = (*r)->runOnce();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(st->events_read, testutil::dayOfAttacks().size());
  EXPECT_EQ(st->days_closed, 2u);
  EXPECT_EQ(*db->cursor("misp"), st->cursor);
  const auto feed = testutil::readDir(dir.file("misp-feed"));
  ASSERT_EQ(feed.size(), 4u);
  for (const auto& [name, bytes] : feed) {
    for (const auto& bad : testutil::forbiddenAddresses()) {
      EXPECT_EQ(bytes.find(bad), std::string::npos) << bad << " in " << name;
    }
    if (name == "manifest.json" || name == "hashes.csv") continue;
    EXPECT_THAT(testutil::MispRules::get().checkEvent(nlohmann::json::parse(bytes)),
                ::testing::IsEmpty());
  }
  // The identity is kept in the store: a second reporter makes the same UUIDs.
  auto again =
      Reporter::create(testutil::baseConfig(), dir.path(), db.get(), {[] { return kNow; }});
  ASSERT_TRUE(again.isOk());
  ASSERT_TRUE((*again)->runOnce().isOk());
  EXPECT_EQ(testutil::readDir(dir.file("misp-feed")), feed);
}

TEST(SqliteEndToEndTest, KillMinus9AtEveryStepThenRestart) {
  // The clean run, counting the steps.
  TempDir clean;
  int steps = 0;
  {
    auto db = openDb(clean.file("drosera.db"));
    ASSERT_TRUE(db->insert(testutil::dayOfAttacks()).isOk());
    auto r = makeReporter(db.get(), clean.file("feed"), [&](const std::string&) {
      ++steps;
      return true;
    });
    ASSERT_TRUE(r->runOnce().isOk());
  }
  const auto want = testutil::readDir(clean.file("feed"));
  ASSERT_GT(steps, 10);
  for (int n = 1; n <= steps; ++n) {
    TempDir dir;
    {
      auto db = openDb(dir.file("drosera.db"));
      ASSERT_TRUE(db->insert(testutil::dayOfAttacks()).isOk());
    }
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: the reporter dies by SIGKILL just before its n-th durable step.
      auto db = openDb(dir.file("drosera.db"));
      int k = 0;
      auto r = makeReporter(db.get(), dir.file("feed"), [&](const std::string&) {
        if (++k == n) ::kill(::getpid(), SIGKILL);
        return true;
      });
      (void)r->runOnce();
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "step " << n;
    auto db = openDb(dir.file("drosera.db"));
    auto r = makeReporter(db.get(), dir.file("feed"), nullptr);
    auto st = r->runOnce();
    ASSERT_TRUE(st.isOk()) << st.status().toString();
    EXPECT_TRUE(testutil::readDir(dir.file("feed")) == want)
        << "feed differs, killed at step " << n;
  }
}

}  // namespace
}  // namespace drosera::intel

#else

TEST(SqliteEndToEndTest, NeedsTheSqliteStore) { GTEST_SKIP() << "drosera_store is not built"; }

#endif
