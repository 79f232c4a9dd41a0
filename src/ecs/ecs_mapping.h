// The ECS document of a normalised event (docs/ecs.md has the table, field by field): one JSON
// object on one line, ECS field names and types only, plus a `drosera` object for what ECS has no
// place for (traps, scores, categories, matched data). Every attacker string is escaped, so the
// line is valid JSON and valid UTF-8 whatever the event holds. Written by hand (JsonWriter): it
// runs once per event per output.
// Thread-safety: an EcsMapper is immutable after construction; share it between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "ecs/ecs_config.h"
#include "ecs/geo.h"

namespace drosera::ecs {

// The ECS version the documents follow (ecs.version); every field used exists in it.
inline constexpr std::string_view kEcsVersion = "8.11.0";

class EcsMapper {
 public:
  explicit EcsMapper(EcsMappingConfig config = {});

  // Appends the document for `event` to `out` (no newline). `seq` is the event's store sequence
  // (event.sequence; 0 leaves it out). `geo` fills source.geo/source.as; null when unknown.
  void append(const core::Event& event, uint64_t seq, const GeoInfo* geo, std::string& out) const;
  std::string map(const core::Event& event, uint64_t seq = 0, const GeoInfo* geo = nullptr) const {
    std::string out;
    append(event, seq, geo, out);
    return out;
  }

  const EcsMappingConfig& config() const { return config_; }

 private:
  EcsMappingConfig config_;
};

// The deterministic Elasticsearch _id of an event: "<sensor>:<unique_id>", or "h:<sha256 hex>"
// of that text when it is long (ES caps _id at 512 bytes), not UTF-8 or holds control bytes.
std::string documentId(const core::Event& event);
// `pattern` formatted with strftime over the UTC time of `time_us` ("drosera-%Y.%m.%d").
std::string indexName(std::string_view pattern, int64_t time_us);
// The index pattern that matches every name `pattern` yields ("drosera-*"); the name itself
// when `pattern` has no conversion.
std::string indexWildcard(std::string_view pattern);
// An error message when `pattern` cannot name Elasticsearch indices (upper case, spaces, ...);
// empty when it can.
std::string checkIndexPattern(std::string_view pattern);
// ISO 8601 UTC with microseconds: "2026-11-28T14:00:00.123456Z".
std::string formatTimestamp(int64_t time_us);
// True for a textual IPv4 or IPv6 address (what an Elasticsearch `ip` field accepts).
bool isIpAddress(std::string_view text);

}  // namespace drosera::ecs
