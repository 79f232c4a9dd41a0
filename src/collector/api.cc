// The read-only JSON API of the collector (issue 4): events with filters and cursor pagination,
// one event in full, attackers, aggregates for the dashboard (GeoIP ones when a resolver is
// set), sensors, status.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "collector/collector.h"
#include "core/base64.h"
#include "core/digits.h"
#include "core/json_text.h"
#include "http/form.h"

namespace drosera::collector {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string iso(int64_t us) {
  if (us <= 0) return "";
  std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03lldZ", static_cast<long long>((us % 1000000) / 1000));
  return std::string(buf) + frac;
}

// Times the API takes: from 1970 to the year 5138 (1e11 s), so that differences of two never
// overflow.
constexpr int64_t kMaxTimeUs = 100'000'000'000LL * 1'000'000;

// "2026-11-30T07:00:00Z", "2026-11-30T07:00:00.5Z", "2026-11-30", or epoch seconds.
bool parseTime(const std::string& s, int64_t* us) {
  if (s.empty() || s.size() > 40) return false;
  if (s.find_first_not_of("0123456789.") == std::string::npos) {
    try {
      const double v = std::stod(s) * 1e6;
      if (!(v >= 0 && v <= static_cast<double>(kMaxTimeUs))) return false;
      *us = static_cast<int64_t>(v);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) {
    tm = {};
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
    if (!rest || *rest) return false;
  }
  int64_t frac_us = 0;
  if (*rest == '.') {
    ++rest;
    int64_t scale = 100000;
    while (*rest >= '0' && *rest <= '9') {
      frac_us += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  if (*rest && std::string(rest) != "Z" && std::string(rest) != "+00:00") return false;
  const int64_t secs = static_cast<int64_t>(timegm(&tm));
  if (secs < 0 || secs > kMaxTimeUs / 1000000 - 1) return false;
  *us = secs * 1000000 + frac_us;
  return true;
}

struct Query {
  std::vector<std::pair<std::string, std::string>> params;
  std::string get(const std::string& k) const { return http::formValue(params, k); }
};

// Fills a filter from the query; returns an error message for a bad value.
std::string readFilter(const Query& q, store::EventFilter* f) {
  const std::string from = q.get("from"), to = q.get("to");
  if (!from.empty() && !parseTime(from, &f->from_us)) return "from: not a time: " + from;
  if (!to.empty() && !parseTime(to, &f->to_us)) return "to: not a time: " + to;
  f->ip = q.get("ip");
  f->tag = q.get("tag");
  f->category = q.get("category");
  f->trap = q.get("trap");
  f->sensor = q.get("sensor");
  f->text = q.get("q").substr(0, 200);
  const std::string rule = q.get("rule");
  if (!rule.empty()) {
    uint64_t id = 0;
    if (!core::parseDigits(rule, &id) || id == 0 || id > 2147483647)
      return "rule: not a rule id: " + rule;
    f->rule_id = static_cast<int>(id);
  }
  return "";
}

json rulesJson(const std::vector<core::RuleHit>& rules, bool full) {
  json arr = json::array();
  for (const auto& r : rules) {
    json j = {{"id", r.id}, {"message", r.message}, {"severity", r.severity}};
    if (full) {
      j["data"] = r.data;
      j["match"] = r.match;
      j["tags"] = r.tags;
      j["file"] = r.file;
      j["line"] = r.line;
      j["ver"] = r.ver;
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

json eventJson(const store::StoredEvent& s, bool full) {
  const core::Event& e = s.event;
  json j = {{"seq", s.seq},
            {"time", iso(e.time_us)},
            {"time_us", e.time_us},
            {"sensor", e.sensor},
            {"unique_id", e.unique_id},
            {"format", e.format},
            {"src_ip", e.src_ip},
            {"src_port", e.src_port},
            {"dst_ip", e.dst_ip},
            {"dst_port", e.dst_port},
            {"listener_kind", e.listener_kind},
            {"tls", e.tls},
            {"method", e.method},
            {"uri", e.uri},
            {"http_version", e.http_version},
            {"host", e.host},
            {"user_agent", e.user_agent},
            {"status", e.status},
            {"inbound_score", e.inbound_score},
            {"outbound_score", e.outbound_score},
            {"categories", e.categories},
            {"flagged", e.attacker_flagged},
            {"inspected", e.inspected},
            {"rules", rulesJson(e.rules, full)}};
  json traps = json::array();
  for (const auto& t : e.traps) {
    traps.push_back({{"kind", t.kind}, {"bait", t.bait}, {"captured", t.captured},
                     {"rule_id", t.rule_id}, {"origin", t.origin}});
  }
  j["traps"] = traps;
  if (full) {
    json headers = json::array();
    for (const auto& h : e.request_headers) headers.push_back({h.name, h.value});
    j["request_headers"] = headers;
    j["request_body"] = e.request_body;
    j["scores"] = json::object();
    for (const auto& [k, v] : e.scores) j["scores"][k] = v;
    j["anomalies"] = e.anomalies;
    j["limits_hit"] = e.limits_hit;
    // The record as received: as text when it is UTF-8, always as base64 too (lossless).
    if (core::isValidUtf8(e.raw_record)) j["raw_record"] = e.raw_record;
    j["raw_record_base64"] = core::base64Encode(e.raw_record);
  }
  return j;
}

json attackerJson(const store::AttackerRow& a) {
  return {{"ip", a.ip},
          {"first_seen", iso(a.first_seen_us)},
          {"last_seen", iso(a.last_seen_us)},
          {"events", a.events},
          {"events_with_rules", a.events_with_rules},
          {"categories", a.categories},
          {"traps", a.traps},
          {"sensors", a.sensors},
          {"flagged", a.flagged}};
}

bool parseDimension(const std::string& s, store::Dimension* d) {
  static const std::pair<const char*, store::Dimension> kDims[] = {
      {"source_ip", store::Dimension::kSourceIp}, {"rule", store::Dimension::kRule},
      {"category", store::Dimension::kCategory},  {"tag", store::Dimension::kTag},
      {"port", store::Dimension::kDstPort},       {"user_agent", store::Dimension::kUserAgent},
      {"trap", store::Dimension::kTrap},          {"sensor", store::Dimension::kSensor},
      {"uri", store::Dimension::kUri},            {"method", store::Dimension::kMethod},
      {"status", store::Dimension::kStatus}};
  for (const auto& [name, dim] : kDims) {
    if (s == name) {
      *d = dim;
      return true;
    }
  }
  return false;
}

json geoJson(const GeoFacts& g) {
  return {{"country_iso_code", g.country_iso_code},
          {"country_name", g.country_name},
          {"as_number", g.as_number},
          {"as_organization", g.as_organization}};
}

// "tracked": whether this collector knows what was sent to MISP; "reported": whether any
// publication holds the address.
json mispJson(bool tracked, const std::vector<MispReport>& reports) {
  json arr = json::array();
  for (const auto& r : reports) {
    arr.push_back({{"destination", r.destination},
                   {"where", r.where},
                   {"event_uuid", r.event_uuid},
                   {"attribute_uuid", r.attribute_uuid},
                   {"date", r.date},
                   {"published", iso(r.published_us)}});
  }
  return {{"tracked", tracked}, {"reported", tracked && !reports.empty()}, {"reports", arr}};
}

// Event counts by country or AS, with the label last seen for each key.
struct GeoTally {
  std::map<std::string, std::pair<std::string, uint64_t>> by_key;
  uint64_t unknown = 0;

  void add(const std::string& key, const std::string& label, uint64_t n) {
    auto& [l, count] = by_key[key];
    if (l.empty()) l = label;
    count += n;
  }
  json toJson(size_t limit) const {
    std::vector<std::pair<const std::string*, const std::pair<std::string, uint64_t>*>> items;
    for (const auto& [k, v] : by_key) items.emplace_back(&k, &v);
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.second->second > b.second->second;  // by count; keys ascending among equals
    });
    if (items.size() > limit) items.resize(limit);
    json arr = json::array();
    for (const auto& [k, v] : items) {
      arr.push_back({{"key", *k}, {"label", v->first}, {"count", v->second}});
    }
    return arr;
  }
};

// Events one page of /events, or one aggregate that scans the events, may look at, at most.
constexpr uint64_t kMaxScan = 1'000'000;

// `scan`: at most that many events looked at, instead of the store's budget; bounded, so that
// no client makes one request cost seconds. An error message, or "".
std::string readScanParam(const Query& q, uint64_t* max_scan) {
  const std::string scan = q.get("scan");
  if (scan.empty()) return "";
  uint64_t n = 0;
  if (!core::parseDigits(scan, &n)) return "scan: not a number of events";
  *max_scan = std::clamp<uint64_t>(n, 1, kMaxScan);
  return "";
}

// An aggregate that scanned the events and stopped at its budget: the counts are those of the
// newest events, back to searched_until.
void addReach(const store::ScanReach& reach, json* j) {
  (*j)["partial"] = reach.partial;
  if (reach.partial) {
    (*j)["searched_until"] = iso(reach.searched_until_us);
    (*j)["searched_until_us"] = reach.searched_until_us;
  }
}

size_t readLimit(const Query& q, size_t def, size_t max) {
  const std::string l = q.get("limit");
  if (l.empty()) return def;
  try {
    return std::clamp<size_t>(std::stoul(l), 1, max);
  } catch (const std::exception&) {
    return def;
  }
}

}  // namespace

http::Response Collector::api(core::Capture& c, const std::string& path) {
  Query q{http::parseQuery(c.request.target)};
  auto failed = [](const core::Status& st) { return jsonError(503, st.message()); };

  if (path == "/api/v1/status") return jsonResponse(200, statusJson());

  if (path == "/api/v1/events") {
    store::EventQuery eq;
    if (auto err = readFilter(q, &eq.filter); !err.empty()) return jsonError(400, err);
    eq.limit = readLimit(q, 100, 1000);
    const std::string cursor = q.get("cursor");
    if (!cursor.empty() && (!core::parseDigits(cursor, &eq.before_seq) || eq.before_seq == 0)) {
      return jsonError(400, "cursor: not a cursor");
    }
    // `scan`: at most that many events looked at for this page, instead of the store's budget
    // (about 100 ms of work); bounded, so that no client makes a page cost seconds.
    if (auto err = readScanParam(q, &eq.max_scan); !err.empty()) return jsonError(400, err);
    auto page = store_->events(eq);
    if (!page) return failed(page.status());
    json arr = json::array();
    for (const auto& e : page->events) arr.push_back(eventJson(e, false));
    json j = {{"events", arr}};
    j["next_cursor"] = page->next_cursor ? json(std::to_string(page->next_cursor)) : json(nullptr);
    // A page cut short by the store's scan budget: fewer events than asked (perhaps none), and
    // how far back the search got; the next page goes on from next_cursor.
    j["partial"] = page->partial;
    if (page->partial) {
      j["searched_until"] = iso(page->searched_until_us);
      j["searched_until_us"] = page->searched_until_us;
    }
    return jsonResponse(200, dump(j));
  }

  if (path.rfind("/api/v1/events/", 0) == 0) {
    std::string rest = path.substr(15);
    const bool raw = rest.size() > 4 && rest.substr(rest.size() - 4) == "/raw";
    if (raw) rest.resize(rest.size() - 4);
    uint64_t seq = 0;
    if (rest.empty() || rest.size() > 19 || rest.find_first_not_of("0123456789") != std::string::npos) {
      return jsonError(404, "no such event");
    }
    seq = std::stoull(rest);
    auto e = store_->event(seq);
    if (!e) return failed(e.status());
    if (!e->has_value()) return jsonError(404, "no such event");
    if (raw) {
      http::Response r;
      r.status = 200;
      r.body = (*e)->event.raw_record;
      r.headers.push_back({"Content-Type", "application/octet-stream"});
      r.headers.push_back({"Content-Disposition",
                           "attachment; filename=\"event-" + std::to_string(seq) + ".raw\""});
      r.headers.push_back({"X-Content-Type-Options", "nosniff"});
      r.headers.push_back({"Cache-Control", "no-store"});
      return r;
    }
    return jsonResponse(200, dump(eventJson(**e, true)));
  }

  if (path == "/api/v1/attackers") {
    store::AttackerQuery aq;
    if (auto err = readFilter(q, &aq.filter); !err.empty()) return jsonError(400, err);
    aq.limit = readLimit(q, 100, 1000);
    const std::string order = q.get("order");
    if (!order.empty()) {
      if (order != "last_seen" && order != "events" && order != "first_seen") {
        return jsonError(400, "order: last_seen, events or first_seen");
      }
      aq.order = order;
    }
    const std::string offset = q.get("offset");
    if (!offset.empty()) {
      if (offset.size() > 7 || offset.find_first_not_of("0123456789") != std::string::npos) {
        return jsonError(400, "offset: 0 .. 1000000");
      }
      aq.offset = std::stoul(offset);
      if (aq.offset > 1'000'000) return jsonError(400, "offset: 0 .. 1000000");
    }
    // A sensor, category or trap filter is checked row by row, within the scan budget.
    store::ScanReach reach;
    if (auto err = readScanParam(q, &reach.max_scan); !err.empty()) return jsonError(400, err);
    auto rows = store_->attackers(aq, &reach);
    if (!rows) return failed(rows.status());
    json arr = json::array();
    for (const auto& a : *rows) arr.push_back(attackerJson(a));
    json j = {{"attackers", arr}};
    addReach(reach, &j);
    return jsonResponse(200, dump(j));
  }

  if (path.rfind("/api/v1/attackers/", 0) == 0) {
    const std::string ip = http::percentDecode(path.substr(18), false);
    auto a = store_->attacker(ip);
    if (!a) return failed(a.status());
    if (!a->has_value()) return jsonError(404, "no such attacker");
    json j = attackerJson(**a);
    GeoFacts g;
    if (geo_ && geo_(ip, &g)) j["geo"] = geoJson(g);
    std::vector<MispReport> reports;
    MispResolver resolver;
    {
      std::lock_guard lock(misp_mu_);
      resolver = misp_;
    }
    const bool tracked = resolver && resolver(ip, &reports);
    j["misp"] = mispJson(tracked, reports);
    return jsonResponse(200, dump(j));
  }

  if (path == "/api/v1/stats/timeline") {
    store::EventFilter f;
    if (auto err = readFilter(q, &f); !err.empty()) return jsonError(400, err);
    int64_t bucket_s = 3600;
    if (!q.get("bucket").empty()) {
      uint64_t b = 0;
      if (!core::parseDigits(q.get("bucket"), &b) || b > 86400 * 31) {
        return jsonError(400, "bucket: 60 .. 2678400 s");
      }
      bucket_s = static_cast<int64_t>(b);
    }
    if (bucket_s < 60 || bucket_s > 86400 * 31) return jsonError(400, "bucket: 60 .. 2678400 s");
    if (f.from_us && f.to_us && (f.to_us - f.from_us) / (bucket_s * 1000000) > 10000) {
      return jsonError(400, "too many buckets; use a larger bucket");
    }
    store::ScanReach reach;
    if (auto err = readScanParam(q, &reach.max_scan); !err.empty()) return jsonError(400, err);
    auto buckets = store_->countsOverTime(f, bucket_s * 1000000, &reach);
    if (!buckets) return failed(buckets.status());
    // Without both ends the store returns the buckets that have events: as many, at most.
    if (buckets->size() > 10000) return jsonError(400, "too many buckets; use a larger bucket");
    json arr = json::array();
    for (const auto& b : *buckets) {
      arr.push_back({{"start", iso(b.start_us)}, {"start_us", b.start_us}, {"count", b.count},
                     {"alerts", b.alerts}});
    }
    json j = {{"bucket_s", bucket_s}, {"buckets", arr}};
    addReach(reach, &j);
    return jsonResponse(200, dump(j));
  }

  if (path == "/api/v1/stats/top") {
    store::EventFilter f;
    if (auto err = readFilter(q, &f); !err.empty()) return jsonError(400, err);
    store::Dimension d;
    if (!parseDimension(q.get("dim"), &d)) {
      return jsonError(400, "dim: source_ip, rule, category, tag, port, user_agent, trap, sensor, "
                            "uri, method or status");
    }
    store::ScanReach reach;
    if (auto err = readScanParam(q, &reach.max_scan); !err.empty()) return jsonError(400, err);
    auto items = store_->top(d, f, readLimit(q, 10, 100), &reach);
    if (!items) return failed(items.status());
    json arr = json::array();
    for (const auto& i : *items) {
      arr.push_back({{"key", i.key}, {"label", i.label}, {"count", i.count}});
    }
    json j = {{"dim", q.get("dim")}, {"items", arr}};
    addReach(reach, &j);
    return jsonResponse(200, dump(j));
  }

  // Countries and autonomous systems of the sources: the most active kGeoSources addresses
  // (under the filters) looked up and summed; "complete" says whether that was all of them.
  if (path == "/api/v1/stats/geo") {
    if (!geo_) return jsonResponse(200, dump(json{{"configured", false}}));
    store::EventFilter f;
    if (auto err = readFilter(q, &f); !err.empty()) return jsonError(400, err);
    constexpr size_t kGeoSources = 1000;
    store::ScanReach reach;
    if (auto err = readScanParam(q, &reach.max_scan); !err.empty()) return jsonError(400, err);
    auto sources = store_->top(store::Dimension::kSourceIp, f, kGeoSources, &reach);
    if (!sources) return failed(sources.status());
    GeoTally countries, asns;
    uint64_t events = 0;
    for (const auto& s : *sources) {
      events += s.count;
      GeoFacts g;
      const bool known = geo_(s.key, &g);
      if (known && !g.country_iso_code.empty()) {
        countries.add(g.country_iso_code, g.country_name, s.count);
      } else {
        countries.unknown += s.count;
      }
      if (known && g.as_number != 0) {
        asns.add("AS" + std::to_string(g.as_number), g.as_organization, s.count);
      } else {
        asns.unknown += s.count;
      }
    }
    const size_t limit = readLimit(q, 10, 100);
    json j = {{"configured", true},
              {"sources", sources->size()},
              {"complete", sources->size() < kGeoSources && !reach.partial},
              {"events", events},
              {"countries", countries.toJson(limit)},
              {"unknown_country", countries.unknown},
              {"asns", asns.toJson(limit)},
              {"unknown_as", asns.unknown}};
    addReach(reach, &j);
    return jsonResponse(200, dump(j));
  }

  if (path == "/api/v1/sensors") {
    auto rows = store_->sensors();
    if (!rows) return failed(rows.status());
    json arr = json::array();
    for (const auto& s : *rows) {
      json status = json::parse(s.status_json.empty() ? "{}" : s.status_json, nullptr, false);
      arr.push_back({{"sensor", s.sensor},
                     {"first_seen", iso(s.first_seen_us)},
                     {"last_seen", iso(s.last_seen_us)},
                     {"last_seen_us", s.last_seen_us},
                     {"events", s.events},
                     {"lag_ms", s.lag_ms},
                     {"status", status.is_discarded() ? json::object() : status}});
    }
    return jsonResponse(200, dump(json{{"sensors", arr}}));
  }

  return jsonError(404, "no such API route");
}

}  // namespace drosera::collector
