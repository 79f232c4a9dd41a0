// Follows one ModSecurity audit log written by any ModSecurity (Apache v2 JSON or native, nginx
// v3 JSON; serial), across rotation (rename or delete, then the server reopens) and truncation
// (copytruncate, detected by size and by a fingerprint of the first bytes). After a rotation the
// new file is read at once, and the old one too while its writers may still write it (Apache's
// old children after a graceful restart): until it has been quiet for the grace period, or a
// second rotation makes it two generations old. It is then read to its end; bytes left there that
// form no whole record (a line cut by a full disk, a child killed mid entry) are counted as a
// rejected record and skipped. Each batch of parsed events is committed together with the file
// position it reached (device, inode, fingerprint, offset) in one store transaction, so a crash
// or restart neither loses nor duplicates a record; a rotated file with bytes left to read (renamed
// while the collector was down, or while its late writes were still read) is found among the
// path's siblings (<path>.1, <path>-2026...) and read again from its position, and so are the
// files rotated away whole while it was down (read from their start, oldest first).
// Thread-safety: start/stop from the owner; pollOnce() from one thread at a time (the tailer's
// own once started); statusJson() from any thread.
#pragma once

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "collector/parse.h"
#include "core/config.h"
#include "core/event.h"
#include "core/status.h"

namespace drosera::collector {

class Collector;

struct TailerOptions {
  // How long a rotated-away file is still read after it last grew (and after the rotation).
  // Apache's old children write the renamed file for as long as their slowest connection lasts;
  // a minute covers slow uploads without holding a deleted file's space for long.
  int64_t rotation_grace_us = 60'000'000;
  // How long a native log read to its end must have been quiet before an entry there without its
  // Z is taken as torn (its writer died) and the entries after it are stored. A writer appends an
  // entry in a few writes within milliseconds; before this, a complete entry after one without
  // its Z may be a forged one in the request body of an entry still being written.
  int64_t torn_entry_quiet_us = 10'000'000;
  // Longest record, one JSON line or one native entry; a longer one, or that many bytes without a
  // newline, is skipped (and counted in skipped_bytes).
  size_t max_record_bytes = 16u << 20;
  // Microseconds since the epoch; empty: the system clock. Tests pass a fake one.
  std::function<int64_t()> now_us;
};

class FileTailer {
 public:
  FileTailer(core::TailConfig config, Collector& collector, TailerOptions options = {});
  ~FileTailer();
  void start();
  void stop();
  // One pass over what is available (tests); returns the records handled (stored or rejected).
  uint64_t pollOnce();
  // {"path", "sensor", "offset" (in the file at the path), "rotated_offset" (in the rotated file
  // still read; null when none), "rotated_backlog" (older rotated files a restart found, still to
  // read), "events", "rejected" (records), "skipped_bytes", "last_error"}.
  std::string statusJson() const;

 private:
  // An open file descriptor, closed with its owner (a resume cut short by an exception leaks
  // none); -1 when none.
  class OwnedFd {
   public:
    OwnedFd() = default;
    OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    OwnedFd& operator=(OwnedFd&& o) noexcept {
      if (this != &o) {
        reset();
        fd_ = std::exchange(o.fd_, -1);
      }
      return *this;
    }
    OwnedFd& operator=(int fd) {
      reset();
      fd_ = fd;
      return *this;
    }
    ~OwnedFd() { reset(); }
    operator int() const { return fd_; }  // NOLINT: used as the descriptor it holds
    void reset() {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
    }

   private:
    int fd_ = -1;
  };

  // One open file and the position committed in it.
  struct Source {
    OwnedFd fd;
    std::string ident;          // "<device>:<inode>"
    uint64_t offset = 0;        // just past the last record committed
    std::string fp_at_offset;   // fingerprint of the first bytes when offset was reached
    std::string buffer;         // bytes read past offset not yet forming a whole record
    int64_t rotated_at_us = 0;  // when the path stopped pointing at it (0: it has not)
    int64_t last_growth_us = 0;
    bool superseded = false;  // rotated twice: finished without waiting for the grace
  };

  void run();
  bool resume();
  uint64_t pollSource(Source& s, bool& ok);
  bool retire(Source& s);
  bool openFile(Source& s, const std::string& path, uint64_t offset);
  void closeFile(Source& s);
  // "<len>:<hash>" of the first bytes
  std::string fingerprint(const Source& s, uint64_t upto) const;
  std::string positionKey(const Source& s, uint64_t offset) const;
  // What pollSource() and retire() share: the context records are parsed in, whether a buffer
  // holds native entries (configured, or "auto" and it starts with a boundary), and one record's
  // parse by the configured format (native entries by their own parser).
  ParseContext parseContext() const;
  bool isNative(std::string_view buffer) const;
  core::Result<core::Event> parseOne(std::string_view record, const ParseContext& ctx,
                                     bool native) const;
  void error(const std::string& e);
  int64_t now() const;

  core::TailConfig config_;
  Collector& collector_;
  TailerOptions options_;
  std::string sensor_;
  // Used by the polling thread only.
  Source cur_;  // the file at the path
  Source old_;  // the file before it, rotated away, read while it may still be written
  // Older rotated files a restart found with bytes left (several rotations while the collector
  // was down), oldest first: the front one is read a chunk a pass (beside old_ and cur_) to its
  // end, then left.
  std::deque<Source> backlog_;
  bool resumed_ = false;
  // Shared with statusJson().
  mutable std::mutex mu_;
  uint64_t offset_ = 0;      // cur_.offset as of the last pass
  int64_t old_offset_ = -1;  // old_.offset as of the last pass; -1: no rotated file open
  size_t backlog_files_ = 0;  // backlog_.size() as of the last pass
  uint64_t events_ = 0;
  uint64_t rejected_ = 0;
  uint64_t skipped_bytes_ = 0;
  std::string last_error_;
  std::thread thread_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace drosera::collector
