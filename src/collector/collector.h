// The collector (DESIGN decisions 5-7): receives events from drosera sensors (batches of event
// lines), from the real mlogc client of ModSecurity v2 (PUT /rpc/auditLogReceiver) and from
// ModSecurity audit logs it tails; stores them (answering 2xx only after the commit); serves the
// JSON API. Every route needs a token. Thread-safety: respond() runs concurrently on the io
// threads; start/stop from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <thread>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/auth.h"
#include "core/config.h"
#include "core/status.h"
#include "http/server.h"
#include "store/store.h"

namespace drosera::collector {

class FileTailer;

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

  http::Response respond(core::Capture& capture, const http::ListenerSpec& listener) override;
  void captured(core::Capture&&) override {}

  // Stores parsed events, counting; used by ingest, mlogc and the tailers.
  core::Result<store::InsertResult> write(const std::vector<core::Event>& events,
                                          const std::vector<store::FileOffset>& offsets = {});

 private:
  Collector() = default;
  http::Response ingest(core::Capture& c);
  http::Response heartbeat(core::Capture& c);
  http::Response mlogc(core::Capture& c);
  http::Response api(core::Capture& c, const std::string& path);
  void maintenance();

  core::Config config_;
  Credentials credentials_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::unique_ptr<FileTailer>> tailers_;
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
