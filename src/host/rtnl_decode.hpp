// Decoding of rtnetlink datagrams (link and address messages) into host::Change values.
// Pure: bytes in, values out; the attribute walking and validation is libnl's
// (nlmsg_parse with a policy), the mapping onto View types is ours. A parser of outside
// input: every length is checked, and a malformed message is skipped and counted, never
// trusted (a libFuzzer target can drive decode() directly).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "host/view.hpp"

namespace lvsd::host {

struct Decoded {
    std::vector<Change> changes;  // in message order
    bool done = false;            // NLMSG_DONE: the end of a dump
    bool interrupted = false;     // NLM_F_DUMP_INTR: the dump raced a change, repeat it
    std::optional<int> error;     // NLMSG_ERROR with a non-zero code (a negative errno)
    unsigned malformed = 0;       // messages skipped as truncated or invalid
    unsigned ignored = 0;         // well-formed messages of other types or families
};

// One datagram as recv() returned it (at most 1 MiB is looked at). Only RTM_NEWLINK,
// RTM_DELLINK, RTM_NEWADDR and RTM_DELADDR of AF_INET/AF_INET6 addresses make changes.
Decoded decode(std::span<const std::byte> datagram);

}  // namespace lvsd::host
