// The whole configuration of a drosera process as plain values. Every field has its default
// here; src/core/config_load.cc maps the TOML file onto it (key names, comments, validation).
// `drosera config default` prints this file's defaults with a comment per key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace drosera::core {

struct GeneralConfig {
  std::string data_dir = "drosera-data";  // relative paths are taken from the working directory
  std::string log_level = "info";         // trace, debug, info, warn, error
  // Unprivileged user to become once the ports are bound (started as root); the data folder is
  // handed to it. Empty: keep the user drosera was started as.
  std::string user;
};

struct SensorConfig {
  std::string id;                    // empty: generated on first start and kept in the data folder
  double status_interval_s = 10;     // how often the status file and the status log line update
};

struct ListenerConfig {
  uint16_t port = 0;
  std::string kind = "real";         // real | fake (any request on a fake port is a trap hit)
  bool tls = false;
  bool proxy_protocol = false;       // expect a PROXY v1/v2 header from trusted proxies
  std::string persona;               // empty: server.persona
  std::string site;                  // empty: site.root; "builtin:<name>": a site shipped with
                                     // drosera (sites/<name>)
};

struct ServerConfig {
  std::vector<std::string> bind = {"0.0.0.0", "::"};
  std::string persona = "apache";    // apache | nginx | iis
  std::string server_header;         // empty: the persona's own Server header
  int io_threads = 1;
  std::vector<ListenerConfig> listeners = {
      {8080, "real", false, false, "", ""},
      {8000, "fake", false, false, "nginx", "builtin:dev-api"},
      {8888, "fake", false, false, "nginx", "builtin:ops-console"},
      {8443, "real", true, false, "", ""},
  };
  std::vector<std::string> trusted_proxies;  // IPs or CIDRs whose X-Forwarded-For/PROXY is believed
  std::string tls_cert;              // empty: generated per install in <data_dir>/tls/
  std::string tls_key;
};

struct LimitsConfig {
  // The head's limits, as the persona's server reads them (src/http/parser.h): Apache takes a
  // line a byte longer than its LimitRequestLine and LimitRequestFieldSize, nginx a head that
  // fits its header buffers (about 32 KiB) too. Over them: 414 for the request line, else 400.
  uint64_t max_request_line = 8190;        // bytes (Apache's LimitRequestLine)
  uint64_t max_header_line = 8190;         // bytes per header line (LimitRequestFieldSize)
  uint64_t max_header_bytes = 65536;       // all header lines together
  uint64_t max_headers = 0;                // header count; 0: the persona's own (100; nginx 1000)
  uint64_t max_body_bytes = 1048576;       // request body; more answers 413
  double header_timeout_s = 0;             // the whole head, then 408; 0: the persona's own
  double body_timeout_s = 0;               // the whole body, then 408; 0: the persona's own
  double keepalive_timeout_s = 0;          // idle time between requests; 0: the persona's own
  uint64_t max_keepalive_requests = 0;     // requests per connection; 0: the persona's own
  uint64_t max_connections = 4096;         // all listeners together
  uint64_t max_connections_per_ip = 64;    // per source address (socket peer)
};

struct SiteConfig {
  std::string root;                        // empty: the site/ folder shipped with drosera
  uint64_t max_file_bytes = 4194304;       // site files larger than this are not served
};

struct EngineConfig {
  std::string rule_engine = "DetectionOnly";  // DetectionOnly | On (the decoy never blocks)
  std::string crs_dir = "/usr/share/modsecurity-crs";
  std::string crs_setup = "/etc/modsecurity/crs/crs-setup.conf";
  int paranoia_level = 1;                  // 1..4
  int executing_paranoia_level = 0;        // 0: same as paranoia_level
  int inbound_threshold = 5;
  int outbound_threshold = 4;
  std::vector<std::string> extra_rules;    // rule files loaded after the CRS
  bool inspect_response_body = false;      // the decoy's own bodies are not inspected by default
  std::string unicode_map = "/etc/modsecurity/unicode.mapping";
  int pcre_match_limit = 1000;
};

struct InspectionConfig {
  int threads = 0;                         // 0: one per core
  int nice = 10;                           // inspector threads yield the CPU to answering
  uint64_t queue_max_items = 10000;        // captures held in RAM; the rest wait on disk
  uint64_t queue_max_bytes = 67108864;
  uint64_t backlog_max_bytes = 1073741824; // disk cap; past it requests are logged uninspected
  double shutdown_drain_s = 5;             // inspect what is queued for this long at shutdown
  std::string fsync = "interval";          // always | interval | never (the capture journal)
  double fsync_interval_s = 1;
};

struct EventLogConfig {
  std::string path;                        // empty: <data_dir>/events/event.log
  uint64_t rotate_bytes = 67108864;
  uint64_t keep_files = 20;                // rotated files kept
  std::string fsync = "interval";          // always | interval | never
  double fsync_interval_s = 1;
  uint64_t max_body_bytes = 65536;         // request body bytes copied into the event
  bool raw_request = true;                 // keep the raw request bytes (base64) in drosera.raw
};

// Honeytraps (issue 3). Bait names left empty are chosen per install from word lists, with the
// install's secret, and stay the same across restarts.
struct TrapsConfig {
  bool enabled = true;
  int rule_id_base = 9400000;             // rules use ids base+1 .. base+99
  bool fake_ports = true;                 // any request on a kind = "fake" listener
  bool robots = true;                     // a Disallow bait in robots.txt, answering 401
  std::string robots_path;                // e.g. "/db-archive/"
  std::string robots_realm;               // Basic realm of the 401
  bool html_comment = true;               // a developer comment pointing to a fake backup file
  std::string comment_page = "/login.php";
  std::string comment_path;               // e.g. "/login.php.bak"
  bool hidden_field = true;               // a hidden input before every </form>
  std::string hidden_field_name;
  std::string hidden_field_value;
  bool cookie = true;                     // a per-visitor signed cookie; altered or forged: a hit
  std::string cookie_name;
  bool sensitive_files = true;            // /.env, /.git/config, /backup.sql, ... with honeytokens
  bool admin_logins = true;               // /admin/, /wp-login.php, /phpmyadmin/
  bool honeytokens = true;                // a token handed out and used later is a hit
  std::string baits_dir;                  // empty: the baits/ folder shipped with drosera
  uint64_t max_attackers = 100000;        // attacker state entries kept (least recent dropped)
  uint64_t max_tokens = 200000;           // honeytokens remembered
};

// The sensor's shipper: how events reach a collector (`drosera sensor`). `drosera run` ships to
// its own collector on loopback whatever this says.
struct ShipperConfig {
  bool enabled = false;
  std::string url;                        // e.g. "https://collector:9080/api/v1/ingest"
  std::string token;                      // this sensor's token (or token_file)
  std::string token_file;
  uint64_t batch_events = 1000;           // one store transaction each: 1000 cost ~9 % less
                                          // per event than 500 (store_bench --batch)
  uint64_t batch_bytes = 4194304;
  bool verify_tls = true;
  std::string ca_file;                    // CA bundle for a private collector certificate
  // Pack batches (parsed here, compressed with the collector's dictionary) once the collector
  // hands out one: the collector then only decodes and stores (docs/store.md, "Packed batches").
  bool pack = true;
};

struct CollectorSensorConfig {            // [[collector.sensor]]: a sensor allowed to ship
  std::string name;                       // its sensor id
  std::string token;                      // or token_file
  std::string token_file;
};

struct MlogcUserConfig {                  // [[collector.mlogc]]: an mlogc client (ModSecurity v2)
  std::string user;                       // SensorUsername
  std::string password;                   // SensorPassword (or password_file)
  std::string password_file;
  std::string sensor;                     // sensor name for its events; empty: the user name
};

struct TailConfig {                       // [[collector.tail]]: a ModSecurity audit log to follow
  std::string path;
  std::string format = "auto";            // auto | modsec3-json | modsec2-json | modsec2-native
  std::string sensor;                     // sensor name for its events; empty: the file name
  int utc_offset_minutes = 0;             // zone of v3 time stamps (local time without zone)
};

// collector.max_connections and max_connections_per_ip when 0: under `drosera run` (`run`) and
// under `drosera collector`.
inline constexpr uint64_t kRunCollectorConnections = 256;
inline constexpr uint64_t kRunCollectorConnectionsPerIp = 128;
inline constexpr uint64_t kFleetCollectorConnections = 4096;
inline constexpr uint64_t kFleetCollectorConnectionsPerIp = 1024;

struct CollectorConfig {
  std::string listen = "127.0.0.1:9080";  // API, ingest, mlogc receiver and dashboard
  int io_threads = 2;
  bool tls = false;
  std::string tls_cert;                   // empty with tls = true: the sensor's generated one
  std::string tls_key;
  std::string api_token_file;             // empty: <data_dir>/secrets/api.token, made on first start
  std::string store = "sqlite";           // sqlite | postgres
  std::string sqlite_path;                // empty: <data_dir>/store.db
  std::string postgres;                   // libpq connection string for store = "postgres"
  uint64_t max_batch_bytes = 33554432;    // one ingest batch or mlogc entry
  uint64_t max_concurrent_writes = 4;     // more waiting writers answer 503 (the sender retries)
  // Client connections at once (sensors' shippers, mlogc, API and dashboard users); past it, 64
  // more are answered 503 and the rest closed unread. They count against the open-file limit.
  // 0: by command (set in src/app/main.cc, fitOpenFiles()): `drosera collector` serves a
  // fleet, each sensor holding a connection; `drosera run` its own sensor and a few local users.
  uint64_t max_connections = 0;
  uint64_t max_connections_per_ip = 0;
  double retention_days = 0;              // 0: keep forever
  // The store's size cap: the oldest events go first (counted in the status). A honeypot's
  // store grows without end otherwise: full disks are the peers' most common failure.
  uint64_t retention_bytes = 10ull << 30;  // 0: no size cap
  double retention_interval_s = 60;        // how often retention runs
  std::vector<CollectorSensorConfig> sensors;
  std::vector<MlogcUserConfig> mlogc;
  std::vector<TailConfig> tails;
};

// ECS outputs (docs/ecs.md): the document mapping, GeoIP, NDJSON files, Elasticsearch _bulk.
struct EcsMappingConfig {
  std::string dataset = "drosera.honeypot";      // event.dataset
  std::vector<std::string> tags = {"honeypot"};  // added to every document's tags
  // labels.<key> = value on every document (deployment metadata: region, persona...).
  std::vector<std::pair<std::string, std::string>> labels;
  uint64_t max_body_bytes = 8192;  // http.request.body.content is cut here; 0: left out
  bool include_original = false;   // event.original = the raw record (large)
  uint64_t max_original_bytes = 65536;
  uint64_t max_rule_data_bytes = 1024;  // drosera.rules[].data / .match are cut here
  std::string observer_version;         // observer.version for drosera sensors (the app sets it)
};

struct GeoIpConfig {
  std::string city_db;  // GeoLite2-City / GeoIP2-City .mmdb; empty: no geo
  std::string asn_db;   // GeoLite2-ASN .mmdb; empty: no source.as
};

struct EcsNdjsonConfig {
  bool enabled = false;
  std::string path;                     // empty: <data_dir>/ecs/ecs.ndjson
  uint64_t rotate_bytes = 64ull << 20;  // rotated to <path>.<n>, n growing
  uint64_t keep_files = 20;             // rotated files kept (the store keeps every event anyway)
  size_t batch = 1000;                  // events read from the store per write
  double poll_interval_s = 1;           // how often the store is polled when idle
  bool fsync = true;                    // fdatasync before the cursor moves (exactly-once on crash)
  std::string cursor_name = "ecs-ndjson";  // reader cursor in the store
};

struct EcsBulkConfig {
  bool enabled = false;
  std::string url = "http://127.0.0.1:9200";  // base URL; /_bulk and /_index_template appended
  // Index name, strftime over the event's UTC time ("%Y.%m.%d": daily). Lowercase. A name with
  // no '%' is one index, or a data stream when data_stream is true.
  std::string index = "drosera-%Y.%m.%d";
  bool data_stream = false;      // the template declares a data stream (name fixed)
  std::string flavor = "auto";   // auto | elasticsearch | opensearch (mapping types)
  bool install_template = true;  // PUT _index_template/<template_name> before any document
  std::string template_name = "drosera";
  std::string template_file;  // empty: the built-in config/elastic/index-template.json
  int template_priority = 200;
  size_t batch_docs = 1000;            // documents per _bulk request
  uint64_t batch_bytes = 10ull << 20;  // request body size cap (before compression)
  double flush_interval_s = 2;         // a partial batch is sent after waiting this long
  double poll_interval_s = 1;          // how often the store is polled when idle
  double timeout_s = 30;               // whole request
  double connect_timeout_s = 10;
  double backoff_initial_s = 1;  // retries: exponential with jitter, from initial...
  double backoff_max_s = 60;     // ...to max
  double auth_pause_s = 60;      // after 401/403: pause, then try again (secret re-read)
  bool compress = true;          // gzip request bodies (Content-Encoding: gzip)
  std::string auth = "none";     // none | basic | api_key
  std::string username;          // basic
  std::string password_env = "DROSERA_ES_PASSWORD";  // basic: variable holding the password...
  std::string password_file;  // ...or a file (first line), used when the variable is unset
  std::string api_key_env = "DROSERA_ES_API_KEY";  // api_key: "id:key" or its base64 ("encoded")
  std::string api_key_file;
  bool verify_tls = true;
  std::string ca_file;                             // extra CA bundle (PEM)
  std::string cursor_name = "ecs-bulk";            // reader cursor in the store
  std::string dead_letter_ns = "ecs-dead-letter";  // Store::putState namespace
};

struct EcsOutputConfig {
  EcsMappingConfig mapping;
  GeoIpConfig geoip;
  EcsNdjsonConfig ndjson;
  EcsBulkConfig bulk;
};


// MISP reporting (docs/misp.md): `drosera report misp`, and the periodic reporter inside
// `drosera run` and `drosera collector` (intel::Reporter). Validated by
// intel::validateMispConfig(); tags and data files are checked when the reporter is built.
// Secrets are never values here: only where to find the API key.
struct MispSensorGroup {
  std::string name;                  // used in the event's info and UUID
  std::vector<std::string> sensors;  // sensor ids reported together as one event per day
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
  bool verify_tls = true;      // off only for a lab instance
  std::string ca_file;         // extra CA bundle (PEM) for a private MISP
  double timeout_s = 30;       // one REST request
  int retry_attempts = 4;      // per REST request on 5xx/429/transport errors
  double retry_backoff_s = 1;  // first wait; doubles, at most 60 s
  std::string feed_dir;        // see above
  int feed_keep_days = 30;     // daily events kept in the feed (and reported at all); 0: all

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
  std::vector<std::string> event_tags;         // more event tags (taxonomies/galaxy only)
  std::vector<MispSensorGroup> sensor_groups;  // a sensor in no group is its own group

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
                              // <share dir>/data/misp, shipped with drosera
  std::vector<std::string> warninglist_dirs;  // every list in them; empty:
                                              // <misp_data_dir>/warninglists
  std::vector<std::string> allowlist;         // IPs/CIDRs never reported (monitoring, scanners)
  std::vector<std::string> sensor_addresses;  // the sensors' own addresses (also learnt from
                                              // the events' destination addresses)
};

struct Config {
  GeneralConfig general;
  SensorConfig sensor;
  ServerConfig server;
  LimitsConfig limits;
  SiteConfig site;
  EngineConfig engine;
  InspectionConfig inspection;
  EventLogConfig event_log;
  TrapsConfig traps;
  ShipperConfig shipper;
  CollectorConfig collector;
  EcsOutputConfig ecs;
  MispConfig misp;
};

}  // namespace drosera::core
