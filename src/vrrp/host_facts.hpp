// What a VRRP instance can do on the host as it is now, and what it must change there.
// Pure functions of the instance's config and the host::View (links and addresses), so
// that every rule about the host is unit-tested with plain values; the Instance only
// carries the answers out. Interfaces are looked up by name on every call.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "host/view.hpp"
#include "vrrp/instance.hpp"
#include "vrrp/priority.hpp"

namespace lvsd::vrrp {

struct HostFacts {
    int ifindex = 0;       // where adverts go (advert_interface) now; 0 when it is gone
    int base_ifindex = 0;  // the configured `interface` (differs with use_vmac); 0 when gone
    std::optional<IpAddress> source;         // where adverts go out from; none: cannot send
    std::map<std::string, int> vip_devices;  // interface of each VIP -> its index (missing: gone)
    // Why the instance cannot take part now ("" when it can): its interface is gone or
    // down, a VIP's interface is gone, or there is no source address. (Tracked interfaces
    // are trackers: priority.hpp.)
    // keepalived's FAULT; a master that gets one gives up its VIPs.
    // With dont_track_primary, `interface` or the use_vmac interface being down (no
    // IFF_UP or no carrier) is not a fault, as in keepalived 2.2.7, which registers the
    // instance on its interface with the weight VRRP_NOT_TRACK_IF and skips it on every
    // up/down report (keepalived_netlink.c process_if_status_change, vrrp_if.c). Measured
    // with keepalived 2.2.7 in network namespaces: a master whose link goes down stays
    // MASTER with its VIPs, and its adverts and gratuitous ARPs fail (ENETUNREACH,
    // ENETDOWN) until the link is back; the missing interface and a missing source
    // address are faults all the same (an IPv6 instance loses its link-local address
    // when the link goes down, unless keep_addr_on_down, and so goes to FAULT anyway).
    std::string fault;
};

// The advert source (RFC 5798 §5.1.1.1 / §5.1.2.1): `unicast_src_ip` when it is a usable
// address of the interface; else the interface's first primary IPv4 address that is not
// a VIP, or, for IPv6, its link-local address. Tentative and DAD-failed addresses do not
// count (they cannot be a source). Then the rest of the facts.
HostFacts host_facts(const InstanceConfig& c, const host::View& view);

// The checks a reload (and a start) makes before anything changes: the instance's
// interface and every VIP's interface exist, and unicast_src_ip is an address of the
// interface. Down links and a missing tracked interface are not problems: they are what
// FAULT is for. Each message names the instance and what is missing; `kind` and `vip`
// say which setting it is about (for the caller's FILE:LINE).
struct HostProblem {
    enum class Kind : uint8_t { Interface, VipDevice, UnicastSource } kind;
    std::size_t vip = 0;  // VipDevice: index into virtual_ipaddress
    std::string message;
};
std::vector<HostProblem> check_host(const InstanceConfig& c, const host::View& view);

struct VipOp {
    enum class Kind : uint8_t { Add, Remove } kind;
    int ifindex = 0;
    std::string dev;
    Prefix prefix;
    std::string label;  // Add only; empty: none
    // For the log: "absent", "label eth0:x, wanted eth0:vip", "present while not master".
    std::string why;
    friend bool operator==(const VipOp&, const VipOp&) = default;
};

// The operations that make the host hold the VIPs exactly as wanted: while `master`,
// every VIP present on its interface with its prefix length and label (a wrong label
// is removed and added again); otherwise no address equal to a VIP on that interface,
// whatever its prefix length. VIPs whose interface is gone are skipped (nothing can be
// done there). An address owner (priority 255) never has its addresses removed: they
// are the host's own.
std::vector<VipOp> vip_plan(const InstanceConfig& c, const HostFacts& facts, const host::View& view, bool master);

// IPv6 instances with use_vmac: the link-local address the macvlan must carry, as
// operations on it. The macvlan makes none itself (host/vmac.hpp); like keepalived
// (vrrp_vmac.c) it gets a copy of the base interface's link-local: the advert source
// when that is link-local, else the base's first usable link-local that is not a VIP,
// with the base's prefix length. This router's own address, never the peer's, so adverts
// sent on the macvlan keep a link-local source (RFC 5798 §5.1.2.1: the kernel sends from
// a link-local address only on an interface that has it). Any other link-local address
// on the macvlan that is not a VIP (one made from the virtual MAC before lvsd set
// addr_gen_mode, the base's old one) is removed. Empty for IPv4, without use_vmac, when
// the macvlan or the base is missing, or when the base has no usable link-local (the
// instance is in FAULT then: no advert source).
std::vector<VipOp> vmac_link_local_plan(const InstanceConfig& c, const host::View& view);

// Every tracker of the instance as it is now, in config order (interfaces from the view,
// scripts, processes and files from what the daemon reported, the ARP targets' verdict):
// what effective_priority (priority.hpp) takes. A script or process not reported yet
// counts as well, a file as 0.
struct TrackerInputs {
    const std::map<std::string, bool>* scripts = nullptr;
    const std::map<std::string, long>* files = nullptr;
    const std::map<std::string, bool>* processes = nullptr;
    std::optional<bool> arp_ok;  // none: no track_arp_target
};
std::vector<Tracker> collect_trackers(const InstanceConfig& c, const host::View& view, const TrackerInputs& in);

// `from` with only the VIPs that `to` no longer has (same address on the same interface
// counts as kept), and never an owner: what a reload must take off the host.
InstanceConfig vips_leaving(const InstanceConfig& from, const InstanceConfig& to);

// Where adverts are sent and received: the use_vmac interface unless vmac_xmit_base,
// else `interface`.
const std::string& advert_interface(const InstanceConfig& c);

// The interface a VIP lives on: its `dev`, else the use_vmac interface, else the
// instance's interface.
const std::string& vip_device(const InstanceConfig& c, const VirtualAddress& v);

}  // namespace lvsd::vrrp
