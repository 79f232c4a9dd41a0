// drosera: one binary, subcommands. This file only parses the command line and wires the
// libraries together; the work is in src/<component>/.
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/outputs.h"
#include "app/privileges.h"
#include "collector/auth.h"
#include "collector/collector.h"
#include "collector/sensor_packer.h"
#include "core/config_load.h"
#include "core/printable.h"
#include "engine/modsec_inspector.h"
#include "intel/reporter.h"
#include "sensor/sensor.h"
#include "store/store.h"

#ifndef DROSERA_VERSION
#define DROSERA_VERSION "0.0.0"
#endif

namespace {

using drosera::core::Config;
namespace core = drosera::core;

struct CommonOptions {
  std::string config_file;
  std::string data_dir;
};

void addCommon(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("-c,--config", o.config_file, "TOML configuration file (default: built-in)");
  cmd->add_option("-d,--data-dir", o.data_dir, "data folder (overrides general.data_dir)");
}

// Loads the configuration (or the defaults), applies command-line overrides, makes paths
// absolute. Exits with a message naming the key on bad configuration.
bool loadConfig(const CommonOptions& o, Config* out) {
  if (!o.config_file.empty()) {
    auto r = drosera::core::loadConfigFile(o.config_file);
    if (!r) {
      std::fprintf(stderr, "drosera: configuration error: %s\n", r.status().message().c_str());
      return false;
    }
    *out = *r;
  }
  if (!o.data_dir.empty()) out->general.data_dir = o.data_dir;
  std::error_code ec;
  out->general.data_dir = std::filesystem::absolute(out->general.data_dir, ec).lexically_normal();
  if (!out->event_log.path.empty()) {
    out->event_log.path = std::filesystem::absolute(out->event_log.path, ec).lexically_normal();
  }
  return true;
}

// The message of a log line (%*) with control characters and bytes that are not UTF-8 escaped:
// log lines quote attacker bytes (a Basic-auth user name, a rejected record's error), and a
// newline or an escape sequence in them must not forge a line or drive the terminal.
class PrintableMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string text =
        drosera::core::printable(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<PrintableMessage>();
  }
};

void setupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("drosera");
  spdlog::set_default_logger(logger);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PrintableMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %*");
  spdlog::set_formatter(std::move(formatter));
  spdlog::set_level(spdlog::level::from_str(level));
}

// Blocks the termination signals in every thread; the main thread waits for them. SIGINT and
// SIGHUP inherited as ignored (nohup, a background job of a shell) stay ignored: the parent
// asked for that. SIGTERM always stops.
sigset_t blockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  for (const int sig : {SIGINT, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaddset(&set, sig);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int waitForSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// What the process needs open besides the sensor's connections: the event log and journal
// files, the store (and its readers), the collector's clients, the outputs', MISP's and the
// shipper's connections, with a margin. An idle `drosera run` holds about 30.
constexpr rlim_t kReservedFiles = 256;
// Connections past limits.max_connections that the server still reads and answers 503
// (kOverflowConnections in src/http/server.cc).
constexpr rlim_t kOverflowConnections = 64;
// Fewer sensor connections than this under the open-file limit: refuse to start.
constexpr uint64_t kMinConnections = 64;

// Raises the soft limit on open files (RLIMIT_NOFILE) to the hard one: the usual soft limit,
// 1024, is below the default limits.max_connections, and a client holding that many
// connections would leave the listeners unable to accept anyone. Then the connections of the
// servers this process runs must fit under it with the reserve: with `collector`, its
// collector.max_connections (0: by command, 256 with `sensor`, as `drosera run`, else 4096),
// the 64 past it answered 503 and its listening socket, leaving room for at least 64 of the
// sensor's; then with `sensor`, the sensor's limits.max_connections. A cap that does not fit is
// lowered with a warning (the operator raises the hard limit: ulimit -Hn, systemd's
// LimitNOFILE=); far too low a limit is an error naming the key. False: do not start (the
// message is printed).
bool fitOpenFiles(Config* c, bool sensor, bool collector) {
  if (collector) {
    auto& cc = c->collector;
    if (cc.max_connections == 0) {
      cc.max_connections = sensor ? drosera::core::kRunCollectorConnections
                                  : drosera::core::kFleetCollectorConnections;
    }
    if (cc.max_connections_per_ip == 0) {
      cc.max_connections_per_ip = sensor ? drosera::core::kRunCollectorConnectionsPerIp
                                         : drosera::core::kFleetCollectorConnectionsPerIp;
    }
  }
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return true;
  rlim_t want = rl.rlim_max;
  if (want == RLIM_INFINITY) {
    // The kernel's ceiling (fs.nr_open) is the most setrlimit takes.
    unsigned long long nr_open = 0;
    std::ifstream in("/proc/sys/fs/nr_open");
    want = (in >> nr_open) ? static_cast<rlim_t>(nr_open) : static_cast<rlim_t>(1) << 20;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = want;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      rl.rlim_cur = want;
    } else {
      spdlog::warn("cannot raise the open-file limit from {} to {}: {}", rl.rlim_cur, want,
                   std::strerror(errno));
    }
  }
  if (rl.rlim_cur == RLIM_INFINITY) return true;
  // Fits `*max` connections (the key `key`) under the limit with `reserve` files besides.
  auto fit = [&](const char* key, uint64_t* max, rlim_t reserve, const std::string& besides) {
    const uint64_t room = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0;
    if (*max <= room) return true;
    if (room < kMinConnections) {
      std::fprintf(stderr,
                   "drosera: %s: %llu connections need %llu open files%s, and the open-file "
                   "limit is %llu (fewer than %llu connections would fit): raise it (ulimit -n, "
                   "systemd's LimitNOFILE=)\n",
                   key, static_cast<unsigned long long>(*max),
                   static_cast<unsigned long long>(*max + reserve), besides.c_str(),
                   static_cast<unsigned long long>(rl.rlim_cur),
                   static_cast<unsigned long long>(kMinConnections));
      return false;
    }
    spdlog::warn(
        "{} lowered from {} to {}: the open-file limit is {} (hard limit {}), and the process "
        "needs {} more besides{}; raise the hard limit (ulimit -Hn, systemd's LimitNOFILE=) for "
        "more",
        key, *max, room, rl.rlim_cur,
        rl.rlim_max == RLIM_INFINITY ? std::string("unlimited") : std::to_string(rl.rlim_max),
        reserve, besides);
    *max = room;
    return true;
  };
  const rlim_t listeners =
      static_cast<rlim_t>(c->server.listeners.size()) * std::max<size_t>(1, c->server.bind.size());
  // What the sensor needs at least, beside the collector's.
  const rlim_t sensor_least = sensor ? kOverflowConnections + listeners + kMinConnections : 0;
  rlim_t collector_files = 0;
  if (collector) {
    if (!fit("collector.max_connections", &c->collector.max_connections,
             kReservedFiles + kOverflowConnections + 1 + sensor_least,
             sensor ? " (with the sensor's least)" : "")) {
      return false;
    }
    collector_files = static_cast<rlim_t>(c->collector.max_connections) + kOverflowConnections + 1;
  }
  if (!sensor) return true;
  return fit("limits.max_connections", &c->limits.max_connections,
             kReservedFiles + kOverflowConnections + listeners + collector_files,
             collector ? " (" + std::to_string(collector_files) +
                             " of them for the collector's collector.max_connections)"
                       : std::string());
}

std::string absolutePath(const std::string& p) {
  std::error_code ec;
  return std::filesystem::absolute(p, ec).lexically_normal().string();
}

// What this process writes outside the data folder, handed over with it to general.user: the
// event log (a sensor), the SQLite store, the ECS NDJSON file and the MISP feed (a collector).
drosera::app::WrittenOutside writtenOutside(const Config& c, const drosera::sensor::Sensor* sensor,
                                            const drosera::app::StoreOutputs* outputs) {
  drosera::app::WrittenOutside w;
  if (sensor != nullptr) w.files.push_back({"event_log.path", sensor->paths().event_log});
  if (outputs != nullptr) {
    if (c.collector.store != "postgres" && !c.collector.sqlite_path.empty()) {
      w.files.push_back({"collector.sqlite_path", c.collector.sqlite_path});
    }
    for (auto& f : outputs->files()) w.files.push_back(std::move(f));
    if (c.misp.enabled && !c.misp.feed_dir.empty()) {
      w.folders.push_back({"misp.feed_dir", c.misp.feed_dir});
    }
  }
  for (auto& f : w.files) f.path = absolutePath(f.path);
  for (auto& d : w.folders) d.path = absolutePath(d.path);
  return w;
}

// The start banners. Each command prints its whole banner in one write, after everything has
// started: a reader (an operator, a script) that sees its first line sees all of it.
std::string sensorBanner(const drosera::sensor::Sensor& s, const Config& c, const char* what) {
  std::ostringstream os;
  os << "drosera " << DROSERA_VERSION << " " << what << " is running\n"
     << "  sensor id:    " << s.sensorId() << "\n"
     << "  data folder:  " << s.paths().data_dir << "\n"
     << "  event log:    " << s.paths().event_log << "\n"
     << "  status:       " << s.paths().status_file << "  (drosera status -d "
     << s.paths().data_dir << ")\n"
     << "  listening on:\n";
  for (const auto& b : s.bound()) {
    const auto& l = c.server.listeners[b.index];
    const bool v6 = b.address.find(':') != std::string::npos;
    os << "    " << (l.tls ? "https://" : "http://") << (v6 ? "[" : "") << b.address
       << (v6 ? "]" : "") << ":" << b.port << "  (" << l.kind << " port"
       << (l.proxy_protocol ? ", PROXY protocol" : "") << ")\n";
  }
  os << "  stop with Ctrl-C or: kill " << ::getpid() << "\n";
  return os.str();
}

core::Result<std::string> shipperToken(const drosera::core::ShipperConfig& s) {
  if (!s.token.empty()) return s.token;
  if (!s.token_file.empty()) return drosera::collector::readSecretFile(s.token_file, "shipper.token_file");
  return drosera::core::Status::invalidArgument("shipper: a token (or token_file) is needed");
}

// Packed ingest (shipper.pack): the shipper's batches parsed and compressed here, with the
// collector's dictionary, once it hands out one.
void packWith(drosera::sensor::ShipperOptions& so, bool pack, const std::string& sensor_id) {
  if (!pack) return;
  drosera::collector::SensorPackerOptions po;
  po.ingest_url = so.url;
  po.token = so.token;
  po.sensor_id = sensor_id;
  po.verify_tls = so.verify_tls;
  po.ca_file = so.ca_file;
  po.timeout_s = so.timeout_s;
  auto packer = std::make_shared<drosera::collector::SensorPacker>(std::move(po),
                                                                   drosera::http::makeHttpClient());
  so.pack = [packer](std::string_view lines, std::string* out, std::string* type) {
    return packer->pack(lines, out, type);
  };
  so.answered = [packer](int status, std::string_view body, bool was_packed) {
    packer->answered(status, body, was_packed);
  };
}

// `drosera sensor`: the honeypot, shipping to a collector if [shipper] says so.
int runSensor(const CommonOptions& o) {
  const sigset_t sigs = blockSignals();
  Config config;
  if (!loadConfig(o, &config)) return 2;
  setupLogging(config.general.log_level);
  if (!fitOpenFiles(&config, true, false)) return 1;
  auto sensor = drosera::sensor::Sensor::create(config);
  if (!sensor) {
    std::fprintf(stderr, "drosera: %s\n", sensor.status().message().c_str());
    return 1;
  }
  std::string token;
  if (config.shipper.enabled) {
    if (config.shipper.url.empty()) {
      std::fprintf(stderr, "drosera: configuration error: shipper.url is needed with shipper.enabled\n");
      return 2;
    }
    auto t = shipperToken(config.shipper);
    if (!t) {
      std::fprintf(stderr, "drosera: configuration error: %s\n", t.status().message().c_str());
      return 2;
    }
    token = *t;
  }
  auto st = (*sensor)->start();
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    return 1;
  }
  st = drosera::app::dropPrivileges(config.general.user, config.general.data_dir,
                                    writtenOutside(config, sensor->get(), nullptr));
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    (*sensor)->stop();
    return 1;
  }
  if (config.shipper.enabled) {
    drosera::sensor::ShipperOptions so;
    so.url = config.shipper.url;
    so.token = token;
    so.batch_events = config.shipper.batch_events;
    so.batch_bytes = config.shipper.batch_bytes;
    so.verify_tls = config.shipper.verify_tls;
    so.ca_file = config.shipper.ca_file;
    packWith(so, config.shipper.pack, (*sensor)->sensorId());
    (*sensor)->startShipper(so);
  }
  std::string banner = sensorBanner(**sensor, config, "sensor");
  if (config.shipper.enabled) banner += "  shipping to:  " + config.shipper.url + "\n";
  std::cout << banner << std::flush;
  const int sig = waitForSignal(sigs);
  spdlog::info("signal {} received, stopping", sig);
  (*sensor)->stop();
  spdlog::info("stopped");
  return 0;
}

std::string collectorBanner(const drosera::collector::Collector& c, bool standalone) {
  std::ostringstream os;
  if (standalone) os << "drosera " << DROSERA_VERSION << " collector is running\n";
  os << "  dashboard:    " << c.baseUrl() << "/  (log in with the access token)\n"
     << "  API:          " << c.baseUrl() << "/api/v1/  (Authorization: Bearer <token>)\n"
     << "  access token: " << c.credentials().apiToken() << "  (kept in "
     << c.credentials().apiTokenFile() << ")\n";
  if (standalone) os << "  stop with Ctrl-C or: kill " << ::getpid() << "\n";
  return os.str();
}

// ---- MISP (docs/misp.md) -------------------------------------------------------------------

namespace intel = drosera::intel;

// What the MISP reporter of this configuration writes to, for the banners.
std::string mispTarget(const Config& c) {
  const std::string feed = !c.misp.feed_dir.empty() ? c.misp.feed_dir
                           : c.misp.url.empty()     ? c.general.data_dir + "/misp-feed"
                                                    : std::string();
  std::string out;
  if (!feed.empty()) out = "feed folder " + feed;
  if (!c.misp.url.empty()) out += (out.empty() ? "" : " and ") + std::string("REST ") + c.misp.url;
  return out;
}

// The MISP reporter of a data folder. One per store: it holds <data_dir>/misp-reporter.lock
// while it lives, so `drosera report misp` and a running `drosera run` never report at once.
core::Result<std::unique_ptr<intel::Reporter>> makeMispReporter(const Config& c,
                                                                drosera::store::Store* store) {
  intel::ReporterOptions ro;
  ro.lock_path = c.general.data_dir + "/misp-reporter.lock";
  return intel::Reporter::create(c.misp, c.general.data_dir, store, std::move(ro));
}

// The periodic reporter inside `drosera run` and `drosera collector` ([misp] enabled, the
// default): every misp.interval_s, into <data_dir>/misp-feed unless misp.url/feed_dir say
// otherwise. Null when disabled, or when another process reports from this data folder. Made
// before the privilege drop (its feed folder and API key file are opened as root, and the feed
// folder then handed over); started after it.
core::Result<std::unique_ptr<intel::PeriodicReporter>> makeMispPeriodic(
    const Config& c, drosera::store::Store* store) {
  if (!c.misp.enabled) return std::unique_ptr<intel::PeriodicReporter>();
  if (c.collector.store == "postgres") {
    spdlog::warn("misp: reporting from a shared PostgreSQL store: keep [misp] enabled on one "
                 "collector only");
  }
  auto r = makeMispReporter(c, store);
  if (!r && r.status().code() == core::Status::Code::kUnavailable) {
    spdlog::warn("misp: not reporting from this process: {}", r.status().message());
    return std::unique_ptr<intel::PeriodicReporter>();
  }
  if (!r) return r.status();
  return std::make_unique<intel::PeriodicReporter>(std::move(*r), c.misp.interval_s);
}

// The attacker page's MISP status: what any reporter over this store recorded as published.
void showMispReports(drosera::collector::Collector& c) {
  drosera::store::Store* store = &c.store();
  c.setMispResolver([store](std::string_view ip, std::vector<drosera::collector::MispReport>* out) {
    auto reports = intel::addressReports(*store, std::string(ip));
    if (!reports) return false;
    for (auto& r : *reports) {
      out->push_back({std::move(r.destination), std::move(r.where), std::move(r.event_uuid),
                      std::move(r.attribute_uuid), std::move(r.date), r.published_us});
    }
    return true;
  });
}

// The reporter's passes in the collector's status (/api/v1/status, "misp"), while it runs.
void showMispStatus(drosera::collector::Collector& c, const intel::PeriodicReporter* p) {
  if (p == nullptr) return;
  c.setMispStatus([p] { return p->statusJson(); });
}

std::string mispBanner(const Config& c, const intel::PeriodicReporter* p) {
  if (p == nullptr) return "";
  std::ostringstream os;
  os << "  MISP:         " << mispTarget(c) << "  (every " << c.misp.interval_s << " s)\n";
  return os.str();
}

// The store of a data folder, opened as the collector opens it (collector.store).
core::Result<std::unique_ptr<drosera::store::Store>> openStore(const Config& c) {
  const auto& cc = c.collector;
  if (cc.store == "postgres") {
    if (cc.postgres.empty()) {
      return core::Status::invalidArgument(
          "collector.postgres: a connection string is needed with collector.store = \"postgres\"");
    }
    return drosera::store::openPostgresStore({cc.postgres});
  }
  drosera::store::SqliteOptions so;
  so.path = cc.sqlite_path.empty() ? c.general.data_dir + "/store.db" : cc.sqlite_path;
  std::error_code ec;
  if (!std::filesystem::exists(so.path, ec)) {
    return core::Status::notFound("no store at " + so.path +
                                  " (give the data folder of drosera run or collector: "
                                  "--data-dir, or collector.sqlite_path)");
  }
  return drosera::store::openSqliteStore(so);
}

// `drosera report misp`: reports the store of a data folder to MISP: with no misp.url into the
// feed folder <data_dir>/misp-feed. --once: one pass (until the store is caught up), then exit;
// otherwise every misp.interval_s until stopped. Runs whatever misp.enabled says.
int reportMisp(const CommonOptions& o, bool once) {
  sigset_t sigs{};
  if (!once) sigs = blockSignals();
  Config config;
  if (!loadConfig(o, &config)) return 2;
  setupLogging(config.general.log_level);
  if (auto st = intel::validateMispConfig(config.misp); !st) {
    std::fprintf(stderr, "drosera: configuration error: %s\n", st.message().c_str());
    return 2;
  }
  auto store = openStore(config);
  if (!store) {
    std::fprintf(stderr, "drosera: %s\n", store.status().message().c_str());
    return 1;
  }
  auto reporter = makeMispReporter(config, store->get());
  if (!reporter) {
    std::fprintf(stderr, "drosera: %s\n", reporter.status().message().c_str());
    return reporter.status().code() == core::Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (once) {
    auto r = (*reporter)->runOnce();
    if (!r) {
      std::fprintf(stderr, "drosera: MISP report failed (run it again: nothing is sent twice): %s\n",
                   r.status().message().c_str());
      return 1;
    }
    std::printf("misp: %s: %llu events read (%llu reported, %llu filtered, %llu too old), "
                "%llu MISP events updated, %llu days closed, store seq %llu\n",
                mispTarget(config).c_str(), static_cast<unsigned long long>(r->events_read),
                static_cast<unsigned long long>(r->events_folded),
                static_cast<unsigned long long>(r->events_filtered),
                static_cast<unsigned long long>(r->events_too_old),
                static_cast<unsigned long long>(r->events_published),
                static_cast<unsigned long long>(r->days_closed),
                static_cast<unsigned long long>(r->cursor));
    return 0;
  }
  intel::PeriodicReporter periodic(std::move(*reporter), config.misp.interval_s);
  periodic.start();
  std::cout << "drosera " << DROSERA_VERSION << " report misp is running\n"
            << mispBanner(config, &periodic) << "  stop with Ctrl-C or: kill " << ::getpid()
            << "\n" << std::flush;
  const int sig = waitForSignal(sigs);
  spdlog::info("signal {} received, stopping", sig);
  periodic.stop();
  spdlog::info("stopped");
  return 0;
}

// `drosera collector`: ingest, mlogc receiver, file tailing, store, API.
int runCollector(const CommonOptions& o) {
  const sigset_t sigs = blockSignals();
  Config config;
  if (!loadConfig(o, &config)) return 2;
  setupLogging(config.general.log_level);
  if (!fitOpenFiles(&config, false, true)) return 1;
  auto collector = drosera::collector::Collector::create(config);
  if (!collector) {
    std::fprintf(stderr, "drosera: %s\n", collector.status().message().c_str());
    return 1;
  }
  auto outputs = drosera::app::StoreOutputs::create(config, **collector);
  if (!outputs) {
    std::fprintf(stderr, "drosera: %s\n", outputs.status().message().c_str());
    return 1;
  }
  auto misp = makeMispPeriodic(config, &(*collector)->store());
  if (!misp) {
    std::fprintf(stderr, "drosera: %s\n", misp.status().message().c_str());
    return 1;
  }
  auto st = (*collector)->start();
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    return 1;
  }
  st = drosera::app::dropPrivileges(config.general.user, config.general.data_dir,
                                    writtenOutside(config, nullptr, outputs->get()));
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    (*collector)->stop();
    return 1;
  }
  (*outputs)->start();
  showMispReports(**collector);
  if (*misp) (*misp)->start();
  showMispStatus(**collector, misp->get());
  std::cout << collectorBanner(**collector, true) + (*outputs)->banner() +
                   mispBanner(config, misp->get())
            << std::flush;
  const int sig = waitForSignal(sigs);
  spdlog::info("signal {} received, stopping", sig);
  (*collector)->setMispStatus(nullptr);
  misp->reset();  // a pass in progress gives up at its next step (or aborts its MISP call)
  (*collector)->stop();
  (*outputs)->stop();
  spdlog::info("stopped");
  return 0;
}

// `drosera run`: sensor and collector in one process, through the same code paths (the sensor
// ships to its own collector over loopback), all data in one folder.
int runAll(const CommonOptions& o) {
  const sigset_t sigs = blockSignals();
  Config config;
  if (!loadConfig(o, &config)) return 2;
  setupLogging(config.general.log_level);
  if (!fitOpenFiles(&config, true, true)) return 1;
  auto sensor = drosera::sensor::Sensor::create(config);
  if (!sensor) {
    std::fprintf(stderr, "drosera: %s\n", sensor.status().message().c_str());
    return 1;
  }
  auto collector = drosera::collector::Collector::create(config);
  if (!collector) {
    std::fprintf(stderr, "drosera: %s\n", collector.status().message().c_str());
    return 1;
  }
  auto token = drosera::collector::loadOrCreateToken(config.general.data_dir + "/secrets/sensor.token");
  if (!token) {
    std::fprintf(stderr, "drosera: %s\n", token.status().message().c_str());
    return 1;
  }
  (*collector)->credentials().addSensor((*sensor)->sensorId(), *token);
  auto outputs = drosera::app::StoreOutputs::create(config, **collector);
  if (!outputs) {
    std::fprintf(stderr, "drosera: %s\n", outputs.status().message().c_str());
    return 1;
  }
  auto misp = makeMispPeriodic(config, &(*collector)->store());
  if (!misp) {
    std::fprintf(stderr, "drosera: %s\n", misp.status().message().c_str());
    return 1;
  }
  auto st = (*collector)->start();
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    return 1;
  }
  st = (*sensor)->start();
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    (*collector)->stop();
    return 1;
  }
  st = drosera::app::dropPrivileges(config.general.user, config.general.data_dir,
                                    writtenOutside(config, sensor->get(), outputs->get()));
  if (!st) {
    std::fprintf(stderr, "drosera: %s\n", st.message().c_str());
    (*sensor)->stop();
    (*collector)->stop();
    return 1;
  }
  drosera::sensor::ShipperOptions so;
  so.url = (*collector)->baseUrl() + "/api/v1/ingest";
  so.token = *token;
  so.verify_tls = false;  // our own collector on loopback, with its self-signed certificate
  so.poll_interval_s = 0.1;
  so.heartbeat_s = 5;
  packWith(so, config.shipper.pack, (*sensor)->sensorId());
  (*sensor)->startShipper(so);
  (*outputs)->start();
  showMispReports(**collector);
  if (*misp) (*misp)->start();
  showMispStatus(**collector, misp->get());
  std::cout << sensorBanner(**sensor, config, "(run)") + collectorBanner(**collector, false) +
                   (*outputs)->banner() + mispBanner(config, misp->get())
            << std::flush;
  const int sig = waitForSignal(sigs);
  spdlog::info("signal {} received, stopping", sig);
  // The sensor first: it stops listening at once, and ships what it captured to the collector,
  // which is still up. Then MISP (a pass in progress gives up at its next step, or aborts its
  // MISP call), the collector and its outputs.
  (*sensor)->stop();
  (*collector)->setMispStatus(nullptr);
  misp->reset();
  (*collector)->stop();
  (*outputs)->stop();
  spdlog::info("stopped");
  return 0;
}

// The ModSecurity configuration the sensor loads, so that another ModSecurity (nginx, Apache,
// a benchmark peer) can run exactly the same rules.
int rulesShow(const CommonOptions& o) {
  Config config;
  if (!loadConfig(o, &config)) return 2;
  drosera::engine::EngineOptions eo;
  eo.config = config.engine;
  eo.request_body_limit = config.limits.max_body_bytes;
  eo.tmp_dir = config.general.data_dir + "/tmp";
  auto text = drosera::engine::buildEngineConfig(eo);
  if (!text) {
    std::fprintf(stderr, "drosera: %s\n", text.status().message().c_str());
    return 1;
  }
  std::cout << *text;
  return 0;
}

// The honeytrap identification rules of this install, for ModSecurity v2 (Apache) or v3
// (nginx) in front of a real application.
int rulesExport(const CommonOptions& o, const std::string& output) {
  Config config;
  if (!loadConfig(o, &config)) return 2;
  auto text = drosera::sensor::exportTrapRules(config);
  if (!text) {
    std::fprintf(stderr, "drosera: %s\n", text.status().message().c_str());
    return 1;
  }
  if (output.empty() || output == "-") {
    std::cout << *text;
    return 0;
  }
  std::ofstream out(output, std::ios::trunc);
  out << *text;
  if (!out) {
    std::fprintf(stderr, "drosera: cannot write %s\n", output.c_str());
    return 1;
  }
  std::fprintf(stderr, "drosera: honeytrap rules written to %s\n", output.c_str());
  return 0;
}

int configCheck(const std::string& file) {
  auto r = drosera::core::loadConfigFile(file);
  if (!r) {
    std::fprintf(stderr, "drosera: configuration error: %s\n", r.status().message().c_str());
    return 2;
  }
  if (auto st = intel::validateMispConfig(r->misp); !st) {
    std::fprintf(stderr, "drosera: configuration error: %s: %s\n", file.c_str(),
                 st.message().c_str());
    return 2;
  }
  std::printf("%s: configuration is valid\n", file.c_str());
  return 0;
}

int status(const CommonOptions& o) {
  Config config;
  if (!loadConfig(o, &config)) return 2;
  const std::string path = config.general.data_dir + "/status.json";
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "drosera: no status at %s (is a sensor using this data folder?)\n",
                 path.c_str());
    return 1;
  }
  std::cout << in.rdbuf();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything drosera creates (events, journal, store, secrets) is for its own user only:
  // files 0600, folders 0700.
  ::umask(077);
  CLI::App app{"drosera: a web honeypot that turns attacks into threat intelligence"};
  app.set_version_flag("-V,--version", std::string("drosera ") + DROSERA_VERSION);
  app.require_subcommand(1);

  CommonOptions run_opts, sensor_opts, status_opts;
  auto* run = app.add_subcommand("run", "sensor and collector in one process, data in one folder");
  addCommon(run, run_opts);
  auto* sensor = app.add_subcommand("sensor", "the honeypot sensor only");
  addCommon(sensor, sensor_opts);
  CommonOptions collector_opts;
  auto* collector_cmd = app.add_subcommand(
      "collector", "receives events from sensors, mlogc and log files; store and JSON API");
  addCommon(collector_cmd, collector_opts);
  auto* status_cmd = app.add_subcommand("status", "print the status of a running sensor");
  addCommon(status_cmd, status_opts);

  auto* config = app.add_subcommand("config", "check or print the configuration");
  config->require_subcommand(1);
  std::string check_file;
  auto* check = config->add_subcommand("check", "validate a configuration file");
  check->add_option("file", check_file, "the TOML file")->required();
  auto* def = config->add_subcommand("default", "print the default configuration, commented");

  auto* rules = app.add_subcommand("rules", "the ModSecurity rules drosera runs");
  rules->require_subcommand(1);
  CommonOptions rules_opts;
  auto* rules_show = rules->add_subcommand("show", "print the engine configuration as loaded");
  addCommon(rules_show, rules_opts);
  CommonOptions export_opts;
  std::string export_output;
  auto* rules_export = rules->add_subcommand(
      "export", "write the honeytrap rules for ModSecurity v2 (Apache) and v3 (nginx)");
  addCommon(rules_export, export_opts);
  rules_export->add_option("-o,--output", export_output, "file to write (default: stdout)");

  auto* report = app.add_subcommand("report", "send what the store holds to other defenders");
  report->require_subcommand(1);
  CommonOptions report_opts;
  bool report_once = false;
  auto* report_misp = report->add_subcommand(
      "misp", "MISP events: the feed folder <data-dir>/misp-feed, or the REST API with misp.url");
  addCommon(report_misp, report_opts);
  report_misp->add_flag("--once", report_once,
                        "one pass, then exit (default: every misp.interval_s until stopped)");

  CLI11_PARSE(app, argc, argv);

  if (*run) return runAll(run_opts);
  if (*sensor) return runSensor(sensor_opts);
  if (*collector_cmd) return runCollector(collector_opts);
  if (*status_cmd) return status(status_opts);
  if (*check) return configCheck(check_file);
  if (*rules_show) return rulesShow(rules_opts);
  if (*rules_export) return rulesExport(export_opts, export_output);
  if (*report_misp) return reportMisp(report_opts, report_once);
  if (*def) {
    std::cout << drosera::core::defaultConfigToml();
    return 0;
  }
  return 0;
}
