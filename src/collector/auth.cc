#include "collector/auth.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "core/base64.h"
#include "http/parser.h"

namespace drosera::collector {
namespace {

bool same(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string bearer(const std::vector<core::Header>& headers) {
  const std::string* auth = http::findHeader(headers, "Authorization");
  if (!auth || auth->size() < 8 || !http::iequals(auth->substr(0, 7), "Bearer ")) return "";
  std::string t = auth->substr(7);
  while (!t.empty() && t.front() == ' ') t.erase(0, 1);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

std::pair<std::string, std::string> basic(const std::vector<core::Header>& headers) {
  const std::string* auth = http::findHeader(headers, "Authorization");
  if (!auth || auth->size() < 7 || !http::iequals(auth->substr(0, 6), "Basic ")) return {};
  auto decoded = core::base64Decode(auth->substr(6));
  if (!decoded) return {};
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return {};
  return {decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace

core::Result<std::string> readSecretFile(const std::string& path, const std::string& key) {
  // Whoever can write the file sets the secret. Refused: a file anybody may write, and, in a
  // folder anybody may write (a shared 1777 one), a file or link another user made there (a
  // planted token, or a link to a file of known content). A file of the service user's in the
  // data folder, which root reads at start before dropping privileges, is fine.
  struct stat link {
  }, dir{};
  if (::lstat(path.c_str(), &link) != 0)
    return core::Status::notFound(key + ": cannot read " + path);
  const std::string parent = std::filesystem::path(path).parent_path().string();
  const bool shared_dir =
      ::stat(parent.empty() ? "." : parent.c_str(), &dir) == 0 && (dir.st_mode & S_IWOTH) != 0;
  if (shared_dir && link.st_uid != ::geteuid() && link.st_uid != 0) {
    return core::Status::invalidArgument(key + ": " + path +
                                         " was made by another user in a folder anybody may "
                                         "write; a secret must not be");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::Status::notFound(key + ": cannot read " + path);
  if ((st.st_mode & S_IWOTH) != 0) {
    return core::Status::invalidArgument(key + ": " + path +
                                         " is writable by anybody; a secret must not be");
  }
  std::ifstream in(path);
  if (!in) return core::Status::notFound(key + ": cannot read " + path);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.empty()) return core::Status::invalidArgument(key + ": " + path + " is empty");
  return s;
}

core::Result<std::string> loadOrCreateToken(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return readSecretFile(path, "token file");
  const auto dir = std::filesystem::path(path).parent_path();
  // A folder made here is private; one that was there (perhaps shared, the operator's choice)
  // keeps its mode.
  if (!dir.empty() && std::filesystem::create_directories(dir, ec)) ::chmod(dir.c_str(), 0700);
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return core::Status::internal("no randomness for a token");
  std::string token = core::base64Encode(std::string(reinterpret_cast<char*>(raw), sizeof raw));
  for (char& c : token) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  // Written to a file made here, private from the start: never through a link or into a file
  // somebody else made (a shared folder), which would hand them the token or let them point the
  // write at a file of their choice.
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover of ours; one of somebody else's stays, and O_EXCL refuses
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return core::Status::fromErrno("cannot create " + tmp, errno);
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return core::Status::fromErrno("cannot write " + tmp, write_errno);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::fromErrno("cannot write " + path, errno);
  }
  return token;
}

core::Result<Credentials> Credentials::load(const core::CollectorConfig& c,
                                            const std::string& data_dir) {
  Credentials out;
  out.api_token_file_ = c.api_token_file.empty() ? data_dir + "/secrets/api.token" : c.api_token_file;
  auto api = loadOrCreateToken(out.api_token_file_);
  if (!api) return api.status();
  out.api_token_ = *api;
  for (const auto& s : c.sensors) {
    std::string token = s.token;
    if (token.empty() && !s.token_file.empty()) {
      auto t = readSecretFile(s.token_file, "collector.sensor.token_file");
      if (!t) return t.status();
      token = *t;
    }
    if (token.size() < 16) {
      return core::Status::invalidArgument("collector.sensor '" + s.name +
                                           "': a token of at least 16 characters is needed");
    }
    // A token names its sensor: shared, one sensor's events would be stored as the other's.
    if (s.name.empty()) return core::Status::invalidArgument("collector.sensor: a name is needed");
    for (const auto& other : out.sensors_) {
      if (other.name == s.name) {
        return core::Status::invalidArgument("collector.sensor '" + s.name + "' is listed twice");
      }
      if (same(other.token, token)) {
        return core::Status::invalidArgument("collector.sensor '" + s.name +
                                             "' has the token of '" + other.name +
                                             "'; each sensor needs its own");
      }
    }
    out.sensors_.push_back({s.name, token});
  }
  for (const auto& m : c.mlogc) {
    std::string pw = m.password;
    if (pw.empty() && !m.password_file.empty()) {
      auto p = readSecretFile(m.password_file, "collector.mlogc.password_file");
      if (!p) return p.status();
      pw = *p;
    }
    if (pw.empty()) {
      return core::Status::invalidArgument("collector.mlogc '" + m.user + "': no password");
    }
    out.mlogc_.push_back({m.user, pw, m.sensor.empty() ? m.user : m.sensor});
  }
  return out;
}

void Credentials::addSensor(const std::string& name, const std::string& token) {
  sensors_.push_back({name, token});
}

bool Credentials::isApi(const std::vector<core::Header>& headers) const {
  return same(bearer(headers), api_token_);
}

std::optional<std::string> Credentials::sensorFor(const std::vector<core::Header>& headers) const {
  const std::string t = bearer(headers);
  if (t.empty()) return std::nullopt;
  for (const auto& s : sensors_) {
    if (same(t, s.token)) return s.name;
  }
  return std::nullopt;
}

std::optional<std::string> Credentials::mlogcSensor(const std::vector<core::Header>& headers) const {
  const auto [user, pw] = basic(headers);
  if (user.empty()) return std::nullopt;
  for (const auto& m : mlogc_) {
    if (same(user, m.user) && same(pw, m.password)) return m.sensor;
  }
  return std::nullopt;
}

std::string Credentials::basicUser(const std::vector<core::Header>& headers) {
  return basic(headers).first;
}

}  // namespace drosera::collector
