// The [misp] section of the TOML configuration (core/config_load.cc, keys in docs/misp.md):
// defaults, every key, errors that name file:line and the key, sensor groups as a table; and
// the lock that keeps two reporters of one data folder apart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "core/config_load.h"
#include "intel/misp_config.h"
#include "intel/reporter.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

// Every field, so that two configurations compare with a readable diff.
std::string dump(const MispConfig& c) {
  std::ostringstream o;
  const auto list = [&](const char* k, const std::vector<std::string>& v) {
    o << k << " [";
    for (const auto& s : v) o << "'" << s << "' ";
    o << "]\n";
  };
  o << "enabled " << c.enabled << " interval " << c.interval_s << " batch " << c.batch_size
    << "\nurl '" << c.url << "' env '" << c.api_key_env << "' file '" << c.api_key_file
    << "' verify " << c.verify_tls << " ca '" << c.ca_file << "' timeout " << c.timeout_s
    << " attempts " << c.retry_attempts << " backoff " << c.retry_backoff_s << "\nfeed '"
    << c.feed_dir << "' keep " << c.feed_keep_days << "\norg '" << c.org_name << "' '"
    << c.org_uuid << "' ns '" << c.namespace_uuid << "' dist " << c.distribution << " threat "
    << c.threat_level << " tlp '" << c.tlp << "' pap '" << c.pap << "'\n";
  list("honeypot_tags", c.honeypot_tags);
  list("event_tags", c.event_tags);
  for (const auto& g : c.sensor_groups) list(("group " + g.name).c_str(), g.sensors);
  o << "max " << c.max_requests_per_ip << " " << c.max_urls_per_ip << " " << c.max_ips_per_event
    << " unclassified " << c.report_unclassified << " creds " << c.share_credentials
    << " sighting " << c.sighting_interval_s << " close " << c.close_delay_s << "\ndata '"
    << c.misp_data_dir << "'\n";
  list("warninglist_dirs", c.warninglist_dirs);
  list("allowlist", c.allowlist);
  list("sensor_addresses", c.sensor_addresses);
  return o.str();
}

core::Config load(const std::string& text) {
  auto r = core::loadConfigString(text, "drosera.toml");
  EXPECT_TRUE(r.isOk()) << r.status().message() << "\nin:\n" << text;
  return r ? *r : core::Config{};
}

std::string loadError(const std::string& text) {
  auto r = core::loadConfigString(text, "drosera.toml");
  EXPECT_FALSE(r.isOk()) << "loaded although it should not:\n" << text;
  return r ? "" : r.status().message();
}

TEST(MispConfigTest, DefaultsAndTheDefaultFileAgree) {
  EXPECT_EQ(dump(load("").misp), dump(MispConfig{}));
  const std::string text = core::defaultConfigToml();
  EXPECT_THAT(text, ::testing::HasSubstr("\n[misp]\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("sensor_groups = {}"));
  EXPECT_EQ(dump(load(text).misp), dump(MispConfig{}));
  const MispConfig d;
  EXPECT_TRUE(d.enabled);  // drosera run keeps a local feed folder by default
  EXPECT_TRUE(d.url.empty());
  EXPECT_TRUE(d.verify_tls);
  EXPECT_FALSE(d.share_credentials);
  EXPECT_EQ(d.distribution, 0);
  EXPECT_TRUE(validateMispConfig(d).isOk());
}

TEST(MispConfigTest, EveryKeyIsRead) {
  const core::Config c = load(R"(
[misp]
enabled = false
interval_s = "2m"
batch_size = 50
url = "https://misp.example.org"
api_key_env = "MY_KEY"
api_key_file = "/etc/drosera/misp.key"
verify_tls = false
ca_file = "/etc/ssl/private-ca.pem"
timeout_s = 12
retry_attempts = 6
retry_backoff_s = 0.5
feed_dir = "/srv/misp-feed"
feed_keep_days = 0
org_name = "Example CERT"
org_uuid = "5f6e7d8c-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
namespace_uuid = "3f1c6c0e-8d7a-4a57-9d2b-6f0e1a2b3c4d"
distribution = 2
threat_level = 2
tlp = "tlp:clear"
pap = ""
honeypot_tags = ["honeypot-basic:role=\"server\""]
event_tags = ["circl:incident-classification=\"scan\""]
max_requests_per_ip = 5
max_urls_per_ip = 20
max_ips_per_event = 300
report_unclassified = true
share_credentials = true
sighting_interval_s = "30m"
close_delay_s = 0
misp_data_dir = "/opt/misp-data"
warninglist_dirs = ["/opt/misp-warninglists/lists", "/etc/drosera/lists"]
allowlist = ["198.18.0.0/15"]
sensor_addresses = ["203.0.113.10"]

[misp.sensor_groups]
web-fleet = ["hp-web-01", "hp-web-02"]
eu = ["hp-eu-1"]
)");
  const MispConfig& m = c.misp;
  EXPECT_FALSE(m.enabled);
  EXPECT_EQ(m.interval_s, 120);
  EXPECT_EQ(m.batch_size, 50u);
  EXPECT_EQ(m.url, "https://misp.example.org");
  EXPECT_EQ(m.api_key_env, "MY_KEY");
  EXPECT_EQ(m.api_key_file, "/etc/drosera/misp.key");
  EXPECT_FALSE(m.verify_tls);
  EXPECT_EQ(m.ca_file, "/etc/ssl/private-ca.pem");
  EXPECT_EQ(m.timeout_s, 12);
  EXPECT_EQ(m.retry_attempts, 6);
  EXPECT_EQ(m.retry_backoff_s, 0.5);
  EXPECT_EQ(m.feed_dir, "/srv/misp-feed");
  EXPECT_EQ(m.feed_keep_days, 0);
  EXPECT_EQ(m.org_name, "Example CERT");
  EXPECT_EQ(m.org_uuid, "5f6e7d8c-1b2a-4c3d-9e8f-0a1b2c3d4e5f");
  EXPECT_EQ(m.namespace_uuid, "3f1c6c0e-8d7a-4a57-9d2b-6f0e1a2b3c4d");
  EXPECT_EQ(m.distribution, 2);
  EXPECT_EQ(m.threat_level, 2);
  EXPECT_EQ(m.tlp, "tlp:clear");
  EXPECT_EQ(m.pap, "");
  EXPECT_EQ(m.honeypot_tags, std::vector<std::string>{"honeypot-basic:role=\"server\""});
  EXPECT_EQ(m.event_tags, std::vector<std::string>{"circl:incident-classification=\"scan\""});
  ASSERT_EQ(m.sensor_groups.size(), 2u);  // sorted by name
  EXPECT_EQ(m.sensor_groups[0].name, "eu");
  EXPECT_EQ(m.sensor_groups[1].name, "web-fleet");
  EXPECT_EQ(m.sensor_groups[1].sensors, (std::vector<std::string>{"hp-web-01", "hp-web-02"}));
  EXPECT_EQ(m.max_requests_per_ip, 5u);
  EXPECT_EQ(m.max_urls_per_ip, 20u);
  EXPECT_EQ(m.max_ips_per_event, 300u);
  EXPECT_TRUE(m.report_unclassified);
  EXPECT_TRUE(m.share_credentials);
  EXPECT_EQ(m.sighting_interval_s, 1800);
  EXPECT_EQ(m.close_delay_s, 0);
  EXPECT_EQ(m.misp_data_dir, "/opt/misp-data");
  EXPECT_EQ(m.warninglist_dirs.size(), 2u);
  EXPECT_EQ(m.allowlist, std::vector<std::string>{"198.18.0.0/15"});
  EXPECT_EQ(m.sensor_addresses, std::vector<std::string>{"203.0.113.10"});
  EXPECT_TRUE(validateMispConfig(m).isOk()) << validateMispConfig(m).message();
  // The inline-table form (as `drosera config default` writes the key) reads the same.
  const core::Config inline_form = load(
      "[misp]\nsensor_groups = {\"web-fleet\" = [\"hp-web-01\", \"hp-web-02\"], "
      "\"eu\" = [\"hp-eu-1\"]}\n");
  ASSERT_EQ(inline_form.misp.sensor_groups.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(inline_form.misp.sensor_groups[i].name, m.sensor_groups[i].name);
    EXPECT_EQ(inline_form.misp.sensor_groups[i].sensors, m.sensor_groups[i].sensors);
  }
}

TEST(MispConfigTest, ErrorsNameTheFileLineAndKey) {
  EXPECT_THAT(loadError("[misp]\n\ndistribution = 7\n"),
              ::testing::HasSubstr("drosera.toml:3: misp.distribution"));
  EXPECT_THAT(loadError("[misp]\nthreat_level = 0\n"),
              ::testing::HasSubstr("drosera.toml:2: misp.threat_level"));
  EXPECT_THAT(loadError("[misp]\nenabled = \"yes\"\n"),
              ::testing::HasSubstr("drosera.toml:2: misp.enabled"));
  EXPECT_THAT(loadError("[misp]\nretry_attempts = 50\n"),
              ::testing::HasSubstr("misp.retry_attempts"));
  EXPECT_THAT(loadError("[misp]\ninterval_s = 0\n"), ::testing::HasSubstr("misp.interval_s"));
  const std::string typo = loadError("[misp]\nurll = \"https://misp\"\n");
  EXPECT_THAT(typo, ::testing::HasSubstr("drosera.toml:2: unknown key 'misp.urll'"));
  EXPECT_THAT(typo, ::testing::HasSubstr("did you mean 'url'"));
  EXPECT_THAT(loadError("[misp]\nsensor_groups = [\"a\"]\n"),
              ::testing::HasSubstr("drosera.toml:2: misp.sensor_groups"));
  EXPECT_THAT(loadError("[misp.sensor_groups]\nfleet = \"hp-1\"\n"),
              ::testing::HasSubstr("group 'fleet'"));
  EXPECT_THAT(loadError("[misp]\nallowlist = \"10.0.0.0/8\"\n"),
              ::testing::HasSubstr("misp.allowlist"));
  // Values the MISP side judges are checked at load too (dcdb688), with the file and line, and
  // still by validateMispConfig for a configuration built in code.
  EXPECT_THAT(loadError("[misp]\nurl = \"http://misp.example.org\"\n"),
              ::testing::HasSubstr("drosera.toml:2: misp.url"));
  EXPECT_THAT(loadError("[misp]\norg_uuid = \"nope\"\n"),
              ::testing::HasSubstr("drosera.toml:2: misp.org_uuid"));
  core::MispConfig clear_text;
  clear_text.url = "http://misp.example.org";
  EXPECT_THAT(validateMispConfig(clear_text).message(), ::testing::HasSubstr("misp.url"));
  core::MispConfig bad_uuid;
  bad_uuid.org_uuid = "nope";
  EXPECT_THAT(validateMispConfig(bad_uuid).message(), ::testing::HasSubstr("misp.org_uuid"));
}

TEST(MispConfigTest, OneReporterPerDataFolder) {
  testutil::TempDir dir;
  testutil::FakeStore store;
  MispConfig c = testutil::baseConfig();
  ReporterOptions o;
  o.lock_path = dir.file("misp-reporter.lock");
  auto first = Reporter::create(c, dir.path(), &store, o);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  auto second = Reporter::create(c, dir.path(), &store, o);
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), core::Status::Code::kUnavailable);
  EXPECT_THAT(second.status().message(), ::testing::HasSubstr(o.lock_path));
  first->reset();  // the lock goes with the reporter
  auto third = Reporter::create(c, dir.path(), &store, o);
  EXPECT_TRUE(third.isOk()) << third.status().toString();
  // Without a lock path (tests, tools) nothing is locked.
  ReporterOptions none;
  EXPECT_TRUE(Reporter::create(c, dir.path(), &store, none).isOk());
}

}  // namespace
}  // namespace drosera::intel
