// An in-memory Store with what the MISP reporter uses (readAfter, cursors, state), for tests
// that need no database. Thread-safe, like a real Store. It outlives reporters, so a "restart" is a
// new reporter on the same FakeStore. A write can be made to fail (failWritesAfter) to simulate a
// crash in the middle of a run; everything written before stays, as a real store's commits would.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace drosera::testutil {

class FakeStore final : public store::Store {
 public:
  // Adds events with increasing seq numbers.
  void add(const std::vector<core::Event>& events) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : events) events_.push_back({++last_seq_, e});
  }
  // As if retention had deleted the next n events before anyone read them: their seqs are gone.
  void skipSeqs(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    last_seq_ += n;
  }
  // As if the next n events were stored with damaged bodies: their seqs exist, and readAfter()
  // leaves them out, examining them (as the SQL store does).
  void addDamaged(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    last_seq_ += n;
    damaged_to_ = last_seq_;
  }
  // After n more successful writes (putState/setCursor), every write fails. -1: never.
  void failWritesAfter(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_after_ = n;
  }
  int writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  std::map<std::string, std::string> state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }

  core::Result<store::InsertResult> insert(const std::vector<core::Event>& events,
                                           const std::vector<store::FileOffset>&) override {
    add(events);
    std::lock_guard<std::mutex> lock(mu_);
    store::InsertResult r;
    r.inserted = events.size();
    r.last_seq = last_seq_;
    return r;
  }
  using store::Store::readAfter;
  core::Result<std::vector<store::StoredEvent>> readAfter(uint64_t after, size_t limit,
                                                         uint64_t* examined_to) override {
    if (examined_to != nullptr) *examined_to = after;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::StoredEvent> out;
    for (const auto& e : events_) {
      if (e.seq > after && out.size() < limit) out.push_back(e);
    }
    if (examined_to != nullptr && !out.empty()) *examined_to = out.back().seq;
    if (examined_to != nullptr && out.size() < limit) *examined_to = std::max(*examined_to, damaged_to_);
    return out;
  }
  core::Result<std::optional<store::StoredEvent>> event(uint64_t) override { return unsupported(); }
  core::Result<store::EventPage> events(const store::EventQuery&) override { return unsupported(); }
  core::Result<std::vector<store::AttackerRow>> attackers(const store::AttackerQuery&) override {
    return unsupported();
  }
  core::Result<std::optional<store::AttackerRow>> attacker(const std::string&) override {
    return unsupported();
  }
  core::Result<std::vector<store::CountBucket>> countsOverTime(const store::EventFilter&, int64_t,
                                                               store::ScanReach*) override {
    return unsupported();
  }
  core::Result<std::vector<store::TopItem>> top(store::Dimension, const store::EventFilter&, size_t,
                                                store::ScanReach*) override {
    return unsupported();
  }
  core::Status sensorSeen(const std::string&, int64_t, int64_t, const std::string&) override {
    return unsupported();
  }
  core::Result<std::vector<store::SensorRow>> sensors() override { return unsupported(); }
  core::Result<uint64_t> cursor(const std::string& reader) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cursors_.find(reader);
    return it == cursors_.end() ? uint64_t{0} : it->second;
  }
  core::Status setCursor(const std::string& reader, uint64_t seq) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!write()) return core::Status::ioError("fake store: write failed");
    cursors_[reader] = seq;
    return core::Status::ok();
  }
  core::Result<std::optional<std::string>> getState(const std::string& ns,
                                                    const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = state_.find(ns + "/" + key);
    if (it == state_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  core::Status putState(const std::string& ns, const std::string& key,
                        const std::string& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!write()) return core::Status::ioError("fake store: write failed");
    state_[ns + "/" + key] = value;
    return core::Status::ok();
  }
  core::Result<std::vector<store::FileOffset>> fileOffsets() override { return unsupported(); }
  core::Result<store::RetentionResult> applyRetention(int64_t, uint64_t) override {
    return unsupported();
  }
  core::Result<store::StoreStats> stats() override { return unsupported(); }

 private:
  static core::Status unsupported() { return core::Status::internal("not in the fake store"); }
  bool write() {
    if (fail_after_ == 0) return false;
    if (fail_after_ > 0) --fail_after_;
    ++writes_;
    return true;
  }
  mutable std::mutex mu_;
  std::vector<store::StoredEvent> events_;
  uint64_t damaged_to_ = 0;  // the newest damaged seq
  uint64_t last_seq_ = 0;
  std::map<std::string, uint64_t> cursors_;
  std::map<std::string, std::string> state_;
  int fail_after_ = -1;
  int writes_ = 0;
};

}  // namespace drosera::testutil
