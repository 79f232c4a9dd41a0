// Unit tests for the MISP vocabulary (src/intel/catalog.h) loaded from the shipped data.
#include "intel/catalog.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "intel/misp_model.h"
#include "misp_checks.h"
#include "temp_dir.h"

namespace drosera::intel {
namespace {

TEST(CatalogTest, LoadsTaxonomiesGalaxyTemplatesAndMapping) {
  auto c = MispCatalog::load(testutil::mispDataDir());
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_TRUE(c->tagExists("tlp:clear"));
  EXPECT_TRUE(c->tagExists("tlp:amber"));
  EXPECT_TRUE(c->tagExists("PAP:GREEN"));
  EXPECT_TRUE(c->tagExists("honeypot-basic:interaction-level=\"low\""));
  EXPECT_TRUE(c->tagExists("rsit:intrusion-attempts=\"exploit\""));
  EXPECT_TRUE(c->tagExists(
      "misp-galaxy:mitre-attack-pattern=\"Exploit Public-Facing Application - T1190\""));
  EXPECT_FALSE(c->tagExists("tlp:purple"));
  EXPECT_FALSE(c->tagExists("rsit:intrusion-attempts"));  // a predicate with values is no tag
  EXPECT_FALSE(c->tagExists("HoneytrapEvent"));           // the seed system's only tag
  EXPECT_EQ(c->tagColour("PAP:RED"), "#ff2b2b");
  EXPECT_EQ(c->tagColour("misp-galaxy:mitre-attack-pattern=\"Active Scanning - T1595\""),
            "#ffffff");
  const ObjectTemplate* t = c->objectTemplate("http-request");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->uuid, "b4a8d163-8110-4239-bfcf-e08f3a9fdf7b");
  EXPECT_EQ(t->version, 4);
  EXPECT_EQ(t->relations.at("method").type, "http-method");
  EXPECT_TRUE(t->relations.at("method").disable_correlation);
  EXPECT_EQ(t->required_one_of, (std::vector<std::string>{"url", "uri"}));
  EXPECT_EQ(c->crsTags("attack-sqli").size(), 3u);
  EXPECT_TRUE(c->crsTags("attack-nonsense").empty());
  EXPECT_EQ(c->crsMapping().count("_honeypot_local_detections"), 0u);
}

TEST(CatalogTest, EveryTagTheModelCanEmitExistsInTheOracle) {
  auto c = MispCatalog::load(testutil::mispDataDir());
  ASSERT_TRUE(c.isOk());
  ModelOptions o;
  o.honeypot_tags = {"honeypot-basic:role=\"server\""};
  const auto& rules = testutil::MispRules::get();
  for (const auto& t : possibleTags(o, *c)) {
    EXPECT_TRUE(rules.tagExists(t)) << t;
    EXPECT_TRUE(c->tagExists(t)) << t;
  }
  for (const char* kind : {"fake_port", "robots", "comment", "hidden_field", "cookie",
                           "sensitive_file", "admin_login", "honeytoken"}) {
    EXPECT_FALSE(trapTags(kind).empty()) << kind;
  }
}

std::string sha256Hex(const std::string& bytes) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), d, &n, EVP_sha256(), nullptr), 1);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

// The shipped MISP data are verbatim upstream copies (data/misp/README.md): the oracle of these
// tests trusts them, so a file edited (or added) without updating SHA256SUMS fails here.
TEST(CatalogTest, ShippedDataAreTheListedUpstreamCopies) {
  namespace fs = std::filesystem;
  const std::string dir = testutil::mispDataDir();
  std::istringstream sums(testutil::readFile(dir + "/SHA256SUMS"));
  std::set<std::string> listed;
  for (std::string line; std::getline(sums, line);) {
    ASSERT_GT(line.size(), 66u) << line;
    const std::string want = line.substr(0, 64);
    const std::string name = line.substr(66);
    listed.insert(name);
    EXPECT_EQ(sha256Hex(testutil::readFile(dir + "/" + name)), want) << name;
  }
  EXPECT_GT(listed.size(), 60u);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    if (rel == "README.md" || rel == "SHA256SUMS") continue;
    EXPECT_TRUE(listed.count(rel)) << rel << " is not in data/misp/SHA256SUMS";
  }
}

TEST(CatalogTest, MissingFolderOrFilesAreErrors) {
  EXPECT_FALSE(MispCatalog::load("/nonexistent/misp").isOk());
  testutil::TempDir dir;
  testutil::writeFile(dir.file("taxonomies/x.machinetag.json"), "{ broken");
  auto c = MispCatalog::load(dir.path());
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("x.machinetag.json"), std::string::npos);
}

}  // namespace
}  // namespace drosera::intel
