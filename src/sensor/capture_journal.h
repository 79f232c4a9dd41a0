// The capture journal: every answered request is appended here before inspection, so that a
// crash or kill -9 loses nothing that reached the disk, and a burst larger than the in-memory
// queue waits here instead of being dropped. Segment files seg-<first seq>.cap hold records
// [magic u32][length u32][crc32 u32][seq u64][payload]; a checkpoint file says up to where
// inspection is done, and finished segments are deleted.
// Thread-safety: append() may run concurrently with read(), checkpoint() and sync(); appends
// are serialised among themselves, and read() must be called by one thread at a time. No lock
// is held across disk I/O that another side waits for, so answering never waits for a reader.
#pragma once

#include <cstdint>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace drosera::sensor {

struct JournalPos {
  uint64_t segment = 0;  // first seq of the segment (its name)
  uint64_t offset = 0;
  bool operator==(const JournalPos&) const = default;
};

struct JournalRecord {
  uint64_t seq = 0;
  JournalPos pos;   // where it starts
  JournalPos next;  // where the next record starts
  std::string payload;
};

class CaptureJournal {
 public:
  struct Options {
    std::string dir;
    uint64_t segment_bytes = 64ull << 20;
  };

  // Opens or creates the journal; a torn record at the end of the last segment is cut off.
  static core::Result<std::unique_ptr<CaptureJournal>> open(const Options& options);
  ~CaptureJournal();

  // Appends one record; returns it (without payload). On failure (disk full) nothing is
  // appended and the journal stays consistent.
  core::Result<JournalRecord> append(std::string_view payload);
  // The record at `pos`, or nullopt at the end of the journal. A corrupt record is reported as
  // kCorruption with the position after the damaged segment in `*skip_to`.
  core::Result<std::optional<JournalRecord>> read(JournalPos pos, JournalPos* skip_to);

  // The seq the next append gets; every record before it is complete on disk.
  uint64_t nextSeq() const { return next_seq_.load(std::memory_order_acquire); }
  JournalPos endPos() const;
  JournalPos checkpointPos() const;
  uint64_t checkpointSeq() const;

  // Flushes appended records to stable storage.
  core::Status sync();
  // Records that everything before `seq` (which starts at `pos`) is done; deletes segments
  // that hold only finished records.
  core::Status checkpoint(uint64_t seq, JournalPos pos);
  // Bytes of records not yet checkpointed.
  uint64_t pendingBytes() const;
  uint64_t diskBytes() const;

 private:
  CaptureJournal() = default;
  core::Status openSegmentForAppend(uint64_t first_seq, bool create);
  int readFd(uint64_t segment);
  std::string segmentPath(uint64_t first_seq) const;

  Options opt_;
  std::mutex append_mu_;        // serialises appends (and segment roll-over)
  mutable std::mutex meta_mu_;  // guards the fields below; never held across I/O but unlink
  std::map<uint64_t, uint64_t> segments_;  // first seq -> bytes of complete records
  uint64_t active_ = 0;                     // first seq of the segment being appended to
  uint64_t active_size_ = 0;
  int write_fd_ = -1;
  uint64_t checkpoint_seq_ = 1;
  JournalPos checkpoint_pos_;
  std::atomic<uint64_t> next_seq_{1};
  int read_fd_ = -1;            // the reader's own (one reader at a time)
  uint64_t read_segment_ = 0;
};

}  // namespace drosera::sensor
