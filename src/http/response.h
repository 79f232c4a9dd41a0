// A response as the decoy sends it, and the persona that shapes its headers and error pages so
// that the server looks like a common real server, never like drosera. Values; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture.h"

namespace drosera::http {

struct Response {
  size_t bodySize() const { return static_body.empty() ? body.size() : static_body.size(); }

  int status = 200;
  std::vector<core::Header> headers;  // besides Date, Server, Content-Length, Connection
  std::string body;
  // A body owned by something that outlives the server (the site's files): sent without a copy.
  // Used instead of `body` when not empty.
  std::string_view static_body;
  bool close = false;                 // close the connection after this response
  bool omit_body = false;             // HEAD: send the headers only
  bool chunked = false;               // `body` is framed in chunks (Transfer-Encoding: chunked)
  // Apache's answers whose length it does not know ahead (a 416 page; many ranges to an
  // HTTP/1.0 client): no Content-Length; serialize() frames `body` in chunks on a connection
  // kept open, else it goes up to the close.
  bool unknown_length = false;
};

// A real server drosera imitates.
struct Persona {
  std::string name;            // apache | nginx | iis
  std::string server_header;   // e.g. "Apache/2.4.62 (Debian)"
};

// A built-in persona by name ("apache" when unknown); `server_header` overrides if not empty.
Persona makePersona(std::string_view name, std::string_view server_header);

const char* reasonPhrase(int status);
// The server a request names: an absolute-form target's authority, else the Host header's; the
// name lowercased without a trailing dot ("[v6]" kept whole), nginx's way of cutting at the
// first colon; the port if it is one.
struct Authority {
  std::string name;
  std::optional<uint16_t> port;
};
Authority authorityOf(const core::HttpRequestData& req);

// What Apache's pages show in their footer (ap_get_server_name(), ap_get_server_port() with
// UseCanonicalName Off): the request's name (an IPv6 address without brackets, at most 255
// bytes), or `local_ip` without one or for a Host the persona refuses (a server without
// ServerName shows its address); the request's port, else `port`.
std::string pageHost(const Persona& persona, const core::HttpRequestData& req,
                     std::string_view local_ip);
uint16_t pagePort(const Persona& persona, const core::HttpRequestData& req, uint16_t port);

// Whether the persona's server takes this Host header value, or answers 400 (measured against
// Apache 2.4 with HttpProtocolOptions Strict, its default, and nginx 1.22). IIS: always.
bool hostAccepted(const Persona& persona, std::string_view host);

// The status line's phrase as the persona's server writes it (nginx has a few of its own).
const char* reasonPhrase(const Persona& persona, int status);

// The persona's own error page for `status`, as that server would render it. `host` and
// `port` appear where the real server shows them (Apache's <address> line); `host` is
// HTML-escaped here, and so is `detail`: the method Apache's 405 and 501 pages name, or the
// Expect value its 417 page repeats ("count" for a 431 of too many headers: its page names that
// cause). 431 (a head too large) is the page of the 400 that all three servers send then.
std::string errorPage(const Persona& persona, int status, std::string_view host, uint16_t port,
                      std::string_view detail = {});
// The 400 page for a request in clear on a TLS port: Apache's and nginx's own wording.
std::string plainHttpOnTlsPage(const Persona& persona, std::string_view host, uint16_t port);

// Serialises status line and headers (with Date, Server, Content-Length and the connection
// headers in the order the persona's server sends them), then `body` (a static_body is not
// copied: the caller sends it after the returned bytes). `keep_alive_max` is the number of
// requests still allowed on the connection, this one included (Apache announces it, when the
// client sent "Connection: keep-alive": `keep_alive_asked`).
std::string serialize(const Persona& persona, const Response& response, bool keep_alive,
                      uint64_t keep_alive_timeout_s, uint64_t keep_alive_max, bool http10,
                      bool keep_alive_asked);

// RFC 7231 IMF-fixdate for `unix_seconds` ("Mon, 30 Nov 2026 07:24:48 GMT").
std::string httpDate(int64_t unix_seconds);
// The seconds an IMF-fixdate names (httpDate()'s inverse); nothing for any other text.
std::optional<int64_t> parseHttpDate(const std::string& imf_fixdate);

// One chunk of the chunked transfer coding (its size in lowercase hex, as the servers write it).
void appendChunk(std::string_view data, std::string* out);

std::string htmlEscape(std::string_view text);

}  // namespace drosera::http
