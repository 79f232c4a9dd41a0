// The sensor: wires the HTTP server, the decoy site, the inspection pool and the event log.
// It answers every request from the site at once and hands the capture on; inspection and the
// event line follow on the inspector threads. Thread-safety: respond()/captured() are called
// concurrently by the server; start/stop from the owner thread; status() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "engine/inspector.h"
#include "http/server.h"
#include "sensor/event_log.h"
#include "sensor/event_record.h"
#include "sensor/inspection_pool.h"
#include "sensor/attacker_state.h"
#include "sensor/shipper.h"
#include "sensor/site.h"
#include "sensor/traps/traps.h"

namespace drosera::sensor {

struct SensorPaths {
  std::string data_dir;
  std::string event_log;
  std::string journal_dir;
  std::string status_file;
  std::string tls_dir;
  std::string state_dir;   // attacker state and honeytokens
};

class Sensor final : public http::Handler {
 public:
  // Builds everything from the configuration (loading the engine and the site) without
  // listening yet. `inspector` overrides the ModSecurity engine (tests, benchmarks).
  static core::Result<std::unique_ptr<Sensor>> create(
      const core::Config& config, std::unique_ptr<engine::Inspector> inspector = nullptr);
  ~Sensor() override;

  core::Status start();
  // Ships the event log to a collector (after start()); stopped by stop() once the last events
  // are written. `options.event_log`, `state_path` and `sensor_id` are filled in here.
  void startShipper(ShipperOptions options);
  // Stops listening, drains inspection for inspection.shutdown_drain_s, persists progress.
  void stop();

  const std::vector<http::BoundListener>& bound() const { return server_->bound(); }
  const SensorPaths& paths() const { return paths_; }
  const std::string& sensorId() const { return context_.sensor_id; }
  std::string statusJson() const;

  http::Response respond(core::Capture& capture, const http::ListenerSpec& listener) override;
  void captured(core::Capture&& capture) override;
  bool answersBeforeBody(const core::HttpRequestData& head,
                         const http::ListenerSpec& listener) override;

 private:
  Sensor() = default;
  bool writeEvent(const core::Capture& c, const core::Verdict& v, int64_t done_us);
  void writeUninspected(core::Capture& c, const std::string& reason);
  std::string newUniqueId();
  void statusLoop();
  void saveState() const;
  void writeStatusFile() const;

  core::Config config_;
  SensorPaths paths_;
  EventContext context_;
  std::unique_ptr<engine::Inspector> inspector_;
  std::map<std::string, Site> sites_;  // by root folder
  std::vector<const Site*> listener_sites_;
  std::unique_ptr<EventLog> event_log_;
  std::unique_ptr<InspectionPool> pool_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<traps::Traps> traps_;      // null when traps are disabled
  std::unique_ptr<AttackerState> attackers_;
  std::unique_ptr<Shipper> shipper_;
  // The attacker's view for the event being written: a write that failed (a full disk, out of
  // memory) is retried with the same capture, which counts for its attacker once.
  std::mutex attacker_mu_;
  std::string attacker_for_;  // unique_id of the capture attacker_view_ belongs to
  AttackerView attacker_view_;

  uint64_t id_nonce_ = 0;
  std::atomic<uint64_t> id_counter_{0};
  std::atomic<uint64_t> uninspected_{0};
  std::atomic<uint64_t> events_lost_{0};
  // The last failure to write the event log or the journal (a full disk, mostly): shown as an
  // alert in the status until writes succeed again.
  void noteWriteError(const std::string& what);
  mutable std::mutex storage_mu_;
  std::string storage_error_;
  int64_t storage_error_since_us_ = 0;
  int64_t storage_error_last_us_ = 0;
  std::atomic<uint64_t> captures_{0};
  int64_t started_us_ = 0;

  std::thread status_thread_;
  std::mutex status_mu_;
  std::condition_variable status_cv_;
  bool status_stop_ = false;
  std::atomic<bool> started_{false};
};

// The honeytraps of this install (its secret and honeytokens in the data folder), as a rule file
// for another ModSecurity (v2 Apache, v3 nginx): `drosera rules export`.
core::Result<std::string> exportTrapRules(const core::Config& config);
// Builds this install's traps (creating its secret on first use).
core::Result<std::unique_ptr<traps::Traps>> makeTraps(const core::Config& config);
// Reads <data_dir>/sensor-id, creating it on first start. Empty `configured` means generate.
core::Result<std::string> loadOrCreateSensorId(const std::string& data_dir,
                                               const std::string& configured);

}  // namespace drosera::sensor
