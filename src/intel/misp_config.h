// Configuration of MISP reporting (`drosera report misp`, and the periodic reporter inside
// `drosera run` and `drosera collector`) as plain values. Every field has its default here;
// the TOML keys are the field names under [misp] (docs/misp.md lists them). Validated by
// validateMispConfig() and, for tags and data files, when the reporter is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace drosera::intel {

// Sensors reported together as one MISP event per day, e.g. a fleet behind one name.
struct SensorGroup {
  std::string name;                  // used in the event's info and UUID
  std::vector<std::string> sensors;  // sensor ids
};

struct MispConfig {
  bool enabled = true;         // run the periodic reporter inside run/collector
  double interval_s = 300;     // between two periodic runs (PyMISP's feed generator: 5 min)
  uint64_t batch_size = 1000;  // events read from the store per step

  // Transports. With no url the feed is written to <data_dir>/misp-feed (feed_dir empty);
  // with a url, REST only unless feed_dir is set too.
  std::string url;                               // MISP base URL, https (http only for loopback)
  std::string api_key_env = "DROSERA_MISP_KEY";  // environment variable holding the API key
  std::string api_key_file;    // or a file holding it (wins when set); never logged
  bool verify_tls = true;      // off only for tests against a lab instance
  std::string ca_file;         // extra CA bundle (PEM) for a private MISP
  double timeout_s = 30;       // one REST request
  int retry_attempts = 4;      // per REST request on 5xx/429/transport errors
  double retry_backoff_s = 1;  // first wait; doubles, at most 60 s
  std::string feed_dir;        // see above
  int feed_keep_days = 30;     // daily events kept in the feed directory

  // The event.
  std::string org_name = "drosera";  // Orgc name (REST: MISP replaces it with the key's org)
  std::string org_uuid;              // Orgc uuid; empty: generated once, kept in the store
  std::string namespace_uuid;        // UUIDv5 namespace; empty: generated once, kept
  int distribution = 0;              // 0 your org only .. 3 all communities (REST only; a
                                     // feed's distribution is set by the consuming MISP)
  int threat_level = 3;              // 1 high, 2 medium, 3 low, 4 undefined
  std::string tlp = "tlp:amber";     // any tlp:* tag
  std::string pap = "PAP:GREEN";     // any PAP:* tag; empty: none
  std::vector<std::string> honeypot_tags = {
      "honeypot-basic:interaction-level=\"low\"", "honeypot-basic:data-capture=\"attacks\"",
      "honeypot-basic:role=\"server\"",
      "honeypot-basic:communication-interface=\"network-interface\""};
  std::vector<std::string> event_tags;     // more event tags (must exist in the taxonomies/galaxy)
  std::vector<SensorGroup> sensor_groups;  // a sensor in no group is its own group

  // What is reported.
  uint64_t max_requests_per_ip = 3;   // http-request objects per IP per day
  uint64_t max_urls_per_ip = 10;      // payload URLs per IP per day
  uint64_t max_ips_per_event = 1000;  // then the day continues in a second event ("part 2")
  bool report_unclassified = false;   // also IPs with no rule or trap hit
  bool share_credentials = false;     // credentials typed into fake logins (text attributes)
  double sighting_interval_s = 3600;  // REST: at most one sighting per IP per interval
  double close_delay_s = 3600;        // a day is closed (complete, published) this long after
                                      // midnight UTC, leaving time for late events

  // What is never reported.
  std::string misp_data_dir;  // taxonomies/, galaxy/, objects/, crs mapping; empty:
                              // the data/misp folder shipped with drosera
  std::vector<std::string>
      warninglist_dirs;                // every *.json in them; empty: <misp_data_dir>/warninglists
  std::vector<std::string> allowlist;  // IPs/CIDRs never reported (monitoring, own scanners)
  std::vector<std::string> sensor_addresses;  // the sensors' own addresses (also learnt from
                                              // the events' destination addresses)
};

// Ranges, URL scheme (https, or http to a loopback address), UUID syntax; errors name the
// key ("misp.distribution: ..."). Tags and data files are checked when the reporter is built.
core::Status validateMispConfig(const MispConfig& config);

// The MISP data shipped with drosera: core::shareDir() + "/data/misp" (taxonomies/, galaxy/,
// objects/, warninglists/, crs-category-to-misp-tags.json).
std::string defaultMispDataDir();

}  // namespace drosera::intel
