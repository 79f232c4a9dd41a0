// How long a persona's server waits for a request, and what it does when the client is too
// slow (measured on loopback against Apache 2.4 with Debian's mod_reqtimeout and nginx 1.22,
// each with its Debian configuration; tests/integration/test_protocol.py, test_timeouts).
// A limit the operator configured (limits.header_timeout_s, body_timeout_s above 0) is taken
// as it is instead: that long for the whole head or body, then 408.
#pragma once

#include <cstdint>

#include "http/response.h"

namespace drosera::http {

struct ReadTimeout {
  double base_s = 20;      // from the start of the head or body (per_read: from the last byte)
  // Added for each byte received (Apache's MinRate=500: 1/500 s); a read that came in time is
  // then followed by a second's wait at least, as mod_reqtimeout waits.
  double per_byte_s = 0;
  double max_s = 0;        // the most, bytes included (0: no most)
  bool per_read = false;   // between two reads, not for the whole (nginx's client_body_timeout)
  // What the client gets at the timeout: 408, or a close without a word (nginx). Apache closes
  // without one too while the request line is not whole (answers_first_line false).
  bool answers = true;
  bool answers_first_line = true;

  // Seconds from the start (per_read: from the last byte) to the timeout, `bytes` received.
  double seconds(uint64_t bytes) const;
};

// The head: Apache (RequestReadTimeout header=20-40,MinRate=500) 20 s, 1 s more per 500 bytes,
// 40 s at most, then 408 once the request line was whole, else a silent close; nginx
// (client_header_timeout 60s) 60 s for the whole head, then a silent close; IIS as configured
// before (20 s, 408; unmeasured).
ReadTimeout headTimeout(const Persona& persona, double configured);
// The body: Apache (body=10,MinRate=500) 10 s, 1 s more per 500 bytes, no most, then 408;
// nginx (client_body_timeout 60s) 60 s between two reads, then a silent close; IIS 30 s, 408.
ReadTimeout bodyTimeout(const Persona& persona, double configured);
// How long an answer may take to leave (a client that does not read): Apache's Timeout 300,
// nginx's send_timeout 60s (taken for the whole answer), IIS 30 s (unmeasured).
double writeTimeout(const Persona& persona, double configured);
// The idle time between requests: Debian's apache2.conf KeepAliveTimeout 5, its nginx.conf
// keepalive_timeout 65, IIS's connectionTimeout 120.
double keepAliveTimeout(const Persona& persona, double configured);
// Seconds the kernel holds a connection on which nothing came before handing it over
// (TCP_DEFER_ACCEPT), 0 for none: Apache's AcceptFilter (on Linux, "data": 30 s, which the
// kernel rounds up to its SYN-ACK retransmissions, 31 s), with its own head timeout only.
int deferAcceptSeconds(const Persona& persona, double configured_head);

}  // namespace drosera::http
