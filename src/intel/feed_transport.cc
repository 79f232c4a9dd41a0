#include "intel/feed_transport.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "intel/aggregate.h"
#include "intel/misp_json.h"
#include "intel/uuid5.h"

namespace drosera::intel {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

constexpr const char* kTempPrefix = ".tmp-";
constexpr uint64_t kMaxEventFileBytes = 256ull << 20;

int64_t systemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Status writeAll(int fd, const std::string& bytes, const std::string& path) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::Status::fromErrno("write " + path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return core::Status::ok();
}

core::Status fsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::Status::fromErrno("open " + dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return core::Status::fromErrno("fsync " + dir, err);
  return core::Status::ok();
}

int64_t toInt64(const ojson& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    int64_t out = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec == std::errc()) return out;
  }
  return 0;
}

int toInt(const ojson& v) { return static_cast<int>(toInt64(v)); }

}  // namespace

FeedTransport::FeedTransport(FeedOptions options, const MispCatalog* catalog)
    : options_(std::move(options)), catalog_(catalog) {
  if (!options_.now_us) options_.now_us = systemNowUs;
}

core::Result<std::unique_ptr<FeedTransport>> FeedTransport::open(FeedOptions options,
                                                                 const MispCatalog* catalog) {
  if (options.dir.empty()) return core::Status::invalidArgument("misp feed_dir is empty");
  std::error_code ec;
  // A feed is made to be read by others (a MISP instance, a web server): the folder drosera
  // creates is 0755 and every file 0644 whatever the process umask (drosera's is 077; the
  // default folder sits inside the 0700 data folder, so nothing is exposed until the operator
  // points misp.feed_dir somewhere served).
  const bool existed = fs::is_directory(options.dir, ec);
  fs::create_directories(options.dir, ec);
  if (!ec && !existed) {
    fs::permissions(options.dir, fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec, ec);
  }
  if (ec) {
    return core::Status::ioError("cannot create the MISP feed folder " + options.dir + ": " +
                                 ec.message());
  }
  std::unique_ptr<FeedTransport> t(new FeedTransport(std::move(options), catalog));
  core::Status s = t->load();
  if (!s) return s;
  return t;
}

core::Status FeedTransport::load() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) == 0) {
      fs::remove(entry.path(), ec);  // a write that a crash interrupted
      continue;
    }
    if (entry.path().extension() != ".json" || !isUuid(entry.path().stem().string())) continue;
    const std::string uuid = entry.path().stem().string();
    if (entry.file_size(ec) > kMaxEventFileBytes) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    ojson j = ojson::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("Event") || !j["Event"].is_object()) {
      spdlog::warn("misp feed: {} is not a MISP event; left out of the manifest", name);
      continue;
    }
    const ojson& e = j["Event"];
    Entry en;
    en.date = e.value("date", "");
    ojson m;
    m["Orgc"] = e.value("Orgc", ojson::object());
    m["Tag"] = e.value("Tag", ojson::array());
    m["info"] = e.value("info", "");
    m["date"] = en.date;
    m["analysis"] = toInt(e.value("analysis", ojson("0")));
    m["threat_level_id"] = toInt(e.value("threat_level_id", ojson("4")));
    m["timestamp"] = toInt64(e.value("timestamp", ojson("0")));
    en.manifest = m.dump(-1, ' ', false, ojson::error_handler_t::replace);
    const auto addHashes = [&](const ojson& attrs) {
      if (!attrs.is_array()) return;
      for (const auto& a : attrs) {
        if (a.contains("value") && a["value"].is_string()) {
          en.hashes.push_back(md5Hex(a["value"].get<std::string>()) + "," + uuid);
        }
      }
    };
    addHashes(e.value("Attribute", ojson::array()));
    for (const auto& o : e.value("Object", ojson::array())) {
      addHashes(o.value("Attribute", ojson::array()));
    }
    entries_[uuid] = std::move(en);
  }
  if (ec) return core::Status::ioError("cannot list " + options_.dir + ": " + ec.message());
  return core::Status::ok();
}

core::Status FeedTransport::writeAtomically(const std::string& name, const std::string& bytes) {
  if (options_.fault && !options_.fault("write " + name)) {
    return core::Status::ioError("feed: simulated crash before writing " + name);
  }
  const std::string tmp = options_.dir + "/" + kTempPrefix + name;
  const std::string path = options_.dir + "/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return core::Status::fromErrno("open " + tmp, errno);
  core::Status s = ::fchmod(fd, 0644) == 0 ? core::Status::ok()
                                           : core::Status::fromErrno("fchmod " + tmp, errno);
  if (s) s = writeAll(fd, bytes, tmp);
  if (s && options_.fsync && ::fsync(fd) != 0) s = core::Status::fromErrno("fsync " + tmp, errno);
  ::close(fd);
  if (!s) return s;
  if (options_.fault && !options_.fault("rename " + name)) {
    return core::Status::ioError("feed: simulated crash before renaming " + name);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::fromErrno("rename " + tmp, errno);
  }
  return options_.fsync ? fsyncDir(options_.dir) : core::Status::ok();
}

core::Status FeedTransport::publish(const PublishRequest& r) {
  if (r.event == nullptr) return core::Status::invalidArgument("feed: no event");
  const MispEvent& e = *r.event;
  const TagColour colour = [this](const std::string& tag) {
    return catalog_ ? catalog_->tagColour(tag) : std::string("#ffffff");
  };
  core::Status s = writeAtomically(e.uuid + ".json", feedEventJson(e, colour));
  if (!s) return s;
  Entry en;
  en.date = e.date;
  en.manifest = manifestEntryJson(e, colour);
  en.hashes = hashLines(e);
  entries_[e.uuid] = std::move(en);
  dirty_ = true;
  return core::Status::ok();
}

core::Status FeedTransport::flush() {
  if (options_.keep_days > 0) {
    const std::string cutoff =
        utcDate(options_.now_us() - int64_t{options_.keep_days} * 86400 * 1000000);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->second.date.empty() && it->second.date < cutoff) {
        expired_.push_back(it->first);
        it = entries_.erase(it);
        dirty_ = true;
      } else {
        ++it;
      }
    }
  }
  if (dirty_) {
    std::string hashes;
    for (const auto& [uuid, en] : entries_) {
      for (const auto& line : en.hashes) hashes += line + "\n";
    }
    core::Status s = writeAtomically("hashes.csv", hashes);
    if (!s) return s;
    ojson manifest = ojson::object();
    for (const auto& [uuid, en] : entries_) manifest[uuid] = ojson::parse(en.manifest);
    s = writeAtomically("manifest.json",
                        manifest.dump(2, ' ', false, ojson::error_handler_t::replace));
    if (!s) return s;
    dirty_ = false;
  }
  // An expired event file goes only once the manifest no longer names it (a MISP pulling in
  // between never finds a listed event missing). One a crash leaves behind is found by load()
  // and expires again.
  while (!expired_.empty()) {
    const std::string name = expired_.back() + ".json";
    if (options_.fault && !options_.fault("remove " + name)) {
      return core::Status::ioError("feed: simulated crash before removing " + name);
    }
    std::error_code ec;
    fs::remove(options_.dir + "/" + name, ec);
    if (ec) return core::Status::ioError("cannot remove " + name + ": " + ec.message());
    expired_.pop_back();
  }
  return core::Status::ok();
}

}  // namespace drosera::intel
