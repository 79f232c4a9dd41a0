// The capture journal: every answered request is appended here before inspection, so that a
// crash or kill -9 loses nothing that reached the disk, and a burst larger than the in-memory
// queue waits here instead of being dropped. Segment files seg-<first seq>.cap hold records
// [magic u32][length u32][crc32 u32][seq u64][payload]; a checkpoint file says up to where
// inspection is done, and finished segments are deleted.
// Thread-safety: append/read/checkpoint must be serialised by the caller; sync() may run
// concurrently with them.
#pragma once

#include <cstdint>
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

  uint64_t nextSeq() const { return next_seq_; }
  JournalPos endPos() const { return {active_, active_size_}; }
  // Position of `seq`'s record, assuming it is at or after `from` (used after restart).
  JournalPos checkpointPos() const { return checkpoint_pos_; }
  uint64_t checkpointSeq() const { return checkpoint_seq_; }

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
  std::map<uint64_t, uint64_t> segments_;  // first seq -> size in bytes
  uint64_t active_ = 0;                     // first seq of the segment being appended to
  uint64_t active_size_ = 0;
  int write_fd_ = -1;
  uint64_t next_seq_ = 1;
  uint64_t checkpoint_seq_ = 1;
  JournalPos checkpoint_pos_;
  int read_fd_ = -1;
  uint64_t read_segment_ = 0;
  mutable std::mutex fd_mu_;  // guards write_fd_ against sync() from another thread
};

}  // namespace drosera::sensor
