#include "intel/rest_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "intel/misp_json.h"

namespace drosera::intel {
namespace {

using nlohmann::json;

constexpr const char* kNamespace = "misp";

std::string tagDigest(const std::string& tag) { return md5Hex(tag).substr(0, 8); }

std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Everything MISP said, flattened, for matching its messages.
void flatten(const json& j, std::string* out) {
  if (j.is_string()) {
    *out += j.get<std::string>();
    *out += ' ';
  } else if (j.is_array() || j.is_object()) {
    for (const auto& v : j) flatten(v, out);
  }
}

bool containsAny(const std::string& text, std::initializer_list<const char*> needles) {
  for (const char* n : needles) {
    if (text.find(n) != std::string::npos) return true;
  }
  return false;
}

core::Status stoppedStatus() { return core::Status::unavailable("misp: REST transport stopped"); }

}  // namespace

struct RestTransport::Reply {
  int status = 0;
  json body;         // null when not JSON
  std::string text;  // the messages in body, flattened
  std::string location;
};

// What was done for one event, as stored (compact: the state is rewritten after every call).
struct RestTransport::Progress {
  bool created = false;
  bool refused = false;     // MISP refused the event itself: leave it alone
  bool adopted = false;  // MISP had the event already (events/add said so): ask before
                         // sending what is not idempotent
  std::string meta;      // digest of the metadata sent
  std::map<std::string, std::string> attrs;           // uuid -> digest ("!" = refused)
  std::map<std::string, std::set<std::string>> tags;  // entity uuid -> tag digests
  std::set<std::string> objects;
  uint64_t sight = 0;      // next sighting index to send
  uint64_t published = 0;  // part version published
  json inflight;           // null, or the call in flight

  std::string serialize() const {
    json j;
    j["c"] = created;
    j["x"] = adopted;
    j["r"] = refused;
    j["m"] = meta;
    j["a"] = attrs;
    json t = json::object();
    for (const auto& [uuid, set] : tags) t[uuid] = std::vector<std::string>(set.begin(), set.end());
    j["t"] = std::move(t);
    j["o"] = std::vector<std::string>(objects.begin(), objects.end());
    j["s"] = sight;
    j["p"] = published;
    j["i"] = inflight;
    return dumpJson(j);
  }

  static Progress parse(const std::string& text) {
    Progress p;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return p;
    p.created = j.value("c", false);
    p.adopted = j.value("x", false);
    p.refused = j.value("r", false);
    p.meta = j.value("m", "");
    if (j.contains("a") && j["a"].is_object()) {
      for (const auto& [k, v] : j["a"].items()) {
        if (v.is_string()) p.attrs[k] = v.get<std::string>();
      }
    }
    if (j.contains("t") && j["t"].is_object()) {
      for (const auto& [k, v] : j["t"].items()) {
        if (!v.is_array()) continue;
        for (const auto& d : v) {
          if (d.is_string()) p.tags[k].insert(d.get<std::string>());
        }
      }
    }
    if (j.contains("o") && j["o"].is_array()) {
      for (const auto& o : j["o"]) {
        if (o.is_string()) p.objects.insert(o.get<std::string>());
      }
    }
    p.sight = j.value("s", uint64_t{0});
    p.published = j.value("p", uint64_t{0});
    if (j.contains("i")) p.inflight = j["i"];
    return p;
  }

  bool hasTag(const std::string& uuid, const std::string& tag) const {
    auto it = tags.find(uuid);
    return it != tags.end() && it->second.count(tagDigest(tag)) > 0;
  }
  void addTag(const std::string& uuid, const std::string& tag) {
    tags[uuid].insert(tagDigest(tag));
  }
};

RestTransport::RestTransport(RestOptions options,
                             const std::function<std::unique_ptr<http::HttpClient>()>& make_client,
                             store::Store* store)
    : options_(std::move(options)),
      make_client_(make_client),
      client_(make_client()),
      store_(store) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
  if (options_.retry_attempts < 1) options_.retry_attempts = 1;
  if (!options_.sleep) {
    options_.sleep = [stop = options_.stop](double s) {
      // In slices, so that a stop is not kept waiting for a backoff of up to a minute.
      using Clock = std::chrono::steady_clock;
      const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                         std::chrono::duration<double>(s));
      while (stop == nullptr || !stop->load()) {
        const Clock::time_point now = Clock::now();
        if (now >= until) break;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(until - now, std::chrono::milliseconds(20)));
      }
    };
  }
}

bool RestTransport::stopping() const { return options_.stop != nullptr && options_.stop->load(); }

RestTransport::~RestTransport() = default;

core::Result<RestTransport::Reply> RestTransport::call(const std::string& method,
                                                       const std::string& path,
                                                       const std::string& body, bool retry,
                                                       bool once) {
  http::ClientRequest req;
  req.method = method;
  req.url = options_.url + "/" + path;
  req.headers = {{"Authorization", options_.api_key},
                 {"Accept", "application/json"},
                 {"User-Agent", options_.user_agent}};
  if (method == "POST") req.headers.push_back({"Content-Type", "application/json"});
  if (once) req.headers.push_back({"Connection", "close"});
  req.body = body;
  req.timeout_s = options_.timeout_s;
  req.connect_timeout_s = std::min(options_.timeout_s, 10.0);
  req.verify_tls = options_.verify_tls;
  req.ca_file = options_.ca_file;
  req.max_response_bytes = 256ull << 20;
  req.cancel = options_.stop;

  const int attempts = retry ? options_.retry_attempts : 1;
  double backoff = options_.retry_backoff_s;
  core::Status last;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      if (stopping()) return stoppedStatus();
      ++stats_.retries;
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff_s);
    }
    if (stopping()) return stoppedStatus();
    ++stats_.calls;
    core::Result<http::ClientResponse> r = core::Status::internal("no client");
    if (once) {
      r = make_client_()->send(req);  // a new connection, never a reused one
    } else {
      r = client_->send(req);
    }
    if (!r) {
      last = r.status();  // the message names method and URL, never a header
      continue;
    }
    if (r->status >= 500 || r->status == 429) {
      last = core::Status::unavailable("MISP answered " + std::to_string(r->status) + " to " +
                                       method + " /" + path);
      continue;
    }
    Reply reply;
    reply.status = r->status;
    reply.body = json::parse(r->body, nullptr, false);
    if (reply.body.is_discarded()) reply.body = nullptr;
    flatten(reply.body, &reply.text);
    for (const auto& h : r->headers) {
      std::string n = h.name;
      std::transform(n.begin(), n.end(), n.begin(), ::tolower);
      if (n == "location") reply.location = h.value;
    }
    if (reply.status == 401 ||
        (reply.status == 403 && containsAny(reply.text, {"Authentication", "authentication"}))) {
      return core::Status::invalidArgument("MISP refused the API key (" +
                                           std::to_string(reply.status) + " on /" + path +
                                           "): check the key and that its user may use the API");
    }
    return reply;
  }
  return core::Status::unavailable(last.message() + " (after " + std::to_string(attempts) +
                                   " attempts)");
}

core::Status RestTransport::save(const std::string& event_uuid, const Progress& p) {
  return store_->putState(kNamespace, "rest/" + event_uuid, p.serialize());
}

core::Status RestTransport::attachTag(const std::string& uuid, const std::string& tag) {
  json body = {{"uuid", uuid}, {"tag", tag}, {"local", false}};
  auto r = call("POST", "tags/attachTagToObject", dumpJson(body), true);
  if (!r) return r.status();
  const bool saved =
      r->body.is_object() &&
      ((r->body.contains("saved") && r->body["saved"] == true) || r->body.contains("success"));
  if (r->status == 200 && saved) return core::Status::ok();
  if (containsAny(r->text, {"already attached"})) {
    ++stats_.already_existed;
    return core::Status::ok();
  }
  ++stats_.rejected;
  spdlog::warn("misp: tag {} not attached to {}: {} {}", tag, uuid, r->status, r->text);
  return core::Status::ok();
}

core::Result<RestTransport::SightingCheck> RestTransport::findSighting(const MispSighting& s) {
  // MISP gives sightings no idempotency key (sightings/add takes no sighting UUID), so ask.
  json q = {{"returnFormat", "json"}, {"uuid", s.attribute_uuid},
            {"source", s.source},     {"type", "0"},
            {"from", s.timestamp},    {"to", s.timestamp}};
  auto r = call("POST", "sightings/restSearch/attribute", dumpJson(q), false);
  if (!r) return r.status();
  const json& b = r->body;
  const json& list = b.is_object() && b.contains("response") ? b["response"] : b;
  if (r->status == 200 && list.is_array()) {
    if (list.empty()) return SightingCheck::kAbsent;
    for (const auto& item : list) {
      if (item.is_object() && item.contains("Sighting")) return SightingCheck::kPresent;
    }
  }
  // Anything else is no answer: older MISP versions refuse this query with 405 "An id must be
  // provided if the context is set".
  spdlog::warn(
      "misp: cannot tell whether the sighting of {} at {} arrived: sightings/restSearch "
      "answered {} {}",
      s.attribute_uuid, s.timestamp, r->status, r->text);
  return SightingCheck::kUnknown;
}

core::Status RestTransport::sendSighting(const MispSighting& s, bool reconcile_first,
                                         bool send_if_unknown, bool* sent) {
  *sent = false;
  double backoff = options_.retry_backoff_s;
  bool reconcile = reconcile_first;
  for (int attempt = 0; attempt < options_.retry_attempts; ++attempt) {
    if (stopping()) return stoppedStatus();  // left in flight: asked about next run
    if (attempt > 0) {
      ++stats_.retries;
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff_s);
      if (stopping()) return stoppedStatus();
    }
    if (reconcile) {
      auto known = findSighting(s);
      if (!known) {
        if (known.status().code() == core::Status::Code::kInvalidArgument) return known.status();
        continue;  // the question did not get through: asked again (later, or by the next run)
      }
      if (*known == SightingCheck::kPresent) {
        ++stats_.reconciled;
        *sent = true;
        return core::Status::ok();
      }
      if (*known == SightingCheck::kUnknown && !send_if_unknown) {
        // MISP cannot tell. Sending again could add it twice, and a duplicate skews what MISP
        // counts (sighting totals, decaying scores) with nothing to find it by later; not sending
        // loses one sighting of an address whose last_seen says it was active anyway.
        ++stats_.sightings_unknown;
        return core::Status::ok();
      }
    }
    json body = {{"uuid", s.attribute_uuid},
                 {"source", s.source},
                 {"type", "0"},
                 {"timestamp", s.timestamp}};
    auto r = call("POST", "sightings/add", dumpJson(body), false, true);
    reconcile = true;  // from now on the server may have it
    send_if_unknown = false;
    if (!r) {
      if (r.status().code() == core::Status::Code::kInvalidArgument) return r.status();
      continue;
    }
    // MISP answers a failed sighting with 200 and only a message: look for the Sighting.
    if (r->status == 200 && r->body.is_object() && r->body.contains("Sighting")) {
      ++stats_.sightings;
      *sent = true;
      return core::Status::ok();
    }
    ++stats_.sightings_failed;
    spdlog::warn("misp: sighting of {} not added: {} {}", s.attribute_uuid, r->status, r->text);
    return core::Status::ok();  // refused: not retried
  }
  return core::Status::unavailable("misp: sightings/add did not get through");
}

core::Status RestTransport::sendPublish(const std::string& event_uuid, bool reconcile_first) {
  double backoff = options_.retry_backoff_s;
  bool reconcile = reconcile_first;
  for (int attempt = 0; attempt < options_.retry_attempts; ++attempt) {
    if (stopping()) return stoppedStatus();  // left in flight: asked about next run
    if (attempt > 0) {
      ++stats_.retries;
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff_s);
      if (stopping()) return stoppedStatus();
    }
    if (reconcile) {
      json q = {{"returnFormat", "json"}, {"uuid", event_uuid}, {"metadata", true}};
      auto r = call("POST", "events/restSearch", dumpJson(q), false);
      if (r && r->status == 200) {
        const json& b = r->body;
        const json& list = b.is_object() && b.contains("response") ? b["response"] : b;
        if (list.is_array() && !list.empty() && list[0].is_object() && list[0].contains("Event") &&
            list[0]["Event"].value("published", false)) {
          ++stats_.reconciled;
          return core::Status::ok();
        }
      } else if (!r && r.status().code() == core::Status::Code::kInvalidArgument) {
        return r.status();
      }
    }
    auto r = call("POST", "events/publish/" + event_uuid, "", false, true);
    reconcile = true;
    if (!r) {
      if (r.status().code() == core::Status::Code::kInvalidArgument) return r.status();
      continue;
    }
    if (r->status == 200) return core::Status::ok();
    return core::Status::unavailable("misp: events/publish answered " + std::to_string(r->status) +
                                     ": " + r->text);
  }
  return core::Status::unavailable("misp: events/publish did not get through");
}

core::Result<bool> RestTransport::eventExists(const std::string& event_uuid) {
  json q = {{"returnFormat", "json"}, {"uuid", event_uuid}, {"metadata", true}};
  auto r = call("POST", "events/restSearch", dumpJson(q), true);
  if (!r) return r.status();
  if (r->status != 200) {
    return core::Status::unavailable("misp: events/restSearch answered " +
                                     std::to_string(r->status));
  }
  const json& b = r->body;
  const json& list = b.is_object() && b.contains("response") ? b["response"] : b;
  return list.is_array() && !list.empty();
}

core::Status RestTransport::publish(const PublishRequest& req) {
  bool gone = false;
  core::Status s = publishOnce(req, &gone);
  if (s || !gone) return s;
  // The event was deleted from MISP behind our back: start again from events/add.
  ++stats_.events_recreated;
  spdlog::warn("misp: event {} is gone from MISP; adding it again", req.event->uuid);
  if (!(s = save(req.event->uuid, Progress{}))) return s;
  return publishOnce(req, &gone);
}

core::Status RestTransport::publishOnce(const PublishRequest& req, bool* gone) {
  if (req.event == nullptr) return core::Status::invalidArgument("rest: no event");
  *gone = false;
  const auto invalidEvent = [&](const Reply& r) {
    *gone = r.status == 404 && containsAny(r.text, {"Invalid event"});
    return *gone;
  };
  const MispEvent& ev = *req.event;
  auto stored = store_->getState(kNamespace, "rest/" + ev.uuid);
  if (!stored) return stored.status();
  Progress p = stored->has_value() ? Progress::parse(**stored) : Progress{};
  if (p.refused) return core::Status::ok();
  core::Status s;

  // 1. The event itself.
  if (!p.created) {
    auto r = call("POST", "events/add", coreEventJson(ev), true);
    if (!r) return r.status();
    if (r->status == 200 && r->body.is_object() && r->body.contains("Event")) {
      const json& e = r->body["Event"];
      std::set<std::string> got;
      if (e.contains("Attribute") && e["Attribute"].is_array()) {
        for (const auto& a : e["Attribute"]) got.insert(a.value("uuid", ""));
      }
      for (const auto& a : ev.attributes) {
        if (!got.count(a.uuid)) continue;  // dropped by MISP's validation: added one by one
        p.attrs[a.uuid] = attributeDigest(a);
        for (const auto& t : a.tags) p.addTag(a.uuid, t);
      }
      if (e.contains("Object") && e["Object"].is_array()) {
        for (const auto& o : e["Object"]) p.objects.insert(o.value("uuid", ""));
      }
      for (const auto& t : ev.tags) p.addTag(ev.uuid, t);
      p.meta = eventMetaDigest(ev);
      p.created = true;
    } else if (r->status == 404 && containsAny(r->text, {"already exists"})) {
      ++stats_.already_existed;  // created before a crash: go on with edits and adds
      p.created = true;
      p.adopted = true;
    } else if (r->status == 403) {
      ++stats_.events_refused;
      spdlog::error("misp: MISP refused event {} ({}); it will not be sent again: {}", ev.uuid,
                    ev.info, r->text);
      p.refused = true;
      return save(ev.uuid, p);
    } else {
      return core::Status::unavailable("misp: events/add answered " + std::to_string(r->status) +
                                       ": " + r->text);
    }
    if (!(s = save(ev.uuid, p))) return s;
  }

  // 2. Metadata (analysis complete once the day is over, info...).
  if (p.meta != eventMetaDigest(ev)) {
    auto r = call("POST", "events/edit/" + ev.uuid, eventEditBody(ev), true);
    if (!r) return r.status();
    if (invalidEvent(*r)) return core::Status::notFound("misp: event gone");
    if (r->status != 200) {
      return core::Status::unavailable("misp: events/edit answered " + std::to_string(r->status) +
                                       ": " + r->text);
    }
    p.meta = eventMetaDigest(ev);
    if (!(s = save(ev.uuid, p))) return s;
  }

  // 3. Attributes: new ones added, changed ones (counts, last_seen, to_ids) edited.
  for (const auto& a : ev.attributes) {
    const std::string digest = attributeDigest(a);
    auto known = p.attrs.find(a.uuid);
    if (known != p.attrs.end() && (known->second == digest || known->second == "!" + digest)) {
      continue;
    }
    bool edit = known != p.attrs.end();
    if (!edit) {
      auto r = call("POST", "attributes/add/" + ev.uuid, attributeAddBody(a), true);
      if (!r) return r.status();
      if (invalidEvent(*r)) return core::Status::notFound("misp: event gone");
      if (r->status == 200 && r->body.is_object() && r->body.contains("Attribute")) {
        p.attrs[a.uuid] = digest;
      } else if (containsAny(r->text, {"already exists", "not unique"})) {
        ++stats_.already_existed;
        edit = true;  // it may hold older values: make it current
      } else if (r->status == 403) {
        ++stats_.rejected;
        spdlog::warn("misp: {} attribute {} refused: {}", a.type, a.uuid, r->text);
        p.attrs[a.uuid] = "!" + digest;
      } else {
        return core::Status::unavailable("misp: attributes/add answered " +
                                         std::to_string(r->status) + ": " + r->text);
      }
    }
    if (edit) {
      auto r = call("POST", "attributes/edit/" + a.uuid, attributeEditBody(a), true);
      if (!r) return r.status();
      if (r->status == 200 || containsAny(r->text, {"not newer"})) {
        p.attrs[a.uuid] = digest;
      } else if (r->status == 404 && !p.adopted) {
        // Ours, created by us, and gone: was the whole event deleted?
        auto exists = eventExists(ev.uuid);
        if (!exists) return exists.status();
        if (!*exists) {
          *gone = true;
          return core::Status::notFound("misp: event gone");
        }
        ++stats_.rejected;
        spdlog::warn("misp: attribute {} was deleted in MISP; not sent again", a.uuid);
        p.attrs[a.uuid] = "!" + digest;
      } else if (r->status == 404 || r->status == 403) {
        // The value exists under another UUID (added by hand) or MISP refused the change.
        ++stats_.rejected;
        spdlog::warn("misp: attribute {} not edited: {} {}", a.uuid, r->status, r->text);
        p.attrs[a.uuid] = "!" + digest;
      } else {
        return core::Status::unavailable("misp: attributes/edit answered " +
                                         std::to_string(r->status) + ": " + r->text);
      }
    }
    if (!(s = save(ev.uuid, p))) return s;
  }

  // 4. Attribute tags (a class seen later in the day adds tags to an existing attribute).
  for (const auto& a : ev.attributes) {
    auto known = p.attrs.find(a.uuid);
    if (known == p.attrs.end() || known->second.rfind('!', 0) == 0) continue;
    for (const auto& t : a.tags) {
      if (p.hasTag(a.uuid, t)) continue;
      if (!(s = attachTag(a.uuid, t))) return s;
      p.addTag(a.uuid, t);
      if (!(s = save(ev.uuid, p))) return s;
    }
  }

  // 5. Objects (immutable once added).
  for (const auto& o : ev.objects) {
    if (p.objects.count(o.uuid)) continue;
    auto r = call("POST", "objects/add/" + ev.uuid, objectAddBody(o), true);
    if (!r) return r.status();
    if (invalidEvent(*r)) return core::Status::notFound("misp: event gone");
    if (r->status == 200 && r->body.is_object() && r->body.contains("Object")) {
      // added
    } else if (containsAny(r->text, {"already exists", "not unique", "Duplicate"})) {
      ++stats_.already_existed;
    } else if (r->status == 403) {
      ++stats_.rejected;
      spdlog::warn("misp: object {} refused: {}", o.uuid, r->text);
    } else {
      return core::Status::unavailable("misp: objects/add answered " + std::to_string(r->status) +
                                       ": " + r->text);
    }
    p.objects.insert(o.uuid);
    if (!(s = save(ev.uuid, p))) return s;
  }

  // 6. Event tags (ATT&CK techniques seen later in the day).
  for (const auto& t : ev.tags) {
    if (p.hasTag(ev.uuid, t)) continue;
    if (!(s = attachTag(ev.uuid, t))) return s;
    p.addTag(ev.uuid, t);
    if (!(s = save(ev.uuid, p))) return s;
  }

  // 7. Sightings: written down as in flight before they are sent.
  bool reconcile = false;
  if (p.inflight.is_object() && p.inflight.value("kind", "") == "sighting") {
    reconcile = true;  // a crash (or a failure) left it unknown whether MISP has it
  }
  for (const auto& sg : req.sightings) {
    if (sg.index < p.sight) continue;
    // An adopted event's sightings are asked about too (an earlier run may have sent them), but
    // when MISP cannot tell, only one that was in flight here is left unsent: the others were
    // most likely never sent, and an older MISP (which cannot answer) would get none at all.
    const bool was_inflight = reconcile && p.inflight.value("index", uint64_t{0}) == sg.index;
    p.inflight = {{"kind", "sighting"}, {"index", sg.index}};
    if (!(s = save(ev.uuid, p))) return s;
    bool sent = false;
    if (!(s = sendSighting(sg, p.adopted || was_inflight, !was_inflight, &sent))) return s;
    p.sight = sg.index + 1;
    p.inflight = nullptr;
    if (!(s = save(ev.uuid, p))) return s;
    reconcile = false;
  }

  // 8. Publish once the day is over (again after late changes: MISP unpublishes on edits).
  if (req.publish && p.published < req.version) {
    const bool again =
        p.adopted || (p.inflight.is_object() && p.inflight.value("kind", "") == "publish");
    p.inflight = {{"kind", "publish"}, {"version", req.version}};
    if (!(s = save(ev.uuid, p))) return s;
    if (!(s = sendPublish(ev.uuid, again))) return s;
    p.published = req.version;
    p.inflight = nullptr;
    if (!(s = save(ev.uuid, p))) return s;
  } else if (p.inflight.is_object()) {
    p.inflight = nullptr;  // nothing in flight any more (e.g. the sighting was dropped)
    if (!(s = save(ev.uuid, p))) return s;
  }
  return core::Status::ok();
}

core::Result<std::string> loadApiKey(const MispConfig& c) {
  std::string key;
  std::string where;
  if (!c.api_key_file.empty()) {
    where = "misp.api_key_file (" + c.api_key_file + ")";
    std::ifstream in(c.api_key_file, std::ios::binary);
    if (!in) return core::Status::notFound("cannot read the MISP API key from " + where);
    char buf[1024];
    in.read(buf, sizeof buf);
    key.assign(buf, static_cast<size_t>(in.gcount()));
  } else {
    where = "$" + c.api_key_env;
    const char* v = c.api_key_env.empty() ? nullptr : std::getenv(c.api_key_env.c_str());
    if (v != nullptr) key = v;
  }
  while (!key.empty() &&
         (key.back() == '\n' || key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) {
    key.pop_back();
  }
  while (!key.empty() && (key.front() == ' ' || key.front() == '\t')) key.erase(key.begin());
  if (key.empty()) {
    return core::Status::notFound("no MISP API key: set " + where +
                                  " (misp.api_key_env or misp.api_key_file)");
  }
  if (key.size() > 512)
    return core::Status::invalidArgument("the MISP API key in " + where + " is too long");
  for (char ch : key) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7F) {
      return core::Status::invalidArgument("the MISP API key in " + where +
                                           " holds spaces or control characters");
    }
  }
  return key;
}

}  // namespace drosera::intel
