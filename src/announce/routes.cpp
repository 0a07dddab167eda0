#include "announce/routes.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

namespace lvsd::announce {
namespace {

template <class T, void (*Put)(T*)>
struct Owned {
    T* p = nullptr;
    Owned() = default;
    explicit Owned(T* x) : p(x) {}
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    ~Owned() {
        if (p) Put(p);
    }
};
using NlAddr = Owned<nl_addr, nl_addr_put>;
using Route = Owned<rtnl_route, rtnl_route_put>;
using Addr = Owned<rtnl_addr, rtnl_addr_put>;
using Cache = Owned<nl_cache, nl_cache_free>;

int host_length(const IpAddress& a) { return a.is_v4() ? 32 : 128; }

nl_addr* build(const IpAddress& a) {
    nl_addr* out = nullptr;
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        out = nl_addr_build(AF_INET, b.data(), b.size());
    } else {
        auto b = a.to_v6().to_bytes();
        out = nl_addr_build(AF_INET6, b.data(), b.size());
    }
    if (out) nl_addr_set_prefixlen(out, host_length(a));
    return out;
}

std::optional<IpAddress> read(nl_addr* a) {
    if (!a) return std::nullopt;
    const auto* bytes = static_cast<const unsigned char*>(nl_addr_get_binary_addr(a));
    if (nl_addr_get_family(a) == AF_INET && nl_addr_get_len(a) == 4) {
        boost::asio::ip::address_v4::bytes_type b;
        std::copy(bytes, bytes + 4, b.begin());
        return IpAddress(boost::asio::ip::address_v4(b));
    }
    if (nl_addr_get_family(a) == AF_INET6 && nl_addr_get_len(a) == 16) {
        boost::asio::ip::address_v6::bytes_type b;
        std::copy(bytes, bytes + 16, b.begin());
        return IpAddress(boost::asio::ip::address_v6(b));
    }
    return std::nullopt;
}

// The route as lvsd writes it; `with_nexthop` for an add (a delete matches without).
Result<void> describe(Route& r, NlAddr& dst, const Table& t, const IpAddress& vip, int ifindex) {
    r.p = rtnl_route_alloc();
    dst.p = build(vip);
    if (!r.p || !dst.p) return make_error(ENOMEM, "route for {}: out of memory", vip);
    rtnl_route_set_family(r.p, vip.is_v4() ? AF_INET : AF_INET6);
    rtnl_route_set_table(r.p, t.table);
    rtnl_route_set_protocol(r.p, t.protocol);
    rtnl_route_set_type(r.p, RTN_UNICAST);
    if (int err = rtnl_route_set_dst(r.p, dst.p); err < 0)
        return make_error(EINVAL, "route for {}: {}", vip, nl_geterror(err));
    if (ifindex > 0) {
        rtnl_route_set_scope(r.p, RT_SCOPE_UNIVERSE);
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        if (!nh) return make_error(ENOMEM, "route for {}: out of memory", vip);
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_add_nexthop(r.p, nh);  // the route owns it now
    }
    return {};
}

}  // namespace

Routes::~Routes() {
    if (sock_) nl_socket_free(sock_);
    if (events_) nl_socket_free(events_);
}

Result<void> Routes::open() {
    sock_ = nl_socket_alloc();
    events_ = nl_socket_alloc();
    if (!sock_ || !events_) return make_error(ENOMEM, "open rtnetlink sockets for announced routes: out of memory");
    if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "open rtnetlink socket for announced routes: {}", nl_geterror(err));
    nl_socket_disable_seq_check(events_);
    nl_socket_disable_auto_ack(events_);
    if (int err = nl_connect(events_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "subscribe to route changes: {}", nl_geterror(err));
    if (int err = nl_socket_add_memberships(events_, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_IFADDR,
                                            RTNLGRP_IPV6_IFADDR, 0);
        err < 0)
        return make_error(-err, "subscribe to route changes: {}", nl_geterror(err));
    if (int err = nl_socket_set_nonblocking(events_); err < 0)
        return make_error(-err, "subscribe to route changes: {}", nl_geterror(err));
    return {};
}

int Routes::events_fd() const { return events_ ? nl_socket_get_fd(events_) : -1; }

bool Routes::drain_events() {
    bool complete = true;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::recv(nl_socket_get_fd(events_), buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {
            complete = false;
            continue;
        }
        return complete;
    }
}

Result<std::set<IpAddress>> Routes::dump(const Table& t) {
    nl_cache* raw = nullptr;
    if (int err = rtnl_route_alloc_cache(sock_, AF_UNSPEC, 0, &raw); err < 0)
        return make_error(-err, "dump routes of table {}: {}", t.table, nl_geterror(err));
    Cache cache(raw);
    std::set<IpAddress> out;
    for (nl_object* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (rtnl_route_get_table(r) != t.table || rtnl_route_get_protocol(r) != t.protocol) continue;
        nl_addr* dst = rtnl_route_get_dst(r);
        auto a = read(dst);
        if (a && static_cast<int>(nl_addr_get_prefixlen(dst)) == host_length(*a)) out.insert(*a);
    }
    return out;
}

Result<int> Routes::ifindex(const std::string& interface) {
    const unsigned i = ::if_nametoindex(interface.c_str());
    if (i == 0) return make_error(ENODEV, "interface {} does not exist (global_defs.announce_interface)", interface);
    return static_cast<int>(i);
}

Result<void> Routes::add(const Table& t, const IpAddress& vip) {
    auto index = ifindex(t.interface);
    if (!index) return index.error();
    Route r;
    NlAddr dst;
    if (auto d = describe(r, dst, t, vip, *index); !d) return d;
    int err = rtnl_route_add(sock_, r.p, NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST)
        return make_error(-err, "add route {}/{} dev {} table {} proto {}: {}", vip, host_length(vip), t.interface, t.table,
                          t.protocol, nl_geterror(err));
    return {};
}

Result<void> Routes::remove(const Table& t, const IpAddress& vip) {
    // The kernel matches an IPv4 delete on the scope, and libnl guesses one (link, for a
    // route without gateway) when none is given: try lvsd's own (global) first, then the
    // scopes `ip route add` gives (a route of lvsd's protocol added by hand).
    for (const auto scope : {RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST}) {
        Route r;
        NlAddr dst;
        if (auto d = describe(r, dst, t, vip, 0); !d) return d;
        rtnl_route_set_scope(r.p, scope);
        const int err = rtnl_route_delete(sock_, r.p, 0);
        if (err >= 0) return {};
        if (err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR)
            return make_error(-err, "delete route {}/{} table {} proto {}: {}", vip, host_length(vip), t.table, t.protocol,
                              nl_geterror(err));
        if (vip.is_v6()) break;  // IPv6 ignores the scope
    }
    return {};
}

Result<std::set<IpAddress>> Routes::addresses(const std::string& interface) {
    auto index = ifindex(interface);
    if (!index) return index.error();
    nl_cache* raw = nullptr;
    if (int err = rtnl_addr_alloc_cache(sock_, &raw); err < 0)
        return make_error(-err, "dump addresses of {}: {}", interface, nl_geterror(err));
    Cache cache(raw);
    std::set<IpAddress> out;
    for (nl_object* o = nl_cache_get_first(cache.p); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_ifindex(a) != *index) continue;
        if (auto ip = read(rtnl_addr_get_local(a))) out.insert(*ip);
    }
    return out;
}

Result<void> Routes::add_address(const std::string& interface, const IpAddress& vip) {
    auto index = ifindex(interface);
    if (!index) return index.error();
    Addr a(rtnl_addr_alloc());
    NlAddr local(build(vip));
    if (!a.p || !local.p) return make_error(ENOMEM, "add {} to {}: out of memory", vip, interface);
    rtnl_addr_set_ifindex(a.p, *index);
    rtnl_addr_set_family(a.p, vip.is_v4() ? AF_INET : AF_INET6);
    rtnl_addr_set_local(a.p, local.p);
    rtnl_addr_set_prefixlen(a.p, host_length(vip));
    rtnl_addr_set_scope(a.p, RT_SCOPE_UNIVERSE);
    // Usable at once: no duplicate address detection holding an IPv6 VIP back.
    if (vip.is_v6()) rtnl_addr_set_flags(a.p, IFA_F_NODAD);
    int err = rtnl_addr_add(sock_, a.p, 0);
    if (err < 0 && err != -NLE_EXIST) return make_error(-err, "add {}/{} to {}: {}", vip, host_length(vip), interface, nl_geterror(err));
    return {};
}

Result<void> Routes::remove_address(const std::string& interface, const IpAddress& vip) {
    auto index = ifindex(interface);
    if (!index) return {};  // gone with its interface
    Addr a(rtnl_addr_alloc());
    NlAddr local(build(vip));
    if (!a.p || !local.p) return make_error(ENOMEM, "remove {} from {}: out of memory", vip, interface);
    rtnl_addr_set_ifindex(a.p, *index);
    rtnl_addr_set_family(a.p, vip.is_v4() ? AF_INET : AF_INET6);
    rtnl_addr_set_local(a.p, local.p);
    rtnl_addr_set_prefixlen(a.p, host_length(vip));
    int err = rtnl_addr_delete(sock_, a.p, 0);
    if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
        return make_error(-err, "remove {}/{} from {}: {}", vip, host_length(vip), interface, nl_geterror(err));
    return {};
}

}  // namespace lvsd::announce
