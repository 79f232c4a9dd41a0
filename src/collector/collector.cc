#include "collector/collector.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "collector/mlogc.h"
#include "collector/parse.h"
#include "collector/tailer.h"
#include "core/config_load.h"
#include "core/out_of_memory.h"
#include "core/paths.h"
#include "http/form.h"
#include "http/parser.h"
#include "http/tls.h"
#include "store/packed.h"

#ifndef DROSERA_VERSION
#define DROSERA_VERSION "0.0.0"
#endif

namespace drosera::collector {
namespace {

// A body where none is expected (the API, the dashboard): refused before it is read past this.
constexpr uint64_t kMaxOtherBody = 64 * 1024;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Holds one of the limited writer slots; 503 when none is free (the sender retries).
class WriterSlot {
 public:
  WriterSlot(std::atomic<uint64_t>& n, uint64_t max) : n_(n) {
    ok_ = n_.fetch_add(1) < max;
  }
  ~WriterSlot() { n_.fetch_sub(1); }
  bool ok() const { return ok_; }

 private:
  std::atomic<uint64_t>& n_;
  bool ok_;
};

}  // namespace

http::Response jsonResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.push_back({"Content-Type", "application/json"});
  r.headers.push_back({"Cache-Control", "no-store"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  return r;
}

http::Response jsonError(int status, const std::string& message) {
  nlohmann::json j = {{"error", message}};
  return jsonResponse(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

core::Result<std::unique_ptr<Collector>> Collector::create(const core::Config& config,
                                                           std::unique_ptr<store::Store> store) {
  std::unique_ptr<Collector> c(new Collector());
  c->config_ = config;
  const auto& cc = config.collector;
  auto creds = Credentials::load(cc, config.general.data_dir);
  if (!creds) return creds.status();
  c->credentials_ = std::move(*creds);
  if (store) {
    c->store_ = std::move(store);
  } else if (cc.store == "postgres") {
    if (cc.postgres.empty()) {
      return core::Status::invalidArgument("collector.postgres: a connection string is needed "
                                           "with collector.store = \"postgres\"");
    }
    auto s = store::openPostgresStore({cc.postgres});
    if (!s) return s.status();
    c->store_ = std::move(*s);
  } else {
    store::SqliteOptions so;
    so.path = cc.sqlite_path.empty() ? config.general.data_dir + "/store.db" : cc.sqlite_path;
    auto s = store::openSqliteStore(so);
    if (!s) return s.status();
    c->store_ = std::move(*s);
  }

  // The HTTP side: the same server as the sensor's, without a persona to hide behind.
  http::ServerOptions so;
  std::string host;
  uint16_t port = 0;
  if (auto st = core::parseListenAddress(cc.listen, &host, &port); !st) return st;
  so.bind = {host};
  http::ListenerSpec l;
  l.port = port;
  l.tls = cc.tls;
  l.persona = http::makePersona("nginx", std::string("drosera/") + DROSERA_VERSION);
  {
    http::Response security;  // the dashboard's headers on the server's own error pages too
    addDashboardSecurityHeaders(&security);
    l.own_answer_headers = std::move(security.headers);
  }
  so.listeners = {l};
  so.parser.max_body_bytes = cc.max_batch_bytes;
  so.parser.max_request_line = 65536;  // long API queries
  // Not a persona's limits: 100 header lines, and up to max_header_bytes of them.
  so.parser.max_headers = 100;
  so.parser.nginx_buffers = false;
  so.io_threads = cc.io_threads;
  so.header_timeout_s = 30;
  so.body_timeout_s = 120;
  so.keepalive_timeout_s = 60;
  so.max_keepalive_requests = 100000;
  so.content_coding = false;  // the API and dashboard are not a persona's site
  so.ranges = false;
  // 0 (by command): `drosera run` and `drosera collector` set them before (src/app/main.cc);
  // a collector made otherwise serves a fleet.
  so.max_connections =
      cc.max_connections != 0 ? cc.max_connections : core::kFleetCollectorConnections;
  so.max_connections_per_ip = cc.max_connections_per_ip != 0
                                  ? cc.max_connections_per_ip
                                  : core::kFleetCollectorConnectionsPerIp;
  if (cc.tls) {
    if (cc.tls_cert.empty()) {
      auto files = http::ensureSelfSignedCert(config.general.data_dir + "/tls", "localhost");
      if (!files) return files.status();
      so.tls_cert_path = files->cert_path;
      so.tls_key_path = files->key_path;
    } else {
      so.tls_cert_path = cc.tls_cert;
      so.tls_key_path = cc.tls_key;
    }
    c->scheme_ = "https";
  }
  c->dashboard_ = Dashboard::load(core::shareDir() + "/web");
  c->server_ = std::make_unique<http::Server>(std::move(so), *c);

  for (const auto& t : cc.tails) {
    c->tailers_.push_back(std::make_unique<FileTailer>(t, *c));
  }
  return c;
}

Collector::~Collector() { stop(); }

core::Status Collector::start() {
  started_us_ = nowUs();
  auto st = server_->start();
  if (!st) return st;
  for (auto& t : tailers_) t->start();
  started_ = true;
  maintenance_ = std::thread([this] { maintenance(); });
  return core::Status::ok();
}

void Collector::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(maint_mu_);
    stopping_ = true;
  }
  maint_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  for (auto& t : tailers_) t->stop();
  server_->stop(2.0);
}

std::string Collector::baseUrl() const {
  const auto& b = server_->bound();
  if (b.empty()) return "";
  std::string host = b[0].address;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return scheme_ + "://" + host + ":" + std::to_string(b[0].port);
}

void Collector::maintenance() {
  const auto& cc = config_.collector;
  std::unique_lock lock(maint_mu_);
  while (!stopping_) {
    maint_cv_.wait_for(lock, std::chrono::duration<double>(cc.retention_interval_s),
                       [&] { return stopping_; });
    if (stopping_) break;
    if (cc.retention_days <= 0 && cc.retention_bytes == 0) continue;
    lock.unlock();
    const int64_t older = cc.retention_days > 0
                              ? nowUs() - static_cast<int64_t>(cc.retention_days * 86400e6)
                              : 0;
    auto r =
        core::failOnOutOfMemory([&] { return store_->applyRetention(older, cc.retention_bytes); });
    stats_.retention_runs.fetch_add(1, std::memory_order_relaxed);
    if (!r) {
      spdlog::warn("collector: retention: {}", r.status().message());
    } else if (r->deleted > 0) {
      stats_.retention_deleted.fetch_add(r->deleted, std::memory_order_relaxed);
      spdlog::info("collector: retention deleted {} events ({} -> {} bytes)", r->deleted,
                   r->bytes_before, r->bytes_after);
    }
    lock.lock();
  }
}

core::Result<store::InsertResult> Collector::write(const std::vector<core::Event>& events,
                                                   const std::vector<store::FileOffset>& offsets) {
  auto r = store_->insert(events, offsets);
  if (!r) {
    stats_.store_errors.fetch_add(1, std::memory_order_relaxed);
    return r;
  }
  stats_.events.fetch_add(r->inserted, std::memory_order_relaxed);
  stats_.duplicates.fetch_add(r->duplicates, std::memory_order_relaxed);
  if (r->inserted > 0) {
    for (const auto& reader : readers_) reader.wake();
  }
  return r;
}

http::Response Collector::respond(core::Capture& c, const http::ListenerSpec&) {
  const std::string path(http::targetPath(c.request.target));
  const std::string& m = c.request.method;
  if (path == "/api/v1/ingest") {
    return m == "POST" ? ingest(c) : jsonError(405, "POST only");
  }
  if (path == "/api/v1/ingest/dictionary") {
    return m == "GET" ? ingestDictionary(c) : jsonError(405, "GET only");
  }
  if (path == "/api/v1/heartbeat") {
    return m == "POST" ? heartbeat(c) : jsonError(405, "POST only");
  }
  if (path == "/rpc/auditLogReceiver") {
    if (m != "PUT" && m != "POST") return jsonError(405, "PUT or POST only");
    return mlogc(c);
  }
  if (path.rfind("/api/v1/", 0) == 0) {
    stats_.api_requests.fetch_add(1, std::memory_order_relaxed);
    if (!credentials_.isApi(c.request.headers)) {
      stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
      http::Response r = jsonError(401, "an API token is needed (Authorization: Bearer <token>)");
      r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"drosera\""});
      return r;
    }
    if (m != "GET" && m != "HEAD") return jsonError(405, "the API is read-only");
    return api(c, path);
  }
  if (path.rfind("/api/", 0) != 0 && path.rfind("/rpc/", 0) != 0) {
    return dashboard_.respond(m, path, c.request.headers);
  }
  return jsonError(404, "not found");
}

namespace {
// Events decoded from packed batches, kept for the next batch on the same thread (ingest()).
thread_local std::vector<core::Event> spare_events;
constexpr size_t kSpareEvents = 1000;
constexpr size_t kSpareBatchBytes = 8u << 20;
constexpr size_t kSpareEventBytes = 16u << 10;

// About what an event keeps allocated (its strings' and vectors' capacities), counted until it
// passes `limit`: an event decoded from a hostile detail (1,000 empty rule hits) keeps far more
// than the detail's bytes, and a kept event keeps it for good.
size_t keptBytes(const core::Event& e, size_t limit) {
  size_t n = e.sensor.capacity() + e.unique_id.capacity() + e.src_ip.capacity() +
             e.method.capacity() + e.uri.capacity() + e.user_agent.capacity() +
             e.format.capacity() + e.dst_ip.capacity() + e.listener_kind.capacity() +
             e.http_version.capacity() + e.host.capacity() + e.raw_record.capacity() +
             e.request_body.capacity();
  auto strings = [&](const std::vector<std::string>& v) {
    n += v.capacity() * sizeof(std::string);
    for (const auto& x : v) n += x.capacity();
  };
  n += e.request_headers.capacity() * sizeof(core::Header);
  n += e.rules.capacity() * sizeof(core::RuleHit);
  for (const auto& r : e.rules) {
    if (n > limit) return n;
    n += r.message.capacity() + r.data.capacity() + r.match.capacity() + r.file.capacity() +
         r.ver.capacity();
    strings(r.tags);
  }
  n += e.scores.capacity() * sizeof(e.scores[0]);
  for (const auto& s : e.scores) n += s.first.capacity();
  n += e.traps.capacity() * sizeof(core::TrapHit);
  for (const auto& t : e.traps) {
    n += t.kind.capacity() + t.bait.capacity() + t.captured.capacity() + t.origin.capacity();
  }
  strings(e.categories);
  strings(e.anomalies);
  strings(e.limits_hit);
  return n;
}
}  // namespace

http::Response Collector::ingest(core::Capture& c) {
  auto sensor = credentials_.sensorFor(c.request.headers);
  if (!sensor) {
    stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return jsonError(401, "unknown sensor token");
  }
  WriterSlot slot(writers_, config_.collector.max_concurrent_writes);
  if (!slot.ok()) {
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
    http::Response r = jsonError(503, "busy, retry");
    r.headers.push_back({"Retry-After", "1"});
    return r;
  }
  ParseContext ctx;
  ctx.sensor = *sensor;
  ctx.fallback_time_us = nowUs();
  std::vector<core::Event> events;
  std::vector<store::Store::PackedBody> bodies;  // packed batches: events[i]'s
  uint64_t rejected = 0;
  std::string first_reason;
  // One line to parse (an event line, or a packed batch's line the sensor could not parse).
  // False when the collector is short of memory (the sensor retries).
  auto parseLine = [&](std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    auto e = parseRecord(line, ctx);
    if (!e && e.status().code() == core::Status::Code::kUnavailable) return false;
    if (!e) {
      if (rejected++ == 0) first_reason = e.status().message();
      return true;
    }
    e->sensor = *sensor;  // the token says who sent it
    events.push_back(std::move(*e));
    return true;
  };
  auto outOfMemory = [&](const std::string& why) {
    stats_.store_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("collector: ingest from {}: {}", *sensor, why);
    http::Response resp = jsonError(503, "collector out of memory, retry");
    resp.headers.push_back({"Retry-After", "2"});
    return resp;
  };
  std::string_view body = c.request.body;
  const std::string* type = http::findHeader(c.request.headers, "Content-Type");
  const bool packed = type != nullptr && *type == store::kPackedContentType;
  if (packed) {
    auto bad = [&](const core::Status& why) {
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("collector: ingest from {}: the packed batch was refused: {}", *sensor,
                   why.message());
      return jsonError(400, why.message());
    };
    if (auto st = store::openPackedBatch(&body); !st) return bad(st);
    while (!body.empty()) {
      store::PackedRecord rec;
      if (auto st = store::nextPackedRecord(&body, &rec); !st) return bad(st);
      if (rec.is_line) {
        // A line the sensor could not parse: parsed here as in a batch of lines (most are
        // refused and counted); one that parses is stored with a body the store makes (no
        // packed body).
        const size_t before = events.size();
        if (!parseLine(rec.line)) return outOfMemory("out of memory parsing a line");
        if (events.size() > before) bodies.push_back({});
        continue;
      }
      // Decoded into an event of an earlier batch when there is one: its strings' storage is
      // reused (a batch of 1,000 events would otherwise allocate some 20,000 strings).
      core::Event e;
      if (!spare_events.empty()) {
        e = std::move(spare_events.back());
        spare_events.pop_back();
      }
      if (auto st = store::decodePackedDetail(rec.detail, &e); !st) return bad(st);
      e.sensor = *sensor;
      events.push_back(std::move(e));
      bodies.push_back({rec.detail, rec.body});
    }
    http::Response resp = writeBatch(*sensor, c, events, bodies, rejected, first_reason);
    // Kept for the next batch on this thread: the decoded events only (a parsed line holds its
    // raw record), from a batch of at most kSpareBatchBytes, each keeping at most
    // kSpareEventBytes (so a thread keeps at most about 16 MiB).
    if (c.request.body.size() <= kSpareBatchBytes) {
      for (size_t i = 0; i < events.size() && spare_events.size() < kSpareEvents; ++i) {
        if (!bodies[i].body.empty() && keptBytes(events[i], kSpareEventBytes) <= kSpareEventBytes) {
          spare_events.push_back(std::move(events[i]));
        }
      }
    }
    return resp;
  } else {
    size_t pos = 0;
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      if (nl == std::string_view::npos) nl = body.size();
      std::string_view line = body.substr(pos, nl - pos);
      pos = nl + 1;
      if (!parseLine(line)) return outOfMemory("out of memory parsing a record");
    }
  }
  return writeBatch(*sensor, c, events, bodies, rejected, first_reason);
}

http::Response Collector::writeBatch(const std::string& sensor, core::Capture& c,
                                     const std::vector<core::Event>& events,
                                     const std::vector<store::Store::PackedBody>& bodies,
                                     uint64_t rejected, const std::string& first_reason) {
  stats_.rejected.fetch_add(rejected, std::memory_order_relaxed);
  if (rejected > 0) {
    spdlog::warn("collector: ingest from {}: {} record(s) rejected, the first: {}", sensor,
                 rejected, first_reason);
  }
  core::Result<store::InsertResult> r = store::InsertResult{};
  if (bodies.empty()) {  // event lines (or a packed batch of none)
    r = write(events);
  } else {
    r = store_->insertPacked(events, bodies);
    if (r) {
      stats_.events.fetch_add(r->inserted, std::memory_order_relaxed);
      stats_.duplicates.fetch_add(r->duplicates, std::memory_order_relaxed);
      if (r->inserted > 0) {
        for (const auto& reader : readers_) reader.wake();
      }
    } else if (r.status().code() == core::Status::Code::kInvalidArgument) {
      // A body the store will not take: the sensor's fault, not the store's. The sensor
      // sends the batch again as lines, and packs again once it has fetched the dictionary
      // anew (collector::SensorPacker).
      // Counted once, as a malformed packed batch is: its events come again as lines.
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("collector: ingest from {}: the packed batch was refused: {}", sensor,
                   r.status().message());
      return jsonError(400, r.status().message());
    } else {
      stats_.store_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!r) {
    spdlog::warn("collector: ingest from {}: {}", sensor, r.status().message());
    http::Response resp = jsonError(503, "store unavailable, retry");
    resp.headers.push_back({"Retry-After", "2"});
    return resp;
  }
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  int64_t lag = -1;
  if (const std::string* h = http::findHeader(c.request.headers, "X-Drosera-Lag-Ms")) {
    try {
      lag = std::stoll(*h);
    } catch (const std::exception&) {
    }
  }
  store_->sensorSeen(sensor, nowUs(), lag, "");
  // The dictionary this sensor packs with, trained on its own events (0: none yet, it sends
  // lines).
  const uint32_t dictionary = store_->packingDictionaryId(sensor);
  nlohmann::json j = {{"stored", r->inserted},
                      {"duplicates", r->duplicates},
                      {"rejected", rejected},
                      {"last_seq", r->last_seq},
                      {"dictionary", dictionary}};
  return jsonResponse(200, j.dump());
}

http::Response Collector::ingestDictionary(core::Capture& c) {
  auto sensor = credentials_.sensorFor(c.request.headers);
  if (!sensor) {
    stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return jsonError(401, "unknown sensor token");
  }
  // The token's sensor's own: trained on its events only, it holds nothing of another's.
  auto d = store_->packingDictionary(*sensor);
  if (!d) return jsonError(503, "store unavailable, retry");
  if (!d.value()) return jsonError(404, "no dictionary yet: send event lines");
  http::Response r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/octet-stream"},
               {std::string(store::kDictionaryIdHeader), std::to_string(d.value()->id)}};
  r.body = std::move(d.value()->bytes);
  return r;
}

http::Response Collector::heartbeat(core::Capture& c) {
  auto sensor = credentials_.sensorFor(c.request.headers);
  if (!sensor) {
    stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
    return jsonError(401, "unknown sensor token");
  }
  int64_t lag = -1;
  if (const std::string* h = http::findHeader(c.request.headers, "X-Drosera-Lag-Ms")) {
    try {
      lag = std::stoll(*h);
    } catch (const std::exception&) {
    }
  }
  // Keep the status document only if it is JSON (bounded by the server's body limit).
  std::string status = "{}";
  auto parsed = nlohmann::json::parse(c.request.body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    status = parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  auto st = store_->sensorSeen(*sensor, nowUs(), lag, status);
  if (!st) return jsonError(503, "store unavailable, retry");
  return jsonResponse(200, "{}");
}

http::Response Collector::refuseMlogc(const std::vector<core::Header>& headers) {
  stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("collector: mlogc credentials refused for user '{}'",
               Credentials::basicUser(headers).substr(0, 64));
  http::Response r = jsonError(401, "bad credentials");
  r.headers.push_back({"WWW-Authenticate", "Basic realm=\"drosera\""});
  return r;
}

std::optional<http::Response> Collector::beforeBody(const core::HttpRequestData& head,
                                                    const http::ListenerSpec&) {
  const std::string path(http::targetPath(head.target));
  // The length the head declares (Content-Length), or what a chunked body sent so far.
  const uint64_t length = head.body_bytes;
  const uint64_t max = config_.collector.max_batch_bytes;
  if (path == "/api/v1/ingest" || path == "/api/v1/heartbeat") {
    if (!credentials_.sensorFor(head.headers)) {
      stats_.auth_failures.fetch_add(1, std::memory_order_relaxed);
      return jsonError(401, "unknown sensor token");
    }
    if (length > max) {
      stats_.rejected.fetch_add(1, std::memory_order_relaxed);
      return jsonError(413, "batch larger than collector.max_batch_bytes (" +
                                std::to_string(max) + " bytes); send smaller batches");
    }
    return std::nullopt;
  }
  if (path == "/rpc/auditLogReceiver") {
    if (!credentials_.mlogcSensor(head.headers)) return refuseMlogc(head.headers);
    if (length > max) {
      // 409: mlogc drops an entry it is told will never be accepted; a 413 it would retry
      // forever, stalling its queue behind it.
      stats_.mlogc_rejected.fetch_add(1, std::memory_order_relaxed);
      return jsonError(409, "entry larger than collector.max_batch_bytes (" +
                                std::to_string(max) + " bytes)");
    }
    return std::nullopt;
  }
  if (length > kMaxOtherBody) return jsonError(413, "no body is expected here");
  return std::nullopt;
}

// The mlogc protocol (collection.md section 1): 200 only after the commit (mlogc then deletes
// the file), 409 for an entry that will never be accepted (mlogc drops it), anything else makes
// mlogc retry: 401 for bad credentials, 503 when busy. Never 400 for bad data: mlogc would retry
// it forever and block its queue.
http::Response Collector::mlogc(core::Capture& c) {
  auto sensor = credentials_.mlogcSensor(c.request.headers);
  if (!sensor) return refuseMlogc(c.request.headers);
  auto reject = [&](const std::string& why) {
    stats_.mlogc_rejected.fetch_add(1, std::memory_order_relaxed);
    return jsonError(409, why);
  };
  if (!c.body_complete || c.request.body_bytes != c.request.body.size()) {
    return reject("entry too large or incomplete");
  }
  if (!mlogcContentHashMatches(c.request.headers, c.request.body)) {
    return reject("content hash mismatch");
  }
  const std::string summary_id = mlogcSummaryId(c.request.headers);
  ParseContext ctx;
  ctx.sensor = *sensor;
  ctx.fallback_time_us = nowUs();
  ctx.fallback_unique_id = summary_id;  // the index line names the entry if its body does not
  const std::string_view body = c.request.body;
  const size_t first = body.find_first_not_of(" \t\r\n");
  core::Result<core::Event> e = first != std::string_view::npos && body[first] == '{'
                                    ? parseRecord(body, ctx)
                                    : parseV2Native(body, ctx);
  if (!e && e.status().code() == core::Status::Code::kUnavailable) {
    return jsonError(503, "collector out of memory, retry");  // mlogc retries
  }
  if (!e) return reject("unparseable entry: " + e.status().message());
  e->sensor = *sensor;
  WriterSlot slot(writers_, config_.collector.max_concurrent_writes);
  if (!slot.ok()) {
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
    return jsonError(503, "busy, retry");
  }
  auto r = write({*e});
  if (!r) return jsonError(503, "store unavailable, retry");
  stats_.mlogc_entries.fetch_add(1, std::memory_order_relaxed);
  store_->sensorSeen(*sensor, nowUs(), -1, "");
  return jsonResponse(200, "{}");
}

void Collector::setMispResolver(MispResolver resolver) {
  std::lock_guard lock(misp_mu_);
  misp_ = std::move(resolver);
}

void Collector::setMispStatus(std::function<std::string()> status_json) {
  std::lock_guard lock(misp_mu_);
  misp_status_ = std::move(status_json);
}

std::string Collector::statusJson() const {
  nlohmann::json j;
  j["url"] = baseUrl();
  j["started_us"] = started_us_;
  j["stats"] = {{"batches", stats_.batches.load()},
                {"events", stats_.events.load()},
                {"duplicates", stats_.duplicates.load()},
                {"rejected", stats_.rejected.load()},
                {"refused", stats_.refused.load()},
                {"store_errors", stats_.store_errors.load()},
                {"mlogc_entries", stats_.mlogc_entries.load()},
                {"mlogc_rejected", stats_.mlogc_rejected.load()},
                {"auth_failures", stats_.auth_failures.load()},
                {"api_requests", stats_.api_requests.load()},
                {"retention_runs", stats_.retention_runs.load()},
                {"retention_deleted", stats_.retention_deleted.load()},
                {"out_of_memory", server_ ? server_->stats().out_of_memory.load() : 0}};
  nlohmann::json tails = nlohmann::json::array();
  for (const auto& t : tailers_) tails.push_back(nlohmann::json::parse(t->statusJson()));
  j["tails"] = tails;
  if (!readers_.empty()) {
    nlohmann::json outputs = nlohmann::json::object();
    for (const auto& reader : readers_) {
      outputs[reader.name] =
          nlohmann::json::parse(reader.status_json(), nullptr, /*allow_exceptions=*/false);
    }
    j["outputs"] = outputs;
  }
  {
    std::lock_guard lock(misp_mu_);
    if (misp_status_) {
      j["misp"] = nlohmann::json::parse(misp_status_(), nullptr, /*allow_exceptions=*/false);
    }
  }
  if (auto s = store_->stats()) {
    j["store"] = {{"events", s->events}, {"attackers", s->attackers}, {"bytes", s->bytes},
                  {"last_seq", s->last_seq}, {"unfolded", s->unfolded},
                  {"schema_version", s->schema_version}};
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace drosera::collector
