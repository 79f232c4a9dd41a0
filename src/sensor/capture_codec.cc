#include "sensor/capture_codec.h"

#include <cstdint>
#include <cstring>

namespace drosera::sensor {
namespace {

constexpr uint8_t kVersion = 2;  // 2: facts and visitor

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_ += static_cast<char>(v); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void i64(int64_t v) { varint(static_cast<uint64_t>(v)); }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    varint(v.size());
    for (const auto& s : v) str(s);
  }
  void headers(const std::vector<core::Header>& hs) {
    varint(hs.size());
    for (const auto& h : hs) {
      str(h.name);
      str(h.value);
    }
  }
  void endpoint(const core::Endpoint& e) {
    str(e.ip);
    varint(e.port);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  uint8_t u8() {
    if (pos_ >= in_.size()) return fail<uint8_t>();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail<uint64_t>();
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail<uint64_t>();
  }
  int64_t i64() { return static_cast<int64_t>(varint()); }
  uint16_t port() {
    uint64_t v = varint();
    if (v > 65535) return fail<uint16_t>();
    return static_cast<uint16_t>(v);
  }
  std::string str() {
    uint64_t n = varint();
    if (!ok_ || n > in_.size() - pos_) return fail<std::string>();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::string> strs() {
    uint64_t n = varint();
    std::vector<std::string> v;
    if (n > in_.size()) return fail<std::vector<std::string>>();
    for (uint64_t i = 0; ok_ && i < n; ++i) v.push_back(str());
    return v;
  }
  std::vector<core::Header> headers() {
    uint64_t n = varint();
    std::vector<core::Header> v;
    if (n > in_.size()) return fail<std::vector<core::Header>>();
    for (uint64_t i = 0; ok_ && i < n; ++i) {
      core::Header h;
      h.name = str();
      h.value = str();
      v.push_back(std::move(h));
    }
    return v;
  }
  core::Endpoint endpoint() {
    core::Endpoint e;
    e.ip = str();
    e.port = port();
    return e;
  }
  bool atEnd() const { return pos_ == in_.size(); }

 private:
  template <typename T>
  T fail() {
    ok_ = false;
    return T{};
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

void encodeCapture(const core::Capture& c, std::string& out) {
  Writer w(out);
  w.u8(kVersion);
  w.str(c.unique_id);
  w.varint(c.seq);
  w.i64(c.received_us);
  w.i64(c.answered_us);
  w.endpoint(c.client);
  w.endpoint(c.peer);
  w.endpoint(c.local);
  w.str(c.client_source);
  w.varint(c.listener_port);
  w.str(c.listener_kind);
  w.u8(static_cast<uint8_t>((c.tls ? 1 : 0) | (c.head_complete ? 2 : 0) |
                            (c.body_complete ? 4 : 0)));
  w.str(c.tls_version);
  w.str(c.tls_sni);
  w.str(c.request.method);
  w.str(c.request.target);
  w.str(c.request.version);
  w.headers(c.request.headers);
  w.str(c.request.body);
  w.varint(c.request.body_bytes);
  w.varint(static_cast<uint64_t>(c.response.status));
  w.headers(c.response.headers);
  w.str(c.response.body);
  w.varint(c.response.body_bytes);
  w.str(c.raw);
  w.varint(c.raw_bytes);
  w.strs(c.limits_hit);
  w.strs(c.anomalies);
  w.varint(c.facts.size());
  for (const auto& [k, v] : c.facts) {
    w.str(k);
    w.str(v);
  }
  w.str(c.visitor);
}

std::optional<core::Capture> decodeCapture(std::string_view in) {
  Reader r(in);
  const uint8_t version = r.u8();
  if (version != 1 && version != kVersion) return std::nullopt;
  core::Capture c;
  c.unique_id = r.str();
  c.seq = r.varint();
  c.received_us = r.i64();
  c.answered_us = r.i64();
  c.client = r.endpoint();
  c.peer = r.endpoint();
  c.local = r.endpoint();
  c.client_source = r.str();
  c.listener_port = r.port();
  c.listener_kind = r.str();
  const uint8_t flags = r.u8();
  c.tls = flags & 1;
  c.head_complete = flags & 2;
  c.body_complete = flags & 4;
  c.tls_version = r.str();
  c.tls_sni = r.str();
  c.request.method = r.str();
  c.request.target = r.str();
  c.request.version = r.str();
  c.request.headers = r.headers();
  c.request.body = r.str();
  c.request.body_bytes = r.varint();
  c.response.status = static_cast<int>(r.varint());
  c.response.headers = r.headers();
  c.response.body = r.str();
  c.response.body_bytes = r.varint();
  c.raw = r.str();
  c.raw_bytes = r.varint();
  c.limits_hit = r.strs();
  c.anomalies = r.strs();
  if (version >= 2) {
    const uint64_t n = r.varint();
    if (n > in.size()) return std::nullopt;
    for (uint64_t i = 0; r.ok() && i < n; ++i) {
      std::string k = r.str();
      c.facts.emplace_back(std::move(k), r.str());
    }
    c.visitor = r.str();
  }
  if (!r.ok() || !r.atEnd()) return std::nullopt;
  return c;
}

size_t captureFootprint(const core::Capture& c) {
  size_t n = sizeof(core::Capture) + c.raw.size() + c.request.body.size() +
             c.request.target.size() + c.response.body.size();
  for (const auto& h : c.request.headers) n += h.name.size() + h.value.size() + 64;
  for (const auto& h : c.response.headers) n += h.name.size() + h.value.size() + 64;
  return n;
}

}  // namespace drosera::sensor
