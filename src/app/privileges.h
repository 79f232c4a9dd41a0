// Least privilege (issue 8): drosera binds its ports as root (or with CAP_NET_BIND_SERVICE) and
// then becomes an unprivileged user for everything else: parsing hostile input, writing files.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace drosera::app {

// Becomes `user` (general.user): hands the data folder to it (owner of every file and folder
// in it), drops supplementary groups, sets gid and uid, forbids regaining privileges, and checks
// that root cannot be regained and that the data folder is still writable. An empty `user`
// changes nothing. Errors name general.user. Call once every listener is bound; applies to every
// thread of the process. `output_files`: files drosera writes outside the data folder (an ECS
// NDJSON path elsewhere): the files named like them (rotated ones included) are handed over
// too, and their folder when it holds nothing else; the folder must be writable after the drop.
core::Status dropPrivileges(const std::string& user, const std::string& data_dir,
                            const std::vector<std::string>& output_files = {});

}  // namespace drosera::app
