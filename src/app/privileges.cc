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

// A file outside the data folder: the files there named like it ("ecs.ndjson",
// "ecs.ndjson.3", "store.db-wal"), and its folder when it holds nothing else (a folder of its
// own; a shared one such as /var/log is never handed over: it must then be writable by the user
// already).
core::Status chownFile(const std::string& file, uid_t uid, gid_t gid) {
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

// A folder of drosera's own outside the data folder: the folder and what it holds (one level:
// the MISP feed is flat). A folder that does not exist yet is left to be made after the drop.
core::Status chownFolder(const std::string& dir, uid_t uid, gid_t gid) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return core::Status::ok();
  if (::lchown(dir.c_str(), uid, gid) != 0) {
    return fail("cannot hand " + dir + " over: " + std::strerror(errno));
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) {
      return fail("cannot hand " + it->path().string() + " over: " + std::strerror(errno));
    }
  }
  if (ec) return fail("cannot walk " + dir + ": " + ec.message());
  return core::Status::ok();
}

bool inside(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

std::string folderOf(const std::string& file) {
  const std::string dir = std::filesystem::path(file).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

core::Status dropPrivileges(const std::string& user, const std::string& data_dir,
                            const WrittenOutside& outside) {
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
  for (const auto& f : outside.files) {
    if (inside(f.path, data_dir)) continue;  // handed over with the data folder
    if (!(st = chownFile(f.path, uid, gid))) return st;
  }
  for (const auto& d : outside.folders) {
    if (inside(d.path, data_dir)) continue;
    if (!(st = chownFolder(d.path, uid, gid))) return st;
  }
  if (::setgroups(0, nullptr) != 0) return fail(std::string("setgroups: ") + std::strerror(errno));
  if (::setresgid(gid, gid, gid) != 0) return fail(std::string("setgid: ") + std::strerror(errno));
  if (::setresuid(uid, uid, uid) != 0) return fail(std::string("setuid: ") + std::strerror(errno));
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (::setuid(0) == 0 || ::geteuid() == 0) return fail("root could be regained; refusing to run");
  for (const auto& f : outside.files) {
    const std::string dir = folderOf(f.path);
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      return fail("'" + user + "' cannot write " + dir + ", the folder of " + f.key + " " + f.path +
                  " (drosera makes and rotates files there): give it that folder, " +
                  "or a folder of its own, every parent folder searchable by it");
    }
    if (::access(f.path.c_str(), F_OK) == 0 && ::access(f.path.c_str(), R_OK | W_OK) != 0) {
      return fail("'" + user + "' cannot write " + f.key + " " + f.path + ": " +
                  std::strerror(errno));
    }
  }
  for (const auto& d : outside.folders) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool exists = fs::is_directory(d.path, ec);
    const std::string where = exists ? d.path : folderOf(d.path);
    if (::access(where.c_str(), R_OK | W_OK | X_OK) != 0) {
      return fail("'" + user + "' cannot write " + where + " (" + d.key + " " + d.path +
                  "): " + std::strerror(errno) + " (is every parent folder searchable by it?)");
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
