// The host side of announced VIPs over rtnetlink (libnl-route-3): lvsd's host routes in
// its own table, and the VIPs as local addresses of announce_interface. Carries out what
// plan.hpp decides; decides nothing itself.
//
// A route is `ADDRESS/32 dev IFACE table TABLE proto PROTOCOL scope global` (/128 for IPv6):
// the table is not used for forwarding (no rule points at it); BIRD's kernel protocol learns
// it (`kernel table TABLE; learn;`, filtered on krt_source = PROTOCOL) and exports it. The
// VIP itself is a local address (scope global, /32 or /128) of the interface, so that IPVS
// sees packets to it as local: it stays while the VIP is configured, announced or not, so
// that a withdrawn balancer keeps forwarding the flows the routers still send it.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

struct nl_sock;

namespace lvsd::announce {

struct Table {
    uint32_t table = 100;  // global_defs.announce_table
    uint8_t protocol = 250;  // global_defs.announce_protocol (rtm_protocol)
    std::string interface = "lo";  // global_defs.announce_interface
    friend bool operator==(const Table&, const Table&) = default;
};

class Routes {
public:
    Routes() = default;
    ~Routes();
    Routes(const Routes&) = delete;
    Routes& operator=(const Routes&) = delete;

    // Opens the request socket, and a second one subscribed to the IPv4/IPv6 route and
    // address groups (RTNLGRP_*): its fd turns readable whenever a route or an address
    // changes on the host, whoever changed it.
    Result<void> open();
    int events_fd() const;
    // Reads every pending event and says whether one may concern `t`: a route of its table
    // or an address of its interface (a BGP host sees many route changes of other tables,
    // and each reconcile dumps). Lost events (ENOBUFS) count as relevant.
    bool drain_events(const Table& t);

    // The host routes (/32, /128) of `t.protocol` in `t.table`, both families.
    Result<std::set<IpAddress>> dump(const Table& t);
    // Already present counts as success; the interface must exist.
    Result<void> add(const Table& t, const IpAddress& vip);
    // Absent counts as success.
    Result<void> remove(const Table& t, const IpAddress& vip);

    // The addresses of the interface (both families); an error when it does not exist.
    Result<std::set<IpAddress>> addresses(const std::string& interface);
    // The VIP as a host address (/32, /128, scope global, IPv6 without DAD).
    Result<void> add_address(const std::string& interface, const IpAddress& vip);
    Result<void> remove_address(const std::string& interface, const IpAddress& vip);

private:
    Result<int> ifindex(const std::string& interface);
    Result<void> dump_family(const Table& t, int family, std::set<IpAddress>& out);
    nl_sock* sock_ = nullptr;
    nl_sock* events_ = nullptr;
    nl_sock* dump_ = nullptr;  // strict (filtered) route dumps
};

}  // namespace lvsd::announce
