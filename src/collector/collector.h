// The collector (DESIGN decisions 5-7): receives events from drosera sensors (batches of event
// lines), from the real mlogc client of ModSecurity v2 (PUT /rpc/auditLogReceiver) and from
// ModSecurity audit logs it tails; stores them (answering 2xx only after the commit); serves the
// JSON API and the dashboard (dashboard.h). Every API route needs a token; the dashboard's static
// assets do not (they hold no data). Thread-safety: respond() runs concurrently on the io
// threads; start/stop from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <thread>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collector/auth.h"
#include "collector/dashboard.h"
#include "core/config.h"
#include "core/status.h"
#include "http/server.h"
#include "store/store.h"

namespace drosera::collector {

class FileTailer;

// Country and autonomous system of an address, for the dashboard's GeoIP widgets.
struct GeoFacts {
  std::string country_iso_code;  // "FR"
  std::string country_name;
  uint32_t as_number = 0;        // 0: unknown
  std::string as_organization;
};
// Fills `out` for an address; false when nothing is known. Called from the io threads, so it
// must be thread-safe. The app builds one over MaxMind databases (ecs::MaxMindGeoLookup).
using GeoResolver = std::function<bool(std::string_view ip, GeoFacts* out)>;

// One MISP publication that holds an address, for the attacker page.
struct MispReport {
  std::string destination;     // "feed" (a feed directory) or "rest" (a MISP server)
  std::string where;           // the feed folder or the server's URL
  std::string event_uuid;      // the MISP event holding the address's ip-src attribute
  std::string attribute_uuid;  // that attribute
  std::string date;            // the event's UTC day, "2026-11-30"
  int64_t published_us = 0;    // when it was last sent (0: unknown)
};
// Fills `out` with what was published about an address (left empty: not reported); false when
// it cannot tell. Thread-safe, like GeoResolver. Without one (or when it cannot tell) the API
// says so ("tracked": false) and the dashboard shows the address as not reported.
using MispResolver = std::function<bool(std::string_view ip, std::vector<MispReport>* out)>;

struct CollectorStats {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> events{0};         // stored
  std::atomic<uint64_t> duplicates{0};     // already stored, skipped
  std::atomic<uint64_t> rejected{0};       // unparseable records, not stored
  std::atomic<uint64_t> refused{0};        // answered 503: too many writers
  std::atomic<uint64_t> store_errors{0};   // answered 503: the store failed
  std::atomic<uint64_t> mlogc_entries{0};
  std::atomic<uint64_t> mlogc_rejected{0}; // answered 409: never acceptable
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> api_requests{0};
  std::atomic<uint64_t> retention_runs{0};
  std::atomic<uint64_t> retention_deleted{0};  // events deleted by age or size (oldest first)
};

class Collector final : public http::Handler {
 public:
  // Opens the store named by the configuration, unless one is given.
  static core::Result<std::unique_ptr<Collector>> create(
      const core::Config& config, std::unique_ptr<store::Store> store = nullptr);
  ~Collector() override;

  core::Status start();
  void stop();

  const Credentials& credentials() const { return credentials_; }
  Credentials& credentials() { return credentials_; }
  store::Store& store() { return *store_; }
  // "http://127.0.0.1:9080" (the port actually bound).
  std::string baseUrl() const;
  std::string statusJson() const;
  const CollectorStats& stats() const { return stats_; }
  // GeoIP for the API's stats/geo and attacker pages; without one they say "not configured".
  // Call before start().
  void setGeoResolver(GeoResolver resolver) { geo_ = std::move(resolver); }
  // MISP reports per address for the attacker page ("misp" in /api/v1/attackers/<ip>). May be
  // set while the collector runs (the reporter starts once privileges are dropped); it is called
  // outside any lock, so it must hold only what outlives the collector (its store).
  void setMispResolver(MispResolver resolver);
  // The MISP reporter's status, under "misp" in statusJson(). May be set while the collector runs;
  // set it to nullptr before the reporter it reads is destroyed (it is called under a lock
  // that this waits for).
  void setMispStatus(std::function<std::string()> status_json);
  // A reader of the store's sequence (ECS outputs, the MISP reporter) that the owner runs: the
  // collector wakes it after every commit that stored events, and shows its status under
  // "outputs"/<name> in statusJson(). Call before start(); the owner stops the readers before
  // destroying the collector.
  struct StoreReader {
    std::string name;
    std::function<void()> wake;
    std::function<std::string()> status_json;  // one JSON value
  };
  void addStoreReader(StoreReader reader) { readers_.push_back(std::move(reader)); }

  http::Response respond(core::Capture& capture, const http::ListenerSpec& listener) override;
  void captured(core::Capture&&) override {}
  // Before a body is read: 401 for a sender without valid credentials, 409 (mlogc) or 413
  // (ingest) for a body over collector.max_batch_bytes, 413 for a body over 64 KiB anywhere else
  // (the API and the dashboard take none). Nothing of such a body is buffered.
  std::optional<http::Response> beforeBody(const core::HttpRequestData& head,
                                           const http::ListenerSpec& listener) override;

  // Stores parsed events, counting; used by ingest, mlogc and the tailers.
  core::Result<store::InsertResult> write(const std::vector<core::Event>& events,
                                          const std::vector<store::FileOffset>& offsets = {});

 private:
  Collector() = default;
  http::Response ingest(core::Capture& c);
  // The end of ingest(): stores what it parsed or unpacked (`bodies` empty: parsed events).
  http::Response writeBatch(const std::string& sensor, core::Capture& c,
                            const std::vector<core::Event>& events,
                            const std::vector<store::Store::PackedBody>& bodies, uint64_t rejected,
                            const std::string& first_reason);
  http::Response ingestDictionary(core::Capture& c);
  http::Response heartbeat(core::Capture& c);
  http::Response mlogc(core::Capture& c);
  http::Response refuseMlogc(const std::vector<core::Header>& headers);
  http::Response api(core::Capture& c, const std::string& path);
  void maintenance();

  core::Config config_;
  Credentials credentials_;
  std::unique_ptr<store::Store> store_;
  Dashboard dashboard_;  // before server_: its responses point into it
  GeoResolver geo_;
  mutable std::mutex misp_mu_;  // misp_, misp_status_
  MispResolver misp_;
  std::function<std::string()> misp_status_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::unique_ptr<FileTailer>> tailers_;
  std::vector<StoreReader> readers_;
  std::atomic<uint64_t> writers_{0};
  CollectorStats stats_;
  std::string scheme_ = "http";
  std::thread maintenance_;
  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool stopping_ = false;
  bool started_ = false;
  int64_t started_us_ = 0;
};

// A JSON error body {"error": message}.
http::Response jsonError(int status, const std::string& message);
http::Response jsonResponse(int status, std::string body);

}  // namespace drosera::collector
