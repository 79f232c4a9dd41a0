#include "core/printable.h"

#include <gtest/gtest.h>

namespace drosera::core {
namespace {

TEST(PrintableTest, TextAndUtf8StayAsTheyAre) {
  EXPECT_EQ(printable("GET /index.php?id=1' OR 1=1 -- caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x9D"),
            "GET /index.php?id=1' OR 1=1 -- caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x9D");
  EXPECT_EQ(printable(""), "");
}

TEST(PrintableTest, ALineCannotBeForgedNorTheTerminalDriven) {
  EXPECT_EQ(printable("x'\n2026-01-01T00:00:00.000 info fake"),
            "x'\\x0a2026-01-01T00:00:00.000 info fake");
  EXPECT_EQ(printable("\r\x1b[2J\x1b]0;owned\x07\x7f"), "\\x0d\\x1b[2J\\x1b]0;owned\\x07\\x7f");
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
  // C1 controls as UTF-8 (CSI is U+009B), and the backslash so that escapes are unambiguous.
  EXPECT_EQ(printable("\xC2\x9B" "31m \xC2\xA0 \\x41"), "\\xc2\\x9b31m \xC2\xA0 \\x5cx41");
}

TEST(PrintableTest, BytesThatAreNotUtf8AreEscapedOneByOne) {
  EXPECT_EQ(printable("\xFF\xC3"), "\\xff\\xc3");                // invalid, truncated
  EXPECT_EQ(printable("\xC0\xAF"), "\\xc0\\xaf");                // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xed\\xa0\\x80");       // a surrogate
  EXPECT_EQ(printable("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xE2\x82"), "\\xe2\\x82");                // cut short
}

}  // namespace
}  // namespace drosera::core
