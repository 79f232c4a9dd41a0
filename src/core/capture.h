// The capture: one request as received and the response as sent, handed from the server to the
// inspector and the event log. A value type, moved (never copied) along the hot path.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace drosera::core {

struct Header {
  std::string name;
  std::string value;
};

struct HttpRequestData {
  std::string method;
  std::string target;        // the request target exactly as sent (path and query)
  std::string version;       // "1.1", "1.0"; as sent when unknown ("" if none)
  std::vector<Header> headers;
  std::string body;          // decoded (de-chunked), at most limits.max_body_bytes
  uint64_t body_bytes = 0;   // body bytes the client sent (may exceed body.size())
};

struct HttpResponseData {
  int status = 0;
  std::vector<Header> headers;
  std::string body;          // only when the response body is inspected
  uint64_t body_bytes = 0;   // bytes of body sent
};

// A honeytrap that fired (DESIGN decision 3): which bait, and what the attacker gave away.
struct TrapHit {
  std::string kind;             // fake_port, robots, comment, hidden_field, cookie,
                                // sensitive_file, admin_login, honeytoken
  std::string bait;             // the bait's name: a path, a field or cookie name, a token id
  std::string captured;         // credentials, the altered value, the token...; may be empty
  int rule_id = 0;
  std::string origin;           // honeytoken: unique_id of the event that handed it out
};

struct Endpoint {
  std::string ip;
  uint16_t port = 0;
};

// Why a capture ended the way it did: a complete request, or a client that broke a limit or sent
// something unparseable. Hostile input is data, not an error.
struct Capture {
  std::string unique_id;     // stable across restarts: the store deduplicates on it
  uint64_t seq = 0;          // position in the capture journal
  int64_t received_us = 0;   // first byte of the request, microseconds since the epoch (UTC)
  int64_t answered_us = 0;   // response ready to be written (0: none, the client went away)

  Endpoint client;           // who we believe sent it (after trusted-proxy resolution)
  Endpoint peer;             // the socket's peer
  Endpoint local;            // our side of the socket
  std::string client_source = "socket";  // socket | x-forwarded-for | proxy-v1 | proxy-v2

  uint16_t listener_port = 0;
  std::string listener_kind = "real";    // real | fake
  bool tls = false;
  std::string tls_version;   // "TLSv1.3" ...
  std::string tls_sni;

  HttpRequestData request;
  HttpResponseData response;
  bool head_complete = false;   // the request head was parsed to its end
  bool body_complete = false;   // the body arrived completely

  std::string raw;              // the request bytes as received (bounded)
  uint64_t raw_bytes = 0;       // bytes the client sent for this request
  std::vector<std::string> limits_hit;   // e.g. "max_body_bytes", "header_timeout"
  std::vector<std::string> anomalies;    // e.g. "bare_lf", "nul_in_header"

  // What the server knows and the rules cannot see, handed to the engine as TX:DROSERA_<NAME>
  // (e.g. "cookie" = "forged", "honeytoken" = the token): the honeytrap rules match on them.
  std::vector<std::pair<std::string, std::string>> facts;
  std::string visitor;          // the visitor id from a valid trap cookie, or the one just issued
};

}  // namespace drosera::core
