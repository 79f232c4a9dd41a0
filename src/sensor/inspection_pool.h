// Between answering and inspecting: every capture is appended to the capture journal, held in a
// bounded in-memory queue when there is room, and inspected by a pool of threads in journal
// order; what did not fit in memory is read back from the journal. After each event is written,
// a checkpoint (persisted periodically, after the event log is synced) lets finished journal
// segments go. After a restart, whatever the checkpoint does not cover is inspected again.
// Thread-safety: submit() from any thread; start/stop from one owner thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/capture.h"
#include "core/verdict.h"
#include "engine/inspector.h"
#include "sensor/capture_journal.h"
#include "sensor/event_log.h"

namespace drosera::sensor {

struct PoolOptions {
  int threads = 1;
  int nice = 0;  // applied to each inspector thread
  uint64_t queue_max_items = 10000;
  uint64_t queue_max_bytes = 64ull << 20;
  uint64_t backlog_max_bytes = 1ull << 30;
  FsyncPolicy fsync = FsyncPolicy::kInterval;
  double fsync_interval_s = 1;
};

// Called on an inspector thread with the capture and its verdict; returns false if the event
// could not be written (the capture then stays in the journal and is retried).
using VerdictSink = std::function<bool(const core::Capture&, const core::Verdict&, int64_t done_us)>;
// Called once before durable progress is recorded: must make written events durable, and
// return false when it could not (the checkpoint then waits, and the journal keeps them).
using SyncFn = std::function<bool()>;

struct PoolStats {
  uint64_t queued_memory = 0;    // captures waiting in memory
  uint64_t queued_bytes = 0;
  uint64_t backlog = 0;          // captures not yet inspected (memory + disk)
  uint64_t backlog_disk_bytes = 0;
  uint64_t inspected = 0;
  uint64_t rejected_backlog_full = 0;
  uint64_t journal_errors = 0;
  int64_t last_lag_ms = 0;       // answer-to-inspection delay of the latest inspected capture
  uint64_t backlog_peak = 0;
  uint64_t out_of_memory = 0;   // inspections and event writes that ran out of memory
  uint64_t engine_gave_up = 0;  // captures written uninspected after the engine ran out
};

class InspectionPool {
 public:
  InspectionPool(engine::Inspector& inspector, std::unique_ptr<CaptureJournal> journal,
                 PoolOptions options, VerdictSink sink, SyncFn sync_events);
  ~InspectionPool();

  void start();
  // Inspects what is queued for up to `drain_s` seconds, then stops the threads. What is left
  // stays in the journal for the next start.
  void stop(double drain_s);

  // Journals and queues one capture (assigning its seq) and moves from it. Returns false, and
  // leaves `capture` as it was, when the journal is over its cap or cannot be written: the
  // caller then records the capture uninspected.
  bool submit(core::Capture& capture, std::string* why);

  PoolStats stats() const;
  // Persists progress now (also done periodically).
  void checkpointNow();

 private:
  struct Item {
    uint64_t seq;
    JournalPos pos;
    JournalPos next;
    core::Capture capture;
    size_t bytes;
  };

  void worker();
  void maintenance();
  // Takes the next capture in journal order, from memory or from disk. Blocks until there is
  // one; false when stopping.
  bool take(Item* out);
  // Writes completed captures in seq order; false when stopping interrupted a failing write.
  bool writeInOrder();
  // inspect() and sink_() when memory runs out (std::bad_alloc, from the engine or the event
  // record): an inspection is tried again a few times, then the capture goes out uninspected
  // (engine_error); a write counts as failed, and is retried like one to a full disk.
  core::Verdict inspectGuarded(const core::Capture& capture);
  bool sinkGuarded(const core::Capture& capture, const core::Verdict& verdict, int64_t done_us);

  struct Completed {
    core::Capture capture;
    core::Verdict verdict;
    int64_t done_us = 0;
  };

  engine::Inspector& inspector_;
  std::unique_ptr<CaptureJournal> journal_;
  PoolOptions opt_;
  VerdictSink sink_;
  SyncFn sync_events_;

  // Lock order: dispatch_mu_ before mu_. mu_ is held only for a few instructions (never across
  // I/O), because answering threads take it in submit() and inspector threads run at a lower
  // priority: a reader preempted while holding it would stall the answers.
  std::mutex append_mu_;             // journal order == memory order among submitters
  std::mutex dispatch_mu_;           // one worker at a time chooses (and reads) the next item
  mutable std::mutex mu_;
  std::condition_variable cv_;       // workers wait for work
  std::condition_variable idle_cv_;  // stop() waits for the queue to empty
  std::deque<Item> memory_;
  uint64_t memory_bytes_ = 0;
  uint64_t next_dispatch_seq_ = 0;
  JournalPos next_dispatch_pos_;
  std::map<uint64_t, JournalPos> in_flight_;  // dispatched, not yet written: seq -> record start
  std::map<uint64_t, Completed> completed_;   // inspected, waiting for an earlier seq
  std::condition_variable reorder_cv_;
  bool writing_ = false;
  bool stopping_ = false;

  std::atomic<uint64_t> inspected_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> journal_errors_{0};
  std::atomic<uint64_t> out_of_memory_{0};
  std::atomic<uint64_t> engine_gave_up_{0};
  std::atomic<int64_t> last_lag_ms_{0};
  uint64_t backlog_peak_ = 0;

  std::vector<std::thread> threads_;
  std::thread maintenance_;
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool maint_stop_ = false;
};

}  // namespace drosera::sensor
