// The dashboard's static assets (DESIGN decision 9): the files of the web/ folder, read once at
// start and answered from memory under a strict Content-Security-Policy. The pages get their
// data from the JSON API (api.cc) with the API token; these assets hold no data and need none.
// Thread-safety: immutable after load(); respond() may run on any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture.h"
#include "http/response.h"

namespace drosera::collector {

// Sent with every dashboard answer, 404s included. Scripts and styles from this origin only (no
// inline script or style, no eval), images from here or data: URLs, fetch() to this origin, no
// frames, forms, plugins or <base>.
inline constexpr std::string_view kDashboardCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

class Dashboard {
 public:
  struct Limits {
    size_t max_files = 256;                // more files: the rest are skipped, with a warning
    uint64_t max_file_bytes = 4u << 20;    // a larger file is skipped
    uint64_t max_total_bytes = 32u << 20;  // once reached, the remaining files are skipped
  };

  // Reads every regular file under `root` whose type it knows (html, css, js, svg, png, ...),
  // skipping dot files, node_modules/ and package files. A missing or empty folder is not an
  // error: the collector still serves its API, and the dashboard answers 404 saying why.
  static Dashboard load(const std::string& root, const Limits& limits);
  static Dashboard load(const std::string& root) { return load(root, Limits()); }

  // Answers a request for `path` (the target's path, not decoded): "/" is /index.html; GET and
  // HEAD only; If-None-Match answered 304. Paths are looked up as they are, never mapped onto
  // the file system, so no path can leave the folder.
  http::Response respond(std::string_view method, std::string_view path,
                         const std::vector<core::Header>& request_headers) const;

  const std::string& root() const { return root_; }
  size_t files() const { return assets_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Asset {
    std::string body;
    std::string content_type;
    std::string etag;  // "\"<64-bit FNV-1a of the body, hex>\""
  };

  std::string root_;
  std::map<std::string, Asset, std::less<>> assets_;  // by URL path ("/index.html")
  uint64_t bytes_ = 0;
};

// The security headers of every dashboard answer (CSP, nosniff, no referrer, no framing).
void addDashboardSecurityHeaders(http::Response* response);

}  // namespace drosera::collector
