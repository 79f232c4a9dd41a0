#include "intel/reporter.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/out_of_memory.h"
#include "core/paths.h"
#include "http/client.h"
#include "http/ip_match.h"
#include "intel/feed_transport.h"
#include "intel/rest_transport.h"
#include "intel/uuid5.h"

namespace drosera::intel {
namespace {

using nlohmann::json;

constexpr const char* kNamespace = "misp";
constexpr const char* kCursor = "misp";
constexpr size_t kMaxLearnedAddresses = 4096;
constexpr const char* kAddressNamespace = "misp-ip";  // per address: its publications
constexpr size_t kMaxReportsPerAddress = 1000;        // the oldest go first
constexpr size_t kMaxRecordedAddresses = 1'000'000;   // memo of records known to be there
constexpr int64_t kDayUs = 86400ll * 1000000;

int64_t systemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool isLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

uint64_t parseU64(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  uint64_t out = 0;
  std::from_chars(v->data(), v->data() + v->size(), out);
  return out;
}

std::string partKey(const std::string& day_key, int n) {
  return "part/" + day_key + "/" + std::to_string(n);
}

core::Status stoppedStatus() { return core::Status::unavailable("misp: reporter stopped"); }

}  // namespace

std::string defaultMispDataDir() { return core::shareDir() + "/data/misp"; }

core::Status validateMispConfig(const MispConfig& c) {
  const auto bad = [](const std::string& key, const std::string& why) {
    return core::Status::invalidArgument("misp." + key + ": " + why);
  };
  if (!(c.interval_s > 0)) return bad("interval_s", "must be more than 0");
  if (c.batch_size < 1 || c.batch_size > 100000) return bad("batch_size", "must be 1..100000");
  if (c.distribution < 0 || c.distribution > 3) {
    return bad("distribution", "must be 0 (your organisation) .. 3 (all communities)");
  }
  if (c.threat_level < 1 || c.threat_level > 4) return bad("threat_level", "must be 1..4");
  if (!(c.timeout_s > 0)) return bad("timeout_s", "must be more than 0");
  if (c.retry_attempts < 1 || c.retry_attempts > 20) return bad("retry_attempts", "must be 1..20");
  if (c.retry_backoff_s < 0 || c.retry_backoff_s > 600) {
    return bad("retry_backoff_s", "must be 0..600");
  }
  if (c.feed_keep_days < 0) return bad("feed_keep_days", "must be 0 (keep all) or more");
  if (c.max_ips_per_event < 1 || c.max_ips_per_event > 100000) {
    return bad("max_ips_per_event", "must be 1..100000");
  }
  if (c.max_requests_per_ip > 100) return bad("max_requests_per_ip", "must be 0..100");
  if (c.max_urls_per_ip > 1000) return bad("max_urls_per_ip", "must be 0..1000");
  if (c.sighting_interval_s < 0) return bad("sighting_interval_s", "must not be negative");
  if (c.close_delay_s < 0 || c.close_delay_s > 7 * 86400) {
    return bad("close_delay_s", "must be 0..604800");
  }
  if (!c.url.empty()) {
    const bool https = c.url.rfind("https://", 0) == 0;
    const bool http = c.url.rfind("http://", 0) == 0;
    if (!https && !http) return bad("url", "must start with https://");
    if (http) {
      std::string host = c.url.substr(7);
      host = host.substr(0, host.find('/'));
      if (!host.empty() && host.front() == '[') {
        host = host.substr(1, host.find(']') - 1);
      } else {
        host = host.substr(0, host.find(':'));
      }
      if (!isLoopbackHost(host)) {
        return bad("url", "plain http would send the API key in clear: use https://");
      }
    }
  }
  if (c.org_name.empty() || c.org_name.size() > 255) return bad("org_name", "must be 1..255 bytes");
  if (!c.org_uuid.empty() && !isUuid(c.org_uuid)) return bad("org_uuid", "is not a UUID");
  if (!c.namespace_uuid.empty() && !isUuid(c.namespace_uuid)) {
    return bad("namespace_uuid", "is not a UUID");
  }
  if (c.tlp.rfind("tlp:", 0) != 0) return bad("tlp", "must be a tlp:* tag");
  if (!c.pap.empty() && c.pap.rfind("PAP:", 0) != 0) return bad("pap", "must be a PAP:* tag");
  std::set<std::string> names;
  std::set<std::string> sensors;
  for (const auto& g : c.sensor_groups) {
    if (g.name.empty() || g.name.size() > 128) return bad("sensor_groups", "a group needs a name");
    if (!names.insert(g.name).second) return bad("sensor_groups", "group " + g.name + " twice");
    for (const auto& s : g.sensors) {
      if (!sensors.insert(s).second) {
        return bad("sensor_groups", "sensor " + s + " is in two groups");
      }
    }
  }
  Warninglists probe;
  core::Status s = probe.addList("allowlist", "cidr", {}, c.allowlist, true);
  if (!s) return bad("allowlist", s.message());
  s = probe.addList("sensor_addresses", "cidr", {}, c.sensor_addresses, true);
  if (!s) return bad("sensor_addresses", s.message());
  return core::Status::ok();
}

struct Reporter::Day {
  std::string key;
  std::vector<DayPart> parts;
};

Reporter::Reporter(const MispConfig& config, store::Store* store, MispCatalog catalog,
                   Warninglists lists, std::vector<std::unique_ptr<MispTransport>> transports,
                   ReporterOptions options)
    : config_(config),
      store_(store),
      catalog_(std::move(catalog)),
      lists_(std::move(lists)),
      transports_(std::move(transports)),
      options_(std::move(options)) {
  if (!options_.now_us) options_.now_us = systemNowUs;
  for (const auto& g : config_.sensor_groups) {
    for (const auto& s : g.sensors) groups_[s] = g.name;
  }
}

Reporter::~Reporter() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

core::Result<std::unique_ptr<Reporter>> Reporter::createWith(
    const MispConfig& config, store::Store* store, MispCatalog catalog, Warninglists lists,
    std::vector<std::unique_ptr<MispTransport>> transports, ReporterOptions options) {
  core::Status s = validateMispConfig(config);
  if (!s) return s;
  if (store == nullptr) return core::Status::invalidArgument("MISP reporter: no store");
  // Every tag the model may emit must exist in the taxonomies or the galaxy.
  const auto check = [&](const std::string& key, const std::string& tag) -> core::Status {
    if (tag.empty() || catalog.tagExists(tag)) return core::Status::ok();
    return core::Status::invalidArgument("misp." + key + ": " + tag +
                                         " is in no taxonomy or galaxy of the MISP data folder");
  };
  if (!(s = check("tlp", config.tlp))) return s;
  if (!(s = check("pap", config.pap))) return s;
  for (const auto& t : config.honeypot_tags) {
    if (!(s = check("honeypot_tags", t))) return s;
  }
  for (const auto& t : config.event_tags) {
    if (!(s = check("event_tags", t))) return s;
  }
  ModelOptions probe;
  for (const auto& t : possibleTags(probe, catalog)) {
    if (!t.empty() && !catalog.tagExists(t)) {
      return core::Status::invalidArgument("MISP data folder: tag " + t +
                                           " (from the CRS mapping or a trap) is unknown");
    }
  }
  if (catalog.objectTemplate("http-request") == nullptr) {
    return core::Status::invalidArgument("MISP data folder: no http-request object template");
  }
  int lock_fd = -1;
  if (!options.lock_path.empty()) {
    lock_fd = ::open(options.lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) return core::Status::fromErrno("cannot open " + options.lock_path, errno);
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(lock_fd);
      if (err != EWOULDBLOCK) return core::Status::fromErrno("flock " + options.lock_path, err);
      return core::Status::unavailable(
          "another MISP reporter is running on this data folder (it holds " + options.lock_path +
          "): drosera run or drosera collector with [misp] enabled, or drosera report misp");
    }
  }
  std::unique_ptr<Reporter> r(new Reporter(config, store, std::move(catalog), std::move(lists),
                                           std::move(transports), std::move(options)));
  r->lock_fd_ = lock_fd;
  s = r->allow_.addList("allowlist", "cidr", {}, config.allowlist, true);
  if (!s) return core::Status::invalidArgument("misp.allowlist: " + s.message());
  s = r->allow_.addList("sensor_addresses", "cidr", {}, config.sensor_addresses, true);
  if (!s) return core::Status::invalidArgument("misp.sensor_addresses: " + s.message());
  return r;
}

core::Result<std::unique_ptr<Reporter>> Reporter::create(const MispConfig& config_in,
                                                         const std::string& data_dir,
                                                         store::Store* store,
                                                         ReporterOptions options) {
  MispConfig config = config_in;
  core::Status s = validateMispConfig(config);
  if (!s) return s;
  if (config.misp_data_dir.empty()) config.misp_data_dir = defaultMispDataDir();
  auto catalog = MispCatalog::load(config.misp_data_dir);
  if (!catalog)
    return core::Status::invalidArgument("misp.misp_data_dir: " + catalog.status().message());
  Warninglists lists;
  std::vector<std::string> dirs = config.warninglist_dirs;
  if (dirs.empty()) dirs.push_back(config.misp_data_dir + "/warninglists");
  for (const auto& d : dirs) {
    s = lists.loadDirectory(d);
    if (!s) return core::Status::invalidArgument("misp.warninglist_dirs: " + s.message());
  }
  if (lists.lists() == 0) {
    spdlog::warn("misp: no warninglists loaded: bogons and research scanners are not filtered");
  }

  auto r = createWith(config, store, std::move(*catalog), std::move(lists), {}, std::move(options));
  if (!r) return r.status();
  Reporter& rep = **r;
  std::string feed_dir = config.feed_dir;
  if (feed_dir.empty() && config.url.empty()) feed_dir = data_dir + "/misp-feed";
  // The feed comes first: it never waits on the network.
  if (!feed_dir.empty()) {
    FeedOptions fo;
    fo.dir = feed_dir;
    fo.keep_days = config.feed_keep_days;
    fo.now_us = rep.options_.now_us;
    auto feed = FeedTransport::open(fo, &rep.catalog_);
    if (!feed) return core::Status::invalidArgument("misp.feed_dir: " + feed.status().message());
    rep.transports_.push_back(std::move(*feed));
  }
  if (!config.url.empty()) {
    auto key = loadApiKey(config);
    if (!key) return key.status();
    if (!config.verify_tls) {
      spdlog::warn("misp: TLS certificate verification is OFF (misp.verify_tls = false)");
    }
    RestOptions ro;
    ro.url = config.url;
    ro.api_key = std::move(*key);
    ro.verify_tls = config.verify_tls;
    ro.ca_file = config.ca_file;
    ro.timeout_s = config.timeout_s;
    ro.retry_attempts = config.retry_attempts;
    ro.retry_backoff_s = config.retry_backoff_s;
    ro.stop = &rep.stop_;
    rep.transports_.push_back(
        std::make_unique<RestTransport>(std::move(ro), http::makeHttpClient, store));
  }
  return r;
}

int64_t Reporter::nowUs() const { return options_.now_us(); }

core::Status Reporter::putState(const std::string& step, const std::string& key,
                                const std::string& value) {
  if (options_.fault && !options_.fault(step)) {
    return core::Status::ioError("misp reporter: simulated crash before writing " + key);
  }
  return store_->putState(kNamespace, key, value);
}

core::Status Reporter::init() {
  if (initialised_) return core::Status::ok();
  // The install's own namespace and organisation UUIDs: two honeypots named alike never make
  // the same event UUID.
  const auto settle = [&](const std::string& configured, const char* key,
                          std::string* out) -> core::Status {
    if (!configured.empty()) {
      *out = configured;
      return core::Status::ok();
    }
    auto v = store_->getState(kNamespace, key);
    if (!v) return v.status();
    if (v->has_value() && isUuid(**v)) {
      *out = **v;
      return core::Status::ok();
    }
    *out = randomUuid();
    return putState("identity", key, *out);
  };
  core::Status s = settle(config_.namespace_uuid, "namespace", &model_.namespace_uuid);
  if (!s) return s;
  if (!(s = settle(config_.org_uuid, "org-uuid", &model_.org_uuid))) return s;
  model_.org_name = config_.org_name;
  model_.distribution = config_.distribution;
  model_.threat_level = config_.threat_level;
  model_.tlp = config_.tlp;
  model_.pap = config_.pap;
  model_.honeypot_tags = config_.honeypot_tags;
  model_.event_tags = config_.event_tags;
  model_.report_unclassified = config_.report_unclassified;

  fold_.max_requests_per_ip = config_.max_requests_per_ip;
  fold_.max_urls_per_ip = config_.max_urls_per_ip;
  fold_.share_credentials = config_.share_credentials;
  fold_.report_unclassified = config_.report_unclassified;
  fold_.sightings = std::any_of(transports_.begin(), transports_.end(),
                                [](const auto& t) { return t->name() == "rest"; });
  fold_.sighting_interval_us = static_cast<int64_t>(config_.sighting_interval_s * 1e6);
  fold_.url_allowed = [this](const std::string& url, const core::Event& e) {
    return urlAllowed(url, e);
  };

  auto learned = store_->getState(kNamespace, "sensor-addresses");
  if (!learned) return learned.status();
  learned_addresses_.clear();
  if (learned->has_value()) {
    json j = json::parse(**learned, nullptr, false);
    if (j.is_array()) {
      for (const auto& a : j) {
        if (a.is_string()) learned_addresses_.insert(a.get<std::string>());
      }
    }
  }
  if (!(s = loadIndex())) return s;
  initialised_ = true;
  return core::Status::ok();
}

core::Status Reporter::loadIndex() {
  auto v = store_->getState(kNamespace, "index");
  if (!v) return v.status();
  index_.clear();
  if (!v->has_value()) return core::Status::ok();
  json j = json::parse(**v, nullptr, false);
  if (!j.is_object()) return core::Status::ok();
  for (const auto& [key, e] : j.items()) {
    if (!e.is_array() || e.size() != 3) continue;
    index_[key] = {e[0].get<int>(), e[1].get<bool>(), e[2].get<bool>()};
  }
  return core::Status::ok();
}

core::Status Reporter::saveIndex() {
  json j = json::object();
  for (const auto& [key, e] : index_) j[key] = {e.parts, e.closed, e.settled};
  return putState("index", "index", j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string Reporter::groupOf(const std::string& sensor) const {
  auto it = groups_.find(sensor);
  if (it != groups_.end()) return it->second;
  return sensor.empty() ? std::string("unknown") : sensor;
}

bool Reporter::sourceFiltered(const std::string& ip, const core::Event& e) const {
  if (isNonGlobalAddress(ip)) return true;
  if (lists_.match("ip-src", ip)) return true;
  if (allow_.match("ip-src", ip)) return true;
  if (learned_addresses_.count(ip)) return true;
  return !e.dst_ip.empty() && http::canonicalIp(e.dst_ip) == ip;
}

bool Reporter::urlAllowed(const std::string& url, const core::Event& e) const {
  if (lists_.match("url", url)) return false;
  const std::string host = urlHost(url);
  if (host.empty()) return false;
  std::array<uint8_t, 16> a{};
  if (http::parseIp(host, &a)) {
    if (isNonGlobalAddress(host)) return false;
    const std::string ip = http::canonicalIp(host);
    if (allow_.match("ip-dst", ip) || learned_addresses_.count(ip)) return false;
    if (!e.dst_ip.empty() && http::canonicalIp(e.dst_ip) == ip) return false;
  }
  // The sensor's own name (the Host header the request was sent with).
  std::string own = e.host;
  if (!own.empty() && own.front() == '[') {
    own = own.substr(1, own.find(']') == std::string::npos ? std::string::npos : own.find(']') - 1);
  } else {
    own = own.substr(0, own.find(':'));
  }
  std::transform(own.begin(), own.end(), own.begin(), ::tolower);
  return own.empty() || own != host;
}

core::Result<Reporter::Day*> Reporter::loadDay(std::map<std::string, Day>& days,
                                               const std::string& key) {
  auto it = days.find(key);
  if (it != days.end()) return &it->second;
  Day d;
  d.key = key;
  for (int n = 1;; ++n) {
    auto v = store_->getState(kNamespace, partKey(key, n));
    if (!v) return v.status();
    if (!v->has_value() || (*v)->empty()) break;
    auto p = parsePart(**v);
    if (!p) return p.status();
    d.parts.push_back(std::move(*p));
  }
  return &days.emplace(key, std::move(d)).first->second;
}

core::Status Reporter::saveDay(Day& day) {
  // Ascending, so that a crash leaves a prefix of the parts saved: part n+1 is only ever
  // stored after part n, and new IPs always go to the last part.
  for (DayPart& p : day.parts) {
    if (!p.touched) continue;
    core::Status s = putState("part", partKey(day.key, p.part), serializePart(p));
    if (!s) return s;
    p.touched = false;
  }
  return core::Status::ok();
}

core::Status Reporter::processBatch(const std::vector<store::StoredEvent>& batch,
                                    ReportStats* stats) {
  // The sensors' own addresses: every destination address is one.
  bool learned = false;
  for (const auto& se : batch) {
    std::array<uint8_t, 16> a{};
    if (se.event.dst_ip.empty() || !http::parseIp(se.event.dst_ip, &a)) continue;
    if (learned_addresses_.size() >= kMaxLearnedAddresses) break;
    learned = learned_addresses_.insert(http::canonicalIp(se.event.dst_ip)).second || learned;
  }
  if (learned) {
    json j(std::vector<std::string>(learned_addresses_.begin(), learned_addresses_.end()));
    core::Status s = putState("addresses", "sensor-addresses", j.dump());
    if (!s) return s;
  }

  const int64_t now = nowUs();
  const int64_t now_s = now / 1000000;
  const std::string cutoff =
      config_.feed_keep_days > 0 ? utcDate(now - int64_t{config_.feed_keep_days} * kDayUs) : "";
  std::map<std::string, Day> days;
  for (const auto& se : batch) {
    ++stats->events_read;
    const core::Event& e = se.event;
    std::array<uint8_t, 16> a{};
    if (e.src_ip.empty() || !http::parseIp(e.src_ip, &a)) {
      ++stats->events_filtered;
      continue;
    }
    const std::string ip = http::canonicalIp(e.src_ip);
    if (sourceFiltered(ip, e)) {
      ++stats->events_filtered;
      continue;
    }
    const std::string date = utcDate(e.time_us);
    if (!cutoff.empty() && date < cutoff) {
      ++stats->events_too_old;
      continue;
    }
    const std::string key = groupOf(e.sensor) + "|" + date;
    auto day = loadDay(days, key);
    if (!day) return day.status();
    std::vector<DayPart>& parts = (*day)->parts;
    DayPart* target = nullptr;
    for (DayPart& p : parts) {
      if (p.findIp(ip) != nullptr) target = &p;
    }
    if (target != nullptr && target->applied_seq >= se.seq) {
      ++stats->events_already_folded;
      continue;
    }
    if (target == nullptr) {
      if (parts.empty() || parts.back().ips.size() >= config_.max_ips_per_event) {
        DayPart fresh;
        fresh.group = groupOf(e.sensor);
        fresh.date = date;
        fresh.part = static_cast<int>(parts.size()) + 1;
        parts.push_back(std::move(fresh));
      }
      target = &parts.back();
    }
    const Evidence ev = evidenceOf(e, fold_);
    foldEvent(*target, e, ip, ev, se.seq, now_s, fold_);
    ++stats->events_folded;
  }

  bool index_changed = false;
  for (auto& [key, day] : days) {
    core::Status s = saveDay(day);
    if (!s) return s;
    IndexEntry& ie = index_[key];
    const int parts = static_cast<int>(day.parts.size());
    if (ie.parts != parts || ie.settled) index_changed = true;
    ie.parts = parts;
    ie.settled = false;  // changed (or re-read after a crash): publish again
  }
  if (index_changed) {
    core::Status s = saveIndex();
    if (!s) return s;
  }
  return publishDays(days, stats);
}

core::Status Reporter::publishDays(std::map<std::string, Day>& days, ReportStats* stats) {
  struct Built {
    const DayPart* part;
    MispEvent event;
  };
  std::vector<Built> built;
  for (auto& [key, day] : days) {
    for (const DayPart& p : day.parts) {
      MispEvent ev = buildEvent(p, model_, catalog_);
      if (ev.empty()) continue;  // nothing to show (yet): not published at all
      built.push_back({&p, std::move(ev)});
    }
  }
  core::Status first_error;
  for (auto& t : transports_) {
    if (stopping()) return stoppedStatus();
    struct Done {
      std::string key;
      uint64_t version;
      const MispEvent* event;
    };
    std::vector<Done> done;
    core::Status s;
    for (const Built& b : built) {
      const std::string key = "pub/" + t->name() + "/" + b.event.uuid;
      auto v = store_->getState(kNamespace, key);
      if (!v) return v.status();
      if (parseU64(*v) >= b.part->version) continue;
      if (stopping()) {
        s = stoppedStatus();
        break;
      }
      PublishRequest req;
      req.event = &b.event;
      if (t->name() == "rest") req.sightings = pendingSightings(*b.part, b.event);
      req.publish = b.part->closed;
      req.version = b.part->version;
      s = t->publish(req);
      if (!s) break;
      done.push_back({key, b.part->version, &b.event});
    }
    // What was published is made durable even when a later event failed.
    core::Status f = t->flush();
    if (f) {
      for (const Done& d : done) {
        // The addresses first: killed in between, the event is published again, and recorded
        // once.
        core::Status w = recordAddresses(*t, *d.event);
        if (w) w = putState("pub", d.key, std::to_string(d.version));
        if (!w) return w;
        ++stats->events_published;
      }
    }
    if (!s && first_error) first_error = s;
    if (!f && first_error) first_error = f;
    if ((!s || !f) && !stopping()) {
      spdlog::warn("misp: {} transport: {}", t->name(), (!s ? s : f).message());
    }
  }
  return first_error;
}

// The "misp-ip" record of each address the event holds (an ip-src attribute): which event,
// through which transport, from when. Read by addressReports() for the attacker page.
core::Status Reporter::recordAddresses(const MispTransport& t, const MispEvent& event) {
  const int64_t now = nowUs();
  for (const MispAttribute& a : event.attributes) {
    if (a.type != "ip-src") continue;
    std::string memo = t.name() + '|' + event.uuid + '|' + a.value;
    if (recorded_addresses_.count(memo) != 0) continue;
    auto v = store_->getState(kAddressNamespace, a.value);
    if (!v) return v.status();
    json list = json::array();
    if (v->has_value() && !(*v)->empty()) {
      list = json::parse(**v, nullptr, false);
      if (!list.is_array()) list = json::array();  // unreadable: start it again
    }
    bool present = false;
    for (const auto& r : list) {
      if (r.is_object() && r.value("d", "") == t.name() && r.value("e", "") == event.uuid) {
        present = true;
      }
    }
    if (!present) {
      list.push_back({{"d", t.name()}, {"w", t.where()}, {"e", event.uuid}, {"a", a.uuid},
                      {"date", event.date}, {"t", now}});
      while (list.size() > kMaxReportsPerAddress) list.erase(list.begin());
      auto s = store_->putState(kAddressNamespace, a.value,
                                list.dump(-1, ' ', false, json::error_handler_t::replace));
      if (!s) return s;
    }
    if (recorded_addresses_.size() >= kMaxRecordedAddresses) recorded_addresses_.clear();
    recorded_addresses_.insert(std::move(memo));
  }
  return core::Status::ok();
}

core::Result<std::vector<AddressReport>> addressReports(store::Store& store, const std::string& ip) {
  std::vector<AddressReport> out;
  auto v = store.getState(kAddressNamespace, ip);
  if (!v) return v.status();
  if (!v->has_value() || (*v)->empty()) return out;
  const json list = json::parse(**v, nullptr, false);
  if (!list.is_array()) {
    return core::Status::corruption("misp: the record of what was published about " + ip +
                                    " is not a JSON array");
  }
  for (const auto& r : list) {
    if (!r.is_object()) continue;
    AddressReport a;
    a.destination = r.value("d", "");
    a.where = r.value("w", "");
    a.event_uuid = r.value("e", "");
    a.attribute_uuid = r.value("a", "");
    a.date = r.value("date", "");
    a.published_us = r.value("t", int64_t{0});
    out.push_back(std::move(a));
  }
  return out;
}

core::Status Reporter::maintain(ReportStats* stats) {
  const int64_t now = nowUs();
  const int64_t now_s = now / 1000000;
  const std::string cutoff =
      config_.feed_keep_days > 0 ? utcDate(now - int64_t{config_.feed_keep_days} * kDayUs) : "";
  std::map<std::string, Day> days;
  bool index_changed = false;
  std::vector<std::string> forget;
  for (auto& [key, ie] : index_) {
    const std::string date = key.size() > 11 ? key.substr(key.size() - 10) : "";
    const std::string group = key.size() > 11 ? key.substr(0, key.size() - 11) : key;
    if (ie.settled) {
      if (!cutoff.empty() && date < cutoff) {
        // Past retention: the state goes (blank values; the store has no delete).
        for (int n = 1; n <= ie.parts; ++n) {
          const std::string uuid = eventUuid(model_.namespace_uuid, group, date, n);
          core::Status s = putState("part", partKey(key, n), "");
          for (const auto& t : transports_) {
            if (s) s = putState("pub", "pub/" + t->name() + "/" + uuid, "");
          }
          if (s) s = putState("pub", "rest/" + uuid, "");
          if (!s) return s;
        }
        forget.push_back(key);
      }
      continue;
    }
    auto day = loadDay(days, key);
    if (!day) return day.status();
    if (!ie.closed && now >= endOfDayUs(date) + static_cast<int64_t>(config_.close_delay_s * 1e6)) {
      for (DayPart& p : (*day)->parts) {
        if (p.closed) continue;  // closed before a crash that kept the index from saying so
        touch(p, now_s);
        p.closed = true;
      }
      core::Status s = saveDay(**day);
      if (!s) return s;
      ie.closed = true;
      index_changed = true;
      ++stats->days_closed;
    }
  }
  for (const auto& k : forget) {
    index_.erase(k);
    index_changed = true;
  }
  if (index_changed) {
    core::Status s = saveIndex();
    if (!s) return s;
  }
  core::Status s = publishDays(days, stats);
  if (!s) return s;
  // A closed day every transport holds at its last version needs no more work.
  index_changed = false;
  for (auto& [key, day] : days) {
    IndexEntry& ie = index_[key];
    if (!ie.closed) continue;
    bool all = true;
    for (const DayPart& p : day.parts) {
      if (buildEvent(p, model_, catalog_).empty()) continue;
      const std::string uuid = eventUuid(model_.namespace_uuid, p.group, p.date, p.part);
      for (const auto& t : transports_) {
        auto v = store_->getState(kNamespace, "pub/" + t->name() + "/" + uuid);
        if (!v) return v.status();
        if (parseU64(*v) < p.version) all = false;
      }
    }
    if (all && !ie.settled) {
      ie.settled = true;
      index_changed = true;
    }
  }
  if (index_changed) return saveIndex();
  return core::Status::ok();
}

core::Result<ReportStats> Reporter::runOnce() {
  auto r = runOnceImpl();
  // After a failure the in-memory index and learnt addresses may be ahead of the store: the
  // next run starts again from what the store holds.
  if (!r) initialised_ = false;
  return r;
}

core::Result<ReportStats> Reporter::runOnceImpl() {
  core::Status s = init();
  if (!s) return s;
  ReportStats stats;
  for (size_t b = 0; b < options_.max_batches; ++b) {
    if (stopping()) return stoppedStatus();
    auto cursor = store_->cursor(kCursor);
    if (!cursor) return cursor.status();
    stats.cursor = *cursor;
    uint64_t examined = *cursor;
    auto batch = store_->readAfter(*cursor, config_.batch_size, &examined);
    if (!batch) return batch.status();
    if (batch->empty()) {
      if (examined <= *cursor) break;
      // Nothing readable, only missing seqs (damaged rows, and perhaps some that retention
      // deleted): the cursor moves past them, and the next batch goes on from there.
      if (!(s = store_->setCursor(kCursor, examined))) return s;
      spdlog::warn("misp: {} events between seqs {} and {} were deleted by retention before "
                   "they were reported, or are damaged (the store names those)",
                   examined - *cursor, *cursor + 1, examined);
      stats.events_missed += examined - *cursor;
      stats.cursor = examined;
      continue;
    }
    if (!(s = processBatch(*batch, &stats))) return s;
    // Only now: the aggregates are stored and every transport has its copy durable.
    if (options_.fault && !options_.fault("cursor")) {
      return core::Status::ioError("misp reporter: simulated crash before the cursor");
    }
    const uint64_t upto = std::max(batch->back().seq, examined);
    if (!(s = store_->setCursor(kCursor, upto))) return s;
    // Missing seqs: deleted by retention before they were reported, or damaged.
    if (const uint64_t gap = store::missedSeqs(*cursor, *batch, examined); gap > 0) {
      spdlog::warn("misp: {} events between seqs {} and {} were deleted by retention before "
                   "they were reported, or are damaged (the store names those)",
                   gap, *cursor + 1, upto);
      stats.events_missed += gap;
    }
    stats.cursor = upto;
    if (batch->size() < config_.batch_size) break;
  }
  if (stopping()) return stoppedStatus();
  if (!(s = maintain(&stats))) return s;
  return stats;
}

PeriodicReporter::PeriodicReporter(std::unique_ptr<Reporter> reporter, double interval_s)
    : reporter_(std::move(reporter)), interval_s_(interval_s) {}

PeriodicReporter::~PeriodicReporter() { stop(); }

void PeriodicReporter::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  reporter_->resume();
  thread_ = std::thread([this] { loop(); });
}

void PeriodicReporter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  reporter_->requestStop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string PeriodicReporter::statusJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j = {{"runs", runs_},
                      {"failures", failures_},
                      {"last_run_us", last_run_us_},
                      {"last_ok_us", last_ok_us_},
                      {"last_error", last_error_},
                      {"events_read", totals_.events_read},
                      {"events_reported", totals_.events_folded},
                      {"events_already_reported", totals_.events_already_folded},
                      {"events_filtered", totals_.events_filtered},
                      {"events_too_old", totals_.events_too_old},
                      {"misp_events_updated", totals_.events_published},
                      {"days_closed", totals_.days_closed},
                      {"events_missed", totals_.events_missed},
                      {"cursor", totals_.cursor},
                      {"interval_s", interval_s_}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PeriodicReporter::loop() {
  double wait = 0;
  double backoff = 10;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, std::chrono::duration<double>(wait), [this] { return stopping_; })) {
        return;
      }
    }
    auto r = core::failOnOutOfMemory([&] { return reporter_->runOnce(); });
    if (!r) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        spdlog::info("misp: the pass in progress stopped; the next one goes on from there");
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      ++runs_;
      last_run_us_ = now;
      if (r) {
        last_ok_us_ = now;
        last_error_.clear();
        totals_.events_read += r->events_read;
        totals_.events_folded += r->events_folded;
        totals_.events_already_folded += r->events_already_folded;
        totals_.events_filtered += r->events_filtered;
        totals_.events_too_old += r->events_too_old;
        totals_.events_published += r->events_published;
        totals_.days_closed += r->days_closed;
        totals_.events_missed += r->events_missed;
        totals_.cursor = r->cursor;
      } else {
        ++failures_;
        last_error_ = r.status().message();
      }
    }
    if (r) {
      if (r->events_read > 0 || r->events_published > 0 || r->days_closed > 0) {
        spdlog::info(
            "misp: {} events read ({} reported, {} filtered), {} MISP events updated, "
            "{} days closed",
            r->events_read, r->events_folded, r->events_filtered, r->events_published,
            r->days_closed);
      }
      wait = interval_s_;
      backoff = 10;
    } else {
      spdlog::warn("misp: report failed, retrying in {:.0f} s: {}", std::min(backoff, interval_s_),
                   r.status().message());
      wait = std::min(backoff, interval_s_);
      backoff = std::min(backoff * 2, interval_s_);
    }
  }
}

}  // namespace drosera::intel
