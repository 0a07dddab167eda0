// VRRP virtual MAC interfaces (keepalived's use_vmac): a macvlan in private mode on the
// instance's interface, carrying the virtual router MAC 00:00:5e:00:01:VRID (RFC 5798
// §7.3), so that after a takeover the VIP keeps its MAC and no neighbour has to learn a
// new one. The sysctls make the VIP answer ARP from the macvlan only: arp_ignore=1 on
// both (answer only for addresses of the interface asked on), rp_filter=0 and
// accept_local=1 on the macvlan (adverts from the base's address arrive on it), and
// arp_announce=2 on the base, so that its own ARP requests never claim the VIP (sent
// from the VIP, they would teach the neighbours the base's MAC for it).
//
// IPv6 instances (keepalived 2.2.7 does the same, vrrp_vmac.c): the MAC is
// 00:00:5e:00:02:VRID and the macvlan makes no link-local address of its own
// (addr_gen_mode none, IFLA_INET6_ADDR_GEN_MODE): one derived from the virtual MAC
// would be the same fe80::200:5eff:fe00:2VV on every router of the VRID. The instance
// gives it a copy of the base's link-local instead (vrrp/host_facts.hpp,
// vmac_link_local_plan), so adverts sent on it keep this router's own link-local source
// (RFC 5798 §5.1.2.1). accept_ra=0 on the macvlan: a router advertisement must not make
// it solicit routers or autoconfigure an address from the shared MAC (keepalived drops
// its router solicitations with nftables instead). The IPv4 ARP sysctls are not set
// for IPv6, and nothing is changed on the base interface (keepalived changes nothing
// there for IPv6 either). Not done: keepalived's nftables rule that moves the macvlan's
// MLD reports to the base; a backup's reports leave with the virtual MAC as source.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace lvsd::host {

using MacAddress = std::array<uint8_t, 6>;

// RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
MacAddress virtual_router_mac(uint8_t vrid, bool ipv6);

// Creates `name` on `base_ifindex` with `mac`, up, with the settings above for an IPv4
// instance or, with `ipv6`, an IPv6 one; an existing macvlan of that name on that base
// with that MAC is taken as it is (and given those settings again). The error names the
// step.
Result<void> create_vmac(const std::string& name, int base_ifindex, const std::string& base, const MacAddress& mac,
                         bool ipv6);
// Deletes it (gone already counts as success).
Result<void> delete_vmac(const std::string& name);

}  // namespace lvsd::host
