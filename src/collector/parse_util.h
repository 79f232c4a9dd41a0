// Pieces shared by the collector's parsers (parse_*.cc): times, ModSecurity's bracketed
// [key "value"] rule metadata, severities, anomaly scores from CRS messages. Internal to the
// collector; pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collector/parse.h"
#include "core/event.h"

namespace drosera::collector::internal {

bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);  // spaces, tabs, CR, LF at both ends

// A decimal integer (optional '-'), the whole of `s`, at most 18 digits.
std::optional<int64_t> parseInt(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);
// 1..12 for "Jan".."Dec" (case-sensitive, as strftime writes them), 0 otherwise.
int monthFromName(std::string_view name);

// libmodsecurity v3 time_stamp: strftime "%a %b %d %H:%M:%S %Y" or the "%e" form ("Mon Nov  3
// ..."), local time; `utc_offset_minutes` east of UTC turns it into UTC microseconds.
std::optional<int64_t> parseModsecTimestamp(std::string_view s, int utc_offset_minutes);
// mod_security2 / Apache: "30/Nov/2026:14:00:00.123456 +0000" (microseconds optional). The zone
// as mod_security2 2.9 writes it west of UTC too: "--0500" for -05:00, "--03-30" for -03:30.
std::optional<int64_t> parseApacheTime(std::string_view s);
// ISO 8601 "2026-11-30T08:24:50.247591Z" (fraction optional; "Z" or "+hh:mm"/"-hh:mm").
std::optional<int64_t> parseIsoTime(std::string_view s);
// RFC 1123 HTTP date "Mon, 30 Nov 2026 08:24:40 GMT".
std::optional<int64_t> parseHttpDate(std::string_view s);

// ModSecurity severity: "0".."7" or EMERGENCY, ALERT, CRITICAL, ERROR, WARNING, NOTICE, INFO,
// DEBUG (any case); -1 otherwise.
int severityFromText(std::string_view s);

// One rule message line in ModSecurity's text form: v2 "Message: ..." lines of part H and the
// strings of v2 JSON audit_data.messages, v3 "ModSecurity: ..." lines of part H. Fills `hit` from
// the [key "value"] metadata that ends the line. The metadata block is the first suffix of the
// line made only of well-formed [key "value"] tokens (values with their quotes escaped) holding
// an id, so text an attacker put into the leading "Matched ... (Value: ...)" part (v3 does not
// escape it) can neither forge an id nor, however many lookalike tokens it holds, hide the block;
// every start is tried, in time linear in the line. When v3 left a quote unescaped in [uri], the
// block is read leniently from the last [file "..."]. False when the line holds no rule id.
bool parseRuleMessageText(std::string_view line, const ParseContext& context, core::RuleHit& hit);

// Anomaly scores from the CRS scoring rules' messages (949110, 959100, 980130, 980140, CRS 4's
// 980170), for records without drosera's own scores: sets inbound/outbound and adds the named
// scores (inbound_anomaly_score, sql_injection_score, ...) that are not zero.
void scoresFromRuleMessages(core::Event& event, size_t max_items);

// After a parser filled an event: host and user agent from the headers (case-insensitive),
// categories, inbound/outbound scores from `scores` when a parser did not set them.
void finishEvent(core::Event& event, const ParseContext& context);

// "GET /x HTTP/1.1" into method, uri, http_version ("1.1"); lenient for HTTP/0.9 and junk.
void splitRequestLine(std::string_view line, core::Event& event);

// Appends `s` to `out` keeping out.size() <= max.
void appendBounded(std::string& out, std::string_view s, size_t max);

}  // namespace drosera::collector::internal
