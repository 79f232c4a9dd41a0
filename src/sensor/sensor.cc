#include "sensor/sensor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "core/config_load.h"
#include "core/paths.h"
#include "engine/modsec_inspector.h"
#include "http/tls.h"

#ifndef DROSERA_VERSION
#define DROSERA_VERSION "0.0.0"
#endif

namespace drosera::sensor {
namespace fs = std::filesystem;
namespace {

// A storage alert stays up this long after the last failed write.
constexpr int64_t kStorageAlertUs = 10'000'000;
// status.json keeps this much disk reserved, so that it can still be rewritten in place when
// the disk is full (that is when an operator needs it most).
constexpr off_t kStatusReserve = 256 * 1024;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Status makePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::Status::ioError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return core::Status::ok();
}

std::string hostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

core::Result<std::string> loadOrCreateSensorId(const std::string& data_dir,
                                               const std::string& configured) {
  if (!configured.empty()) return configured;
  const std::string path = data_dir + "/sensor-id";
  std::ifstream in(path);
  std::string id;
  if (in && std::getline(in, id) && !id.empty()) {
    if (auto why = core::sensorIdProblem(id)) {
      return core::Status::invalidArgument(path + ": " + *why +
                                           " (set sensor.id, or delete the file for a new id)");
    }
    return id;
  }
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xFFFFFF);
  std::string host = hostName();
  for (char& c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  id = host + "-" + suffix;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out) return core::Status::ioError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::fromErrno("cannot write " + path, errno);
  }
  return id;
}

core::Result<std::unique_ptr<traps::Traps>> makeTraps(const core::Config& c) {
  auto secret = traps::InstallSecret::loadOrCreate(c.general.data_dir);
  if (!secret) return secret.status();
  std::vector<uint16_t> fake_ports;
  for (const auto& l : c.server.listeners) {
    if (l.kind == "fake" && l.port != 0) fake_ports.push_back(l.port);
  }
  const std::string baits =
      c.traps.baits_dir.empty() ? core::shareDir() + "/baits" : c.traps.baits_dir;
  auto t = traps::Traps::create(c.traps, std::move(*secret), std::move(fake_ports), baits);
  if (!t) return t.status();
  (*t)->tokens().load(c.general.data_dir + "/state/honeytokens.json");
  return t;
}

core::Result<std::string> exportTrapRules(const core::Config& c) {
  auto t = makeTraps(c);
  if (!t) return t.status();
  return (*t)->ruleText(traps::RuleFlavor::kExport);
}

core::Result<std::unique_ptr<Sensor>> Sensor::create(const core::Config& config,
                                                     std::unique_ptr<engine::Inspector> inspector) {
  std::unique_ptr<Sensor> s(new Sensor());
  s->config_ = config;
  const auto& c = s->config_;
  auto& p = s->paths_;
  p.data_dir = c.general.data_dir;
  p.event_log = c.event_log.path.empty() ? p.data_dir + "/events/event.log" : c.event_log.path;
  p.journal_dir = p.data_dir + "/journal";
  p.status_file = p.data_dir + "/status.json";
  p.tls_dir = p.data_dir + "/tls";
  p.state_dir = p.data_dir + "/state";
  auto st = makePrivateDir(p.data_dir);
  if (!st) return st;
  st = makePrivateDir(p.state_dir);
  if (!st) return st;

  // Honeytraps first: their identification rules load into the engine with the CRS.
  if (c.traps.enabled) {
    auto t = makeTraps(c);
    if (!t) return t.status();
    s->traps_ = std::move(*t);
  }
  s->attackers_ = std::make_unique<AttackerState>(c.traps.max_attackers);
  st = s->attackers_->load(p.state_dir + "/attackers.json");
  if (!st) spdlog::warn("attacker state not loaded: {}", st.message());

  auto id = loadOrCreateSensorId(p.data_dir, c.sensor.id);
  if (!id) return id.status();
  s->context_.sensor_id = *id;

  // The engine: loaded once, fatal on bad rules.
  if (inspector) {
    s->inspector_ = std::move(inspector);
  } else {
    engine::EngineOptions eo;
    eo.config = c.engine;
    eo.request_body_limit = c.limits.max_body_bytes;
    eo.tmp_dir = p.data_dir + "/tmp";
    st = makePrivateDir(eo.tmp_dir);
    if (!st) return st;
    if (s->traps_) {
      eo.extra_rule_texts.push_back(
          {"drosera honeytrap rules", s->traps_->ruleText(traps::RuleFlavor::kSensor)});
    }
    auto insp = engine::makeModSecInspector(eo);
    if (!insp) return insp.status();
    s->inspector_ = std::move(*insp);
  }
  s->context_.producer = s->inspector_->producer();
  s->context_.connector = std::string("drosera ") + DROSERA_VERSION;
  s->context_.rule_engine = s->inspector_->ruleEngineState();
  s->context_.components = s->inspector_->components();
  s->context_.max_body_bytes = c.event_log.max_body_bytes;
  s->context_.raw_request = c.event_log.raw_request;

  // Sites: one per distinct root.
  const std::string default_root = c.site.root.empty() ? core::shareDir() + "/site" : c.site.root;
  for (const auto& l : c.server.listeners) {
    std::string root = l.site.empty() ? default_root : l.site;
    if (root.rfind("builtin:", 0) == 0) root = core::shareDir() + "/sites/" + root.substr(8);
    if (!s->sites_.count(root)) {
      auto site = Site::load(root, c.site.max_file_bytes);
      if (!site) return site.status();
      if (s->traps_) s->traps_->decorate(*site);
      s->sites_.emplace(root, std::move(*site));
    }
    s->listener_sites_.push_back(&s->sites_.at(root));
  }

  // Event log and inspection pool.
  EventLog::Options lo;
  lo.path = p.event_log;
  lo.rotate_bytes = c.event_log.rotate_bytes;
  lo.keep_files = c.event_log.keep_files;
  lo.fsync = parseFsyncPolicy(c.event_log.fsync);
  auto log = EventLog::open(lo);
  if (!log) return log.status();
  s->event_log_ = std::move(*log);

  auto journal = CaptureJournal::open({p.journal_dir});
  if (!journal) return journal.status();
  PoolOptions po;
  po.threads = c.inspection.threads > 0
                   ? c.inspection.threads
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  po.nice = c.inspection.nice;
  po.queue_max_items = c.inspection.queue_max_items;
  po.queue_max_bytes = c.inspection.queue_max_bytes;
  po.backlog_max_bytes = c.inspection.backlog_max_bytes;
  po.fsync = parseFsyncPolicy(c.inspection.fsync);
  po.fsync_interval_s = c.inspection.fsync_interval_s;
  Sensor* self = s.get();
  const bool sync_events = c.event_log.fsync != "never";
  s->pool_ = std::make_unique<InspectionPool>(
      *s->inspector_, std::move(*journal), po,
      [self](const core::Capture& cap, const core::Verdict& v, int64_t done) {
        return self->writeEvent(cap, v, done);
      },
      [self, sync_events] {
        if (!sync_events) return true;
        auto st = self->event_log_->sync();
        if (!st) self->noteWriteError(st.message());  // an alert in the status
        return st.isOk();
      });

  // The server.
  http::ServerOptions so;
  so.bind = c.server.bind;
  for (const auto& l : c.server.listeners) {
    http::ListenerSpec spec;
    spec.index = so.listeners.size();
    spec.port = l.port;
    spec.kind = l.kind;
    spec.tls = l.tls;
    spec.proxy_protocol = l.proxy_protocol;
    spec.persona = http::makePersona(l.persona.empty() ? c.server.persona : l.persona,
                                     c.server.server_header);
    so.listeners.push_back(spec);
  }
  so.parser = {c.limits.max_request_line, c.limits.max_header_line, c.limits.max_header_bytes,
               c.limits.max_headers, c.limits.max_body_bytes};
  so.header_timeout_s = c.limits.header_timeout_s;
  so.body_timeout_s = c.limits.body_timeout_s;
  so.keepalive_timeout_s = c.limits.keepalive_timeout_s;
  so.max_keepalive_requests = c.limits.max_keepalive_requests;
  so.max_connections = c.limits.max_connections;
  so.max_connections_per_ip = c.limits.max_connections_per_ip;
  so.io_threads = c.server.io_threads;
  for (const auto& t : c.server.trusted_proxies) {
    st = so.trusted_proxies.add(t);
    if (!st) return core::Status::invalidArgument("server.trusted_proxies: " + st.message());
  }
  bool any_tls = false;
  for (const auto& l : c.server.listeners) any_tls |= l.tls;
  if (any_tls) {
    if (c.server.tls_cert.empty()) {
      auto files = http::ensureSelfSignedCert(p.tls_dir, hostName());
      if (!files) return files.status();
      so.tls_cert_path = files->cert_path;
      so.tls_key_path = files->key_path;
    } else {
      so.tls_cert_path = c.server.tls_cert;
      so.tls_key_path = c.server.tls_key;
    }
  }
  s->server_ = std::make_unique<http::Server>(std::move(so), *s);

  std::random_device rd;
  s->id_nonce_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return s;
}

Sensor::~Sensor() { stop(); }

core::Status Sensor::start() {
  started_us_ = nowUs();
  pool_->start();
  auto st = server_->start();
  if (!st) {
    pool_->stop(0);
    return st;
  }
  started_ = true;
  writeStatusFile();
  status_thread_ = std::thread([this] { statusLoop(); });
  return core::Status::ok();
}

void Sensor::writeStatusFile() const {
  const std::string text = statusJson() + "\n";
  // Normally: a new file (with disk space reserved beside it) renamed over the old one.
  const std::string tmp = paths_.status_file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    bool ok = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, kStatusReserve) == 0 ||
              errno == EOPNOTSUPP;
    ok = ok && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (ok && std::rename(tmp.c_str(), paths_.status_file.c_str()) == 0) return;
    ::unlink(tmp.c_str());
  }
  // The disk is full: overwrite the old file in place, within its reserved space, padding with
  // blanks (JSON allows them) rather than shrinking it, which would give the reserve back.
  fd = ::open(paths_.status_file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  std::string padded = text;
  if (::fstat(fd, &st) == 0 && static_cast<off_t>(padded.size()) < st.st_size) {
    padded.back() = ' ';
    padded.append(static_cast<size_t>(st.st_size) - padded.size() - 1, ' ');
    padded.push_back('\n');
  }
  if (::pwrite(fd, padded.data(), padded.size(), 0) < 0) {
    // Nothing more to do: the log says why (noteWriteError) and the next turn tries again.
  }
  ::close(fd);
}

void Sensor::startShipper(ShipperOptions o) {
  o.event_log = paths_.event_log;
  o.state_path = paths_.state_dir + "/shipper.pos";
  o.sensor_id = context_.sensor_id;
  shipper_ = std::make_unique<Shipper>(std::move(o), http::makeHttpClient(),
                                       [this] { return statusJson(); });
  shipper_->start();
}

void Sensor::stop() {
  if (!started_) return;
  started_ = false;
  server_->stop(2.0);
  pool_->stop(config_.inspection.shutdown_drain_s);
  if (shipper_) {
    // Give the shipper a moment for the last events; what is left goes after the next start.
    event_log_->sync();
    for (int i = 0; i < 40 && shipper_->stats().lag_bytes > 0 &&
                    shipper_->stats().last_error.empty();
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    shipper_->stop();
  }
  {
    std::lock_guard lock(status_mu_);
    status_stop_ = true;
  }
  status_cv_.notify_all();
  if (status_thread_.joinable()) status_thread_.join();
  event_log_->sync();
  writeStatusFile();  // final figures for `drosera status`
  saveState();
}

void Sensor::saveState() const {
  auto st = attackers_->save(paths_.state_dir + "/attackers.json");
  if (!st) spdlog::warn("attacker state: {}", st.message());
  if (traps_) {
    st = traps_->tokens().save(paths_.state_dir + "/honeytokens.json");
    if (!st) spdlog::warn("honeytokens: {}", st.message());
  }
}

std::string Sensor::newUniqueId() {
  // Time-ordered, unique per sensor across restarts: microseconds, a per-process nonce, a counter.
  char buf[48];
  std::snprintf(buf, sizeof buf, "%013llx%06llx%06llx",
                static_cast<unsigned long long>(nowUs()),
                static_cast<unsigned long long>(id_nonce_ & 0xFFFFFF),
                static_cast<unsigned long long>(id_counter_.fetch_add(1) & 0xFFFFFF));
  return buf;
}

http::Response Sensor::respond(core::Capture& capture, const http::ListenerSpec& listener) {
  capture.unique_id = newUniqueId();  // before the answer: honeytokens point back to it
  if (!traps_) {
    return listener_sites_.at(listener.index)
        ->handle(capture.request, listener.persona, capture.local.port, capture.tls,
                 capture.local.ip);
  }
  traps_->identify(capture);  // per-visitor honeytokens need the visitor first
  auto bait = traps_->answer(capture, listener.persona);
  http::Response r = bait ? std::move(*bait)
                          : listener_sites_.at(listener.index)
                                ->handle(capture.request, listener.persona, capture.local.port,
                                         capture.tls, capture.local.ip);
  traps_->finish(capture, r);
  return r;
}

// What nginx serves itself it answers before the body; a page of the application (a PHP page,
// a form's target, a fake login) waits for the body, as nginx passes it to the application.
bool Sensor::answersBeforeBody(const core::HttpRequestData& head,
                               const http::ListenerSpec& listener) {
  if (traps_ && traps_->readsBody(head)) return false;
  return listener_sites_.at(listener.index)->answersBeforeBody(head, listener.persona);
}

void Sensor::captured(core::Capture&& capture) {
  captures_.fetch_add(1, std::memory_order_relaxed);
  if (capture.unique_id.empty()) capture.unique_id = newUniqueId();
  if (traps_) traps_->addFacts(capture);
  std::string why;
  if (!pool_->submit(capture, &why)) {
    if (why == "journal_error") noteWriteError("the capture journal cannot be written");
    writeUninspected(capture, why);
  }
}

bool Sensor::writeEvent(const core::Capture& c, const core::Verdict& v, int64_t done_us) {
  InspectionInfo info;
  info.state = v.inspected ? InspectionState::kInspected : InspectionState::kEngineError;
  info.inspected_us = done_us;
  EventExtras extras;
  if (traps_) extras.traps = traps_->interpret(c, v);
  extras.has_attacker = true;
  {
    std::lock_guard lock(attacker_mu_);
    if (attacker_for_ != c.unique_id) {
      std::string id = c.unique_id;  // copied first: nothing can fail once it is counted
      attacker_view_ = attackers_->record(c.client.ip, c.visitor, c.received_us, extras.traps);
      attacker_for_.swap(id);
    }
    extras.attacker = attacker_view_;
  }
  auto st = event_log_->append(buildEventLine(c, v, info, context_, &extras));
  if (!st) {
    noteWriteError(st.message());
    static std::atomic<int64_t> last_warn{0};
    const int64_t now = nowUs();
    if (now - last_warn.load() > 10'000'000) {
      last_warn = now;
      spdlog::error("event log: {} (events wait in the capture journal)", st.message());
    }
    return false;
  }
  return true;
}

void Sensor::writeUninspected(core::Capture& c, const std::string& reason) {
  // Over the backlog cap: keep the summary and the head of the raw request, uninspected.
  uninspected_.fetch_add(1, std::memory_order_relaxed);
  constexpr size_t kRawHead = 4096;
  if (c.raw.size() > kRawHead) c.raw.resize(kRawHead);
  if (c.request.body.size() > kRawHead) c.request.body.resize(kRawHead);
  InspectionInfo info;
  info.state = InspectionState::kUninspected;
  info.reason = reason;
  core::Verdict none;
  EventExtras extras;
  extras.has_attacker = true;
  extras.attacker = attackers_->record(c.client.ip, c.visitor, c.received_us, {});
  auto st = event_log_->append(buildEventLine(c, none, info, context_, &extras));
  if (!st) {
    noteWriteError(st.message());
    events_lost_.fetch_add(1, std::memory_order_relaxed);
    static std::atomic<int64_t> last_warn{0};
    const int64_t now = nowUs();
    if (now - last_warn.load() > 10'000'000) {
      last_warn = now;
      spdlog::error("request from {} not recorded: {} and event log: {}", c.client.ip, reason,
                    st.message());
    }
  }
}

void Sensor::noteWriteError(const std::string& what) {
  const int64_t now = nowUs();
  std::lock_guard lock(storage_mu_);
  if (storage_error_.empty() || now - storage_error_last_us_ > kStorageAlertUs) {
    storage_error_since_us_ = now;
  }
  storage_error_ = what;
  storage_error_last_us_ = now;
}

std::string Sensor::statusJson() const {
  const auto ps = pool_->stats();
  const auto& ss = server_->stats();
  const auto& ls = event_log_->stats();
  nlohmann::json j;
  j["sensor"] = context_.sensor_id;
  j["version"] = DROSERA_VERSION;
  j["pid"] = ::getpid();
  j["running"] = started_.load();
  j["updated_at"] = isoTimestamp(nowUs());
  j["started_at"] = isoTimestamp(started_us_);
  j["data_dir"] = paths_.data_dir;
  j["event_log"] = paths_.event_log;
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& b : server_->bound()) {
    const auto& l = config_.server.listeners[b.index];
    listeners.push_back({{"address", b.address}, {"port", b.port}, {"kind", l.kind},
                         {"tls", l.tls}});
  }
  j["listeners"] = listeners;
  j["server"] = {{"connections_accepted", ss.connections_accepted.load()},
                 {"connections_active", ss.connections_active.load()},
                 {"connections_rejected", ss.connections_rejected.load()},
                 {"requests", ss.requests.load()},
                 {"bad_requests", ss.bad_requests.load()},
                 {"timeouts", ss.timeouts.load()},
                 {"per_ip_limited", ss.per_ip_limited.load()},
                 {"out_of_memory", ss.out_of_memory.load()},
                 {"tls_handshake_failures", ss.tls_handshake_failures.load()}};
  j["inspection"] = {{"captures", captures_.load()},
                     {"inspected", ps.inspected},
                     {"queue_memory", ps.queued_memory},
                     {"queue_memory_bytes", ps.queued_bytes},
                     {"backlog", ps.backlog},
                     {"backlog_peak", ps.backlog_peak},
                     {"backlog_disk_bytes", ps.backlog_disk_bytes},
                     {"lag_ms", ps.last_lag_ms},
                     {"uninspected", uninspected_.load()},
                     {"journal_errors", ps.journal_errors},
                     {"out_of_memory", ps.out_of_memory},
                     {"engine_gave_up", ps.engine_gave_up}};
  if (shipper_) {
    const auto sh = shipper_->stats();
    j["shipper"] = {
        {"events", sh.events},         {"batches", sh.batches},
        {"failures", sh.failures},     {"lag_bytes", sh.lag_bytes},
        {"lag_ms", sh.lag_ms},         {"skipped_bytes", sh.skipped_bytes},
        {"lost_files", sh.lost_files}, {"refused_lines", sh.refused_lines},
        {"rewinds", sh.rewinds},       {"bytes", sh.bytes},
        {"sent_bytes", sh.sent_bytes}, {"packed_batches", sh.packed_batches},
        {"last_error", sh.last_error}, {"last_success", isoTimestamp(sh.last_success_us)}};
  }
  {
    // An alert while the event log or the journal cannot be written (a full disk): the sensor
    // keeps answering, counts what it could not record, and clears the alert once writes work.
    std::lock_guard lock(storage_mu_);
    const bool failing = !storage_error_.empty() && nowUs() - storage_error_last_us_ <= kStorageAlertUs;
    nlohmann::json alerts = nlohmann::json::array();
    if (failing) {
      alerts.push_back({{"kind", "storage"},
                        {"message", "cannot write the data folder: " + storage_error_},
                        {"since", isoTimestamp(storage_error_since_us_)},
                        {"last", isoTimestamp(storage_error_last_us_)}});
    }
    j["alerts"] = alerts;
    j["storage"] = {{"ok", !failing},
                    {"last_error", storage_error_},
                    {"last_error_at", storage_error_last_us_ ? isoTimestamp(storage_error_last_us_) : ""},
                    {"unrecorded", events_lost_.load()},
                    {"journal_errors", ps.journal_errors},
                    {"event_log_errors", ls.write_errors.load()}};
  }
  j["events"] = {{"written", ls.lines.load()},
                 {"bytes", ls.bytes.load()},
                 {"write_errors", ls.write_errors.load()},
                 {"lost", events_lost_.load()},
                 {"rotations", ls.rotations.load()},
                 {"dropped_files", ls.dropped_files.load()},
                 {"dropped_bytes", ls.dropped_bytes.load()}};
  return j.dump();
}

void Sensor::statusLoop() {
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(config_.sensor.status_interval_s));
  uint64_t last_requests = 0;
  std::unique_lock lock(status_mu_);
  while (!status_stop_) {
    status_cv_.wait_for(lock, interval, [&] { return status_stop_; });
    if (status_stop_) break;
    lock.unlock();
    try {
      writeStatusFile();
      saveState();
    } catch (const std::bad_alloc&) {
      // Out of memory: written again at the next interval.
    }
    const auto ps = pool_->stats();
    const uint64_t requests = server_->stats().requests.load();
    if (ps.backlog > 0 || requests != last_requests) {
      spdlog::info("status: {} requests, {} inspected, backlog {} ({} in memory), lag {} ms, "
                   "{} uninspected",
                   requests, ps.inspected, ps.backlog, ps.queued_memory, ps.last_lag_ms,
                   uninspected_.load());
    }
    last_requests = requests;
    lock.lock();
  }
}

}  // namespace drosera::sensor
