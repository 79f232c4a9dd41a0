#include "intel/uuid5.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/status.h"

namespace drosera::intel {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<UuidBytes> parseUuid(std::string_view t) {
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') {
    return std::nullopt;
  }
  UuidBytes out{};
  size_t o = 0;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '-') {
      ++i;
      continue;
    }
    const int hi = hexValue(t[i]);
    const int lo = hexValue(t[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[o++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::string formatUuid(const UuidBytes& b) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

bool isUuid(std::string_view text) { return parseUuid(text).has_value(); }

std::string uuid5(std::string_view ns, std::string_view name) {
  const auto nsb = parseUuid(ns);
  DROSERA_CHECK(nsb.has_value());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  DROSERA_CHECK(ctx != nullptr);
  const bool ok = EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, nsb->data(), nsb->size()) == 1 &&
                  EVP_DigestUpdate(ctx, name.data(), name.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest, &len) == 1;
  EVP_MD_CTX_free(ctx);
  DROSERA_CHECK(ok && len >= 16);
  UuidBytes out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = digest[i];
  out[6] = static_cast<uint8_t>((out[6] & 0x0F) | 0x50);  // version 5
  out[8] = static_cast<uint8_t>((out[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return formatUuid(out);
}

std::string randomUuid() {
  UuidBytes out{};
  DROSERA_CHECK(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
  out[6] = static_cast<uint8_t>((out[6] & 0x0F) | 0x40);
  out[8] = static_cast<uint8_t>((out[8] & 0x3F) | 0x80);
  return formatUuid(out);
}

}  // namespace drosera::intel
