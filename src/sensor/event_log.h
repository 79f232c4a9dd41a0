// The sensor's event log: one JSON audit record per line, appended with one write() so lines
// never interleave or tear, rotated by size into <path>.<n> (n grows forever, so a reader can
// follow the files in order), the oldest rotated files removed past `keep_files`.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"

namespace drosera::sensor {

enum class FsyncPolicy { kAlways, kInterval, kNever };
FsyncPolicy parseFsyncPolicy(std::string_view s);

class EventLog {
 public:
  struct Options {
    std::string path;
    uint64_t rotate_bytes = 64ull << 20;
    uint64_t keep_files = 20;
    FsyncPolicy fsync = FsyncPolicy::kInterval;
  };
  struct Stats {
    std::atomic<uint64_t> lines{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> write_errors{0};
    std::atomic<uint64_t> rotations{0};
    // Rotated files deleted beyond keep_files (the size cap): rotate_bytes * (keep_files + 1).
    std::atomic<uint64_t> dropped_files{0};
    std::atomic<uint64_t> dropped_bytes{0};
  };

  static core::Result<std::unique_ptr<EventLog>> open(const Options& options);
  ~EventLog();

  // Appends `line` plus a newline. On failure (disk full) nothing partial is left behind.
  core::Status append(std::string_view line);
  // Makes everything appended so far durable (the interval policy calls this periodically).
  core::Status sync();
  const Stats& stats() const { return stats_; }
  const std::string& path() const { return opt_.path; }
  // Number the next rotated file will get.
  uint64_t nextRotation() const;

 private:
  EventLog() = default;
  core::Status rotateLocked();
  core::Status openLocked();

  Options opt_;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t next_rotation_ = 1;
  bool dirty_ = false;
  Stats stats_;
};

}  // namespace drosera::sensor
