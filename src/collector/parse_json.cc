// The JSON formats: drosera event lines and libmodsecurity v3 records (parseV3Json), and
// mod_security2 v2 records (parseV2Json). simdjson's DOM parser validates the whole document
// (a truncated line is an error, not a half-read event) and keeps duplicate keys, which the walk
// below visits in order: libmodsecurity writes one key per repeated header.
#include <simdjson.h>

#include <cmath>
#include <cstdio>

#include "collector/parse.h"
#include "collector/parse_util.h"

namespace drosera::collector {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Real records nest six levels (transaction.messages[].details.tags[]); 64 leaves room for
// writers we have not seen and bounds the parser's stack on hostile input.
constexpr size_t kMaxJsonDepth = 64;
// Larger records are parsed with a parser of their own, so that no thread keeps big buffers.
constexpr size_t kThreadParserMaxBytes = 1u << 20;

simdjson::dom::parser& threadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Length of the well-formed UTF-8 sequence at s[i], 0 if there is none.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 1 >= s.size()) return 0;
    const unsigned char c1 = byte(i + 1);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) return 0;
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 1 >= s.size()) return 0;
    const unsigned char c1 = byte(i + 1);
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return 0;
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

// nginx and Apache write the bytes an attacker sent as they came, so their JSON is not always
// UTF-8. Each byte that is not part of a well-formed sequence becomes \u00XX (its Latin-1
// reading), which is valid inside a JSON string and what drosera's own event lines contain.
std::string escapeInvalidUtf8(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + s.size() / 8 + 16);
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8SequenceLength(s, i);
    if (n == 0) {
      const auto c = static_cast<unsigned char>(s[i]);
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

template <typename Walk>
core::Status withJson(std::string_view record, const char* what, Walk&& walk) {
  simdjson::dom::parser own;
  simdjson::dom::parser& parser = record.size() > kThreadParserMaxBytes ? own : threadParser();
  if (parser.max_depth() != kMaxJsonDepth || parser.capacity() == 0) {
    if (parser.allocate(std::max<size_t>(record.size(), 64 * 1024), kMaxJsonDepth) !=
        simdjson::SUCCESS) {
      // Not the record's fault: "unavailable", so that it is retried, never dropped as bad.
      return core::Status::unavailable(std::string(what) + ": out of memory");
    }
  }
  element root;
  auto err = parser.parse(record.data(), record.size()).get(root);
  std::string escaped;
  if (err == simdjson::UTF8_ERROR) {
    escaped = escapeInvalidUtf8(record);
    err = parser.parse(escaped.data(), escaped.size()).get(root);
  }
  if (err == simdjson::MEMALLOC) {
    return core::Status::unavailable(std::string(what) + ": out of memory");
  }
  if (err != simdjson::SUCCESS) {
    return core::Status::invalidArgument(std::string(what) + ": not a JSON record (" +
                                         simdjson::error_message(err) + ")");
  }
  return walk(root);
}

std::string_view str(element v) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return {};
  return s;
}

bool boolean(element v) {
  bool b = false;
  if (v.get_bool().get(b) != simdjson::SUCCESS) return false;
  return b;
}

// Integers as numbers or as decimal strings (libmodsecurity writes ruleId and severity as
// strings); nullopt for anything else.
std::optional<int64_t> integer(element v) {
  switch (v.type()) {
    case element_type::INT64: {
      int64_t i = 0;
      if (v.get_int64().get(i) != simdjson::SUCCESS) return std::nullopt;
      return i;
    }
    case element_type::UINT64:
      return std::nullopt;  // above INT64_MAX: nothing we read is that large
    case element_type::DOUBLE: {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d) || std::fabs(d) > 1e15) {
        return std::nullopt;
      }
      return static_cast<int64_t>(d);
    }
    case element_type::STRING:
      return internal::parseInt(internal::trim(str(v)));
    default:
      return std::nullopt;
  }
}

int smallInt(element v, int fallback = 0) {
  const auto i = integer(v);
  if (!i || *i < -1000000000 || *i > 1000000000) return fallback;
  return static_cast<int>(*i);
}

// A response status: three digits, as in the native format's status line; 0 (none) otherwise.
int httpStatus(element v) {
  const auto i = integer(v);
  return i && *i >= 100 && *i <= 999 ? static_cast<int>(*i) : 0;
}

uint16_t port(element v) {
  const auto i = integer(v);
  return i && *i > 0 && *i <= 65535 ? static_cast<uint16_t>(*i) : 0;
}

// libmodsecurity writes http_version as a number (1.1, 2.0); a string is taken as it is.
std::string httpVersion(element v) {
  if (v.type() == element_type::STRING) return std::string(str(v).substr(0, 16));
  double d = 0;
  if (v.get_double().get(d) != simdjson::SUCCESS || !(d > 0 && d < 100)) return {};
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.1f", d);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

void readHeaders(element v, std::vector<core::Header>& out, const ParseContext& ctx) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto field : obj) {
    if (out.size() >= ctx.max_headers) break;
    if (field.value.type() != element_type::STRING) continue;
    out.push_back({std::string(field.key), std::string(str(field.value))});
  }
}

// The response's Date header: a UTC time when the record's own is unusable.
std::optional<int64_t> dateHeader(element headers) {
  object obj;
  if (headers.get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  for (auto field : obj) {
    if (internal::iequals(field.key, "Date")) return internal::parseHttpDate(str(field.value));
  }
  return std::nullopt;
}

void readStrings(element v, std::vector<std::string>& out, size_t max) {
  array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) return;
  for (element item : arr) {
    if (out.size() >= max) break;
    if (item.type() == element_type::STRING) out.emplace_back(str(item));
  }
}

// ------------------------------------------------------------------------------------------
// v3 / drosera

void readV3Message(element m, core::Event& e, const ParseContext& ctx) {
  object obj;
  if (m.get_object().get(obj) != simdjson::SUCCESS) return;
  core::RuleHit hit;
  for (auto field : obj) {
    if (field.key == "message") {
      hit.message = str(field.value);
    } else if (field.key == "details") {
      object d;
      if (field.value.get_object().get(d) != simdjson::SUCCESS) continue;
      for (auto f : d) {
        const std::string_view k = f.key;
        if (k == "ruleId") {
          hit.id = smallInt(f.value);
        } else if (k == "severity") {
          hit.severity = f.value.type() == element_type::STRING
                             ? internal::severityFromText(str(f.value))
                             : smallInt(f.value, -1);
          if (hit.severity < -1 || hit.severity > 7) hit.severity = -1;
        } else if (k == "data") {
          hit.data = str(f.value);
        } else if (k == "match") {
          hit.match = str(f.value);
        } else if (k == "file") {
          hit.file = str(f.value);
        } else if (k == "lineNumber") {
          hit.line = smallInt(f.value);
        } else if (k == "ver") {
          hit.ver = str(f.value);
        } else if (k == "tags") {
          readStrings(f.value, hit.tags, ctx.max_tags);
        }
      }
    }
  }
  if (hit.id > 0) e.rules.push_back(std::move(hit));
}

struct V3State {
  std::string_view time_stamp;
  std::optional<int64_t> date_header;
  std::string_view version_text;  // drosera.request.version_text
  std::optional<int64_t> received_at;
  bool has_drosera = false;
};

void readV3Request(element v, core::Event& e, const ParseContext& ctx) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "method") {
      e.method = str(f.value);
    } else if (k == "http_version") {
      e.http_version = httpVersion(f.value);
    } else if (k == "uri") {
      e.uri = str(f.value);
    } else if (k == "headers") {
      readHeaders(f.value, e.request_headers, ctx);
    } else if (k == "body") {
      e.request_body.clear();
      internal::appendBounded(e.request_body, str(f.value), ctx.max_body_bytes);
    }
  }
}

void readV3Transaction(element v, core::Event& e, V3State& st, const ParseContext& ctx) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "client_ip") {
      e.src_ip = str(f.value);
    } else if (k == "client_port") {
      e.src_port = port(f.value);
    } else if (k == "host_ip") {
      e.dst_ip = str(f.value);
    } else if (k == "host_port") {
      e.dst_port = port(f.value);
    } else if (k == "time_stamp") {
      st.time_stamp = str(f.value);
    } else if (k == "unique_id") {
      e.unique_id = str(f.value);
    } else if (k == "request") {
      readV3Request(f.value, e, ctx);
    } else if (k == "response") {
      object resp;
      if (f.value.get_object().get(resp) != simdjson::SUCCESS) continue;
      for (auto r : resp) {
        if (r.key == "http_code") {
          e.status = httpStatus(r.value);
        } else if (r.key == "headers" && !st.date_header) {
          st.date_header = dateHeader(r.value);
        }
      }
    } else if (k == "messages") {
      array arr;
      if (f.value.get_array().get(arr) != simdjson::SUCCESS) continue;
      for (element m : arr) {
        if (e.rules.size() >= ctx.max_rules) break;
        readV3Message(m, e, ctx);
      }
    }
  }
}

void readTrap(element v, core::Event& e) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  core::TrapHit t;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "kind") {
      t.kind = str(f.value);
    } else if (k == "bait") {
      t.bait = str(f.value);
    } else if (k == "captured") {
      t.captured = str(f.value);
    } else if (k == "rule_id") {
      t.rule_id = smallInt(f.value);
    } else if (k == "origin") {
      t.origin = str(f.value);
    }
  }
  if (!t.kind.empty()) e.traps.push_back(std::move(t));
}

void readDrosera(element v, core::Event& e, V3State& st, const ParseContext& ctx) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  st.has_drosera = true;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "sensor") {
      if (!str(f.value).empty()) e.sensor = str(f.value);
    } else if (k == "received_at") {
      st.received_at = internal::parseIsoTime(str(f.value));
    } else if (k == "listener") {
      object l;
      if (f.value.get_object().get(l) != simdjson::SUCCESS) continue;
      for (auto x : l) {
        if (x.key == "kind") e.listener_kind = str(x.value);
        if (x.key == "tls") e.tls = boolean(x.value);
      }
    } else if (k == "request") {
      object r;
      if (f.value.get_object().get(r) != simdjson::SUCCESS) continue;
      for (auto x : r) {
        if (x.key == "version_text") st.version_text = str(x.value);
      }
    } else if (k == "inspection") {
      object i;
      if (f.value.get_object().get(i) != simdjson::SUCCESS) continue;
      for (auto x : i) {
        if (x.key == "state") e.inspected = str(x.value) == "inspected";
      }
    } else if (k == "scores") {
      object s;
      if (f.value.get_object().get(s) != simdjson::SUCCESS) continue;
      for (auto x : s) {
        if (e.scores.size() >= ctx.max_items) break;
        if (const auto n = integer(x.value)) e.scores.emplace_back(std::string(x.key), *n);
      }
    } else if (k == "limits_hit") {
      readStrings(f.value, e.limits_hit, ctx.max_items);
    } else if (k == "anomalies") {
      readStrings(f.value, e.anomalies, ctx.max_items);
    } else if (k == "traps") {
      array arr;
      if (f.value.get_array().get(arr) != simdjson::SUCCESS) continue;
      for (element t : arr) {
        if (e.traps.size() >= ctx.max_items) break;
        readTrap(t, e);
      }
    } else if (k == "attacker") {
      object a;
      if (f.value.get_object().get(a) != simdjson::SUCCESS) continue;
      for (auto x : a) {
        if (x.key == "flagged") e.attacker_flagged = boolean(x.value);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// v2

void readV2Transaction(element v, core::Event& e, std::optional<int64_t>& time) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "time") {
      time = internal::parseApacheTime(str(f.value));
    } else if (k == "transaction_id") {
      e.unique_id = str(f.value);
    } else if (k == "remote_address") {
      e.src_ip = str(f.value);
    } else if (k == "remote_port") {
      e.src_port = port(f.value);
    } else if (k == "local_address") {
      e.dst_ip = str(f.value);
    } else if (k == "local_port") {
      e.dst_port = port(f.value);
    }
  }
}

void readV2Request(element v, core::Event& e, const ParseContext& ctx) {
  object obj;
  if (v.get_object().get(obj) != simdjson::SUCCESS) return;
  for (auto f : obj) {
    const std::string_view k = f.key;
    if (k == "request_line") {
      internal::splitRequestLine(str(f.value), e);
    } else if (k == "headers") {
      readHeaders(f.value, e.request_headers, ctx);
    } else if (k == "body") {
      // An array of strings (chunks of the body as mod_security2 buffered it).
      e.request_body.clear();
      array arr;
      if (f.value.get_array().get(arr) == simdjson::SUCCESS) {
        for (element chunk : arr) {
          internal::appendBounded(e.request_body, str(chunk), ctx.max_body_bytes);
        }
      } else {
        internal::appendBounded(e.request_body, str(f.value), ctx.max_body_bytes);
      }
    }
  }
}

core::Status requireId(core::Event& e, const ParseContext& ctx, const char* what) {
  if (e.unique_id.empty()) e.unique_id = ctx.fallback_unique_id;
  if (e.unique_id.empty()) {
    return core::Status::invalidArgument(std::string(what) + ": record has no unique id");
  }
  return core::Status::ok();
}

core::Status checkSize(std::string_view record, const ParseContext& ctx, const char* what) {
  if (record.size() > ctx.max_record_bytes) {
    return core::Status::resourceExhausted(std::string(what) + ": record of " +
                                           std::to_string(record.size()) + " bytes, limit " +
                                           std::to_string(ctx.max_record_bytes));
  }
  return core::Status::ok();
}

}  // namespace

core::Result<core::Event> parseV3Json(std::string_view record, const ParseContext& ctx) {
  if (auto s = checkSize(record, ctx, "v3 json"); !s) return s;
  core::Event e;
  V3State st;
  const core::Status status = withJson(record, "v3 json", [&](element root) {
    object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) {
      return core::Status::invalidArgument("v3 json: record is not an object");
    }
    bool has_transaction = false;
    for (auto f : obj) {
      if (f.key == "transaction") {
        has_transaction = f.value.type() == element_type::OBJECT;
        readV3Transaction(f.value, e, st, ctx);
      } else if (f.key == "drosera") {
        readDrosera(f.value, e, st, ctx);
      }
    }
    if (!has_transaction) return core::Status::invalidArgument("v3 json: no transaction object");
    if (st.has_drosera) {
      // drosera writes time_stamp in UTC and received_at with microseconds.
      if (st.received_at) {
        e.time_us = *st.received_at;
      } else if (auto t = internal::parseModsecTimestamp(st.time_stamp, 0)) {
        e.time_us = *t;
      }
      if ((e.http_version.empty() || e.http_version == "0.0") && !st.version_text.empty()) {
        e.http_version = st.version_text.substr(0, 16);
      }
    } else if (auto t = internal::parseModsecTimestamp(st.time_stamp, ctx.utc_offset_minutes)) {
      e.time_us = *t;
    } else if (st.date_header) {
      e.time_us = *st.date_header;
    }
    return requireId(e, ctx, "v3 json");
  });
  if (!status) return status;
  e.format = st.has_drosera ? "drosera" : "modsec3-json";
  if (e.scores.empty()) internal::scoresFromRuleMessages(e, ctx.max_items);
  internal::finishEvent(e, ctx);
  if (ctx.keep_raw_record) e.raw_record.assign(record);
  return e;
}

core::Result<core::Event> parseV2Json(std::string_view record, const ParseContext& ctx) {
  if (auto s = checkSize(record, ctx, "v2 json"); !s) return s;
  core::Event e;
  const core::Status status = withJson(record, "v2 json", [&](element root) {
    object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) {
      return core::Status::invalidArgument("v2 json: record is not an object");
    }
    bool has_transaction = false;
    std::optional<int64_t> time;
    std::optional<int64_t> date_header;
    for (auto f : obj) {
      const std::string_view k = f.key;
      if (k == "transaction") {
        has_transaction = f.value.type() == element_type::OBJECT;
        readV2Transaction(f.value, e, time);
      } else if (k == "request") {
        readV2Request(f.value, e, ctx);
      } else if (k == "response") {
        object resp;
        if (f.value.get_object().get(resp) != simdjson::SUCCESS) continue;
        for (auto r : resp) {
          if (r.key == "status") e.status = httpStatus(r.value);
          if (r.key == "headers" && !date_header) date_header = dateHeader(r.value);
        }
      } else if (k == "audit_data") {
        object ad;
        if (f.value.get_object().get(ad) != simdjson::SUCCESS) continue;
        for (auto a : ad) {
          if (a.key != "messages") continue;
          array arr;
          if (a.value.get_array().get(arr) != simdjson::SUCCESS) continue;
          for (element m : arr) {
            if (e.rules.size() >= ctx.max_rules) break;
            core::RuleHit hit;
            if (internal::parseRuleMessageText(str(m), ctx, hit)) e.rules.push_back(std::move(hit));
          }
        }
      }
    }
    if (!has_transaction) return core::Status::invalidArgument("v2 json: no transaction object");
    if (time) {
      e.time_us = *time;
    } else if (date_header) {
      e.time_us = *date_header;
    }
    return requireId(e, ctx, "v2 json");
  });
  if (!status) return status;
  e.format = "modsec2-json";
  internal::scoresFromRuleMessages(e, ctx.max_items);
  internal::finishEvent(e, ctx);
  if (ctx.keep_raw_record) e.raw_record.assign(record);
  return e;
}

}  // namespace drosera::collector
