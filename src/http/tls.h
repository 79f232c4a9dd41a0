// TLS material for the HTTPS listeners: a per-install self-signed certificate made on first
// start (kept in <data_dir>/tls/, key mode 0600), or the operator's own PEM files.
#pragma once

#include <string>

#include "core/status.h"

namespace drosera::http {

struct TlsFiles {
  std::string cert_path;
  std::string key_path;
};

// Makes `dir`/cert.pem and `dir`/key.pem (EC P-256, 3 years, CN and SAN = `common_name`)
// unless both exist. Returns their paths.
core::Result<TlsFiles> ensureSelfSignedCert(const std::string& dir, const std::string& common_name);

}  // namespace drosera::http
