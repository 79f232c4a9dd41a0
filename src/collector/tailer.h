// Follows one ModSecurity audit log written by any ModSecurity (Apache v2 JSON or native, nginx
// v3 JSON; serial), across rotation (rename, then the server reopens: the old file is read until
// it has been quiet for a grace period) and truncation (copytruncate, detected by size and by a
// fingerprint of the first bytes). Each batch of parsed events is committed together with the
// file position it reached (device, inode, fingerprint, offset) in one store transaction, so a
// crash or restart neither loses nor duplicates a record; a file rotated while the collector was
// down is found among its siblings (<path>.1, <path>-2026...) and finished first.
// Thread-safety: start/stop from the owner; statusJson() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "core/config.h"

namespace drosera::collector {

class Collector;

class FileTailer {
 public:
  FileTailer(core::TailConfig config, Collector& collector);
  ~FileTailer();
  void start();
  void stop();
  // One pass over what is available (tests); returns events stored.
  uint64_t pollOnce();
  std::string statusJson() const;

 private:
  void run();
  bool openFile(const std::string& path, uint64_t offset);
  std::string fingerprint(uint64_t upto) const;  // "<len>:<hash>" of the first bytes
  std::string positionKey() const;

  core::TailConfig config_;
  Collector& collector_;
  std::string sensor_;
  // Position in the file being read.
  int fd_ = -1;
  std::string ident_;        // "<device>:<inode>" of the open file
  std::string open_path_;
  uint64_t offset_ = 0;
  bool resumed_ = false;
  int64_t rotated_at_us_ = 0;   // when the path stopped pointing at the open file
  int64_t last_growth_us_ = 0;
  std::string fp_at_offset_;    // fingerprint of the first bytes when offset_ was reached
  std::string buffer_;   // bytes read past offset_ not yet forming a whole record
  mutable std::mutex mu_;
  uint64_t events_ = 0;
  uint64_t rejected_ = 0;
  std::string last_error_;
  std::thread thread_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace drosera::collector
