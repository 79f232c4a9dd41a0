// The HTTP(S) server: listeners on the real and fake ports, one session per connection,
// the lenient parser, limits on size, time and connections, trusted-proxy resolution.
// It knows nothing about the decoy site or inspection: a Handler builds each answer and
// receives each finished capture. Thread-safety: start/stop/stats may be called from any
// thread; the handler is called on the io threads concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/capture.h"
#include "core/status.h"
#include "http/ip_match.h"
#include "http/parser.h"
#include "http/response.h"

namespace drosera::http {

struct ListenerSpec {
  size_t index = 0;            // the owner's number for this listener (e.g. its config entry)
  uint16_t port = 0;
  std::string kind = "real";   // real | fake
  bool tls = false;
  bool proxy_protocol = false;
  Persona persona;
  // Added to the answers the server makes itself (errors, timeouts, out of memory), as the
  // owner adds them to its own: the collector's security headers.
  std::vector<core::Header> own_answer_headers;
};

struct ServerOptions {
  std::vector<std::string> bind = {"0.0.0.0"};
  std::vector<ListenerSpec> listeners;
  ParserLimits parser;
  // 0: the persona's own (timeouts.h); else that long for the whole head or body, then 408.
  // body_timeout_s is the write deadline too (0: the persona's).
  double header_timeout_s = 0;
  double body_timeout_s = 0;
  double keepalive_timeout_s = 0;  // 0: the persona's own (keepAliveTimeout(), timeouts.h)
  // gzip as the persona's server does (content_coding.h); off for the collector's own API.
  bool content_coding = true;
  // Range requests as the persona's server answers them (ranges.h); off for the API too.
  bool ranges = true;
  uint64_t max_keepalive_requests = 0;  // 0: the persona's own (keepAliveLimit(), server.cc)
  uint64_t max_connections = 4096;
  uint64_t max_connections_per_ip = 64;
  IpMatcher trusted_proxies;
  std::string tls_cert_path;
  std::string tls_key_path;
  int io_threads = 1;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Builds the answer to a complete, well-formed request. `capture` holds the request and its
  // context (client, listener, TLS); the handler may annotate it. Called on io threads.
  virtual Response respond(core::Capture& capture, const ListenerSpec& listener) = 0;
  // The response (or error answer) was written, or the client went away: the capture is final.
  virtual void captured(core::Capture&& capture) = 0;
  // Called once a request's head is complete while its body is still to come (or too large to
  // come), before more of it is read. An answer returned here is sent at once and the
  // connection closed with the body unread: a collector refuses an unknown sender, or a batch
  // over its limit, without buffering it. Default: none (the body is read, respond() answers).
  virtual std::optional<Response> beforeBody(const core::HttpRequestData& head,
                                             const ListenerSpec& listener) {
    (void)head;
    (void)listener;
    return std::nullopt;
  }
  // For a listener whose persona answers before the body (nginx: what its own modules serve,
  // a static file, an error, a redirect), called once a head announcing a body is in: true if
  // respond() would answer it the same without the body. The request is then answered at once
  // and its body read afterwards; captured() follows once the body is in or the connection
  // ends. Default: false (the body is read first).
  virtual bool answersBeforeBody(const core::HttpRequestData& head, const ListenerSpec& listener) {
    (void)head;
    (void)listener;
    return false;
  }
};

struct ServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};   // closed unread, far over max_connections
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<uint64_t> per_ip_limited{0};         // answered 503 over a connection limit
  std::atomic<uint64_t> out_of_memory{0};          // answered 503 (or cut): memory ran out
};

struct BoundListener {
  size_t index;        // into ServerOptions::listeners
  std::string address;
  uint16_t port;       // the port actually bound (differs when configured as 0)
};

class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener on every address. Fails naming address and port if one cannot be
  // bound (an address family missing on this host is skipped with a warning).
  core::Status start();
  const std::vector<BoundListener>& bound() const;
  // Stops accepting, lets requests in progress finish (up to `grace_s`), closes the rest.
  void stop(double grace_s = 2.0);
  const ServerStats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace drosera::http
