// `lvsctl realserver up|down --vip ADDR...`: the real-server side of direct routing.
// The real server must accept packets for the VIP (the VIP on lo, host length) without
// answering ARP for it on the LAN (arp_ignore=1: answer only for addresses of the
// interface the request came in on; arp_announce=2: never use the VIP as the source of
// its own ARP requests), or the LAN's routers would send VIP traffic straight to it.
#pragma once

#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::ctl {

Result<std::string> realserver_up(const std::vector<IpAddress>& vips);
// Removes the VIPs from lo and puts arp_ignore and arp_announce back to the kernel's
// defaults (0).
Result<std::string> realserver_down(const std::vector<IpAddress>& vips);

}  // namespace lvsd::ctl
