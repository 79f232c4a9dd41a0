#include <curl/curl.h>

#include <mutex>

#include "http/client.h"

namespace drosera::http {
namespace {

struct Collect {
  std::string* body;
  uint64_t limit;
  bool overflow = false;
  std::vector<core::Header>* headers;
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collect*>(user);
  const size_t len = size * n;
  if (c->body->size() + len > c->limit) {
    c->overflow = true;
    return 0;  // aborts the transfer
  }
  c->body->append(data, len);
  return len;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collect*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    c->headers->clear();  // a new response (after 100 Continue or a redirect)
    return len;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    c->headers->push_back({std::string(line.substr(0, colon)), std::string(v)});
  }
  return len;
}

// libcurl calls it often while data moves and about once a second while nothing does.
int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load(std::memory_order_relaxed) ? 1 : 0;  // non-zero aborts the transfer
}

class CurlClient final : public HttpClient {
 public:
  CurlClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
  }
  ~CurlClient() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  core::Result<ClientResponse> send(const ClientRequest& r) override {
    if (!curl_) return core::Status::internal("libcurl could not be initialised");
    curl_easy_reset(curl_);
    ClientResponse resp;
    Collect collect{&resp.body, r.max_response_bytes, false, &resp.headers};
    curl_easy_setopt(curl_, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_s * 1000));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_s * 1000));
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L);
    if (!r.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, r.ca_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &collect);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &collect);
    if (r.cancel != nullptr) {
      if (r.cancel->load())
        return core::Status::unavailable(r.method + " " + r.url + ": cancelled");
      curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, onProgress);
      curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(r.cancel));
      curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    }
    if (r.method == "HEAD") {
      curl_easy_setopt(curl_, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET" || !r.body.empty()) {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, r.method.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    curl_slist* headers = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
    for (const auto& h : r.headers) {
      headers = curl_slist_append(headers, (h.name + ": " + h.value).c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    char err[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, err);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (collect.overflow) {
      return core::Status::resourceExhausted("response from " + r.url + " larger than " +
                                             std::to_string(r.max_response_bytes) + " bytes");
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return core::Status::unavailable(r.method + " " + r.url + ": cancelled");
    }
    if (rc != CURLE_OK) {
      return core::Status::unavailable(r.method + " " + r.url + ": " +
                                       (err[0] ? err : curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    resp.status = static_cast<int>(status);
    return resp;
  }

 private:
  CURL* curl_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpClient> makeHttpClient() { return std::make_unique<CurlClient>(); }

}  // namespace drosera::http
