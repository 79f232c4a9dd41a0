#include "collector/dashboard.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/parser.h"

namespace drosera::collector {
namespace {

namespace fs = std::filesystem;

// The types the dashboard may ship; any other file in the folder is not served.
const char* contentType(const std::string& ext) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return nullptr;
}

std::string etagOf(std::string_view body) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

bool skipped(const fs::path& relative) {
  for (const auto& part : relative) {
    const std::string p = part.string();
    if (p.empty() || p[0] == '.' || p == "node_modules") return true;
  }
  const std::string name = relative.filename().string();
  return name == "package.json" || name == "package-lock.json";
}

// True when one of the If-None-Match entities is `etag` (or "*"). Weak tags compare by value.
bool matches(const std::string& if_none_match, const std::string& etag) {
  size_t pos = 0;
  while (pos < if_none_match.size()) {
    size_t end = if_none_match.find(',', pos);
    if (end == std::string::npos) end = if_none_match.size();
    std::string_view tag(if_none_match.data() + pos, end - pos);
    pos = end + 1;
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

http::Response plain(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  r.headers.push_back({"Cache-Control", "no-store"});
  addDashboardSecurityHeaders(&r);
  return r;
}

}  // namespace

void addDashboardSecurityHeaders(http::Response* r) {
  r->headers.push_back({"Content-Security-Policy", std::string(kDashboardCsp)});
  r->headers.push_back({"X-Content-Type-Options", "nosniff"});
  r->headers.push_back({"Referrer-Policy", "no-referrer"});
  r->headers.push_back({"X-Frame-Options", "DENY"});
  r->headers.push_back({"Cross-Origin-Opener-Policy", "same-origin"});
  r->headers.push_back({"Cross-Origin-Resource-Policy", "same-origin"});
}

Dashboard Dashboard::load(const std::string& root, const Limits& limits) {
  Dashboard d;
  d.root_ = root;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    spdlog::warn("collector: no dashboard assets in {} (the API is served all the same)", root);
    return d;
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(
           root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path rel = it->path().lexically_relative(root);
    if (skipped(rel)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && contentType(rel.extension().string())) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());  // the same files win whatever the directory order
  for (const auto& file : files) {
    if (d.assets_.size() >= limits.max_files) {
      spdlog::warn("collector: dashboard: more than {} files in {}; the rest are not served",
                   limits.max_files, root);
      break;
    }
    const uint64_t size = fs::file_size(file, ec);
    if (ec || size > limits.max_file_bytes || d.bytes_ + size > limits.max_total_bytes) {
      spdlog::warn("collector: dashboard: {} not served (unreadable or over the size limits)",
                   file.string());
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) {
      spdlog::warn("collector: dashboard: cannot read {}", file.string());
      continue;
    }
    Asset a;
    a.body = body.str();
    a.content_type = contentType(file.extension().string());
    a.etag = etagOf(a.body);
    d.bytes_ += a.body.size();
    d.assets_.emplace("/" + file.lexically_relative(root).generic_string(), std::move(a));
  }
  if (d.assets_.empty()) {
    spdlog::warn("collector: no dashboard assets in {} (the API is served all the same)", root);
  } else {
    spdlog::info("collector: dashboard: {} files ({} bytes) from {}", d.assets_.size(), d.bytes_,
                 root);
  }
  return d;
}

http::Response Dashboard::respond(std::string_view method, std::string_view path,
                                  const std::vector<core::Header>& request_headers) const {
  if (method != "GET" && method != "HEAD") {
    http::Response r = plain(405, "the dashboard is read-only\n");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  if (path == "/") path = "/index.html";
  const auto it = assets_.find(path);
  if (it == assets_.end()) {
    if (assets_.empty()) {
      return plain(404, "the dashboard's assets were not found (looked in " + root_ +
                            "; set DROSERA_SHARE_DIR to the folder holding web/)\n");
    }
    return plain(404, "not found\n");
  }
  const Asset& a = it->second;
  http::Response r;
  // Revalidated on every use: the file names carry no version, so a cached copy must never
  // outlive an upgrade; the ETag makes the check a 304.
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"ETag", a.etag});
  addDashboardSecurityHeaders(&r);
  if (const std::string* inm = http::findHeader(request_headers, "If-None-Match");
      inm && matches(*inm, a.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.headers.push_back({"Content-Type", a.content_type});
  r.static_body = a.body;  // the map outlives the server (the collector owns both)
  return r;
}

}  // namespace drosera::collector
