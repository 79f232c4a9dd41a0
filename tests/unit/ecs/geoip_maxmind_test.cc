// MaxMindGeoLookup on real MaxMind DB files, written here by a small encoder of the format
// (search tree, data section, metadata) for a few IPv4 networks, so the test needs no download.
#include "ecs/geoip_maxmind.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace drosera::ecs {
namespace {

// Encoder of MaxMind DB data fields (big-endian; extended types after a zero type).
class Enc {
 public:
  std::string out;
  void str(const std::string& s) {
    ctrl(2, s.size());
    out += s;
  }
  void dbl(double d) {
    ctrl(3, 8);
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
  }
  void u16(uint64_t v) { uint(5, v); }
  void u32(uint64_t v) { uint(6, v); }
  void u64(uint64_t v) { uint(9, v); }
  void map(size_t pairs) { ctrl(7, pairs); }
  void arr(size_t items) { ctrl(11, items); }

 private:
  void uint(int type, uint64_t v) {
    std::string bytes;
    while (v > 0) {
      bytes.insert(bytes.begin(), static_cast<char>(v & 0xFF));
      v >>= 8;
    }
    ctrl(type, bytes.size());
    out += bytes;
  }
  void ctrl(int type, size_t size) {
    std::string extra;
    unsigned sz = static_cast<unsigned>(size);
    if (size >= 29) {
      sz = 29;
      extra += static_cast<char>(size - 29);  // sizes below 285 only
    }
    if (type <= 7) {
      out += static_cast<char>((type << 5) | sz);
    } else {
      out += static_cast<char>(sz);
      out += static_cast<char>(type - 7);
    }
    out += extra;
  }
};

struct Network {
  uint32_t addr;
  int prefix;
  std::string data;  // one encoded value
};

// An IPv4 database (record size 24) mapping each network to its data.
std::string buildDb(const std::vector<Network>& nets, const std::string& type) {
  struct Rec {
    int kind = 0;  // 0 empty, 1 node, 2 data
    uint64_t v = 0;
  };
  std::vector<std::array<Rec, 2>> nodes(1);
  std::string data;
  for (const auto& n : nets) {
    const uint64_t offset = data.size();
    data += n.data;
    size_t node = 0;
    for (int i = 0; i < n.prefix; ++i) {
      const int b = (n.addr >> (31 - i)) & 1;
      if (i == n.prefix - 1) {
        nodes[node][b] = Rec{2, offset};
      } else {
        if (nodes[node][b].kind != 1) {
          nodes[node][b] = Rec{1, nodes.size()};
          nodes.push_back({});
        }
        node = nodes[node][b].v;
      }
    }
  }
  const uint64_t count = nodes.size();
  std::string file;
  for (const auto& nd : nodes) {
    for (const auto& r : nd) {
      const uint64_t v = r.kind == 0 ? count : r.kind == 1 ? r.v : count + 16 + r.v;
      file += static_cast<char>((v >> 16) & 0xFF);
      file += static_cast<char>((v >> 8) & 0xFF);
      file += static_cast<char>(v & 0xFF);
    }
  }
  file += std::string(16, '\0');
  file += data;
  file += "\xAB\xCD\xEFMaxMind.com";
  Enc m;
  m.map(9);
  m.str("binary_format_major_version");
  m.u16(2);
  m.str("binary_format_minor_version");
  m.u16(0);
  m.str("build_epoch");
  m.u64(1795874400);
  m.str("database_type");
  m.str(type);
  m.str("description");
  m.map(1);
  m.str("en");
  m.str("drosera test database");
  m.str("ip_version");
  m.u16(4);
  m.str("languages");
  m.arr(1);
  m.str("en");
  m.str("node_count");
  m.u32(count);
  m.str("record_size");
  m.u16(24);
  return file + m.out;
}

std::string names(Enc& e, const std::string& en) {
  e.str("names");
  e.map(1);
  e.str("en");
  e.str(en);
  return {};
}

std::string cityRecord() {
  Enc e;
  e.map(6);
  e.str("city");
  e.map(1);
  names(e, "Paris");
  e.str("continent");
  e.map(2);
  e.str("code");
  e.str("EU");
  names(e, "Europe");
  e.str("country");
  e.map(2);
  e.str("iso_code");
  e.str("FR");
  names(e, "France");
  e.str("location");
  e.map(3);
  e.str("latitude");
  e.dbl(48.8566);
  e.str("longitude");
  e.dbl(2.3522);
  e.str("time_zone");
  e.str("Europe/Paris");
  e.str("postal");
  e.map(1);
  e.str("code");
  e.str("75001");
  e.str("subdivisions");
  e.arr(1);
  e.map(2);
  e.str("iso_code");
  e.str("IDF");
  names(e, "Ile-de-France");
  return e.out;
}

std::string countryOnlyRecord() {
  Enc e;
  e.map(1);
  e.str("country");
  e.map(1);
  e.str("iso_code");
  e.str("DE");
  return e.out;
}

std::string asnRecord(uint32_t n, const std::string& org) {
  Enc e;
  e.map(2);
  e.str("autonomous_system_number");
  e.u32(n);
  e.str("autonomous_system_organization");
  e.str(org);
  return e.out;
}

// A file in the test's temporary folder, removed when the test ends.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& bytes)
      : path_(::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name) {
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr uint32_t ip(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

TEST(MaxMindGeoLookup, ReadsCityAndAsnDatabases) {
  const TempFile city("drosera-city.mmdb", buildDb({{ip(203, 0, 113, 0), 24, cityRecord()},
                                                    {ip(198, 51, 100, 0), 24, countryOnlyRecord()}},
                                                   "GeoLite2-City"));
  const TempFile asn(
      "drosera-asn.mmdb",
      buildDb({{ip(203, 0, 113, 0), 25, asnRecord(64496, "Example Transit")}}, "GeoLite2-ASN"));
  auto geo = MaxMindGeoLookup::open(city.path(), asn.path());
  ASSERT_TRUE(geo) << geo.status().toString();

  GeoInfo g;
  ASSERT_TRUE((*geo)->lookup("203.0.113.7", g));
  EXPECT_EQ(g.city_name, "Paris");
  EXPECT_EQ(g.continent_code, "EU");
  EXPECT_EQ(g.continent_name, "Europe");
  EXPECT_EQ(g.country_iso_code, "FR");
  EXPECT_EQ(g.country_name, "France");
  EXPECT_EQ(g.region_iso_code, "FR-IDF");
  EXPECT_EQ(g.region_name, "Ile-de-France");
  EXPECT_EQ(g.postal_code, "75001");
  EXPECT_EQ(g.timezone, "Europe/Paris");
  ASSERT_TRUE(g.lat && g.lon);
  EXPECT_DOUBLE_EQ(*g.lat, 48.8566);
  EXPECT_DOUBLE_EQ(*g.lon, 2.3522);
  EXPECT_EQ(g.as_number, 64496u);
  EXPECT_EQ(g.as_organization, "Example Transit");

  GeoInfo upper;  // in the city network, outside the ASN /25
  ASSERT_TRUE((*geo)->lookup("203.0.113.200", upper));
  EXPECT_EQ(upper.city_name, "Paris");
  EXPECT_EQ(upper.as_number, 0u);

  GeoInfo de;
  ASSERT_TRUE((*geo)->lookup("198.51.100.1", de));
  EXPECT_EQ(de.country_iso_code, "DE");
  EXPECT_FALSE(de.lat.has_value());
  EXPECT_TRUE(de.city_name.empty());

  GeoInfo none;
  EXPECT_FALSE((*geo)->lookup("192.0.2.1", none));
  EXPECT_FALSE((*geo)->lookup("2001:db8::1", none));  // an IPv4-only database
  EXPECT_FALSE((*geo)->lookup("not an address", none));
  EXPECT_FALSE((*geo)->lookup(std::string("203.0.113.7\0x", 13), none));
  EXPECT_FALSE((*geo)->lookup("", none));
}

TEST(MaxMindGeoLookup, BadDatabasesAreConfigurationErrors) {
  EXPECT_FALSE(MaxMindGeoLookup::open("", ""));
  EXPECT_FALSE(MaxMindGeoLookup::open("/nonexistent/GeoLite2-City.mmdb", ""));
  const TempFile junk("drosera-junk.mmdb", "this is not a MaxMind database");
  auto r = MaxMindGeoLookup::open(junk.path(), "");
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().message().find(junk.path()), std::string::npos);
  // One database is enough.
  const TempFile asn(
      "drosera-asn-only.mmdb",
      buildDb({{ip(203, 0, 113, 0), 24, asnRecord(13335, "Example CDN")}}, "GeoLite2-ASN"));
  auto only = MaxMindGeoLookup::open("", asn.path());
  ASSERT_TRUE(only);
  GeoInfo g;
  ASSERT_TRUE((*only)->lookup("203.0.113.9", g));
  EXPECT_EQ(g.as_number, 13335u);
  EXPECT_FALSE(g.hasGeo());
}

}  // namespace
}  // namespace drosera::ecs
