#include "sensor/site.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <toml.hpp>
#include <unordered_map>

#include "core/digits.h"
#include "http/parser.h"

namespace drosera::sensor {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kMessageToken = "{{message}}";
// The longest name a folder holds on Linux file systems (NAME_MAX), and the length from which
// Apache cannot map a request's path to a file name (PATH_MAX less its NUL and one more,
// measured) below Debian's DocumentRoot.
constexpr size_t kMaxFileName = 255;
constexpr size_t kMaxFilePath = 4094;
constexpr std::string_view kDocumentRoot = "/var/www/html";

std::string contentTypeFor(const std::string& ext) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html"},           {".htm", "text/html"},
      {".php", "text/html; charset=UTF-8"},
      {".css", "text/css"},             {".js", "application/javascript"},
      {".json", "application/json"},    {".xml", "application/xml"},
      {".txt", "text/plain"},           {".svg", "image/svg+xml"},
      {".png", "image/png"},            {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},          {".gif", "image/gif"},
      {".ico", "image/vnd.microsoft.icon"}, {".webp", "image/webp"},
      {".woff", "font/woff"},           {".woff2", "font/woff2"},
      {".pdf", "application/pdf"},      {".zip", "application/zip"},
      {".gz", "application/gzip"},      {".sql", "application/sql"},
      {".bak", "application/x-trash"},  {".env", "text/plain"},
  };
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// mod_mime as Debian's Apache sets it up: /etc/mime.types (TypesConfig; Debian's media-types
// package), then mime.conf's AddType lines and its RemoveType of "es" and "tr". Extension
// (lowercase, no dot) to type; empty when the file cannot be read (the table above then).
const std::unordered_map<std::string, std::string>& debianMimeTypes() {
  static const auto* types = [] {
    auto* m = new std::unordered_map<std::string, std::string>();
    std::ifstream in("/etc/mime.types");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream words(line);
      std::string type, ext;
      if (!(words >> type)) continue;
      while (words >> ext) {
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        (*m)[ext] = type;  // a later line wins, as mod_mime reads the file
      }
    }
    if (m->empty()) return m;
    for (const char* ext : {"gz", "tgz"}) (*m)[ext] = "application/x-gzip";
    (*m)["z"] = "application/x-compress";
    (*m)["bz2"] = "application/x-bzip2";
    (*m)["shtml"] = "text/html";
    m->erase("es");
    m->erase("tr");
    return m;
  }();
  return *types;
}

// The type mod_mime gives a file name (its last path segment): every extension after the first
// dot is looked at and the last one with a type wins ("x.tar.gz", "x.html.qqq"). Empty: none
// (Apache then sends no Content-Type), or mime.types is not there (`fallback` is used).
// Languages and charsets (".en", ".utf8") are not imitated.
std::string apacheTypeOf(std::string_view name, const std::string& fallback) {
  const auto& types = debianMimeTypes();
  if (types.empty()) return fallback;
  std::string type;
  // Leading dots belong to the base name: ".json" and "..html" have no extension.
  const size_t base = name.find_first_not_of('.');
  size_t at = base == std::string_view::npos ? base : name.find('.', base);
  while (at != std::string_view::npos) {
    const size_t next = name.find('.', at + 1);
    std::string ext(name.substr(at + 1, next == std::string_view::npos ? next : next - at - 1));
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (auto it = types.find(ext); it != types.end()) type = it->second;
    at = next;
  }
  return type;
}

// nginx's own mime.types (Debian's nginx-common) where it differs from the above; what it does
// not list is its default_type, application/octet-stream.
std::string nginxContentTypeFor(const std::string& ext, const std::string& apache_type) {
  if (ext == ".xml") return "text/xml";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".gz" || ext == ".sql" || ext == ".bak" || ext == ".env") {
    return "application/octet-stream";
  }
  return apache_type;
}

// The types Debian's deflate.conf hands to mod_deflate.
bool apacheDeflates(std::string_view type) {
  type = type.substr(0, type.find(';'));
  for (std::string_view t :
       {"text/html", "text/plain", "text/xml", "text/css", "text/javascript",
        "application/x-javascript", "application/javascript", "application/ecmascript",
        "application/rss+xml", "application/wasm", "application/xml"}) {
    if (type == t) return true;
  }
  return false;
}

bool isNginx(const http::Persona& persona) { return persona.name == "nginx"; }

// Apache's Allow: its method registry is a hash table seeded at start, so the list comes in
// one of four rotations, the same for the life of the server (measured over restarts). Ours is
// picked once per process.
const std::string& apacheAllow() {
  static const std::string allow = [] {
    static const char* kRotations[] = {"GET,POST,OPTIONS,HEAD", "POST,OPTIONS,HEAD,GET",
                                       "OPTIONS,HEAD,GET,POST", "HEAD,GET,POST,OPTIONS"};
    return std::string(kRotations[std::random_device{}() % 4]);
  }();
  return allow;
}

// ngx_http_set_etag(): "%xT-%xO", the modification time in seconds, then the size.
std::string nginxEtag(uint64_t size, int64_t mtime_s) {
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime_s),
                static_cast<unsigned long long>(size));
  return etag;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string replaceToken(const std::string& body, std::string_view message) {
  size_t pos = body.find(kMessageToken);
  if (pos == std::string::npos) return body;
  std::string out;
  out.reserve(body.size() + message.size());
  out.append(body, 0, pos);
  out.append(message);
  out.append(body, pos + kMessageToken.size());
  return out;
}

// If-None-Match: "*", or a list of (possibly weak) entity tags compared weakly.
// `strong`: a weak tag (W/"...") never matches.
bool etagMatches(std::string_view header, std::string_view etag, bool strong = false) {
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    std::string_view tag = header.substr(i, j - i);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag == "*") return true;
    const bool weak = tag.substr(0, 2) == "W/";
    if (weak) tag.remove_prefix(2);
    if (!tag.empty() && tag == etag && !(weak && strong)) return true;
    i = j + 1;
  }
  return false;
}

}  // namespace

Site::Backslash Site::backslashOf(const http::Persona& persona) {
  return persona.name == "apache" || persona.name == "nginx" ? Backslash::kLiteral
                                                             : Backslash::kSeparator;
}

bool Site::hasEncodedSlash(std::string_view target) {
  const std::string_view path =
      target.substr(0, std::min(target.find_first_of("?#"), target.size()));
  return path.find("%2f") != std::string_view::npos || path.find("%2F") != std::string_view::npos;
}

std::string Site::normalizePath(std::string_view target, AboveRoot above_root,
                                Backslash backslash) {
  // Absolute-form targets ("http://host/path") carry the path after the authority, which ends
  // at the first '/', '?' or '#'.
  auto startsWithNoCase = [&](std::string_view prefix) {
    return target.size() >= prefix.size() && http::iequals(target.substr(0, prefix.size()), prefix);
  };
  if (startsWithNoCase("http://") || startsWithNoCase("https://")) {
    size_t end = target.find_first_of("/?#", target.find("//") + 2);
    if (end == std::string_view::npos || target[end] != '/') {
      target = end == std::string_view::npos ? std::string_view("/") : target.substr(end);
      if (!target.empty() && target[0] != '/') return "/";
    } else {
      target = target.substr(end);
    }
  }
  target = target.substr(0, target.find_first_of("?#"));
  std::string decoded;
  decoded.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size()) {
      int hi = hexValue(target[i + 1]);
      int lo = hexValue(target[i + 2]);
      if (hi >= 0 && lo >= 0) {
        decoded += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    decoded += target[i];
  }
  if (decoded.find('\0') != std::string::npos) return "";
  std::vector<std::string> segs;
  size_t i = 0;
  const char* separators = backslash == Backslash::kSeparator ? "/\\" : "/";
  bool trailing = !decoded.empty() && std::strchr(separators, decoded.back()) != nullptr;
  while (i <= decoded.size()) {
    size_t j = decoded.find_first_of(separators, i);
    if (j == std::string::npos) j = decoded.size();
    std::string seg = decoded.substr(i, j - i);
    // A last "." or ".." leaves the folder, with its slash (RFC 3986 5.2.4; both servers).
    if (j == decoded.size() && (seg == "." || seg == "..")) trailing = true;
    if (seg == "..") {
      if (segs.empty() && above_root == AboveRoot::kRefuse) return "";
      if (!segs.empty()) segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& s : segs) out += "/" + s;
  if (out.empty() || trailing) out += "/";
  return out;
}

core::Result<Site> Site::load(const std::string& root, uint64_t max_file_bytes) {
  Site site;
  site.root_ = root;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return core::Status::notFound("site.root: " + root + " is not a folder");
  }
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path rel = fs::relative(it->path(), root, ec);
    const std::string url = "/" + rel.generic_string();
    if (url == "/site.toml") continue;  // the manifest is never served
    const uint64_t size = it->file_size(ec);
    if (size > max_file_bytes) continue;
    std::ifstream in(it->path(), std::ios::binary);
    if (!in) return core::Status::ioError("site: cannot read " + it->path().string());
    std::ostringstream ss;
    ss << in.rdbuf();
    File f;
    f.body = ss.str();
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    // Apache's type from Debian's mime.types (.php pages are mod_php's, text/html); a name it
    // has no type for keeps the table's for IIS, and Apache sends none.
    f.content_type = contentTypeFor(ext);
    if (ext != ".php") {
      std::string t = apacheTypeOf(it->path().filename().string(), f.content_type);
      if (!t.empty()) {
        f.content_type = std::move(t);
      } else {
        f.apache_untyped = true;  // only when mime.types was read (else `t` is the table's)
      }
    }
    f.nginx_content_type = nginxContentTypeFor(ext, contentTypeFor(ext));
    // .php pages and any page with a {{message}} slot are rendered, not served as stored.
    f.dynamic = ext == ".php" || f.body.find(kMessageToken) != std::string::npos;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) == 0) {
      f.mtime = st.st_mtime;
      const uint64_t mtime_us =
          static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
      f.etag = etagOf(f.body.size(), mtime_us);
      f.nginx_etag = nginxEtag(f.body.size(), st.st_mtime);
      f.last_modified = http::httpDate(st.st_mtime);
    }
    site.files_.emplace(url, std::move(f));
  }
  if (ec) return core::Status::ioError("site: cannot list " + root + ": " + ec.message());
  if (site.files_.empty()) return core::Status::notFound("site.root: " + root + " has no files");

  const std::string manifest = root + "/site.toml";
  if (fs::exists(manifest, ec)) {
    try {
      const auto data = toml::parse(manifest);
      if (data.contains("post")) {
        for (const auto& p : toml::find(data, "post").as_array()) {
          PostRoute r;
          const auto path = toml::find<std::string>(p, "path");
          r.page = toml::find<std::string>(p, "page");
          r.status = toml::find_or<int>(p, "status", 200);
          r.message = toml::find_or<std::string>(p, "message", "");
          if (!site.files_.count("/" + r.page)) {
            return core::Status::invalidArgument(
                toml::format_error(manifest + ": post page '" + r.page + "' is not in the site",
                                   p, "this entry"));
          }
          site.posts_[path] = std::move(r);
        }
      }
    } catch (const std::exception& e) {
      return core::Status::invalidArgument(std::string("site manifest: ") + e.what());
    }
  }
  return site;
}

namespace {
std::string etagFor(size_t size, int64_t mtime, const std::string& body) {
  // Size and a hash of the content, so that a rewritten body gets a new validator.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) h = (h ^ c) * 1099511628211ull;
  return Site::etagOf(size, (static_cast<uint64_t>(mtime) << 20) ^ (h & 0xFFFFFFFFFFFFull));
}
}  // namespace

std::string Site::etagOf(uint64_t size, uint64_t mtime_us) {
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime_us));
  return etag;
}

std::string Site::etagOf(const http::Persona& persona, uint64_t size, uint64_t mtime_us) {
  if (!isNginx(persona)) return etagOf(size, mtime_us);
  return nginxEtag(size, static_cast<int64_t>(mtime_us / 1000000));
}

std::string Site::staticTypeOf(const http::Persona& persona, std::string_view path,
                               std::string_view configured) {
  if (persona.name == "apache") {
    // mod_mime's type of the name; none (no Content-Type) where Debian's mime.types has none.
    return apacheTypeOf(path.substr(path.rfind('/') + 1), std::string(configured));
  }
  if (!isNginx(persona)) return std::string(configured);
  const std::string_view name = path.substr(path.rfind('/') + 1);
  const size_t dot = name.rfind('.');  // as nginx: a leading dot ("/.env") starts no extension
  std::string ext(dot == std::string_view::npos || dot == 0 ? std::string_view()
                                                            : name.substr(dot));
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return nginxContentTypeFor(ext, contentTypeFor(ext));
}

bool Site::variesOnEncoding(const http::Persona& persona, std::string_view content_type,
                            size_t body_size) {
  if (persona.name == "apache") {
    // mod_deflate passes a response of up to sizeof(gzip_header) + VALIDATION_SIZE + 50 = 68
    // bytes on untouched (no Vary); measured against Apache 2.4 on Debian.
    return body_size > 68 && apacheDeflates(content_type);
  }
  if (isNginx(persona)) return false;
  // IIS (not measured): text, scripts and XML, as before.
  return content_type.substr(0, 5) == "text/" ||
         content_type.find("javascript") != std::string_view::npos ||
         content_type.find("xml") != std::string_view::npos;
}

void Site::rewrite(
    const std::function<void(const std::string&, std::string&, const std::string&)>& fn) {
  for (auto& [url, f] : files_) {
    const std::string before = f.body;
    fn(url, f.body, f.content_type);
    if (f.body != before) {
      f.etag = etagFor(f.body.size(), f.mtime, f.body);
      // nginx's validator has no room for the content: its size and the file's time, as a
      // real nginx would give for the same file (Last-Modified must agree with it).
      f.nginx_etag = nginxEtag(f.body.size(), f.mtime);
    }
  }
}

void Site::addFile(const std::string& url, std::string body, const std::string& content_type) {
  File f;
  f.body = std::move(body);
  f.content_type = content_type;
  f.nginx_content_type = content_type;
  f.mtime = static_cast<int64_t>(std::time(nullptr));
  f.last_modified = http::httpDate(f.mtime);
  f.etag = etagFor(f.body.size(), f.mtime, f.body);
  f.nginx_etag = nginxEtag(f.body.size(), f.mtime);
  files_[url] = std::move(f);
}

const std::string* Site::file(std::string_view path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second.body;
}

bool Site::htFile(const std::string& path) const {
  // FilesMatch sees the name where Apache's walk stops.
  return walkStop(path).substr(0, 3) == ".ht";
}

std::string_view Site::walkStop(const std::string& path) const {
  size_t begin = 1;
  while (begin < path.size()) {
    const size_t end = std::min(path.find('/', begin), path.size());
    const std::string folder = path.substr(0, end + 1);
    auto it = files_.lower_bound(folder);
    const bool is_folder =
        end < path.size() && it != files_.end() && it->first.compare(0, folder.size(), folder) == 0;
    if (!is_folder) return std::string_view(path).substr(begin, end - begin);
    begin = end + 1;
  }
  return {};
}

Site::Resolved Site::resolve(const std::string& path) const {
  Resolved r;
  if (path.empty()) return r;
  auto folder = [&](const std::string& dir) {  // "/x/": a file below it exists
    auto it = files_.lower_bound(dir);
    return it != files_.end() && it->first.compare(0, dir.size(), dir) == 0;
  };
  if (path.back() == '/') {
    for (const char* index : {"index.html", "index.php"}) {
      auto it = files_.find(path + index);
      if (it != files_.end()) return {Found::kFile, &it->second};
    }
    if (folder(path)) return {Found::kFolderWithoutIndex, nullptr};
  } else {
    auto it = files_.find(path);
    if (it != files_.end()) return {Found::kFile, &it->second};
    if (folder(path + "/")) return {Found::kFolderWithoutSlash, nullptr};
  }
  // A file named by a leading part of the path: what follows is its path info.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    auto it = files_.find(std::string_view(path).substr(0, slash));
    if (it != files_.end()) return {Found::kBelowAFile, &it->second};
  }
  return r;
}

http::Response Site::serveFile(const File& f, const core::HttpRequestData& req,
                               const http::Persona& persona, std::string_view message) const {
  http::Response r;
  r.status = 200;
  const bool nginx = isNginx(persona);
  static const std::string kNone;
  const std::string& content_type = nginx ? f.nginx_content_type
                                    : persona.name == "apache" && f.apache_untyped ? kNone
                                                                                   : f.content_type;
  if (f.dynamic) {
    r.body = replaceToken(f.body, message);
    r.headers.push_back({"Expires", "Thu, 19 Nov 1981 08:52:00 GMT"});
    r.headers.push_back({"Cache-Control", "no-store, no-cache, must-revalidate"});
    r.headers.push_back({"Pragma", "no-cache"});
    if (variesOnEncoding(persona, content_type, r.body.size())) {
      r.headers.push_back({"Vary", "Accept-Encoding"});
    }
    if (!content_type.empty()) r.headers.push_back({"Content-Type", content_type});
    return r;
  }
  const std::string& etag = nginx ? f.nginx_etag : f.etag;
  if (notModified(req, persona, etag, f.last_modified)) {
    r.status = 304;
    r.headers.push_back({"Last-Modified", f.last_modified});
    r.headers.push_back({"ETag", etag});
    if (!nginx) r.headers.push_back({"Accept-Ranges", "bytes"});  // Apache keeps it on a 304
    return r;
  }
  r.static_body = f.body;  // the site outlives the server
  r.headers.push_back({"Last-Modified", f.last_modified});
  r.headers.push_back({"ETag", etag});
  r.headers.push_back({"Accept-Ranges", "bytes"});
  if (variesOnEncoding(persona, content_type, f.body.size())) {
    r.headers.push_back({"Vary", "Accept-Encoding"});
  }
  if (!content_type.empty()) r.headers.push_back({"Content-Type", content_type});
  return r;
}

http::Response Site::error(int status, const core::HttpRequestData& req,
                           const http::Persona& persona, uint16_t port, std::string_view local_ip) {
  http::Response r;
  r.status = status;
  r.body = http::errorPage(persona, status, http::pageHost(persona, req, local_ip),
                           persona.name == "apache" ? http::pagePort(persona, req, port) : port,
                           req.method);
  r.headers.push_back({"Content-Type", persona.name == "apache" ? "text/html; charset=iso-8859-1"
                                                                : "text/html"});
  // Apache makes no page for a HEAD, so it knows no length (measured).
  r.unknown_length = persona.name == "apache" && req.method == "HEAD";
  return r;
}

bool Site::notModified(const core::HttpRequestData& req, const http::Persona& persona,
                       std::string_view etag, std::string_view last_modified) {
  const std::string* inm = http::findHeader(req.headers, "If-None-Match");
  const std::string* ims = http::findHeader(req.headers, "If-Modified-Since");
  const bool ranged = persona.name == "apache" && http::findHeader(req.headers, "Range");
  if (!ranged) return (inm && etagMatches(*inm, etag)) || (!inm && ims && *ims == last_modified);
  if (http::findHeader(req.headers, "If-Range")) return false;
  if (inm) return etagMatches(*inm, etag, /*strong=*/true);
  if (!ims || *ims != last_modified) return false;
  const std::optional<int64_t> mtime = http::parseHttpDate(std::string(last_modified));
  return mtime && static_cast<int64_t>(std::time(nullptr)) - *mtime >= 60;
}

std::string Site::redirectOrigin(const core::HttpRequestData& req, const http::Persona& persona,
                                 uint16_t port, bool tls, std::string_view local_ip) {
  const http::Authority a = http::authorityOf(req);
  std::string origin = tls ? "https://" : "http://";
  if (!a.name.empty()) {
    origin.append(a.name);
  } else if (local_ip.find(':') != std::string_view::npos) {
    origin.append("[").append(local_ip).append("]");
  } else {
    origin.append(local_ip);
  }
  // Apache keeps the port the client named.
  const uint16_t n = !isNginx(persona) && a.port ? *a.port : port;
  if (n != (tls ? 443u : 80u)) origin.append(":").append(std::to_string(n));
  return origin;
}

http::Response Site::movedPermanently(const std::string& path, const core::HttpRequestData& req,
                                      const http::Persona& persona, uint16_t port, bool tls,
                                      std::string_view local_ip) {
  http::Response r = error(301, req, persona, port, local_ip);
  // The query goes along (mod_dir: even an empty one; nginx's "$uri/?$args": a non-empty one).
  std::string location = redirectOrigin(req, persona, port, tls, local_ip) + path;
  // (Up to a fragment, which nginx drops; Apache refuses one before.)
  const std::string_view target(req.target);
  const std::string_view before_fragment =
      target.substr(0, std::min(target.find('#'), target.size()));
  if (const size_t q = before_fragment.find('?');
      q != std::string::npos && (!isNginx(persona) || q + 1 < before_fragment.size())) {
    location.append(before_fragment.substr(q));
  }
  for (char& c : location) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7F) c = '_';  // no header injection
  }
  if (persona.name == "apache") {
    r.body =
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"
        "<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n"
        "<p>The document has moved <a href=\"" +
        http::htmlEscape(location) + "\">here</a>.</p>\n<hr>\n<address>" +
        http::htmlEscape(persona.server_header) + " Server at " +
        http::htmlEscape(http::pageHost(persona, req, local_ip)) + " Port " +
        std::to_string(http::pagePort(persona, req, port)) + "</address>\n</body></html>\n";
  }
  r.headers.insert(r.headers.begin(), {"Location", location});
  return r;
}

http::Response Site::handle(const core::HttpRequestData& req, const http::Persona& persona,
                            uint16_t port, bool tls, std::string_view local_ip) const {
  const Ask a{req, persona, port, tls, local_ip};
  const std::string path = normalizePath(req.target, AboveRoot::kRefuse, backslashOf(persona));
  if (persona.name == "apache") return handleApache(a, path);
  if (path.empty()) return error(400, a);
  return isNginx(persona) ? handleNginx(a, path) : handleOther(a, path);
}

std::optional<http::Response> Site::postRoute(const Ask& a, const std::string& path) const {
  auto post = posts_.find(path);
  if (post == posts_.end()) return std::nullopt;
  const File& page = files_.at("/" + post->second.page);
  http::Response r = serveFile(page, a.req, a.persona, post->second.message);
  r.status = post->second.status;
  return r;
}

// Apache 2.4 with Debian's modules and security.conf (TraceEnable Off), a folder without
// Options Indexes; measured method by method against 2.4.71 (tests/integration/test_methods.py).
// The phases in Apache's order: the request line (TRACE, CONNECT), mod_dir's fixup (the folder
// redirect, whatever the method), then the default handler.
http::Response Site::handleApache(const Ask& a, const std::string& path) const {
  const std::string& m = a.req.method;
  // A request line it refuses: the page names the server itself, not the request's host.
  auto badLine = [&] {
    http::Response r = error(400, a);
    r.body = http::errorPage(a.persona, 400, a.local_ip, a.port);
    return r;
  };
  // A fragment ('#' anywhere in the target, the query's too): Apache's URI parser refuses it,
  // whatever the method (measured: 400, the same page and Connection: close as "GET *").
  if (a.req.target.find('#') != std::string::npos) return badLine();
  if (a.req.target == "*") {  // the server itself: only OPTIONS asks about it
    if (m != "OPTIONS") return badLine();
    http::Response r;
    r.status = 200;
    return r;
  }
  if (m == "CONNECT") {
    // Without mod_proxy: a host and port is a method not allowed here (the page names the
    // port asked for), a path a bad request.
    if (!a.req.target.empty() && a.req.target[0] != '/') {
      const std::string_view t = a.req.target;
      uint64_t target_port = 0;
      const size_t colon = t.rfind(':');
      if (colon == std::string_view::npos ||
          !core::parseDigits(t.substr(colon + 1), &target_port) || target_port > 65535) {
        target_port = a.port;
      }
      http::Response r = error(405, a);
      r.body = http::errorPage(a.persona, 405, http::pageHost(a.persona, a.req, a.local_ip),
                               static_cast<uint16_t>(target_port), m);
      r.headers.insert(r.headers.begin(), {"Allow", apacheAllow()});
      return r;
    }
    return badLine();
  }
  // AllowEncodedSlashes Off: an encoded slash in the path is a file that is not there, before
  // the method is (TRACE too).
  if (hasEncodedSlash(a.req.target)) return error(404, a);
  if (m == "TRACE") {  // refused before the path is looked up, and nothing is said allowed
    http::Response r = error(405, a);
    r.headers.insert(r.headers.begin(), {"Allow", ""});
    return r;
  }
  if (path.empty()) {  // a NUL is a file that is not there, above the root a bad request
    return error(
        normalizePath(a.req.target, AboveRoot::kStay, Backslash::kLiteral).empty() ? 404 : 400, a);
  }
  // A path that makes a file name longer than the system takes (PATH_MAX, with the
  // DocumentRoot before it), or a walk through the folders that stops at a name longer than a
  // folder holds (NAME_MAX): refused (403, "File name too long"), where a shorter missing name
  // is a 404 (measured).
  if (kDocumentRoot.size() + path.size() >= kMaxFilePath || walkStop(path).size() > kMaxFileName) {
    return error(403, a);
  }
  // Debian's apache2.conf denies ".ht*" files (FilesMatch "^\.ht"), its status.conf
  // /server-status to all but local clients (and a honeypot's are remote): refused (403) before
  // any handler, whatever the method.
  if (path == "/server-status" || path.rfind("/server-status/", 0) == 0 || htFile(path)) {
    return error(403, a);
  }
  Resolved found = resolve(path);
  // alias.conf maps /icons/ to Apache's icon folder (and its small/), without Options Indexes.
  if (path == "/icons/" || path == "/icons/small/") found = {Found::kFolderWithoutIndex, nullptr};
  if (path == "/icons/small") found = {Found::kFolderWithoutSlash, nullptr};
  if (found.found == Found::kFolderWithoutSlash) {
    return movedPermanently(path + "/", a.req, a.persona, a.port, a.tls, a.local_ip);
  }
  // The methods Apache knows without modules (ap_method_registry_init()); HEAD is a GET.
  // clang-format off
  static const char* kKnown[] = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "PROPPATCH",
      "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL", "CHECKOUT", "UNCHECKOUT",
      "CHECKIN", "UPDATE", "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY", "BASELINE-CONTROL",
      "MERGE"};
  // clang-format on
  if (std::find(std::begin(kKnown), std::end(kKnown), m) == std::end(kKnown)) {
    http::Response r = error(501, a);
    r.headers.insert(r.headers.begin(), {"Allow", apacheAllow()});
    return r;
  }
  if (m == "OPTIONS") {
    // The type is the file's (a folder's index, or the file above path info), a folder's own
    // without an index; nothing where nothing is.
    http::Response r;
    r.status = 200;
    r.headers.push_back({"Allow", apacheAllow()});
    if (found.file != nullptr && !found.file->apache_untyped) {
      r.headers.push_back({"Content-Type", found.file->content_type});
    }
    if (found.found == Found::kFolderWithoutIndex) {
      r.headers.push_back({"Content-Type", "httpd/unix-directory"});
    }
    if (found.found == Found::kMissing) {
      // mod_mime types the name even where nothing is: the one where the walk stopped
      // ("/a.b/x.c" is typed by "a.b").
      const std::string_view name = walkStop(path);
      const size_t dot = name.rfind('.');
      if (dot != std::string_view::npos) {
        std::string ext(name.substr(dot));
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        std::string type = contentTypeFor(ext);
        if (type == "application/octet-stream") type.clear();
        type = apacheTypeOf(name, type);
        if (!type.empty() && ext != ".php") {
          r.headers.push_back({"Content-Type", type});
        }
      }
    }
    return r;
  }
  if (m != "GET" && m != "HEAD" && m != "POST") {  // whether the path exists or not
    http::Response r = error(405, a);
    r.headers.insert(r.headers.begin(), {"Allow", apacheAllow()});
    return r;
  }
  if (m == "POST") {
    if (auto r = postRoute(a, path)) return std::move(*r);
  }
  // mod_autoindex refuses a folder without an index to a GET; the default handler finds no
  // file there for a POST.
  if (found.found == Found::kFolderWithoutIndex && m != "POST") return error(403, a);
  if (found.found != Found::kFile) return error(404, a);
  return serveFile(*found.file, a.req, a.persona, "");  // a POST gets the file too
}

// nginx 1.22 as Debian configures it (index index.html, no autoindex); measured
// (tests/integration/test_methods.py).
http::Response Site::handleNginx(const Ask& a, const std::string& path) const {
  const std::string& m = a.req.method;
  // A method is capitals, '_' and '-' (else 400); CONNECT's host and port, and "*", are request
  // lines 1.22 does not parse (400). Its static files take GET, HEAD and POST only: anything else,
  // OPTIONS and unknown methods included, is 405, without Allow.
  if (m.empty() || m.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != std::string::npos ||
      (m == "CONNECT" && !a.req.target.empty() && a.req.target[0] != '/') || a.req.target == "*") {
    return error(400, a);
  }
  if (m != "GET" && m != "HEAD" && m != "POST") return error(405, a);
  if (m == "POST") {
    if (auto r = postRoute(a, path)) return std::move(*r);
  }
  const Resolved found = resolve(path);
  switch (found.found) {
    case Found::kFolderWithoutSlash:
      return movedPermanently(path + "/", a.req, a.persona, a.port, a.tls, a.local_ip);
    case Found::kFolderWithoutIndex:
      return error(403, a);
    case Found::kFile:
      if (m == "POST" && !found.file->dynamic) return error(405, a);
      return serveFile(*found.file, a.req, a.persona, "");
    default:
      return error(404, a);
  }
}

bool Site::answersBeforeBody(const core::HttpRequestData& req, const http::Persona& persona) const {
  if (!isNginx(persona)) return false;
  // handleNginx(): only a POST to a form's target, or a PHP page, reaches the application;
  // other methods are refused (400, 405) before the path is looked at.
  const std::string& m = req.method;
  if (m != "GET" && m != "HEAD" && m != "POST") return true;
  const std::string path = normalizePath(req.target, AboveRoot::kRefuse, backslashOf(persona));
  if (path.empty()) return true;  // 400
  if (m == "POST" && posts_.count(path) != 0) return false;
  const Resolved found = resolve(path);
  return !(found.found == Found::kFile && found.file->dynamic);
}

// IIS (never measured): the common answers.
http::Response Site::handleOther(const Ask& a, const std::string& path) const {
  const std::string& m = a.req.method;
  static const std::string kAllow = "GET,POST,OPTIONS,HEAD";
  if (m == "OPTIONS") {
    http::Response r;
    r.status = 200;
    r.headers.push_back({"Allow", kAllow});
    r.headers.push_back({"Content-Type", "text/html"});
    return r;
  }
  if (m == "POST") {
    if (auto r = postRoute(a, path)) return std::move(*r);
  }
  const Resolved found = resolve(path);
  if (found.found == Found::kFolderWithoutSlash && (m == "GET" || m == "HEAD")) {
    return movedPermanently(path + "/", a.req, a.persona, a.port, a.tls, a.local_ip);
  }
  static const char* kKnown[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT",
                                 "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
                                 "LOCK", "UNLOCK"};
  if (std::find(std::begin(kKnown), std::end(kKnown), m) == std::end(kKnown)) {
    return error(501, a);
  }
  if (found.found != Found::kFile) return error(404, a);
  const File& f = *found.file;
  if (m == "GET" || m == "HEAD" || (m == "POST" && f.dynamic)) {
    return serveFile(f, a.req, a.persona, "");
  }
  http::Response r = error(405, a);
  r.headers.insert(r.headers.begin(), {"Allow", kAllow});
  return r;
}

}  // namespace drosera::sensor
