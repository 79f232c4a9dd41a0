// What the inspection engine made of one capture. A value; produced by engine::Inspector.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace drosera::core {

struct RuleMatch {
  int id = 0;
  std::string message;
  std::string data;
  std::string match;
  std::string reference;
  std::string file;
  int line = 0;
  int severity = 0;  // syslog levels as in ModSecurity: 0 emergency .. 7 debug
  int phase = 0;
  std::vector<std::string> tags;
  std::string ver;
  std::string rev;
  int maturity = 0;
  int accuracy = 0;
  bool disruptive = false;
};

struct Verdict {
  bool inspected = false;            // false when the engine never saw the capture
  std::vector<RuleMatch> matches;
  std::vector<std::pair<std::string, int64_t>> scores;  // "inbound_anomaly_score" -> 5 ...
  int64_t duration_us = 0;           // engine time for this capture
  int intervention_status = 0;       // what the engine would have answered (0: none)
};

}  // namespace drosera::core
