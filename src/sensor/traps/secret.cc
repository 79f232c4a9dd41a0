#include "sensor/traps/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace drosera::sensor::traps {

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no entropy: nothing secret can be made; never limp on
  }
  return out;
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

core::Result<InstallSecret> InstallSecret::loadOrCreate(const std::string& data_dir) {
  const std::string dir = data_dir + "/secrets";
  const std::string path = dir + "/traps.key";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return core::Status::ioError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (key.size() == 32) return fromBytes(key);
      return core::Status::corruption(path + " is not a 32-byte key; remove it to make a new one "
                                             "(bait names will change)");
    }
  }
  std::string key = randomBytes(32);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    ::chmod(tmp.c_str(), 0600);
    out.write(key.data(), static_cast<std::streamsize>(key.size()));
    if (!out) return core::Status::ioError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::fromErrno("cannot write " + path, errno);
  }
  return fromBytes(key);
}

InstallSecret InstallSecret::fromBytes(std::string bytes) {
  InstallSecret s;
  s.key_ = std::move(bytes);
  return s;
}

std::string InstallSecret::mac(std::string_view label, std::string_view data) const {
  std::string msg;
  msg.reserve(label.size() + 1 + data.size());
  msg.append(label);
  msg.push_back('\0');
  msg.append(data);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string InstallSecret::macHex(std::string_view label, std::string_view data,
                                  size_t hex_chars) const {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string m = mac(label, data);
  std::string out;
  for (unsigned char c : m) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
    if (out.size() >= hex_chars) break;
  }
  out.resize(std::min(out.size(), hex_chars));
  return out;
}

uint64_t InstallSecret::number(std::string_view label, uint64_t modulo) const {
  const std::string m = mac(label, "n");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(m[i]);
  return modulo ? v % modulo : v;
}

const std::string& InstallSecret::pick(std::string_view label,
                                       const std::vector<std::string>& options) const {
  return options[number(label, options.size())];
}

std::string InstallSecret::text(std::string_view label, std::string_view data,
                                std::string_view alphabet, size_t length) const {
  std::string out;
  std::string block;
  uint32_t counter = 0;
  while (out.size() < length) {
    block = mac(label, std::string(data) + '\0' + std::to_string(counter++));
    for (unsigned char c : block) {
      // Rejection sampling keeps the distribution uniform.
      const unsigned limit = 256 - 256 % alphabet.size();
      if (c >= limit) continue;
      out += alphabet[c % alphabet.size()];
      if (out.size() == length) break;
    }
  }
  return out;
}

}  // namespace drosera::sensor::traps
