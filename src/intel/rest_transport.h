// MISP's REST API as a transport (docs/misp.md, "REST"): events/add for a new day, then only
// what changed: events/edit (analysis, info), attributes/add and attributes/edit, objects/add,
// tags/attachTagToObject, sightings/add by attribute UUID, and events/publish once the day is
// over. Headers: Authorization (the API key, never logged), Accept and Content-Type
// application/json. TLS verification is on; retries with backoff on 5xx, 429 and transport
// errors.
//
// Exactly-once effects across crashes. What was done is kept per event in the store (namespace
// "misp", key "rest/<event uuid>") after every call. Adds carry deterministic UUIDs, so a call
// repeated after a crash gets MISP's "already exists" answers, taken as success (followed by
// an edit to the current values). Sightings and publishing are not idempotent in MISP: the
// call is written down as in flight before it is sent, and after a crash (or a timeout, or a
// 5xx) the transport first asks MISP whether it happened (sightings/restSearch,
// events/restSearch) before sending it again. A sighting MISP cannot answer for (an older
// MISP refuses the query with 405) is not sent again: a duplicate could never be taken back.
//
// Stopping (RestOptions::stop): a call in flight is aborted, no attempt or backoff follows, and
// publish() returns an error; what MISP did not confirm is not recorded as done (a sighting or
// a publish stays written down as in flight, and is asked about on the next run).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "http/client.h"
#include "intel/misp_config.h"
#include "intel/misp_transport.h"
#include "store/store.h"

namespace drosera::intel {

struct RestOptions {
  std::string url;      // base URL of the MISP instance
  std::string api_key;  // never logged
  bool verify_tls = true;
  std::string ca_file;
  double timeout_s = 30;
  int retry_attempts = 4;      // attempts per call (at least 1)
  double retry_backoff_s = 1;  // doubles after each failure
  double max_backoff_s = 60;
  std::function<void(double seconds)> sleep;  // default: really sleep, until `stop` (tests: record)
  std::string user_agent = "drosera";
  // Owned by whoever stops the transport (the reporter): once true, calls give up at once.
  const std::atomic<bool>* stop = nullptr;
};

struct RestStats {
  uint64_t calls = 0;
  uint64_t retries = 0;
  uint64_t already_existed = 0;  // "already exists" answers taken as success
  uint64_t rejected = 0;         // values or tags MISP refused (logged, not retried)
  uint64_t sightings = 0;
  uint64_t sightings_failed = 0;  // answered 200 with only a message
  uint64_t sightings_unknown = 0;  // not sent again: MISP could not say whether it arrived
  uint64_t reconciled = 0;        // in-flight calls found done after a crash
  uint64_t events_refused = 0;    // events/add refused (e.g. a blocklisted UUID)
  uint64_t events_recreated = 0;  // the event was gone from MISP: added again
};

class RestTransport final : public MispTransport {
 public:
  // `make_client` makes the client (kept-alive connection) for the idempotent calls, and a new
  // one for each sightings/add and events/publish, so that these always go out on a new
  // connection: libcurl silently resends a request whose *reused* connection died before an
  // answer, and for a call MISP cannot deduplicate that resend would be a duplicate.
  RestTransport(RestOptions options,
                const std::function<std::unique_ptr<http::HttpClient>()>& make_client,
                store::Store* store);
  ~RestTransport() override;

  std::string name() const override { return "rest"; }
  std::string where() const override { return options_.url; }
  // A 403 on events/add (MISP refuses the event, e.g. its UUID is on the event blocklist) is
  // logged and the event is left alone from then on; an event deleted from MISP is added again.
  core::Status publish(const PublishRequest& request) override;
  core::Status flush() override { return core::Status::ok(); }

  const RestStats& stats() const { return stats_; }

 private:
  struct Progress;
  struct Reply;
  core::Result<Reply> call(const std::string& method, const std::string& path,
                           const std::string& body, bool retry, bool once = false);
  core::Status save(const std::string& event_uuid, const Progress& p);
  core::Status attachTag(const std::string& uuid, const std::string& tag);
  // Whether MISP holds a sighting whose sending failed (or was cut off by a crash). An error:
  // the question did not get through (ask again later) or the key was refused.
  enum class SightingCheck { kAbsent, kPresent, kUnknown };
  core::Result<SightingCheck> findSighting(const MispSighting& s);
  // reconcile_first: ask MISP first; send_if_unknown: send when it cannot tell (until this call
  // has sent it once).
  core::Status sendSighting(const MispSighting& s, bool reconcile_first, bool send_if_unknown,
                            bool* sent);
  core::Status sendPublish(const std::string& event_uuid, bool reconcile_first);
  core::Status publishOnce(const PublishRequest& request, bool* gone);
  core::Result<bool> eventExists(const std::string& event_uuid);
  bool stopping() const;

  RestOptions options_;
  std::function<std::unique_ptr<http::HttpClient>()> make_client_;
  std::unique_ptr<http::HttpClient> client_;
  store::Store* store_;
  RestStats stats_;
};

// The API key: the file's content (trimmed) when api_key_file is set, else the environment
// variable api_key_env. An error names where it looked, never the key.
core::Result<std::string> loadApiKey(const MispConfig& config);

}  // namespace drosera::intel
