// The normalised event: one HTTP transaction seen by a sensor, whatever format it arrived in
// (a drosera event line, a ModSecurity v3 JSON record, a v2 JSON record or a v2 native entry).
// The collector's parsers produce it, the store keeps it, the API, the ECS output and the MISP
// reporter read it. A value type; attacker data in every string.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/capture.h"

namespace drosera::core {

struct RuleHit {
  int id = 0;
  int severity = -1;            // ModSecurity scale 0 (emergency) .. 7 (debug); -1 unknown
  std::string message;          // the rule's msg
  std::string data;             // logdata
  std::string match;
  std::vector<std::string> tags;
  std::string file;
  int line = 0;
  std::string ver;              // "OWASP_CRS/3.3.4"
};

struct Event {
  // Identity. (sensor, unique_id) is unique in the store.
  std::string sensor;           // drosera sensor id; mlogc: the Basic-auth user; files: configured
  std::string unique_id;
  std::string format;           // drosera | modsec3-json | modsec2-json | modsec2-native
  int64_t time_us = 0;          // when the request arrived, microseconds since the epoch, UTC

  // Network.
  std::string src_ip;
  uint16_t src_port = 0;
  std::string dst_ip;
  uint16_t dst_port = 0;
  std::string listener_kind;    // real | fake; empty when not known (not a drosera sensor)
  bool tls = false;

  // HTTP.
  std::string method;
  std::string uri;              // as sent: path and query
  std::string http_version;     // "1.1"
  std::string host;             // Host header, as sent
  std::string user_agent;
  int status = 0;               // response status (0: none sent)
  std::vector<Header> request_headers;
  std::string request_body;     // bounded by the producer

  // Detection.
  std::vector<RuleHit> rules;
  std::vector<std::pair<std::string, int64_t>> scores;  // CRS TX scores by name
  int64_t inbound_score = 0;
  int64_t outbound_score = 0;
  std::vector<std::string> categories;  // CRS attack-* classes, see classify.h; "honeytrap"
  std::vector<TrapHit> traps;
  bool attacker_flagged = false;        // the sensor knew this source as malicious already
  std::vector<std::string> anomalies;   // protocol deviations (drosera)
  std::vector<std::string> limits_hit;  // limits the request broke (drosera)
  bool inspected = true;                // false: recorded but never seen by the engine

  // The record exactly as it arrived (one JSON line, or one native entry).
  std::string raw_record;
};

}  // namespace drosera::core
