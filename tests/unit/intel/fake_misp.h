// A fake MISP instance on 127.0.0.1:<ephemeral port>, for the REST transport's tests. It checks
// each request as MISP's API would (Authorization = the API key, Accept and Content-Type
// application/json, a JSON body of the right shape, values and objects valid per
// misp_checks.h), keeps the state MISP would (events, attributes, objects, tags, sightings,
// published), and answers as MISP does: 403 "Authentication failed", 404 "Event already exists"
// with Location, 403 "A similar attribute already exists for this event." / "The UUID provided is
// not unique", a refused sighting as 200 with only a message, 405 for an edit that is not newer
// (and, on request, 405 to a sighting search without an id, as older MISP versions answer).
// A fault plan makes chosen requests fail: 5xx, commit-then-drop-the-connection, commit-then-
// answer-too-late, or a revoked key. Requests that break the API contract are recorded as
// violations (tests assert there are none).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "misp_checks.h"

namespace drosera::testutil {

class FakeMisp {
 public:
  enum class Fault { kNone, k500, kCommitThenDrop, kCommitThenSlow, kAuth403, kSightingMessage };
  // Decides the fault for the n-th request (1-based) with this method and path.
  using FaultPlan = std::function<Fault(int n, const std::string& method, const std::string& path)>;

  explicit FakeMisp(std::string api_key) : key_(std::move(api_key)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      ADD_FAILURE() << "fake MISP cannot listen";
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~FakeMisp() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void setFaults(FaultPlan plan) {
    std::lock_guard<std::mutex> lock(mu_);
    plan_ = std::move(plan);
  }
  void setSlowSeconds(double s) { slow_s_ = s; }
  // A user without perm_tag_editor: unknown tags cannot be created.
  int requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> violations() const {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  // Every request body received (to check that no output carries a forbidden value).
  std::string allBodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // An administrator deletes an event (MISP hard-deletes it and its attributes).
  void deleteEvent(const std::string& uuid) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.erase(uuid);
    for (auto it = attrs_.begin(); it != attrs_.end();) {
      it = it->second.event == uuid ? attrs_.erase(it) : std::next(it);
    }
    for (auto it = objects_.begin(); it != objects_.end();) {
      it = it->second.event == uuid ? objects_.erase(it) : std::next(it);
    }
  }
  // The event blocklist: events/add of this UUID is refused.
  void blockEvent(const std::string& uuid) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_.insert(uuid);
  }
  // Answers sightings/restSearch/attribute without an "id" as older MISP versions do: 405 "An id
  // must be provided if the context is set."
  void setSightingSearchNeedsId(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    sighting_search_needs_id_ = on;
  }
  int publishCalls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return publish_calls_;
  }

  // The state a MISP user would see, without server-assigned ids and timestamps: what two runs
  // must agree on.
  json state() const {
    std::lock_guard<std::mutex> lock(mu_);
    json out = json::object();
    for (const auto& [uuid, ev] : events_) {
      json e;
      e["meta"] = ev.meta;
      e["published"] = ev.published;
      e["tags"] = ev.tags;
      json attrs = json::object();
      for (const auto& [au, a] : attrs_) {
        if (a.event != uuid) continue;
        json x = a.data;
        x["Tag"] = a.tags;
        x["object"] = a.object;
        attrs[au] = x;
      }
      e["attributes"] = attrs;
      json objs = json::object();
      for (const auto& [ou, o] : objects_) {
        if (o.event == uuid) objs[ou] = o.data;
      }
      e["objects"] = objs;
      json sights = json::array();
      for (const auto& s : sightings_) {
        auto it = attrs_.find(s["uuid"].get<std::string>());
        if (it != attrs_.end() && it->second.event == uuid) sights.push_back(s);
      }
      std::sort(sights.begin(), sights.end());
      e["sightings"] = sights;
      out[uuid] = e;
    }
    return out;
  }

 private:
  struct Attr {
    json data;  // uuid, type, category, value, to_ids, comment, ...
    std::set<std::string> tags;
    std::string event;
    std::string object;  // "" outside objects
    bool deleted = false;
  };
  struct Obj {
    json data;
    std::string event;
  };
  struct Ev {
    int id = 0;
    json meta;  // info, date, analysis, threat_level_id, distribution
    bool published = false;
    std::set<std::string> tags;
  };
  struct Request {
    std::string method, path, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  struct Response {
    int status = 200;
    json body;
    std::string location;
  };

  void acceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // One connection, keep-alive: requests until the client closes or a fault drops it.
  void serve(int fd) {
    std::string buf;
    while (!stop_) {
      Request req;
      if (!readRequest(fd, buf, &req)) break;
      Fault fault = Fault::kNone;
      int n = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        n = ++requests_;
        if (plan_) fault = plan_(n, req.method, req.path);
        bodies_ += req.body;
        bodies_ += '\n';
      }
      Response resp;
      if (fault == Fault::k500) {
        resp.status = 500;
        resp.body = {{"name", "Internal Server Error"},
                     {"message", "Internal Server Error"},
                     {"url", req.path}};
      } else if (fault == Fault::kAuth403) {
        resp = authFailure(req.path);
      } else if (fault == Fault::kSightingMessage) {
        resp.body = {{"message", "Could not add the Sighting. Reason: database busy"}};
      } else {
        std::lock_guard<std::mutex> lock(mu_);
        resp = handle(req);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        log_.push_back(req.method + " " + req.path + " " + std::to_string(resp.status) +
                       (fault == Fault::kNone ? "" : " (fault)"));
      }
      if (fault == Fault::kCommitThenDrop) break;
      if (fault == Fault::kCommitThenSlow) {
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::duration<double>(slow_s_.load());
        while (!stop_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      if (!writeResponse(fd, resp)) break;
      auto c = req.headers.find("connection");
      if (c != req.headers.end() && c->second == "close") break;
    }
    ::close(fd);
  }

  bool readRequest(int fd, std::string& buf, Request* req) {
    size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(fd, buf)) return false;
    }
    const std::string head = buf.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const size_t sp1 = first.find(' ');
    const size_t sp2 = first.find(' ', sp1 + 1);
    req->method = first.substr(0, sp1);
    req->path = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(value.begin());
        req->headers[name] = value;
      }
      pos = e + 2;
    }
    size_t len = 0;
    if (req->headers.count("content-length")) len = std::stoul(req->headers["content-length"]);
    buf.erase(0, head_end + 4);
    while (buf.size() < len) {
      if (!readMore(fd, buf)) return false;
    }
    req->body = buf.substr(0, len);
    buf.erase(0, len);
    return true;
  }

  bool readMore(int fd, std::string& buf) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r == 0) continue;
      if (r < 0) return false;
      char tmp[65536];
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<size_t>(n));
      return true;
    }
    return false;
  }

  static bool writeResponse(int fd, const Response& r) {
    const std::string body = r.body.is_null() ? "" : r.body.dump();
    std::string out =
        "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: application/json\r\n";
    if (!r.location.empty()) out += "Location: " + r.location + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    size_t off = 0;
    while (off < out.size()) {
      const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  static Response authFailure(const std::string& path) {
    Response r;
    r.status = 403;
    const std::string m =
        "Authentication failed. Please make sure you pass the API key of an API "
        "enabled user along in the Authorization header.";
    r.body = {{"name", m}, {"message", m}, {"url", path}};
    return r;
  }
  static Response error(int status, const std::string& name, const std::string& path) {
    Response r;
    r.status = status;
    r.body = {{"name", name}, {"message", name}, {"url", path}};
    return r;
  }
  static Response saveFail(const std::string& what, const json& errors, const std::string& path) {
    Response r;
    r.status = 403;
    r.body = {{"saved", false},
              {"name", "Could not add " + what},
              {"message", "Could not add " + what},
              {"url", path},
              {"errors", errors}};
    return r;
  }
  void violation(const std::string& v) { violations_.push_back(v); }

  static json unwrap(const json& body, const char* key) {
    if (body.is_object() && body.contains(key)) return body[key];
    return body;
  }

  bool uuidTaken(const std::string& u) const {
    return events_.count(u) || attrs_.count(u) || objects_.count(u);
  }
  bool similarExists(const std::string& ev, const json& a) const {
    for (const auto& [u, x] : attrs_) {
      if (x.event == ev && x.object.empty() && !x.deleted && x.data["type"] == a["type"] &&
          x.data["category"] == a["category"] && x.data["value"] == a["value"]) {
        return true;
      }
    }
    return false;
  }
  static json attrData(const json& a) {
    json d;
    for (const char* k : {"uuid", "type", "category", "value", "to_ids", "comment", "first_seen",
                          "last_seen", "disable_correlation", "object_relation", "distribution"}) {
      if (a.contains(k)) d[k] = a[k];
    }
    return d;
  }
  // An attribute as MISP would validate it: empty when it would be saved.
  json attrErrors(const json& a, bool in_object) const {
    auto problems = MispRules::get().checkAttribute(a, "attribute", in_object);
    if (problems.empty()) return nullptr;
    return json{{"value", problems}};
  }
  void tagInto(std::set<std::string>& set, const json& tags, const std::string& where) {
    if (!tags.is_array()) return;
    for (const auto& t : tags) {
      const std::string name = t.value("name", "");
      if (!MispRules::get().tagExists(name)) violation(where + ": unknown tag " + name);
      set.insert(name);
    }
  }
  json objectErrors(const json& o) const {
    auto problems = MispRules::get().checkObject(o, "object");
    if (problems.empty()) return nullptr;
    return json(problems);
  }
  void storeObject(const std::string& ev, const json& o) {
    json d;
    for (const char* k : {"uuid", "name", "meta-category", "description", "template_uuid",
                          "template_version", "comment", "first_seen"}) {
      if (o.contains(k)) d[k] = o[k];
    }
    std::vector<std::string> au;
    for (const auto& a : o.value("Attribute", json::array())) {
      Attr x;
      x.data = attrData(a);
      x.event = ev;
      x.object = o["uuid"];
      attrs_[a["uuid"].get<std::string>()] = x;
      au.push_back(a["uuid"]);
    }
    std::sort(au.begin(), au.end());
    d["attributes"] = au;
    objects_[o["uuid"].get<std::string>()] = {d, ev};
  }
  json eventView(const std::string& uuid) const {
    const Ev& ev = events_.at(uuid);
    json e = ev.meta;
    e["id"] = std::to_string(ev.id);
    e["uuid"] = uuid;
    e["published"] = ev.published;
    e["Tag"] = json::array();
    for (const auto& t : ev.tags) e["Tag"].push_back({{"name", t}});
    e["Attribute"] = json::array();
    e["Object"] = json::array();
    for (const auto& [u, a] : attrs_) {
      if (a.event != uuid || !a.object.empty()) continue;
      json x = a.data;
      x["Tag"] = json::array();
      for (const auto& t : a.tags) x["Tag"].push_back({{"name", t}});
      e["Attribute"].push_back(x);
    }
    for (const auto& [u, o] : objects_) {
      if (o.event == uuid) e["Object"].push_back(o.data);
    }
    return json{{"Event", e}};
  }

  Response handle(const Request& req) {
    const std::string& p = req.path;
    const auto header = [&](const char* n) {
      auto it = req.headers.find(n);
      return it == req.headers.end() ? std::string() : it->second;
    };
    if (header("authorization") != key_) return authFailure(p);
    if (header("accept") != "application/json") {
      violation(p + ": Accept is not application/json");
      return error(406, "Not a REST request", p);
    }
    if (header("user-agent").empty()) violation(p + ": no User-Agent");
    if (req.method != "POST") {
      violation(req.method + " " + p + ": drosera only POSTs");
      return error(405, "Method not allowed", p);
    }
    if (header("content-type") != "application/json")
      violation(p + ": Content-Type is not application/json");
    json body = req.body.empty() ? json(nullptr) : json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      violation(p + ": body is not JSON");
      return error(400, "Malformed JSON", p);
    }
    const auto tail = [&](const std::string& prefix) { return p.substr(prefix.size()); };

    if (p == "/events/add") {
      json e = unwrap(body, "Event");
      if (!e.is_object() || !e.contains("info")) {
        violation("events/add without info");
        return saveFail("Event", {{"info", {"Info cannot be empty."}}}, p);
      }
      auto problems = MispRules::get().checkEvent(json{{"Event", e}});
      for (const auto& pr : problems) violation("events/add: " + pr);
      const std::string uuid = e.value("uuid", "");
      if (blocked_.count(uuid)) return saveFail("Event", json::object(), p);
      if (events_.count(uuid)) {
        Response r = error(404,
                           "Event already exists, if you would like to edit it, use the url in the "
                           "location header.",
                           p);
        r.location = "/events/" + std::to_string(events_[uuid].id);
        return r;
      }
      Ev ev;
      ev.id = ++next_id_;
      for (const char* k : {"info", "date", "analysis", "threat_level_id", "distribution"}) {
        if (e.contains(k)) ev.meta[k] = e[k];
      }
      tagInto(ev.tags, e.value("Tag", json::array()), "event tag");
      events_[uuid] = ev;
      for (const auto& a : e.value("Attribute", json::array())) {
        // MISP drops what fails validation and reports it in "errors".
        if (!attrErrors(a, false).is_null() || uuidTaken(a.value("uuid", "")) ||
            similarExists(uuid, a))
          continue;
        Attr x;
        x.data = attrData(a);
        x.event = uuid;
        tagInto(x.tags, a.value("Tag", json::array()), "attribute tag");
        attrs_[a["uuid"].get<std::string>()] = x;
      }
      for (const auto& o : e.value("Object", json::array())) {
        if (!objectErrors(o).is_null() || uuidTaken(o.value("uuid", ""))) continue;
        storeObject(uuid, o);
      }
      Response r;
      r.body = eventView(uuid);
      return r;
    }
    if (p.rfind("/events/edit/", 0) == 0) {
      const std::string uuid = tail("/events/edit/");
      if (!events_.count(uuid)) return error(404, "Invalid event", p);
      json e = unwrap(body, "Event");
      if (e.contains("Attribute") || e.contains("Object")) violation("events/edit with content");
      for (const char* k : {"info", "date", "analysis", "threat_level_id", "distribution"}) {
        if (e.contains(k)) events_[uuid].meta[k] = e[k];
      }
      events_[uuid].published = false;
      Response r;
      r.body = eventView(uuid);
      return r;
    }
    if (p.rfind("/attributes/add/", 0) == 0) {
      const std::string ev = tail("/attributes/add/");
      if (!events_.count(ev)) return error(404, "Invalid event", p);
      json a = unwrap(body, "Attribute");
      if (!a.is_object()) {
        violation("attributes/add: not one attribute");
        return saveFail("Attribute", {{"value", {"bad body"}}}, p);
      }
      if (a.contains("Tag")) violation("attributes/add with tags (drosera attaches them)");
      json err = attrErrors(a, false);
      if (!err.is_null()) {
        violation("attributes/add invalid: " + err.dump());
        return saveFail("Attribute", err, p);
      }
      if (similarExists(ev, a)) {
        return saveFail("Attribute",
                        {{"value", {"A similar attribute already exists for this event."}}}, p);
      }
      if (uuidTaken(a.value("uuid", ""))) {
        return saveFail("Attribute", {{"uuid", {"The UUID provided is not unique"}}}, p);
      }
      Attr x;
      x.data = attrData(a);
      x.event = ev;
      attrs_[a["uuid"].get<std::string>()] = x;
      events_[ev].published = false;
      Response r;
      r.body = {{"Attribute", x.data}};
      return r;
    }
    if (p.rfind("/attributes/edit/", 0) == 0) {
      const std::string uuid = tail("/attributes/edit/");
      auto it = attrs_.find(uuid);
      if (it == attrs_.end() || it->second.deleted) return error(404, "Invalid attribute", p);
      json a = unwrap(body, "Attribute");
      if (a.contains("timestamp")) {
        return error(
            405,
            "Attribute could not be saved: Attribute in the request not newer than the local copy.",
            p);
      }
      json merged = it->second.data;
      for (const auto& [k, v] : a.items()) {
        if (k != "uuid") merged[k] = v;
      }
      json err = attrErrors(merged, !it->second.object.empty());
      if (!err.is_null()) {
        violation("attributes/edit invalid: " + err.dump());
        return saveFail("Attribute", err, p);
      }
      it->second.data = attrData(merged);
      events_[it->second.event].published = false;
      Response r;
      r.body = {{"Attribute", it->second.data}};
      return r;
    }
    if (p.rfind("/objects/add/", 0) == 0) {
      const std::string ev = tail("/objects/add/");
      if (!events_.count(ev)) return error(404, "Invalid event", p);
      json o = unwrap(body, "Object");
      json err = objectErrors(o);
      if (!err.is_null()) {
        violation("objects/add invalid: " + err.dump());
        return saveFail("Object", err, p);
      }
      if (uuidTaken(o.value("uuid", ""))) {
        return saveFail("Object", {{"uuid", {"The UUID provided is not unique"}}}, p);
      }
      for (const auto& a : o.value("Attribute", json::array())) {
        if (uuidTaken(a.value("uuid", ""))) {
          return saveFail("Object", {{"uuid", {"The UUID provided is not unique"}}}, p);
        }
      }
      storeObject(ev, o);
      events_[ev].published = false;
      Response r;
      r.body = {{"Object", objects_[o["uuid"].get<std::string>()].data}};
      return r;
    }
    if (p == "/tags/attachTagToObject") {
      const std::string uuid = body.value("uuid", "");
      const std::string tag = body.value("tag", "");
      if (!MispRules::get().tagExists(tag)) {
        violation("attachTagToObject: unknown tag " + tag);
        return error(403, "Tag not found and insufficient privileges to create it.", p);
      }
      std::set<std::string>* set = nullptr;
      if (events_.count(uuid)) set = &events_[uuid].tags;
      if (attrs_.count(uuid)) set = &attrs_[uuid].tags;
      if (set == nullptr) return error(404, "Invalid Target.", p);
      Response r;
      if (!set->insert(tag).second) {
        r.body = {{"saved", true},
                  {"success", "Tag " + tag + " already attached."},
                  {"check_publish", true}};
      } else {
        r.body = {{"saved", true},
                  {"success", "Tag " + tag + " successfully attached."},
                  {"check_publish", true}};
      }
      return r;
    }
    if (p == "/sightings/add") {
      if (body.contains("values") || body.contains("value")) violation("sighting by value");
      const std::string uuid = body.value("uuid", "");
      Response r;
      if (!attrs_.count(uuid)) {
        r.body = {{"message", "Could not add the Sighting. Reason: No valid attributes found."}};
        return r;
      }
      json s = {{"uuid", uuid},
                {"source", body.value("source", "")},
                {"type", body.value("type", "0")},
                {"timestamp", body.value("timestamp", int64_t{0})}};
      sightings_.push_back(s);
      r.body = {{"Sighting", s}};
      return r;
    }
    if (p == "/sightings/restSearch/attribute") {
      if (sighting_search_needs_id_ && !body.contains("id")) {
        return error(405, "An id must be provided if the context is set.", p);
      }
      json list = json::array();
      for (const auto& s : sightings_) {
        if (s["uuid"] != body.value("uuid", "")) continue;
        if (body.contains("source") && s["source"] != body["source"]) continue;
        const int64_t t = s["timestamp"].get<int64_t>();
        if (body.contains("from") && t < body["from"].get<int64_t>()) continue;
        if (body.contains("to") && t > body["to"].get<int64_t>()) continue;
        list.push_back({{"Sighting", s}});
      }
      Response r;
      r.body = {{"response", list}};
      return r;
    }
    if (p.rfind("/events/publish/", 0) == 0) {
      const std::string uuid = tail("/events/publish/");
      if (!events_.count(uuid)) return error(404, "Invalid event", p);
      events_[uuid].published = true;
      ++publish_calls_;
      Response r;
      r.body = {{"name", "Publish"},
                {"message", "Job queued"},
                {"url", p},
                {"id", std::to_string(events_[uuid].id)}};
      return r;
    }
    if (p == "/events/restSearch") {
      json list = json::array();
      const std::string uuid = body.value("uuid", "");
      if (events_.count(uuid)) {
        json e = eventView(uuid);
        e["Event"].erase("Attribute");
        e["Event"].erase("Object");
        list.push_back(e);
      }
      Response r;
      r.body = {{"response", list}};
      return r;
    }
    violation("unknown endpoint " + p);
    return error(404, "Not found", p);
  }

  std::string key_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<double> slow_s_{3};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  FaultPlan plan_;
  int requests_ = 0;
  int next_id_ = 0;
  int publish_calls_ = 0;
  bool sighting_search_needs_id_ = false;
  std::vector<std::string> violations_;
  std::vector<std::string> log_;
  std::string bodies_;
  std::map<std::string, Ev> events_;
  std::map<std::string, Attr> attrs_;
  std::map<std::string, Obj> objects_;
  std::vector<json> sightings_;
  std::set<std::string> blocked_;
};

}  // namespace drosera::testutil
