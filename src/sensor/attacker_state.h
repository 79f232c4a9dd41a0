// What the sensor remembers about each source: per IP and per visitor (the trap cookie's id),
// first and last seen, events, the trap kinds it triggered, and whether it is flagged as
// malicious (after any trap). Every later event of a flagged source carries the flag. Bounded:
// the least recently seen entries are dropped past `max_entries`; saved to disk periodically and
// at stop, loaded at start. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/capture.h"
#include "core/status.h"

namespace drosera::sensor {

struct AttackerView {
  bool flagged = false;
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
  uint64_t events = 0;
  std::vector<std::string> traps;  // kinds, in the order first triggered
};

class AttackerState {
 public:
  explicit AttackerState(size_t max_entries) : max_(max_entries) {}
  // Records one event of `ip` (and of `visitor`, if known) with the traps it triggered; returns
  // the combined view after it (flagged if either the IP or the visitor is).
  AttackerView record(const std::string& ip, const std::string& visitor, int64_t time_us,
                      const std::vector<core::TrapHit>& hits);
  AttackerView view(const std::string& ip) const;
  size_t size() const;
  core::Status save(const std::string& path) const;
  core::Status load(const std::string& path);

 private:
  struct Entry {
    AttackerView view;
    std::list<std::string>::iterator lru;
  };
  Entry& touch(const std::string& key, int64_t time_us);

  size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // "ip:<ip>" / "visitor:<id>"
  std::list<std::string> lru_;                      // most recent first
  mutable bool dirty_ = false;
};

}  // namespace drosera::sensor
