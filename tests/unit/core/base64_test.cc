// Base64: RFC 4648 vectors, lossless round trips of arbitrary bytes, the lenient decoder
// (URL-safe alphabet, optional padding, whitespace) and rejection of other bytes.
#include "core/base64.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace drosera::core {
namespace {

const std::vector<std::pair<std::string, std::string>> kRfc4648 = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    EXPECT_EQ(base64Encode(plain), encoded) << plain;
  }
}

TEST(Base64, DecodesRfc4648Vectors) {
  for (const auto& [plain, encoded] : kRfc4648) {
    auto d = base64Decode(encoded);
    ASSERT_TRUE(d.has_value()) << encoded;
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string enc = base64Encode(all);
  EXPECT_EQ(enc.size(), (all.size() + 2) / 3 * 4);
  auto dec = base64Decode(enc);
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(*dec, all);
}

TEST(Base64, RandomBytesRoundTripAtEveryLength) {
  std::mt19937 rng(20261130);
  for (size_t len = 0; len < 200; ++len) {
    std::string in(len, '\0');
    for (auto& c : in) c = static_cast<char>(rng() & 0xFF);
    const std::string enc = base64Encode(in);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(enc.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
              std::string::npos)
        << enc;
    auto dec = base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << len;
    EXPECT_EQ(*dec, in) << len;
  }
}

TEST(Base64, PaddingIsOptional) {
  EXPECT_EQ(base64Decode("Zg").value_or("?"), "f");
  EXPECT_EQ(base64Decode("Zm8").value_or("?"), "fo");
  EXPECT_EQ(base64Decode("Zm9vYmE").value_or("?"), "fooba");
}

TEST(Base64, UrlSafeAlphabetDecodes) {
  // fb ef be encodes to "++++" and ff ff ff to "////"; URL-safe: "----" and "____".
  const std::string bytes("\xfb\xef\xbe\xff\xff\xff", 6);
  const std::string std_enc = base64Encode(bytes);
  EXPECT_EQ(std_enc, "++++////");
  std::string url = std_enc;
  for (auto& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  EXPECT_EQ(base64Decode(url).value_or("?"), bytes);
  EXPECT_EQ(base64Decode(std_enc).value_or("?"), bytes);
}

TEST(Base64, WhitespaceIsIgnored) {
  EXPECT_EQ(base64Decode(" Zm9v\r\nYmFy\t").value_or("?"), "foobar");
  EXPECT_EQ(base64Decode("Zm 9v Ym E=\n").value_or("?"), "fooba");
  EXPECT_EQ(base64Decode("Zg=\n=").value_or("?"), "f");
}

TEST(Base64, BasicCredentials) {
  EXPECT_EQ(base64Decode("YWRtaW46cGFzc3dvcmQ=").value_or("?"), "admin:password");
}

TEST(Base64, RejectsBytesOutsideTheAlphabets) {
  EXPECT_FALSE(base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(base64Decode("Zm9v.YmFy").has_value());
  EXPECT_FALSE(base64Decode(std::string("Zm\0v", 4)).has_value());
  EXPECT_FALSE(base64Decode("Zm9v\xc3\xa9").has_value());
  EXPECT_FALSE(base64Decode("\xff").has_value());
  EXPECT_FALSE(base64Decode("Zm9v\v").has_value());  // vertical tab is not skipped
}

TEST(Base64, RejectsDataAfterPadding) {
  EXPECT_FALSE(base64Decode("Zg==Zg==").has_value());
  EXPECT_FALSE(base64Decode("Zg=a").has_value());
  EXPECT_FALSE(base64Decode("=Zm9v").has_value());
}

TEST(Base64, EmptyAndWhitespaceOnlyDecodeToEmpty) {
  EXPECT_EQ(base64Decode("").value_or("?"), "");
  EXPECT_EQ(base64Decode(" \r\n\t").value_or("?"), "");
}

TEST(Base64, EncodeNeverUsesUrlSafeCharacters) {
  std::string all;
  for (int b = 255; b >= 0; --b) all += static_cast<char>(b);
  const std::string enc = base64Encode(all);
  EXPECT_EQ(enc.find_first_of("-_"), std::string::npos);
}

}  // namespace
}  // namespace drosera::core
