#include "http/content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "http/parser.h"

namespace drosera::http {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Apache's ap_get_token(): a token up to ';' or ',' (or white space unless `white`), a quoted
// string taken whole; white space skipped before and after.
std::string_view apacheToken(std::string_view* line, bool white) {
  size_t i = 0;
  const std::string_view s = *line;
  while (i < s.size() && isSpace(s[i])) ++i;
  const size_t start = i;
  while (i < s.size() && (white || !isSpace(s[i])) && s[i] != ';' && s[i] != ',') {
    if (s[i++] == '"') {
      while (i < s.size() && s[i++] != '"') {
      }
    }
  }
  const std::string_view token = s.substr(start, i - start);
  while (i < s.size() && isSpace(s[i])) ++i;
  *line = s.substr(i);
  return token;
}

// The Accept-Encoding headers of a request: Apache merges them (", "), nginx reads the first.
std::string acceptEncoding(const core::HttpRequestData& request, bool merge) {
  std::string out;
  bool any = false;
  for (const auto& h : request.headers) {
    if (!iequals(h.name, "Accept-Encoding")) continue;
    if (any) out += ", ";
    out += h.value;
    any = true;
    if (!merge) break;
  }
  return out;
}

// Static files (a body the site owns) compress to the same bytes every time: kept, per
// persona, up to kCacheEntries bodies (the site's own files; a bigger site compresses the rest
// at every request). Keyed by the bytes themselves, not where they live.
constexpr size_t kCacheEntries = 512;

struct CacheKey {
  char persona;
  std::string body;
};

// Looked up by (persona, the body's bytes) without copying the body (a hit is the common case).
struct CacheProbe {
  char persona;
  std::string_view body;
};

struct CacheKeyHash {
  using is_transparent = void;
  size_t hash(char persona, std::string_view body) const {
    return std::hash<std::string_view>()(body) * 31 + static_cast<size_t>(persona);
  }
  size_t operator()(const CacheKey& k) const { return hash(k.persona, k.body); }
  size_t operator()(const CacheProbe& k) const { return hash(k.persona, k.body); }
};

struct CacheKeyEqual {
  using is_transparent = void;
  static CacheProbe probe(const CacheKey& k) { return {k.persona, k.body}; }
  static CacheProbe probe(const CacheProbe& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    const CacheProbe x = probe(a), y = probe(b);
    return x.persona == y.persona && x.body == y.body;
  }
};

class GzipCache {
 public:
  template <typename Make>
  bool get(char persona, std::string_view body, const Make& make, std::string* out) {
    {
      std::lock_guard lock(mu_);
      auto it = map_.find(CacheProbe{persona, body});
      if (it != map_.end()) {
        *out = it->second;
        return true;
      }
    }
    if (!make(out)) return false;
    std::lock_guard lock(mu_);
    if (map_.size() < kCacheEntries) map_.emplace(CacheKey{persona, std::string(body)}, *out);
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_map<CacheKey, std::string, CacheKeyHash, CacheKeyEqual> map_;
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
  const std::string* vary = findHeader(r->headers, "Vary");
  if (vary == nullptr || vary->find("Accept-Encoding") == std::string::npos) return;
  if (!apacheAcceptsGzip(acceptEncoding(request, true)) ||
      findHeader(r->headers, "Content-Encoding") != nullptr) {
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
  if (request.version == "1.0" || request.version == "0.9") return;  // gzip_http_version 1.1
  if (findHeader(request.headers, "Via") != nullptr) return;         // gzip_proxied off
  const std::string* type = findHeader(r->headers, "Content-Type");  // gzip_types: text/html
  if (type == nullptr || type->compare(0, 9, "text/html") != 0 ||
      (type->size() > 9 && (*type)[9] != ';' && (*type)[9] != ' ')) {
    return;
  }
  if (r->bodySize() < 20) return;  // gzip_min_length 20
  if (!nginxAcceptsGzip(acceptEncoding(request, false)) ||
      findHeader(r->headers, "Content-Encoding") != nullptr) {
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
  for (size_t at = 0; at < gz.size(); at += 20480) {
    appendChunk(std::string_view(gz).substr(at, 20480), &out);
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

bool apacheAcceptsGzip(std::string_view line) {
  // mod_deflate: the first token that is "gzip" in any case (tokens end at ',', ';' or white
  // space; a token's parameters are skipped), then only its first parameter is looked at, and
  // refuses it when it is 3 to 7 bytes of "q=0.000" exactly ("Q=0" and "q=0.0000" do not).
  std::string_view token = apacheToken(&line, false);
  while (!token.empty() && !iequals(token, "gzip")) {
    while (!line.empty() && line[0] == ';') {
      line.remove_prefix(1);
      apacheToken(&line, true);
    }
    if (!line.empty() && line[0] == ',') line.remove_prefix(1);
    token = line.empty() ? std::string_view() : apacheToken(&line, false);
  }
  if (token.empty()) return false;
  if (line.empty()) return true;
  while (!line.empty() && line[0] == ';') line.remove_prefix(1);
  const std::string_view q = apacheToken(&line, true);
  constexpr std::string_view kRefused = "q=0.000";
  return !(q.size() >= 3 && q.size() <= kRefused.size() && kRefused.substr(0, q.size()) == q);
}

bool nginxAcceptsGzip(std::string_view line) {
  // The first "gzip" in any case, whole (after the start, ',' or a space; before the end, ',',
  // ';' or a space), then its quality: none, or "q=" (any case) right after ';' and spaces, a
  // number from 0 to 1 with at most three decimals, spaces, then the end or ','; anything else
  // refuses it, as q=0 does.
  size_t at = std::string_view::npos;
  for (size_t i = 0; i + 4 <= line.size(); ++i) {
    if (iequals(line.substr(i, 4), "gzip")) {
      at = i;
      break;
    }
  }
  if (at == std::string_view::npos) return false;
  if (at > 0 && line[at - 1] != ',' && line[at - 1] != ' ') return false;
  size_t i = at + 4;
  if (i < line.size() && line[i] != ',' && line[i] != ';' && line[i] != ' ') return false;
  auto spaces = [&] {
    while (i < line.size() && line[i] == ' ') ++i;
  };
  spaces();
  if (i == line.size() || line[i] == ',') return true;
  if (line[i] != ';') return false;
  ++i;
  spaces();
  if (i + 2 > line.size() || (line[i] != 'q' && line[i] != 'Q') || line[i + 1] != '=') return false;
  i += 2;
  if (i == line.size() || (line[i] != '0' && line[i] != '1')) return false;
  int thousandths = (line[i++] - '0') * 1000;
  if (i < line.size() && line[i] == '.') {
    ++i;
    for (int scale = 100; i < line.size() && line[i] >= '0' && line[i] <= '9'; scale /= 10) {
      if (scale == 0) return false;  // a fourth decimal
      thousandths += (line[i++] - '0') * scale;
    }
  }
  if (thousandths > 1000) return false;
  spaces();
  if (i < line.size() && line[i] != ',') return false;
  return thousandths > 0;
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
