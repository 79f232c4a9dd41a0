// A local server on 127.0.0.1:0 that answers like Elasticsearch's APIs the _bulk output uses:
// GET / (version), PUT /_index_template/<name>, POST /_bulk (NDJSON, gzip or not). It parses the
// NDJSON, remembers the documents it indexed by _id and answers `create` of a known _id with 409,
// like the real thing. Tests script failures: whole-request statuses (429, 503, 401, 413, 400),
// per-item statuses, slow answers (processed, then answered after the client gave up), body
// size limits, required credentials.
// Thread-safety: every method may be called from any thread; connections are served by own
// threads (HTTP/1.1 keep-alive).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace drosera::ecs::testing {

class FakeElasticsearch {
 public:
  struct Doc {
    std::string index;
    std::string source;
  };
  // Per item: a status to answer instead of indexing (0: behave normally). `attempt` counts the
  // times this _id arrived, from 1.
  using ItemHook = std::function<int(const std::string& id, int attempt)>;
  // The same with the error Elasticsearch would give (type and reason; empty: a default for the
  // status), for refusals that depend on the index ("cluster_block_exception", the shard limit).
  struct ItemError {
    int status = 0;
    std::string type, reason;
  };
  using ItemErrorHook =
      std::function<ItemError(const std::string& id, const std::string& index, int attempt)>;

  FakeElasticsearch() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      std::perror("fake elasticsearch: bind/listen");
      std::abort();
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }

  ~FakeElasticsearch() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(conn_threads_);
    }
    for (auto& t : threads) t.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // --- behaviour ---
  void answerNextBulks(std::vector<int> statuses) {
    std::lock_guard lock(mu_);
    for (int s : statuses) whole_.push_back(s);
  }
  void setItemHook(ItemHook hook) {
    std::lock_guard lock(mu_);
    item_hook_ = std::move(hook);
  }
  void setItemErrorHook(ItemErrorHook hook) {
    std::lock_guard lock(mu_);
    item_error_hook_ = std::move(hook);
  }
  // The next `count` _bulk requests are processed, then answered after `delay_ms`.
  void setSlowAnswers(int count, int delay_ms) {
    std::lock_guard lock(mu_);
    slow_count_ = count;
    slow_ms_ = delay_ms;
  }
  void setMaxBodyBytes(size_t n) {
    std::lock_guard lock(mu_);
    max_body_ = n;
  }
  // A _bulk body holding `marker` is refused whole with 400 (as malformed NDJSON would be).
  void refuseBodiesWith(std::string marker) {
    std::lock_guard lock(mu_);
    poison_ = std::move(marker);
  }
  void requireAuthorization(std::string value) {
    std::lock_guard lock(mu_);
    required_auth_ = std::move(value);
  }
  void pretendOpenSearch(bool on) {
    std::lock_guard lock(mu_);
    opensearch_ = on;
  }
  void preload(const std::string& id, const std::string& index) {
    std::lock_guard lock(mu_);
    docs_[id] = Doc{index, "{}"};
  }

  // --- observations ---
  std::map<std::string, Doc> docs() const {
    std::lock_guard lock(mu_);
    return docs_;
  }
  size_t docCount() const {
    std::lock_guard lock(mu_);
    return docs_.size();
  }
  size_t conflicts() const {
    std::lock_guard lock(mu_);
    return conflicts_;
  }
  size_t bulkRequests() const {
    std::lock_guard lock(mu_);
    return bulk_requests_;
  }
  size_t itemsReceived() const {
    std::lock_guard lock(mu_);
    return items_received_;
  }
  std::map<std::string, int> attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::vector<std::string> requestLog() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::vector<std::string> authorizations() const {
    std::lock_guard lock(mu_);
    return auths_;
  }
  std::string templateBody() const {
    std::lock_guard lock(mu_);
    return template_body_;
  }
  bool sawGzip() const {
    std::lock_guard lock(mu_);
    return saw_gzip_;
  }
  bool sawPlain() const {
    std::lock_guard lock(mu_);
    return saw_plain_;
  }

 private:
  struct Request {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };
  struct Response {
    int status = 200;
    std::string body;
    int delay_ms = 0;
  };

  void acceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      conn_fds_.insert(fd);
      conn_threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads until `out` holds `n` bytes past `from`, or the peer goes / the server stops.
  bool readMore(int fd, std::string& buf) {
    for (;;) {
      if (stop_) return false;
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
  }

  void serve(int fd) {
    std::string buf;
    for (;;) {
      size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!readMore(fd, buf)) return closeConn(fd);
      }
      Request req;
      {
        const std::string head = buf.substr(0, head_end);
        size_t line_end = head.find("\r\n");
        const std::string first = head.substr(0, line_end);
        const size_t sp1 = first.find(' ');
        const size_t sp2 = first.find(' ', sp1 + 1);
        req.method = first.substr(0, sp1);
        req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
        while (pos < head.size()) {
          size_t e = head.find("\r\n", pos);
          if (e == std::string::npos) e = head.size();
          const std::string line = head.substr(pos, e - pos);
          const size_t colon = line.find(':');
          if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            req.headers[name] = value;
          }
          pos = e + 2;
        }
      }
      buf.erase(0, head_end + 4);
      size_t length = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
        length = std::stoul(it->second);
      }
      while (buf.size() < length) {
        if (!readMore(fd, buf)) return closeConn(fd);
      }
      req.body = buf.substr(0, length);
      buf.erase(0, length);

      Response resp = handle(req);
      for (int waited = 0; waited < resp.delay_ms && !stop_; waited += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::string out =
          "HTTP/1.1 " + std::to_string(resp.status) + " X\r\n" +
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(resp.body.size()) +
          "\r\n\r\n" + resp.body;
      size_t sent = 0;
      while (sent < out.size()) {
        const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return closeConn(fd);  // the client gave up (timeout)
        sent += static_cast<size_t>(n);
      }
    }
  }

  void closeConn(int fd) {
    std::lock_guard lock(mu_);
    conn_fds_.erase(fd);
    ::close(fd);
  }

  static std::string errorBody(int status, const std::string& type, const std::string& reason) {
    nlohmann::json j = {{"error", {{"type", type}, {"reason", reason}}}, {"status", status}};
    return j.dump();
  }

  static bool inflateGzip(const std::string& in, std::string& out) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return false;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    char tmp[65536];
    int rc;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(tmp);
      zs.avail_out = sizeof tmp;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        return false;
      }
      out.append(tmp, sizeof tmp - zs.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&zs);
    return true;
  }

  Response handle(const Request& req) {
    std::lock_guard lock(mu_);
    log_.push_back(req.method + " " + req.target);
    const std::string auth =
        req.headers.count("authorization") ? req.headers.at("authorization") : std::string();
    auths_.push_back(auth);
    if (!required_auth_.empty() && auth != required_auth_) {
      return {401, errorBody(401, "security_exception", "missing authentication credentials")};
    }
    if (req.method == "GET" && req.target == "/") {
      nlohmann::json v = {{"number", opensearch_ ? "2.11.0" : "8.13.4"}};
      if (opensearch_) v["distribution"] = "opensearch";
      return {200, nlohmann::json{{"name", "fake"}, {"version", v}}.dump()};
    }
    if (req.method == "PUT" && req.target.rfind("/_index_template/", 0) == 0) {
      if (!nlohmann::json::accept(req.body)) {
        return {400, errorBody(400, "parse_exception", "bad template")};
      }
      template_body_ = req.body;
      return {200, R"({"acknowledged":true})"};
    }
    if (req.method == "POST" && req.target.rfind("/_bulk", 0) == 0) return bulk(req);
    return {404, errorBody(404, "not_found", "no handler")};
  }

  Response bulk(const Request& req) {
    ++bulk_requests_;
    if (!whole_.empty()) {
      const int s = whole_.front();
      whole_.pop_front();
      return {s, errorBody(s, s == 429 ? "es_rejected_execution_exception" : "unavailable",
                           "scripted")};
    }
    std::string body;
    auto enc = req.headers.find("content-encoding");
    if (enc != req.headers.end() && enc->second == "gzip") {
      saw_gzip_ = true;
      if (!inflateGzip(req.body, body)) return {400, errorBody(400, "parse_exception", "gzip")};
    } else {
      saw_plain_ = true;
      body = req.body;
    }
    if (max_body_ > 0 && body.size() > max_body_) return {413, ""};
    if (!poison_.empty() && body.find(poison_) != std::string::npos) {
      return {400, errorBody(400, "illegal_argument_exception", "Malformed action/metadata line")};
    }
    if (body.empty() || body.back() != '\n') {
      return {400, errorBody(400, "illegal_argument_exception",
                             "The bulk request must be terminated by a newline [\\n]")};
    }
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < body.size();) {
      const size_t e = body.find('\n', pos);
      lines.push_back(body.substr(pos, e - pos));
      pos = e + 1;
    }
    if (lines.size() % 2 != 0) {
      return {400, errorBody(400, "illegal_argument_exception", "action without source")};
    }
    nlohmann::json items = nlohmann::json::array();
    bool errors = false;
    for (size_t i = 0; i < lines.size(); i += 2) {
      nlohmann::json action = nlohmann::json::parse(lines[i], nullptr, false);
      if (!action.is_object() || !action.contains("create") || !action["create"].contains("_id") ||
          !action["create"].contains("_index")) {
        return {400, errorBody(400, "illegal_argument_exception", "bad action " + lines[i])};
      }
      const std::string id = action["create"]["_id"];
      const std::string index = action["create"]["_index"];
      ++items_received_;
      const int attempt = ++attempts_[id];
      ItemError scripted;
      if (item_error_hook_) {
        scripted = item_error_hook_(id, index, attempt);
      } else if (item_hook_) {
        scripted.status = item_hook_(id, attempt);
      }
      int status = scripted.status;
      nlohmann::json item = {{"_index", index}, {"_id", id}};
      if (status == 0) {
        if (!nlohmann::json::accept(lines[i + 1])) {
          status = 400;
        } else if (docs_.count(id)) {
          status = 409;
          ++conflicts_;
        } else {
          docs_[id] = Doc{index, lines[i + 1]};
          status = 201;
        }
      }
      item["status"] = status;
      if (status >= 300) {
        errors = true;
        const std::string type = status == 409   ? "version_conflict_engine_exception"
                                 : status == 429 ? "es_rejected_execution_exception"
                                 : status >= 500 ? "unavailable_shards_exception"
                                                 : "mapper_parsing_exception";
        item["error"] = {{"type", scripted.type.empty() ? type : scripted.type},
                         {"reason", scripted.reason.empty() ? "[" + id + "]: scripted " + type
                                                            : scripted.reason}};
      }
      items.push_back({{"create", item}});
    }
    Response r{200, nlohmann::json{{"errors", errors}, {"items", items}}.dump()};
    if (slow_count_ > 0) {
      --slow_count_;
      r.delay_ms = slow_ms_;
    }
    return r;
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::set<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::deque<int> whole_;
  ItemHook item_hook_;
  ItemErrorHook item_error_hook_;
  int slow_count_ = 0;
  int slow_ms_ = 0;
  size_t max_body_ = 0;
  std::string poison_;
  std::string required_auth_;
  bool opensearch_ = false;
  std::map<std::string, Doc> docs_;
  std::map<std::string, int> attempts_;
  size_t conflicts_ = 0;
  size_t bulk_requests_ = 0;
  size_t items_received_ = 0;
  std::vector<std::string> log_;
  std::vector<std::string> auths_;
  std::string template_body_;
  bool saw_gzip_ = false;
  bool saw_plain_ = false;
};

}  // namespace drosera::ecs::testing
