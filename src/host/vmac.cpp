#include "host/vmac.hpp"

#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <tuple>

#include <fmt/format.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/socket.h>

namespace lvsd::host {
namespace {

struct Sock {
    nl_sock* p = nl_socket_alloc();
    ~Sock() {
        if (p) nl_socket_free(p);
    }
};
struct Link {
    rtnl_link* p = nullptr;
    ~Link() {
        if (p) rtnl_link_put(p);
    }
};

// `family` is "ipv4" or "ipv6" (the directory under /proc/sys/net).
Result<void> sysctl(const char* family, const std::string& ifname, const char* key, const char* value) {
    const std::string path = fmt::format("/proc/sys/net/{}/conf/{}/{}", family, ifname, key);
    std::ofstream f(path);
    if (!(f << value << '\n') || !f.flush())
        return make_error(errno, "set {} = {}: {}", path, value, std::strerror(errno));
    return {};
}

Result<void> connect(Sock& s, const std::string& what) {
    if (!s.p) return make_error(ENOMEM, "{}: out of memory", what);
    if (int err = nl_connect(s.p, NETLINK_ROUTE); err < 0)
        return make_error(-err, "{}: connect rtnetlink: {}", what, nl_geterror(err));
    return {};
}

}  // namespace

MacAddress virtual_router_mac(uint8_t vrid, bool ipv6) {
    return {0x00, 0x00, 0x5e, 0x00, static_cast<uint8_t>(ipv6 ? 0x02 : 0x01), vrid};
}

Result<void> create_vmac(const std::string& name, int base_ifindex, const std::string& base, const MacAddress& mac,
                         bool ipv6) {
    const std::string what = fmt::format("create VRRP virtual MAC interface {} on {}", name, base);
    Sock s;
    if (auto r = connect(s, what); !r) return r;
    Link existing;
    if (rtnl_link_get_kernel(s.p, 0, name.c_str(), &existing.p) == 0) {
        nl_addr* a = rtnl_link_get_addr(existing.p);
        const char* type = rtnl_link_get_type(existing.p);
        const bool ours = type && std::strcmp(type, "macvlan") == 0 && rtnl_link_get_link(existing.p) == base_ifindex &&
                          a && nl_addr_get_len(a) == 6 && std::memcmp(nl_addr_get_binary_addr(a), mac.data(), 6) == 0;
        if (!ours)
            return make_error(EEXIST, "{}: an interface of that name exists and is not this virtual MAC", what);
    } else {
        Link link;
        link.p = rtnl_link_macvlan_alloc();
        if (!link.p) return make_error(ENOMEM, "{}: out of memory", what);
        rtnl_link_set_name(link.p, name.c_str());
        rtnl_link_set_link(link.p, base_ifindex);
        rtnl_link_macvlan_set_mode(link.p, MACVLAN_MODE_PRIVATE);
        nl_addr* addr = nl_addr_build(AF_LLC, mac.data(), mac.size());
        if (!addr) return make_error(ENOMEM, "{}: out of memory", what);
        rtnl_link_set_addr(link.p, addr);
        nl_addr_put(addr);
        if (int err = rtnl_link_add(s.p, link.p, NLM_F_CREATE | NLM_F_EXCL); err < 0)
            return make_error(-err, "{}: {}", what, nl_geterror(err));
        if (int err = rtnl_link_get_kernel(s.p, 0, name.c_str(), &existing.p); err < 0)
            return make_error(-err, "{}: read it back: {}", what, nl_geterror(err));
    }
    if (ipv6) {
        // Before it goes up: the kernel makes the link-local address when it does.
        Link mode;
        mode.p = rtnl_link_alloc();
        if (!mode.p) return make_error(ENOMEM, "{}: out of memory", what);
        if (int err = rtnl_link_inet6_set_addr_gen_mode(mode.p, IN6_ADDR_GEN_MODE_NONE); err < 0)
            return make_error(-err, "{}: addr_gen_mode none: {}", what, nl_geterror(err));
        if (int err = rtnl_link_change(s.p, existing.p, mode.p, 0); err < 0)
            return make_error(-err, "{}: set addr_gen_mode none: {}", what, nl_geterror(err));
        if (auto r = sysctl("ipv6", name, "accept_ra", "0"); !r)
            return make_error(r.error().code, "{}: {}", what, r.error().message);
    } else {
        // ARP for the VIP is answered from the virtual MAC only.
        for (auto [ifname, key, value] :
             {std::tuple{name, "arp_ignore", "1"}, std::tuple{name, "arp_filter", "0"},
              std::tuple{name, "accept_local", "1"}, std::tuple{name, "rp_filter", "0"},
              std::tuple{base, "arp_ignore", "1"}, std::tuple{base, "arp_announce", "2"}})
            if (auto r = sysctl("ipv4", ifname, key, value); !r)
                return make_error(r.error().code, "{}: {}", what, r.error().message);
    }
    Link change;
    change.p = rtnl_link_alloc();
    if (!change.p) return make_error(ENOMEM, "{}: out of memory", what);
    rtnl_link_set_flags(change.p, IFF_UP);
    if (int err = rtnl_link_change(s.p, existing.p, change.p, 0); err < 0)
        return make_error(-err, "{}: set it up: {}", what, nl_geterror(err));
    return {};
}

Result<void> delete_vmac(const std::string& name) {
    const std::string what = fmt::format("delete VRRP virtual MAC interface {}", name);
    Sock s;
    if (auto r = connect(s, what); !r) return r;
    Link link;
    link.p = rtnl_link_alloc();
    if (!link.p) return make_error(ENOMEM, "{}: out of memory", what);
    rtnl_link_set_name(link.p, name.c_str());
    int err = rtnl_link_delete(s.p, link.p);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) return make_error(-err, "{}: {}", what, nl_geterror(err));
    return {};
}

}  // namespace lvsd::host
