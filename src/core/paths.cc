#include "core/paths.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#ifndef DROSERA_SHARE_DIR
#define DROSERA_SHARE_DIR "."
#endif

namespace drosera::core {

std::string shareDir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("DROSERA_SHARE_DIR"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "drosera";
    if (fs::is_directory(installed / "site", ec)) return installed.string();
  }
  return DROSERA_SHARE_DIR;
}

}  // namespace drosera::core
