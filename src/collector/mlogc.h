// The headers of an mlogc upload (PUT /rpc/auditLogReceiver), read before its body is parsed:
// X-Content-Hash and X-ForensicLog-Summary. Basic credentials are checked by Credentials
// (auth.h). Every header is attacker data: pure functions, no exception; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/capture.h"

namespace drosera::collector {

// MD5 of `data` as 32 lower-case hex digits.
std::string md5Hex(std::string_view data);

// X-Content-Hash: "md5:<hex> ..." (mlogc sends the rest of its index line after the hash; the
// "md5:" prefix is optional; prefix and hex in any case). True when the header is absent or names
// the MD5 of `body`; false when it is present and names anything else, including nothing.
bool mlogcContentHashMatches(const std::vector<core::Header>& headers, std::string_view body);

// The unique id in X-ForensicLog-Summary (the entry's index line, collection.md section 1); ""
// when the header is missing or not an index line. The receiver uses it for an entry whose body
// names no id.
std::string mlogcSummaryId(const std::vector<core::Header>& headers);

}  // namespace drosera::collector
