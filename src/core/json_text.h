// Writing JSON text by hand on the hot path. Every byte an attacker sent is escaped so that an
// event line is valid JSON whatever arrived: control characters as \u00XX, bytes that are not
// valid UTF-8 as \u00XX of the byte (Latin-1 reading; the raw bytes are kept losslessly
// elsewhere), U+2028/U+2029 escaped. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace drosera::core {

// Appends `bytes` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view bytes);
// Returns `bytes` as a quoted JSON string.
std::string jsonString(std::string_view bytes);
// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates).
bool isValidUtf8(std::string_view bytes);

// A small streaming writer for objects and arrays: keeps track of commas.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  // Inserts already-serialised JSON as one value.
  JsonWriter& raw(std::string_view json);

 private:
  void comma();
  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace drosera::core
