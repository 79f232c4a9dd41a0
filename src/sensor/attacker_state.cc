#include "sensor/attacker_state.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace drosera::sensor {

AttackerState::Entry& AttackerState::touch(const std::string& key, int64_t time_us) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    lru_.push_front(key);
    it = entries_.emplace(key, Entry{AttackerView{}, lru_.begin()}).first;
    it->second.view.first_seen_us = time_us;
    while (entries_.size() > max_) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  return it->second;
}

AttackerView AttackerState::record(const std::string& ip, const std::string& visitor,
                                   int64_t time_us, const std::vector<core::TrapHit>& hits) {
  std::lock_guard lock(mu_);
  dirty_ = true;
  std::vector<Entry*> touched = {&touch("ip:" + ip, time_us)};
  if (!visitor.empty()) touched.push_back(&touch("visitor:" + visitor, time_us));
  AttackerView combined;
  combined.first_seen_us = time_us;
  for (Entry* e : touched) {
    AttackerView& v = e->view;
    v.events += 1;
    v.first_seen_us = std::min(v.first_seen_us, time_us);
    v.last_seen_us = std::max(v.last_seen_us, time_us);
    for (const auto& h : hits) {
      if (std::find(v.traps.begin(), v.traps.end(), h.kind) == v.traps.end()) {
        v.traps.push_back(h.kind);
      }
    }
    if (!hits.empty()) v.flagged = true;
    combined.flagged |= v.flagged;
    combined.first_seen_us = std::min(combined.first_seen_us, v.first_seen_us);
    combined.last_seen_us = std::max(combined.last_seen_us, v.last_seen_us);
    combined.events = std::max(combined.events, v.events);
    for (const auto& t : v.traps) {
      if (std::find(combined.traps.begin(), combined.traps.end(), t) == combined.traps.end()) {
        combined.traps.push_back(t);
      }
    }
  }
  return combined;
}

AttackerView AttackerState::view(const std::string& ip) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find("ip:" + ip);
  return it == entries_.end() ? AttackerView{} : it->second.view;
}

size_t AttackerState::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

core::Status AttackerState::save(const std::string& path) const {
  nlohmann::json arr = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    if (!dirty_) return core::Status::ok();
    // Oldest first, so that loading in order rebuilds the same recency.
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
      const auto& v = entries_.at(*it).view;
      arr.push_back({{"key", *it}, {"flagged", v.flagged}, {"first_seen_us", v.first_seen_us},
                     {"last_seen_us", v.last_seen_us}, {"events", v.events}, {"traps", v.traps}});
    }
    dirty_ = false;
  }
  // A failed write leaves the state dirty, so the next save tries again.
  const auto failed = [this](core::Status st) {
    std::lock_guard lock(mu_);
    dirty_ = true;
    return st;
  };
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out.flush();
    if (!out) return failed(core::Status::ioError("cannot write " + tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return failed(core::Status::fromErrno("cannot write " + path, errno));
  }
  return core::Status::ok();
}

core::Status AttackerState::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::Status::ok();
  try {
    auto arr = nlohmann::json::parse(in);
    std::lock_guard lock(mu_);
    for (const auto& e : arr) {
      Entry& en = touch(e.at("key").get<std::string>(), e.value("first_seen_us", int64_t{0}));
      en.view.flagged = e.value("flagged", false);
      en.view.first_seen_us = e.value("first_seen_us", int64_t{0});
      en.view.last_seen_us = e.value("last_seen_us", int64_t{0});
      en.view.events = e.value("events", uint64_t{0});
      en.view.traps = e.value("traps", std::vector<std::string>{});
    }
  } catch (const std::exception& ex) {
    return core::Status::corruption(path + ": " + ex.what());
  }
  return core::Status::ok();
}

}  // namespace drosera::sensor
