// The shipper against a real HTTP collector stand-in on loopback (drosera's own server).
#include "sensor/shipper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "sensor/event_record.h"

namespace drosera::sensor {
namespace {
namespace fs = std::filesystem;

class Collector : public http::Handler {
 public:
  http::Response respond(core::Capture& c, const http::ListenerSpec&) override {
    std::lock_guard lock(mu);
    http::Response r;
    if (c.request.target != "/api/v1/ingest" && c.request.target != "/api/v1/heartbeat") {
      r.status = 404;
      return r;
    }
    const std::string* auth = http::findHeader(c.request.headers, "Authorization");
    if (!auth || *auth != "Bearer s3cret") {
      r.status = 401;
      return r;
    }
    if (c.request.target == "/api/v1/heartbeat") {
      ++heartbeats;
      r.status = heartbeat_status;
      if (!retry_after.empty()) r.headers.push_back({"Retry-After", retry_after});
      return r;
    }
    if (fail_next > 0) {
      --fail_next;
      r.status = 503;
      return r;
    }
    if (const std::string* lag = http::findHeader(c.request.headers, "X-Drosera-Lag-Ms")) {
      lags.push_back(std::stoll(*lag));
    }
    if (c.request.body.size() > max_body) {
      r.status = 413;
      return r;
    }
    const std::string* type = http::findHeader(c.request.headers, "Content-Type");
    content_types.push_back(type ? *type : "");
    std::string unpacked;  // a "packed" batch of the test's pack hook: "PACKED\n" + lines
    if (type && *type == "application/x-test-packed") {
      if (refuse_packed > 0) {
        --refuse_packed;
        r.status = 400;
        r.body = "{\"error\":\"bad body\"}";
        return r;
      }
      unpacked = c.request.body.substr(7);
    }
    size_t pos = 0;
    const std::string& b = unpacked.empty() ? c.request.body : unpacked;
    while (pos < b.size()) {
      size_t nl = b.find('\n', pos);
      if (nl == std::string::npos) break;
      lines.push_back(b.substr(pos, nl - pos));
      pos = nl + 1;
    }
    r.status = 200;
    r.body = "{}";
    return r;
  }
  void captured(core::Capture&&) override {}

  std::mutex mu;
  std::vector<std::string> lines;
  int fail_next = 0;
  int heartbeats = 0;
  int heartbeat_status = 200;
  std::string retry_after;     // sent with a heartbeat's answer when not empty
  std::vector<int64_t> lags;   // X-Drosera-Lag-Ms of each batch taken
  size_t max_body = SIZE_MAX;  // larger batches are refused with 413
  std::vector<std::string> content_types;  // of each batch that reached the body check
  int refuse_packed = 0;                   // packed batches to answer 400 first
};

class ShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drosera-shipper-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    http::ServerOptions o;
    o.bind = {"127.0.0.1"};
    http::ListenerSpec l;
    l.port = 0;
    l.persona = http::makePersona("nginx", "");
    o.listeners = {l};
    o.parser.max_body_bytes = 64 << 20;
    server_ = std::make_unique<http::Server>(std::move(o), collector_);
    ASSERT_TRUE(server_->start().isOk());
    port_ = server_->bound()[0].port;
  }
  void TearDown() override {
    server_->stop(0);
    fs::remove_all(dir_);
  }

  ShipperOptions options() {
    ShipperOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/ingest";
    o.token = "s3cret";
    o.sensor_id = "test-sensor";
    o.event_log = dir_ + "/event.log";
    o.state_path = dir_ + "/shipper.pos";
    o.batch_events = 7;
    o.timeout_s = 5;
    return o;
  }
  void append(const std::string& file, int from, int to) {
    std::ofstream out(dir_ + "/" + file, std::ios::app);
    for (int i = from; i < to; ++i) out << "{\"n\":" << i << "}\n";
  }
  std::vector<std::string> expected(int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back("{\"n\":" + std::to_string(i) + "}");
    return v;
  }
  void drain(Shipper& s) {
    for (int i = 0; i < 1000; ++i) {
      auto r = s.shipOnce();
      if (r.isOk() && !*r) return;
    }
  }

  std::string dir_;
  Collector collector_;
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
};

// The log rotates between the shipper's listing of the files and its reading of them (which
// happens under load): the path it listed then names the new file, where its offset means
// nothing. Every line must still be shipped once, in order, and none torn.
TEST_F(ShipperTest, RotationBetweenListingAndReadingLosesAndTearsNothing) {
  auto lines = [&](const std::string& file, int from, int to, size_t pad) {
    std::ofstream out(dir_ + "/" + file, std::ios::app);
    for (int i = from; i < to; ++i) out << "{\"n\":" << i << ",\"pad\":\"" << std::string(pad, 'x') << "\"}\n";
  };
  ShipperOptions o = options();
  o.batch_events = 100;
  int calls = 0;
  o.after_listing_for_test = [&] {
    if (++calls != 2) return;
    // The second call listed event.log with lines 10..19 unshipped; now it rotates, and the
    // new event.log (longer lines) is longer than the shipper's offset in the old one.
    fs::rename(dir_ + "/event.log", dir_ + "/event.log.1");
    lines("event.log", 20, 30, 300);
  };
  lines("event.log", 0, 10, 10);
  Shipper s(o, http::makeHttpClient());
  ASSERT_TRUE(s.shipOnce().isOk());  // lines 0..9
  lines("event.log", 10, 20, 10);
  for (int k = 0; k < 20; ++k) {
    auto r = s.shipOnce();
    if (r.isOk() && !*r) break;
  }
  std::lock_guard lock(collector_.mu);
  std::vector<std::string> want;
  for (int i = 0; i < 30; ++i) {
    want.push_back("{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i < 20 ? 10 : 300, 'x') + "\"}");
  }
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().skipped_bytes, 0u);
}

// The event log's quota removes a file the shipper has not finished, and the next file gets
// the freed inode (file systems reuse them at once): the saved position names that inode. The
// shipper must see it is another file (its first bytes differ) and read it from the start.
TEST_F(ShipperTest, AReusedInodeIsNotTakenForTheFileItOnceNamed) {
  append("event.log", 0, 10);
  {
    Shipper s(options(), http::makeHttpClient());
    drain(s);
  }
  ASSERT_EQ(collector_.lines, expected(10));
  unsigned long long inode = 0, offset = 0;
  std::string rest;
  {
    std::ifstream in(dir_ + "/shipper.pos");
    ASSERT_TRUE(in >> inode >> offset);
    std::getline(in, rest);
  }
  fs::remove(dir_ + "/event.log");
  {
    std::ofstream out(dir_ + "/event.log");
    for (int i = 100; i < 105; ++i) out << "{\"m\":" << i << ",\"pad\":\"" << std::string(30, 'y') << "\"}\n";
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/event.log").c_str(), &st), 0);
  {  // as if the new file had been given the old one's inode
    std::ofstream out(dir_ + "/shipper.pos", std::ios::trunc);
    out << static_cast<unsigned long long>(st.st_ino) << " " << offset << rest << "\n";
  }
  Shipper again(options(), http::makeHttpClient());
  drain(again);
  std::vector<std::string> want = expected(10);
  for (int i = 100; i < 105; ++i) want.push_back("{\"m\":" + std::to_string(i) + ",\"pad\":\"" + std::string(30, 'y') + "\"}");
  EXPECT_EQ(collector_.lines, want);
}

// The oldest file, where the shipper stands (at offset 0, the collector away), is removed by the
// quota and its inode given to the next current file: the shipper must not take that file for
// it (and ship it first, skipping every rotated file in between).
TEST_F(ShipperTest, AReusedInodeOfTheOldestFileDoesNotSkipTheRotatedFiles) {
  append("event.log.1", 0, 10);
  append("event.log.2", 10, 20);
  append("event.log", 20, 30);
  collector_.fail_next = 1;
  Shipper s(options(), http::makeHttpClient());
  EXPECT_FALSE(s.shipOnce().isOk());  // standing at event.log.1, offset 0
  // A rotation, and the quota removes event.log.1; the new event.log gets its inode (rewritten
  // in place here, as the file system may do).
  fs::rename(dir_ + "/event.log", dir_ + "/event.log.3");
  {
    std::ofstream out(dir_ + "/event.log.1", std::ios::trunc);
    for (int i = 30; i < 40; ++i) out << "{\"n\":" << i << "}\n";
  }
  fs::rename(dir_ + "/event.log.1", dir_ + "/event.log");
  drain(s);
  std::vector<std::string> want;
  for (int i = 10; i < 40; ++i) want.push_back("{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().lost_files, 1u);  // lines 0..9, gone before they were shipped
}

// A fresh start on an empty event log (the collector away, or nothing written yet): the position
// must not name the empty file by its inode alone. When the quota removes that file later and
// the file system gives its inode to a new event.log, the shipper took that file for its own
// and skipped every rotated file (14 of 15 events never shipped, nothing counted lost).
TEST_F(ShipperTest, AnEmptyFileAtAFreshStartIsNotKnownByItsInodeAlone) {
  append("event.log", 0, 0);  // empty
  {
    Shipper s(options(), http::makeHttpClient());
    drain(s);
  }
  ASSERT_TRUE(collector_.lines.empty());
  // The empty file was rotated and removed since; its inode went to the new event.log (here
  // the same file, kept aside and brought back with new lines).
  fs::rename(dir_ + "/event.log", dir_ + "/spare");
  append("event.log.3", 0, 10);
  append("event.log.4", 10, 20);
  append("spare", 20, 30);
  fs::rename(dir_ + "/spare", dir_ + "/event.log");
  Shipper again(options(), http::makeHttpClient());
  drain(again);
  EXPECT_EQ(collector_.lines, expected(30));
  EXPECT_EQ(again.stats().lost_files, 0u);
}

// The same when the shipper reaches a new, empty event.log after the last rotated file: it stays
// at the end of the rotated file until the new one has a line to be known by.
TEST_F(ShipperTest, AnEmptyNextFileIsNotKnownByItsInodeAlone) {
  append("event.log.1", 0, 10);
  append("event.log", 0, 0);  // empty
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  ASSERT_EQ(collector_.lines, expected(10));
  // Rotations while the collector is away; the empty file's inode ends up with the new
  // event.log, after two rotated files.
  fs::rename(dir_ + "/event.log", dir_ + "/spare");
  append("event.log.2", 10, 20);
  append("event.log.3", 20, 30);
  append("spare", 30, 40);
  fs::rename(dir_ + "/spare", dir_ + "/event.log");
  drain(s);
  EXPECT_EQ(collector_.lines, expected(40));
  Shipper again(options(), http::makeHttpClient());  // and after a restart
  append("event.log", 40, 45);
  drain(again);
  EXPECT_EQ(collector_.lines, expected(45));
}

// Event lines of a few KiB are common (a form POST with its body): a new event.log whose first
// line is longer than the bytes a file is known by was never moved into, and the shipper stalled
// at the end of the file before it (the quota test's events, 5 KiB each).
TEST_F(ShipperTest, ANextFileWhoseFirstLineIsLongIsMovedInto) {
  append("event.log.1", 0, 3);
  const std::string pad(6000, 'x');
  {
    std::ofstream out(dir_ + "/event.log");
    out << "{\"n\":3,\"pad\":\"" << pad << "\"}\n{\"n\":4}\n";
  }
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  ASSERT_EQ(collector_.lines.size(), 5u);
  EXPECT_EQ(collector_.lines[3], "{\"n\":3,\"pad\":\"" + pad + "\"}");
  EXPECT_EQ(collector_.lines[4], "{\"n\":4}");
  // Its first line still being written: nothing of it is taken, and it is once it is whole.
  fs::rename(dir_ + "/event.log", dir_ + "/event.log.2");
  {
    std::ofstream out(dir_ + "/event.log");
    out << "{\"n\":5,\"pad\":\"" << pad;
  }
  drain(s);
  EXPECT_EQ(collector_.lines.size(), 5u);
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << "\"}\n";
  }
  drain(s);
  ASSERT_EQ(collector_.lines.size(), 6u);
  EXPECT_EQ(s.stats().lost_files, 0u);
}

// The log rotates while the shipper lists the files, between its reading of the folder and its
// stat of event.log: the file the shipper stands in is then in neither list. It must not be
// taken for gone (lost_files, and a restart from the oldest file, which skipped the rest of
// event.log.1).
TEST_F(ShipperTest, ARotationWhileTheFilesAreListedHidesNothing) {
  append("event.log", 0, 10);
  ShipperOptions o = options();
  int calls = 0;
  o.during_listing_for_test = [&] {
    if (++calls != 2) return;
    append("event.log", 10, 12);
    fs::rename(dir_ + "/event.log", dir_ + "/event.log.1");
    append("event.log", 12, 20);
  };
  Shipper s(o, http::makeHttpClient());
  ASSERT_TRUE(s.shipOnce().isOk());  // lines 0..6
  drain(s);
  EXPECT_EQ(collector_.lines, expected(20));
  EXPECT_EQ(s.stats().lost_files, 0u);
}

// A failed heartbeat (the collector shedding load, a wrong token) is retried with backoff, not
// at every poll (45 heartbeats in 10 s against a 503 before).
TEST_F(ShipperTest, FailedHeartbeatsBackOff) {
  collector_.heartbeat_status = 503;
  ShipperOptions o = options();
  o.poll_interval_s = 0.01;
  o.heartbeat_s = 0;
  o.initial_backoff_s = 0.1;
  o.max_backoff_s = 10;
  Shipper s(o, http::makeHttpClient());
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  s.stop();
  std::lock_guard lock(collector_.mu);
  // 0.1, 0.2, 0.4, 0.8 s (each 0.5..1.5 times that): at most 6 in 1.5 s; ~100 polls.
  EXPECT_GE(collector_.heartbeats, 2);
  EXPECT_LE(collector_.heartbeats, 6);
}

// Retry-After, when the collector sends it, is waited for.
TEST_F(ShipperTest, AHeartbeatRefusedWithRetryAfterWaitsThatLong) {
  collector_.heartbeat_status = 503;
  collector_.retry_after = "1";
  ShipperOptions o = options();
  o.poll_interval_s = 0.01;
  o.heartbeat_s = 0;
  o.initial_backoff_s = 0.01;
  o.max_backoff_s = 10;
  Shipper s(o, http::makeHttpClient());
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  s.stop();
  std::lock_guard lock(collector_.mu);
  EXPECT_GE(collector_.heartbeats, 1);
  EXPECT_LE(collector_.heartbeats, 2);
}

// The lag is that of the drosera object's received_at, which the sensor writes last: a request
// header named received_at (first in the line, its name the client's) set it before (57 years).
TEST_F(ShipperTest, TheLagIsNotTakenFromARequestHeader) {
  const auto t = std::chrono::system_clock::now() - std::chrono::seconds(5);
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[40];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  {
    std::ofstream out(dir_ + "/event.log");
    out << "{\"transaction\":{\"request\":{\"headers\":{\"received_at\":\"1970-01-01T00:00:01\","
           "\"x\":\"\\\"drosera\\\":{\\\"received_at\\\":\\\"1971-01-01T00:00:01\"}}},"
           "\"drosera\":{\"schema\":1,\"sensor\":\"s\",\"seq\":1,\"received_at\":\""
        << ts << "\"}}\n";
  }
  Shipper s(options(), http::makeHttpClient());
  ASSERT_TRUE(s.shipOnce().isOk());
  std::lock_guard lock(collector_.mu);
  ASSERT_EQ(collector_.lags.size(), 1u);
  EXPECT_GE(collector_.lags[0], 4000);
  EXPECT_LT(collector_.lags[0], 60000);
}

// The collector takes smaller batches than the shipper sends (its max_batch_bytes is lower):
// the shipper halves them until they pass, and skips (counting it) a line too large alone.
TEST_F(ShipperTest, BatchesTheCollectorFindsTooLargeAreHalvedAndAnOversizedLineSkipped) {
  collector_.max_body = 40;  // 5 lines of 8 bytes
  append("event.log", 0, 10);
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << "{\"big\":\"" << std::string(100, 'z') << "\"}\n";
  }
  append("event.log", 10, 20);
  Shipper s(options(), http::makeHttpClient());  // batches of 7 lines
  drain(s);
  EXPECT_EQ(collector_.lines, expected(20));
  EXPECT_EQ(s.stats().refused_lines, 1u);
  EXPECT_EQ(s.stats().events, 20u);
  EXPECT_EQ(s.stats().lag_bytes, 0u);
}

// A line longer than any the sensor writes (over 4 MiB) is skipped to its end: no piece of it
// is shipped as a line of its own.
TEST_F(ShipperTest, AnOverlongLineIsSkippedWholeNotShippedInPieces) {
  append("event.log", 0, 1);
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << std::string((5u << 20) + 123, 'x') << "\n";
  }
  append("event.log", 1, 3);
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  EXPECT_EQ(collector_.lines, expected(3));
  EXPECT_EQ(s.stats().skipped_bytes, (5u << 20) + 124);
  EXPECT_EQ(s.stats().refused_lines, 1u);  // an event lost: counted as one, not only as bytes
}

// The read that finds the end of an over-long line holds the start of the next one, cut by the
// end of the read: that line is read again from its start, not taken for another over-long one.
TEST_F(ShipperTest, TheLineAfterAnOverlongOneIsShippedNotSkippedWithIt) {
  const std::string next = "{\"next\":\"" + std::string((7u << 19) - 12, 'y') + "\"}";  // 3.5 MiB
  {
    std::ofstream out(dir_ + "/event.log");
    out << std::string((5u << 20) + 123, 'x') << "\n" << next << "\n";
  }
  append("event.log", 0, 2);
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  std::vector<std::string> want = {next};
  for (const auto& l : expected(2)) want.push_back(l);
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().refused_lines, 1u);
  EXPECT_EQ(s.stats().skipped_bytes, (5u << 20) + 124);
}

// The longest line the sensor writes (kMaxEventLineBytes with its newline) is shipped whatever
// the batch size.
TEST_F(ShipperTest, ALineOfTheMaximumLengthIsShippedWhateverTheBatchSize) {
  const std::string longest = "{\"m\":\"" + std::string(kMaxEventLineBytes - 9, 'm') + "\"}";
  ASSERT_EQ(longest.size() + 1, kMaxEventLineBytes);
  append("event.log", 0, 1);
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << longest << "\n";
  }
  append("event.log", 1, 2);
  ShipperOptions o = options();
  o.batch_bytes = 1024;
  Shipper s(o, http::makeHttpClient());
  drain(s);
  std::vector<std::string> want = {expected(1)[0], longest, expected(2)[1]};
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().skipped_bytes, 0u);
  EXPECT_EQ(s.stats().refused_lines, 0u);
}

// A rotated file is written no more: a last line without its end (a crash) is skipped and
// counted, and the shipper goes on with the next file instead of waiting for it forever.
TEST_F(ShipperTest, TheTornTailOfARotatedFileIsSkippedNotWaitedFor) {
  append("event.log.1", 0, 5);
  {
    std::ofstream out(dir_ + "/event.log.1", std::ios::app);
    out << "{\"n\":5";
  }
  append("event.log", 6, 10);
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  std::vector<std::string> want = expected(10);
  want.erase(want.begin() + 5);
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().skipped_bytes, 6u);
  EXPECT_EQ(s.stats().lag_bytes, 0u);
}

// After a power loss the event log may be shorter than the position saved for it, and grows
// again from there: the shipper reads it again from the start (the store drops what it has).
TEST_F(ShipperTest, AFileShorterThanThePositionIsReadAgainNotWaitedFor) {
  append("event.log", 0, 1000);  // 8,890 bytes
  ShipperOptions o = options();
  o.batch_events = 100;
  Shipper s(o, http::makeHttpClient());
  drain(s);
  ASSERT_EQ(collector_.lines, expected(1000));
  // Lines 0..599 (5,890 bytes) reached the disk; the first 4 KiB, which name the file, did.
  fs::resize_file(dir_ + "/event.log", 10 * 8 + 90 * 9 + 500 * 10);
  append("event.log", 1000, 1002);
  drain(s);
  std::vector<std::string> want = expected(1000);
  for (int i = 0; i < 600; ++i) want.push_back("{\"n\":" + std::to_string(i) + "}");
  for (int i : {1000, 1001}) want.push_back("{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(collector_.lines, want);
  EXPECT_EQ(s.stats().rewinds, 1u);
  EXPECT_EQ(s.stats().lost_files, 0u);
}

// The lag sent with each batch and kept in the stats is the age of its first event.
TEST_F(ShipperTest, LagIsTheAgeOfTheOldestUnshippedEvent) {
  const auto t = std::chrono::system_clock::now() - std::chrono::seconds(5);
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[40];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  {
    std::ofstream out(dir_ + "/event.log");
    out << "{\"drosera\":{\"received_at\":\"" << ts << "\"}}\n";
  }
  collector_.fail_next = 1;
  Shipper s(options(), http::makeHttpClient());
  EXPECT_FALSE(s.shipOnce().isOk());
  EXPECT_GE(s.stats().lag_ms, 4000);
  EXPECT_LT(s.stats().lag_ms, 60000);
  EXPECT_GT(s.stats().lag_bytes, 0u);  // known while the collector is away too
}

TEST_F(ShipperTest, ShipsEveryLineOnceInOrderAcrossRotatedFiles) {
  append("event.log.3", 0, 10);
  append("event.log.4", 10, 25);
  append("event.log", 25, 40);
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  EXPECT_EQ(collector_.lines, expected(40));
  EXPECT_EQ(s.stats().events, 40u);
  EXPECT_EQ(s.stats().lag_bytes, 0u);
  // A restarted shipper resumes from the saved position: nothing is sent twice.
  Shipper again(options(), http::makeHttpClient());
  drain(again);
  EXPECT_EQ(collector_.lines.size(), 40u);
  append("event.log", 40, 45);
  drain(again);
  EXPECT_EQ(collector_.lines, expected(45));
}

TEST_F(ShipperTest, FollowsARotationThatHappensWhileShipping) {
  append("event.log", 0, 10);
  Shipper s(options(), http::makeHttpClient());
  ASSERT_TRUE(s.shipOnce().isOk());  // 7 lines
  append("event.log", 10, 12);
  fs::rename(dir_ + "/event.log", dir_ + "/event.log.1");  // the sensor rotates
  append("event.log", 12, 20);
  drain(s);
  EXPECT_EQ(collector_.lines, expected(20));
}

TEST_F(ShipperTest, APartialLastLineWaitsForItsEnd) {
  append("event.log", 0, 3);
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << "{\"n\":3";  // the sensor is mid-write
  }
  Shipper s(options(), http::makeHttpClient());
  drain(s);
  EXPECT_EQ(collector_.lines, expected(3));
  {
    std::ofstream out(dir_ + "/event.log", std::ios::app);
    out << "}\n";
  }
  drain(s);
  EXPECT_EQ(collector_.lines, expected(4));
}

TEST_F(ShipperTest, RetriesWhileTheCollectorRefusesAndNeverSkipsOrDuplicates) {
  append("event.log", 0, 20);
  collector_.fail_next = 3;
  Shipper s(options(), http::makeHttpClient());
  int failures = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = s.shipOnce();
    if (!r.isOk()) {
      ++failures;
      continue;
    }
    if (!*r) break;
  }
  EXPECT_EQ(failures, 3);
  EXPECT_EQ(s.stats().failures, 3u);
  EXPECT_EQ(collector_.lines, expected(20));
}

// The pack hook (packed ingest): a packed batch the collector refuses (400) is a failure, not an
// advance, and goes again as the hook then says (lines: SensorPacker stops packing for a while);
// batches the collector takes packed advance like any. Every line once, in order; the bytes sent
// and the packed batches counted.
TEST_F(ShipperTest, APackedBatchRefusedGoesAgainAsTheHookSaysNothingLost) {
  append("event.log", 0, 30);
  collector_.refuse_packed = 1;
  bool packing = true;
  int answers_packed = 0, answers_lines = 0;
  ShipperOptions o = options();
  o.pack = [&](std::string_view lines, std::string* out, std::string* type) {
    if (!packing) return false;
    *out = "PACKED\n" + std::string(lines);
    *type = "application/x-test-packed";
    return true;
  };
  o.answered = [&](int status, std::string_view, bool was_packed) {
    (was_packed ? answers_packed : answers_lines)++;
    if (status == 400 && was_packed) packing = false;  // as SensorPacker does
  };
  Shipper s(o, http::makeHttpClient());
  int failures = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = s.shipOnce();
    if (!r.isOk()) {
      ++failures;
      continue;
    }
    if (!*r) break;
  }
  EXPECT_EQ(failures, 1);
  EXPECT_EQ(collector_.lines, expected(30));
  ASSERT_EQ(collector_.content_types.size(), 6u);  // the refused batch, then 5 of at most 7
  EXPECT_EQ(collector_.content_types[0], "application/x-test-packed");
  for (size_t i = 1; i < 6; ++i) EXPECT_EQ(collector_.content_types[i], "application/x-ndjson");
  EXPECT_EQ(answers_packed, 1);
  EXPECT_EQ(answers_lines, 5);
  auto st = s.stats();
  EXPECT_EQ(st.events, 30u);
  EXPECT_EQ(st.batches, 5u);
  EXPECT_EQ(st.packed_batches, 0u);
  EXPECT_EQ(st.sent_bytes, st.bytes);
  // Packing again: taken, counted.
  packing = true;
  append("event.log", 30, 33);
  drain(s);
  EXPECT_EQ(collector_.lines, expected(33));
  EXPECT_EQ(collector_.content_types.back(), "application/x-test-packed");
  st = s.stats();
  EXPECT_EQ(st.packed_batches, 1u);
  EXPECT_EQ(st.sent_bytes, st.bytes + 7);  // "PACKED\n"
}

TEST_F(ShipperTest, OnePackedLineTooLargeGoesAgainAsTheLineNotSkipped) {
  append("event.log", 0, 3);
  collector_.max_body = 40;  // a line (8 bytes) fits, its packed form (79 bytes) does not
  ShipperOptions o = options();
  o.batch_events = 1;
  int packed_answers = 0;
  o.pack = [&](std::string_view lines, std::string* out, std::string* type) {
    *out = "PACKED\n" + std::string(lines) + std::string(64, ' ');
    *type = "application/x-test-packed";
    return true;
  };
  o.answered = [&](int status, std::string_view, bool was_packed) {
    if (was_packed) {
      EXPECT_EQ(status, 413);
      ++packed_answers;
    }
  };
  Shipper s(o, http::makeHttpClient());
  drain(s);
  EXPECT_EQ(collector_.lines, expected(3));
  EXPECT_EQ(packed_answers, 3);
  ASSERT_EQ(collector_.content_types.size(), 3u);
  for (const auto& t : collector_.content_types) EXPECT_EQ(t, "application/x-ndjson");
  auto st = s.stats();
  EXPECT_EQ(st.refused_lines, 0u);
  EXPECT_EQ(st.events, 3u);
}

TEST_F(ShipperTest, WrongTokenIsAFailureNotAnAdvance) {
  append("event.log", 0, 5);
  auto o = options();
  o.token = "wrong";
  Shipper s(o, http::makeHttpClient());
  EXPECT_FALSE(s.shipOnce().isOk());
  EXPECT_TRUE(collector_.lines.empty());
  EXPECT_NE(s.stats().last_error.find("401"), std::string::npos);
  Shipper good(options(), http::makeHttpClient());
  drain(good);
  EXPECT_EQ(collector_.lines, expected(5));
}

TEST_F(ShipperTest, CollectorAwayThenBackInTheBackgroundThread) {
  append("event.log", 0, 30);
  auto o = options();
  o.url = "http://127.0.0.1:1/api/v1/ingest";  // nothing listens there
  o.initial_backoff_s = 0.05;
  o.max_backoff_s = 0.1;
  {
    Shipper away(o, http::makeHttpClient());
    away.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    away.stop();
    EXPECT_GT(away.stats().failures, 0u);
    EXPECT_EQ(away.stats().events, 0u);
    EXPECT_FALSE(away.stats().last_error.empty());
  }
  Shipper back(options(), http::makeHttpClient());
  back.start();
  for (int i = 0; i < 200 && back.stats().events < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  back.stop();
  EXPECT_EQ(collector_.lines, expected(30));
}

}  // namespace
}  // namespace drosera::sensor
