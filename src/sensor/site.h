// The decoy web site: a folder of pages served like a small real application, with POST
// handling described by the folder's site.toml. Files are read once at load time (bounded), so
// a request never touches the file system. Thread-safety: read-only after load(); handle() may
// be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/capture.h"
#include "core/status.h"
#include "http/response.h"

namespace drosera::sensor {

class Site {
 public:
  // Loads `root`; errors name the file (site.toml problems name the line).
  static core::Result<Site> load(const std::string& root, uint64_t max_file_bytes);

  // The answer to a well-formed request, as the persona's server would give it.
  // `port`, `tls` and `local_ip`: our side of the connection (error pages and redirects name it).
  http::Response handle(const core::HttpRequestData& request, const http::Persona& persona,
                        uint16_t port, bool tls = false,
                        std::string_view local_ip = "127.0.0.1") const;

  // Whether the persona's server answers the request itself, before its body is in: nginx for
  // what its own modules serve (a static file, an error, a redirect), not for a page of the
  // application (a PHP page, a form's target), which gets the body first. Apache and the
  // others read the body first (false).
  bool answersBeforeBody(const core::HttpRequestData& request, const http::Persona& persona) const;

  // The body of a site file by URL path ("/robots.txt"), or nullptr.
  const std::string* file(std::string_view path) const;
  size_t fileCount() const { return files_.size(); }
  const std::string& root() const { return root_; }

  // Rewrites file bodies once, at start (the honeytraps lay their static baits this way);
  // validators (ETag) are recomputed. `fn(url, body, content_type)`.
  void rewrite(const std::function<void(const std::string&, std::string&, const std::string&)>& fn);
  // Adds (or replaces) a file, e.g. a robots.txt for a site that has none.
  void addFile(const std::string& url, std::string body, const std::string& content_type);

  // Percent-decodes the path of a request target (its path part, for an absolute-form one) and
  // resolves "." and ".." segments (a last one leaves a trailing slash), '\\' a separator
  // too; "" for a NUL. A ".." above the root
  // makes it "" (kRefuse: the site answers 400), or does nothing (kStay: as ModSecurity's
  // t:normalizePath, for the trap rules).
  // kLiteral: '\\' is a character like any other, as for Apache and nginx on Linux (measured:
  // "/a%5c..%5cindex.html" is no path to index.html there).
  enum class AboveRoot { kRefuse, kStay };
  enum class Backslash { kSeparator, kLiteral };
  static std::string normalizePath(std::string_view target,
                                   AboveRoot above_root = AboveRoot::kRefuse,
                                   Backslash backslash = Backslash::kSeparator);
  // Whether the path of a request target (before '?' or '#') holds an encoded slash ("%2f"),
  // which Apache (AllowEncodedSlashes Off) answers 404 before looking for any file.
  static bool hasEncodedSlash(std::string_view target);
  // How the persona's server takes a backslash in a path (IIS: a separator).
  static Backslash backslashOf(const http::Persona& persona);
  // A file's ETag as the persona's server makes it from its size and modification time:
  // nginx "<mtime seconds>-<size>", Apache (and the others) "<size>-<mtime microseconds>", in hex.
  static std::string etagOf(const http::Persona& persona, uint64_t size, uint64_t mtime_us);
  // Apache's format.
  static std::string etagOf(uint64_t size, uint64_t mtime_us);
  // The Content-Type of a static file at `path` as the persona's server sends it: nginx by the
  // extension in its own mime.types (else its default_type, application/octet-stream), Apache
  // by Debian's mime.types as mod_mime reads the name ("": none, and no header; `configured`
  // without the file), IIS `configured`.
  static std::string staticTypeOf(const http::Persona& persona, std::string_view path,
                                  std::string_view configured);
  // Whether a file's answer carries "Vary: Accept-Encoding": Apache's mod_deflate adds it for
  // the types Debian's deflate.conf names, when the body is over 68 bytes (smaller ones it
  // leaves alone); nginx's gzip_vary is off; IIS: for text, scripts and XML.
  static bool variesOnEncoding(const http::Persona& persona, std::string_view content_type,
                               size_t body_size);
  // Whether a conditional GET of a file with these validators is answered 304 (If-None-Match,
  // else If-Modified-Since, as the site's own files are). Apache, when the request has a Range:
  // never with an If-Range, If-None-Match compared strongly, and If-Modified-Since only once
  // the file is a minute old (ap_meets_conditions(); measured).
  static bool notModified(const core::HttpRequestData& req, const http::Persona& persona,
                          std::string_view etag, std::string_view last_modified);
  // The server's own 301 to `path` on the request's host (a folder without its slash): the
  // persona's page, as for any other redirect of the site (the honeytraps' login folders too).
  // Its Location is absolute, as the server makes it (redirectOrigin()).
  static http::Response movedPermanently(const std::string& path, const core::HttpRequestData& req,
                                         const http::Persona& persona, uint16_t port, bool tls,
                                         std::string_view local_ip);
  // "scheme://host[:port]" of a redirect, measured against Apache 2.4 (a virtual host per port,
  // UseCanonicalName Off) and nginx 1.22 (absolute_redirect, port_in_redirect): https on TLS;
  // the Host header's name (our address without one); the port the Host header names
  // (Apache) or the one the connection came to (nginx; Apache without one in Host), left out
  // when it is the scheme's default.
  static std::string redirectOrigin(const core::HttpRequestData& req, const http::Persona& persona,
                                    uint16_t port, bool tls, std::string_view local_ip);

 private:
  struct File {
    std::string body;
    std::string content_type;        // as Apache sends it (Debian's /etc/mime.types)
    std::string nginx_content_type;  // as nginx sends it (its own mime.types)
    // Debian's mime.types has no type for the name: Apache sends no Content-Type (IIS, not
    // measured, keeps content_type, the built-in table's).
    bool apache_untyped = false;
    std::string etag;                // Apache's
    std::string nginx_etag;
    std::string last_modified;
    int64_t mtime = 0;
    bool dynamic = false;  // .php: rendered, no validators
  };
  struct PostRoute {
    std::string page;
    int status = 200;
    std::string message;
  };

  // What a path names: a file (a folder's index for "/dir/"), a folder without an index, a
  // folder named without its slash, something below a file ("/a.html/x": `file` is a.html), or
  // nothing.
  enum class Found { kMissing, kFile, kFolderWithoutIndex, kFolderWithoutSlash, kBelowAFile };
  struct Resolved {
    Found found = Found::kMissing;
    const File* file = nullptr;
  };
  Resolved resolve(const std::string& path) const;
  // Debian's apache2.conf denies ".ht*" files (FilesMatch "^\.ht"): whether `path` names one.
  bool htFile(const std::string& path) const;
  // The part of `path` where Apache's directory walk stops: the first that is not a folder
  // (what follows it is path info, or nothing was found); empty when every part is a folder.
  std::string_view walkStop(const std::string& path) const;
  // Where an answer's context is passed around whole.
  struct Ask {
    const core::HttpRequestData& req;
    const http::Persona& persona;
    uint16_t port;
    bool tls;
    std::string_view local_ip;
  };
  http::Response handleApache(const Ask& a, const std::string& path) const;
  http::Response handleNginx(const Ask& a, const std::string& path) const;
  http::Response handleOther(const Ask& a, const std::string& path) const;
  // The page of a POST route at `path`, if there is one.
  std::optional<http::Response> postRoute(const Ask& a, const std::string& path) const;

  http::Response serveFile(const File& f, const core::HttpRequestData& req,
                           const http::Persona& persona, std::string_view message) const;
  static http::Response error(int status, const core::HttpRequestData& req,
                              const http::Persona& persona, uint16_t port,
                              std::string_view local_ip);
  static http::Response error(int status, const Ask& a) {
    return error(status, a.req, a.persona, a.port, a.local_ip);
  }

  std::string root_;
  std::map<std::string, File, std::less<>> files_;  // URL path -> file
  std::map<std::string, PostRoute, std::less<>> posts_;
};

}  // namespace drosera::sensor
