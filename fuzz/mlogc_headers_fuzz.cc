// Fuzz target: the mlogc receiver's header handling: Basic credentials (Credentials::mlogcSensor,
// Credentials::basicUser), X-Content-Hash (mlogcContentHashMatches) and X-ForensicLog-Summary
// (mlogcSummaryId), as Collector::mlogc calls them.
//
// Input: "\n"-separated Authorization value, X-Content-Hash value, X-ForensicLog-Summary value,
// a user name, a password; the rest is the body. Two mlogc users are configured. Invariants:
//  - credentials are accepted only when they decode to exactly a configured user and password;
//    then the sensor is that user's and basicUser names the user;
//  - "Basic " + base64(user:password), any case of "Basic", is accepted for the configured
//    pairs and refused for the fuzzed pair unless it is one of them; basicUser returns the user;
//  - the hash check accepts the body's MD5 (with or without "md5:", any case, any suffix after a
//    space) and refuses it with one digit changed; an accepted fuzzed header names that MD5;
//  - the summary id is the index line's unique id, and a piece of the header.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "collector/auth.h"
#include "collector/mlogc.h"
#include "collector/parse.h"
#include "core/base64.h"
#include "fuzz_check.h"
#include "http/parser.h"

namespace {

using drosera::collector::Credentials;
using drosera::core::Header;

struct User {
  const char* user;
  const char* password;
  const char* sensor;
};
constexpr User kUsers[] = {{"sensor-a", "pw-a-0123456789", "alpha"},
                           {"mlogc", "s3cret:with:colons", "mlogc"}};

Credentials* credentials = nullptr;

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string_view field(std::string_view& in) {
  const size_t nl = in.find('\n');
  std::string_view f = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return f;
}

std::vector<Header> auth(const std::string& value) { return {{"Authorization", value}}; }

void checkCredentials(std::string_view header, const std::string& user,
                      const std::string& password) {
  const std::vector<Header> h = auth(std::string(header));
  const auto sensor = credentials->mlogcSensor(h);
  const std::string named = Credentials::basicUser(h);
  FUZZ_CHECK(named.size() <= header.size());
  if (sensor) {
    FUZZ_CHECK(header.size() >= 6 && drosera::http::iequals(header.substr(0, 6), "Basic "));
    const auto decoded = drosera::core::base64Decode(header.substr(6));
    FUZZ_CHECK(decoded.has_value());
    bool found = false;
    for (const User& u : kUsers) {
      if (*decoded == std::string(u.user) + ":" + u.password) {
        FUZZ_CHECK(*sensor == u.sensor && named == u.user);
        found = true;
      }
    }
    FUZZ_CHECK(found);
  }

  // Well-formed credentials, with "Basic" in a case the input picks.
  std::string scheme = "Basic ";
  for (size_t i = 0; i < 5 && i < header.size(); ++i) {
    if (header[i] & 1) scheme[i] = static_cast<char>(scheme[i] ^ 0x20);
  }
  for (const User& u : kUsers) {
    const auto ok =
        auth(scheme + drosera::core::base64Encode(std::string(u.user) + ":" + u.password));
    FUZZ_CHECK(credentials->mlogcSensor(ok) == std::optional<std::string>(u.sensor));
  }
  if (user.find(':') == std::string::npos) {
    const auto fuzzed = auth(scheme + drosera::core::base64Encode(user + ":" + password));
    FUZZ_CHECK(Credentials::basicUser(fuzzed) == user);
    bool configured = false;
    for (const User& u : kUsers) configured |= user == u.user && password == u.password;
    FUZZ_CHECK(credentials->mlogcSensor(fuzzed).has_value() == configured);
  }
}

void checkContentHash(std::string_view header, std::string_view body) {
  using drosera::collector::mlogcContentHashMatches;
  const std::string md5 = drosera::collector::md5Hex(body);
  FUZZ_CHECK(md5.size() == 32 && md5.find_first_not_of("0123456789abcdef") == std::string::npos);
  FUZZ_CHECK(mlogcContentHashMatches({}, body));

  const std::vector<Header> fuzzed = {{"X-Content-Hash", std::string(header)}};
  if (mlogcContentHashMatches(fuzzed, body)) {
    std::string token = lower(std::string(header.substr(0, header.find_first_of(" \t"))));
    if (token.rfind("md5:", 0) == 0) token.erase(0, 4);
    FUZZ_CHECK(token == md5);
  }

  std::string upper = md5;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string suffix = " " + std::string(header);
  for (const std::string& good : {"md5:" + md5 + suffix, md5, "md5:" + upper + "\t-"}) {
    FUZZ_CHECK(mlogcContentHashMatches({{"x-content-hash", good}}, body));
  }
  std::string bad = md5;
  const size_t at = header.size() % 32;
  bad[at] = bad[at] == '0' ? '1' : '0';
  FUZZ_CHECK(!mlogcContentHashMatches({{"X-Content-Hash", "md5:" + bad + suffix}}, body));
  FUZZ_CHECK(!mlogcContentHashMatches({{"X-Content-Hash", ""}}, body));
}

void checkSummary(std::string_view header) {
  const std::vector<Header> h = {{"X-ForensicLog-Summary", std::string(header)}};
  const std::string id = drosera::collector::mlogcSummaryId(h);
  const auto idx = drosera::collector::parseMlogcIndexLine(header);
  FUZZ_CHECK(id == (idx ? idx->unique_id : std::string()));
  FUZZ_CHECK(header.find(id) != std::string_view::npos);
  FUZZ_CHECK(drosera::collector::mlogcSummaryId({}).empty());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Credentials::load creates the API token file: a scratch folder, removed at exit.
  static std::string dir = [] {
    char tmpl[] = "/tmp/drosera-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
    return std::string(tmpl);
  }();
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  drosera::core::CollectorConfig config;
  for (const User& u : kUsers) {
    drosera::core::MlogcUserConfig m;
    m.user = u.user;
    m.password = u.password;
    if (std::string(u.sensor) != u.user) m.sensor = u.sensor;
    config.mlogc.push_back(m);
  }
  auto loaded = Credentials::load(config, dir);
  FUZZ_CHECK(loaded.isOk());
  credentials = new Credentials(std::move(*loaded));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view authorization = field(in);
  const std::string_view hash = field(in);
  const std::string_view summary = field(in);
  const std::string user(field(in));
  const std::string password(field(in));
  const std::string_view body = in;

  checkCredentials(authorization, user, password);
  checkContentHash(hash, body);
  checkSummary(summary);
  return 0;
}
