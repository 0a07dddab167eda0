// Which IPVS services lvsd owns, kept in a file across restarts. lvsd leaves the table
// in place when it stops (a restart must not drop connections), so without this a
// service removed from the config while lvsd was down would look like someone else's
// to the next run and stay in the kernel forever. The file lives in lvsd's runtime
// directory (next to the control socket, on /run): it is lost on reboot exactly when
// the kernel's table is.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ipvs/ipvs.hpp"

namespace lvsd::daemon {

// The file for a control socket path: /run/lvsd/lvsd.sock -> /run/lvsd/lvsd.owned.
std::string ownership_file_for(const std::string& control_socket);

struct OwnershipRead {
    std::set<ipvs::ServiceKey> owned;
    std::vector<std::string> problems;  // "FILE:LINE: ..." for lines that do not parse
};

// A missing file is an empty set (first start, or after a reboot).
OwnershipRead read_ownership(const std::string& path);
// Replaces the file atomically (write, fsync, then rename). On failure (ENOSPC, EIO,
// EACCES: errno in the error) the file on disk is the previous one, untouched, and no
// temporary file is left behind.
Result<void> write_ownership(const std::string& path, const std::set<ipvs::ServiceKey>& owned);

}  // namespace lvsd::daemon
