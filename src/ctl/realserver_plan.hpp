// What `lvsctl realserver up|down` changes on a DSR real server, decided from the
// addresses on lo (pure, tests/unit/ctl/realserver_plan_test.cpp); realserver.hpp
// carries it out.
//
// The rules:
// - up puts each VIP on lo as a host address (/32, /128); one already there (any
//   length) is reported as already present and left alone.
// - down removes each VIP from lo with the length it has there; one that is not there is
//   reported as not present.
// - arp_ignore=1 / arp_announce=2 (net.ipv4.conf.all) keep lo's IPv4 addresses from
//   being answered or announced on the LAN (kernel Documentation/networking/
//   ip-sysctl.rst). They are IPv4 (ARP) settings: a request with IPv6 VIPs only leaves
//   them alone, since the kernel answers a neighbour solicitation only for an address of
//   the interface it arrived on (net/ipv6/ndisc.c, ndisc_recv_ns), never for one on lo.
// - up with an IPv4 VIP sets them; down resets them to the kernel's default 0 only once
//   no IPv4 address other than 127/8 stays on lo, because another VIP still there would
//   be answered for on the LAN again (the outage DSR's setup exists to prevent).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace lvsd::ctl {

struct ArpSysctls {
    int arp_ignore = 0;
    int arp_announce = 0;
    friend bool operator==(const ArpSysctls&, const ArpSysctls&) = default;
};

struct RealserverPlan {
    std::vector<Prefix> add;      // to put on lo
    std::vector<Prefix> remove;   // to take off lo, with the length they have there
    std::optional<ArpSysctls> arp;  // to write; none: leave both as they are
    // One line per VIP and one about the sysctls when they are left alone, in order
    // (the shell adds "added"/"removed" lines once the kernel acknowledged them).
    std::vector<std::string> notes;
};

// `on_lo`: the addresses on lo now, both families. `vips`: as parse_command accepted
// them (unicast, not loopback, no duplicates).
RealserverPlan plan_realserver(bool up, const std::vector<IpAddress>& vips, const std::vector<Prefix>& on_lo);

}  // namespace lvsd::ctl
