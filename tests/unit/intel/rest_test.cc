// The REST transport (src/intel/rest_transport.h) through the reporter, against a fake MISP
// (fake_misp.h) that checks every request as MISP's API would and answers as MISP does: the
// headers and the key, events/add then only changes, "already exists" answers taken as success,
// sightings (rate-limited, refused ones), publishing once the day is over, 5xx with retries and
// backoff, answers slower than the client's timeout, a revoked key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "fake_misp.h"
#include "intel/misp_model.h"
#include "intel/reporter.h"
#include "intel/rest_transport.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using nlohmann::json;
using testutil::FakeMisp;
using testutil::FakeStore;

constexpr const char* kKey = "x7Kq9PzR2mW4vN8sT1yB6cD3fG5hJ0lA9eU2iO4p";

struct RestRun {
  FakeStore store;
  FakeMisp misp{kKey};
  int64_t now = testutil::kDay + 12 * testutil::kHour;
  MispConfig config = testutil::baseConfig();
  std::vector<double> sleeps;
  double timeout_s = 5;
  int attempts = 4;
  RestTransport* rest = nullptr;  // the transport of `last`
  std::unique_ptr<Reporter> last;  // the latest reporter, kept so that `rest` stays valid
  store::Store* db = &store;       // another store can stand in (a reinstalled collector)

  std::unique_ptr<Reporter> reporter(const std::string& key = kKey) {
    config.url = misp.url();
    std::vector<std::unique_ptr<MispTransport>> t;
    RestOptions ro;
    ro.url = misp.url();
    ro.api_key = key;
    ro.timeout_s = timeout_s;
    ro.retry_attempts = attempts;
    ro.sleep = [this](double s) { sleeps.push_back(s); };
    auto rt = std::make_unique<RestTransport>(ro, http::makeHttpClient, db);
    rest = rt.get();
    t.push_back(std::move(rt));
    ReporterOptions o;
    o.now_us = [this] { return now; };
    auto r = Reporter::createWith(config, db, testutil::catalog(), testutil::warninglists(),
                                  std::move(t), o);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return std::move(*r);
  }
  core::Result<ReportStats> run(const std::string& key = kKey) {
    last = reporter(key);
    return last->runOnce();
  }
  std::string eventUuidOf(const std::string& group) const {
    return eventUuid(testutil::kNamespace, group, "2025-03-14", 1);
  }
};

TEST(RestTest, ADayArrivesInMispAsOneEventWithAttributesObjectsAndTags) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
  const json state = r.misp.state();
  ASSERT_EQ(state.size(), 2u);
  const json& ev = state[r.eventUuidOf("hp-web-01")];
  EXPECT_EQ(ev["meta"]["info"], "Web honeypot hp-web-01: attacks observed 2025-03-14");
  EXPECT_EQ(ev["meta"]["analysis"], "1");
  EXPECT_EQ(ev["meta"]["distribution"], "0");  // your organisation only by default
  EXPECT_EQ(ev["published"], false);
  EXPECT_THAT(ev["tags"], ::testing::Contains("tlp:amber"));
  const std::string sqli = attributeUuid(r.eventUuidOf("hp-web-01"), "ip-src", testutil::kSqli);
  ASSERT_TRUE(ev["attributes"].contains(sqli));
  EXPECT_EQ(ev["attributes"][sqli]["to_ids"], true);
  EXPECT_THAT(ev["attributes"][sqli]["Tag"],
              ::testing::Contains("circl:incident-classification=\"sql-injection\""));
  EXPECT_FALSE(ev["objects"].empty());
}

TEST(RestTest, HeadersAndKeyAreWhatMispExpects) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(r.run().isOk());
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());  // Authorization, Accept, Content-Type
  // A wrong key: MISP's 403, an error that says so, never the key itself; nothing advanced.
  RestRun w;
  w.store.add(testutil::dayOfAttacks());
  auto st = w.run("wrong-key-0000");
  ASSERT_FALSE(st.isOk());
  EXPECT_THAT(st.status().message(), ::testing::HasSubstr("API key"));
  EXPECT_THAT(st.status().message(), ::testing::Not(::testing::HasSubstr("wrong-key-0000")));
  EXPECT_EQ(*w.store.cursor("misp"), 0u);
  EXPECT_EQ(w.sleeps.size(), 0u);  // an authentication failure is not retried
}

TEST(RestTest, SecondRunSendsOnlyChanges) {
  RestRun r;
  auto events = testutil::dayOfAttacks();
  r.store.add(events);
  ASSERT_TRUE(r.run().isOk());
  const int after_first = r.misp.requests();
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.misp.requests(), after_first);  // nothing new, nothing sent
  r.store.add({testutil::event("hp-web-01", testutil::kSqli,
                               testutil::kDay + 11 * testutil::kHour + 60000000, "GET",
                               "/?q=<script>alert(1)</script>", {testutil::rule(941100, "XSS")})});
  ASSERT_TRUE(r.run().isOk());
  const std::vector<std::string> log = r.misp.log();
  std::vector<std::string> sent(log.begin() + after_first, log.end());
  // One attribute edit (count, last_seen, categories), its new tag, one http-request object,
  // the event's new tag; no events/add.
  EXPECT_THAT(sent, ::testing::Not(::testing::Contains(::testing::HasSubstr("/events/add"))));
  EXPECT_THAT(sent, ::testing::Contains(::testing::HasSubstr("POST /attributes/edit/")));
  EXPECT_THAT(sent, ::testing::Contains(::testing::HasSubstr("POST /objects/add/")));
  EXPECT_THAT(sent, ::testing::Contains(::testing::HasSubstr("POST /tags/attachTagToObject 200")));
  const json st = r.misp.state()[r.eventUuidOf("hp-web-01")];
  const std::string sqli = attributeUuid(r.eventUuidOf("hp-web-01"), "ip-src", testutil::kSqli);
  EXPECT_THAT(st["attributes"][sqli]["comment"].get<std::string>(),
              ::testing::HasSubstr("4 requests"));
  EXPECT_THAT(st["attributes"][sqli]["Tag"],
              ::testing::Contains("circl:incident-classification=\"XSS\""));
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, RepeatObservationsBecomeRateLimitedSightings) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(r.run().isOk());
  const std::string sqli = attributeUuid(r.eventUuidOf("hp-web-01"), "ip-src", testutil::kSqli);
  const auto of = [&](const json& all) {
    json out = json::array();
    for (const auto& s : all) {
      if (s["uuid"] == sqli) out.push_back(s);
    }
    return out;
  };
  // 10:00 first seen, 10:00:05 too soon, 11:00 one hour later: one sighting.
  json sightings = of(r.misp.state()[r.eventUuidOf("hp-web-01")]["sightings"]);
  ASSERT_EQ(sightings.size(), 1u);
  EXPECT_EQ(sightings[0]["timestamp"], (testutil::kDay + 11 * testutil::kHour) / 1000000);
  EXPECT_EQ(sightings[0]["source"], "hp-web-01");
  // Three more within the hour: none; one after it: one.
  for (int m : {5, 10, 20}) {
    r.store.add({testutil::event("hp-web-01", testutil::kSqli,
                                 testutil::kDay + 11 * testutil::kHour + m * 60000000ll, "GET",
                                 "/?id=1'", {testutil::rule(942100, "SQLi")})});
  }
  r.store.add({testutil::event("hp-web-01", testutil::kSqli,
                               testutil::kDay + 12 * testutil::kHour + 1000000, "GET", "/?id=1'",
                               {testutil::rule(942100, "SQLi")})});
  ASSERT_TRUE(r.run().isOk());
  sightings = of(r.misp.state()[r.eventUuidOf("hp-web-01")]["sightings"]);
  EXPECT_EQ(sightings.size(), 2u);
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, ARefusedSightingIs200WithOnlyAMessage) {
  RestRun r;
  r.misp.setFaults([](int, const std::string&, const std::string& path) {
    return path == "/sightings/add" ? FakeMisp::Fault::kSightingMessage : FakeMisp::Fault::kNone;
  });
  r.store.add(testutil::dayOfAttacks());
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(r.rest->stats().sightings, 0u);
  EXPECT_EQ(r.rest->stats().sightings_failed, 2u);  // the SQLi source and the scanner
  EXPECT_TRUE(r.misp.state()[r.eventUuidOf("hp-web-01")]["sightings"].empty());
}

// The first sightings/add reaches MISP but its answer is lost; the MISP asked whether it arrived
// is an older one that refuses the question (405). Unknown is not "absent": the sighting is not
// sent a second time.
TEST(RestTest, ASightingMispCannotLookUpIsNotSentAgain) {
  RestRun clean;
  clean.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(clean.run().isOk());

  int sightings_sent = 0;
  RestRun r;
  r.misp.setSightingSearchNeedsId(true);
  r.misp.setFaults([&sightings_sent](int, const std::string&, const std::string& path) {
    if (path == "/sightings/add" && ++sightings_sent == 1) return FakeMisp::Fault::kCommitThenDrop;
    return FakeMisp::Fault::kNone;
  });
  r.store.add(testutil::dayOfAttacks());
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(r.rest->stats().sightings_unknown, 1u);
  EXPECT_THAT(r.misp.log(), ::testing::Contains("POST /sightings/restSearch/attribute 405"));
  EXPECT_TRUE(testutil::sameJson(r.misp.state(), clean.misp.state()));
  // Nothing is left in flight: a later run does not ask or send it again.
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(sightings_sent, 2);
  EXPECT_TRUE(testutil::sameJson(r.misp.state(), clean.misp.state()));
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, ServerErrorsAreRetriedWithBackoff) {
  RestRun r;
  r.misp.setFaults([](int n, const std::string&, const std::string&) {
    return n <= 3 ? FakeMisp::Fault::k500 : FakeMisp::Fault::kNone;
  });
  r.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.sleeps, (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(r.misp.state().size(), 2u);
  // Past the attempts, the run fails and the cursor stays; the next run finishes the work.
  RestRun f;
  f.attempts = 2;
  f.misp.setFaults([](int n, const std::string&, const std::string&) {
    return n <= 2 ? FakeMisp::Fault::k500 : FakeMisp::Fault::kNone;
  });
  f.store.add(testutil::dayOfAttacks());
  auto st = f.run();
  EXPECT_FALSE(st.isOk());
  EXPECT_THAT(st.status().message(), ::testing::HasSubstr("500"));
  EXPECT_EQ(*f.store.cursor("misp"), 0u);
  ASSERT_TRUE(f.run().isOk());
  EXPECT_TRUE(testutil::sameJson(f.misp.state(), r.misp.state()));
}

TEST(RestTest, SlowAnswersPastTheTimeoutAreRetriedWithoutDuplicates) {
  RestRun clean;
  clean.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(clean.run().isOk());

  RestRun r;
  r.timeout_s = 0.3;
  r.misp.setSlowSeconds(1.0);
  // The server does the work, then answers after the client gave up: events/add, an
  // attribute, a sighting.
  r.misp.setFaults([](int n, const std::string&, const std::string& path) {
    if (n == 1 || path == "/sightings/add" || (n == 3 && path.rfind("/attributes/add/", 0) == 0)) {
      return FakeMisp::Fault::kCommitThenSlow;
    }
    return FakeMisp::Fault::kNone;
  });
  r.store.add(testutil::dayOfAttacks());
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_GE(r.rest->stats().already_existed, 1u);
  EXPECT_GE(r.rest->stats().reconciled, 1u);  // the sighting was there: not sent twice
  EXPECT_TRUE(testutil::sameJson(r.misp.state(), clean.misp.state()));
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, AnExistingEventIsEditedNotDuplicated) {
  // Another store (a reinstalled collector) reports the same day: events/add answers 404
  // "Event already exists" with a Location, and the reporter goes on with adds and edits.
  RestRun first;
  first.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(first.run().isOk());
  const json before = first.misp.state();
  FakeStore other;
  other.add(testutil::dayOfAttacks());
  first.db = &other;
  ASSERT_TRUE(first.run().isOk());
  EXPECT_GE(first.rest->stats().already_existed, 2u);
  EXPECT_THAT(first.misp.log(), ::testing::Contains("POST /events/add 404"));
  // Same data: the same state, sightings included (for an event MISP already had, each one is
  // looked up before it is sent).
  EXPECT_TRUE(testutil::sameJson(first.misp.state(), before));
  EXPECT_THAT(first.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, AnAdoptedEventsSightingsReachAMispThatCannotLookThemUp) {
  // A reinstalled collector reports a day MISP has already. MISP cannot answer whether a
  // sighting is there (405, an older version): its sightings are sent, not all dropped.
  RestRun first;
  first.misp.setSightingSearchNeedsId(true);
  first.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(first.run().isOk());
  const uint64_t sent_before = first.rest->stats().sightings;
  FakeStore other;
  std::vector<core::Event> later;
  for (auto e : testutil::dayOfAttacks()) {
    e.time_us += 30 * 60 * 1000000LL;  // the same attackers, half an hour later that day
    e.unique_id += "-later";
    later.push_back(std::move(e));
  }
  other.add(later);
  first.db = &other;
  ASSERT_TRUE(first.run().isOk());
  EXPECT_THAT(first.misp.log(), ::testing::Contains("POST /events/add 404"));
  EXPECT_THAT(first.misp.log(), ::testing::Contains("POST /sightings/restSearch/attribute 405"));
  EXPECT_GT(first.rest->stats().sightings, 0u) << sent_before;
  EXPECT_EQ(first.rest->stats().sightings_unknown, 0u);
  EXPECT_THAT(first.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, AnEventDeletedInMispIsAddedAgain) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(r.run().isOk());
  const json before = r.misp.state();
  r.misp.deleteEvent(r.eventUuidOf("hp-web-01"));
  r.store.add({testutil::event("hp-web-01", testutil::kSqli, testutil::kDay + 11 * testutil::kHour + 1000000,
                               "GET", "/?id=3'", {testutil::rule(942100, "SQLi")})});
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(r.rest->stats().events_recreated, 1u);
  if (std::getenv("DROSERA_TEST_VERBOSE") != nullptr) {
    for (const auto& l : r.misp.log()) std::printf("%s\n", l.c_str());
  }
  const json after = r.misp.state();
  ASSERT_TRUE(after.contains(r.eventUuidOf("hp-web-01")));
  EXPECT_EQ(after[r.eventUuidOf("hp-web-01")]["attributes"].size(),
            before[r.eventUuidOf("hp-web-01")]["attributes"].size());
  EXPECT_THAT(r.misp.violations(), ::testing::IsEmpty());
}

TEST(RestTest, ARefusedEventIsLeftAloneAndDoesNotBlockTheRest) {
  RestRun r;
  r.misp.blockEvent(r.eventUuidOf("hp-web-01"));
  r.store.add(testutil::dayOfAttacks());
  auto st = r.run();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(r.rest->stats().events_refused, 1u);
  EXPECT_FALSE(r.misp.state().contains(r.eventUuidOf("hp-web-01")));
  EXPECT_TRUE(r.misp.state().contains(r.eventUuidOf("hp-web-02")));
  EXPECT_EQ(*r.store.cursor("misp"), testutil::dayOfAttacks().size());
  const int n = r.misp.requests();
  r.store.add({testutil::event("hp-web-01", testutil::kSqli, testutil::kDay + 12 * testutil::kHour, "GET",
                               "/?id=4'", {testutil::rule(942100, "SQLi")})});
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.misp.requests(), n);  // not asked again
}

TEST(RestTest, TheDayIsPublishedOnceWhenOver) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.misp.publishCalls(), 0);
  r.now = testutil::kDay + 26 * testutil::kHour;
  ASSERT_TRUE(r.run().isOk());
  const json st = r.misp.state();
  EXPECT_EQ(st[r.eventUuidOf("hp-web-01")]["meta"]["analysis"], "2");
  EXPECT_EQ(st[r.eventUuidOf("hp-web-01")]["published"], true);
  EXPECT_EQ(r.misp.publishCalls(), 2);
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.misp.publishCalls(), 2);  // not again
  // A late event unpublishes (MISP does on edits) and the reporter publishes again.
  r.store.add({testutil::event("hp-web-01", "91.240.118.9", testutil::kDay + 23 * testutil::kHour,
                               "GET", "/.env", {}, {testutil::trap("sensitive_file")})});
  ASSERT_TRUE(r.run().isOk());
  EXPECT_EQ(r.misp.state()[r.eventUuidOf("hp-web-01")]["published"], true);
  EXPECT_EQ(r.misp.publishCalls(), 3);
}

TEST(RestTest, NoWarninglistedAddressIsEverSent) {
  RestRun r;
  r.store.add(testutil::dayOfAttacks());
  r.now = testutil::kDay + 26 * testutil::kHour;
  ASSERT_TRUE(r.run().isOk());
  const std::string bodies = r.misp.allBodies();
  ASSERT_NE(bodies.find(testutil::kSqli), std::string::npos);
  for (const auto& bad : testutil::forbiddenAddresses()) {
    EXPECT_EQ(bodies.find(bad), std::string::npos) << bad;
  }
}

TEST(RestTest, TheApiKeyComesFromTheEnvironmentOrAFile) {
  MispConfig c;
  c.api_key_env = "DROSERA_TEST_MISP_KEY";
  ::unsetenv("DROSERA_TEST_MISP_KEY");
  auto none = loadApiKey(c);
  ASSERT_FALSE(none.isOk());
  EXPECT_THAT(none.status().message(), ::testing::HasSubstr("$DROSERA_TEST_MISP_KEY"));
  ::setenv("DROSERA_TEST_MISP_KEY", " abc123\n", 1);
  EXPECT_EQ(*loadApiKey(c), "abc123");
  ::setenv("DROSERA_TEST_MISP_KEY", "abc\r\nX-Injected: 1", 1);
  auto injected = loadApiKey(c);
  ASSERT_FALSE(injected.isOk());
  EXPECT_THAT(injected.status().message(), ::testing::Not(::testing::HasSubstr("abc")));
  testutil::TempDir dir;
  testutil::writeFile(dir.file("key"), "filekey42\n");
  c.api_key_file = dir.file("key");
  EXPECT_EQ(*loadApiKey(c), "filekey42");  // the file wins
  ::unsetenv("DROSERA_TEST_MISP_KEY");
}

TEST(RestTest, ConfigRefusesClearTextToRemoteHosts) {
  MispConfig c;
  c.url = "http://misp.example.org";
  EXPECT_THAT(validateMispConfig(c).message(), ::testing::HasSubstr("misp.url"));
  c.url = "http://127.0.0.1:8080";
  EXPECT_TRUE(validateMispConfig(c).isOk());
  c.url = "https://misp.example.org/";
  EXPECT_TRUE(validateMispConfig(c).isOk());
  c.distribution = 5;
  EXPECT_THAT(validateMispConfig(c).message(), ::testing::HasSubstr("misp.distribution"));
}

}  // namespace
}  // namespace drosera::intel
