// The TOML configuration loader: defaults round trip, every error names file:line and the key,
// units for sizes and durations, listener tables, cross-key validation.
#include "core/config_load.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace drosera::core {
namespace {

// Every field of a Config as text, so that two configs compare with a readable diff.
std::string dump(const Config& c) {
  std::ostringstream o;
  auto list = [&](const std::vector<std::string>& v) {
    o << "[";
    for (const auto& s : v) o << "'" << s << "' ";
    o << "]\n";
  };
  o << "general " << c.general.data_dir << " " << c.general.log_level << "\n";
  o << "sensor '" << c.sensor.id << "' " << c.sensor.status_interval_s << "\n";
  o << "server.bind ";
  list(c.server.bind);
  o << "server " << c.server.persona << " '" << c.server.server_header << "' "
    << c.server.io_threads << " '" << c.server.tls_cert << "' '" << c.server.tls_key << "'\n";
  o << "server.trusted_proxies ";
  list(c.server.trusted_proxies);
  for (const auto& l : c.server.listeners) {
    o << "listener " << l.port << " " << l.kind << " " << l.tls << " " << l.proxy_protocol << " '"
      << l.persona << "' '" << l.site << "'\n";
  }
  const auto& L = c.limits;
  o << "limits " << L.max_request_line << " " << L.max_header_line << " " << L.max_header_bytes
    << " " << L.max_headers << " " << L.max_body_bytes << " " << L.header_timeout_s << " "
    << L.body_timeout_s << " " << L.keepalive_timeout_s << " " << L.max_keepalive_requests << " "
    << L.max_connections << " " << L.max_connections_per_ip << "\n";
  o << "site '" << c.site.root << "' " << c.site.max_file_bytes << "\n";
  const auto& E = c.engine;
  o << "engine " << E.rule_engine << " " << E.crs_dir << " " << E.crs_setup << " "
    << E.paranoia_level << " " << E.executing_paranoia_level << " " << E.inbound_threshold << " "
    << E.outbound_threshold << " " << E.inspect_response_body << " " << E.unicode_map << " "
    << E.pcre_match_limit << "\n";
  o << "engine.extra_rules ";
  list(E.extra_rules);
  const auto& I = c.inspection;
  o << "inspection " << I.threads << " " << I.nice << " " << I.queue_max_items << " "
    << I.queue_max_bytes << " " << I.backlog_max_bytes << " " << I.shutdown_drain_s << " "
    << I.fsync << " " << I.fsync_interval_s << "\n";
  const auto& V = c.event_log;
  o << "event_log '" << V.path << "' " << V.rotate_bytes << " " << V.keep_files << " " << V.fsync
    << " " << V.fsync_interval_s << " " << V.max_body_bytes << " " << V.raw_request << "\n";
  return o.str();
}

Config load(const std::string& text) {
  auto r = loadConfigString(text, "drosera.toml");
  EXPECT_TRUE(r.isOk()) << r.status().message() << "\nin:\n" << text;
  if (!r.isOk()) return Config{};
  return std::move(r).value();
}

std::string loadError(const std::string& text) {
  auto r = loadConfigString(text, "drosera.toml");
  EXPECT_FALSE(r.isOk()) << "loaded although it should not:\n" << text;
  if (r.isOk()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

// ---- defaults ------------------------------------------------------------------------

TEST(ConfigLoad, EmptyTextGivesDefaults) {
  EXPECT_EQ(dump(load("")), dump(Config{}));
  EXPECT_EQ(dump(load("# only a comment\n\n")), dump(Config{}));
}

TEST(ConfigLoad, DefaultConfigTomlLoadsAndEqualsTheDefaults) {
  const std::string text = defaultConfigToml();
  auto r = loadConfigString(text, "default.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message() << "\n" << text;
  EXPECT_EQ(dump(r.value()), dump(Config{}));
}

TEST(ConfigLoad, DefaultConfigTomlCommentsEveryKey) {
  const std::string text = defaultConfigToml();
  std::istringstream in(text);
  std::string line;
  bool first_listener = false;
  int listeners = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line == "[[server.listener]]") {
      first_listener = ++listeners == 1;
      continue;
    }
    if (line[0] == '[') {
      first_listener = false;
      continue;
    }
    if (listeners == 0 || first_listener) {
      EXPECT_NE(line.find("  # "), std::string::npos) << "no comment on: " << line;
    }
  }
  EXPECT_EQ(listeners, 4);
  for (const char* section : {"[general]", "[sensor]", "[server]", "[limits]", "[site]",
                              "[engine]", "[inspection]", "[event_log]"}) {
    EXPECT_NE(text.find(std::string("\n") + section + "\n"), std::string::npos) << section;
  }
}

TEST(ConfigLoad, DefaultsAreValid) { EXPECT_TRUE(validateConfig(Config{}).isOk()); }

TEST(ConfigLoad, ValuesAreApplied) {
  const Config c = load(R"(
[general]
data_dir = "/var/lib/drosera"
log_level = "debug"

[sensor]
id = "sensor-7"
status_interval_s = 2.5

[server]
bind = ["127.0.0.1"]
persona = "nginx"
server_header = "nginx"
io_threads = 4
trusted_proxies = ["10.0.0.0/8", "::1"]
tls_cert = "/c.pem"
tls_key = "/k.pem"

[limits]
max_request_line = 4096
max_headers = 50
max_connections_per_ip = 3

[site]
root = "/srv/site"

[engine]
rule_engine = "On"
paranoia_level = 2
executing_paranoia_level = 3
extra_rules = ["/a.conf", "/b.conf"]
inspect_response_body = true

[inspection]
threads = 2
fsync = "always"

[event_log]
path = "/var/log/e.log"
keep_files = 5
raw_request = false
)");
  EXPECT_EQ(c.general.data_dir, "/var/lib/drosera");
  EXPECT_EQ(c.general.log_level, "debug");
  EXPECT_EQ(c.sensor.id, "sensor-7");
  EXPECT_DOUBLE_EQ(c.sensor.status_interval_s, 2.5);
  EXPECT_EQ(c.server.bind, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(c.server.persona, "nginx");
  EXPECT_EQ(c.server.server_header, "nginx");
  EXPECT_EQ(c.server.io_threads, 4);
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_EQ(c.server.tls_cert, "/c.pem");
  EXPECT_EQ(c.server.tls_key, "/k.pem");
  EXPECT_EQ(c.limits.max_request_line, 4096u);
  EXPECT_EQ(c.limits.max_headers, 50u);
  EXPECT_EQ(c.limits.max_connections_per_ip, 3u);
  EXPECT_EQ(c.limits.max_body_bytes, LimitsConfig{}.max_body_bytes);  // untouched
  EXPECT_EQ(c.site.root, "/srv/site");
  EXPECT_EQ(c.engine.rule_engine, "On");
  EXPECT_EQ(c.engine.paranoia_level, 2);
  EXPECT_EQ(c.engine.executing_paranoia_level, 3);
  EXPECT_EQ(c.engine.extra_rules, (std::vector<std::string>{"/a.conf", "/b.conf"}));
  EXPECT_TRUE(c.engine.inspect_response_body);
  EXPECT_EQ(c.inspection.threads, 2);
  EXPECT_EQ(c.inspection.fsync, "always");
  EXPECT_EQ(c.event_log.path, "/var/log/e.log");
  EXPECT_EQ(c.event_log.keep_files, 5u);
  EXPECT_FALSE(c.event_log.raw_request);
  EXPECT_EQ(c.server.listeners.size(), 4u);  // default list kept when none is given
}

TEST(ConfigLoad, DottedKeysAndInlineTablesWork) {
  const Config c = load("limits.max_headers = 7\nsite = { max_file_bytes = \"1KiB\" }\n");
  EXPECT_EQ(c.limits.max_headers, 7u);
  EXPECT_EQ(c.site.max_file_bytes, 1024u);
}

// ---- unknown keys and sections -------------------------------------------------------

TEST(ConfigLoad, UnknownKeyNamesFileLineAndKeyWithSuggestion) {
  const std::string err = loadError(
      "# drosera\n"
      "\n"
      "[limits]\n"
      "max_headers = 10\n"
      "\n"
      "# the body\n"
      "max_bdy_bytes = 5\n");
  EXPECT_EQ(err, "drosera.toml:7: unknown key 'limits.max_bdy_bytes' (did you mean 'max_body_bytes'?)");
}

TEST(ConfigLoad, UnknownKeyLineIsCountedAcrossSections) {
  std::string text = "[general]\nlog_level = \"info\"\n\n[server]\nio_threads = 2\n\n[engine]\n"
                     "paranoia_level = 1\n\n\n\n[inspection]\nthreads = 1\nfsyncc = \"never\"\n";
  const std::string err = loadError(text);
  EXPECT_EQ(err, "drosera.toml:14: unknown key 'inspection.fsyncc' (did you mean 'fsync'?)");
}

TEST(ConfigLoad, UnknownKeyWithoutACloseMatchHasNoSuggestion) {
  const std::string err = loadError("[server]\ncompletely_unrelated = 1\n");
  EXPECT_EQ(err, "drosera.toml:2: unknown key 'server.completely_unrelated'");
}

TEST(ConfigLoad, UnknownSectionIsReportedWithSuggestion) {
  EXPECT_EQ(loadError("\n[limit]\nmax_headers = 1\n"),
            "drosera.toml:2: unknown section 'limit' (did you mean 'limits'?)");
  EXPECT_EQ(loadError("[nonsense_section]\n"), "drosera.toml:1: unknown section 'nonsense_section'");
}

TEST(ConfigLoad, SectionThatIsNotATable) {
  EXPECT_EQ(loadError("\ngeneral = 5\n"), "drosera.toml:2: general: expected a table [general]");
}

TEST(ConfigLoad, ListenerIsAKnownServerKeyForSuggestions) {
  const std::string err = loadError("[server]\nlistenr = []\n");
  EXPECT_EQ(err, "drosera.toml:2: unknown key 'server.listenr' (did you mean 'listener'?)");
}

// ---- wrong types and ranges ----------------------------------------------------------

TEST(ConfigLoad, WrongTypeNamesKeyAndLine) {
  EXPECT_EQ(loadError("[server]\n\nio_threads = \"four\"\n"),
            "drosera.toml:3: server.io_threads: expected an integer, got a string");
  EXPECT_EQ(loadError("[engine]\ninspect_response_body = \"yes\"\n"),
            "drosera.toml:2: engine.inspect_response_body: expected true or false, got a string");
  EXPECT_EQ(loadError("[general]\ndata_dir = 5\n"),
            "drosera.toml:2: general.data_dir: expected a string, got an integer");
  EXPECT_EQ(loadError("[server]\nbind = \"0.0.0.0\"\n"),
            "drosera.toml:2: server.bind: expected an array of strings, got a string");
  EXPECT_EQ(loadError("[server]\nbind = [\"0.0.0.0\", 1]\n"),
            "drosera.toml:2: server.bind: expected an array of strings, found an integer");
  EXPECT_EQ(loadError("[limits]\nmax_body_bytes = 1.5\n"),
            "drosera.toml:2: limits.max_body_bytes: expected a size (integer bytes or a string like "
            "\"16MiB\"), got a number");
  EXPECT_EQ(loadError("[limits]\nheader_timeout_s = true\n"),
            "drosera.toml:2: limits.header_timeout_s: expected a duration in seconds, got a boolean");
  EXPECT_EQ(loadError("[general]\ndata_dir = 1979-05-27\n"),
            "drosera.toml:2: general.data_dir: expected a string, got a date/time");
  EXPECT_EQ(loadError("[engine]\nparanoia_level = [1]\n"),
            "drosera.toml:2: engine.paranoia_level: expected an integer, got an array");
}

TEST(ConfigLoad, OutOfRangeNamesKeyLineAndBounds) {
  EXPECT_EQ(loadError("[server]\nio_threads = 100\n"),
            "drosera.toml:2: server.io_threads: must be between 1 and 64 (got 100)");
  EXPECT_EQ(loadError("[engine]\n\n\nparanoia_level = 5\n"),
            "drosera.toml:4: engine.paranoia_level: must be between 1 and 4 (got 5)");
  EXPECT_EQ(loadError("[event_log]\nkeep_files = 0\n"),
            "drosera.toml:2: event_log.keep_files: must be between 1 and 100000 (got 0)");
  EXPECT_EQ(loadError("[inspection]\nthreads = -1\n"),
            "drosera.toml:2: inspection.threads: must be between 0 and 256 (got -1)");
}

TEST(ConfigLoad, EnumeratedStringsListTheChoices) {
  EXPECT_EQ(loadError("[general]\nlog_level = \"verbose\"\n"),
            "drosera.toml:2: general.log_level: must be one of trace, debug, info, warn, error "
            "(got \"verbose\")");
  EXPECT_EQ(loadError("[server]\npersona = \"lighttpd\"\n"),
            "drosera.toml:2: server.persona: must be one of apache, nginx, iis (got \"lighttpd\")");
  EXPECT_EQ(loadError("[engine]\nrule_engine = \"Off\"\n"),
            "drosera.toml:2: engine.rule_engine: must be one of DetectionOnly, On (got \"Off\")");
  EXPECT_EQ(loadError("[event_log]\nfsync = \"sometimes\"\n"),
            "drosera.toml:2: event_log.fsync: must be one of always, interval, never "
            "(got \"sometimes\")");
}

// ---- sizes ---------------------------------------------------------------------------

TEST(ConfigLoad, SizesWithUnits) {
  const Config c = load(R"(
[inspection]
queue_max_bytes = "16MiB"
backlog_max_bytes = "2GiB"
[limits]
max_body_bytes = "512k"
max_header_bytes = "64KiB"
max_request_line = 1000
max_header_line = "100 B"
[site]
max_file_bytes = "3mb"
[event_log]
rotate_bytes = "1G"
max_body_bytes = "0"
)");
  EXPECT_EQ(c.inspection.queue_max_bytes, 16ull << 20);
  EXPECT_EQ(c.inspection.backlog_max_bytes, 2ull << 30);
  EXPECT_EQ(c.limits.max_body_bytes, 512ull << 10);
  EXPECT_EQ(c.limits.max_header_bytes, 64ull << 10);
  EXPECT_EQ(c.limits.max_request_line, 1000u);
  EXPECT_EQ(c.limits.max_header_line, 100u);
  EXPECT_EQ(c.site.max_file_bytes, 3ull << 20);
  EXPECT_EQ(c.event_log.rotate_bytes, 1ull << 30);
  EXPECT_EQ(c.event_log.max_body_bytes, 0u);
}

TEST(ConfigLoad, SizeErrors) {
  EXPECT_EQ(loadError("[limits]\nmax_body_bytes = \"5TB\"\n"),
            "drosera.toml:2: limits.max_body_bytes: unknown size unit \"tb\" (use B, KiB, MiB or GiB)");
  EXPECT_EQ(loadError("[limits]\nmax_body_bytes = \"MiB\"\n"),
            "drosera.toml:2: limits.max_body_bytes: expected a size such as 65536, \"64KiB\" or "
            "\"16MiB\" (got \"MiB\")");
  EXPECT_EQ(loadError("[limits]\nmax_body_bytes = \"-5\"\n"),
            "drosera.toml:2: limits.max_body_bytes: expected a size such as 65536, \"64KiB\" or "
            "\"16MiB\" (got \"-5\")");
  EXPECT_EQ(loadError("[limits]\nmax_body_bytes = -5\n"),
            "drosera.toml:2: limits.max_body_bytes: must not be negative");
  EXPECT_EQ(loadError("[limits]\nmax_request_line = 8\n"),
            "drosera.toml:2: limits.max_request_line: must be at least 16 (got 8)");
  EXPECT_EQ(loadError("[event_log]\nrotate_bytes = \"1k\"\n"),
            "drosera.toml:2: event_log.rotate_bytes: must be at least 4096 (got 1024)");
}

TEST(ConfigLoad, SizeThatOverflowsIsAnError) {
  // Regression (found by this test, fixed): parseBytes (src/core/config_load.cc) accepts up to 15 digits and multiplies by the
  // unit without an overflow check. 17179869185 GiB is 2^64 + 2^30 bytes: it wraps around to
  // exactly 1 GiB and loads silently.
  auto r = loadConfigString("[inspection]\nbacklog_max_bytes = \"17179869185G\"\n", "d.toml");
  EXPECT_FALSE(r.isOk()) << "loaded backlog_max_bytes = " << r->inspection.backlog_max_bytes;
  auto r2 = loadConfigString("[inspection]\nbacklog_max_bytes = \"100000000000000GiB\"\n", "d.toml");
  EXPECT_FALSE(r2.isOk()) << "loaded backlog_max_bytes = " << r2->inspection.backlog_max_bytes;
}

// ---- durations -----------------------------------------------------------------------

TEST(ConfigLoad, DurationsWithUnits) {
  const Config c = load(R"(
[limits]
header_timeout_s = "200ms"
body_timeout_s = "2m"
keepalive_timeout_s = 0.5
[sensor]
status_interval_s = "5s"
[inspection]
shutdown_drain_s = "1h"
fsync_interval_s = "2.5"
[event_log]
fsync_interval_s = 3
)");
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_s, 0.2);
  EXPECT_DOUBLE_EQ(c.limits.body_timeout_s, 120);
  EXPECT_DOUBLE_EQ(c.limits.keepalive_timeout_s, 0.5);
  EXPECT_DOUBLE_EQ(c.sensor.status_interval_s, 5);
  EXPECT_DOUBLE_EQ(c.inspection.shutdown_drain_s, 3600);
  EXPECT_DOUBLE_EQ(c.inspection.fsync_interval_s, 2.5);
  EXPECT_DOUBLE_EQ(c.event_log.fsync_interval_s, 3);
}

TEST(ConfigLoad, DurationErrors) {
  EXPECT_EQ(loadError("[limits]\nheader_timeout_s = \"soon\"\n"),
            "drosera.toml:2: limits.header_timeout_s: expected a duration such as 5, 0.5, "
            "\"200ms\" or \"2m\" (got \"soon\")");
  EXPECT_EQ(loadError("[limits]\nheader_timeout_s = \"5d\"\n"),
            "drosera.toml:2: limits.header_timeout_s: unknown duration unit \"d\" (use ms, s, m or h)");
  EXPECT_EQ(loadError("[limits]\nheader_timeout_s = \"2h\"\n"),
            "drosera.toml:2: limits.header_timeout_s: must be between 0.0 and 3600.0 seconds "
            "(got 7200.0)");
  // Digits, an optional fraction, a unit: std::stod took a sign, spaces, exponents and hex.
  for (const char* bad : {"-1s", " 5", "+5", ".5", "inf", "nan"}) {
    EXPECT_EQ(loadError(std::string("[limits]\nbody_timeout_s = \"") + bad + "\"\n"),
              std::string("drosera.toml:2: limits.body_timeout_s: expected a duration such as 5, "
                          "0.5, \"200ms\" or \"2m\" (got \"") +
                  bad + "\")")
        << bad;
  }
  // 0 is the persona's own idle time and timeouts; otherwise at least 0.05 s, as before.
  for (const char* key : {"keepalive_timeout_s", "header_timeout_s", "body_timeout_s"}) {
    EXPECT_EQ(loadError(std::string("[limits]\n") + key + " = 0.01\n"),
              std::string("drosera.toml:2: limits.") + key +
                  ": must be 0 (the persona's own) or at least 0.05 seconds (got 0.01)");
    EXPECT_DOUBLE_EQ(load(std::string("[limits]\n") + key + " = 0\n").limits.header_timeout_s,
                     0);
  }
  EXPECT_DOUBLE_EQ(Config{}.limits.header_timeout_s, 0);  // the persona's own by default
  EXPECT_DOUBLE_EQ(Config{}.limits.body_timeout_s, 0);
  EXPECT_EQ(Config{}.limits.max_headers, 0u);
  for (const auto& [bad, unit] : {std::pair{"5 s", " s"}, {"0x10", "x10"}, {"1e3", "e3"}}) {
    EXPECT_EQ(loadError(std::string("[limits]\nbody_timeout_s = \"") + bad + "\"\n"),
              std::string("drosera.toml:2: limits.body_timeout_s: unknown duration unit \"") +
                  unit + "\" (use ms, s, m or h)");
  }
  const std::string inf_err = loadError("[limits]\nbody_timeout_s = inf\n");
  EXPECT_EQ(inf_err.rfind("drosera.toml:2: limits.body_timeout_s: must be between", 0), 0u)
      << inf_err;
}

// ---- listeners -----------------------------------------------------------------------

TEST(ConfigLoad, ListenerTablesReplaceTheDefaultList) {
  const Config c = load(R"(
[server]
persona = "apache"
trusted_proxies = ["10.0.0.0/8"]

[[server.listener]]
port = 80

[[server.listener]]
port = 443
tls = true
persona = "iis"
site = "/srv/other"

[[server.listener]]
port = 2222
kind = "fake"
proxy_protocol = true
)");
  ASSERT_EQ(c.server.listeners.size(), 3u);
  EXPECT_EQ(c.server.listeners[0].port, 80);
  EXPECT_EQ(c.server.listeners[0].kind, "real");
  EXPECT_FALSE(c.server.listeners[0].tls);
  EXPECT_FALSE(c.server.listeners[0].proxy_protocol);
  EXPECT_EQ(c.server.listeners[0].persona, "");
  EXPECT_EQ(c.server.listeners[0].site, "");
  EXPECT_EQ(c.server.listeners[1].port, 443);
  EXPECT_TRUE(c.server.listeners[1].tls);
  EXPECT_EQ(c.server.listeners[1].persona, "iis");
  EXPECT_EQ(c.server.listeners[1].site, "/srv/other");
  EXPECT_EQ(c.server.listeners[2].port, 2222);
  EXPECT_EQ(c.server.listeners[2].kind, "fake");
  EXPECT_TRUE(c.server.listeners[2].proxy_protocol);
}

TEST(ConfigLoad, ListenerAsInlineArray) {
  const Config c = load("[server]\nlistener = [{port = 81}, {port = 82, kind = \"fake\"}]\n");
  ASSERT_EQ(c.server.listeners.size(), 2u);
  EXPECT_EQ(c.server.listeners[1].port, 82);
  EXPECT_EQ(c.server.listeners[1].kind, "fake");
}

TEST(ConfigLoad, ListenerWithoutPortIsAnError) {
  EXPECT_EQ(loadError("[[server.listener]]\nkind = \"real\"\n"),
            "drosera.toml:1: server.listener: every entry needs a 'port' key");
}

TEST(ConfigLoad, SecondListenerWithoutPortNamesItsLine) {
  const std::string err = loadError(
      "[[server.listener]]\n"
      "port = 80\n"
      "\n"
      "[[server.listener]]\n"
      "kind = \"fake\"\n");
  EXPECT_EQ(err, "drosera.toml:4: server.listener: every entry needs a 'port' key");
}

TEST(ConfigLoad, DuplicatePortsAreAnError) {
  const std::string err = loadError(
      "[[server.listener]]\nport = 8080\n[[server.listener]]\nport = 9000\n"
      "[[server.listener]]\nport = 8080\nkind = \"fake\"\n");
  EXPECT_NE(err.find("drosera.toml"), std::string::npos) << err;
  EXPECT_NE(err.find("server.listener"), std::string::npos) << err;
  EXPECT_NE(err.find("port 8080 is configured twice"), std::string::npos) << err;
}

TEST(ConfigLoad, SeveralListenersOnPortZeroAreAllowed) {
  const Config c = load("[[server.listener]]\nport = 0\n[[server.listener]]\nport = 0\n");
  EXPECT_EQ(c.server.listeners.size(), 2u);
}

TEST(ConfigLoad, ListenerFieldErrors) {
  EXPECT_EQ(loadError("[[server.listener]]\nport = 70000\n"),
            "drosera.toml:2: server.listener.port: must be between 0 and 65535 (got 70000)");
  EXPECT_EQ(loadError("[[server.listener]]\nport = 1\nprot = 2\n"),
            "drosera.toml:3: unknown key 'server.listener.prot' (did you mean 'port'?)");
  EXPECT_EQ(loadError("[[server.listener]]\nport = 1\nkind = \"honey\"\n"),
            "drosera.toml:3: server.listener.kind: must be one of real, fake (got \"honey\")");
  EXPECT_EQ(loadError("[[server.listener]]\nport = 1\ntls = 1\n"),
            "drosera.toml:3: server.listener.tls: expected true or false, got an integer");
  EXPECT_EQ(loadError("[[server.listener]]\nport = 1\npersona = \"caddy\"\n"),
            "drosera.toml:3: server.listener.persona: must be one of apache, nginx, iis "
            "(got \"caddy\")");
}

TEST(ConfigLoad, ListenerMustBeAnArrayOfTables) {
  EXPECT_EQ(loadError("[server.listener]\nport = 1\n"),
            "drosera.toml:1: server.listener: expected an array of tables [[server.listener]]");
  EXPECT_EQ(loadError("[server]\nlistener = [1]\n"),
            "drosera.toml:2: server.listener: expected a table");
}

TEST(ConfigLoad, EmptyListenerListIsAnError) {
  const std::string err = loadError("[server]\nlistener = []\n");
  EXPECT_NE(err.find("at least one listener"), std::string::npos) << err;
  EXPECT_EQ(err.rfind("drosera.toml", 0), 0u) << err;
}

TEST(ConfigLoad, OnlyFakeListenersIsAnError) {
  const std::string err = loadError("[[server.listener]]\nport = 1\nkind = \"fake\"\n");
  EXPECT_NE(err.find("kind = \"real\""), std::string::npos) << err;
}

// ---- cross-key validation ------------------------------------------------------------

TEST(ConfigLoad, TlsCertAndKeyMustBeSetTogether) {
  const std::string err = loadError("[server]\ntls_cert = \"/c.pem\"\n");
  EXPECT_NE(err.find("server.tls_cert and server.tls_key"), std::string::npos) << err;
  Config c;
  c.server.tls_key = "/k.pem";
  EXPECT_FALSE(validateConfig(c).isOk());
}

TEST(ConfigLoad, HeaderLineLargerThanHeaderBytesIsAnError) {
  const std::string err = loadError("[limits]\nmax_header_line = 1000\nmax_header_bytes = 500\n");
  EXPECT_NE(err.find("limits.max_header_line"), std::string::npos) << err;
}

TEST(ConfigLoad, ExecutingParanoiaBelowParanoiaIsAnError) {
  const std::string err =
      loadError("[engine]\nparanoia_level = 3\nexecuting_paranoia_level = 2\n");
  EXPECT_NE(err.find("engine.executing_paranoia_level"), std::string::npos) << err;
  load("[engine]\nparanoia_level = 3\nexecuting_paranoia_level = 0\n");
  load("[engine]\nparanoia_level = 3\nexecuting_paranoia_level = 4\n");
}

TEST(ConfigLoad, EmptyBindIsAnError) {
  const std::string err = loadError("[server]\nbind = []\n");
  EXPECT_NE(err.find("server.bind"), std::string::npos) << err;
}

TEST(ConfigLoad, ValidateConfigOnStructs) {
  Config c;
  c.server.listeners.clear();
  EXPECT_EQ(validateConfig(c).code(), Status::Code::kInvalidArgument);
  c = Config{};
  c.server.listeners[1].port = c.server.listeners[0].port;
  const Status st = validateConfig(c);
  EXPECT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("port 8080"), std::string::npos) << st.message();
}

// ---- TOML syntax errors and files ----------------------------------------------------

TEST(ConfigLoad, SyntaxErrorsAreReportedWithFileAndLine) {
  const std::string err = loadError("[general]\ndata_dir = \"x\"\nlog_level = \n");
  EXPECT_NE(err.find("drosera.toml"), std::string::npos) << err;
  EXPECT_NE(err.find(" 3 | log_level ="), std::string::npos) << err;
}

TEST(ConfigLoad, UnterminatedStringIsASyntaxError) {
  const std::string err = loadError("\n\n[general]\ndata_dir = \"x\n");
  EXPECT_NE(err.find("drosera.toml"), std::string::npos) << err;
  EXPECT_NE(err.find(" 4 | data_dir"), std::string::npos) << err;
}

TEST(ConfigLoad, DuplicateKeyIsASyntaxError) {
  const std::string err = loadError("[general]\nlog_level = \"info\"\nlog_level = \"debug\"\n");
  EXPECT_NE(err.find("drosera.toml"), std::string::npos) << err;
  EXPECT_NE(err.find(" 3 | log_level"), std::string::npos) << err;
}

TEST(ConfigLoad, GarbageBytesDoNotCrash) {
  const std::string inputs[] = {std::string("\0\0\0", 3), "\xff\xfe[", "[[[", "= = =",
                                "[general\n", "a = \"\\q\"", std::string(10000, '[')};
  for (const auto& in : inputs) {
    auto r = loadConfigString(in, "x.toml");
    EXPECT_FALSE(r.isOk());
  }
}

// Regression (found by fuzz/config_fuzz.cc, fixed): toml11 3.7.1 reads out of bounds when it
// reports invalid UTF-8 inside a literal string (toml11 issue #199); the loader now refuses text
// that is not UTF-8 before parsing, naming the file and the line.
TEST(ConfigLoad, TextThatIsNotUtf8IsRefusedWithItsLine) {
  for (const std::string& in : {std::string("[server]\nserver_header = '''a\xff'''\n"),
                                std::string("[server]\nserver_header = 'caf\xe9'\n"),
                                std::string("[server]\nserver_header = \"\xc0\xaf\"\n")}) {
    auto r = loadConfigString(in, "x.toml");
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().message(), "x.toml:2: not UTF-8 (a TOML file must be UTF-8 text)");
  }
  // UTF-8 is fine, in strings and comments.
  auto r = loadConfigString("# caf\xc3\xa9\n[server]\nserver_header = 'caf\xc3\xa9 \xe2\x9c\x93'\n",
                            "x.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->server.server_header, "caf\xc3\xa9 \xe2\x9c\x93");
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drosera-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigFile, LoadsAFile) {
  const std::string path = write("ok.toml", "[server]\nio_threads = 3\n");
  auto r = loadConfigFile(path);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->server.io_threads, 3);
}

TEST_F(ConfigFile, ErrorsNameThePath) {
  const std::string path = write("bad.toml", "[server]\n\nio_thread = 3\n");
  auto r = loadConfigFile(path);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            path + ":3: unknown key 'server.io_thread' (did you mean 'io_threads'?)");
}

TEST_F(ConfigFile, MissingFileIsNotFound) {
  auto r = loadConfigFile(dir_ + "/absent.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(dir_ + "/absent.toml"), std::string::npos);
}

TEST_F(ConfigFile, DefaultConfigWrittenToAFileLoads) {
  const std::string path = write("default.toml", defaultConfigToml());
  auto r = loadConfigFile(path);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(dump(r.value()), dump(Config{}));
}

}  // namespace
}  // namespace drosera::core

namespace drosera::core {
namespace {

// ---- nested sections ([ecs.*]) -------------------------------------------------------

TEST(ConfigLoad, EcsSectionsAreNestedTables) {
  const Config c = load(
      "[ecs.mapping]\ndataset = \"honeypot.eu\"\nlabels = {region = \"eu-west\"}\n"
      "[ecs.ndjson]\nenabled = true\nrotate_bytes = \"1MiB\"\n"
      "[ecs.bulk]\nenabled = true\nurl = \"https://127.0.0.1:9200\"\nauth = \"api_key\"\n"
      "backoff_initial_s = 0.5\n");
  EXPECT_EQ(c.ecs.mapping.dataset, "honeypot.eu");
  ASSERT_EQ(c.ecs.mapping.labels.size(), 1u);
  EXPECT_EQ(c.ecs.mapping.labels[0].first, "region");
  EXPECT_EQ(c.ecs.mapping.labels[0].second, "eu-west");
  EXPECT_TRUE(c.ecs.ndjson.enabled);
  EXPECT_EQ(c.ecs.ndjson.rotate_bytes, 1u << 20);
  EXPECT_TRUE(c.ecs.bulk.enabled);
  EXPECT_EQ(c.ecs.bulk.url, "https://127.0.0.1:9200");
  EXPECT_EQ(c.ecs.bulk.auth, "api_key");
  EXPECT_DOUBLE_EQ(c.ecs.bulk.backoff_initial_s, 0.5);
  // The same in one table with dotted keys.
  const Config d = load("[ecs]\nbulk.enabled = true\nndjson.batch = 10\n");
  EXPECT_TRUE(d.ecs.bulk.enabled);
  EXPECT_EQ(d.ecs.ndjson.batch, 10u);
}

TEST(ConfigLoad, EcsErrorsNameTheNestedKeyAndLine) {
  EXPECT_EQ(loadError("\n[ecs.bulkk]\nenabled = true\n"),
            "drosera.toml:2: unknown section 'ecs.bulkk' (did you mean 'ecs.bulk'?)");
  EXPECT_EQ(loadError("[ecs.bulk]\n\nauth = \"kerberos\"\n"),
            "drosera.toml:3: ecs.bulk.auth: must be one of none, basic, api_key (got \"kerberos\")");
  EXPECT_NE(loadError("[ecs.mapping]\nlabels = {region = 3}\n").find("ecs.mapping.labels"),
            std::string::npos);
  // A key Elasticsearch would refuse on every document (""), or turn into an object ("a.b",
  // conflicting with "a"): refused at load, not dead-lettered document by document.
  for (const char* bad : {"labels = {\"\" = \"x\"}", "labels = {\"sensor.region\" = \"eu\"}"}) {
    const std::string err = loadError(std::string("[ecs.mapping]\n") + bad + "\n");
    EXPECT_NE(err.find("ecs.mapping.labels"), std::string::npos) << err;
    EXPECT_NE(err.find("without dots"), std::string::npos) << err;
  }
  EXPECT_NE(loadError("[ecs]\nbulk = 3\n").find("ecs.bulk"), std::string::npos);
}

}  // namespace
}  // namespace drosera::core
