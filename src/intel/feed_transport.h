// The MISP feed directory (docs/misp.md, "Feed"): <event-uuid>.json per daily event in
// PyMISP's to_feed() shape, manifest.json (uuid -> Orgc, Tag, info, date, analysis,
// threat_level_id, timestamp) and hashes.csv (md5 of each value, event uuid). A MISP instance
// adds the folder (or its URL) as a feed of format "misp" and pulls events whose manifest
// timestamp is newer than its copy, so every change carries a newer timestamp in both files.
//
// Every file is replaced atomically (written to a temporary file, fsynced, renamed, folder
// fsynced): MISP may read at any moment and a crash leaves the old or the new file, never a
// torn one. manifest.json is written last. The manifest and hashes are rebuilt from the event
// files found at start, so a crash between an event file and the manifest heals by itself.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "intel/catalog.h"
#include "intel/misp_transport.h"

namespace drosera::intel {

struct FeedOptions {
  std::string dir;                  // created (0755) if missing; files 0644 whatever the umask
  int keep_days = 30;               // events whose date is older are removed
  bool fsync = true;                // off only in tests that simulate crashes themselves
  std::function<int64_t()> now_us;  // the clock (pruning); default: the system's
  // Test seam: called before each file operation ("write <name>", "rename <name>"); returning
  // false makes the operation fail as if the process died there.
  std::function<bool(const std::string& step)> fault;
};

class FeedTransport final : public MispTransport {
 public:
  // Opens (or creates) the folder, removes stale temporary files and reads the event files
  // already there.
  static core::Result<std::unique_ptr<FeedTransport>> open(FeedOptions options,
                                                           const MispCatalog* catalog);

  std::string name() const override { return "feed"; }
  std::string where() const override { return options_.dir; }
  core::Status publish(const PublishRequest& request) override;
  core::Status flush() override;

 private:
  struct Entry {
    std::string date;
    std::string manifest;  // JSON object text
    std::vector<std::string> hashes;
  };
  FeedTransport(FeedOptions options, const MispCatalog* catalog);
  core::Status load();
  core::Status writeAtomically(const std::string& name, const std::string& bytes);

  FeedOptions options_;
  const MispCatalog* catalog_;
  std::map<std::string, Entry> entries_;  // by event uuid
  std::vector<std::string> expired_;      // out of the manifest; their files still to remove
  bool dirty_ = true;                     // the manifest is rewritten at the first flush
};

}  // namespace drosera::intel
