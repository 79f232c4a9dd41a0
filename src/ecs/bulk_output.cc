#include "ecs/bulk_output.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "ecs/es_auth.h"
#include "http/content_coding.h"

namespace drosera::ecs {
namespace {

// Server errors for one document, each in a request where other documents went in, before it is
// dead-lettered: at the default backoff (doubling from 1 s to 60 s, jittered) 5 to 10 minutes of
// a cluster failing that document while it takes others.
constexpr int kMaxServerErrors = 16;

// Requests in which an index refused its documents before they are dead-lettered: the same 5 to
// 10 minutes at the default backoff, long enough for a passing block, short enough that a backlog
// for an index that will never take it (read-only after ILM's rollover, deleted, closed, outside
// the role) does not hold the rest for long.
constexpr int kMaxIndexRefusals = 16;

// The window holds at most batch_docs unfinished events and, behind an unfinished one, up to this
// many times batch_docs in all: finished items there keep only their seq and ids (about 100
// bytes), and the room lets later documents flow while one waits out its retries.
constexpr size_t kWindowSpan = 16;

// One item of a _bulk answer: its status (0 when missing or outside 100..599: unknown, sent
// again) and its error's type and reason (empty when it has none).
struct ItemAnswer {
  int status = 0;
  std::string type, reason;
};

ItemAnswer itemAnswer(const nlohmann::json& wrapper) {
  ItemAnswer a;
  if (!wrapper.is_object() || wrapper.empty()) return a;
  const auto& item = wrapper.begin().value();
  if (!item.is_object()) return a;
  if (item.contains("status") && item["status"].is_number()) {
    const double d = item["status"].get<double>();
    if (d >= 100 && d < 600) a.status = static_cast<int>(d);
  }
  if (item.contains("error") && item["error"].is_object()) {
    const auto& e = item["error"];
    if (e.contains("type") && e["type"].is_string()) a.type = e["type"].get<std::string>();
    if (e.contains("reason") && e["reason"].is_string()) a.reason = e["reason"].get<std::string>();
  }
  return a;
}

// The cluster refuses the item's index, not the document: every document for that index is
// refused alike until the cluster changes (a role, a write block, the index created, opened or
// given a write alias, shards freed). A 429 (a flood-stage block on 7.x and later) is
// back-pressure and handled apart.
bool indexRefusal(const ItemAnswer& a) {
  if (a.status == 401 || a.status == 403 || a.status == 404) return true;
  const std::string& t = a.type;
  return t == "security_exception" || t == "cluster_block_exception" ||
         t == "index_not_found_exception" || t == "index_closed_exception" ||
         t == "validation_exception" ||  // "would add [2] shards ... maximum shards open"
         (t == "illegal_argument_exception" &&
          a.reason.find("no write index") != std::string::npos);
}

constexpr char kBulkPath[] =
    "/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// At most `n` bytes of an answer, for error messages.
std::string brief(const std::string& body, size_t n = 200) {
  std::string s = body.substr(0, n);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

std::string trimUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

BulkOutput::BulkOutput(store::Store& store, const EcsBulkConfig& config, EcsMapper mapper,
                       const GeoLookup* geo, std::unique_ptr<http::HttpClient> client)
    : store_(store),
      config_(config),
      mapper_(std::move(mapper)),
      geo_(geo),
      client_(std::move(client)),
      rng_(std::random_device{}()) {}

core::Result<std::unique_ptr<BulkOutput>> BulkOutput::create(
    store::Store& store, const EcsBulkConfig& config_in, EcsMapper mapper, const GeoLookup* geo,
    std::unique_ptr<http::HttpClient> client) {
  EcsBulkConfig config = config_in;
  config.url = trimUrl(config.url);
  const bool http = config.url.rfind("http://", 0) == 0;
  const bool https = config.url.rfind("https://", 0) == 0;
  if (!http && !https) {
    return core::Status::invalidArgument("ecs.bulk.url must start with http:// or https://");
  }
  {
    const std::string rest = config.url.substr(http ? 7 : 8);
    const std::string authority = rest.substr(0, rest.find('/'));
    if (authority.empty()) return core::Status::invalidArgument("ecs.bulk.url has no host");
    if (authority.find('@') != std::string::npos) {
      return core::Status::invalidArgument(
          "ecs.bulk.url must not carry credentials: use ecs.bulk.auth and a secret file or "
          "variable");
    }
  }
  if (auto err = checkIndexPattern(config.index); !err.empty()) {
    return core::Status::invalidArgument("ecs.bulk.index: " + err);
  }
  if (config.data_stream && config.index.find('%') != std::string::npos) {
    return core::Status::invalidArgument("ecs.bulk.index: a data stream name has no date in it");
  }
  if (config.batch_docs == 0) return core::Status::invalidArgument("ecs.bulk.batch_docs is 0");
  if (config.batch_bytes < 1024) {
    return core::Status::invalidArgument("ecs.bulk.batch_bytes is below 1024");
  }
  if (!(config.timeout_s > 0) || !(config.backoff_initial_s > 0) ||
      config.backoff_max_s < config.backoff_initial_s || config.auth_pause_s < 0) {
    return core::Status::invalidArgument(
        "ecs.bulk: timeout_s and backoff_initial_s must be > 0, backoff_max_s >= "
        "backoff_initial_s");
  }
  if (config.flavor != "auto" && config.flavor != "elasticsearch" &&
      config.flavor != "opensearch") {
    return core::Status::invalidArgument(
        "ecs.bulk.flavor must be auto, elasticsearch or opensearch");
  }
  auto auth = authorizationHeader(config);
  if (!auth) return auth.status();

  std::string tpl(builtinIndexTemplate());
  if (!config.template_file.empty()) {
    std::ifstream in(config.template_file, std::ios::binary);
    if (!in) {
      return core::Status::invalidArgument("cannot read ecs.bulk.template_file " +
                                           config.template_file);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    tpl = ss.str();
  }
  {
    TemplateOptions check;
    auto built = buildIndexTemplate(tpl, check);
    if (!built) {
      return core::Status::invalidArgument("ecs.bulk index template: " + built.status().message());
    }
  }
  auto cursor = store.cursor(config.cursor_name);
  if (!cursor) return cursor.status();

  if (!client) client = http::makeHttpClient();
  std::unique_ptr<BulkOutput> out(
      new BulkOutput(store, config, std::move(mapper), geo, std::move(client)));
  out->auth_header_ = std::move(*auth);
  out->template_json_ = std::move(tpl);
  out->last_read_ = out->committed_ = out->prefix_ = *cursor;
  out->send_limit_ = config.batch_docs;
  out->stats_.cursor = *cursor;
  return out;
}

BulkOutput::~BulkOutput() { stop(); }

http::ClientRequest BulkOutput::request(std::string method, std::string path) const {
  http::ClientRequest r;
  r.method = std::move(method);
  r.url = config_.url + path;
  r.headers.push_back({"Accept", "application/json"});
  if (!auth_header_.empty()) r.headers.push_back({"Authorization", auth_header_});
  r.timeout_s = config_.timeout_s;
  r.connect_timeout_s = config_.connect_timeout_s;
  r.verify_tls = config_.verify_tls;
  r.ca_file = config_.ca_file;
  return r;
}

double BulkOutput::backoff() { return jittered(++failures_); }

double BulkOutput::jittered(int n) {
  double d = config_.backoff_initial_s * std::pow(2.0, std::min(n - 1, 30));
  d = std::min(d, config_.backoff_max_s);
  // "Equal jitter": half fixed, half random, so restarted collectors do not retry in step.
  std::uniform_real_distribution<double> u(0.0, 0.5);
  return d * (0.5 + u(rng_));
}

bool BulkOutput::parked(const Item& item, double at) const {
  auto it = refused_.find(item.index);
  return it != refused_.end() && it->second.retry_at > at;
}

void BulkOutput::publishRefusals() {
  std::vector<std::string> names;
  for (const auto& [index, r] : refused_) names.push_back(index);
  std::lock_guard lock(stats_mu_);
  stats_.refused_indices = std::move(names);
}

BulkOutput::Turn BulkOutput::failed(const std::string& error) {
  const double wait = backoff();
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.failed_requests;
    stats_.healthy = false;
    stats_.last_error = error;
  }
  spdlog::warn("ecs bulk output: {}; retrying in {:.1f} s", error, wait);
  return {wait, false};
}

BulkOutput::Turn BulkOutput::authFailed(int status) {
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.failed_requests;
    stats_.auth_failed = true;
    stats_.healthy = false;
    stats_.last_error =
        "HTTP " + std::to_string(status) + ": Elasticsearch refused the credentials; paused";
  }
  spdlog::error(
      "ecs bulk output: HTTP {} from {}: check ecs.bulk.auth and its secret; trying "
      "again in {:.0f} s",
      status, config_.url, config_.auth_pause_s);
  return {config_.auth_pause_s, false};
}

bool BulkOutput::deadLetter(Item& item, int status, const std::string& type,
                            const std::string& reason, bool log) {
  std::string v;
  core::JsonWriter w(v);
  w.beginObject();
  w.key("seq").value(item.seq);
  w.key("_id").value(item.id);
  w.key("index").value(item.index);
  w.key("status").value(status);
  w.key("error").beginObject().key("type").value(type).key("reason").value(reason.substr(0, 2048));
  w.endObject();
  w.key("time").value(formatTimestamp(wallMicros()));
  w.endObject();
  auto st = store_.putState(config_.dead_letter_ns, item.id, v);
  if (!st) {
    std::lock_guard lock(stats_mu_);
    stats_.last_error = "cannot record a dead letter: " + st.toString();
    return false;
  }
  item.done = true;
  item.doc = std::string();
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.dead_lettered;
  }
  if (!log) return true;
  // The reason may quote the document (attacker data): only the type is logged.
  spdlog::warn("ecs bulk output: event seq {} refused (HTTP {}, {}), kept in {}", item.seq, status,
               type, config_.dead_letter_ns);
  return true;
}

bool BulkOutput::installTemplate(Turn& wait) {
  Flavor flavor = config_.flavor == "opensearch" ? Flavor::kOpenSearch : Flavor::kElasticsearch;
  if (config_.flavor == "auto") {
    auto resp = client_->send(request("GET", "/"));
    if (!resp) {
      wait = failed("GET /: " + resp.status().message());
      return false;
    }
    if (resp->status == 401 || resp->status == 403) {
      wait = authFailed(resp->status);
      return false;
    }
    if (resp->status < 200 || resp->status >= 300) {
      wait = failed("GET /: HTTP " + std::to_string(resp->status));
      return false;
    }
    flavor = flavorFromRootAnswer(resp->body);
  }
  TemplateOptions opt;
  opt.index_pattern = indexWildcard(config_.index);
  opt.data_stream = config_.data_stream;
  opt.priority = config_.template_priority;
  opt.flavor = flavor;
  auto body = buildIndexTemplate(template_json_, opt);
  if (!body) {
    wait = failed("index template: " + body.status().message());
    return false;
  }
  auto req = request("PUT", "/_index_template/" + config_.template_name);
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::move(*body);
  auto resp = client_->send(req);
  if (!resp) {
    wait = failed("PUT _index_template: " + resp.status().message());
    return false;
  }
  if (resp->status == 401 || resp->status == 403) {
    wait = authFailed(resp->status);
    return false;
  }
  if (resp->status < 200 || resp->status >= 300) {
    wait = failed("PUT _index_template: HTTP " + std::to_string(resp->status) + ": " +
                  brief(resp->body));
    return false;
  }
  template_done_ = true;
  std::lock_guard lock(stats_mu_);
  stats_.template_installed = true;
  stats_.auth_failed = false;
  return true;
}

core::Status BulkOutput::fillWindow() {
  uint64_t added = 0;
  GeoInfo geo;
  size_t open = static_cast<size_t>(
      std::count_if(window_.begin(), window_.end(), [](const Item& i) { return !i.done; }));
  const size_t span = config_.batch_docs * kWindowSpan;
  while (open < config_.batch_docs && window_.size() < span) {
    const size_t want = std::min(config_.batch_docs - open, span - window_.size());
    uint64_t examined = last_read_;
    auto events = store_.readAfter(last_read_, want, &examined);
    if (!events) return events.status();
    if (const uint64_t gap = store::missedSeqs(last_read_, *events, examined); gap > 0) {
      spdlog::warn("ecs bulk output: {} events between seqs {} and {} were deleted by retention "
                   "before they were sent, or are damaged (the store names those)",
                   gap, last_read_ + 1, examined);
      std::lock_guard lock(stats_mu_);
      stats_.missed += gap;
    }
    for (const auto& se : *events) {
      Item item;
      item.seq = se.seq;
      item.id = documentId(se.event);
      item.index = indexName(config_.index, se.event.time_us);
      const GeoInfo* g = nullptr;
      if (geo_) {
        geo = GeoInfo{};
        if (geo_->lookup(se.event.src_ip, geo)) g = &geo;
      }
      mapper_.append(se.event, se.seq, g, item.doc);
      last_read_ = se.seq;
      window_.push_back(std::move(item));
      ++added;
      ++open;
    }
    // Past damaged rows at the end of the batch too: they are not read again (and the cursor
    // passes them once every item before is finished).
    last_read_ = std::max(last_read_, examined);
    if (events->size() < want) break;
  }
  if (added > 0) {
    if (first_pending_at_ < 0) first_pending_at_ = now();
    std::lock_guard lock(stats_mu_);
    stats_.read += added;
  }
  return core::Status::ok();
}

BulkOutput::Turn BulkOutput::sendBatch() {
  std::vector<Item*> sel;
  std::string body;
  const double t0 = now();
  for (auto& item : window_) {
    if (item.done || parked(item, t0)) continue;
    if (sel.size() >= send_limit_) break;
    std::string action = "{\"create\":{\"_index\":";
    core::appendJsonString(action, item.index);
    action += ",\"_id\":";
    core::appendJsonString(action, item.id);
    action += "}}\n";
    if (!sel.empty() && body.size() + action.size() + item.doc.size() + 1 > config_.batch_bytes) {
      break;
    }
    body += action;
    body += item.doc;
    body += '\n';  // the last line too: Elasticsearch refuses a body without it
    sel.push_back(&item);
  }
  auto req = request("POST", kBulkPath);
  req.headers.push_back({"Content-Type", "application/x-ndjson"});
  if (config_.compress) {
    std::string z;
    // The fastest level: Elasticsearch spends less on inflating than the wire saves on bodies
    // that are mostly repeated field names.
    if (http::gzip(body, Z_BEST_SPEED, 15, 8, &z)) {
      req.headers.push_back({"Content-Encoding", "gzip"});
      req.body = std::move(z);
    } else {
      req.body = std::move(body);
    }
  } else {
    req.body = std::move(body);
  }
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.requests;
  }
  auto resp = client_->send(req);
  if (!resp) return failed("POST /_bulk: " + resp.status().message());
  const int status = resp->status;
  if (status == 401 || status == 403) return authFailed(status);
  if (status == 413 || status == 400) {
    // Too large, or a document that breaks the framing (a bug): halve until the culprit is alone.
    if (sel.size() > 1) {
      send_limit_ = std::max<size_t>(1, sel.size() / 2);
      std::lock_guard lock(stats_mu_);
      ++stats_.splits;
      return {0, false};
    }
    // A lone document refused whole: dead-lettered, unless the request before was refused the
    // same way. Two in a row point at the endpoint (a proxy's size limit, a wrong path), not at
    // the documents, and dead-lettering everything one by one would empty the stream into the
    // dead-letter table.
    if (lone_refusals_ > 0) {
      return failed("POST /_bulk: HTTP " + std::to_string(status) +
                    " for single documents in a row; check the endpoint and its size limit");
    }
    if (!deadLetter(*sel.front(), status,
                    status == 413 ? "request_entity_too_large" : "illegal_argument_exception",
                    brief(resp->body, 1024))) {
      return failed("POST /_bulk: HTTP " + std::to_string(status) + " and no dead letter");
    }
    ++lone_refusals_;
    return {0, false};
  }
  if (status < 200 || status >= 300) {
    return failed("POST /_bulk: HTTP " + std::to_string(status) + ": " + brief(resp->body));
  }
  lone_refusals_ = 0;
  nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, false);
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array() ||
      j["items"].size() != sel.size()) {
    return failed("POST /_bulk: an answer without one item per document: " + brief(resp->body));
  }
  bool again = false;  // a dead letter could not be recorded
  uint64_t created = 0, duplicates = 0, retries = 0, refusals = 0;
  // Documents answered 5xx (or no status) this time, with their answers.
  std::vector<std::pair<size_t, ItemAnswer>> failing;
  // Documents whose index refused them this time, and the indices that took documents.
  std::vector<std::pair<size_t, ItemAnswer>> refused;
  std::set<std::string> took;
  const auto& items = j["items"];
  for (size_t i = 0; i < sel.size(); ++i) {
    ItemAnswer a = itemAnswer(items[i]);
    const int s = a.status;
    if (s >= 200 && s < 300) {
      sel[i]->done = true;
      sel[i]->doc = std::string();
      took.insert(sel[i]->index);
      ++created;
    } else if (s == 409) {
      sel[i]->done = true;  // created by an earlier attempt
      sel[i]->doc = std::string();
      took.insert(sel[i]->index);
      ++duplicates;
    } else if (s == 429) {
      ++retries;  // back-pressure: never the document's fault
    } else if (s >= 500 || s == 0) {
      ++retries;
      failing.emplace_back(i, std::move(a));
    } else if (indexRefusal(a)) {
      if (a.type.empty()) a.type = "unknown";
      refused.emplace_back(i, std::move(a));
    } else {
      const std::string type = a.type.empty() ? "unknown" : a.type;
      if (!deadLetter(*sel[i], s, type, a.reason)) again = true;
    }
  }
  // A document that fails with a server error kMaxServerErrors times, each time in a request
  // where other documents went in, is that document's problem (a mapping the cluster chokes on,
  // a plugin that throws): dead-lettered, so that it stops holding the stream. A server error
  // while nothing goes in (the cluster down, or the document sent alone in a quiet moment) says
  // nothing about the document and is not counted: sent again until the cluster takes it.
  if (!failing.empty() && created + duplicates > 0) {
    for (const auto& [i, a] : failing) {
      Item& it = *sel[i];
      if (++it.server_errors < kMaxServerErrors) continue;
      if (deadLetter(it, a.status, a.type.empty() ? "server_error" : a.type,
                     a.reason + " (" + std::to_string(it.server_errors) + " server errors)")) {
        --retries;
      }
    }
  }
  // An index that took all of its documents this time accepts again.
  for (const auto& index : took) {
    auto r = refused_.find(index);
    if (r == refused_.end()) continue;
    const bool still = std::any_of(refused.begin(), refused.end(),
                                   [&](const auto& x) { return sel[x.first]->index == index; });
    if (still) {
      r->second.own_went_in = true;  // refused for one document, taken for another
    } else {
      spdlog::info("ecs bulk output: index {} takes documents again", index);
      refused_.erase(r);
    }
  }
  // Refusals of an index: its documents wait an own backoff while the others go on, and are
  // dead-lettered once it refused them in kMaxIndexRefusals requests. Not the index new events go
  // to now, as long as none of its documents went in: that refusal is the whole stream's (a role
  // without today's index, the shard limit at its creation), and dead-lettering it would empty
  // the stream into dead letters; it waits, unhealthy, until the operator fixes the cluster.
  std::string refused_error;
  if (!refused.empty()) {
    const std::string current = indexName(config_.index, wallMicros());
    // The index new events go to refuses them and none of its documents went in: the whole
    // stream is refused (a role, a cluster-wide block), not one index. Refusals of the others
    // do not count then: at midnight yesterday's index would otherwise be dead-lettered with its
    // backlog, its 16 refusals counted while it was today's.
    auto streamRefused = [&] {
      auto c = refused_.find(current);
      return c != refused_.end() && !c->second.dead && !c->second.own_went_in &&
             c->second.refusals > 0;
    };
    std::set<std::string> counted;
    for (auto& [i, a] : refused) {
      Item& it = *sel[i];
      Refusal& r = refused_[it.index];
      r.last_at = now();
      const std::string what = "HTTP " + std::to_string(a.status) + " " + a.type;
      if (!r.dead && counted.insert(it.index).second) {
        if (r.refusals++ == 0) {
          r.since = formatTimestamp(wallMicros());
          // The reason names the index and the block, not the document: safe to log.
          spdlog::warn(
              "ecs bulk output: index {} refuses documents ({}: {}); they are sent again "
              "with backoff, the others go on",
              it.index, what, brief(a.reason));
        }
        const bool per_document = it.index == current ? r.own_went_in : !streamRefused();
        if (per_document) ++r.counted;
        if (r.counted >= kMaxIndexRefusals) {
          r.dead = true;
          r.retry_at = 0;
          spdlog::error(
              "ecs bulk output: index {} refused documents in {} requests since {} ({}); "
              "its documents are dead-lettered into {} while it refuses them",
              it.index, r.refusals, r.since, what, config_.dead_letter_ns);
        } else {
          r.retry_at = now() + jittered(r.refusals);
        }
      }
      ++refusals;
      refused_error = "index " + it.index + " refuses documents: " + what + ": " + brief(a.reason) +
                      " (" + std::to_string(r.refusals) + " times since " + r.since +
                      (r.dead ? "; dead-lettered)" : "; sent again)");
      if (r.dead) {
        // Logged once per index, above: a backlog for it would flood the log.
        if (!deadLetter(it, a.status, a.type,
                        a.reason + " (index refused documents in " + std::to_string(r.refusals) +
                            " requests since " + r.since + ")",
                        false)) {
          again = true;
        }
      } else {
        ++retries;
      }
    }
  }
  // Sent again after the output's backoff: what is neither finished nor waiting for its index.
  std::vector<bool> own_wait(sel.size(), false);
  for (const auto& [i, a] : refused) own_wait[i] = true;
  for (size_t i = 0; i < sel.size(); ++i) again = again || (!sel[i]->done && !own_wait[i]);
  publishRefusals();
  const bool waiting =
      std::any_of(refused_.begin(), refused_.end(), [](const auto& r) { return !r.second.dead; });
  send_limit_ = std::min(config_.batch_docs, std::max<size_t>(1, send_limit_ * 2));
  {
    std::lock_guard lock(stats_mu_);
    stats_.created += created;
    stats_.duplicates += duplicates;
    stats_.item_retries += retries;
    stats_.index_refusals += refusals;
    stats_.auth_failed = false;
    stats_.healthy = !again && !waiting;
    if (!refused_error.empty()) stats_.last_error = refused_error;
  }
  if (again) {
    const double wait = backoff();
    spdlog::warn("ecs bulk output: {} documents to send again; retrying in {:.1f} s", retries,
                 wait);
    return {wait, false};
  }
  failures_ = 0;
  return {0, false};
}

void BulkOutput::advanceCursor() {
  while (!window_.empty() && window_.front().done) {
    prefix_ = window_.front().seq;
    window_.pop_front();
  }
  // Everything read is finished: the cursor may pass the damaged rows read after the last item.
  if (window_.empty()) prefix_ = std::max(prefix_, last_read_);
  if (prefix_ > committed_) {
    auto st = store_.setCursor(config_.cursor_name, prefix_);
    if (st) {
      committed_ = prefix_;
    } else {
      std::lock_guard lock(stats_mu_);
      stats_.last_error = "cannot save the cursor: " + st.toString();
    }
  }
  // An index none of whose documents is left to send is forgotten, so that the map does not grow
  // with every daily index ever refused; a dead one only once it refused nothing for as long as
  // its judgement took, since the rest of a backlog for it is read a window at a time. A later
  // refusal starts the count again.
  bool forgot = false;
  const double t = now();
  for (auto r = refused_.begin(); r != refused_.end();) {
    const bool left = std::any_of(window_.begin(), window_.end(),
                                  [&](const Item& i) { return !i.done && i.index == r->first; });
    const bool recent =
        r->second.dead && t - r->second.last_at < kMaxIndexRefusals * config_.backoff_max_s;
    if (left || recent) {
      ++r;
    } else {
      r = refused_.erase(r);
      forgot = true;
    }
  }
  if (forgot) publishRefusals();
  std::lock_guard lock(stats_mu_);
  stats_.cursor = committed_;
}

BulkOutput::Turn BulkOutput::turn() {
  if (stats().auth_failed) {
    // The operator may have rotated the secret: read it again before the next attempt.
    if (auto h = authorizationHeader(config_)) auth_header_ = std::move(*h);
  }
  if (config_.install_template && !template_done_) {
    Turn wait;
    if (!installTemplate(wait)) return wait;
  }
  if (auto st = fillWindow(); !st) return failed("store: " + st.toString());
  const size_t pending = static_cast<size_t>(
      std::count_if(window_.begin(), window_.end(), [](const Item& i) { return !i.done; }));
  if (pending == 0) {
    advanceCursor();
    first_pending_at_ = -1;
    return {config_.poll_interval_s, true};
  }
  // Documents waiting for their index's backoff are not due; new events may be.
  const double t = now();
  size_t due = 0;
  double next = -1;
  for (const auto& item : window_) {
    if (item.done) continue;
    auto r = refused_.find(item.index);
    if (r == refused_.end() || r->second.retry_at <= t) {
      ++due;
    } else if (next < 0 || r->second.retry_at < next) {
      next = r->second.retry_at;
    }
  }
  if (due == 0) return {std::max(next - t, 0.0), true};
  if (!retrying_ && due < config_.batch_docs) {
    const double waited = now() - first_pending_at_;
    if (waited < config_.flush_interval_s) return {config_.flush_interval_s - waited, true};
  }
  const Turn sent = sendBatch();
  advanceCursor();
  // Documents waiting for their index do not make new ones skip the flush interval.
  const double after = now();
  retrying_ = std::any_of(window_.begin(), window_.end(),
                          [&](const Item& i) { return !i.done && !parked(i, after); });
  if (!retrying_) first_pending_at_ = -1;
  return sent;
}

double BulkOutput::step() { return turn().delay_s; }

void BulkOutput::run() {
  while (!waiter_.stopped()) {
    Turn t;
    try {
      t = turn();
    } catch (const std::bad_alloc&) {
      // Out of memory: a failed turn, its batch sent again later.
      t.delay_s = config_.poll_interval_s;
      std::lock_guard lock(stats_mu_);
      ++stats_.failed_requests;
      stats_.healthy = false;
      stats_.last_error = "out of memory";  // fits the string it replaces: no allocation
    }
    if (t.delay_s > 0 && !waiter_.wait(t.delay_s, t.wakeable)) break;
  }
}

void BulkOutput::start() {
  if (thread_.joinable()) return;
  waiter_.reset();
  thread_ = std::thread([this] { run(); });
}

void BulkOutput::stop() {
  waiter_.stop();
  if (thread_.joinable()) thread_.join();
}

void BulkOutput::wake() { waiter_.wake(); }

BulkOutput::Stats BulkOutput::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace drosera::ecs
