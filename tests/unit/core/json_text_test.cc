// JSON text: whatever bytes an attacker sends, appendJsonString yields a valid JSON string that
// is itself valid UTF-8, keeps valid UTF-8 as it is, and reads invalid bytes as Latin-1.
// JsonWriter keeps commas right. nlohmann::json is the independent judge of validity.
#include "core/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace drosera::core {
namespace {

using nlohmann::json;

// The UTF-8 encoding of code point U+00XX (what a JSON reader makes of "\u00XX").
std::string latin1(unsigned char b) {
  std::string out;
  if (b < 0x80) {
    out += static_cast<char>(b);
  } else {
    out += static_cast<char>(0xC0 | (b >> 6));
    out += static_cast<char>(0x80 | (b & 0x3F));
  }
  return out;
}

// Parses `text` as a JSON document holding one string; fails the test if it is not.
std::string parseString(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not valid JSON: " << e.what() << " in " << text;
    return "<invalid>";
  }
  if (!j.is_string()) {
    ADD_FAILURE() << "not a JSON string: " << text;
    return "<invalid>";
  }
  return j.get<std::string>();
}

TEST(JsonString, PlainAsciiIsQuotedUnchanged) {
  EXPECT_EQ(jsonString(""), "\"\"");
  EXPECT_EQ(jsonString("GET /index.html HTTP/1.1"), "\"GET /index.html HTTP/1.1\"");
  EXPECT_EQ(jsonString("' < > & / ~ {}"), "\"' < > & / ~ {}\"");
}

TEST(JsonString, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(jsonString("a\"b"), R"("a\"b")");
  EXPECT_EQ(jsonString("a\\b"), R"("a\\b")");
  EXPECT_EQ(jsonString("\\\""), R"("\\\"")");
  EXPECT_EQ(jsonString("\"}, \"injected\": 1, \"x\": \""),
            R"("\"}, \"injected\": 1, \"x\": \"")");
}

TEST(JsonString, ShortEscapesForNewlineReturnTab) {
  EXPECT_EQ(jsonString("a\nb\rc\td"), R"("a\nb\rc\td")");
}

TEST(JsonString, OtherControlCharactersAsU00XX) {
  EXPECT_EQ(jsonString(std::string("\0", 1)), R"("\u0000")");
  EXPECT_EQ(jsonString("\x01\x08\x0b\x0c\x1b\x1f"), R"("\u0001\u0008\u000b\u000c\u001b\u001f")");
}

TEST(JsonString, EveryControlByteIsEscapedNeverRaw) {
  for (int b = 0; b < 0x20; ++b) {
    const std::string out = jsonString(std::string(1, static_cast<char>(b)));
    for (size_t i = 1; i + 1 < out.size(); ++i) {
      EXPECT_GE(static_cast<unsigned char>(out[i]), 0x20) << "byte " << b << " -> " << out;
    }
    EXPECT_EQ(parseString(out), std::string(1, static_cast<char>(b)));
  }
}

TEST(JsonString, DeleteIsEscapedLikeTheOtherControlCharacters) {
  // Regression (found by this test, fixed): json_text.h promises "control characters as \u00XX" and appendJsonString has a branch
  // for 0x7F, but the ASCII fast path (c >= 0x20 && c < 0x80) copies DEL raw first, so that
  // branch is dead code. Valid JSON either way, but a raw DEL reaches the event log.
  EXPECT_EQ(jsonString("a\x7f" "b"), R"("a\u007fb")");
  EXPECT_EQ(parseString(jsonString("\x7f")), "\x7f");
}

TEST(JsonString, ValidUtf8IsKept) {
  const std::string s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b \xe4\xb8\xad";  // é € 🐛 中
  EXPECT_EQ(jsonString(s), "\"" + s + "\"");
  EXPECT_EQ(parseString(jsonString(s)), s);
  // Largest code points of each length.
  const std::string edges = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
  EXPECT_EQ(jsonString(edges), "\"" + edges + "\"");
}

TEST(JsonString, LineAndParagraphSeparatorsAreEscaped) {
  EXPECT_EQ(jsonString("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"), R"("a\u2028b\u2029c")");
  EXPECT_EQ(parseString(jsonString("\xe2\x80\xa8")), "\xe2\x80\xa8");
  // Neighbours are ordinary characters.
  EXPECT_EQ(jsonString("\xe2\x80\xa7\xe2\x80\xaa"), "\"\xe2\x80\xa7\xe2\x80\xaa\"");
}

TEST(JsonString, InvalidBytesAreReadAsLatin1) {
  EXPECT_EQ(jsonString("\xff"), R"("\u00ff")");
  EXPECT_EQ(jsonString("\x80"), R"("\u0080")");
  EXPECT_EQ(jsonString("a\xc3"), R"("a\u00c3")");                // truncated 2-byte sequence
  EXPECT_EQ(jsonString("\xe2\x82"), R"("\u00e2\u0082")");        // truncated 3-byte sequence
  EXPECT_EQ(jsonString("\xf0\x9f\x90"), R"("\u00f0\u009f\u0090")");
  EXPECT_EQ(jsonString("\xc3(x"), R"("\u00c3(x")");             // bad continuation
}

TEST(JsonString, OverlongsSurrogatesAndBeyondUnicodeAreEscaped) {
  EXPECT_EQ(jsonString("\xc0\xaf"), R"("\u00c0\u00af")");                 // overlong '/'
  EXPECT_EQ(jsonString("\xc1\xbf"), R"("\u00c1\u00bf")");
  EXPECT_EQ(jsonString("\xe0\x80\xaf"), R"("\u00e0\u0080\u00af")");       // overlong 3-byte
  EXPECT_EQ(jsonString("\xf0\x80\x80\xaf"), R"("\u00f0\u0080\u0080\u00af")");
  EXPECT_EQ(jsonString("\xed\xa0\x80"), R"("\u00ed\u00a0\u0080")");       // U+D800
  EXPECT_EQ(jsonString("\xed\xbf\xbf"), R"("\u00ed\u00bf\u00bf")");       // U+DFFF
  EXPECT_EQ(jsonString("\xf4\x90\x80\x80"), R"("\u00f4\u0090\u0080\u0080")");  // U+110000
  EXPECT_EQ(jsonString("\xf5\x80\x80\x80"), R"("\u00f5\u0080\u0080\u0080")");
  EXPECT_EQ(jsonString("\xf8\x88\x80\x80\x80"), R"("\u00f8\u0088\u0080\u0080\u0080")");
}

TEST(JsonString, EverySingleHighByteParsesToItsLatin1Reading) {
  for (int b = 0x80; b < 0x100; ++b) {
    const std::string out = jsonString(std::string(1, static_cast<char>(b)));
    EXPECT_EQ(parseString(out), latin1(static_cast<unsigned char>(b))) << b;
  }
}

TEST(JsonString, RandomHostileBytesAlwaysGiveValidJsonAndValidUtf8) {
  std::mt19937 rng(4242);
  // Weighted towards the interesting bytes.
  static const char kInteresting[] =
      "\"\\\n\r\t\x00\x01\x1f\x7f\x80\xbf\xc0\xc2\xdf\xe0\xe2\xed\xef\xf0\xf4\xf5\xff\xa8\xa9 a/";
  const std::string interesting(kInteresting, sizeof kInteresting - 1);
  for (int round = 0; round < 3000; ++round) {
    std::string in(rng() % 40, '\0');
    for (auto& c : in) {
      c = (rng() % 2) ? interesting[rng() % interesting.size()] : static_cast<char>(rng() & 0xFF);
    }
    const std::string out = jsonString(in);
    ASSERT_TRUE(isValidUtf8(out)) << "round " << round;
    EXPECT_EQ(out.find("\xe2\x80\xa8"), std::string::npos);
    EXPECT_EQ(out.find("\xe2\x80\xa9"), std::string::npos);
    for (unsigned char c : out) ASSERT_GE(c, 0x20) << "raw control byte, round " << round;
    const std::string back = parseString(out);
    if (isValidUtf8(in)) {
      EXPECT_EQ(back, in) << "round " << round;
    }
    EXPECT_TRUE(isValidUtf8(back));
  }
}

TEST(JsonString, AppendAddsToExistingText) {
  std::string out = "prefix:";
  appendJsonString(out, "x\"y");
  appendJsonString(out, "");
  EXPECT_EQ(out, R"(prefix:"x\"y""")");
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii\x01\x7f"));
  EXPECT_TRUE(isValidUtf8(std::string("\0", 1)));
  EXPECT_TRUE(isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x9b"));
  EXPECT_TRUE(isValidUtf8("\xef\xbf\xbf\xf4\x8f\xbf\xbf"));
  EXPECT_TRUE(isValidUtf8("\xee\x80\x80"));  // U+E000, just past the surrogates
  EXPECT_FALSE(isValidUtf8("\x80"));
  EXPECT_FALSE(isValidUtf8("\xc3"));
  EXPECT_FALSE(isValidUtf8("\xc0\x80"));      // overlong NUL
  EXPECT_FALSE(isValidUtf8("\xe0\x9f\xbf"));  // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(isValidUtf8("\xf0\x8f\xbf\xbf"));  // overlong 4-byte
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xfe\xff"));
  EXPECT_FALSE(isValidUtf8("ok\xe2\x82"));        // truncated at the end
}

TEST(JsonWriter, ObjectsArraysAndCommas) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("a").value(1);
  w.key("b").beginArray().value("x").value(true).null().beginObject().endObject().endArray();
  w.key("c").beginObject().key("d").value(false).endObject();
  w.key("e").beginArray().endArray();
  w.endObject();
  EXPECT_EQ(out, R"({"a":1,"b":["x",true,null,{}],"c":{"d":false},"e":[]})");
  EXPECT_TRUE(json::accept(out)) << out;
}

TEST(JsonWriter, ArrayOfObjects) {
  std::string out;
  JsonWriter w(out);
  w.beginArray();
  for (int i = 0; i < 3; ++i) w.beginObject().key("i").value(i).endObject();
  w.endArray();
  EXPECT_EQ(out, R"([{"i":0},{"i":1},{"i":2}])");
}

TEST(JsonWriter, KeysAreEscaped) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("He\"ader\n\xff").value("v").endObject();
  json j = json::parse(out);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.begin().key(), "He\"ader\n" + latin1(0xff));
}

TEST(JsonWriter, Integers) {
  std::string out;
  JsonWriter w(out);
  w.beginArray();
  w.value(int64_t{-1});
  w.value(std::numeric_limits<int64_t>::min());
  w.value(std::numeric_limits<uint64_t>::max());
  w.value(0u);
  w.value(-42);
  w.endArray();
  EXPECT_EQ(out, "[-1,-9223372036854775808,18446744073709551615,0,-42]");
  json j = json::parse(out);
  EXPECT_EQ(j[1].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(j[2].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
}

TEST(JsonWriter, DoublesAndNonFiniteAsNull) {
  std::string out;
  JsonWriter w(out);
  w.beginArray();
  w.value(1.1);
  w.value(0.5);
  w.value(-2.0);
  w.value(std::nan(""));
  w.value(std::numeric_limits<double>::infinity());
  w.value(-std::numeric_limits<double>::infinity());
  w.endArray();
  EXPECT_EQ(out, "[1.1,0.5,-2,null,null,null]");
  EXPECT_TRUE(json::accept(out)) << out;
}

TEST(JsonWriter, LargeAndTinyDoublesStayValidJson) {
  std::string out;
  JsonWriter w(out);
  w.beginArray().value(1e300).value(-1e-300).value(123456789.0).endArray();
  json j = json::parse(out);
  EXPECT_NEAR(j[0].get<double>() / 1e300, 1.0, 1e-5);
  EXPECT_NEAR(j[2].get<double>(), 123456789.0, 1000);
}

TEST(JsonWriter, RawIsInsertedAsOneValue) {
  std::string out;
  JsonWriter w(out);
  w.beginObject().key("pre").raw(R"({"x":[1,2]})").key("post").value(3).endObject();
  EXPECT_EQ(out, R"({"pre":{"x":[1,2]},"post":3})");
  std::string arr;
  JsonWriter a(arr);
  a.beginArray().raw("1").raw("2").endArray();
  EXPECT_EQ(arr, "[1,2]");
}

TEST(JsonWriter, ConstCharValueIsAString) {
  std::string out;
  JsonWriter w(out);
  w.beginArray().value("text").endArray();
  EXPECT_EQ(out, R"(["text"])");
}

TEST(JsonWriter, AppendsToExistingBuffer) {
  std::string out = "{\"x\":";
  JsonWriter w(out);
  w.beginArray().value(1).endArray();
  out += "}";
  EXPECT_EQ(out, R"({"x":[1]})");
}

TEST(JsonWriter, HostileStringValuesParseBack) {
  static const char kHostile[] = "\0\"\\\n\x01\xff\xe2\x80\xa8</script>";
  const std::string hostile(kHostile, sizeof kHostile - 1);
  ASSERT_EQ(hostile.size(), 18u);
  std::string out;
  JsonWriter w(out);
  w.beginObject().key(hostile).value(hostile).endObject();
  json j = json::parse(out);
  const std::string expect = std::string("\0\"\\\n\x01", 5) + latin1(0xff) + "\xe2\x80\xa8</script>";
  EXPECT_EQ(j.begin().key(), expect);
  EXPECT_EQ(j.begin().value().get<std::string>(), expect);
}

}  // namespace
}  // namespace drosera::core
