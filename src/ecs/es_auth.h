// Credentials for Elasticsearch: the Authorization header value built from a secret read from an
// environment variable or a file (never from the configuration itself, never logged).
#pragma once

#include <string>

#include "core/status.h"
#include "ecs/ecs_config.h"

namespace drosera::ecs {

// "Basic <base64(user:password)>", "ApiKey <encoded>", or "" for auth = "none". An error names
// the variable or file that could not be read, never the secret.
core::Result<std::string> authorizationHeader(const EcsBulkConfig& config);

// The secret in the environment variable `env` when it is set and not empty, else the first line
// of `file` (trailing whitespace removed). `what` names the secret in errors.
core::Result<std::string> readSecret(const std::string& env, const std::string& file,
                                     const std::string& what);

}  // namespace drosera::ecs
