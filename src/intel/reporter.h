// The MISP reporter (`drosera report misp`, and periodically inside `drosera run` and
// `drosera collector`): reads the store from its cursor "misp", folds each event into the
// aggregate of its sensor group and UTC day (aggregate.h), publishes what changed through the
// transports (feed directory and/or REST), closes days once they are over, and advances the
// cursor only after the aggregates are in the store and every transport made its copy
// durable. Killed at any point (kill -9), a restart re-reads from the cursor, skips what the
// stored aggregates already hold, and resends only what no transport recorded as done: the
// final feed and MISP hold exactly what one clean run produces (docs/misp.md, "Idempotence").
//
// Never reported: addresses that are not global (isNonGlobalAddress: loopback, private,
// link-local, multicast...) as sources or URL hosts, warninglisted IPs and URLs, the configured
// allowlist, the sensors' own addresses (configured, and every destination address seen in
// events).
//
// One reporter per store: its state lives in the store (namespace "misp"). Not thread-safe
// (but requestStop(), from any thread); PeriodicReporter runs one on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "intel/aggregate.h"
#include "intel/catalog.h"
#include "intel/misp_config.h"
#include "intel/misp_model.h"
#include "intel/misp_transport.h"
#include "intel/warninglists.h"
#include "store/store.h"

namespace drosera::intel {

struct ReportStats {
  uint64_t events_read = 0;
  uint64_t events_folded = 0;
  uint64_t events_already_folded = 0;  // re-read after a crash, skipped
  uint64_t events_filtered = 0;        // warninglisted, allowlisted or a sensor's own address
  uint64_t events_too_old = 0;         // older than the feed's retention
  uint64_t events_published = 0;       // MISP events brought up to date (per transport)
  uint64_t days_closed = 0;
  uint64_t events_missed = 0;  // deleted by retention before they were read (seq gaps)
  uint64_t cursor = 0;  // the store seq handled
};

// One publication of an address: the MISP event (and its ip-src attribute) that holds it, through
// which transport. The reporter records these in the store (namespace "misp-ip", one value per
// address) once a transport has made the event durable; the attacker page shows them.
struct AddressReport {
  std::string destination;  // the transport: "feed" or "rest"
  std::string where;        // the feed folder or the server's URL
  std::string event_uuid;
  std::string attribute_uuid;
  std::string date;         // the event's UTC day
  int64_t published_us = 0; // the first time it was made durable there
};

// What was published about `ip` (empty: nothing so far). Thread-safe as the store is.
core::Result<std::vector<AddressReport>> addressReports(store::Store& store, const std::string& ip);

struct ReporterOptions {
  std::function<int64_t()> now_us;  // the clock; default: the system's
  size_t max_batches = 100000;      // per runOnce()
  // Test seam: called before each state write ("part", "index", "cursor", "pub"); returning
  // false makes the write fail as if the process died there.
  std::function<bool(const std::string& step)> fault;
  // A file locked (flock) for the reporter's whole life, so that two processes on one host
  // never report from the same store at once (`drosera report misp` while `drosera run`
  // reports): creation fails with kUnavailable naming the file. Empty: no lock.
  std::string lock_path;
};

class Reporter {
 public:
  // Builds everything from the configuration: the catalogue and warninglists from their
  // folders, the feed transport (<data_dir>/misp-feed when no url is set, or feed_dir) and the
  // REST transport (url set; API key from api_key_env/api_key_file). Errors name the key.
  static core::Result<std::unique_ptr<Reporter>> create(const MispConfig& config,
                                                        const std::string& data_dir,
                                                        store::Store* store,
                                                        ReporterOptions options = {});
  // With explicit parts (tests, tools). The transports are used in order.
  static core::Result<std::unique_ptr<Reporter>> createWith(
      const MispConfig& config, store::Store* store, MispCatalog catalog, Warninglists lists,
      std::vector<std::unique_ptr<MispTransport>> transports, ReporterOptions options = {});
  ~Reporter();

  // Reads until the store is caught up, publishes, closes finished days. An error (MISP away,
  // disk full) leaves the cursor where the last durable publish put it: call again later.
  core::Result<ReportStats> runOnce();

  // Makes a runOnce() in progress (on another thread) give up at its next step (between batches,
  // events and transports, REST attempts and backoffs; a REST call in flight is aborted) with an
  // error, and every later one until resume(). Nothing a transport did not confirm is recorded
  // as done: the cursor stays where the last durable publish put it. Thread-safe.
  void requestStop() { stop_.store(true); }
  void resume() { stop_.store(false); }

  const std::vector<std::unique_ptr<MispTransport>>& transports() const { return transports_; }
  const Warninglists& warninglists() const { return lists_; }
  const MispCatalog& catalog() const { return catalog_; }
  // The model options in force (after the namespace and organisation UUIDs were settled).
  const ModelOptions& modelOptions() const { return model_; }

 private:
  struct Day;
  Reporter(const MispConfig& config, store::Store* store, MispCatalog catalog, Warninglists lists,
           std::vector<std::unique_ptr<MispTransport>> transports, ReporterOptions options);
  core::Status init();
  core::Result<ReportStats> runOnceImpl();
  core::Status putState(const std::string& step, const std::string& key, const std::string& value);
  core::Status processBatch(const std::vector<store::StoredEvent>& batch, ReportStats* stats);
  core::Status loadIndex();
  core::Status saveIndex();
  core::Result<Day*> loadDay(std::map<std::string, Day>& days, const std::string& key);
  core::Status saveDay(Day& day);
  core::Status publishDays(std::map<std::string, Day>& days, ReportStats* stats);
  core::Status recordAddresses(const MispTransport& t, const MispEvent& event);
  core::Status maintain(ReportStats* stats);
  bool sourceFiltered(const std::string& ip, const core::Event& e) const;
  bool urlAllowed(const std::string& url, const core::Event& e) const;
  std::string groupOf(const std::string& sensor) const;
  int64_t nowUs() const;
  bool stopping() const { return stop_.load(); }

  MispConfig config_;
  store::Store* store_;
  MispCatalog catalog_;
  Warninglists lists_;  // the warninglists
  Warninglists allow_;  // allowlist and configured sensor addresses
  std::vector<std::unique_ptr<MispTransport>> transports_;
  ReporterOptions options_;
  ModelOptions model_;
  FoldOptions fold_;
  // (transport, event, address) already in the "misp-ip" records: not read again.
  std::set<std::string> recorded_addresses_;
  std::set<std::string> learned_addresses_;    // destination addresses seen in events
  std::map<std::string, std::string> groups_;  // sensor -> group
  struct IndexEntry {
    int parts = 0;
    bool closed = false;
    bool settled = false;  // closed and every part published by every transport
  };
  std::map<std::string, IndexEntry> index_;  // "<group>|<date>" -> entry
  bool initialised_ = false;
  int lock_fd_ = -1;  // options_.lock_path, held while this reporter lives
  std::atomic<bool> stop_{false};  // requestStop(); read by the REST transport too (create())
};

// Runs reporter->runOnce() every interval on its own thread until stop() (or destruction);
// after a failure it retries sooner (backoff from 10 s up to the interval). Logs results.
// stop() makes a pass in progress give up (Reporter::requestStop()): it returns within about a
// second even while MISP does not answer.
class PeriodicReporter {
 public:
  PeriodicReporter(std::unique_ptr<Reporter> reporter, double interval_s);
  ~PeriodicReporter();
  void start();
  void stop();
  // Its passes so far, as one JSON object for the collector's status (/api/v1/status,
  // "outputs"."misp"): runs, failures, the last error, totals of the passes' ReportStats, the
  // store seq handled.
  std::string statusJson() const;

 private:
  void loop();
  std::unique_ptr<Reporter> reporter_;
  double interval_s_;
  mutable std::mutex mu_;  // also guards the figures below
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  uint64_t runs_ = 0, failures_ = 0;
  int64_t last_run_us_ = 0, last_ok_us_ = 0;
  std::string last_error_;
  ReportStats totals_;
};

}  // namespace drosera::intel
