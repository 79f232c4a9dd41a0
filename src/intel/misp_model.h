// The MISP model of a day (DESIGN decision 8): one event per sensor group per UTC day, one
// ip-src attribute per attacker IP, url attributes for payload URLs, http-request objects for
// notable requests, taxonomy and ATT&CK galaxy tags (docs/misp.md explains each choice).
// buildEvent() is a pure function of a DayPart and the options; the JSON forms are in
// misp_json.h. Values only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "intel/aggregate.h"
#include "intel/catalog.h"

namespace drosera::intel {

struct MispAttribute {
  std::string uuid;
  std::string type;
  std::string category;
  std::string value;
  bool to_ids = false;
  bool disable_correlation = false;
  std::string comment;
  std::string first_seen;  // ISO 8601 with offset; empty: none
  std::string last_seen;
  int64_t timestamp = 0;
  std::string object_relation;  // inside objects only
  std::vector<std::string> tags;
};

struct MispObject {
  std::string uuid;
  std::string name;
  std::string meta_category;
  std::string description;
  std::string template_uuid;
  int template_version = 0;
  std::string comment;
  std::string first_seen;
  int64_t timestamp = 0;
  std::vector<MispAttribute> attributes;
};

struct MispSighting {
  uint64_t index = 0;  // the part's sighting index (exactly-once bookkeeping)
  std::string attribute_uuid;
  std::string source;
  int64_t timestamp = 0;
};

struct MispEvent {
  std::string uuid;
  std::string info;
  std::string date;
  int threat_level_id = 3;
  int analysis = 1;  // 1 ongoing, 2 complete
  int distribution = 0;
  int64_t timestamp = 0;
  std::string org_name;
  std::string org_uuid;
  std::vector<std::string> tags;
  std::vector<MispAttribute> attributes;
  std::vector<MispObject> objects;

  bool empty() const { return attributes.empty() && objects.empty(); }
};

struct ModelOptions {
  std::string namespace_uuid;
  std::string org_name;
  std::string org_uuid;
  int distribution = 0;
  int threat_level = 3;
  std::string tlp = "tlp:amber";
  std::string pap = "PAP:GREEN";
  std::vector<std::string> honeypot_tags;
  std::vector<std::string> event_tags;
  bool report_unclassified = false;
};

// UUIDv5 of (namespace, group, date[, part]).
std::string eventUuid(const std::string& namespace_uuid, const std::string& group,
                      const std::string& date, int part);
// UUIDv5 of (event, type, value): the same indicator in the same event is the same attribute.
std::string attributeUuid(const std::string& event_uuid, const std::string& type,
                          const std::string& value);
// "2025-03-14T10:20:00.123456+00:00" (no fraction when it is zero, as PyMISP writes it).
std::string isoTime(int64_t time_us);

// Tags for a trap kind (robots, admin_login...); empty for kinds drosera does not know.
const std::vector<std::string>& trapTags(std::string_view kind);
// Every tag the model may emit for the configuration (to check against the catalogue).
std::vector<std::string> possibleTags(const ModelOptions& options, const MispCatalog& catalog);

MispEvent buildEvent(const DayPart& part, const ModelOptions& options, const MispCatalog& catalog);
// The part's pending sightings of attributes present in `event`.
std::vector<MispSighting> pendingSightings(const DayPart& part, const MispEvent& event);

}  // namespace drosera::intel
