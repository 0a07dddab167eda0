// `lvsctl realserver up|down --vip ADDR...`: the real-server side of direct routing,
// carried out (the decisions are realserver_plan.hpp's). The real server must accept
// packets for the VIP (the VIP on lo, host length) without answering ARP for it on the
// LAN, or the LAN's routers would send VIP traffic straight to it.
#pragma once

#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::ctl {

// Reads lo's addresses, plans, applies: addresses over rtnetlink, then the sysctls. The
// text says what was done and what was already so, one line each. An error names the
// address or sysctl and the reason; what was done before it stays done.
Result<std::string> realserver_up(const std::vector<IpAddress>& vips);
Result<std::string> realserver_down(const std::vector<IpAddress>& vips);

}  // namespace lvsd::ctl
