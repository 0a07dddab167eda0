#include "host/addresses.hpp"

#include <linux/if_addr.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>

namespace lvsd::host {
namespace {

struct NlAddr {
    nl_addr* p = nullptr;
    ~NlAddr() {
        if (p) nl_addr_put(p);
    }
};
struct RtnlAddr {
    rtnl_addr* p = rtnl_addr_alloc();
    ~RtnlAddr() {
        if (p) rtnl_addr_put(p);
    }
};

Result<void> build(RtnlAddr& a, NlAddr& local, int ifindex, const Prefix& p) {
    if (!a.p) return make_error(ENOMEM, "rtnl_addr_alloc failed");
    if (p.address.is_v4()) {
        auto b = p.address.to_v4().to_bytes();
        local.p = nl_addr_build(AF_INET, b.data(), b.size());
    } else {
        auto b = p.address.to_v6().to_bytes();
        local.p = nl_addr_build(AF_INET6, b.data(), b.size());
    }
    if (!local.p) return make_error(ENOMEM, "nl_addr_build failed");
    nl_addr_set_prefixlen(local.p, p.length);
    rtnl_addr_set_ifindex(a.p, ifindex);
    rtnl_addr_set_family(a.p, p.address.is_v4() ? AF_INET : AF_INET6);
    rtnl_addr_set_local(a.p, local.p);
    rtnl_addr_set_prefixlen(a.p, p.length);
    return {};
}

}  // namespace

AddressWriter::~AddressWriter() {
    if (sock_) nl_socket_free(sock_);
}

Result<void> AddressWriter::open() {
    sock_ = nl_socket_alloc();
    if (!sock_) return make_error(ENOMEM, "open rtnetlink socket for VIPs: out of memory");
    if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "open rtnetlink socket for VIPs: {}", nl_geterror(err));
    return {};
}

Result<void> AddressWriter::add(int ifindex, const std::string& ifname, const Prefix& p, const std::string& label) {
    RtnlAddr a;
    NlAddr local;
    if (auto r = build(a, local, ifindex, p); !r) return r;
    if (!label.empty()) rtnl_addr_set_label(a.p, label.c_str());
    // A VIP must be usable the moment we are master: no duplicate address detection,
    // whose tentative phase would hold the address back for a second or more.
    if (p.address.is_v6()) rtnl_addr_set_flags(a.p, IFA_F_NODAD);
    int err = rtnl_addr_add(sock_, a.p, 0);
    if (err < 0 && err != -NLE_EXIST)
        return make_error(-err, "add VIP {} to {}: {}", p, ifname, nl_geterror(err));
    return {};
}

Result<void> AddressWriter::remove(int ifindex, const std::string& ifname, const Prefix& p) {
    RtnlAddr a;
    NlAddr local;
    if (auto r = build(a, local, ifindex, p); !r) return r;
    int err = rtnl_addr_delete(sock_, a.p, 0);
    if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
        return make_error(-err, "remove VIP {} from {}: {}", p, ifname, nl_geterror(err));
    return {};
}

}  // namespace lvsd::host
