// Builds one event line: the ModSecurity v3 JSON audit record of a capture (transaction,
// request with body, response, producer, messages) plus the top-level "drosera" object
// (DESIGN.md decision 4). Valid JSON whatever bytes the client sent. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/capture.h"
#include "core/verdict.h"
#include "sensor/attacker_state.h"

namespace drosera::sensor {

inline constexpr int kEventSchemaVersion = 1;

// The longest event line, its newline included. A line the configured bounds would make longer
// (a hostile request: headers, body and rule hits of control bytes, JSON-escaped six times over;
// or limits set high) is written again with less of the request in it, and says so
// (drosera.line_truncated). The shipper reads at least this much at once and the collector
// takes records up to 16 MiB (parse.h max_record_bytes), so every line the sensor writes can
// be shipped and stored.
inline constexpr uint64_t kMaxEventLineBytes = 4ull << 20;

struct EventContext {
  std::string sensor_id;
  std::string producer;                 // "ModSecurity v3.0.9 (Linux)"
  std::string connector;                // "drosera 0.1.0"
  std::string rule_engine;              // "DetectionOnly"
  std::vector<std::string> components;  // "OWASP_CRS/3.3.4"
  uint64_t max_body_bytes = 65536;
  uint64_t max_raw_bytes = 262144;
  bool raw_request = true;
};

enum class InspectionState { kInspected, kUninspected, kEngineError };

struct InspectionInfo {
  InspectionState state = InspectionState::kInspected;
  std::string reason;       // why uninspected: "backlog_full", "journal_error"
  int64_t inspected_us = 0; // when the engine finished (epoch µs)
};

// What the honeytraps add to an event.
struct EventExtras {
  std::vector<core::TrapHit> traps;
  bool has_attacker = false;
  AttackerView attacker;
};

// The JSON line (no trailing newline), shorter than kMaxEventLineBytes.
std::string buildEventLine(const core::Capture& capture, const core::Verdict& verdict,
                           const InspectionInfo& inspection, const EventContext& context,
                           const EventExtras* extras = nullptr);

// "Mon Nov 30 07:24:48 2026" (UTC), as ModSecurity v3 writes transaction.time_stamp.
std::string modsecTimestamp(int64_t unix_us);
// "2026-11-30T07:24:48.123456Z"
std::string isoTimestamp(int64_t unix_us);

}  // namespace drosera::sensor
