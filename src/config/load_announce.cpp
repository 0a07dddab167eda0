// Cross-checks of announced VIPs (issue #14, DESIGN.md "Scale-out"), once every virtual
// server and VRRP instance is read: a VIP is either announced (a host route while its
// services are healthy) or floated by VRRP, never both, and all its services agree.
#include <map>

#include <fmt/format.h>

#include "config/detail/loader.hpp"

namespace lvsd::config::detail {

namespace {

std::string name_of(const VirtualServer& vs) {
    return vs.group.empty() ? fmt::format("virtual server {}", service_name(vs))
                            : fmt::format("virtual server group \"{}\" ({})", vs.group, service_name(vs));
}

}  // namespace

void Loader::check_announce(Config& c) {
    std::map<IpAddress, const VirtualServer*> first_on;  // the first service on each address
    for (const auto& vs : c.virtual_servers) {
        if (vs.fwmark) {
            if (vs.announce)
                error(vs.where, fmt::format("{}: announce = true needs an address to announce; a fwmark service has none "
                                            "(announce the address services that the mark stands for)", name_of(vs)));
            continue;
        }
        auto [it, first] = first_on.emplace(vs.address, &vs);
        if (!first && it->second->announce != vs.announce) {
            error(vs.where, fmt::format("{}: announce = {} but {} (line {}) on the same address says {}; a VIP is announced "
                                        "for all its services or for none", name_of(vs), vs.announce,
                                        name_of(*it->second), it->second->where.line, it->second->announce));
            continue;
        }
        if (!first || !vs.announce) continue;
        for (const auto& in : c.vrrp_instances)
            for (const auto& vip : in.virtual_ipaddress)
                if (vip.prefix.address == vs.address)
                    error(vs.where, fmt::format("{}: {} is announced but also floated by vrrp instance \"{}\" (line {}); a VIP "
                                                "is either announced (every balancer active) or floated by VRRP",
                                                name_of(vs), vs.address, in.name, vip.where.line));
    }
}

}  // namespace lvsd::config::detail
