#include "ecs/es_auth.h"

#include <cstdlib>
#include <fstream>

#include "core/base64.h"

namespace drosera::ecs {

core::Result<std::string> readSecret(const std::string& env, const std::string& file,
                                     const std::string& what) {
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v != nullptr && *v != '\0') return std::string(v);
  }
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return core::Status::invalidArgument("cannot read the " + what + " file " + file);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (line.empty())
      return core::Status::invalidArgument("the " + what + " file " + file + " is empty");
    return line;
  }
  return core::Status::invalidArgument("no " + what + ": set the environment variable " +
                                       (env.empty() ? std::string("(none configured)") : env) +
                                       " or name a file");
}

core::Result<std::string> authorizationHeader(const EcsBulkConfig& c) {
  if (c.auth == "none" || c.auth.empty()) return std::string();
  if (c.auth == "basic") {
    if (c.username.empty()) return core::Status::invalidArgument("ecs.bulk.username is empty");
    auto pw = readSecret(c.password_env, c.password_file, "Elasticsearch password");
    if (!pw) return pw.status();
    return "Basic " + core::base64Encode(c.username + ":" + *pw);
  }
  if (c.auth == "api_key") {
    auto key = readSecret(c.api_key_env, c.api_key_file, "Elasticsearch API key");
    if (!key) return key.status();
    // "id:api_key" as created, or the "encoded" form Elasticsearch also returns.
    if (key->find(':') != std::string::npos) return "ApiKey " + core::base64Encode(*key);
    return "ApiKey " + *key;
  }
  return core::Status::invalidArgument("ecs.bulk.auth must be none, basic or api_key, not " +
                                       c.auth);
}

}  // namespace drosera::ecs
