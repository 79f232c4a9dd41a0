// gzip content coding of answers, as the persona's server does it by default on Debian:
// Apache 2.4's mod_deflate (deflate.conf) and nginx 1.22's `gzip on`. Measured on loopback
// against both, the compressed bytes included (docs/sensor.md, "Personas").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/capture.h"
#include "http/response.h"

namespace drosera::http {

// RFC 1952 gzip of `in` into `out` (zlib's header: no name, no time, OS Unix, as both servers
// write it). `level` -1..9, `window_bits` 9..15, `mem_level` 1..9. False only when zlib has
// no memory for it.
bool gzip(std::string_view in, int level, int window_bits, int mem_level, std::string* out);

// Whether Accept-Encoding offers gzip, as each server reads it (they differ on the edges; the
// unit tests hold what the real ones answered). Neither takes "x-gzip" or "*" for it.
// Apache: the request's Accept-Encoding headers merged with ", ". nginx: the first one.
bool apacheAcceptsGzip(std::string_view accept_encoding);
bool nginxAcceptsGzip(std::string_view accept_encoding);

// Encodes `r` with gzip when the persona's server would for this request, changing its
// headers (Content-Encoding, the ETag, Accept-Ranges), its body and its framing (nginx:
// chunked). `head`: the answer to a HEAD (Apache still gives the compressed length; nginx
// none). IIS answers are left as they are (not measured).
//   Apache: answers mod_deflate filters, i.e. those with "Vary: Accept-Encoding" (Site decides
//           that: Debian's types, bodies over 68 bytes, not the server's own error pages);
//           level 6, the ETag suffixed "-gzip", Content-Length kept.
//   nginx:  text/html answers of 200, 403 or 404 with 20 bytes or more, to HTTP/1.1 requests
//           without Via (gzip_proxied off); level 1 with a window sized to the body, the ETag
//           made weak, Accept-Ranges dropped, chunked.
void applyContentCoding(const Persona& persona, const core::HttpRequestData& request, bool head,
                        Response* r);

}  // namespace drosera::http
