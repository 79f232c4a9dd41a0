// An HTTP(S) client for what drosera sends out: the sensor's shipper, the Elasticsearch output,
// the MISP REST transport. One seam (tests use a real local server, not a fake client); libcurl
// behind it, in client_curl.cc only. TLS verification is on unless a request turns it off.
// Thread-safety: one HttpClient per thread (it keeps its connection alive between requests).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/capture.h"
#include "core/status.h"

namespace drosera::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<core::Header> headers;
  std::string body;
  double timeout_s = 30;          // whole request
  double connect_timeout_s = 10;
  bool verify_tls = true;
  std::string ca_file;            // extra CA bundle (PEM); empty: the system's
  uint64_t max_response_bytes = 64ull << 20;
  // When set: the transfer is aborted (an error) soon after *cancel turns true, at most about a
  // second later while nothing moves. Owned by the caller; read from the sending thread.
  const std::atomic<bool>* cancel = nullptr;
};

struct ClientResponse {
  int status = 0;
  std::vector<core::Header> headers;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // A transport failure (refused, timeout, TLS error, response too large) is an error Status;
  // any HTTP status, 5xx included, is a response.
  virtual core::Result<ClientResponse> send(const ClientRequest& request) = 0;
};

std::unique_ptr<HttpClient> makeHttpClient();

}  // namespace drosera::http
