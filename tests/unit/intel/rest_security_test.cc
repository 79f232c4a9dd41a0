// The REST transport's secrets and TLS (src/intel/rest_transport.h): certificate and host name
// verification are on by default, against a real TLS server on 127.0.0.1 with a self-signed
// certificate (refused unless its CA is given; refused for another host name); the API key goes
// out only in the Authorization header and never into a log line or an error, whatever fails.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <thread>

#include "fake_misp.h"
#include "http/tls.h"
#include "intel/reporter.h"
#include "intel/rest_transport.h"
#include "temp_dir.h"
#include "test_events.h"

namespace drosera::intel {
namespace {

using testutil::FakeMisp;
using testutil::FakeStore;
using testutil::TempDir;

constexpr const char* kKey = "Zq8Wm3Kd7Rt2Yp5Nx9Lc4Hv6Bs1Gf0Ju3Ea7Oi2";

// A TLS server on 127.0.0.1 with a self-signed certificate for "localhost". Each connection:
// handshake, read one request head, remember its Authorization header, answer MISP's 403
// "Authentication failed" (the key is wrong on purpose: the call then ends at once).
class TlsServer {
 public:
  explicit TlsServer(const std::string& dir) {
    // A client that refuses the certificate closes at once; writing to it must not kill the
    // test process with SIGPIPE (seen under ASan, where the timing differs).
    std::signal(SIGPIPE, SIG_IGN);
    auto files = http::ensureSelfSignedCert(dir, "localhost");
    EXPECT_TRUE(files.isOk()) << files.status().toString();
    cert_ = files->cert_path;
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx_, files->cert_path.c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, files->key_path.c_str(), SSL_FILETYPE_PEM), 1);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TlsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  const std::string& certFile() const { return cert_; }
  int handshakes() const { return handshakes_; }
  int requests() const { return requests_; }
  std::string authorization() const {
    std::lock_guard<std::mutex> lock(mu_);
    return authorization_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        ++handshakes_;
        serve(ssl);
        SSL_shutdown(ssl);
      }
      ERR_clear_error();
      SSL_free(ssl);
      ::close(c);
    }
  }
  void serve(SSL* ssl) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) return;
      head.append(buf, static_cast<size_t>(n));
    }
    ++requests_;
    const size_t a = head.find("\r\nAuthorization: ");
    if (a != std::string::npos) {
      const size_t start = a + 17;
      std::lock_guard<std::mutex> lock(mu_);
      authorization_ = head.substr(start, head.find("\r\n", start) - start);
    }
    const std::string body =
        R"({"name":"Authentication failed.","message":"Authentication failed.","url":"/events/add"})";
    const std::string resp = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                             "Connection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
    SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::string cert_;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::string authorization_;
  std::thread thread_;
};

// Everything the process writes to stdout and stderr (spdlog's default sinks) while alive.
class CapturedOutput {
 public:
  CapturedOutput() {
    std::fflush(nullptr);
    path_ = dir_.file("out");
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    saved_out_ = ::dup(1);
    saved_err_ = ::dup(2);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~CapturedOutput() { restore(); }
  std::string text() {
    restore();
    return testutil::readFile(path_);
  }

 private:
  void restore() {
    if (saved_out_ < 0) return;
    std::fflush(nullptr);
    ::dup2(saved_out_, 1);
    ::dup2(saved_err_, 2);
    ::close(saved_out_);
    ::close(saved_err_);
    saved_out_ = saved_err_ = -1;
  }
  TempDir dir_;
  std::string path_;
  int saved_out_ = -1;
  int saved_err_ = -1;
};

// A reporter with only the REST transport, built from the configuration as `drosera report
// misp` builds it (Reporter::create), the key in an environment variable.
core::Result<ReportStats> runFromConfig(MispConfig c, store::Store* store,
                                        const std::string& data_dir, std::string* create_error) {
  ::setenv("DROSERA_TEST_MISP_KEY_S", kKey, 1);
  c.api_key_env = "DROSERA_TEST_MISP_KEY_S";
  c.retry_attempts = 2;
  c.retry_backoff_s = 0;
  c.feed_dir.clear();
  auto r = Reporter::create(c, data_dir, store,
                            {[] { return testutil::kDay + 12 * testutil::kHour; }});
  ::unsetenv("DROSERA_TEST_MISP_KEY_S");
  if (!r) {
    *create_error = r.status().toString();
    return r.status();
  }
  return (*r)->runOnce();
}

TEST(RestSecurityTest, TlsVerificationIsOnByDefault) {
  EXPECT_TRUE(MispConfig().verify_tls);
  EXPECT_TRUE(RestOptions().verify_tls);
  TempDir dir;
  TlsServer server(dir.path());
  FakeStore store;
  store.add(testutil::dayOfAttacks());
  MispConfig c = testutil::baseConfig();
  c.timeout_s = 5;
  std::string err;

  // A self-signed certificate nobody vouched for: the handshake fails, the key never leaves.
  c.url = "https://localhost:" + std::to_string(server.port());
  auto st = runFromConfig(c, &store, dir.path(), &err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_FALSE(st.isOk());
  EXPECT_THAT(st.status().message(), ::testing::HasSubstr("certificate"));
  EXPECT_THAT(st.status().message(), ::testing::Not(::testing::HasSubstr(kKey)));
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(*store.cursor("misp"), 0u);

  // Its certificate as the CA (misp.ca_file): verified, and the request goes through.
  c.ca_file = server.certFile();
  st = runFromConfig(c, &store, dir.path(), &err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_FALSE(st.isOk());
  EXPECT_THAT(st.status().message(), ::testing::HasSubstr("API key"));  // the server's 403
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(server.authorization(), kKey);

  // The right CA but another name (the certificate is for "localhost"): refused.
  c.url = "https://127.0.0.1:" + std::to_string(server.port());
  const int before = server.requests();
  st = runFromConfig(c, &store, dir.path(), &err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(server.requests(), before);

  // Only verify_tls = false (a lab instance) talks to an unverified server.
  c.ca_file.clear();
  c.verify_tls = false;
  st = runFromConfig(c, &store, dir.path(), &err);
  ASSERT_TRUE(err.empty()) << err;
  EXPECT_EQ(server.requests(), before + 1);
}

TEST(RestSecurityTest, TheApiKeyIsNeverLoggedNorInAnError) {
  FakeStore store;
  TempDir dir;
  store.add(testutil::dayOfAttacks());
  FakeMisp misp(kKey);
  // Everything that makes the transport log or fail: 500s past the retries, a refused event,
  // refused sightings, a slow answer, a dropped connection.
  misp.blockEvent(eventUuid(testutil::kNamespace, "hp-web-02", "2025-03-14", 1));
  misp.setSlowSeconds(2);
  misp.setFaults([](int n, const std::string&, const std::string& path) {
    if (n <= 2) return FakeMisp::Fault::k500;
    if (n == 3) return FakeMisp::Fault::kCommitThenDrop;
    if (n == 5) return FakeMisp::Fault::kCommitThenSlow;
    if (path == "/sightings/add") return FakeMisp::Fault::kSightingMessage;
    return FakeMisp::Fault::kNone;
  });
  MispConfig c = testutil::baseConfig();
  c.url = misp.url();
  c.timeout_s = 1;
  std::string out;
  std::vector<std::string> errors;
  bool wrong_key_refused = false;
  bool bad_file_refused = false;
  {
    CapturedOutput capture;
    for (int i = 0; i < 4; ++i) {
      std::string err;
      auto st = runFromConfig(c, &store, dir.path(), &err);
      if (!err.empty()) errors.push_back(err);
      if (!st) errors.push_back(st.status().toString());
    }
    // A wrong key (MISP's 403) and a malformed key file. (No assertion inside the capture: its
    // message would be captured too.)
    FakeMisp other("another-key-entirely-0123456789");
    FakeStore fresh;
    fresh.add(testutil::dayOfAttacks());
    c.url = other.url();
    std::string err;
    auto st = runFromConfig(c, &fresh, dir.path(), &err);
    wrong_key_refused = !st.isOk();
    if (!st) errors.push_back(st.status().toString());
    testutil::writeFile(dir.file("key"), std::string(kKey) + " with a space\n");
    c.api_key_file = dir.file("key");
    auto bad = loadApiKey(c);
    bad_file_refused = !bad.isOk();
    if (!bad) errors.push_back(bad.status().toString());
    out = capture.text();
  }
  EXPECT_TRUE(wrong_key_refused);
  EXPECT_TRUE(bad_file_refused);
  EXPECT_GE(errors.size(), 3u);
  EXPECT_THAT(out, ::testing::HasSubstr("misp"));  // the capture works: the transport did log
  EXPECT_EQ(out.find(kKey), std::string::npos) << out;
  for (const auto& e : errors) EXPECT_EQ(e.find(kKey), std::string::npos) << e;
  // And the work got done in the end: the key did reach MISP, in the Authorization header.
  EXPECT_TRUE(misp.state().contains(eventUuid(testutil::kNamespace, "hp-web-01", "2025-03-14", 1)));
  EXPECT_THAT(misp.violations(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace drosera::intel
