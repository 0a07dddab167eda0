// The few facts lvsd needs from the host before it starts, and systemd's readiness protocol.
#pragma once

#include <string_view>

#include "common/net.hpp"

namespace lvsd::daemon {

// True when the process may program IPVS, addresses and raw sockets: root, or
// CAP_NET_ADMIN and CAP_NET_RAW in the effective set (systemd's AmbientCapabilities).
bool has_network_privileges();


// sd_notify(3) when built with libsystemd and NOTIFY_SOCKET is set; a no-op otherwise.
void notify_systemd(std::string_view state);

}  // namespace lvsd::daemon
