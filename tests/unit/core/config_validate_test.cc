// What the configuration is checked for beyond types and ranges, at load, so that `drosera
// config check` and every start refuse it before anything binds: addresses, URLs, tags, keys
// that only make sense together, integer literals toml11 would saturate, and what the file names
// on this host (users, folders, TLS files). Each case was accepted once, then failed at start
// (or after binding), or named the wrong key.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/config_load.h"

namespace drosera::core {
namespace {

std::string refusal(const std::string& text) {
  auto r = loadConfigString(text, "drosera.toml");
  EXPECT_FALSE(r.isOk()) << "loaded although it should not:\n" << text;
  if (r.isOk()) return "";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

void loadsCleanly(const std::string& text) {
  auto r = loadConfigString(text, "drosera.toml");
  EXPECT_TRUE(r.isOk()) << r.status().message() << "\nin:\n" << text;
}

bool holds(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---- PROXY protocol ------------------------------------------------------------------

TEST(ConfigValidate, ProxyProtocolWithoutTrustedProxiesIsAnError) {
  // Accepted once: then every request on the port answered 400, recorded as method PROXY.
  const std::string err = refusal("[[server.listener]]\nport = 8080\nproxy_protocol = true\n");
  EXPECT_EQ(err.rfind("drosera.toml: server.listener.proxy_protocol is true on port 8080", 0), 0u)
      << err;
  EXPECT_TRUE(holds(err, "server.trusted_proxies is empty")) << err;
  loadsCleanly(
      "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n"
      "[[server.listener]]\nport = 8080\nproxy_protocol = true\n");
  Config c;
  c.server.listeners[1].proxy_protocol = true;
  const Status st = validateConfig(c);
  EXPECT_TRUE(holds(st.message(), "server.listener.proxy_protocol is true on port 8000"))
      << st.message();
}

// ---- addresses -----------------------------------------------------------------------

TEST(ConfigValidate, BindTakesIpAddressesOnly) {
  EXPECT_EQ(refusal("[server]\nbind = [\"localhost\"]\n"),
            "drosera.toml:2: server.bind: \"localhost\" is not an IP address (names are not "
            "resolved: give 0.0.0.0, :: or an address of this host)");
  for (const char* bad : {"127.1", "[::1]", "10.0.0.0/8", "", "1.2.3.4%lo", "::1 "}) {
    const std::string err =
        refusal(std::string("[server]\nbind = [\"127.0.0.1\", \"") + bad + "\"]\n");
    EXPECT_TRUE(holds(err, "drosera.toml:2: server.bind: \"" + std::string(bad) + "\" is not"))
        << err;
  }
  loadsCleanly("[server]\nbind = [\"0.0.0.0\", \"::\", \"127.0.0.1\", \"::1\", \"fe80::1%lo\"]\n");
  Config c;
  c.server.bind = {"localhost"};
  EXPECT_TRUE(
      holds(validateConfig(c).message(), "server.bind: \"localhost\" is not an IP address"));
}

TEST(ConfigValidate, TrustedProxiesAreAddressesOrBlocks) {
  EXPECT_EQ(refusal("[server]\n\ntrusted_proxies = [\"10.0.0.0/33\"]\n"),
            "drosera.toml:3: server.trusted_proxies: \"10.0.0.0/33\": the prefix of an IPv4 "
            "block is at most /32");
  EXPECT_TRUE(holds(refusal("[server]\ntrusted_proxies = [\"::/129\"]\n"), "at most /128"));
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "lb.example", "10.0.0"}) {
    const std::string err = refusal(std::string("[server]\ntrusted_proxies = [\"") + bad + "\"]\n");
    EXPECT_TRUE(holds(err, "drosera.toml:2: server.trusted_proxies: \"" + std::string(bad) + "\""))
        << err;
  }
  loadsCleanly(
      "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\", \"2001:db8::/32\", \"[::1]\", "
      "\"192.0.2.7/32\", \"0.0.0.0/0\", \"[fe80::1%eth0]\", \"fe80::/10\"]\n");
  Config c;
  c.server.trusted_proxies = {"10.0.0.0/33"};
  EXPECT_TRUE(holds(validateConfig(c).message(), "server.trusted_proxies: \"10.0.0.0/33\""));
}

TEST(ConfigValidate, CollectorListenIsAnAddressAndAPort) {
  // Each named server.bind once (the collector's server reported it), or passed a port of
  // 99999 or "19080abc" on to the kernel.
  EXPECT_EQ(refusal("[collector]\nlisten = \"127.0.0.1:99999\"\n"),
            "drosera.toml:2: collector.listen: the port must be a number from 0 to 65535 (got "
            "\"127.0.0.1:99999\")");
  for (const char* bad : {"127.0.0.1:19080abc", "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1:+80",
                          "localhost:19080", "localhost", "127.0.0.1", "[::1:9080"}) {
    const std::string err = refusal(std::string("[collector]\nlisten = \"") + bad + "\"\n");
    EXPECT_EQ(err.rfind("drosera.toml:2: collector.listen: ", 0), 0u) << err;
    EXPECT_TRUE(holds(err, std::string("\"") + bad + "\"")) << err;
    EXPECT_FALSE(holds(err, "server.bind")) << err;
  }
  EXPECT_TRUE(holds(refusal("[collector]\nlisten = \"localhost:19080\"\n"), "IP address"));
  loadsCleanly("[collector]\nlisten = \"127.0.0.1:0\"\n");
  loadsCleanly("[collector]\nlisten = \"[::1]:9080\"\n");
  loadsCleanly("[collector]\nlisten = \"0.0.0.0:65535\"\n");

  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(parseListenAddress("[::1]:9080", &host, &port).isOk());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9080);
  ASSERT_TRUE(parseListenAddress(":19080", &host, &port).isOk());
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 19080);
  const Status st = parseListenAddress("localhost:19080", &host, &port);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("collector.listen: ", 0), 0u) << st.message();
}

// ---- collector -----------------------------------------------------------------------

TEST(ConfigValidate, PostgresStoreNeedsAConnectionString) {
  EXPECT_EQ(refusal("[collector]\nstore = \"postgres\"\n"),
            "drosera.toml: collector.postgres: a connection string is needed with "
            "collector.store = \"postgres\"");
  loadsCleanly("[collector]\nstore = \"postgres\"\npostgres = \"host=/run/postgresql dbname=d\"\n");
}

TEST(ConfigValidate, CollectorTlsCertAndKeyMustBeSetTogether) {
  const std::string err = refusal("[collector]\ntls = true\ntls_cert = \"/c.pem\"\n");
  EXPECT_EQ(err, "drosera.toml: collector.tls_cert and collector.tls_key must be set together");
  EXPECT_FALSE(refusal("[collector]\ntls_key = \"/k.pem\"\n").empty());
  loadsCleanly("[collector]\ntls = true\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n");
  loadsCleanly("[collector]\ntls = true\n");  // the generated certificate
}

// ---- URLs ----------------------------------------------------------------------------

TEST(ConfigValidate, ShipperUrlIsAnHttpUrlWithAHost) {
  EXPECT_EQ(refusal("[shipper]\nurl = \"not a url\"\n"),
            "drosera.toml:2: shipper.url: must start with https:// or http:// (got \"not a "
            "url\")");
  for (const char* bad : {"https://", "https:///api/v1/ingest", "http://:9080/x",
                          "https://collector:99999/x", "https://collector:/x",
                          "https://collector:9080 /x", "ftp://collector/x", "collector:9080"}) {
    const std::string err = refusal(std::string("[shipper]\nurl = \"") + bad + "\"\n");
    EXPECT_EQ(err.rfind("drosera.toml:2: shipper.url: ", 0), 0u) << err;
  }
  loadsCleanly("[shipper]\nurl = \"https://collector:9080/api/v1/ingest\"\ntoken = \"t\"\n");
  loadsCleanly("[shipper]\nurl = \"https://[2001:db8::1]:9080/api/v1/ingest\"\n");
}

TEST(ConfigValidate, ShipperRefusesPlainHttpWithATokenToAnotherHost) {
  // As misp.url: plain http only to a loopback address; there is no opt-out for either.
  EXPECT_EQ(refusal("[shipper]\nurl = \"http://collector.example:9080/api/v1/ingest\"\n"
                    "token = \"secret\"\n"),
            "drosera.toml: shipper.url: plain http would send the token (shipper.token) in clear: "
            "use https:// (got \"http://collector.example:9080/api/v1/ingest\")");
  EXPECT_TRUE(holds(refusal("[shipper]\nurl = \"http://10.1.2.3/api/v1/ingest\"\n"
                            "token_file = \"/etc/drosera/t\"\n"),
                    "(shipper.token_file)"));
  // 127.example.org is a name, not a loopback address.
  EXPECT_TRUE(holds(refusal("[shipper]\nurl = \"http://127.example.org/api/v1/ingest\"\n"
                            "token = \"t\"\n"),
                    "plain http would send the token"));
  EXPECT_TRUE(holds(refusal("[misp]\nurl = \"http://127.example.org\"\n"),
                    "plain http would send the API key"));
  loadsCleanly("[shipper]\nurl = \"http://127.0.0.1:9080/api/v1/ingest\"\ntoken = \"t\"\n");
  loadsCleanly("[shipper]\nurl = \"http://[::1]:9080/api/v1/ingest\"\ntoken = \"t\"\n");
  loadsCleanly("[shipper]\nurl = \"http://localhost:9080/api/v1/ingest\"\ntoken = \"t\"\n");
  loadsCleanly(
      "[shipper]\nurl = \"http://collector.example/api/v1/ingest\"\n");  // no token to leak
}

// ---- MISP: checked at load, not once the reporter starts -------------------------------

TEST(ConfigValidate, MispValuesAreCheckedAtLoad) {
  EXPECT_EQ(refusal("[misp]\ntlp = \"red\"\n"),
            "drosera.toml:2: misp.tlp: must be a tlp:* tag, e.g. \"tlp:amber\" (got \"red\")");
  EXPECT_EQ(refusal("[misp]\nurl = \"http://misp.example.org\"\n"),
            "drosera.toml:2: misp.url: plain http would send the API key in clear: use https:// "
            "(got \"http://misp.example.org\")");
  EXPECT_TRUE(holds(refusal("[misp]\nurl = \"misp.example.org\"\n"), "misp.url: must start"));
  EXPECT_TRUE(holds(refusal("[misp]\npap = \"green\"\n"), "drosera.toml:2: misp.pap: "));
  EXPECT_TRUE(holds(refusal("[misp]\norg_uuid = \"nope\"\n"), "misp.org_uuid: is not a UUID"));
  EXPECT_TRUE(holds(refusal("[misp]\nnamespace_uuid = \"0000\"\n"), "misp.namespace_uuid: "));
  EXPECT_TRUE(holds(refusal("[misp]\norg_name = \"\"\n"), "misp.org_name: must be 1..255"));
  EXPECT_TRUE(holds(refusal("[misp]\nallowlist = [\"10.0.0.0/40\"]\n"), "misp.allowlist: "));
  EXPECT_TRUE(holds(refusal("[misp]\nsensor_addresses = [\"x\"]\n"), "misp.sensor_addresses: "));
  EXPECT_TRUE(holds(refusal("[misp.sensor_groups]\na = [\"s1\"]\nb = [\"s1\"]\n"),
                    "misp.sensor_groups: sensor \"s1\" is in two groups"));
  loadsCleanly(
      "[misp]\nurl = \"http://127.0.0.1:8443\"\ntlp = \"tlp:clear\"\npap = \"\"\n"
      "org_uuid = \"5f6d7c1e-1c2b-4d3a-9e8f-0a1b2c3d4e5f\"\nallowlist = [\"192.0.2.0/24\"]\n");
  Config c;
  c.misp.tlp = "red";
  EXPECT_TRUE(holds(validateConfig(c).message(), "misp.tlp: must be a tlp:* tag"));
}

// ---- sensor names -----------------------------------------------------------------------

TEST(ConfigValidate, SensorNamesAreShortTokensWithoutSpacesOrControls) {
  // A sensor's name goes into the X-Drosera-Sensor header, the store and MISP tags: it was taken
  // as it came, a CR LF and all.
  EXPECT_FALSE(sensorIdProblem("sensor-eu-1").has_value());
  EXPECT_FALSE(sensorIdProblem("web01.example.org:8080").has_value());
  EXPECT_FALSE(sensorIdProblem("apache_1@dmz+2").has_value());
  EXPECT_FALSE(sensorIdProblem(std::string(80, 'a')).has_value());
  EXPECT_TRUE(sensorIdProblem("").has_value());
  EXPECT_TRUE(sensorIdProblem(std::string(81, 'a')).has_value());
  for (const char* bad : {"a b", "a\r\nX-Evil: 1", "a/b", "a\"b", "caf\xc3\xa9", "a\tb", "<s>"}) {
    EXPECT_TRUE(sensorIdProblem(bad).has_value()) << bad;
  }
  const std::string m = refusal("[sensor]\nid = \"a\\r\\nX-Evil: 1\"\n");
  EXPECT_TRUE(holds(m, "drosera.toml:2: sensor.id: a sensor name is letters")) << m;
  EXPECT_TRUE(holds(m, "\\x0d\\x0a")) << m;  // the bytes shown escaped
  loadsCleanly("[sensor]\nid = \"\"\n");     // empty: made once and kept in data_dir
  loadsCleanly("[sensor]\nid = \"dmz-1\"\n");

  EXPECT_TRUE(holds(refusal("[[collector.sensor]]\nname = \"\"\ntoken = \"t\"\n"),
                    "collector.sensor.name: a sensor name cannot be empty"));
  EXPECT_TRUE(holds(refusal("[[collector.sensor]]\nname = \"eu 1\"\ntoken = \"t\"\n"),
                    "collector.sensor.name: a sensor name is letters"));
  loadsCleanly("[[collector.sensor]]\nname = \"eu-1\"\ntoken = \"t\"\n");

  // Where the name defaults to the mlogc user or the tailed file's name, those must do as one.
  const std::string u = refusal("[[collector.mlogc]]\nuser = \"apache 1\"\npassword = \"p\"\n");
  EXPECT_TRUE(holds(u, "collector.mlogc.user: names the sensor when 'sensor' is not set")) << u;
  EXPECT_TRUE(holds(u, "set sensor")) << u;
  loadsCleanly(
      "[[collector.mlogc]]\nuser = \"apache 1\"\npassword = \"p\"\nsensor = \"apache-1\"\n");
  EXPECT_TRUE(holds(refusal("[[collector.mlogc]]\nuser = \"a\"\npassword = \"p\"\n"
                            "sensor = \"a b\"\n"),
                    "collector.mlogc.sensor: a sensor name is letters"));
  const std::string t = refusal("[[collector.tail]]\npath = \"/var/log/modsec audit.log\"\n");
  EXPECT_TRUE(holds(t, "collector.tail.path: its file name names the sensor")) << t;
  loadsCleanly("[[collector.tail]]\npath = \"/var/log/modsec_audit.log\"\n");
  EXPECT_TRUE(holds(refusal("[[collector.tail]]\npath = \"\"\nsensor = \"a\"\n"),
                    "collector.tail.path: cannot be empty"));
  loadsCleanly("[[collector.tail]]\npath = \"/var/log/modsec audit.log\"\nsensor = \"apache-1\"\n");
}

// ---- integers that do not fit in 64 bits ---------------------------------------------

TEST(ConfigValidate, IntegerLiteralsThatDoNotFitAreRefused) {
  // toml11 3.7.1 read these as INT64_MAX (or INT64_MIN), silently. (A binary literal over 63
  // bits it wraps through a signed overflow of its own, undefined behaviour that
  // UndefinedBehaviorSanitizer stops at, so it is not tried here; the same check refuses it.)
  EXPECT_EQ(refusal("[limits]\nmax_body_bytes = 99999999999999999999\n"),
            "drosera.toml:2: limits.max_body_bytes: integer 99999999999999999999 is out of range "
            "(a TOML integer is at most 9223372036854775807)");
  EXPECT_EQ(refusal("[limits]\nmax_connections = 9223372036854775808\n"),
            "drosera.toml:2: limits.max_connections: integer 9223372036854775808 is out of range "
            "(a TOML integer is at most 9223372036854775807)");
  for (const std::string& lit :
       {std::string("18446744073709551615"), std::string("+9_223_372_036_854_775_808"),
        std::string("0x8000000000000000"), std::string("0xFFFF_FFFF_FFFF_FFFF"),
        std::string("0o1000000000000000000000")}) {
    const std::string err = refusal("[limits]\nmax_body_bytes = " + lit + "\n");
    EXPECT_EQ(err, "drosera.toml:2: limits.max_body_bytes: integer " + lit +
                       " is out of range (a TOML integer is at most 9223372036854775807)");
  }
  EXPECT_EQ(refusal("[sensor]\nstatus_interval_s = -9223372036854775809\n"),
            "drosera.toml:2: sensor.status_interval_s: integer -9223372036854775809 is out of "
            "range (a TOML integer is at least -9223372036854775808)");
  // In a table array and an inline table: the key is named all the same.
  EXPECT_TRUE(holds(refusal("[[server.listener]]\nport = 99999999999999999999\n"),
                    "drosera.toml:2: server.listener.port: integer 99999999999999999999 is out"));
  EXPECT_TRUE(holds(refusal("limits = { max_headers = 0x1_0000_0000_0000_0000 }\n"),
                    "drosera.toml:1: limits.max_headers: integer 0x1_0000_0000_0000_0000"));
  // The largest and smallest that fit are read as written.
  auto r = loadConfigString("[limits]\nmax_body_bytes = 9223372036854775807\n", "drosera.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->limits.max_body_bytes, 9223372036854775807u);
  r = loadConfigString("[limits]\nmax_body_bytes = 0x7FFF_FFFF_FFFF_FFFF\n", "drosera.toml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->limits.max_body_bytes, 9223372036854775807u);
  EXPECT_EQ(refusal("[sensor]\nstatus_interval_s = -9223372036854775808\n"),
            "drosera.toml:2: sensor.status_interval_s: must be between 0.1 and 3600.0 seconds "
            "(got -9.22337e+18)");
  EXPECT_TRUE(holds(refusal("[limits]\nmax_headers = -9223372036854775808\n"),
                    "must be between 0 and 100000 (got -9223372036854775808)"));
}

// ---- the file itself, and what it names on this host -----------------------------------

class ConfigHost : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/drosera-config-host-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_ + "/unreadable.toml", std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string fileError(const std::string& text) {
    const std::string path = write("c.toml", text);
    auto r = loadConfigFile(path);
    EXPECT_FALSE(r.isOk()) << text;
    if (r.isOk()) return "";
    EXPECT_EQ(r.status().message().rfind(path + ": ", 0), 0u) << r.status().message();
    return r.status().message().substr(path.size() + 2);
  }
  std::string dir_;
};

TEST_F(ConfigHost, AFolderIsNotAConfigurationFile) {
  // Read once as an empty file: "valid", every default.
  auto r = loadConfigFile(dir_);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            "configuration file " + dir_ + " is a folder, not a regular file");
  r = loadConfigFile(dir_ + "/");
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(holds(r.status().message(), "is a folder")) << r.status().message();
}

TEST_F(ConfigHost, APipeOrADeviceIsNotAConfigurationFile) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = loadConfigFile(fifo);  // returns at once: no writer is waited for
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "configuration file " + fifo + " is a pipe, not a regular file");
  r = loadConfigFile("/dev/null");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "configuration file /dev/null is a device, not a regular file");
}

TEST_F(ConfigHost, ReadErrorsNameThePathAndTheReason) {
  // A regular file whose read fails: /proc/self/mem at offset 0 (nothing mapped there).
  auto r = loadConfigFile("/proc/self/mem");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            "cannot read configuration file /proc/self/mem: Input/output error");
  r = loadConfigFile(dir_ + "/absent/c.toml");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(r.status().message(),
            "cannot read configuration file " + dir_ + "/absent/c.toml: No such file or directory");
  const std::string path = write("unreadable.toml", "[server]\n");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  if (::geteuid() == 0) return;  // root reads a file of mode 000
  r = loadConfigFile(path);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "cannot read configuration file " + path + ": Permission denied");
}

TEST_F(ConfigHost, AnEmptyRegularFileIsTheDefaults) {
  auto r = loadConfigFile(write("empty.toml", ""));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->server.listeners.size(), Config{}.server.listeners.size());
}

TEST_F(ConfigHost, TheUserMustExist) {
  EXPECT_EQ(fileError("[general]\nuser = \"nosuchuser-drosera\"\n"),
            "general.user: no such user 'nosuchuser-drosera'");
  EXPECT_EQ(fileError("[general]\nuser = \"root\"\n"),
            "general.user: 'root' is root; name an unprivileged user");
  EXPECT_TRUE(loadConfigFile(write("ok.toml", "[general]\nuser = \"nobody\"\n")).isOk());
  // Not looked up from text: that may describe another host.
  EXPECT_TRUE(loadConfigString("[general]\nuser = \"nosuchuser-drosera\"\n", "x").isOk());
}

TEST_F(ConfigHost, SiteFoldersMustExistAndTheKeyIsNamed) {
  // A listener's missing folder was reported as site.root, at start.
  EXPECT_EQ(fileError("[[server.listener]]\nport = 8080\nsite = \"/nonexistent\"\n"),
            "server.listener.site: no such folder \"/nonexistent\" (the listener on port 8080)");
  EXPECT_EQ(fileError("[site]\nroot = \"/nonexistent\"\n"),
            "site.root: no such folder \"/nonexistent\"");
  const std::string file = write("page.html", "x");
  EXPECT_EQ(fileError("[site]\nroot = \"" + file + "\"\n"),
            "site.root: \"" + file + "\" is not a folder");
  const std::string err =
      fileError("[[server.listener]]\nport = 8000\nsite = \"builtin:nosuch\"\n");
  EXPECT_EQ(err.rfind("server.listener.site: no built-in site \"builtin:nosuch\" (no folder ", 0),
            0u)
      << err;
  EXPECT_TRUE(holds(fileError("[[server.listener]]\nport = 8000\nsite = \"builtin:../site\"\n"),
                    "no built-in site"));
  std::filesystem::create_directory(dir_ + "/site");
  auto r = loadConfigFile(write("ok.toml", "[site]\nroot = \"" + dir_ +
                                               "/site\"\n"
                                               "[[server.listener]]\nport = 8080\nsite = \"" +
                                               dir_ +
                                               "/site\"\n[[server.listener]]\nport = 8000\n"
                                               "site = \"builtin:dev-api\"\n"));
  EXPECT_TRUE(r.isOk()) << r.status().message();
}

TEST_F(ConfigHost, TlsFilesMustExist) {
  EXPECT_EQ(
      fileError("[server]\ntls_cert = \"/nonexistent.pem\"\ntls_key = \"/nonexistent.key\"\n"),
      "server.tls_cert: no such file \"/nonexistent.pem\"");
  const std::string cert = write("c.pem", "x");
  EXPECT_EQ(fileError("[server]\ntls_cert = \"" + cert + "\"\ntls_key = \"/nonexistent.key\"\n"),
            "server.tls_key: no such file \"/nonexistent.key\"");
  EXPECT_EQ(fileError("[collector]\ntls = true\ntls_cert = \"/nonexistent.pem\"\n"
                      "tls_key = \"" +
                      cert + "\"\n"),
            "collector.tls_cert: no such file \"/nonexistent.pem\"");
  EXPECT_EQ(fileError("[collector]\ntls = true\ntls_cert = \"" + cert + "\"\ntls_key = \"" + dir_ +
                      "\"\n"),
            "collector.tls_key: \"" + dir_ + "\" is a folder, not a file");
  EXPECT_TRUE(loadConfigFile(write("ok.toml", "[server]\ntls_cert = \"" + cert +
                                                  "\"\ntls_key = \"" + cert + "\"\n"))
                  .isOk());
}

TEST(ConfigValidate, HostChecksOnStructs) {
  EXPECT_TRUE(validateConfigOnHost(Config{}).isOk());
  Config c;
  c.server.listeners[0].site = "/nonexistent";
  const Status st = validateConfigOnHost(c);
  EXPECT_EQ(st.message(),
            "server.listener.site: no such folder \"/nonexistent\" (the listener on port 8080)");
}

}  // namespace
}  // namespace drosera::core
