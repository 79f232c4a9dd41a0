// ECS documents as NDJSON files for Filebeat or Elastic Agent to ship: one document per line,
// appended to <path>, rotated by size into <path>.<n> (n grows forever, so a reader can follow
// the files in order; the oldest rotated files are removed past keep_files).
//
// Reads the store after its own cursor (EcsNdjsonConfig::cursor_name, "ecs-ndjson"). A batch is
// written, made durable (fdatasync), then the cursor moves. Each line carries its store sequence
// (event.sequence), so after a crash between the write and the cursor, open() finds the last
// line's sequence and moves the cursor up to it: no event is written twice, none is skipped. A
// line torn by a crash is cut off at open().
//
// Thread-safety: writeBatch() from one thread at a time; start() runs it on an own thread until
// stop() (or the destructor); wake() and stats() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.h"
#include "ecs/ecs_config.h"
#include "ecs/ecs_mapping.h"
#include "ecs/geo.h"
#include "ecs/waiter.h"
#include "store/store.h"

namespace drosera::ecs {

class NdjsonOutput {
 public:
  struct Stats {
    uint64_t cursor = 0;   // last store sequence written
    uint64_t written = 0;  // documents written by this object
    uint64_t rotations = 0;
    uint64_t errors = 0;
    uint64_t missed = 0;  // events retention deleted before this output read them (seq gaps)
    std::string last_error;
  };

  // `store` and `geo` (may be null) must outlive the output. config.path must be set (the app
  // fills the <data_dir>/ecs/ecs.ndjson default).
  static core::Result<std::unique_ptr<NdjsonOutput>> open(store::Store& store,
                                                          const EcsNdjsonConfig& config,
                                                          EcsMapper mapper,
                                                          const GeoLookup* geo = nullptr);
  ~NdjsonOutput();
  NdjsonOutput(const NdjsonOutput&) = delete;
  NdjsonOutput& operator=(const NdjsonOutput&) = delete;

  // Writes the next batch of events after the cursor. Returns how many were written (0: caught
  // up). On a write error nothing partial stays in the file and the cursor does not move.
  core::Result<uint64_t> writeBatch();

  void start();
  void stop();
  void wake();  // new events were stored
  Stats stats() const;

 private:
  NdjsonOutput(store::Store& store, const EcsNdjsonConfig& config, EcsMapper mapper,
               const GeoLookup* geo);
  core::Status recover();
  core::Status openCurrent();
  core::Status rotate();
  void removeOldFiles();
  void run();

  store::Store& store_;
  EcsNdjsonConfig config_;
  EcsMapper mapper_;
  const GeoLookup* geo_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t next_rotation_ = 1;
  uint64_t cursor_ = 0;          // in memory: what the file holds
  bool cursor_unsaved_ = false;  // the store's cursor lags cursor_ (setCursor failed)
  std::string buffer_;

  mutable std::mutex stats_mu_;
  Stats stats_;
  Waiter waiter_;
  std::thread thread_;
};

}  // namespace drosera::ecs
