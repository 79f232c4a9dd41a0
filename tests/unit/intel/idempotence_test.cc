// Idempotence across crashes: the reporter is killed at every step of a run (a state write, a
// feed file operation, a REST request the server carried out but never answered, a REST request
// the server failed, a store write after a REST call), then restarted; the final feed, store
// state and MISP state must equal those of one clean run. The run covers a day in several
// batches, repeat observations (sightings), the day's close (publish) and a late event.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <regex>
#include <nlohmann/json.hpp>

#include "fake_misp.h"
#include "intel/feed_transport.h"
#include "intel/reporter.h"
#include "intel/rest_transport.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using nlohmann::json;
using testutil::FakeMisp;
using testutil::FakeStore;
using testutil::TempDir;

constexpr const char* kKey = "x7Kq9PzR2mW4vN8sT1yB6cD3fG5hJ0lA9eU2iO4p";

struct Phase {
  int64_t now;
  std::vector<core::Event> events;
};

std::vector<Phase> phases() {
  using testutil::kDay;
  using testutil::kHour;
  auto day = testutil::dayOfAttacks();
  std::vector<Phase> p;
  p.push_back({kDay + 9 * kHour, std::vector<core::Event>(day.begin(), day.begin() + 9)});
  p.push_back({kDay + 12 * kHour, std::vector<core::Event>(day.begin() + 9, day.end())});
  std::vector<core::Event> more;
  for (int m : {30, 70, 130}) {  // repeat observations: sightings an hour apart
    auto e =
        testutil::event("hp-web-01", testutil::kSqli, kDay + 11 * kHour + m * 60000000ll, "GET",
                        "/?id=" + std::to_string(m) + "'", {testutil::rule(942100, "SQLi")});
    e.unique_id = "more-" + std::to_string(m);
    more.push_back(e);
  }
  p.push_back({kDay + 14 * kHour, more});
  p.push_back({kDay + 26 * kHour, {}});  // the day closes: complete, published
  auto late = testutil::event("hp-web-01", "91.240.118.9", kDay + 23 * kHour, "GET", "/.env", {},
                              {testutil::trap("sensitive_file")});
  late.unique_id = "late-1";
  p.push_back({kDay + 27 * kHour, {late}});
  return p;
}

// One run of all phases. `make` builds a reporter (with or without faults); when a run fails,
// the reporter is thrown away and a new one without faults finishes the phase, as a restarted
// process would.
struct Scenario {
  FakeStore store;
  int64_t now = 0;
  int failures = 0;

  void play(const std::function<std::unique_ptr<Reporter>(bool faults)>& make) {
    bool faults = true;
    std::unique_ptr<Reporter> r = make(faults);
    for (const Phase& ph : phases()) {
      now = ph.now;
      store.add(ph.events);
      auto st = r->runOnce();
      if (!st) {
        ++failures;
        faults = false;
        r.reset();  // "killed"
        r = make(faults);
        st = r->runOnce();
        ASSERT_TRUE(st.isOk()) << st.status().toString();
      }
    }
  }
};

// ---- Feed ----

struct FeedWorld {
  Scenario sc;
  TempDir dir;
  MispCatalog catalog = testutil::catalog();
  int steps = 0;
  int crash_at = -1;  // the step that "kills" the process (-1: never)
  bool dead = false;

  bool step(const std::string&) {
    if (dead) return false;
    if (++steps == crash_at) {
      dead = true;
      return false;
    }
    return true;
  }

  std::unique_ptr<Reporter> make(bool faults) {
    MispConfig c = testutil::baseConfig();
    ReporterOptions o;
    o.now_us = [this] { return sc.now; };
    FeedOptions fo;
    fo.dir = dir.path();
    fo.now_us = o.now_us;
    fo.fsync = false;  // crashes are simulated above the file system
    if (faults) {
      o.fault = [this](const std::string& s) { return step(s); };
      fo.fault = [this](const std::string& s) { return step(s); };
    }
    auto feed = FeedTransport::open(fo, &catalog);
    EXPECT_TRUE(feed.isOk());
    std::vector<std::unique_ptr<MispTransport>> t;
    t.push_back(std::move(*feed));
    auto r = Reporter::createWith(c, &sc.store, testutil::catalog(), testutil::warninglists(),
                                  std::move(t), o);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return std::move(*r);
  }
  void play() {
    sc.play([this](bool faults) { return make(faults); });
  }
};

// The store's state, but for when each address was first recorded as published ("t" in the
// misp-ip records), which a crash rightly moves later, and where (each world has its own folder).
std::map<std::string, std::string> comparable(const testutil::FakeStore& store) {
  static const std::regex kTime(R"("t":-?[0-9]+)");
  static const std::regex kWhere(R"("w":"[^"]*")");
  auto state = store.state();
  for (auto& [key, value] : state) {
    if (key.rfind("misp-ip/", 0) != 0) continue;
    value = std::regex_replace(std::regex_replace(value, kTime, "\"t\":0"), kWhere, "\"w\":\"\"");
  }
  return state;
}

TEST(IdempotenceTest, FeedKilledAtEveryStepEqualsOneCleanRun) {
  FeedWorld clean;
  clean.play();
  ASSERT_EQ(clean.sc.failures, 0);
  const auto feed = testutil::readDir(clean.dir.path());
  const auto state = comparable(clean.sc.store);
  ASSERT_GT(clean.steps, 20);
  ASSERT_EQ(feed.size(), 4u);  // two events, manifest, hashes
  for (int n = 1; n <= clean.steps; ++n) {
    FeedWorld w;
    w.crash_at = n;
    w.play();
    EXPECT_EQ(w.sc.failures, 1) << "step " << n;
    const auto got = testutil::readDir(w.dir.path());
    EXPECT_TRUE(got == feed) << "feed differs, killed at step " << n;
    EXPECT_TRUE(comparable(w.sc.store) == state) << "store state differs, killed at step " << n;
    EXPECT_EQ(*w.sc.store.cursor("misp"), *clean.sc.store.cursor("misp"));
  }
}

TEST(IdempotenceTest, TheSameReporterRecoversAfterAFailedStoreWrite) {
  // The periodic runner keeps its Reporter after a failure: what it holds in memory must not
  // drift from the store.
  FeedWorld clean;
  clean.play();
  const auto feed = testutil::readDir(clean.dir.path());
  const int writes = clean.sc.store.writes();
  for (int n = 0; n < writes; ++n) {
    FeedWorld w;
    std::unique_ptr<Reporter> r = w.make(false);
    bool failed = false;
    w.sc.store.failWritesAfter(n);
    for (const Phase& ph : phases()) {
      w.sc.now = ph.now;
      w.sc.store.add(ph.events);
      if (!r->runOnce().isOk()) {
        failed = true;
        w.sc.store.failWritesAfter(-1);
        ASSERT_TRUE(r->runOnce().isOk()) << "write " << n;
      }
    }
    EXPECT_TRUE(failed) << "write " << n;
    EXPECT_TRUE(testutil::readDir(w.dir.path()) == feed) << "feed differs, write " << n;
    EXPECT_TRUE(comparable(w.sc.store) == comparable(clean.sc.store))
        << "state differs, write " << n;
  }
}

// ---- REST ----

struct RestWorld {
  Scenario sc;
  FakeMisp misp{kKey};

  std::unique_ptr<Reporter> make(bool) {
    MispConfig c = testutil::baseConfig();
    ReporterOptions o;
    o.now_us = [this] { return sc.now; };
    RestOptions ro;
    ro.url = misp.url();
    ro.api_key = kKey;
    ro.timeout_s = 5;
    ro.retry_attempts = 1;  // a failed request ends the run, like a crash
    ro.sleep = [](double) {};
    std::vector<std::unique_ptr<MispTransport>> t;
    t.push_back(std::make_unique<RestTransport>(ro, http::makeHttpClient, &sc.store));
    auto r = Reporter::createWith(c, &sc.store, testutil::catalog(), testutil::warninglists(),
                                  std::move(t), o);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return std::move(*r);
  }
  void play() {
    sc.play([this](bool faults) { return make(faults); });
  }
};

void expectSameMisp(const RestWorld& w, const RestWorld& clean, const std::string& what) {
  EXPECT_TRUE(testutil::sameJson(w.misp.state(), clean.misp.state())) << what;
  EXPECT_EQ(w.misp.publishCalls(), clean.misp.publishCalls()) << what;
  EXPECT_THAT(w.misp.violations(), ::testing::IsEmpty()) << what;
}

TEST(IdempotenceTest, CleanRestRunIsComplete) {
  RestWorld clean;
  clean.play();
  ASSERT_EQ(clean.sc.failures, 0);
  EXPECT_THAT(clean.misp.violations(), ::testing::IsEmpty());
  const json st = clean.misp.state();
  ASSERT_EQ(st.size(), 2u);
  for (const auto& [uuid, ev] : st.items()) {
    EXPECT_EQ(ev["published"], true);
    EXPECT_EQ(ev["meta"]["analysis"], "2");
  }
  const std::string e1 = eventUuid(testutil::kNamespace, "hp-web-01", "2025-03-14", 1);
  EXPECT_GE(st[e1]["sightings"].size(), 3u);
  EXPECT_EQ(clean.misp.publishCalls(), 3);  // two days' events, one republished after a late event
  if (std::getenv("DROSERA_TEST_VERBOSE") != nullptr) {
    for (const auto& l : clean.misp.log()) std::printf("%s\n", l.c_str());
  }
}

TEST(IdempotenceTest, RestServerDidTheWorkButTheAnswerWasLost) {
  RestWorld clean;
  clean.play();
  const int requests = clean.misp.requests();
  ASSERT_GT(requests, 30);
  for (int n = 1; n <= requests; ++n) {
    RestWorld w;
    w.misp.setFaults([n](int i, const std::string&, const std::string&) {
      return i == n ? FakeMisp::Fault::kCommitThenDrop : FakeMisp::Fault::kNone;
    });
    w.play();
    // libcurl resends on its own when a reused connection dies: the run may even succeed.
    EXPECT_LE(w.sc.failures, 1) << "request " << n;
    expectSameMisp(w, clean, "lost answer to request " + std::to_string(n));
  }
}

TEST(IdempotenceTest, RestServerFailedARequest) {
  RestWorld clean;
  clean.play();
  const int requests = clean.misp.requests();
  for (int n = 1; n <= requests; ++n) {
    RestWorld w;
    w.misp.setFaults([n](int i, const std::string&, const std::string&) {
      return i == n ? FakeMisp::Fault::k500 : FakeMisp::Fault::kNone;
    });
    w.play();
    expectSameMisp(w, clean, "500 on request " + std::to_string(n));
  }
}

TEST(IdempotenceTest, RestKilledBeforeRecordingWhatWasSent) {
  RestWorld clean;
  clean.play();
  const int writes = clean.sc.store.writes();
  ASSERT_GT(writes, 30);
  for (int n = 0; n < writes; n += 1) {
    RestWorld w;
    w.sc.store.failWritesAfter(n);  // the n+1-th store write "dies"
    w.sc.play([&w](bool faults) {
      if (!faults) w.sc.store.failWritesAfter(-1);
      return w.make(faults);
    });
    EXPECT_EQ(w.sc.failures, 1) << "write " << n;
    expectSameMisp(w, clean, "killed before store write " + std::to_string(n + 1));
    EXPECT_EQ(*w.sc.store.cursor("misp"), *clean.sc.store.cursor("misp"));
  }
}

}  // namespace
}  // namespace drosera::intel
