#include "announce/routes.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <netlink/errno.h>
#include <netlink/msg.h>
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
    if (dump_) nl_socket_free(dump_);
}

Result<void> Routes::open() {
    sock_ = nl_socket_alloc();
    events_ = nl_socket_alloc();
    if (!sock_ || !events_) return make_error(ENOMEM, "open rtnetlink sockets for announced routes: out of memory");
    if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "open rtnetlink socket for announced routes: {}", nl_geterror(err));
    // Filtered route dumps on a socket of their own (see dump_family): libnl's address
    // dump does not pass the kernel's strict checks. Without them (Linux < 4.20) the
    // route dumps are filtered here.
    dump_ = nl_socket_alloc();
    if (!dump_) return make_error(ENOMEM, "open rtnetlink sockets for announced routes: out of memory");
    if (int err = nl_connect(dump_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "open rtnetlink socket for announced routes: {}", nl_geterror(err));
    const int one = 1;
    (void)::setsockopt(nl_socket_get_fd(dump_), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
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

bool Routes::drain_events(const Table& t) {
    bool relevant = false;
    const unsigned ifindex = ::if_nametoindex(t.interface.c_str());
    alignas(nlmsghdr) char buf[32768];
    for (;;) {
        const ssize_t n = ::recv(nl_socket_get_fd(events_), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOBUFS) {
            relevant = true;
            continue;
        }
        if (n <= 0) return relevant;
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if ((h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(rtmsg))) {
                const auto* r = static_cast<const rtmsg*>(NLMSG_DATA(h));
                uint32_t table = r->rtm_table;
                int alen = static_cast<int>(RTM_PAYLOAD(h));
                for (auto* a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                    if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= sizeof(uint32_t))
                        std::memcpy(&table, RTA_DATA(a), sizeof table);
                relevant = relevant || table == t.table;
            } else if ((h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(ifaddrmsg))) {
                const auto* a = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
                relevant = relevant || a->ifa_index == ifindex || ifindex == 0;
            }
        }
    }
}

// One family's routes of table t.table, protocol t.protocol. With NETLINK_GET_STRICT_CHK
// (Linux 4.20+) the kernel itself filters the dump on table and protocol, so that a host
// with a large main table does not send it all on every reconcile; an older kernel sends
// everything and the filter below keeps ours.
Result<void> Routes::dump_family(const Table& t, int family, std::set<IpAddress>& out) {
    struct Seen {
        const Table* t;
        std::set<IpAddress>* out;
    } seen{&t, &out};
    nl_msg* msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
    if (!msg) return make_error(ENOMEM, "dump routes of table {}: out of memory", t.table);
    rtmsg head{};
    head.rtm_family = static_cast<unsigned char>(family);
    head.rtm_table = static_cast<unsigned char>(t.table < 256 ? t.table : unsigned{RT_TABLE_UNSPEC});
    head.rtm_protocol = t.protocol;
    int err = nlmsg_append(msg, &head, sizeof head, NLMSG_ALIGNTO);
    if (err >= 0) err = nla_put_u32(msg, RTA_TABLE, t.table);
    if (err >= 0) err = nl_send_auto(dump_, msg);
    nlmsg_free(msg);
    if (err < 0) return make_error(-err, "dump routes of table {}: {}", t.table, nl_geterror(err));
    // nl_socket_get_cb takes a reference of its own: put it back once cloned.
    nl_cb* base = nl_socket_get_cb(dump_);
    nl_cb* cb = nl_cb_clone(base);
    nl_cb_put(base);
    if (!cb) return make_error(ENOMEM, "dump routes of table {}: out of memory", t.table);
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM,
              [](nl_msg* m, void* arg) -> int {
                  auto* s = static_cast<Seen*>(arg);
                  nlmsghdr* h = nlmsg_hdr(m);
                  if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) return NL_OK;
                  const auto* r = static_cast<const rtmsg*>(NLMSG_DATA(h));
                  uint32_t table = r->rtm_table;
                  std::optional<IpAddress> dst;
                  int alen = static_cast<int>(RTM_PAYLOAD(h));
                  for (auto* a = RTM_RTA(r); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                      if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= sizeof(uint32_t))
                          std::memcpy(&table, RTA_DATA(a), sizeof table);
                      if (a->rta_type != RTA_DST) continue;
                      const auto* b = static_cast<const unsigned char*>(RTA_DATA(a));
                      if (r->rtm_family == AF_INET && RTA_PAYLOAD(a) == 4 && r->rtm_dst_len == 32) {
                          boost::asio::ip::address_v4::bytes_type v4;
                          std::copy(b, b + 4, v4.begin());
                          dst = IpAddress(boost::asio::ip::address_v4(v4));
                      } else if (r->rtm_family == AF_INET6 && RTA_PAYLOAD(a) == 16 && r->rtm_dst_len == 128) {
                          boost::asio::ip::address_v6::bytes_type v6;
                          std::copy(b, b + 16, v6.begin());
                          dst = IpAddress(boost::asio::ip::address_v6(v6));
                      }
                  }
                  if (dst && table == s->t->table && r->rtm_protocol == s->t->protocol) s->out->insert(*dst);
                  return NL_OK;
              },
              &seen);
    err = nl_recvmsgs(dump_, cb);
    nl_cb_put(cb);
    // A table that has no route does not exist for the kernel's filtered dump.
    if (err < 0 && err != -NLE_OBJ_NOTFOUND)
        return make_error(-err, "dump routes of table {}: {}", t.table, nl_geterror(err));
    return {};
}

Result<std::set<IpAddress>> Routes::dump(const Table& t) {
    std::set<IpAddress> out;
    for (int family : {AF_INET, AF_INET6})
        if (auto r = dump_family(t, family, out); !r) return r.error();
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
