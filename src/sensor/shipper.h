// The shipper: tails the sensor's event log (following rotation to event.log.<n>), sends batches
// of whole lines to the collector over HTTP(S) with the sensor's token, and advances a persisted
// position only after the collector answered 2xx (it answers after the batch is committed).
// While the collector is away it retries the same batch with jittered exponential backoff (no
// sooner than a Retry-After asks), and a failed heartbeat the same way: nothing lost, nothing
// reordered; a resend after a crash is deduplicated by the store. Its lag is in stats().
// Thread-safety: start/stop from the owner; stats() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/status.h"
#include "http/client.h"

namespace drosera::sensor {

struct ShipperOptions {
  std::string url;              // the collector's ingest endpoint (.../api/v1/ingest)
  std::string token;            // this sensor's token
  std::string sensor_id;
  std::string event_log;        // the current event log; rotated files are <event_log>.<n>
  std::string state_path;       // persisted position
  size_t batch_events = 1000;
  uint64_t batch_bytes = 4ull << 20;
  double initial_backoff_s = 1;
  double max_backoff_s = 60;
  double poll_interval_s = 0.2;  // how often an idle shipper looks for new lines
  double heartbeat_s = 10;       // an idle shipper still reports in this often
  double timeout_s = 30;
  bool verify_tls = true;
  std::string ca_file;
  // Packed ingest (store/packed.h), set by the app (collector::SensorPacker): `pack` fills
  // `packed` and its content type from a batch of lines and says true, or false to send the
  // lines; `answered` hears every answer to an ingest (its status and body, and whether the
  // batch was packed).
  std::function<bool(std::string_view lines, std::string* packed, std::string* content_type)> pack;
  std::function<void(int status, std::string_view body, bool was_packed)> answered;
  // Tests only: runs between the listing of the event log files and the reading of them (where
  // a rotation can fall under load).
  std::function<void()> after_listing_for_test;
  // Tests only: runs in the listing, between the reading of the folder and the stat of the
  // current file (where a rotation hid the file being renamed).
  std::function<void()> during_listing_for_test;
};

struct ShipperStats {
  uint64_t events = 0;          // lines the collector accepted
  uint64_t bytes = 0;           // event line bytes
  uint64_t sent_bytes = 0;      // what went: packed batches are smaller
  uint64_t batches = 0;
  uint64_t packed_batches = 0;
  uint64_t failures = 0;        // failed attempts (retried)
  uint64_t skipped_bytes = 0;   // unreadable data skipped (torn tail of a rotated file, a line
                                // longer than any the sensor writes, one the collector refuses)
  uint64_t lost_files = 0;      // files the event log's quota removed before they were shipped
  uint64_t refused_lines = 0;   // event lines skipped whole as too large, so lost: refused alone
                                // by the collector (413), or longer than kMaxEventLineBytes
  uint64_t rewinds = 0;         // files found shorter than the saved position (power loss): read again
  uint64_t lag_bytes = 0;       // event log bytes not yet shipped
  int64_t lag_ms = 0;           // age of the oldest event not yet shipped
  int64_t last_success_us = 0;
  std::string last_error;
};

class Shipper {
 public:
  // `status_json` supplies the sensor's status document for heartbeats (may be empty).
  Shipper(ShipperOptions options, std::unique_ptr<http::HttpClient> client,
          std::function<std::string()> status_json = {});
  ~Shipper();

  void start();
  void stop();
  ShipperStats stats() const;

  // One step: reads the next batch and sends it once. Ok(true) if lines were shipped,
  // Ok(false) if there was nothing to ship, an error if sending failed (nothing advanced).
  // Call from one thread at a time (the shipper's own once started).
  core::Result<bool> shipOnce();

 private:
  // shipOnce() once over one listing of the files; `rotated` when the log rotated under it.
  core::Result<bool> shipStep(bool* rotated);
  // A place in one event log file: its inode, and its first bytes (up to 4 KiB of complete lines,
  // taken when the position is first set in the file), since a file removed by the log's quota
  // frees its inode for the next file. Never an inode without first bytes: inode 0 (and offset
  // 0) is "the oldest file there is", where the shipper starts.
  struct Position {
    uint64_t inode = 0;
    uint64_t offset = 0;
    uint64_t head_len = 0;
    uint64_t head_hash = 0;
    bool operator==(const Position&) const = default;
  };
  void run();
  core::Status loadPosition();
  core::Status savePosition();
  core::Status sendHeartbeat();
  void updateLag();

  ShipperOptions opt_;
  std::unique_ptr<http::HttpClient> client_;
  std::function<std::string()> status_json_;
  Position pos_;
  bool loaded_ = false;
  // Batches are halved for every 413 (the collector's max_batch_bytes is below ours); kept.
  int shrink_ = 0;
  // A packed batch of one line was too large: the next batch (that line) goes unpacked.
  bool unpacked_next_ = false;
  // A line longer than any the sensor writes was skipped in part: skip the rest of it too.
  bool skip_to_newline_ = false;
  // What the collector's last refusal asked with Retry-After (seconds; 0: nothing).
  double retry_after_s_ = 0;
  mutable std::mutex mu_;
  ShipperStats stats_;
  std::thread thread_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace drosera::sensor
