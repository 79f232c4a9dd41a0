#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <ctime>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "http/content_coding.h"
#include "http/proxy_protocol.h"
#include "http/ranges.h"
#include "http/timeouts.h"

namespace drosera::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Clock::duration secs(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

constexpr size_t kReadChunk = 16384;
constexpr uint64_t kOverflowConnections = 64;  // answered 503 past limits.max_connections
constexpr size_t kLingerBytes = 65536;
constexpr size_t kMaxUnanswered = 4096;  // captures made from the bytes left at a close

// Nothing but the empty lines a client may send around its requests (RFC 9112 2.2; also true
// of nothing at all).
bool onlyBlankLines(std::string_view b) { return b.find_first_not_of("\r\n") == b.npos; }

void addUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// ---- TLS as the persona's server sets it up ----------------------------------------------
// Measured against Debian's Apache 2.4 (mods-available/ssl.conf) and nginx 1.22 (nginx.conf)
// with OpenSSL 3.0 on loopback: s_client, nmap's ssl-enum-ciphers (docs/sensor.md, "TLS").

// The first protocol of `server` (ALPN wire format) that the client offers too: the server's
// preference, as SSL_select_next_proto chooses. nullptr when there is none, or the client's
// list is malformed.
const unsigned char* pickAlpn(std::string_view server, const unsigned char* in,
                              unsigned int inlen) {
  for (size_t s = 0; s < server.size(); s += 1 + static_cast<unsigned char>(server[s])) {
    const std::string_view want = server.substr(s + 1, static_cast<unsigned char>(server[s]));
    for (unsigned int c = 0; c < inlen; c += 1 + in[c]) {
      if (c + 1 + in[c] > inlen) return nullptr;
      if (std::string_view(reinterpret_cast<const char*>(in + c + 1), in[c]) == want) {
        return in + c;
      }
    }
  }
  return nullptr;
}

// Apache (mod_ssl, Protocols http/1.1): its protocol, http/1.1, to any client that sends ALPN,
// whether or not it offered it (ap_get_protocol() when ap_select_protocol() finds none: a client
// that offered only h2 ends the handshake with a bad_extension error, as with a real one).
int alpnApache(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char*,
               unsigned int, void*) {
  static constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
  *out = kHttp11;
  *outlen = sizeof kHttp11;
  return SSL_TLSEXT_ERR_OK;
}

// http/1.1 if the client offers it, else no ALPN at all (IIS, not measured).
int alpnOffered(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  const unsigned char* p = pickAlpn("\x08http/1.1", in, inlen);
  if (!p) return SSL_TLSEXT_ERR_NOACK;
  *out = p + 1;
  *outlen = *p;
  return SSL_TLSEXT_ERR_OK;
}

// nginx without http2 (NGX_HTTP_ALPN_PROTOS): its own order of http/1.1, http/1.0, http/0.9;
// a client that offers none of them gets a fatal no_application_protocol alert.
int alpnNginx(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
              unsigned int inlen, void*) {
  const unsigned char* p = pickAlpn("\x08http/1.1\x08http/1.0\x08http/0.9", in, inlen);
  if (!p) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = p + 1;
  *outlen = *p;
  return SSL_TLSEXT_ERR_OK;
}

// Cipher list, preference, session tickets and timeout, ALPN of the persona's server:
//   Apache: SSLCipherSuite HIGH:!aNULL, SSLHonorCipherOrder off (the client's order, of
//     groups too), SSLSessionTickets off (TLS 1.2 resumes by session id), cache timeout 300 s,
//     DHE with OpenSSL's automatic parameters;
//   nginx: ssl_ciphers HIGH:!aNULL:!MD5, ssl_prefer_server_ciphers on, tickets on,
//     ssl_session_timeout 5m (the ticket lifetime hint), no DHE.
// IIS keeps OpenSSL's defaults (not measured here) and chooses http/1.1 when offered.
void configureTls(ssl::context& ctx, const Persona& persona) {
  SSL_CTX* native = ctx.native_handle();
  if (persona.name == "apache" || persona.name == "nginx") {
    const bool nginx = persona.name == "nginx";
    if (SSL_CTX_set_cipher_list(native, nginx ? "HIGH:!aNULL:!MD5" : "HIGH:!aNULL") != 1) {
      throw std::runtime_error("no usable cipher");
    }
    SSL_CTX_set_options(native, nginx ? SSL_OP_CIPHER_SERVER_PREFERENCE : SSL_OP_NO_TICKET);
    // mod_ssl gives DHE its built-in parameters (an RSA key offers DHE-RSA suites); nginx has
    // none without ssl_dhparam.
    if (!nginx) SSL_CTX_set_dh_auto(native, 1);
    SSL_CTX_set_timeout(native, 300);
    SSL_CTX_set_alpn_select_cb(native, nginx ? alpnNginx : alpnApache, nullptr);
  } else {
    SSL_CTX_set_alpn_select_cb(native, alpnOffered, nullptr);
  }
}

// Whether the connection stays open after the answer to its request number `served` + 1,
// with at most `max` (limits.max_keepalive_requests) kept alive. Apache (MaxKeepAliveRequests,
// ap_set_keepalive) keeps it `max` times: it serves max + 1 requests, announcing max=`max`
// down to max=1, and closes on the last. nginx (keepalive_requests) closes on request `max`;
// IIS is taken to do the same.
// How the persona's server reads a request.
Dialect dialectOf(const Persona& persona) {
  if (persona.name == "apache") return Dialect::kApache;
  if (persona.name == "nginx") return Dialect::kNginx;
  return Dialect::kLenient;
}

bool keepsAlive(const Persona& persona, uint64_t served, uint64_t max) {
  return persona.name == "apache" ? served < max : served + 1 < max;
}

// `configured`, else the persona's default: Debian's apache2.conf MaxKeepAliveRequests 100,
// nginx's keepalive_requests 1000 (since 1.19.10), IIS taken as Apache.
uint64_t keepAliveLimit(const Persona& persona, uint64_t configured) {
  if (configured != 0) return configured;
  return persona.name == "nginx" ? 1000 : 100;
}

}  // namespace

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void start() = 0;
  virtual void stopSoon() = 0;
  // Closes at once; only while no io thread runs (Server::stop).
  virtual void forceClose() = 0;
  std::list<std::weak_ptr<SessionBase>>::iterator registry_pos;
  bool registered = false;  // registry_pos is valid
};

struct Server::Impl {
  Impl(ServerOptions o, Handler& h) : opt(std::move(o)), handler(h) {}

  ServerOptions opt;
  Handler& handler;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // One TLS context per persona in use (configureTls), and each listener's, by index.
  std::map<std::string, ssl::context> ssl_ctx;
  std::vector<ssl::context*> listener_ssl;
  struct Acceptor {
    size_t index;
    std::unique_ptr<tcp::acceptor> acceptor;
    // Accepting stopped because memory ran out; an io thread starts it again (runIo).
    std::unique_ptr<std::atomic<bool>> rearm = std::make_unique<std::atomic<bool>>(false);
  };
  std::vector<Acceptor> acceptors;
  std::vector<BoundListener> bound;
  std::vector<std::thread> threads;
  ServerStats stats;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards per_ip and sessions
  std::unordered_map<std::string, uint64_t> per_ip;
  std::list<std::weak_ptr<SessionBase>> sessions;

  void accept(size_t acceptor_pos);
  void rearm(size_t acceptor_pos);
  void onAccepted(size_t acceptor_pos, tcp::socket socket);
  void runIo();

  // Returns false if the per-IP limit is exceeded (the connection is still counted).
  bool countIp(const std::string& ip) {
    std::lock_guard lock(mu);
    return ++per_ip[ip] <= opt.max_connections_per_ip;
  }
  void uncountIp(const std::string& ip) {
    std::lock_guard lock(mu);
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
  void registerSession(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(mu);
    s->registry_pos = sessions.insert(sessions.end(), s);
    s->registered = true;
  }
  void unregisterSession(SessionBase* s) {
    std::lock_guard lock(mu);
    if (s->registered) sessions.erase(s->registry_pos);
  }
};

namespace {

template <typename Stream>
tcp::socket& lowest(Stream& s) {
  if constexpr (std::is_same_v<Stream, tcp::socket>) {
    return s;
  } else {
    return s.next_layer();
  }
}

template <typename Stream>
class Session final : public SessionBase {
 public:
  // `over_limit` names the connection limit this connection is over (nullptr: none); its
  // request is then answered 503 and recorded with that limit.
  Session(Server::Impl& srv, Stream stream, size_t listener, std::string peer_ip,
          const char* over_limit)
      : srv_(srv),
        stream_(std::move(stream)),
        spec_(srv.opt.listeners[listener]),
        timer_(lowest(stream_).get_executor()),
        parser_(srv.opt.parser, dialectOf(srv.opt.listeners[listener].persona)),
        over_limit_(over_limit) {
    boost::system::error_code ec;
    auto remote = lowest(stream_).remote_endpoint(ec);
    auto local = lowest(stream_).local_endpoint(ec);
    peer_ = {std::move(peer_ip), remote.port()};
    local_ = {canonicalIp(local.address().to_string()), local.port()};
    client_ = peer_;
    peer_trusted_ = !srv_.opt.trusted_proxies.empty() && srv_.opt.trusted_proxies.contains(peer_.ip);
    if (over_limit_ && peer_trusted_ && std::string_view(over_limit_) == "max_connections_per_ip") {
      over_limit_ = nullptr;  // a load balancer carries many clients
    }
  }

  ~Session() override {
    srv_.uncountIp(peer_.ip);
    srv_.stats.connections_active.fetch_sub(1, std::memory_order_relaxed);
    srv_.unregisterSession(this);
  }

  void start() override {
    if (spec_.proxy_protocol && peer_trusted_) {
      startReadTimeout(headTimeout(spec_.persona, srv_.opt.header_timeout_s));
      peekProxyHeader();
    } else {
      startTls();
    }
  }

  void stopSoon() override {
    asio::post(lowest(stream_).get_executor(), [self = shared_from_this(), this] {
      stop_requested_ = true;
      if (phase_ == Phase::kIdle && buf_.empty()) {
        boost::system::error_code ec;
        lowest(stream_).cancel(ec);
      }
    });
  }

  void forceClose() override {
    stop_requested_ = true;
    closeNow();
  }

 private:
  enum class Phase { kIdle, kHead, kBody, kWriting, kClosing };

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  void armTimer(double seconds) { armAt(Clock::now() + secs(seconds)); }

  void armAt(Clock::time_point deadline) {
    deadline_ = deadline;
    timed_out_ = false;
    timer_.expires_at(deadline_);
    timer_.async_wait([s = self()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (Clock::now() < s->deadline_) return;  // re-armed meanwhile
      s->timed_out_ = true;
      boost::system::error_code ignored;
      lowest(s->stream_).cancel(ignored);
    });
  }

  // The head's or body's timeout (timeouts.h) starts.
  void startReadTimeout(const ReadTimeout& t) {
    read_timeout_ = t;
    read_start_ = Clock::now();
    read_bytes_ = 0;
    armTimer(t.seconds(0));
  }

  // Bytes of the head or body came: a timeout that grows with them (Apache's MinRate) or runs
  // between two reads (nginx's body) moves.
  void extendReadTimeout(size_t n) {
    read_bytes_ += n;
    if (read_timeout_.per_read) {
      armTimer(read_timeout_.base_s);
    } else if (read_timeout_.per_byte_s > 0) {
      // mod_reqtimeout, before its next read: out of time, or a second at least.
      const auto due = read_start_ + secs(read_timeout_.seconds(read_bytes_));
      const auto now = Clock::now();
      armAt(due <= now ? now : std::max(due, now + std::chrono::seconds(1)));
    }
  }

  // ---- PROXY protocol (before TLS): peek, parse, then consume exactly the header -----------
  void peekProxyHeader() {
    lowest(stream_).async_wait(tcp::socket::wait_read, [s = self()](boost::system::error_code ec) {
      if (ec || s->timed_out_) return s->closeNow();
      char tmp[4096 + 16];
      size_t n = lowest(s->stream_).receive(asio::buffer(tmp), tcp::socket::message_peek, ec);
      if (ec || n == 0) return s->closeNow();
      ProxyHeader h;
      switch (parseProxyHeader(std::string_view(tmp, n), &h)) {
        case ProxyParse::kNeedMore: {
          // Wait a little for the rest; the header timer bounds the total.
          auto t = std::make_shared<asio::steady_timer>(lowest(s->stream_).get_executor());
          t->expires_after(std::chrono::milliseconds(10));
          t->async_wait([s, t](boost::system::error_code) { s->peekProxyHeader(); });
          return;
        }
        case ProxyParse::kOk: {
          lowest(s->stream_).receive(asio::buffer(tmp, h.length), 0, ec);
          if (ec) return s->closeNow();
          if (!h.local && !h.src_ip.empty()) {
            s->client_ = {canonicalIp(h.src_ip), h.src_port};
            s->client_source_ = h.version == 1 ? "proxy-v1" : "proxy-v2";
          }
          s->proxy_used_ = true;
          break;
        }
        case ProxyParse::kNotProxy:
          s->session_anomalies_.push_back("missing_proxy_header");
          break;
        case ProxyParse::kInvalid:
          s->session_anomalies_.push_back("invalid_proxy_header");
          break;
      }
      s->startTls();
    });
  }

  void startTls() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      waitForRequest();
    } else {
      startReadTimeout(headTimeout(spec_.persona, srv_.opt.header_timeout_s));
      // A TLS record starts with a byte below 'A' or above 'Z' (0x16 for a handshake, 0x80 and
      // up for an SSLv2 hello); a request line in clear starts with a method's capital. Apache
      // and nginx answer those in clear with a 400 of their own; a scanner probing the port
      // that way is recorded like any request.
      lowest(stream_).async_wait(
          tcp::socket::wait_read, [s = self()](boost::system::error_code ec) {
            if (ec || s->timed_out_) return s->closeNow();
            unsigned char first = 0;
            const size_t n =
                lowest(s->stream_).receive(asio::buffer(&first, 1), tcp::socket::message_peek, ec);
            if (ec || n == 0) return s->closeNow();
            if (first >= 'A' && first <= 'Z') {
              s->plain_ = true;
              s->session_anomalies_.push_back("plain_http_on_tls_port");
              return s->waitForRequest();
            }
            s->handshake();
          });
    }
  }

  void handshake() {
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      stream_.async_handshake(ssl::stream_base::server, [s = self()](boost::system::error_code ec) {
        if (ec) {
          s->srv_.stats.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
          return s->closeNow();
        }
        SSL* native = s->stream_.native_handle();
        if (const char* sni = SSL_get_servername(native, TLSEXT_NAMETYPE_host_name)) s->sni_ = sni;
        s->tls_version_ = SSL_get_version(native);
        s->waitForRequest();
      });
    }
  }

  // ---- reading requests --------------------------------------------------------------------
  void waitForRequest() {
    phase_ = Phase::kIdle;
    if (served_ == 0) {
      startReadTimeout(headTimeout(spec_.persona, srv_.opt.header_timeout_s));
    } else {
      armTimer(keepAliveTimeout(spec_.persona, srv_.opt.keepalive_timeout_s));
    }
    if (!buf_.empty()) {  // pipelined: the bytes already read count as the head's
      beginRequest();
      extendReadTimeout(buf_.size());
      return process();
    }
    doRead();
  }

  void beginRequest() {
    phase_ = Phase::kHead;
    started_us_ = nowUs();
    if (served_ > 0) startReadTimeout(headTimeout(spec_.persona, srv_.opt.header_timeout_s));
  }

  void doRead() {
    if (stop_requested_ && phase_ == Phase::kIdle && buf_.empty()) return closeNow();
    try {
      const size_t old = buf_.size();
      buf_.resize(old + kReadChunk);
      auto done = [s = self(), old](boost::system::error_code ec, size_t n) {
        s->buf_.resize(old + n);
        s->onRead(ec, n);
      };
      if (plain_) {
        lowest(stream_).async_read_some(asio::buffer(buf_.data() + old, kReadChunk), done);
      } else {
        stream_.async_read_some(asio::buffer(buf_.data() + old, kReadChunk), done);
      }
    } catch (const std::bad_alloc&) {
      outOfMemory();
    }
  }

  void onRead(boost::system::error_code ec, size_t n) {
    if (ec) {
      try {
        if (early_) {  // answered before its body, which did not all come: nginx closes
          try {
            if (timed_out_) {
              srv_.stats.timeouts.fetch_add(1, std::memory_order_relaxed);
              extra_limits_.push_back("body_timeout");
            } else {
              session_anomalies_.push_back("incomplete_request");
            }
            handOverEarly(buf_.size());
          } catch (const std::bad_alloc&) {
            srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
            handOverAfterFailure();
          }
          return closeNow();
        }
        // Only the empty lines a client may send after a request (RFC 9112 2.2): no request.
        // (Alone on a connection they are a probe, nmap's GenericLines: recorded.)
        if (served_ > 0 && phase_ == Phase::kHead && onlyBlankLines(buf_)) return closeNow();
        if (timed_out_ && (phase_ == Phase::kHead || phase_ == Phase::kBody)) {
          srv_.stats.timeouts.fetch_add(1, std::memory_order_relaxed);
          extra_limits_.push_back(phase_ == Phase::kHead ? "header_timeout" : "body_timeout");
          // As the persona's server: a 408, or a close without a word (recorded all the same).
          const bool answers = read_timeout_.answers &&
                               (parser_.requestLineDone() || read_timeout_.answers_first_line);
          if (answers) return answerError(408);
          finishWithoutAnswer();
          return closeNow();
        }
        if (phase_ == Phase::kHead || phase_ == Phase::kBody) {
          // The client went away mid-request: record what it sent, no answer possible.
          session_anomalies_.push_back("incomplete_request");
          finishWithoutAnswer();
        }
      } catch (const std::bad_alloc&) {
        srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
      }
      return closeNow();
    }
    if (phase_ == Phase::kIdle) beginRequest();
    if ((phase_ == Phase::kHead || phase_ == Phase::kBody) && !early_) {
      // The deadline passed as these bytes came (the timer fired, its cancel found no read to
      // stop): it stays passed, the next read times out at once, unless the bytes move it.
      if (timed_out_) armAt(Clock::now());
      extendReadTimeout(n);
    }
    process();
  }

  // Memory ran out reading or answering this request (a body as large as the limits allow
  // while the process is short of memory): its body and raw bytes are let go, and it is
  // answered 503 with Retry-After and the connection closed, so that a sender (a shipper,
  // mlogc) sends it again later. Its head is handed over as a capture (anomaly
  // "out_of_memory"), once: if the capture was handed over already, or nothing can be had any
  // more, the connection is just closed.
  void outOfMemory() {
    srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
    try {
      // Answered and handed over already, or between requests with nothing read: no request
      // to answer or record.
      if (phase_ == Phase::kWriting && !cap_held_) return closeNow();
      if (early_ && cap_held_ && phase_ == Phase::kBody) {
        // Answered already (answerEarly()): its capture goes as it is, without the body.
        std::string().swap(buf_);
        std::string().swap(parser_.request().body);
        cap_.body_complete = false;
        addUnique(cap_.anomalies, "out_of_memory");
        handOverHeld();
        return closeNow();
      }
      early_ = false;  // not answered yet: answered below as any other request
      if (phase_ == Phase::kIdle && buf_.empty()) return closeNow();
      std::string().swap(buf_);
      if (cap_held_) {
        std::string().swap(cap_.request.body);
        std::string().swap(cap_.raw);
      } else {
        std::string().swap(parser_.request().body);
        cap_ = takeCapture(0);
        cap_held_ = true;
      }
      error_answer_ = true;
      cap_.body_complete = false;
      addUnique(cap_.anomalies, "out_of_memory");
      Response r;
      r.status = 503;
      r.headers.push_back({"Retry-After", "2"});
      for (const auto& h : spec_.own_answer_headers) r.headers.push_back(h);
      r.close = true;
      send(std::move(r), false, cap_.request.version == "1.0", 0);
    } catch (const std::bad_alloc&) {
      handOverAfterFailure();
      closeNow();
    }
  }

  // Parses what was read and goes on: reads more, or answers.
  void process() {
    try {
      processRead();
    } catch (const std::bad_alloc&) {
      outOfMemory();
    }
  }

  void processRead() {
    ParseState st = parser_.parse(buf_);
    if (early_) return bodyAfterAnswer(st);
    // In clear on a TLS port: answered once its head is in (Apache reads no body then), unless
    // the connection is over its limit (503, as any other).
    if (plain_ && !over_limit_ && (st != ParseState::kNeedMore || parser_.headComplete())) {
      if (st == ParseState::kError) srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
      return answerError(
          400, plainHttpOnTlsPage(spec_.persona, hostForPages(parser_.request()), local_.port));
    }
    switch (st) {
      case ParseState::kNeedMore:
        if (parser_.headComplete() && phase_ == Phase::kHead) {
          if (auto r = srv_.handler.beforeBody(parser_.request(), spec_)) {
            return answerBeforeBody(std::move(*r));
          }
          if (answersEarly()) return answerEarly();
          // Apache and nginx check Host with the head: the 400 does not wait for the body
          // (measured).
          if (!over_limit_) {
            if (const char* bad = hostProblem()) {
              session_anomalies_.push_back(bad);
              srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
              return answerError(400, {}, /*bad_host=*/true);
            }
          }
          phase_ = Phase::kBody;
          startReadTimeout(bodyTimeout(spec_.persona, srv_.opt.body_timeout_s));
          // Body bytes that came with the head count as the body's (mod_reqtimeout reads them
          // from what its connection had buffered).
          extendReadTimeout(buf_.size() - std::min(buf_.size(), parser_.headBytes()));
        }
        if (parser_.expectsContinue() && !sent_continue_ && !over_limit_) {
          sent_continue_ = true;
          auto msg = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
          writeAll(asio::buffer(*msg), [s = self(), msg](boost::system::error_code ec, size_t) {
            if (ec) return s->closeNow();
            s->doRead();
          });
          return;
        }
        return doRead();
      case ParseState::kComplete:
        if (over_limit_) {
          extra_limits_.push_back(over_limit_);
          srv_.stats.per_ip_limited.fetch_add(1, std::memory_order_relaxed);
          return answerError(503);
        }
        if (const char* bad = hostProblem()) {  // the server's own 400, as for a bad head
          session_anomalies_.push_back(bad);
          srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
          return answerError(400, {}, /*bad_host=*/true);
        }
        return answer();
      case ParseState::kError:
        if (parser_.headComplete() && phase_ == Phase::kHead) {
          if (auto r = srv_.handler.beforeBody(parser_.request(), spec_)) {
            srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
            return answerBeforeBody(std::move(*r));
          }
          // A broken body in the first read: nginx answers the request all the same, then
          // finds the body broken and closes (measured; counted in bodyAfterAnswer()).
          if (parser_.bodyError() && answersEarly()) {
            srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
            return answerEarly();
          }
          // A length over the limit: nginx reads the body after its 413 and throws it away,
          // closing once it has all come (measured; discardThenClose()).
          if (spec_.persona.name == "nginx" && parser_.error() == ParseError::kBodyTooLarge &&
              !parser_.bodyError()) {
            const uint64_t came = buf_.size() - std::min(buf_.size(), parser_.headBytes());
            const uint64_t announced = parser_.request().body_bytes;
            discard_left_ = announced > came ? announced - came : 0;
          }
        }
        srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
        return answerError(statusFor(parser_.error()));
    }
  }

  // A Host header the persona's server refuses (hostAccepted()), or more than one: the anomaly.
  const char* hostProblem() {
    const std::string* host = nullptr;
    for (const auto& h : parser_.request().headers) {
      if (!iequals(h.name, "Host")) continue;
      if (host != nullptr && spec_.persona.name != "iis") return "duplicate_host";
      host = &h.value;
    }
    return host != nullptr && !hostAccepted(spec_.persona, *host) ? "invalid_host" : nullptr;
  }

  // Moves the parsed request and its context into a capture.
  // `copy_request`: the parser keeps the request (its body is still to come: answerEarly()).
  core::Capture takeCapture(size_t raw_len, bool copy_request = false) {
    core::Capture c;
    c.received_us = started_us_ ? started_us_ : nowUs();
    c.peer = peer_;
    c.local = local_;
    c.client = client_;
    c.client_source = client_source_;
    c.listener_port = local_.port;
    c.listener_kind = spec_.kind;
    c.tls = !std::is_same_v<Stream, tcp::socket> && !plain_;
    c.tls_version = tls_version_;
    c.tls_sni = sni_;
    if (copy_request) {
      c.request = parser_.request();
    } else {
      c.request = std::move(parser_.request());
    }
    c.head_complete = parser_.headComplete();
    c.body_complete = parser_.bodyComplete();
    raw_len = std::min(raw_len, buf_.size());
    c.raw.assign(buf_.data(), raw_len);
    c.raw_bytes = raw_len;
    c.limits_hit = parser_.limitsHit();
    for (const auto& l : extra_limits_) addUnique(c.limits_hit, l);
    c.anomalies = parser_.anomalies();
    for (const auto& a : session_anomalies_) addUnique(c.anomalies, a);
    if (peer_trusted_ && !proxy_used_) resolveForwardedFor(c);
    return c;
  }

  // The client behind trusted proxies: the right-most X-Forwarded-For entry that is not itself
  // a trusted proxy.
  void resolveForwardedFor(core::Capture& c) {
    const std::string* xff = findHeader(c.request.headers, "X-Forwarded-For");
    if (!xff) return;
    std::vector<std::string> hops;
    std::string_view v = *xff;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view part = v.substr(0, comma);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (!part.empty()) hops.emplace_back(part);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
      std::array<uint8_t, 16> a{};
      if (!parseIp(*it, &a)) {
        addUnique(c.anomalies, "invalid_x_forwarded_for");
        return;
      }
      if (!srv_.opt.trusted_proxies.contains(*it) || std::next(it) == hops.rend()) {
        c.client = {canonicalIp(*it), 0};
        c.client_source = "x-forwarded-for";
        return;
      }
    }
  }

  // The name the persona's pages show (pageHost()); the port is the connection's.
  std::string hostForPages(const core::HttpRequestData& req) const {
    return pageHost(spec_.persona, req, local_.ip);
  }

  void answer() {
    srv_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    const size_t consumed = parser_.consumed();
    const bool keep = parser_.keepAlive();
    const bool http10 = parser_.request().version == "1.0";
    const bool head = parser_.isHead();
    cap_ = takeCapture(consumed);
    cap_held_ = true;
    finishAnswer(srv_.handler.respond(cap_, spec_), keep, http10, head, consumed);
  }

  // The answer respond() made, as the persona's server sends it.
  void finishAnswer(Response r, bool keep, bool http10, bool head, size_t consumed) {
    if (head) r.omit_body = true;
    if (srv_.opt.content_coding) applyContentCoding(spec_.persona, cap_.request, head, &r);
    if (srv_.opt.ranges && findHeader(cap_.request.headers, "Range") != nullptr) {
      applyRanges(spec_.persona, cap_.request,
                  {hostForPages(cap_.request), pagePort(spec_.persona, cap_.request, local_.port),
                   std::time(nullptr)},
                  &r);
    }
    const bool keep_alive =
        keep && !r.close && !stop_requested_ &&
        keepsAlive(spec_.persona, served_,
                   keepAliveLimit(spec_.persona, srv_.opt.max_keepalive_requests));
    // "Expect: 100-continue" with the body already sent: Apache still says 100 Continue when it
    // reads a body the head announced; nginx when it serves the request (measured).
    continue_first_ = parser_.expected100() && !sent_continue_ &&
                      (spec_.persona.name == "apache"  ? parser_.announcedBody()
                       : spec_.persona.name == "nginx" ? r.status == 200
                                                       : false);
    send(std::move(r), keep_alive, http10, consumed);
  }

  // ---- answers before the body (nginx) -----------------------------------------------------
  // nginx answers what its own modules serve (a static file, an error page, a redirect) once
  // the head is in, then reads the body and throws it away: the connection goes on when it has
  // all come, and closes when none came for 5 s (lingering_timeout), or 30 s after the answer
  // (lingering_time). Measured against nginx 1.22: a POST to a missing file or a static one is
  // answered 404 or 405 at once. We read the body for the capture, which is handed over
  // (journaled) once the body is in, or when the connection ends without it: a kill -9 in that
  // while loses the request.
  static constexpr double kEarlyIdleS = 5;
  static constexpr double kEarlyTotalS = 30;

  bool answersEarly() {
    return spec_.persona.name == "nginx" && !over_limit_ && parser_.announcedBody() &&
           hostProblem() == nullptr && srv_.handler.answersBeforeBody(parser_.request(), spec_);
  }

  void answerEarly() {
    cap_ = takeCapture(buf_.size(), /*copy_request=*/true);
    cap_held_ = true;
    early_ = true;
    early_broken_ = parser_.bodyError();  // counted already (processRead())
    early_until_ = Clock::now() + secs(kEarlyTotalS);
    Response r = srv_.handler.respond(cap_, spec_);
    if (parser_.bodyError() && (r.status == 200 || r.status == 304)) {
      // A file: nginx reads what came of the body before it sends one (its errors go first),
      // and a body found broken then gets its 400 (measured for 200).
      early_ = false;
      cap_held_ = false;
      return answerError(statusFor(parser_.error()));
    }
    srv_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    // (A body already known to be broken: keepAlive() is false, the answer says close.)
    finishAnswer(std::move(r), parser_.keepAlive(), parser_.request().version == "1.0",
                 parser_.isHead(), 0);
  }

  // The answer is out: the body follows.
  void readBodyAfterAnswer(bool keep_alive) {
    early_keep_ = keep_alive;
    phase_ = Phase::kBody;
    process();
  }

  void bodyAfterAnswer(ParseState st) {
    switch (st) {
      case ParseState::kNeedMore: {
        const double left = std::chrono::duration<double>(early_until_ - Clock::now()).count();
        armTimer(std::max(0.0, std::min(kEarlyIdleS, left)));
        return doRead();
      }
      case ParseState::kComplete: {
        const size_t consumed = parser_.consumed();
        handOverEarly(consumed);
        if (!early_keep_ || stop_requested_) {
          keepUnanswered(consumed);
          return closeGracefully();
        }
        buf_.erase(0, std::min(consumed, buf_.size()));
        parser_.reset();
        extra_limits_.clear();
        session_anomalies_.clear();
        sent_continue_ = false;
        started_us_ = 0;
        return waitForRequest();
      }
      case ParseState::kError:
        if (!early_broken_) srv_.stats.bad_requests.fetch_add(1, std::memory_order_relaxed);
        handOverEarly(buf_.size());
        error_answer_ = true;  // what still comes belongs to this broken body
        return closeGracefully();
    }
  }

  // The capture of a request answered before its body, with the body and what reading it
  // found; the rest (its id, the answer, what the traps made of it) as the answer left it.
  void handOverEarly(size_t raw_len) {
    core::Capture c = takeCapture(raw_len);
    cap_.request = std::move(c.request);
    cap_.body_complete = c.body_complete;
    cap_.raw = std::move(c.raw);
    cap_.raw_bytes = c.raw_bytes;
    cap_.limits_hit = std::move(c.limits_hit);
    cap_.anomalies = std::move(c.anomalies);
    handOverHeld();
  }

  // Hands over cap_ as it is. (kWriting: memory running out in captured() must not answer the
  // request again, outOfMemory().)
  void handOverHeld() {
    early_ = false;
    cap_held_ = false;
    phase_ = Phase::kWriting;
    srv_.handler.captured(std::move(cap_));
  }

  // Where even that found no memory: what the answer left of the capture, if anything.
  void handOverAfterFailure() {
    try {
      if (early_ && cap_held_) handOverHeld();
    } catch (const std::bad_alloc&) {
      srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // The handler's answer to a head (Handler::beforeBody): sent now, then the connection closes
  // without reading the body (the lingering close drains a bounded amount).
  void answerBeforeBody(Response r) {
    srv_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    error_answer_ = true;  // what the client still sends is this request's unread body
    const bool http10 = parser_.request().version == "1.0";
    cap_ = takeCapture(buf_.size());
    cap_held_ = true;
    r.close = true;
    send(std::move(r), false, http10, buf_.size());
  }

  // `page`: another body than the persona's page for the status.
  // `bad_host`: the head was refused for its Host header (hostProblem()).
  void answerError(int status, std::string page = {}, bool bad_host = false) {
    srv_.stats.requests.fetch_add(1, std::memory_order_relaxed);
    error_answer_ = true;  // what the client still sends belongs to this broken request
    const bool http10 = parser_.request().version == "1.0";
    const bool head = parser_.isHead();
    cap_ = takeCapture(buf_.size());  // the connection ends: keep every byte received
    cap_held_ = true;
    Response r;
    r.status = status;
    r.headers.push_back({"Content-Type", spec_.persona.name == "apache"
                                             ? "text/html; charset=iso-8859-1"
                                             : "text/html"});
    // Apache's own page about a request it could not read (not the page for a request in
    // clear on a TLS port, which is mod_ssl's answer to a request it makes up).
    const bool own_page = page.empty();
    const bool apache = spec_.persona.name == "apache" && own_page;
    const bool refused = own_page && (parser_.error() != ParseError::kNone || bad_host);
    // It names its own server when the head was refused (the request's host is not read yet),
    // the request's host once the head was fine (a broken or too large body).
    const bool bad_head = apache && refused && !parser_.bodyError() &&
                          parser_.error() != ParseError::kBodyTooLarge &&
                          parser_.error() != ParseError::kExpectationFailed;
    const std::string host = bad_head ? local_.ip : hostForPages(cap_.request);
    // The 417 page repeats the expectation (repeated headers joined, as Apache joins them).
    std::string detail;
    for (const auto& h : cap_.request.headers) {
      if (status == 417 && iequals(h.name, "Expect")) {
        detail.append(detail.empty() ? "" : ", ").append(h.value);
      }
    }
    if (status == 431) {
      // A head too large: each server sends a 400 (measured), Apache's page naming the cause.
      const auto& hit = parser_.limitsHit();
      if (std::find(hit.begin(), hit.end(), "max_headers") != hit.end()) detail = "count";
      r.status = 400;
    }
    r.body = page.empty() ? errorPage(spec_.persona, status, host, local_.port, detail)
                          : std::move(page);
    for (const auto& h : spec_.own_answer_headers) r.headers.push_back(h);
    r.close = true;
    // A HEAD gets no page (measured, both servers), but over HTTP/0.9 (no head to send) and
    // from mod_ssl.
    r.omit_body = head && !parser_.http09() && (status != 400 || refused);
    // Apache makes no page for a HEAD, and none of a known length when the chunks went wrong.
    r.unknown_length = apache && refused && (head || parser_.bodyError());
    send(std::move(r), false, http10, buf_.size());
  }

  void send(Response r, bool keep_alive, bool http10, size_t consumed) {
    phase_ = Phase::kWriting;
    cap_.response.status = r.status;
    cap_.response.headers = r.headers;
    cap_.response.body_bytes = r.omit_body ? 0 : r.bodySize();
    const bool continue_first = std::exchange(continue_first_, false);
    const uint64_t remaining =
        keepAliveLimit(spec_.persona, srv_.opt.max_keepalive_requests) - served_;
    const bool http09 = parser_.http09() && !plain_;  // mod_ssl answers in HTTP/1.x
    if (http09) {                                     // HTTP/0.9: the body alone, up to the close
      out_.assign(r.static_body.empty() ? r.body : std::string());
      r.omit_body = r.static_body.empty();  // sent as out_, or as the tail below
      keep_alive = false;
    } else {
      out_ = serialize(
          spec_.persona, r, keep_alive,
          static_cast<uint64_t>(keepAliveTimeout(spec_.persona, srv_.opt.keepalive_timeout_s)),
          remaining, http10, parser_.keepAliveAsked());
      if (continue_first) out_.insert(0, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (http09) {
      cap_.response.headers.clear();  // none was sent
    } else {
      cap_.response.headers.insert(cap_.response.headers.begin(),
                                   {"Server", spec_.persona.server_header});
      if (r.chunked || r.unknown_length) {
        if (!r.omit_body && (r.chunked || keep_alive)) {
          cap_.response.headers.push_back({"Transfer-Encoding", "chunked"});
        }
      } else {
        cap_.response.headers.push_back({"Content-Length", std::to_string(r.bodySize())});
      }
    }
    // The write deadline: a client that does not read is cut off.
    armTimer(writeTimeout(spec_.persona, srv_.opt.body_timeout_s));
    const std::string_view tail = r.omit_body ? std::string_view() : r.static_body;
    const std::array<asio::const_buffer, 2> bufs = {asio::buffer(out_),
                                                    asio::buffer(tail.data(), tail.size())};
    // The capture is handed over (journaled) before the answer leaves: a client that has its
    // answer never finds its request missing, even after a kill -9 right after the write.
    // (An answer before the body: once the body is in, handOverEarly().)
    cap_.answered_us = nowUs();
    if (!early_) {
      cap_held_ = false;  // handed over once, whatever happens in captured()
      srv_.handler.captured(std::move(cap_));
    }
    writeAll(bufs, [s = self(), keep_alive, consumed](boost::system::error_code ec, size_t) {
      ++s->served_;
      if (s->early_) {
        if (!ec) return s->readBodyAfterAnswer(keep_alive);
        try {
          s->session_anomalies_.push_back("incomplete_request");
          s->handOverEarly(s->buf_.size());
        } catch (const std::bad_alloc&) {
          s->srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
          s->handOverAfterFailure();
        }
        return s->closeNow();
      }
      if (!ec && s->discard_left_ > 0) return s->discardThenClose(Clock::now() + secs(30));
      if (ec || !keep_alive) {
        if (!s->error_answer_) s->keepUnanswered(consumed);
        return s->closeGracefully();
      }
      s->buf_.erase(0, std::min(consumed, s->buf_.size()));
      s->parser_.reset();
      s->extra_limits_.clear();
      s->session_anomalies_.clear();
      s->sent_continue_ = false;
      s->started_us_ = 0;
      s->waitForRequest();
    });
  }

  void finishWithoutAnswer() {
    if (buf_.empty()) return;
    core::Capture c = takeCapture(buf_.size());
    c.answered_us = 0;
    srv_.handler.captured(std::move(c));
  }

  // ---- requests that will get no answer --------------------------------------------------
  // A connection that ends after an answer (requests per connection used up, Connection:
  // close, a write that failed or timed out) may hold more requests the client already sent:
  // pipelined ones, or ones sent behind a close. They are evidence like any other request, so
  // they are recorded (anomaly "unanswered"), with what still arrives while the close lingers.
  void keepUnanswered(size_t consumed) {
    buf_.erase(0, std::min(consumed, buf_.size()));
    keep_unanswered_ = true;
  }

  void recordUnanswered() {
    if (!keep_unanswered_) return;
    keep_unanswered_ = false;
    try {
      for (size_t n = 0; !onlyBlankLines(buf_) && n < kMaxUnanswered; ++n) {
        parser_.reset();
        extra_limits_.clear();
        session_anomalies_.assign({"unanswered"});
        sent_continue_ = false;
        started_us_ = nowUs();
        const ParseState st = parser_.parse(buf_);
        size_t used = buf_.size();
        if (st == ParseState::kComplete && parser_.consumed() > 0) {
          used = std::min(parser_.consumed(), buf_.size());
        } else if (st == ParseState::kNeedMore) {
          session_anomalies_.push_back("incomplete_request");
        }
        core::Capture c = takeCapture(used);
        c.answered_us = 0;
        srv_.handler.captured(std::move(c));
        buf_.erase(0, used);
        if (st != ParseState::kComplete) break;
      }
    } catch (const std::bad_alloc&) {
      srv_.stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);  // the rest unrecorded
    }
    buf_.clear();
  }

  // Writes go to the TLS stream, or to the socket itself for a request in clear on a TLS port.
  template <class Buffers, class Handler>
  void writeAll(const Buffers& buffers, Handler&& handler) {
    if (plain_) {
      asio::async_write(lowest(stream_), buffers, std::forward<Handler>(handler));
    } else {
      asio::async_write(stream_, buffers, std::forward<Handler>(handler));
    }
  }

  // ---- closing -------------------------------------------------------------------------
  void closeGracefully() {
    phase_ = Phase::kClosing;
    boost::system::error_code ec;
    if (std::is_same_v<Stream, tcp::socket> || plain_) {
      // Lingering close: stop sending, drain what the client still sends for a moment so
      // that the answer is not destroyed by a reset.
      lowest(stream_).shutdown(tcp::socket::shutdown_send, ec);
      armTimer(2.0);
      linger_ = 0;
      drain();
    } else if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      recordUnanswered();
      armTimer(1.0);
      stream_.async_shutdown([s = self()](boost::system::error_code) { s->closeNow(); });
    }
  }

  // After nginx's 413: the announced body is read and thrown away before the close, as long as
  // it keeps coming (5 s without a byte, or 30 s after the answer, and the connection closes).
  void discardThenClose(Clock::time_point until) {
    phase_ = Phase::kClosing;
    const double left = std::chrono::duration<double>(until - Clock::now()).count();
    armTimer(std::max(0.0, std::min(5.0, left)));
    auto scratch = std::make_shared<std::array<char, 16384>>();
    auto done = [s = self(), scratch, until](boost::system::error_code ec, size_t n) {
      if (ec) return s->closeNow();
      s->discard_left_ -= std::min<uint64_t>(n, s->discard_left_);
      if (s->discard_left_ == 0) return s->closeGracefully();
      s->discardThenClose(until);
    };
    if (plain_) {
      lowest(stream_).async_read_some(asio::buffer(*scratch), done);
    } else {
      stream_.async_read_some(asio::buffer(*scratch), done);
    }
  }

  void drain() {
    auto scratch = std::make_shared<std::array<char, 4096>>();
    lowest(stream_).async_read_some(
        asio::buffer(*scratch), [s = self(), scratch](boost::system::error_code ec, size_t n) {
          s->linger_ += n;
          if (s->keep_unanswered_ && n > 0) {
            s->buf_.append(scratch->data(), n);  // at most kLingerBytes + one read
          }
          if (ec || s->linger_ > kLingerBytes) {
            s->recordUnanswered();
            return s->closeNow();
          }
          s->drain();
        });
  }

  void closeNow() {
    boost::system::error_code ec;
    timer_.cancel();
    lowest(stream_).close(ec);
  }

  Server::Impl& srv_;
  Stream stream_;
  bool plain_ = false;  // a request in clear on a TLS port (startTls): no TLS on this connection
  const ListenerSpec& spec_;
  asio::steady_timer timer_;
  Clock::time_point deadline_{};
  bool timed_out_ = false;
  ReadTimeout read_timeout_;      // the head's or body's (startReadTimeout())
  Clock::time_point read_start_{};
  uint64_t read_bytes_ = 0;       // of the head or body so far
  RequestParser parser_;
  std::string buf_;
  std::string out_;
  core::Capture cap_;
  core::Endpoint peer_, local_, client_;
  std::string client_source_ = "socket";
  bool peer_trusted_ = false;
  bool proxy_used_ = false;
  const char* over_limit_ = nullptr;
  bool stop_requested_ = false;
  bool sent_continue_ = false;
  bool continue_first_ = false;  // the next answer goes after a 100 Continue (answer())
  bool error_answer_ = false;
  bool cap_held_ = false;  // cap_ holds this request's capture, not yet handed over
  bool early_ = false;     // answered before its body, which is being read (answerEarly())
  bool early_keep_ = false;
  bool early_broken_ = false;
  Clock::time_point early_until_{};
  uint64_t discard_left_ = 0;  // body bytes to read and drop before the close (nginx's 413)
  bool keep_unanswered_ = false;
  std::string sni_, tls_version_;
  std::vector<std::string> extra_limits_;
  std::vector<std::string> session_anomalies_;
  Phase phase_ = Phase::kIdle;
  uint64_t served_ = 0;
  int64_t started_us_ = 0;
  size_t linger_ = 0;
};

}  // namespace

void Server::Impl::accept(size_t pos) {
  auto& a = *acceptors[pos].acceptor;
  a.async_accept(asio::make_strand(ioc), [this, pos](boost::system::error_code ec,
                                                      tcp::socket socket) {
    if (stopping.load()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      try {
        auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
        t->async_wait([this, pos, t](boost::system::error_code) { rearm(pos); });
      } catch (const std::bad_alloc&) {
        acceptors[pos].rearm->store(true);
        throw;
      }
      return;
    }
    try {
      onAccepted(pos, std::move(socket));
    } catch (const std::bad_alloc&) {
      stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);  // this connection is dropped
    } catch (const boost::system::system_error&) {
      // A TLS stream that cannot be made (SSL_new failed: out of memory, mostly).
      stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
    }
    rearm(pos);
  });
}

// Accepts the next connection. When even that finds no memory, the io thread that catches the
// exception starts it again (runIo), so that the listener never stops for good.
void Server::Impl::rearm(size_t pos) {
  try {
    accept(pos);
  } catch (const std::bad_alloc&) {
    acceptors[pos].rearm->store(true);
    throw;
  }
}

// An io thread. A handler that runs out of memory outside a session's own guard costs that
// connection (closed when its timer fires), not the process: the exception reaches here, and
// the thread serves on. A listener that could not accept again is started again, tried every
// 50 ms while the thread goes on serving (so that sessions end and give their memory back).
void Server::Impl::runIo() {
  for (;;) {
    try {
      bool pending = false;
      for (size_t pos = 0; pos < acceptors.size(); ++pos) {
        if (stopping.load() || !acceptors[pos].rearm->exchange(false)) continue;
        try {
          accept(pos);
        } catch (const std::bad_alloc&) {
          acceptors[pos].rearm->store(true);
          pending = true;
        }
      }
      if (!pending) {
        ioc.run();
        return;
      }
      ioc.run_for(std::chrono::milliseconds(50));
      if (ioc.stopped()) return;
    } catch (const std::bad_alloc&) {
      stats.out_of_memory.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Server::Impl::onAccepted(size_t pos, tcp::socket socket) {
  const size_t index = acceptors[pos].index;
  // Over the total limit, a few overflow connections are still read, answered 503 and recorded
  // (the limit hit is in the event); past those, connections are closed at once and counted.
  const uint64_t active = stats.connections_active.load(std::memory_order_relaxed);
  if (active >= opt.max_connections + kOverflowConnections) {
    stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ec;
    socket.close(ec);
    return;
  }
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  socket.set_option(tcp::no_delay(true), ec);
  std::string ip = canonicalIp(remote.address().to_string());
  const bool ip_ok = countIp(ip);
  const char* over = active >= opt.max_connections ? "max_connections"
                     : ip_ok                       ? nullptr
                                                   : "max_connections_per_ip";
  stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  stats.connections_active.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<SessionBase> s;
  try {
    if (opt.listeners[index].tls) {
      s = std::make_shared<Session<ssl::stream<tcp::socket>>>(
          *this, ssl::stream<tcp::socket>(std::move(socket), *listener_ssl[index]), index, ip,
          over);
    } else {
      s = std::make_shared<Session<tcp::socket>>(*this, std::move(socket), index, ip, over);
    }
  } catch (...) {
    // No session to give the counts back when it ends (out of memory; or SSL_new failing,
    // a boost::system::system_error): given back here.
    uncountIp(ip);
    stats.connections_active.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  registerSession(s);
  s->start();
}

Server::Server(ServerOptions options, Handler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() { stop(0); }

const std::vector<BoundListener>& Server::bound() const { return impl_->bound; }
const ServerStats& Server::stats() const { return impl_->stats; }

core::Status Server::start() {
  auto& im = *impl_;
  im.listener_ssl.assign(im.opt.listeners.size(), nullptr);
  for (size_t i = 0; i < im.opt.listeners.size(); ++i) {
    const ListenerSpec& l = im.opt.listeners[i];
    if (!l.tls) continue;
    auto it = im.ssl_ctx.find(l.persona.name);
    if (it == im.ssl_ctx.end()) {
      try {
        ssl::context ctx(ssl::context::tls_server);
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::single_dh_use);
        ctx.use_certificate_chain_file(im.opt.tls_cert_path);
        ctx.use_private_key_file(im.opt.tls_key_path, ssl::context::pem);
        configureTls(ctx, l.persona);
        it = im.ssl_ctx.emplace(l.persona.name, std::move(ctx)).first;
      } catch (const std::exception& e) {
        return core::Status::invalidArgument("TLS certificate " + im.opt.tls_cert_path + " / key " +
                                             im.opt.tls_key_path + ": " + e.what());
      }
    }
    im.listener_ssl[i] = &it->second;
  }
  for (size_t i = 0; i < im.opt.listeners.size(); ++i) {
    uint16_t port = im.opt.listeners[i].port;
    size_t bound_here = 0;
    std::string last_error;
    for (const auto& addr_text : im.opt.bind) {
      boost::system::error_code ec;
      auto addr = asio::ip::make_address(addr_text, ec);
      if (ec) return core::Status::invalidArgument("server.bind: not an IP address: " + addr_text);
      tcp::endpoint ep(addr, port);
      auto acc = std::make_unique<tcp::acceptor>(im.ioc);
      acc->open(ep.protocol(), ec);
      if (ec) {
        // e.g. no IPv6 on this host
        spdlog::warn("cannot open a socket for {} ({}), skipped", addr_text, ec.message());
        last_error = ec.message();
        continue;
      }
      acc->set_option(tcp::acceptor::reuse_address(true), ec);
      if (addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
      acc->bind(ep, ec);
      if (ec) {
        if (ec == boost::system::errc::address_not_available && addr.is_v6()) {
          spdlog::warn("cannot bind [{}]:{} ({}), skipped", addr_text, port, ec.message());
          continue;
        }
        return core::Status::unavailable("cannot listen on " + addr_text + " port " +
                                         std::to_string(port) + ": " + ec.message());
      }
      acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return core::Status::unavailable("cannot listen on " + addr_text + " port " +
                                         std::to_string(port) + ": " + ec.message());
      }
      // As Apache's AcceptFilter: a connection on which nothing comes waits in the kernel
      // first (best effort: without it, only the idle connection's close comes sooner).
      if (const int defer = deferAcceptSeconds(im.opt.listeners[i].persona,
                                               im.opt.header_timeout_s)) {
        ::setsockopt(acc->native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
      }
      uint16_t actual = acc->local_endpoint(ec).port();
      // Port 0 means "any": the other addresses of this listener use the port the first got.
      if (port == 0) port = actual;
      im.bound.push_back({i, addr_text, actual});
      im.acceptors.push_back({i, std::move(acc)});
      ++bound_here;
    }
    if (bound_here == 0) {
      return core::Status::unavailable("cannot listen on port " + std::to_string(port) + ": " +
                                       last_error);
    }
    im.opt.listeners[i].port = port;
  }
  im.work.emplace(im.ioc.get_executor());
  for (size_t i = 0; i < im.acceptors.size(); ++i) im.accept(i);
  for (int t = 0; t < std::max(1, im.opt.io_threads); ++t) {
    im.threads.emplace_back([&im] { im.runIo(); });
  }
  return core::Status::ok();
}

void Server::stop(double grace_s) {
  auto& im = *impl_;
  if (im.threads.empty()) return;
  if (!im.stopping.exchange(true)) {
    asio::post(im.ioc, [&im] {
      for (auto& a : im.acceptors) {
        boost::system::error_code ec;
        a.acceptor->close(ec);
      }
    });
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(im.mu);
      for (auto& w : im.sessions) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->stopSoon();
    live.clear();
    im.work.reset();
    const auto until = Clock::now() + secs(grace_s);
    while (Clock::now() < until) {
      {
        std::lock_guard lock(im.mu);
        if (im.sessions.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  im.ioc.stop();
  for (auto& t : im.threads) {
    if (t.joinable()) t.join();
  }
  im.threads.clear();
  // Close what is still open and let its handlers run out on this thread, so that no session
  // outlives the server.
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(im.mu);
    for (auto& w : im.sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->forceClose();
  live.clear();
  im.ioc.restart();
  im.ioc.run();
}

}  // namespace drosera::http
