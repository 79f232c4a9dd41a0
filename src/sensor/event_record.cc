#include "sensor/event_record.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>

#include "core/base64.h"
#include "core/json_text.h"
#include "http/parser.h"

namespace drosera::sensor {
namespace {

using core::JsonWriter;

// Bounds on what one event line copies. The first build uses the configured ones (body, raw)
// and no others; a line that comes out too long is built again with tighter ones.
struct Caps {
  uint64_t body;            // request body bytes
  uint64_t raw;             // raw request bytes (before base64)
  size_t text = SIZE_MAX;   // bytes of any other string (uri, header, rule hit, ...)
  size_t items = SIZE_MAX;  // entries of any list (headers, rule hits, tags, traps, ...)
};

// The tighter bounds, tried in turn. The last one makes a line far below kMaxEventLineBytes
// whatever the capture holds: every string at most 128 bytes (768 escaped) and every list at
// most 16 entries, rule hits with their 16 tags included, is under 700 KB.
constexpr Caps kTighter[] = {
    {256 << 10, 512 << 10, 16 << 10, 1000},
    {32 << 10, 64 << 10, 1024, 100},
    {4096, 0, 128, 16},
};

// `s` cut to `max` bytes (not inside a UTF-8 sequence) and marked, in `scratch`; else `s`.
std::string_view capped(std::string_view s, size_t max, std::string& scratch) {
  if (s.size() <= max) return s;
  size_t keep = max;
  for (int k = 0; k < 3 && keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80; ++k) {
    --keep;
  }
  scratch.assign(s.substr(0, keep));
  scratch += " ... (" + std::to_string(s.size() - keep) + " bytes omitted)";
  return scratch;
}

// Stops early once `out` (what `w` writes to) reaches `stop_at`: the line is given up.
void writeHeaders(JsonWriter& w, const std::vector<core::Header>& headers, const Caps& caps,
                  const std::string& out, size_t stop_at) {
  // An object like ModSecurity's; repeated names are joined (the raw request keeps each one).
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& h : headers) {
    bool found = false;
    for (auto& m : merged) {
      if (http::iequals(m.first, h.name)) {
        m.second += http::iequals(m.first, "Cookie") ? "; " : ", ";
        m.second += h.value;
        found = true;
        break;
      }
    }
    if (!found) merged.emplace_back(h.name, h.value);
  }
  w.beginObject();
  std::string scratch;
  for (size_t i = 0; i < merged.size() && i < caps.items && out.size() < stop_at; ++i) {
    w.key(capped(merged[i].first, caps.text, scratch));
    w.value(capped(merged[i].second, caps.text, scratch));
  }
  w.endObject();
}

double versionNumber(const std::string& v) {
  if (v.size() == 3 && v[1] == '.' && v[0] >= '0' && v[0] <= '9' && v[2] >= '0' && v[2] <= '9') {
    return (v[0] - '0') + (v[2] - '0') / 10.0;
  }
  return 0;
}

const char* stateName(InspectionState s) {
  switch (s) {
    case InspectionState::kInspected: return "inspected";
    case InspectionState::kUninspected: return "uninspected";
    case InspectionState::kEngineError: return "engine_error";
  }
  return "unknown";
}

}  // namespace

std::string modsecTimestamp(int64_t unix_us) {
  std::time_t t = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf, n);
}

std::string isoTimestamp(int64_t unix_us) {
  std::time_t t = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(unix_us % 1000000));
  return std::string(buf, n) + frac;
}

namespace {

// Writes the line with `caps` into `out`. With `give_up`, stops (false) as soon as the line
// reaches kMaxEventLineBytes, not to build a line of tens of megabytes only to drop it; `cut`
// marks the line as written with tighter bounds than the configured ones.
bool writeLine(const core::Capture& c, const core::Verdict& v, const InspectionInfo& info,
               const EventContext& ctx, const EventExtras* extras, const Caps& caps, bool give_up,
               bool cut, std::string& out) {
  const uint64_t body_max = std::min<uint64_t>(ctx.max_body_bytes, caps.body);
  const uint64_t raw_max = std::min<uint64_t>(ctx.max_raw_bytes, caps.raw);
  out.clear();
  out.reserve(2048 + std::min<uint64_t>(c.request.body.size(), body_max) +
              std::min<uint64_t>(c.raw.size(), raw_max) * 4 / 3);
  JsonWriter w(out);
  std::string scratch;
  // Any string but the body and the raw request: the client's, a rule's, the configuration's.
  auto text = [&](std::string_view s) { return capped(s, caps.text, scratch); };
  auto items = [&](const auto& list) { return std::min<size_t>(list.size(), caps.items); };
  const size_t stop_at = give_up ? kMaxEventLineBytes : SIZE_MAX;
  auto tooLong = [&] { return out.size() >= stop_at; };
  w.beginObject();
  w.key("transaction").beginObject();
  w.key("client_ip").value(text(c.client.ip));
  w.key("time_stamp").value(modsecTimestamp(c.received_us));
  w.key("server_id").value(text(ctx.sensor_id));
  w.key("client_port").value(static_cast<uint64_t>(c.client.port));
  w.key("host_ip").value(text(c.local.ip));
  w.key("host_port").value(static_cast<uint64_t>(c.local.port));
  w.key("unique_id").value(text(c.unique_id));

  w.key("request").beginObject();
  w.key("method").value(text(c.request.method));
  w.key("http_version").value(versionNumber(c.request.version));
  w.key("uri").value(text(c.request.target));
  w.key("headers");
  writeHeaders(w, c.request.headers, caps, out, stop_at);
  if (tooLong()) return false;
  const bool body_cut = c.request.body.size() > body_max;
  w.key("body").value(std::string_view(c.request.body).substr(0, body_max));
  w.endObject();

  w.key("response").beginObject();
  w.key("body").value(text(c.response.body));
  w.key("http_code").value(c.response.status);
  w.key("headers");
  writeHeaders(w, c.response.headers, caps, out, stop_at);
  w.endObject();

  w.key("producer").beginObject();
  w.key("modsecurity").value(text(ctx.producer));
  w.key("connector").value(text(ctx.connector));
  w.key("secrules_engine").value(text(ctx.rule_engine));
  w.key("components").beginArray();
  for (size_t i = 0; i < items(ctx.components); ++i) w.value(text(ctx.components[i]));
  w.endArray();
  w.endObject();

  w.key("messages").beginArray();
  for (size_t i = 0; i < items(v.matches); ++i) {
    const core::RuleMatch& m = v.matches[i];
    w.beginObject();
    w.key("message").value(text(m.message));
    w.key("details").beginObject();
    w.key("match").value(text(m.match));
    w.key("reference").value(text(m.reference));
    w.key("ruleId").value(std::to_string(m.id));
    w.key("file").value(text(m.file));
    w.key("lineNumber").value(std::to_string(m.line));
    w.key("data").value(text(m.data));
    w.key("severity").value(std::to_string(m.severity));
    w.key("ver").value(text(m.ver));
    w.key("rev").value(text(m.rev));
    w.key("tags").beginArray();
    for (size_t t = 0; t < items(m.tags); ++t) w.value(text(m.tags[t]));
    w.endArray();
    w.key("maturity").value(std::to_string(m.maturity));
    w.key("accuracy").value(std::to_string(m.accuracy));
    w.endObject();
    w.endObject();
    if (tooLong()) return false;
  }
  w.endArray();
  w.endObject();  // transaction

  w.key("drosera").beginObject();
  w.key("schema").value(kEventSchemaVersion);
  w.key("sensor").value(text(ctx.sensor_id));
  w.key("seq").value(c.seq);
  w.key("received_at").value(isoTimestamp(c.received_us));
  if (c.answered_us) {
    w.key("answered_at").value(isoTimestamp(c.answered_us));
  } else {
    w.key("answered_at").null();
  }
  w.key("listener").beginObject();
  w.key("port").value(static_cast<uint64_t>(c.listener_port));
  w.key("kind").value(text(c.listener_kind));
  w.key("tls").value(c.tls);
  if (c.tls) {
    w.key("tls_version").value(text(c.tls_version));
    w.key("sni").value(text(c.tls_sni));
  }
  w.endObject();
  w.key("client").beginObject();
  w.key("ip").value(text(c.client.ip));
  w.key("port").value(static_cast<uint64_t>(c.client.port));
  w.key("source").value(text(c.client_source));
  w.endObject();
  w.key("peer").beginObject();
  w.key("ip").value(text(c.peer.ip));
  w.key("port").value(static_cast<uint64_t>(c.peer.port));
  w.endObject();
  w.key("request").beginObject();
  w.key("head_complete").value(c.head_complete);
  w.key("body_complete").value(c.body_complete);
  w.key("version_text").value(text(c.request.version));
  w.key("body_bytes").value(c.request.body_bytes);
  w.key("body_truncated").value(body_cut || c.request.body_bytes > c.request.body.size());
  w.key("raw_bytes").value(c.raw_bytes);
  w.endObject();
  w.key("response").beginObject();
  w.key("status").value(c.response.status);
  w.key("body_bytes").value(c.response.body_bytes);
  w.endObject();
  w.key("inspection").beginObject();
  w.key("state").value(stateName(info.state));
  if (!info.reason.empty()) w.key("reason").value(text(info.reason));
  if (info.state == InspectionState::kInspected && info.inspected_us) {
    const int64_t lag_ms = (info.inspected_us - (c.answered_us ? c.answered_us : c.received_us)) / 1000;
    w.key("lag_ms").value(std::max<int64_t>(lag_ms, 0));
    w.key("engine_us").value(v.duration_us);
  }
  if (v.intervention_status) w.key("would_block").value(v.intervention_status);
  w.endObject();
  w.key("scores").beginObject();
  for (size_t i = 0; i < items(v.scores); ++i) {
    w.key(text(v.scores[i].first)).value(v.scores[i].second);
  }
  w.endObject();
  w.key("limits_hit").beginArray();
  for (size_t i = 0; i < items(c.limits_hit); ++i) w.value(text(c.limits_hit[i]));
  w.endArray();
  w.key("anomalies").beginArray();
  for (size_t i = 0; i < items(c.anomalies); ++i) w.value(text(c.anomalies[i]));
  w.endArray();
  w.key("traps").beginArray();
  if (extras) {
    for (size_t i = 0; i < items(extras->traps); ++i) {
      const core::TrapHit& t = extras->traps[i];
      w.beginObject();
      w.key("kind").value(text(t.kind));
      w.key("bait").value(text(t.bait));
      w.key("captured").value(text(t.captured));
      w.key("rule_id").value(t.rule_id);
      if (!t.origin.empty()) w.key("origin").value(text(t.origin));
      w.endObject();
      if (tooLong()) return false;
    }
  }
  w.endArray();
  if (extras && extras->has_attacker) {
    const AttackerView& a = extras->attacker;
    w.key("attacker").beginObject();
    w.key("flagged").value(a.flagged);
    w.key("first_seen").value(isoTimestamp(a.first_seen_us));
    w.key("last_seen").value(isoTimestamp(a.last_seen_us));
    w.key("events").value(a.events);
    w.key("traps").beginArray();
    for (size_t i = 0; i < items(a.traps); ++i) w.value(text(a.traps[i]));
    w.endArray();
    if (!c.visitor.empty()) w.key("visitor").value(text(c.visitor));
    w.endObject();
  }
  if (ctx.raw_request) {
    const bool raw_cut = c.raw.size() > raw_max;
    w.key("raw").value(core::base64Encode(std::string_view(c.raw).substr(0, raw_max)));
    w.key("raw_truncated").value(raw_cut || c.raw_bytes > c.raw.size());
  }
  // Less of the request than the configured bounds keep, to fit kMaxEventLineBytes.
  if (cut) w.key("line_truncated").value(true);
  w.endObject();  // drosera
  w.endObject();
  return !tooLong();
}

}  // namespace

std::string buildEventLine(const core::Capture& c, const core::Verdict& v,
                           const InspectionInfo& info, const EventContext& ctx,
                           const EventExtras* extras) {
  // With its newline, a line is at most kMaxEventLineBytes.
  std::string line;
  if (writeLine(c, v, info, ctx, extras, {ctx.max_body_bytes, ctx.max_raw_bytes}, true, false,
                line)) {
    return line;
  }
  for (size_t i = 0; i < std::size(kTighter); ++i) {
    const bool last = i + 1 == std::size(kTighter);  // fits whatever the capture holds
    if (writeLine(c, v, info, ctx, extras, kTighter[i], !last, true, line)) break;
  }
  return line;
}

}  // namespace drosera::sensor
