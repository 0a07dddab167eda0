// Adding and removing addresses over rtnetlink, for the VIPs of an Instance and for the
// VIPs a DSR real server holds on its loopback (`lvsctl realserver`).
#pragma once

#include "vrrp/detail/rtnl.hpp"

namespace lvsd::vrrp {
using detail::AddressManager;
using detail::LinkState;
using detail::query_link;
}  // namespace lvsd::vrrp
