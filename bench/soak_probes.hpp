// What bench/soak measures and sends besides lvsctl, curl and the config files: a
// process's open descriptors and resident set, and bursts of VRRP adverts that no router
// may act on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace lvsd::soak {

struct Usage {
    long fds = -1;      // entries in /proc/PID/fd; -1 when unreadable
    long rss_kib = -1;  // VmRSS of /proc/PID/status, KiB
};

Usage usage_of(pid_t pid);

// Sends `count` VRRPv2 adverts (RFC 3768 5.1) to 224.0.0.18 from namespace `netns` (full
// name; `source` is its address), for `vrid` and `vip` with priority 255 -- they would
// win the election if accepted -- each spoiled one way in turn: a bad checksum, a TTL of 1
// (RFC 3768 7.1: must be 255), version 1, truncated to 6 bytes, and random bytes (from
// `seed`). Returns how many were sent; throws std::runtime_error when the namespace
// cannot be entered.
int send_hostile_adverts(const std::string& netns, const std::string& source, const std::string& vip, int vrid,
                         int count, uint64_t seed);

}  // namespace lvsd::soak
