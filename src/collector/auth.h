// Who may talk to the collector: the API token (dashboard, scripts), sensor tokens (ingest and
// heartbeats), mlogc users (Basic auth). Secrets are read once at start from the configuration
// or their files, compared in constant time, and never logged. Read-only after load; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/capture.h"
#include "core/config.h"
#include "core/status.h"

namespace drosera::collector {

class Credentials {
 public:
  // Loads every secret; the API token file is created (random, mode 0600) if it is missing.
  static core::Result<Credentials> load(const core::CollectorConfig& config,
                                        const std::string& data_dir);
  // Adds a sensor allowed to ship (drosera run's own sensor).
  void addSensor(const std::string& name, const std::string& token);

  const std::string& apiToken() const { return api_token_; }
  const std::string& apiTokenFile() const { return api_token_file_; }
  // "Authorization: Bearer <api token>".
  bool isApi(const std::vector<core::Header>& headers) const;
  // The sensor whose token the request carries, if any.
  std::optional<std::string> sensorFor(const std::vector<core::Header>& headers) const;
  // The sensor name of an mlogc client's Basic credentials, if they are right.
  std::optional<std::string> mlogcSensor(const std::vector<core::Header>& headers) const;
  // The user name in Basic credentials (for logs), whatever the password.
  static std::string basicUser(const std::vector<core::Header>& headers);

 private:
  struct Sensor {
    std::string name;
    std::string token;
  };
  struct MlogcUser {
    std::string user;
    std::string password;
    std::string sensor;
  };
  std::string api_token_;
  std::string api_token_file_;
  std::vector<Sensor> sensors_;
  std::vector<MlogcUser> mlogc_;
};

// Reads a one-line secret from a file (trailing whitespace removed); the error names the key.
core::Result<std::string> readSecretFile(const std::string& path, const std::string& key);
// Creates `path` with a new random token unless it exists; returns the token.
core::Result<std::string> loadOrCreateToken(const std::string& path);

}  // namespace drosera::collector
