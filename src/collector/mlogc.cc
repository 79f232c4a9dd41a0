#include "collector/mlogc.h"

#include <openssl/evp.h>

#include "collector/parse.h"
#include "http/parser.h"

namespace drosera::collector {

std::string md5Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += kHex[out[i] >> 4];
    s += kHex[out[i] & 15];
  }
  return s;
}

bool mlogcContentHashMatches(const std::vector<core::Header>& headers, std::string_view body) {
  const std::string* hash = http::findHeader(headers, "X-Content-Hash");
  if (!hash) return true;
  std::string token = hash->substr(0, hash->find_first_of(" \t"));
  // Lower-cased before the prefix is looked for: the prefix, like the hex, may come in any case.
  // ASCII only: std::tolower on a negative char (a byte >= 0x80) is undefined behaviour.
  for (char& c : token) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (token.rfind("md5:", 0) == 0) token = token.substr(4);
  return token == md5Hex(body);
}

std::string mlogcSummaryId(const std::vector<core::Header>& headers) {
  const std::string* s = http::findHeader(headers, "X-ForensicLog-Summary");
  if (!s) return "";
  auto idx = parseMlogcIndexLine(*s);
  return idx ? idx->unique_id : "";
}

}  // namespace drosera::collector
