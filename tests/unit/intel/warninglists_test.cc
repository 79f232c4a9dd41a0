// Unit tests for warninglists (src/intel/warninglists.h): the shipped MISP lists, each list
// type, matching_attributes, URL hosts, limits and malformed files.
#include "intel/warninglists.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "misp_checks.h"
#include "temp_dir.h"

namespace drosera::intel {
namespace {

using testutil::TempDir;
using testutil::writeFile;

std::string shippedLists() { return testutil::mispDataDir() + "/warninglists"; }

TEST(WarninglistsTest, LoadsEveryShippedList) {
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(shippedLists()).isOk());
  EXPECT_EQ(w.lists(), 27u);  // every *.list.json; schema.json is not a list
  EXPECT_GT(w.entries(), 2500u);
}

TEST(WarninglistsTest, BogonsAndScannersAreListed) {
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(shippedLists()).isOk());
  const std::pair<const char*, const char*> listed[] = {
      {"10.1.2.3", "rfc1918"},      {"172.31.255.255", "rfc1918"},
      {"192.168.0.1", "any"},       {"127.0.0.1", "rfc5735"},
      {"203.0.113.45", "rfc5735"},  {"198.51.100.77", "rfc5735"},
      {"192.0.2.10", "rfc5735"},    {"100.64.1.1", "rfc6598"},
      {"224.0.0.251", "multicast"}, {"2001:db8::1", "rfc3849"},
      {"fe80::1", "link-local"},    {"162.142.125.7", "censys"},
      {"66.240.192.138", "shodan"}, {"::ffff:10.0.0.1", "mapped rfc1918"}};
  for (const auto& [ip, why] : listed) {
    EXPECT_TRUE(w.match("ip-src", ip).has_value()) << ip << " (" << why << ")";
  }
  for (const char* ip : {"8.8.8.8", "45.33.32.156", "2a00:1450:4001:80b::200e", "185.220.101.34"}) {
    EXPECT_FALSE(w.match("ip-src", ip).has_value()) << ip << ": " << *w.match("ip-src", ip);
  }
}

TEST(WarninglistsTest, EveryEntryOfEveryCidrListMatchesItself) {
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(shippedLists()).isOk());
  for (const auto& f : std::filesystem::directory_iterator(shippedLists())) {
    if (f.path().filename() == "schema.json") continue;
    auto j = testutil::readJsonFile(f.path().string());
    if (j["type"] != "cidr") continue;
    for (const auto& e : j["list"]) {
      std::string first = e.get<std::string>();
      first = first.substr(0, first.find('/'));
      EXPECT_TRUE(w.match("ip-src", first).has_value()) << f.path() << " " << first;
    }
  }
}

TEST(WarninglistsTest, MatchingAttributesLimitTheList) {
  Warninglists w;
  ASSERT_TRUE(w.addList("src only", "cidr", {"ip-src"}, {"45.33.32.0/24"}, true).isOk());
  EXPECT_TRUE(w.match("ip-src", "45.33.32.156").has_value());
  EXPECT_FALSE(w.match("ip-dst", "45.33.32.156").has_value());
  ASSERT_TRUE(w.addList("all", "cidr", {}, {"2001:db8:1::/48"}, true).isOk());
  EXPECT_TRUE(w.match("ip-dst", "2001:db8:1::9").has_value());
}

TEST(WarninglistsTest, StringSubstringHostnameAndRegexLists) {
  Warninglists w;
  ASSERT_TRUE(w.addList("hosts", "hostname", {"hostname", "domain", "url"}, {".example.org"}, false)
                  .isOk());
  ASSERT_TRUE(w.addList("exact", "string", {"url"}, {"http://good.test/x"}, false).isOk());
  ASSERT_TRUE(w.addList("sub", "substring", {"user-agent"}, {"Googlebot"}, false).isOk());
  ASSERT_TRUE(w.addList("re", "regex", {"url"}, {"/^https?://cdn[0-9]+\\.test/i"}, false).isOk());
  EXPECT_TRUE(w.match("hostname", "www.example.org").has_value());
  EXPECT_TRUE(w.match("hostname", "example.org").has_value());
  EXPECT_FALSE(w.match("hostname", "badexample.org").has_value());
  EXPECT_TRUE(w.match("url", "http://a.example.org/x.sh").has_value());  // by its host
  EXPECT_TRUE(w.match("url", "http://good.test/x").has_value());
  EXPECT_FALSE(w.match("url", "http://good.test/y").has_value());
  EXPECT_TRUE(w.match("user-agent", "Mozilla/5.0 (compatible; googlebot/2.1)").has_value());
  EXPECT_TRUE(w.match("url", "https://CDN12.test/a").has_value());
  EXPECT_FALSE(w.match("url", "https://cdnx.test/a").has_value());
}

TEST(WarninglistsTest, UrlWithAnIpHostUsesTheCidrLists) {
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(shippedLists()).isOk());
  EXPECT_TRUE(w.match("url", "http://192.168.1.5/shell.txt").has_value());
  EXPECT_TRUE(w.match("url", "http://[2001:db8::7]:8080/x").has_value());
  EXPECT_FALSE(w.match("url", "http://45.33.32.156/bins/x86.sh").has_value());
}

TEST(WarninglistsTest, UrlHost) {
  EXPECT_EQ(urlHost("http://user:pw@Host.Example:8080/x?y#z"), "host.example");
  EXPECT_EQ(urlHost("https://[2001:DB8::1]:443/"), "2001:db8::1");
  EXPECT_EQ(urlHost("ftp://1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(urlHost("/relative"), "");
}

// Built in, whatever lists are loaded: each class of address that cannot be an attacker's.
TEST(WarninglistsTest, NonGlobalAddressesAreKnownWithoutAnyList) {
  // IPv4: this network, private, CGNAT, loopback, link-local, IETF assignments, documentation,
  // benchmarking, multicast, reserved and broadcast. IPv6: unspecified, loopback, IPv4-mapped
  // private and loopback, IPv4-compatible, NAT64 of a private address, local-use NAT64,
  // discard-only, documentation (two), benchmarking, 6to4 of 10.0.0.1, unique local,
  // link-local, site-local, multicast.
  const char* const non_global[] = {"0.0.0.0",
                                    "0.1.2.3",
                                    "10.1.2.3",
                                    "100.64.0.1",
                                    "100.127.255.254",
                                    "127.0.0.1",
                                    "169.254.169.254",
                                    "172.16.0.1",
                                    "172.31.255.255",
                                    "192.0.0.8",
                                    "192.0.2.1",
                                    "192.168.1.1",
                                    "198.18.0.1",
                                    "198.19.255.255",
                                    "198.51.100.7",
                                    "203.0.113.45",
                                    "224.0.0.1",
                                    "239.255.255.250",
                                    "240.0.0.1",
                                    "255.255.255.255",
                                    "::",
                                    "::1",
                                    "::ffff:10.0.0.1",
                                    "::ffff:127.0.0.1",
                                    "::a00:1",
                                    "64:ff9b::a00:1",
                                    "64:ff9b:1::1",
                                    "100::1",
                                    "2001:db8::1",
                                    "3fff::1",
                                    "2001:2::1",
                                    "2002:a00:1::1",
                                    "fc00::1",
                                    "fd00::1234",
                                    "fe80::1",
                                    "febf::1",
                                    "fec0::1",
                                    "ff02::1",
                                    "ff0e::1"};
  for (const char* ip : non_global) {
    EXPECT_TRUE(isNonGlobalAddress(ip)) << ip;
  }
  for (const char* ip :
       {"45.33.32.156", "8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.15.255.255",
        "172.32.0.1", "192.0.3.1", "198.20.0.1", "223.255.255.255", "::ffff:45.33.32.156",
        "64:ff9b::2d21:209c", "2002:2d21:209c::1", "2a02:c207:2030:1234::1", "2001:4860:4860::8888",
        "2600::1", "3ffe:ffff::1"}) {
    EXPECT_FALSE(isNonGlobalAddress(ip)) << ip;
  }
  EXPECT_FALSE(isNonGlobalAddress("not an address"));
  EXPECT_FALSE(isNonGlobalAddress(""));
}

TEST(WarninglistsTest, StrictListsRefuseBadEntries) {
  Warninglists w;
  EXPECT_FALSE(w.addList("allowlist", "cidr", {}, {"10.0.0.0/33"}, true).isOk());
  EXPECT_FALSE(w.addList("allowlist", "cidr", {}, {"not-an-ip"}, true).isOk());
  EXPECT_TRUE(w.addList("lenient", "cidr", {}, {"not-an-ip", "10.0.0.0/8"}, false).isOk());
  EXPECT_EQ(w.skippedEntries(), 1u);
  EXPECT_FALSE(w.addList("x", "bogus-type", {}, {}, false).isOk());
}

TEST(WarninglistsTest, MalformedFilesAreErrorsNamingTheFile) {
  TempDir dir;
  writeFile(dir.file("ok.json"),
            R"({"name":"ok","type":"cidr","description":"d","version":1,"list":["1.2.3.0/24"]})");
  writeFile(dir.file("schema.json"), R"({"not":"a list"})");  // skipped by name
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(dir.path()).isOk());
  EXPECT_EQ(w.lists(), 1u);
  writeFile(dir.file("broken.json"), "{ nope");
  Warninglists w2;
  core::Status s = w2.loadDirectory(dir.path());
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("broken.json"), std::string::npos);
  writeFile(dir.file("broken.json"), R"({"name":"x","type":"cidr"})");
  Warninglists w3;
  s = w3.loadDirectory(dir.path());
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("not a warninglist"), std::string::npos);
}

TEST(WarninglistsTest, ReadsTheUpstreamRepositoryLayout) {
  // misp-warninglists/lists/<name>/list.json, beside flat files; other sub-folders are ignored.
  TempDir dir;
  writeFile(dir.file("bogons/list.json"),
            R"({"name":"b","type":"cidr","description":"d","version":1,"list":["5.6.0.0/16"]})");
  writeFile(dir.file("flat.list.json"),
            R"({"name":"f","type":"cidr","description":"d","version":1,"list":["7.7.7.7"]})");
  writeFile(dir.file("empty/README.md"), "no list here");
  Warninglists w;
  ASSERT_TRUE(w.loadDirectory(dir.path()).isOk());
  EXPECT_EQ(w.lists(), 2u);
  EXPECT_EQ(w.match("ip-src", "5.6.7.8"), std::optional<std::string>("b"));
  EXPECT_EQ(w.match("ip-src", "7.7.7.7"), std::optional<std::string>("f"));
  EXPECT_FALSE(w.match("ip-src", "5.7.0.1").has_value());
}

TEST(WarninglistsTest, LimitsAreEnforced) {
  TempDir dir;
  writeFile(
      dir.file("a.json"),
      R"({"name":"a","type":"cidr","description":"d","version":1,"list":["1.0.0.0/8","2.0.0.0/8","3.0.0.0/8"]})");
  Warninglists w;
  WarninglistLimits small;
  small.max_entries = 2;
  EXPECT_FALSE(w.loadDirectory(dir.path(), small).isOk());
  WarninglistLimits tiny_file;
  tiny_file.max_file_bytes = 10;
  Warninglists w2;
  EXPECT_FALSE(w2.loadDirectory(dir.path(), tiny_file).isOk());
  Warninglists w3;
  EXPECT_FALSE(w3.loadDirectory(dir.file("missing")).isOk());
}

TEST(WarninglistsTest, OverlappingRangesMerge) {
  Warninglists w;
  ASSERT_TRUE(
      w.addList("o", "cidr", {}, {"10.0.0.0/16", "10.0.128.0/17", "10.0.0.5", "11.0.0.0/8"}, true)
          .isOk());
  EXPECT_TRUE(w.match("ip-src", "10.0.255.255").has_value());
  EXPECT_TRUE(w.match("ip-src", "11.255.0.1").has_value());
  EXPECT_FALSE(w.match("ip-src", "10.1.0.0").has_value());
  EXPECT_FALSE(w.match("ip-src", "9.255.255.255").has_value());
}

}  // namespace
}  // namespace drosera::intel
