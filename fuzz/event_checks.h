// Shared by the collector's fuzz targets: a ParseContext chosen by the input's option bytes, the
// invariants every parsed event keeps, and a field-by-field comparison of two events.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "collector/parse.h"
#include "core/event.h"
#include "fuzz_check.h"

namespace drosera::fuzz {

// Option byte: bit 0 small bounds (four more bytes), bit 1 drop the raw record, bit 2 a fallback
// unique id, bit 3 a UTC offset (one more byte). 0: the defaults a collector runs with.
inline collector::ParseContext contextFrom(uint8_t options, Input& in) {
  collector::ParseContext c;
  c.sensor = "fuzz";
  c.fallback_time_us = 1'700'000'000'000'000;
  if (options & 1) {
    c.max_rules = in.inRange(0, 8);
    c.max_headers = in.inRange(0, 8);
    c.max_tags = in.inRange(0, 4);
    c.max_items = in.inRange(0, 4);
    c.max_body_bytes = in.inRange(0, 64);
    c.max_record_bytes = 4096;
  }
  c.keep_raw_record = !(options & 2);
  if (options & 4) c.fallback_unique_id = "fuzz-fallback-id";
  if (options & 8) c.utc_offset_minutes = (static_cast<int>(in.byte()) - 128) * 12;
  return c;
}

inline size_t textBytes(const core::Event& e) {
  size_t n = e.sensor.size() + e.unique_id.size() + e.format.size() + e.src_ip.size() +
             e.dst_ip.size() + e.listener_kind.size() + e.method.size() + e.uri.size() +
             e.http_version.size() + e.host.size() + e.user_agent.size() + e.request_body.size();
  for (const auto& h : e.request_headers) n += h.name.size() + h.value.size();
  for (const auto& r : e.rules) {
    n += r.message.size() + r.data.size() + r.match.size() + r.file.size() + r.ver.size();
    for (const auto& t : r.tags) n += t.size();
  }
  for (const auto& s : e.scores) n += s.first.size();
  for (const auto& c : e.categories) n += c.size();
  for (const auto& t : e.traps) {
    n += t.kind.size() + t.bait.size() + t.captured.size() + t.origin.size();
  }
  for (const auto& a : e.anomalies) n += a.size();
  for (const auto& l : e.limits_hit) n += l.size();
  return n;
}

// What holds for every event a parser returns for `record`.
inline void checkEvent(const core::Event& e, std::string_view record,
                       const collector::ParseContext& c) {
  FUZZ_CHECK(record.size() <= c.max_record_bytes);
  FUZZ_CHECK(!e.unique_id.empty());
  FUZZ_CHECK(e.format == "drosera" || e.format == "modsec3-json" || e.format == "modsec2-json" ||
             e.format == "modsec2-native");
  FUZZ_CHECK(e.rules.size() <= c.max_rules);
  FUZZ_CHECK(e.request_headers.size() <= c.max_headers);
  for (const auto& r : e.rules) FUZZ_CHECK(r.tags.size() <= c.max_tags);
  FUZZ_CHECK(e.scores.size() <= c.max_items);
  FUZZ_CHECK(e.traps.size() <= c.max_items);
  FUZZ_CHECK(e.anomalies.size() <= c.max_items);
  FUZZ_CHECK(e.limits_hit.size() <= c.max_items);
  FUZZ_CHECK(e.categories.size() <= 32);
  FUZZ_CHECK(e.request_body.size() <= c.max_body_bytes);
  FUZZ_CHECK(e.status >= 0 && e.status <= 999);
  if (c.keep_raw_record) {
    FUZZ_CHECK(e.raw_record == record);
  } else {
    FUZZ_CHECK(e.raw_record.empty());
  }
  // Output linear in the input: every string comes from the record (JSON escapes of invalid
  // UTF-8 at most double a byte; host and user agent repeat a header), plus names of bounded
  // count (scores, categories) and what the context supplies.
  FUZZ_CHECK(textBytes(e) <= 4 * record.size() + c.fallback_unique_id.size() + c.sensor.size() +
                                 64 * (c.max_items + 32) + 64);
}

inline bool sameEvent(const core::Event& a, const core::Event& b) {
  auto sameHeaders = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].name != y[i].name || x[i].value != y[i].value) return false;
    }
    return true;
  };
  auto sameRules = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      const auto& p = x[i];
      const auto& q = y[i];
      if (p.id != q.id || p.severity != q.severity || p.message != q.message || p.data != q.data ||
          p.match != q.match || p.tags != q.tags || p.file != q.file || p.line != q.line ||
          p.ver != q.ver) {
        return false;
      }
    }
    return true;
  };
  auto sameTraps = [](const auto& x, const auto& y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (x[i].kind != y[i].kind || x[i].bait != y[i].bait || x[i].captured != y[i].captured ||
          x[i].rule_id != y[i].rule_id || x[i].origin != y[i].origin) {
        return false;
      }
    }
    return true;
  };
  return a.sensor == b.sensor && a.unique_id == b.unique_id && a.format == b.format &&
         a.time_us == b.time_us && a.src_ip == b.src_ip && a.src_port == b.src_port &&
         a.dst_ip == b.dst_ip && a.dst_port == b.dst_port && a.listener_kind == b.listener_kind &&
         a.tls == b.tls && a.method == b.method && a.uri == b.uri &&
         a.http_version == b.http_version && a.host == b.host && a.user_agent == b.user_agent &&
         a.status == b.status && sameHeaders(a.request_headers, b.request_headers) &&
         a.request_body == b.request_body && sameRules(a.rules, b.rules) && a.scores == b.scores &&
         a.inbound_score == b.inbound_score && a.outbound_score == b.outbound_score &&
         a.categories == b.categories && sameTraps(a.traps, b.traps) &&
         a.attacker_flagged == b.attacker_flagged && a.anomalies == b.anomalies &&
         a.limits_hit == b.limits_hit && a.inspected == b.inspected && a.raw_record == b.raw_record;
}

// Two results of parsing the same record: both errors with the same message, or equal events.
template <typename R>
bool sameResult(const R& a, const R& b) {
  if (a.isOk() != b.isOk()) return false;
  if (!a.isOk()) {
    return a.status().code() == b.status().code() && a.status().message() == b.status().message();
  }
  return sameEvent(*a, *b);
}

// One JSON audit record through `parse` (parseV3Json or parseV2Json): the event invariants; the
// same answer after the thread's parser has seen another record; the same answer with whitespace
// around the record; parseRecord agreeing whenever detectFormat names one of `formats`.
template <typename Parse>
void fuzzJsonRecord(const uint8_t* data, size_t size, Parse parse,
                    std::initializer_list<collector::RecordFormat> formats,
                    std::initializer_list<std::string_view> names) {
  Input in(data, size);
  const uint8_t options = in.byte();
  const collector::ParseContext ctx = contextFrom(options, in);
  const std::string_view record = in.rest();

  const auto first = parse(record, ctx);
  if (first.isOk()) {
    checkEvent(*first, record, ctx);
    bool known = false;
    for (auto n : names) known |= first->format == n;
    FUZZ_CHECK(known);
  } else if (record.size() > ctx.max_record_bytes) {
    FUZZ_CHECK(first.status().code() == core::Status::Code::kResourceExhausted);
  }

  // The per-thread parser keeps no trace of the record before.
  (void)parse(record.substr(0, record.size() / 2), ctx);
  FUZZ_CHECK(sameResult(first, parse(record, ctx)));

  if (record.size() + 4 <= ctx.max_record_bytes) {
    collector::ParseContext no_raw = ctx;
    no_raw.keep_raw_record = false;
    const std::string padded = " \n" + std::string(record) + "\r\n";
    const auto spaced = parse(padded, no_raw);
    FUZZ_CHECK(spaced.isOk() == first.isOk());
    if (first.isOk()) {
      core::Event a = *first;
      a.raw_record.clear();
      FUZZ_CHECK(sameEvent(a, *spaced));
    }
  }

  const collector::RecordFormat detected = collector::detectFormat(record);
  for (auto f : formats) {
    if (detected == f) FUZZ_CHECK(sameResult(first, collector::parseRecord(record, ctx)));
  }
}

}  // namespace drosera::fuzz
