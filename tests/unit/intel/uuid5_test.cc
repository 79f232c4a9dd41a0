// Unit tests for UUIDv5 (src/intel/uuid5.h): RFC 4122 vectors (the same values Python's
// uuid.uuid5 gives), parsing and formatting.
#include "intel/uuid5.h"

#include <gtest/gtest.h>

#include <set>

namespace drosera::intel {
namespace {

constexpr const char* kDns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
constexpr const char* kUrl = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

TEST(Uuid5Test, KnownVectors) {
  EXPECT_EQ(uuid5(kDns, "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(uuid5(kUrl, "https://drosera.invalid/"), "2ef2216c-c4d2-5dc1-a94b-22c87bbdd154");
  EXPECT_EQ(uuid5("5f6e7d8c-1b2a-4c3d-9e8f-0a1b2c3d4e5f", "hp-web-01|2025-03-14"),
            "08429762-d82f-5712-a7f3-36b1a54a687c");
}

TEST(Uuid5Test, NamespaceCaseDoesNotMatter) {
  EXPECT_EQ(uuid5("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "python.org"), uuid5(kDns, "python.org"));
}

TEST(Uuid5Test, VersionAndVariantBits) {
  const std::string u = uuid5(kDns, "anything");
  EXPECT_EQ(u[14], '5');
  EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
  EXPECT_TRUE(isUuid(u));
}

TEST(Uuid5Test, DistinctNamesDistinctUuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(uuid5(kDns, "n" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid5Test, ParseRejectsMalformed) {
  EXPECT_FALSE(isUuid(""));
  EXPECT_FALSE(isUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c"));    // short
  EXPECT_FALSE(isUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8a"));  // long
  EXPECT_FALSE(isUuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8"));   // separator
  EXPECT_FALSE(isUuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg"));   // not hex
  EXPECT_TRUE(isUuid(kDns));
  auto b = parseUuid(kDns);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(formatUuid(*b), kDns);
}

TEST(Uuid5Test, RandomUuidsAreVersion4AndDifferent) {
  const std::string a = randomUuid();
  const std::string b = randomUuid();
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(isUuid(a));
}

}  // namespace
}  // namespace drosera::intel
