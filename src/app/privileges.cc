#include "app/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <vector>

namespace drosera::app {

namespace {

core::Status fail(const std::string& message) {
  return core::Status::invalidArgument("general.user: " + message);
}

// lchown of the folder and everything in it (symbolic links themselves, never their targets).
core::Status chownTree(const std::string& dir, uid_t uid, gid_t gid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (::lchown(dir.c_str(), uid, gid) != 0) {
    return fail("cannot hand " + dir + " over: " + std::strerror(errno));
  }
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) {
      return fail("cannot hand " + it->path().string() + " over: " + std::strerror(errno));
    }
  }
  if (ec) return fail("cannot walk " + dir + ": " + ec.message());
  return core::Status::ok();
}

// An output file outside the data folder: the files there named like it ("ecs.ndjson",
// "ecs.ndjson.3"), and its folder when it holds nothing else (a folder of its own; a shared one
// such as /var/log is never handed over: it must then be writable by the user already).
core::Status chownOutput(const std::string& file, uid_t uid, gid_t gid) {
  namespace fs = std::filesystem;
  const fs::path p(file);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const std::string base = p.filename().string();
  std::error_code ec;
  bool own_folder = true;
  std::vector<fs::path> ours;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind(base, 0) == 0) {
      ours.push_back(it->path());
    } else {
      own_folder = false;
    }
  }
  if (ec) return fail("cannot walk " + dir.string() + ": " + ec.message());
  if (own_folder && ::lchown(dir.c_str(), uid, gid) != 0) {
    return fail("cannot hand " + dir.string() + " over: " + std::strerror(errno));
  }
  for (const auto& f : ours) {
    if (::lchown(f.c_str(), uid, gid) != 0) {
      return fail("cannot hand " + f.string() + " over: " + std::strerror(errno));
    }
  }
  return core::Status::ok();
}

}  // namespace

core::Status dropPrivileges(const std::string& user, const std::string& data_dir,
                            const std::vector<std::string>& output_files) {
  if (user.empty()) {
    if (::geteuid() == 0) {
      spdlog::warn("running as root: set general.user to an unprivileged user (docs/sensor.md)");
    }
    return core::Status::ok();
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int r = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (r != 0 || found == nullptr) return fail("no such user '" + user + "'");
  const uid_t uid = pw.pw_uid;
  const gid_t gid = pw.pw_gid;
  if (uid == 0) return fail("'" + user + "' is root; name an unprivileged user");
  if (::geteuid() != 0) {
    if (::geteuid() == uid) return core::Status::ok();  // started as that user already
    return fail("drosera must start as root to become '" + user + "' (it runs as uid " +
                std::to_string(::geteuid()) + ")");
  }
  auto st = chownTree(data_dir, uid, gid);
  if (!st) return st;
  for (const auto& f : output_files) {
    if (f.rfind(data_dir + "/", 0) == 0) continue;  // handed over with the data folder
    if (!(st = chownOutput(f, uid, gid))) return st;
  }
  if (::setgroups(0, nullptr) != 0) return fail(std::string("setgroups: ") + std::strerror(errno));
  if (::setresgid(gid, gid, gid) != 0) return fail(std::string("setgid: ") + std::strerror(errno));
  if (::setresuid(uid, uid, uid) != 0) return fail(std::string("setuid: ") + std::strerror(errno));
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (::setuid(0) == 0 || ::geteuid() == 0) return fail("root could be regained; refusing to run");
  for (const auto& f : output_files) {
    const std::string dir = std::filesystem::path(f).parent_path().string();
    if (::access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0) {
      return fail("'" + user + "' cannot write " + dir + ", the folder of " + f +
                  " (it rotates its files there): give it that folder, or a folder of its own");
    }
  }
  if (::access(data_dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return fail("'" + user + "' cannot write " + data_dir + ": " + std::strerror(errno) +
                " (is every parent folder searchable by it?)");
  }
  spdlog::info("running as {} (uid {}, gid {})", user, uid, gid);
  return core::Status::ok();
}

}  // namespace drosera::app
