#include "sensor/event_record.h"

#include <ctime>

#include "core/base64.h"
#include "core/json_text.h"
#include "http/parser.h"

namespace drosera::sensor {
namespace {

using core::JsonWriter;

void writeHeaders(JsonWriter& w, const std::vector<core::Header>& headers) {
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
  for (const auto& [k, v] : merged) w.key(k).value(v);
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

std::string buildEventLine(const core::Capture& c, const core::Verdict& v,
                           const InspectionInfo& info, const EventContext& ctx,
                           const EventExtras* extras) {
  std::string out;
  out.reserve(2048 + c.request.body.size() + c.raw.size() * 4 / 3);
  JsonWriter w(out);
  w.beginObject();
  w.key("transaction").beginObject();
  w.key("client_ip").value(c.client.ip);
  w.key("time_stamp").value(modsecTimestamp(c.received_us));
  w.key("server_id").value(ctx.sensor_id);
  w.key("client_port").value(static_cast<uint64_t>(c.client.port));
  w.key("host_ip").value(c.local.ip);
  w.key("host_port").value(static_cast<uint64_t>(c.local.port));
  w.key("unique_id").value(c.unique_id);

  w.key("request").beginObject();
  w.key("method").value(c.request.method);
  w.key("http_version").value(versionNumber(c.request.version));
  w.key("uri").value(c.request.target);
  w.key("headers");
  writeHeaders(w, c.request.headers);
  const bool body_cut = c.request.body.size() > ctx.max_body_bytes;
  w.key("body").value(std::string_view(c.request.body).substr(0, ctx.max_body_bytes));
  w.endObject();

  w.key("response").beginObject();
  w.key("body").value(c.response.body);
  w.key("http_code").value(c.response.status);
  w.key("headers");
  writeHeaders(w, c.response.headers);
  w.endObject();

  w.key("producer").beginObject();
  w.key("modsecurity").value(ctx.producer);
  w.key("connector").value(ctx.connector);
  w.key("secrules_engine").value(ctx.rule_engine);
  w.key("components").beginArray();
  for (const auto& comp : ctx.components) w.value(comp);
  w.endArray();
  w.endObject();

  w.key("messages").beginArray();
  for (const auto& m : v.matches) {
    w.beginObject();
    w.key("message").value(m.message);
    w.key("details").beginObject();
    w.key("match").value(m.match);
    w.key("reference").value(m.reference);
    w.key("ruleId").value(std::to_string(m.id));
    w.key("file").value(m.file);
    w.key("lineNumber").value(std::to_string(m.line));
    w.key("data").value(m.data);
    w.key("severity").value(std::to_string(m.severity));
    w.key("ver").value(m.ver);
    w.key("rev").value(m.rev);
    w.key("tags").beginArray();
    for (const auto& t : m.tags) w.value(t);
    w.endArray();
    w.key("maturity").value(std::to_string(m.maturity));
    w.key("accuracy").value(std::to_string(m.accuracy));
    w.endObject();
    w.endObject();
  }
  w.endArray();
  w.endObject();  // transaction

  w.key("drosera").beginObject();
  w.key("schema").value(kEventSchemaVersion);
  w.key("sensor").value(ctx.sensor_id);
  w.key("seq").value(c.seq);
  w.key("received_at").value(isoTimestamp(c.received_us));
  if (c.answered_us) {
    w.key("answered_at").value(isoTimestamp(c.answered_us));
  } else {
    w.key("answered_at").null();
  }
  w.key("listener").beginObject();
  w.key("port").value(static_cast<uint64_t>(c.listener_port));
  w.key("kind").value(c.listener_kind);
  w.key("tls").value(c.tls);
  if (c.tls) {
    w.key("tls_version").value(c.tls_version);
    w.key("sni").value(c.tls_sni);
  }
  w.endObject();
  w.key("client").beginObject();
  w.key("ip").value(c.client.ip);
  w.key("port").value(static_cast<uint64_t>(c.client.port));
  w.key("source").value(c.client_source);
  w.endObject();
  w.key("peer").beginObject();
  w.key("ip").value(c.peer.ip);
  w.key("port").value(static_cast<uint64_t>(c.peer.port));
  w.endObject();
  w.key("request").beginObject();
  w.key("head_complete").value(c.head_complete);
  w.key("body_complete").value(c.body_complete);
  w.key("version_text").value(c.request.version);
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
  if (!info.reason.empty()) w.key("reason").value(info.reason);
  if (info.state == InspectionState::kInspected && info.inspected_us) {
    const int64_t lag_ms = (info.inspected_us - (c.answered_us ? c.answered_us : c.received_us)) / 1000;
    w.key("lag_ms").value(std::max<int64_t>(lag_ms, 0));
    w.key("engine_us").value(v.duration_us);
  }
  if (v.intervention_status) w.key("would_block").value(v.intervention_status);
  w.endObject();
  w.key("scores").beginObject();
  for (const auto& [name, score] : v.scores) w.key(name).value(score);
  w.endObject();
  w.key("limits_hit").beginArray();
  for (const auto& l : c.limits_hit) w.value(l);
  w.endArray();
  w.key("anomalies").beginArray();
  for (const auto& a : c.anomalies) w.value(a);
  w.endArray();
  w.key("traps").beginArray();
  if (extras) {
    for (const auto& t : extras->traps) {
      w.beginObject();
      w.key("kind").value(t.kind);
      w.key("bait").value(t.bait);
      w.key("captured").value(t.captured);
      w.key("rule_id").value(t.rule_id);
      if (!t.origin.empty()) w.key("origin").value(t.origin);
      w.endObject();
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
    for (const auto& t : a.traps) w.value(t);
    w.endArray();
    if (!c.visitor.empty()) w.key("visitor").value(c.visitor);
    w.endObject();
  }
  if (ctx.raw_request) {
    const bool raw_cut = c.raw.size() > ctx.max_raw_bytes;
    w.key("raw").value(core::base64Encode(std::string_view(c.raw).substr(0, ctx.max_raw_bytes)));
    w.key("raw_truncated").value(raw_cut || c.raw_bytes > c.raw.size());
  }
  w.endObject();  // drosera
  w.endObject();
  return out;
}

}  // namespace drosera::sensor
