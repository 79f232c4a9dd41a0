#include "http/content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <unordered_map>

namespace drosera::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "q=0", "q=0.", "q=0.000": the coding is refused.
bool refusedByQuality(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || trim(p.substr(1)).substr(0, 1) != "=") {
      continue;
    }
    std::string_view v = trim(trim(p.substr(1)).substr(1));
    if (v.empty() || v[0] != '0') return false;
    v.remove_prefix(1);
    if (!v.empty() && v[0] == '.') v.remove_prefix(1);
    return std::all_of(v.begin(), v.end(), [](char c) { return c == '0'; });
  }
  return false;
}

const std::string* header(const Response& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

const std::string* header(const core::HttpRequestData& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

// Static files (a body the site owns) compress to the same bytes every time: kept, per
// persona, up to kCacheEntries bodies (the site's own files; a bigger site compresses the rest
// at every request). Keyed by the bytes themselves, not where they live.
constexpr size_t kCacheEntries = 512;

struct CacheKey {
  char persona;
  std::string body;
  bool operator==(const CacheKey& o) const { return persona == o.persona && body == o.body; }
};

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    return std::hash<std::string_view>()(k.body) * 31 + static_cast<size_t>(k.persona);
  }
};

class GzipCache {
 public:
  template <typename Make>
  bool get(char persona, std::string_view body, const Make& make, std::string* out) {
    CacheKey probe{persona, std::string(body)};
    {
      std::lock_guard lock(mu_);
      auto it = map_.find(probe);
      if (it != map_.end()) {
        *out = it->second;
        return true;
      }
    }
    if (!make(out)) return false;
    std::lock_guard lock(mu_);
    if (map_.size() < kCacheEntries) map_.emplace(std::move(probe), *out);
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_map<CacheKey, std::string, CacheKeyHash> map_;
};

GzipCache& cache() {
  static GzipCache* c = new GzipCache();  // never destroyed: answers may be made at exit
  return *c;
}

// The compressed body of `r`, from the cache for a static one.
bool compressedBody(char persona, const Response& r, int level, int window_bits, int mem_level,
                    std::string* out) {
  auto make = [&](std::string* o) {
    return gzip(r.static_body.empty() ? std::string_view(r.body) : r.static_body, level,
                window_bits, mem_level, o);
  };
  if (r.static_body.empty()) return make(out);
  return cache().get(persona, r.static_body, make, out);
}

void apacheCoding(const core::HttpRequestData& request, bool head, Response* r) {
  (void)head;  // mod_deflate compresses for a HEAD too: the length is that of the gzip
  const std::string* vary = header(*r, "Vary");
  if (vary == nullptr || vary->find("Accept-Encoding") == std::string::npos) return;
  const std::string* accept = header(request, "Accept-Encoding");
  if (accept == nullptr || !acceptsGzip(*accept) || header(*r, "Content-Encoding") != nullptr) {
    return;
  }
  // DeflateCompressionLevel, DeflateWindowSize and DeflateMemLevel at their defaults. Without
  // memory for zlib the answer goes as it is.
  std::string gz;
  if (!compressedBody('a', *r, Z_DEFAULT_COMPRESSION, 15, 9, &gz)) return;
  r->body = std::move(gz);
  r->static_body = {};
  for (auto it = r->headers.begin(); it != r->headers.end(); ++it) {
    if (iequals(it->name, "ETag") && it->value.size() >= 2 && it->value.back() == '"') {
      it->value.insert(it->value.size() - 1, "-gzip");  // DeflateAlterETag AddSuffix
    }
  }
  // mod_deflate adds both at the end of the answer's headers, after any the page set
  // (Set-Cookie); Content-Length follows them (response.cc).
  for (auto it = r->headers.begin(); it != r->headers.end(); ++it) {
    if (iequals(it->name, "Vary")) {
      core::Header v = std::move(*it);
      r->headers.erase(it);
      r->headers.push_back(std::move(v));
      break;
    }
  }
  r->headers.push_back({"Content-Encoding", "gzip"});
}

void nginxCoding(const core::HttpRequestData& request, bool head, Response* r) {
  if (r->status != 200 && r->status != 403 && r->status != 404) return;
  if (request.version != "1.1") return;                  // gzip_http_version 1.1
  if (header(request, "Via") != nullptr) return;         // gzip_proxied off
  const std::string* type = header(*r, "Content-Type");  // gzip_types: text/html
  if (type == nullptr || type->compare(0, 9, "text/html") != 0 ||
      (type->size() > 9 && (*type)[9] != ';' && (*type)[9] != ' ')) {
    return;
  }
  if (r->bodySize() < 20) return;  // gzip_min_length 20
  const std::string* accept = header(request, "Accept-Encoding");
  if (accept == nullptr || !acceptsGzip(*accept) || header(*r, "Content-Encoding") != nullptr) {
    return;
  }
  // ngx_http_gzip_filter_memory(): a window and hash no larger than the body needs (zlib's
  // window is 262 bytes short of its size).
  int window_bits = 15, mem_level = 8;
  const int64_t length = static_cast<int64_t>(r->bodySize());
  while (length < (int64_t{1} << (window_bits - 1)) - 262) {
    --window_bits;
    --mem_level;
  }
  mem_level = std::max(mem_level, 1);
  std::string gz;
  if (!head && !compressedBody('n', *r, 1, window_bits, mem_level, &gz)) return;
  for (auto it = r->headers.begin(); it != r->headers.end();) {
    if (iequals(it->name, "Accept-Ranges")) {
      it = r->headers.erase(it);
      continue;
    }
    if (iequals(it->name, "ETag") && !it->value.empty() && it->value[0] == '"') {
      it->value.insert(0, "W/");  // ngx_http_weak_etag()
    }
    ++it;
  }
  r->headers.push_back({"Content-Encoding", "gzip"});
  r->chunked = true;
  if (head) {  // the header only: neither a length nor chunks
    r->static_body = {};
    r->body.clear();
    return;
  }
  r->static_body = {};
  // Chunks of at most 20,480 bytes (what nginx sent for a body of 39 KB compressed), then the
  // last chunk.
  std::string out;
  out.reserve(gz.size() + 32);
  char size[24];
  for (size_t at = 0; at < gz.size(); at += 20480) {
    const size_t n = std::min<size_t>(20480, gz.size() - at);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size;
    out.append(gz, at, n);
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  r->body = std::move(out);
}

}  // namespace

bool gzip(std::string_view in, int level, int window_bits, int mem_level, std::string* out) {
  z_stream zs{};
  // 16 + bits: zlib's gzip wrapper, whose header is the servers' own (XFL from the level).
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + window_bits, mem_level, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  out->resize(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  const int rc = deflate(&zs, Z_FINISH);  // deflateBound() bytes: done in one call
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

bool acceptsGzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    const std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const size_t semi = item.find(';');
    if (!iequals(trim(item.substr(0, semi)), "gzip")) continue;
    return semi == std::string_view::npos || !refusedByQuality(item.substr(semi + 1));
  }
  return false;
}

void applyContentCoding(const Persona& persona, const core::HttpRequestData& request, bool head,
                        Response* r) {
  if (r->status < 200 || r->status == 204 || r->status == 304 || r->chunked) return;
  if (persona.name == "apache")
    apacheCoding(request, head, r);
  else if (persona.name == "nginx")
    nginxCoding(request, head, r);
}

}  // namespace drosera::http
