#include "sensor/traps/traps.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/base64.h"
#include "http/form.h"
#include "http/parser.h"
#include "sensor/site.h"
#include "sensor/traps/html.h"

namespace drosera::sensor::traps {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kMaxTemplateBytes = 1 << 20;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool isHtml(const http::Response& r) {
  const std::string* ct = http::findHeader(r.headers, "Content-Type");
  return ct && ct->rfind("text/html", 0) == 0;
}

std::string hostOf(const core::Capture& c) {
  const std::string* h = http::findHeader(c.request.headers, "Host");
  std::string host = h ? *h : c.local.ip;
  for (char& ch : host) {
    if (static_cast<unsigned char>(ch) < 0x21 || ch == 0x7F) ch = '_';  // no header injection
  }
  return host.substr(0, 255);
}

// The Host header without its port (as servers show the server name).
std::string hostNoPort(const core::Capture& c) {
  std::string h = hostOf(c);
  const size_t colon = h.rfind(':');
  if (colon != std::string::npos && h.find(']') == std::string::npos && h.find(':') == colon) {
    h.resize(colon);
  }
  return h;
}

std::vector<std::string> tokenNames(const std::string& tmpl) {
  std::set<std::string> names;
  size_t pos = 0;
  while ((pos = tmpl.find("{{", pos)) != std::string::npos) {
    size_t end = tmpl.find("}}", pos + 2);
    if (end == std::string::npos || end - pos > 64) break;
    names.insert(tmpl.substr(pos + 2, end - pos - 2));
    pos = end + 2;
  }
  return {names.begin(), names.end()};
}

}  // namespace

Traps::Traps(const core::TrapsConfig& config, InstallSecret secret)
    : config_(config), secret_(std::move(secret)), tokens_(config.max_tokens) {}

core::Result<std::unique_ptr<Traps>> Traps::create(const core::TrapsConfig& config,
                                                   InstallSecret secret,
                                                   std::vector<uint16_t> fake_ports,
                                                   const std::string& baits_dir) {
  // Configured bait names end up in rules and pages: keep them to plain characters.
  auto safe = [](const std::string& v, const char* allowed) {
    return v.find_first_not_of(std::string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") +
                               allowed) == std::string::npos;
  };
  const std::pair<const char*, const std::string*> paths[] = {
      {"traps.robots_path", &config.robots_path},
      {"traps.comment_path", &config.comment_path},
      {"traps.comment_page", &config.comment_page}};
  for (const auto& [key, value] : paths) {
    if (!safe(*value, "/._-~")) {
      return core::Status::invalidArgument(std::string(key) +
                                           ": only letters, digits and / . _ - ~ are allowed");
    }
  }
  const std::pair<const char*, const std::string*> names[] = {
      {"traps.hidden_field_name", &config.hidden_field_name},
      {"traps.hidden_field_value", &config.hidden_field_value},
      {"traps.cookie_name", &config.cookie_name}};
  for (const auto& [key, value] : names) {
    if (!safe(*value, "._-")) {
      return core::Status::invalidArgument(std::string(key) +
                                           ": only letters, digits and . _ - are allowed");
    }
  }
  if (!config.robots_realm.empty() &&
      config.robots_realm.find_first_of("\"\\'\r\n") != std::string::npos) {
    return core::Status::invalidArgument("traps.robots_realm: no quotes or backslashes");
  }

  std::unique_ptr<Traps> t(new Traps(config, std::move(secret)));
  if (config.fake_ports) t->fake_port_ = FakePortTrap{std::move(fake_ports)};
  if (config.robots) t->robots_ = RobotsTrap::make(config, t->secret_);
  if (config.html_comment) t->comment_ = CommentTrap::make(config, t->secret_);
  if (config.hidden_field) t->hidden_ = HiddenFieldTrap::make(config, t->secret_);
  if (config.cookie) t->cookie_ = CookieTrap::make(config, t->secret_);
  if (config.sensitive_files) t->files_ = SensitiveFilesTrap::make();
  if (config.admin_logins) t->logins_ = AdminLoginTrap::make();

  // Templates the enabled baits need.
  std::vector<std::string> needed;
  if (t->comment_) needed.push_back("login-backup.txt");
  if (t->files_) {
    for (const auto& f : t->files_->files) needed.push_back(f.template_name);
  }
  if (t->logins_) {
    for (const auto& l : t->logins_->logins) {
      needed.push_back(l.page_template);
      needed.push_back(l.error_template);
    }
  }
  for (const auto& name : needed) {
    const std::string path = baits_dir + "/" + name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return core::Status::notFound("traps.baits_dir: bait template " + path +
                                    " is missing (or disable the trap that needs it)");
    }
    if (fs::file_size(path, ec) > kMaxTemplateBytes) {
      return core::Status::invalidArgument("traps.baits_dir: " + path + " is larger than 1 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    t->templates_[name] = ss.str();
  }
  // Rule id -> kind and bait, for interpret().
  for (const auto& spec : t->buildRules(RuleFlavor::kSensor).specs) t->specs_[spec.id] = spec;
  return t;
}

std::string Traps::ruleText(RuleFlavor flavor) const { return buildRules(flavor).text; }

RuleSet Traps::buildRules(RuleFlavor flavor) const {
  RuleSet rs;
  const int base = config_.rule_id_base;
  rs.comment(
      "drosera honeytrap identification rules (generated; ids " + std::to_string(base + 1) +
      ".." + std::to_string(base + 99) + ", tag honeytrap/<kind>).\n" +
      (flavor == RuleFlavor::kExport
           ? "For ModSecurity v2 (Apache) and v3 (nginx) in front of a real application: the\n"
             "baits are laid by the drosera sensor of this install; these rules recognise whoever\n"
             "uses them. They never block (pass) and write the captured value in logdata."
           : "Loaded by the drosera sensor after the OWASP CRS."));
  rs.text += "\n";
  if (fake_port_) fake_port_->rules(base, flavor, rs);
  if (robots_) robots_->rules(base, flavor, rs);
  if (comment_) comment_->rules(base, flavor, rs);
  if (hidden_) hidden_->rules(base, flavor, rs);
  if (cookie_) cookie_->rules(base, flavor, rs);
  if (files_) files_->rules(base, flavor, rs);
  if (logins_) logins_->rules(base, flavor, rs);
  if (config_.honeytokens) {
    honeytokenRules(base, flavor,
                    flavor == RuleFlavor::kExport ? tokens_.recent(5000) : std::vector<std::string>{},
                    rs);
  }
  return rs;
}

void Traps::decorate(Site& site) const {
  site.rewrite([this](const std::string& url, std::string& body, const std::string& type) {
    if (type.rfind("text/html", 0) == 0) {
      if (comment_ && url == comment_->page) comment_->inject(body);
      if (hidden_) body = hidden_->inject(body);
    }
    if (robots_ && url == "/robots.txt") body = robots_->inject(body);
  });
  if (robots_ && !site.file("/robots.txt")) {
    site.addFile("/robots.txt", robots_->inject(""), "text/plain");
  }
}

const std::string* Traps::templ(const std::string& name) const {
  auto it = templates_.find(name);
  return it == templates_.end() ? nullptr : &it->second;
}

void Traps::addFileHeaders(const std::string& path, const http::Persona& persona,
                           const std::string& content_type, http::Response& r) const {
  constexpr int64_t k2025 = 1735689600;  // 2025-01-01T00:00:00Z
  const int64_t mtime = k2025 + static_cast<int64_t>(secret_.number("mtime:" + path, 300 * 86400));
  const uint64_t mtime_us =
      static_cast<uint64_t>(mtime) * 1000000 + secret_.number("mtime_us:" + path, 1000000);
  r.headers.push_back({"Last-Modified", http::httpDate(mtime)});
  r.headers.push_back({"ETag", Site::etagOf(persona, r.bodySize(), mtime_us)});
  r.headers.push_back({"Accept-Ranges", "bytes"});
  if (Site::variesOnEncoding(persona, content_type, r.bodySize())) {
    r.headers.push_back({"Vary", "Accept-Encoding"});
  }
}

// A conditional GET that matches the validators: 304 with them and no body, as the site's own
// files answer (Apache keeps Accept-Ranges on it, nginx does not).
void Traps::answerConditional(const core::Capture& c, const http::Persona& persona,
                              http::Response& r) {
  const std::string* etag = http::findHeader(r.headers, "ETag");
  const std::string* modified = http::findHeader(r.headers, "Last-Modified");
  if (!etag || !modified || !Site::notModified(c.request, persona, *etag, *modified)) return;
  r.status = 304;
  r.body.clear();
  const bool keep_ranges = persona.name != "nginx";
  std::erase_if(r.headers, [&](const core::Header& h) {
    return !http::iequals(h.name, "ETag") && !http::iequals(h.name, "Last-Modified") &&
           !(keep_ranges && http::iequals(h.name, "Accept-Ranges"));
  });
}

std::string Traps::renderBait(const std::string& name, core::Capture& c,
                              std::vector<std::pair<std::string, std::string>> values) {
  const std::string* t = templ(name);
  if (!t) return "";
  const std::string visitor_key = c.visitor.empty() ? c.client.ip : c.visitor;
  for (const auto& token : tokenNames(*t)) {
    bool given = false;
    for (const auto& [k, v] : values) given |= k == token;
    if (given) continue;
    if (config_.honeytokens && isHoneytokenName(token)) {
      std::string value = makeToken(secret_, token, visitor_key);
      tokens_.add(tokenKey(value), TokenOrigin{c.unique_id, token, c.client.ip, nowUs()});
      values.emplace_back(token, std::move(value));
    } else if (isHoneytokenName(token)) {
      values.emplace_back(token, makeToken(secret_, token, visitor_key));
    } else if (token == "server_name") {
      values.emplace_back(token, http::htmlEscape(hostNoPort(c)));
    } else if (token == "http_host") {
      values.emplace_back(token, http::htmlEscape(hostOf(c)));
    } else if (token == "server_addr") {
      values.emplace_back(token, c.local.ip);
    } else if (token == "server_port") {
      values.emplace_back(token, std::to_string(c.local.port));
    } else if (token == "remote_addr") {
      values.emplace_back(token, http::htmlEscape(c.client.ip));
    } else if (token == "remote_port") {
      values.emplace_back(token, std::to_string(c.client.port));
    } else if (token == "http_user_agent") {
      const std::string* ua = http::findHeader(c.request.headers, "User-Agent");
      values.emplace_back(token, http::htmlEscape(ua ? ua->substr(0, 512) : ""));
    } else if (token == "request_uri") {
      values.emplace_back(token, http::htmlEscape(c.request.target.substr(0, 1024)));
    } else if (token == "script_name") {
      values.emplace_back(token, http::htmlEscape(Site::normalizePath(c.request.target)));
    } else if (token == "request_time" || token == "request_time_float") {
      const int64_t us = c.received_us ? c.received_us : nowUs();
      char buf[40];
      if (token == "request_time") {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(us / 1000000));
      } else {
        std::snprintf(buf, sizeof buf, "%lld.%04lld", static_cast<long long>(us / 1000000),
                      static_cast<long long>((us % 1000000) / 100));
      }
      values.emplace_back(token, buf);
    } else if (token == "csrf_token") {
      values.emplace_back(token, secret_.macHex("csrf", visitor_key + std::to_string(nowUs()), 32));
    }
  }
  return render(*t, values);
}

std::optional<http::Response> Traps::answer(core::Capture& c, const http::Persona& persona) {
  // Apache (AllowEncodedSlashes Off) answers 404 to an encoded slash in the path before any
  // file or handler is looked at, and 400 to a fragment ('#') anywhere in the target: the site
  // answers them (Site::handle), bait or not. nginx decodes the slash, drops the fragment and
  // serves the file.
  if (persona.name == "apache" && (Site::hasEncodedSlash(c.request.target) ||
                                   c.request.target.find('#') != std::string::npos)) {
    return std::nullopt;
  }
  const std::string path = Site::normalizePath(c.request.target);
  if (path.empty()) return std::nullopt;
  const std::string& method = c.request.method;
  http::Response r;

  if (robots_ && robots_->covers(path)) {
    r.status = 401;
    r.headers.push_back({"WWW-Authenticate", "Basic realm=\"" + robots_->realm + "\""});
    r.headers.push_back({"Content-Type", persona.name == "apache" ? "text/html; charset=iso-8859-1"
                                                                  : "text/html"});
    r.body = http::errorPage(persona, 401, hostNoPort(c), c.local.port);
    return r;
  }
  if (comment_ && path == comment_->path && (method == "GET" || method == "HEAD")) {
    r.body = renderBait("login-backup.txt", c, {});
    const std::string type = Site::staticTypeOf(persona, path, "text/plain");
    addFileHeaders(path, persona, type, r);
    if (!type.empty()) r.headers.push_back({"Content-Type", type});
    answerConditional(c, persona, r);
    return r;
  }
  if (files_) {
    if (const SensitiveFile* f = files_->find(path); f && (method == "GET" || method == "HEAD")) {
      r.body = renderBait(f->template_name, c, {});
      // A static file's headers (Site::serveFile), but for a page a script would make.
      const bool script = f->content_type.rfind("text/html", 0) == 0;
      const std::string type =
          script ? f->content_type : Site::staticTypeOf(persona, path, f->content_type);
      if (!script) addFileHeaders(path, persona, type, r);
      // A script's page goes through mod_deflate as the site's own pages do.
      if (script && Site::variesOnEncoding(persona, type, r.body.size())) {
        r.headers.push_back({"Vary", "Accept-Encoding"});
      }
      if (!type.empty()) r.headers.push_back({"Content-Type", type});
      answerConditional(c, persona, r);
      return r;
    }
  }
  if (logins_) {
    if (std::string to = logins_->redirectFor(path); !to.empty() && method != "POST") {
      // A folder without its slash: the server's own 301, as for the site's folders.
      if (path.rfind("/wp-admin", 0) != 0) {
        return Site::movedPermanently(to, c.request, persona, c.local.port, c.tls, c.local.ip);
      }
      // WordPress sends a visitor who is not logged in to its login page: a 302 from PHP,
      // without a body.
      const std::string host = hostOf(c);
      r.status = 302;
      r.headers.push_back({"Location", "http://" + host + to + "?redirect_to=http%3A%2F%2F" + host +
                                           "%2Fwp-admin%2F&reauth=1"});
      r.headers.push_back({"Content-Type", "text/html; charset=UTF-8"});
      return r;
    }
    if (const AdminLogin* l = logins_->find(path)) {
      std::string message, user;
      if (method == "POST") {
        const auto form = http::parseForm(c.request.body);
        user = http::htmlEscape(http::formValue(form, l->user_field).substr(0, 200));
        const std::string* err = templ(l->error_template);
        if (err) message = render(*err, {{"username", user}, {"action", path}});
      }
      // A failed login shows the user name again, as the real products do.
      r.body = renderBait(l->page_template, c,
                          {{"message", message},
                           {"action", path},
                           {"username", user},
                           {"asset_base", ""},
                           {"redirect_to", "http://" + http::htmlEscape(hostOf(c)) + "/wp-admin/"}});
      r.headers.push_back({"Expires", "Wed, 11 Jan 1984 05:00:00 GMT"});
      r.headers.push_back({"Cache-Control", "no-cache, must-revalidate, max-age=0, no-store, private"});
      if (l->product == "wordpress") {
        r.headers.push_back({"Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/"});
        r.headers.push_back({"X-Frame-Options", "SAMEORIGIN"});
      }
      if (Site::variesOnEncoding(persona, "text/html", r.body.size())) {
        r.headers.push_back({"Vary", "Accept-Encoding"});
      }
      r.headers.push_back({"Content-Type", "text/html; charset=UTF-8"});
      return r;
    }
  }
  return std::nullopt;
}

// The fake logins are pages of an application (PHP): their folders' redirects but WordPress's
// are the server's own 301 (answer()).
bool Traps::readsBody(const core::HttpRequestData& req) const {
  if (!logins_) return false;
  const std::string path = Site::normalizePath(req.target);
  if (path.empty()) return false;
  if (logins_->find(path) != nullptr) return true;
  return !logins_->redirectFor(path).empty() && req.method != "POST" &&
         path.rfind("/wp-admin", 0) == 0;
}

void Traps::identify(core::Capture& c) const {
  if (!cookie_ || !c.visitor.empty()) return;
  std::string visitor, raw;
  if (cookie_->check(c.request.headers, &visitor, &raw) == CookieTrap::State::kValid) {
    c.visitor = visitor;
  }
}

void Traps::finish(core::Capture& c, http::Response& r) const {
  if (!cookie_) return;
  identify(c);
  if (!c.visitor.empty() || r.status != 200 || !isHtml(r)) return;
  c.visitor = newVisitorId();
  r.headers.push_back({"Set-Cookie", cookie_->setCookie(c.visitor)});
}

void Traps::addFacts(core::Capture& c) const {
  if (fake_port_ && c.listener_kind == "fake") c.facts.emplace_back("listener", "fake");
  // The path the site resolved when it chose what to serve (absolute-form and backslashes
  // included): the path baits' rules match on it (trapPath), so that a bait served is recorded.
  // A ".." above the root stays there, as in ModSecurity's t:normalizePath: the site refuses
  // "/../.env" (400), but it is a probe for the bait all the same.
  if (std::string path = Site::normalizePath(c.request.target, Site::AboveRoot::kStay);
      !path.empty()) {
    c.facts.emplace_back("path", std::move(path));
  }
  if (cookie_) {
    std::string visitor, raw;
    switch (cookie_->check(c.request.headers, &visitor, &raw)) {
      case CookieTrap::State::kValid:
        if (c.visitor.empty()) c.visitor = visitor;
        break;
      case CookieTrap::State::kForged:
        c.facts.emplace_back("cookie", "forged");
        break;
      case CookieTrap::State::kAbsent:
        break;
    }
  }
  if (config_.honeytokens && tokens_.size() > 0) {
    std::optional<std::pair<std::string, TokenOrigin>> hit = tokens_.scan(c.request.target);
    if (!hit) hit = tokens_.scan(http::percentDecode(c.request.target, true));
    for (size_t i = 0; !hit && i < c.request.headers.size(); ++i) {
      const auto& h = c.request.headers[i];
      hit = tokens_.scan(h.value);
      // Basic credentials (the scheme is case-insensitive) may carry a token in the password.
      if (!hit && http::iequals(h.name, "Authorization") && h.value.size() > 6 &&
          http::iequals(h.value.substr(0, 6), "basic ")) {
        if (auto decoded = core::base64Decode(h.value.substr(6))) hit = tokens_.scan(*decoded);
      }
    }
    if (!hit) hit = tokens_.scan(c.request.body);
    if (!hit) hit = tokens_.scan(http::percentDecode(c.request.body, true));
    if (hit) {
      c.facts.emplace_back("honeytoken", hit->first);
      c.facts.emplace_back("honeytoken_origin", hit->second.unique_id);
      c.facts.emplace_back("honeytoken_name", hit->second.name);
    }
  }
}

std::vector<core::TrapHit> Traps::interpret(const core::Capture& c,
                                            const core::Verdict& v) const {
  std::vector<core::TrapHit> hits;
  auto fact = [&](const std::string& name) {
    for (const auto& [k, val] : c.facts) {
      if (k == name) return val;
    }
    return std::string();
  };
  for (const auto& m : v.matches) {
    auto it = specs_.find(m.id);
    if (it == specs_.end()) continue;
    core::TrapHit h;
    h.kind = it->second.kind;
    h.bait = it->second.bait;
    h.rule_id = m.id;
    h.captured = m.data;
    if (h.kind == "fake_port") {
      h.bait = std::to_string(c.listener_port);
      h.captured.clear();
    } else if (h.kind == "sensitive_file") {
      h.bait = m.data;
      h.captured.clear();
    } else if (h.kind == "robots" || h.kind == "comment") {
      if (h.captured.rfind("/", 0) == 0) h.captured.clear();  // the path itself, not a capture
    } else if (h.kind == "honeytoken") {
      h.bait = fact("honeytoken_name");
      h.captured = fact("honeytoken");
      h.origin = fact("honeytoken_origin");
    }
    // One hit per kind and bait; keep what was captured.
    bool merged = false;
    for (auto& prev : hits) {
      if (prev.kind == h.kind && prev.bait == h.bait) {
        if (prev.captured.empty()) {
          prev.captured = h.captured;
          prev.rule_id = h.rule_id;
        }
        merged = true;
      }
    }
    if (!merged) hits.push_back(std::move(h));
  }
  return hits;
}

}  // namespace drosera::sensor::traps
