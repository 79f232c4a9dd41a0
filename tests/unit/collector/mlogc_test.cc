// The headers of an mlogc upload: X-Content-Hash against the body, in the spellings a sender may
// use.
#include "collector/mlogc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace drosera::collector {
namespace {

std::vector<core::Header> hashHeader(const std::string& value) {
  return {{"X-Content-Hash", value}};
}

TEST(MlogcContentHash, PrefixAndHexInAnyCase) {
  const std::string body = "--5f965d5b-A--\n";
  const std::string hex = md5Hex(body);
  std::string upper = hex;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  EXPECT_TRUE(mlogcContentHashMatches(hashHeader("md5:" + hex), body));
  EXPECT_TRUE(mlogcContentHashMatches(hashHeader(hex), body));
  EXPECT_TRUE(mlogcContentHashMatches(hashHeader("md5:" + upper), body));
  EXPECT_TRUE(mlogcContentHashMatches(hashHeader("MD5:" + upper), body));
  EXPECT_TRUE(mlogcContentHashMatches(hashHeader("Md5:" + hex + " rest of the index line"), body));
  EXPECT_TRUE(mlogcContentHashMatches({}, body));  // no header: nothing to check
}

TEST(MlogcContentHash, AnythingElseIsRefused) {
  const std::string body = "--5f965d5b-A--\n";
  const std::string hex = md5Hex(body);
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader(""), body));
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader("md5:"), body));
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader("MD5:"), body));
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader("sha1:" + hex), body));
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader("md5:md5:" + hex), body));
  EXPECT_FALSE(mlogcContentHashMatches(hashHeader("md5:" + md5Hex("other")), body));
}

}  // namespace
}  // namespace drosera::collector
