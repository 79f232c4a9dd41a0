// Follows one ModSecurity audit log written by any ModSecurity (Apache v2 JSON or native, nginx
// v3 JSON; serial), across rotation (rename) and truncation (copytruncate). Each batch of
// parsed events is committed together with the file offset it reached, in one store
// transaction, so a crash or restart neither loses nor duplicates a record.
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

  core::TailConfig config_;
  Collector& collector_;
  std::string sensor_;
  // Position in the file being read.
  int fd_ = -1;
  std::string key_;
  uint64_t offset_ = 0;
  bool resumed_ = false;
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
