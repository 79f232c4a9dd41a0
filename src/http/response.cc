#include "http/response.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string>

#include "core/digits.h"
#include "http/parser.h"

namespace drosera::http {

Persona makePersona(std::string_view name, std::string_view server_header) {
  Persona p;
  if (name == "nginx") {
    p = {"nginx", "nginx/1.22.1"};
  } else if (name == "iis") {
    p = {"iis", "Microsoft-IIS/10.0"};
  } else {
    p = {"apache", "Apache/2.4.62 (Debian)"};
  }
  if (!server_header.empty()) p.server_header = std::string(server_header);
  return p;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 416: return "Requested Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

Authority authorityOf(const core::HttpRequestData& req) {
  // An absolute-form target names the server itself; else the Host header.
  std::string_view a;
  const std::string_view t = req.target;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (t.size() > scheme.size() && iequals(t.substr(0, scheme.size()), scheme)) {
      a = t.substr(scheme.size());
      a = a.substr(0, std::min(a.find('/'), a.find('?')));
      break;
    }
  }
  if (a.empty()) {
    if (const std::string* h = findHeader(req.headers, "Host")) a = *h;
  }
  Authority out;
  std::string_view port;
  if (!a.empty() && a.front() == '[') {  // "[v6]:port"
    const size_t close = a.find(']');
    out.name.assign(a.substr(0, close == std::string_view::npos ? a.size() : close + 1));
    if (close != std::string_view::npos && close + 1 < a.size() && a[close + 1] == ':') {
      port = a.substr(close + 2);
    }
  } else {
    const size_t colon = a.find(':');  // nginx cuts at the first one
    out.name.assign(a.substr(0, colon));
    if (colon != std::string_view::npos) port = a.substr(colon + 1);
  }
  // Both servers lowercase the name and drop one trailing dot.
  std::transform(out.name.begin(), out.name.end(), out.name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!out.name.empty() && out.name.back() == '.') out.name.pop_back();
  uint64_t n = 0;
  if (!port.empty() && port.size() <= 5 && core::parseDigits(port, &n) && n <= 65535) {
    out.port = static_cast<uint16_t>(n);
  }
  return out;
}

namespace {

bool hostRefused(const Persona& persona, const core::HttpRequestData& req) {
  const std::string* host = findHeader(req.headers, "Host");
  return host != nullptr && !hostAccepted(persona, *host);
}

}  // namespace

std::string pageHost(const Persona& persona, const core::HttpRequestData& req,
                     std::string_view local_ip) {
  std::string name = hostRefused(persona, req) ? std::string() : authorityOf(req).name;
  if (name.size() > 1 && name.front() == '[') name = name.substr(1, name.find(']') - 1);
  if (name.empty()) name.assign(local_ip);
  if (name.size() > 255) name.resize(255);
  return name;
}

uint16_t pagePort(const Persona& persona, const core::HttpRequestData& req, uint16_t port) {
  return hostRefused(persona, req) ? port : authorityOf(req).port.value_or(port);
}

bool hostAccepted(const Persona& persona, std::string_view host) {
  if (persona.name == "nginx") {
    // ngx_http_validate_host(): no space, tab, '/' or NUL, no "..", a name before any port.
    if (host.empty() ||
        host.find_first_of(std::string_view(" \t/\0", 4)) != std::string_view::npos ||
        host.find("..") != std::string_view::npos) {
      return false;
    }
    return host.front() != ':';
  }
  if (persona.name != "apache") return true;
  // Apache (strict): a name of letters, digits, '.', '-' and '_' without "..", or "[v6]";
  // then ":port", 1 to 65535 (leading zeros allowed).
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return false;
      port = host.substr(close + 2);
      has_port = true;
    }
  } else {
    const size_t colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    if (name.empty() || name.find("..") != std::string_view::npos) return false;
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      has_port = true;
    }
  }
  if (!has_port) return true;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  const int n = std::stoi(std::string(port));
  return n >= 1 && n <= 65535;
}

const char* reasonPhrase(const Persona& persona, int status) {
  if (persona.name == "nginx") {
    // nginx's own status lines: 405 and 414 measured; 302, 408 and 503 as nginx's table
    // (ngx_http_status_lines) has them.
    switch (status) {
      case 302:
        return "Moved Temporarily";
      case 405:
        return "Not Allowed";
      case 408:
        return "Request Time-out";
      case 414:
        return "Request-URI Too Large";
      case 503:
        return "Service Temporarily Unavailable";
      default:
        break;
    }
  }
  return reasonPhrase(status);
}

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) break;  // drop control bytes
        out += c;
    }
  }
  return out;
}

namespace {

// What Apache 2.4 says in the body of its default error documents.
std::string apacheExplanation(int status, std::string_view detail) {
  switch (status) {
    case 400: return "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n";
    case 401:
      return "<p>This server could not verify that you\nare authorized to access the document\n"
             "requested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\n"
             "browser doesn't understand how to supply\nthe credentials required.</p>\n";
    case 403: return "<p>You don't have permission to access this resource.</p>\n";
    case 404: return "<p>The requested URL was not found on this server.</p>\n";
    case 405:
      return "<p>The requested method " + htmlEscape(detail) +
             " is not allowed for this URL.</p>\n";
    case 408: return "<p>Server timeout waiting for the HTTP request from the client.</p>\n";
    case 413:
      return "The requested resource does not allow request data with the requested method or "
             "the amount of data provided in the request exceeds the capacity limit.\n";
    case 414:
      return "<p>The requested URL's length exceeds the capacity\nlimit for this server.<br />\n</p>\n";
    case 416:
      return "<p>None of the range-specifier values in the Range\nrequest-header field overlap "
             "the current extent\nof the selected resource.</p>\n";
    case 417:
      return "<p>The expectation given in the Expect request-header\nfield could not be met by "
             "this server.\nThe client sent<pre>\n    Expect: " +
             htmlEscape(detail) +
             "\n</pre>\n</p><p>Only the 100-continue expectation is supported.</p>\n";
    case 431:  // sent as a 400 (answerError())
      return "<p>Your browser sent a request that this server could not understand.<br />\n" +
             std::string(detail == "count"
                             ? "The number of request header fields exceeds this server's limit."
                             : "Size of a request header field exceeds server limit.") +
             "</p>\n";
    case 501:
      return "<p>" + htmlEscape(detail) + " not supported for current URL.<br />\n</p>\n";
    case 503:
      return "<p>The server is temporarily unable to service your\nrequest due to maintenance "
             "downtime or capacity\nproblems. Please try again later.</p>\n";
    case 505: return "<p>The HTTP version is not supported by this server.</p>\n";
    default:
      return "<p>The server encountered an internal error or\nmisconfiguration and was unable "
             "to complete\nyour request.</p>\n";
  }
}

}  // namespace

std::string errorPage(const Persona& persona, int status, std::string_view host, uint16_t port,
                      std::string_view detail) {
  const std::string code = std::to_string(status);
  const std::string reason = reasonPhrase(persona, status);
  if (persona.name == "nginx") {
    if (status == 431) {  // sent as a 400 (answerError())
      return "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
             "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or "
             "Cookie Too Large</center>\r\n<hr><center>" +
             htmlEscape(persona.server_header) + "</center>\r\n</body>\r\n</html>\r\n";
    }
    const std::string title = code + " " + reason;
    return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" +
           title + "</h1></center>\r\n<hr><center>" + htmlEscape(persona.server_header) +
           "</center>\r\n</body>\r\n</html>\r\n";
  }
  if (persona.name == "iis") {
    if (status == 431) return errorPage(persona, 400, host, port, detail);  // sent as a 400
    if (status == 404) {
      return "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
             "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html "
             "xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<meta http-equiv=\"Content-Type\" "
             "content=\"text/html; charset=iso-8859-1\"/>\r\n<title>404 - File or directory not "
             "found.</title>\r\n</head>\r\n<body>\r\n<div id=\"header\"><h1>Server "
             "Error</h1></div>\r\n<div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n"
             "  <h2>404 - File or directory not found.</h2>\r\n  <h3>The resource you are looking for "
             "might have been removed, had its name changed, or is temporarily unavailable.</h3>\r\n"
             " </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n";
    }
    return "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n"
           "<HTML><HEAD><TITLE>" + reason + "</TITLE>\r\n<META HTTP-EQUIV=\"Content-Type\" "
           "Content=\"text/html; charset=us-ascii\"></HEAD>\r\n<BODY><h2>" + reason +
           "</h2>\r\n<hr><p>HTTP Error " + code + ". The request is invalid.</p>\r\n</BODY></HTML>\r\n";
  }
  const std::string shown = status == 431 ? std::string("Bad Request") : reason;
  const std::string sent = status == 431 ? std::string("400") : code;  // sent as a 400
  return "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>" + sent +
         " " + shown + "</title>\n</head><body>\n<h1>" + shown + "</h1>\n" +
         apacheExplanation(status, detail) + "<hr>\n<address>" + htmlEscape(persona.server_header) +
         " Server at " + htmlEscape(host) + " Port " + std::to_string(port) +
         "</address>\n</body></html>\n";
}

std::string plainHttpOnTlsPage(const Persona& persona, std::string_view host, uint16_t port) {
  if (persona.name == "nginx") {
    return "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
           "\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP "
           "request was sent to HTTPS port</center>\r\n<hr><center>" +
           htmlEscape(persona.server_header) + "</center>\r\n</body>\r\n</html>\r\n";
  }
  if (persona.name != "apache") return errorPage(persona, 400, host, port);
  return "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>400 Bad "
         "Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request "
         "that "
         "this server could not understand.<br />\nReason: You're speaking plain HTTP to an "
         "SSL-enabled server port.<br />\n Instead use the HTTPS scheme to access this URL, "
         "please.<br />\n</p>\n<hr>\n<address>" +
         htmlEscape(persona.server_header) + " Server at " + htmlEscape(host) + " Port " +
         std::to_string(port) + "</address>\n</body></html>\n";
}

std::string httpDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::optional<int64_t> parseHttpDate(const std::string& imf_fixdate) {
  struct tm tm {};
  const char* end = strptime(imf_fixdate.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

void appendChunk(std::string_view data, std::string* out) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out->append(size).append(data).append("\r\n");
}

std::string serialize(const Persona& persona, const Response& r, bool keep_alive,
                      uint64_t keep_alive_timeout_s, uint64_t keep_alive_max, bool http10,
                      bool keep_alive_asked) {
  std::string out;
  out.reserve(256 + r.body.size());
  // Apache, nginx and IIS answer HTTP/1.0 clients with an HTTP/1.1 status line too.
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reasonPhrase(persona, r.status);
  out += "\r\n";
  const std::string date = httpDate(std::time(nullptr));
  auto add = [&](std::string_view name, std::string_view value) {
    out.append(name);
    out += ": ";
    out.append(value);
    out += "\r\n";
  };
  const std::string* content_type = findHeader(r.headers, "Content-Type");
  const bool has_body_status = r.status != 204 && r.status != 304 && r.status >= 200;
  if (persona.name == "nginx") {
    // ngx_http_header_filter(): Server, Date, Content-Type, Content-Length, Last-Modified,
    // Location, Connection, then the other headers (ETag, Accept-Ranges, ...) in their order.
    const std::string* last_modified = findHeader(r.headers, "Last-Modified");
    const std::string* location = findHeader(r.headers, "Location");
    add("Server", persona.server_header);
    add("Date", date);
    if (content_type) add("Content-Type", *content_type);
    if (has_body_status && !r.chunked) add("Content-Length", std::to_string(r.bodySize()));
    if (last_modified) add("Last-Modified", *last_modified);
    if (location) add("Location", *location);
    if (r.chunked && !r.omit_body) add("Transfer-Encoding", "chunked");  // a HEAD: neither
    add("Connection", keep_alive ? "keep-alive" : "close");
    for (const auto& h : r.headers) {
      if (!iequals(h.name, "Content-Type") && !iequals(h.name, "Last-Modified") &&
          !iequals(h.name, "Location")) {
        add(h.name, h.value);
      }
    }
  } else if (persona.name == "iis") {
    if (content_type) add("Content-Type", *content_type);
    for (const auto& h : r.headers) {
      if (!iequals(h.name, "Content-Type")) add(h.name, h.value);
    }
    add("Server", persona.server_header);
    add("X-Powered-By", "ASP.NET");
    add("Date", date);
    if (!keep_alive) add("Connection", "close");
    if (keep_alive && http10) add("Connection", "keep-alive");
    if (has_body_status) add("Content-Length", std::to_string(r.bodySize()));
  } else {
    // Apache: Date, Server, resource headers, Content-Length, Keep-Alive, Connection, Content-Type.
    // A file (an answer with an ETag) has its Content-Length set by the handler, before
    // mod_deflate adds Vary and the byterange filter Content-Range: both come after it. A page
    // a script makes gets its length after the output filters ran: Vary before it. A
    // compressed answer's length comes after mod_deflate's Vary and Content-Encoding (and a
    // Content-Range) in both cases.
    const bool file = findHeader(r.headers, "ETag") != nullptr &&
                      findHeader(r.headers, "Content-Encoding") == nullptr;
    auto after_length = [&](std::string_view name) {
      return file && (iequals(name, "Vary") || iequals(name, "Content-Range"));
    };
    add("Date", date);
    add("Server", persona.server_header);
    for (const auto& h : r.headers) {
      if (!iequals(h.name, "Content-Type") && !after_length(h.name)) add(h.name, h.value);
    }
    if (has_body_status && !r.unknown_length && !r.chunked) {
      add("Content-Length", std::to_string(r.bodySize()));
    }
    for (const auto& h : r.headers) {
      if (after_length(h.name)) add(h.name, h.value);
    }
    // ap_set_keepalive(): the Keep-Alive header and "Connection: Keep-Alive" only for a client
    // that asked (an HTTP/1.1 one that did not keeps the connection without either), max
    // counting this request.
    if (keep_alive) {
      if (keep_alive_asked || http10) {
        add("Keep-Alive", "timeout=" + std::to_string(keep_alive_timeout_s) +
                              ", max=" + std::to_string(keep_alive_max));
        add("Connection", "Keep-Alive");
      }
    } else {
      add("Connection", "close");
    }
    // A body framed in chunks already (`chunked`), or to be framed here.
    const bool chunk = r.unknown_length && keep_alive && !r.omit_body;
    if ((r.chunked || chunk) && !r.omit_body) add("Transfer-Encoding", "chunked");
    if (content_type) add("Content-Type", *content_type);
    if (chunk) {
      out += "\r\n";
      if (!r.body.empty()) appendChunk(r.body, &out);
      out += "0\r\n\r\n";
      return out;
    }
  }
  out += "\r\n";
  if (!r.omit_body && r.static_body.empty()) out += r.body;
  return out;
}

}  // namespace drosera::http
