// The Elasticsearch / OpenSearch _bulk output (docs/ecs.md, reference/collection.md 6.3).
//
// Reads the store after its own cursor (EcsBulkConfig::cursor_name, "ecs-bulk") into a window of
// at most batch_docs unfinished events (and up to 16 times as many finished ones behind an
// unfinished one, kept as seqs) and sends them with `create` and a deterministic _id
// ("<sensor>:<unique_id>"), so a resend is answered 409 and counted as done: nothing is lost or
// indexed twice while Elasticsearch is away or the collector restarts. The index template is
// installed (PUT _index_template) before the first document.
//
// Per item: 2xx and 409 done; 429 and 5xx sent again; a refusal of the item's index (403, 404, a
// write block, a closed index, the shard limit, no write index) sends that index's documents
// again after an own backoff while the others flow, and dead-letters them after 16 refusals
// unless the index is the one new events go to; other statuses dead-lettered (a record in the
// store, Store::putState(dead_letter_ns, _id, {...}); the event stays in the store).
// Whole request: 429, 5xx, other statuses and transport failures (timeout, refused) retried
// with exponential backoff and jitter; 413 and 400 halve the batch (a single document is
// dead-lettered, unless the request before it was a lone refused document too: then the
// endpoint is at fault and the output retries with backoff); 401/403 pause the output for
// auth_pause_s and set the auth_failed flag. The cursor moves only over the contiguous prefix of
// finished items. One request in flight.
//
// Thread-safety: start() runs the loop on an own thread until stop() (or the destructor, which
// waits for the request in flight: at most timeout_s); wake() and stats() from any thread.
// step() runs one turn of the loop for a caller that drives it (not together with start()).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "ecs/ecs_config.h"
#include "ecs/ecs_mapping.h"
#include "ecs/geo.h"
#include "ecs/index_template.h"
#include "ecs/waiter.h"
#include "http/client.h"
#include "store/store.h"

namespace drosera::ecs {

class BulkOutput {
 public:
  struct Stats {
    uint64_t cursor = 0;      // last store sequence known indexed (or dead-lettered)
    uint64_t read = 0;        // events read from the store
    uint64_t created = 0;     // items answered 2xx
    uint64_t duplicates = 0;  // items answered 409: indexed before (a resend)
    uint64_t dead_lettered = 0;
    uint64_t item_retries = 0;     // items answered 429/5xx or refused for their index, sent again
    uint64_t index_refusals = 0;   // items refused for their index's reason (a subset of the above)
    uint64_t requests = 0;         // _bulk requests sent
    uint64_t failed_requests = 0;  // failed turns: transport, whole-request and store errors
    uint64_t splits = 0;           // batches halved after 413/400
    uint64_t missed = 0;  // events retention deleted before this output read them (seq gaps)
    bool template_installed = false;
    bool auth_failed = false;  // the last answer was 401/403: paused
    bool healthy = true;       // false while requests fail
    std::string last_error;    // never holds credentials
    // Indices refusing documents now: their documents wait, or are dead-lettered once the index
    // was refused 16 times.
    std::vector<std::string> refused_indices;
  };

  // Checks the configuration (index name, auth, template) and reads the cursor; sends nothing.
  // `store` and `geo` (may be null) must outlive the output. `client`: null for libcurl's.
  static core::Result<std::unique_ptr<BulkOutput>> create(
      store::Store& store, const EcsBulkConfig& config, EcsMapper mapper,
      const GeoLookup* geo = nullptr, std::unique_ptr<http::HttpClient> client = nullptr);
  ~BulkOutput();
  BulkOutput(const BulkOutput&) = delete;
  BulkOutput& operator=(const BulkOutput&) = delete;

  void start();
  void stop();
  void wake();  // new events were stored
  Stats stats() const;

  // One turn: install the template if needed, fill the window, send one request when a batch is
  // due, move the cursor. Returns the seconds to wait before the next turn.
  double step();

 private:
  struct Item {
    uint64_t seq = 0;
    std::string id;
    std::string index;
    std::string doc;  // emptied once done: done items stay in the window only as seqs
    bool done = false;
    int server_errors = 0;  // 5xx (or no status) for it in requests where others went in
  };
  // An index the cluster refuses documents for (an index-level answer to an item).
  struct Refusal {
    int refusals = 0;          // requests in which its documents were refused
    int counted = 0;           // of those, the ones that count towards dead-lettering (below)
    bool own_went_in = false;  // a document for it went in since: the refusal is per document
    bool dead = false;         // its documents are dead-lettered at their first refusal
    double retry_at = 0;       // steady seconds: its documents are not sent before
    double last_at = 0;        // steady seconds of the last refusal
    std::string since;         // wall time of the first refusal, for the dead letters
  };
  struct Turn {
    double delay_s = 0;
    bool wakeable = false;
  };

  BulkOutput(store::Store& store, const EcsBulkConfig& config, EcsMapper mapper,
             const GeoLookup* geo, std::unique_ptr<http::HttpClient> client);
  Turn turn();
  bool installTemplate(Turn& wait);  // false: not installed, `wait` says how long to wait
  core::Status fillWindow();
  Turn sendBatch();
  void advanceCursor();
  bool deadLetter(Item& item, int status, const std::string& type, const std::string& reason,
                  bool log = true);
  double backoff();
  double jittered(int n);                          // the n-th delay of the backoff series, jittered
  bool parked(const Item& item, double at) const;  // waits for its index's backoff at `at`
  void publishRefusals();
  Turn failed(const std::string& error);
  Turn authFailed(int status);
  http::ClientRequest request(std::string method, std::string path) const;
  void run();

  store::Store& store_;
  EcsBulkConfig config_;
  EcsMapper mapper_;
  const GeoLookup* geo_;
  std::unique_ptr<http::HttpClient> client_;
  std::string auth_header_;
  std::string template_json_;

  std::deque<Item> window_;       // seq order; done items leave from the front
  std::map<std::string, Refusal> refused_;  // by index name
  uint64_t last_read_ = 0;        // highest seq in or before the window
  uint64_t committed_ = 0;        // cursor as stored
  uint64_t prefix_ = 0;           // highest seq of the finished prefix (>= committed_)
  double first_pending_at_ = -1;  // steady seconds when the oldest unsent item was read
  size_t send_limit_ = 0;         // items per request (halved on 413/400)
  bool template_done_ = false;
  bool retrying_ = false;  // the last request left items to send again
  int failures_ = 0;       // consecutive failed turns (backoff exponent)
  int lone_refusals_ = 0;  // single documents refused whole (400/413) since the last 2xx
  std::mt19937_64 rng_;

  mutable std::mutex stats_mu_;
  Stats stats_;
  Waiter waiter_;
  std::thread thread_;
};

}  // namespace drosera::ecs
