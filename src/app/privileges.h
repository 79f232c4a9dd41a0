// Least privilege (issue 8): drosera binds its ports as root (or with CAP_NET_BIND_SERVICE) and
// then becomes an unprivileged user for everything else: parsing hostile input, writing files.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace drosera::app {

// A path drosera writes outside the data folder, named by its configuration key for errors.
struct WrittenPath {
  std::string key;   // "event_log.path", "collector.sqlite_path", "misp.feed_dir"...
  std::string path;  // absolute
};

// What the process writes outside the data folder (paths inside it are handed over with it).
struct WrittenOutside {
  // Files that grow beside themselves (rotated "<file>.<n>", SQLite's "<file>-wal"): the files
  // named like them are handed over, and their folder when it holds nothing else (a folder of
  // its own; a shared one such as /var/log never is, and must be writable by the user already).
  std::vector<WrittenPath> files;
  // Folders of drosera's own (the MISP feed): the folder and what it holds, not below.
  std::vector<WrittenPath> folders;
};

// Becomes `user` (general.user): hands the data folder to it (owner of every file and folder
// in it) and what `outside` names, drops supplementary groups, sets gid and uid, forbids
// regaining privileges, and checks that root cannot be regained and that the data folder and
// the folders of `outside` are still writable: a start that could not write its event log or
// store later is refused now (nothing captured so far is lost: it waits in the capture journal).
// An empty `user` changes nothing. Errors name general.user (and the key of a path). Call once
// every listener is bound and every file is open; applies to every thread of the process.
core::Status dropPrivileges(const std::string& user, const std::string& data_dir,
                            const WrittenOutside& outside = {});

}  // namespace drosera::app
