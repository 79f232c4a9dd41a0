#include "collector/parse.h"

namespace drosera::collector {
namespace {

// The writers put the transaction object first, its keys quoted as keys are: a quote inside a
// JSON string is escaped, so an attacker's header value does not contain `"client_ip":`.
constexpr size_t kSniffBytes = 1024;

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

}  // namespace

RecordFormat detectFormat(std::string_view record) {
  size_t i = 0;
  while (i < record.size() &&
         (record[i] == ' ' || record[i] == '\t' || record[i] == '\r' || record[i] == '\n')) {
    ++i;
  }
  record.remove_prefix(i);
  if (record.empty()) return RecordFormat::kUnknown;
  if (record[0] == '{') {
    // drosera puts its object last.
    if (record.rfind("\"drosera\":{") != std::string_view::npos) return RecordFormat::kDrosera;
    const std::string_view head = record.substr(0, kSniffBytes);
    if (contains(head, "\"transaction_id\":") || contains(head, "\"remote_address\":")) {
      return RecordFormat::kModsec2Json;
    }
    if (contains(head, "\"client_ip\":") || contains(head, "\"time_stamp\":") ||
        contains(head, "\"unique_id\":")) {
      return RecordFormat::kModsec3Json;
    }
    return RecordFormat::kUnknown;
  }
  if (record.substr(0, 2) == "--") {
    const size_t nl = record.find('\n');
    std::string_view first = record.substr(0, nl);
    if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
    if (first.size() >= 9 && first.ends_with("-A--")) {
      return RecordFormat::kNative;
    }
  }
  return RecordFormat::kUnknown;
}

const char* formatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kDrosera:
      return "drosera";
    case RecordFormat::kModsec3Json:
      return "modsec3-json";
    case RecordFormat::kModsec2Json:
      return "modsec2-json";
    case RecordFormat::kNative:
      return "modsec2-native";
    case RecordFormat::kUnknown:
      break;
  }
  return "unknown";
}

core::Result<core::Event> parseRecord(std::string_view record, const ParseContext& context) {
  switch (detectFormat(record)) {
    case RecordFormat::kDrosera:
    case RecordFormat::kModsec3Json:
      return parseV3Json(record, context);
    case RecordFormat::kModsec2Json:
      return parseV2Json(record, context);
    case RecordFormat::kNative:
      return parseV2Native(record, context);
    case RecordFormat::kUnknown:
      break;
  }
  return core::Status::invalidArgument("record: unknown format");
}

}  // namespace drosera::collector
