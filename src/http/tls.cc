#include "http/tls.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace drosera::http {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

core::Status writePem(const std::string& path, mode_t mode, bool key, EVP_PKEY* pkey, X509* cert) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return core::Status::fromErrno("cannot create " + tmp, errno);
  ::chmod(tmp.c_str(), mode);
  int ok = key ? PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_X509(f, cert);
  if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) ok = 0;
  std::fclose(f);
  if (!ok) return core::Status::ioError("cannot write " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::fromErrno("cannot rename " + tmp, errno);
  }
  return core::Status::ok();
}

}  // namespace

core::Result<TlsFiles> ensureSelfSignedCert(const std::string& dir, const std::string& cn) {
  TlsFiles files{dir + "/cert.pem", dir + "/key.pem"};
  std::error_code ec;
  if (std::filesystem::exists(files.cert_path, ec) && std::filesystem::exists(files.key_path, ec)) {
    return files;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return core::Status::ioError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);

  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) return core::Status::internal("EC key generation failed");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400L * 3);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 365 * 3);
  X509_set_pubkey(cert.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "DNS:" + cn;
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(cert.get(), pkey.get(), EVP_sha256())) {
    return core::Status::internal("certificate signing failed");
  }
  core::Status st = writePem(files.key_path, 0600, true, pkey.get(), nullptr);
  if (!st) return st;
  st = writePem(files.cert_path, 0644, false, nullptr, cert.get());
  if (!st) return st;
  return files;
}

}  // namespace drosera::http
