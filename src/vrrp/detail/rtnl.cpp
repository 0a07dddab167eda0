#include "vrrp/detail/rtnl.hpp"

#include <net/if.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>
#include <spdlog/spdlog.h>

namespace lvsd::vrrp::detail {
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

AddressManager::~AddressManager() {
    if (sock_) nl_socket_free(sock_);
}

Result<void> AddressManager::open() {
    sock_ = nl_socket_alloc();
    if (!sock_) return make_error(ENOMEM, "open rtnetlink socket for VIPs: out of memory");
    if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0)
        return make_error(-err, "open rtnetlink socket for VIPs: {}", nl_geterror(err));
    return {};
}

Result<void> AddressManager::add(int ifindex, const std::string& ifname, const Prefix& p, const std::string& label) {
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

Result<void> AddressManager::remove(int ifindex, const std::string& ifname, const Prefix& p) {
    RtnlAddr a;
    NlAddr local;
    if (auto r = build(a, local, ifindex, p); !r) return r;
    int err = rtnl_addr_delete(sock_, a.p, 0);
    if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
        return make_error(-err, "remove VIP {} from {}: {}", p, ifname, nl_geterror(err));
    return {};
}

Result<LinkState> query_link(const std::string& name) {
    LinkState s;
    nl_sock* sock = nl_socket_alloc();
    if (!sock) return make_error(ENOMEM, "query link {}: out of memory", name);
    int err = nl_connect(sock, NETLINK_ROUTE);
    if (err < 0) {
        nl_socket_free(sock);
        return make_error(-err, "query link {}: {}", name, nl_geterror(err));
    }
    rtnl_link* link = nullptr;
    err = rtnl_link_get_kernel(sock, 0, name.c_str(), &link);
    nl_socket_free(sock);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return s;
    if (err < 0) return make_error(-err, "query link {}: {}", name, nl_geterror(err));
    s.exists = true;
    s.ifindex = rtnl_link_get_ifindex(link);
    const unsigned flags = rtnl_link_get_flags(link);
    s.up = (flags & IFF_UP) && (flags & IFF_RUNNING);
    rtnl_link_put(link);
    return s;
}

struct LinkMonitor::Impl {
    boost::asio::posix::stream_descriptor fd;
    Callback cb;
    nl_sock* sock = nullptr;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Impl(boost::asio::io_context& io, Callback c) : fd(io), cb(std::move(c)) {}
    ~Impl() {
        *alive = false;
        if (fd.is_open()) {
            fd.cancel();
            fd.release();  // libnl closes it
        }
        if (sock) nl_socket_free(sock);
    }

    static void on_object(nl_object* obj, void* arg) {
        auto* self = static_cast<Impl*>(arg);
        auto* link = reinterpret_cast<rtnl_link*>(obj);
        const unsigned flags = rtnl_link_get_flags(link);
        const char* name = rtnl_link_get_name(link);
        self->cb(rtnl_link_get_ifindex(link), name ? name : "", (flags & IFF_UP) && (flags & IFF_RUNNING));
    }

    static int on_valid(nl_msg* msg, void* arg) {
        // RTM_DELLINK: the link is gone, so it is down.
        nlmsghdr* hdr = nlmsg_hdr(msg);
        if (hdr->nlmsg_type == RTM_DELLINK) {
            auto* self = static_cast<Impl*>(arg);
            auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(hdr));
            nlattr* name = nlmsg_find_attr(hdr, sizeof(ifinfomsg), IFLA_IFNAME);
            self->cb(ifi->ifi_index, name ? nla_get_string(name) : "", false);
            return NL_OK;
        }
        nl_msg_parse(msg, &Impl::on_object, arg);
        return NL_OK;
    }

    void wait() {
        fd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this, alive = alive](const boost::system::error_code& ec) {
                          if (!*alive || ec) return;
                          int err = nl_recvmsgs_default(sock);
                          if (err < 0 && err != -NLE_AGAIN)
                              spdlog::warn("link monitor: reading rtnetlink: {}", nl_geterror(err));
                          wait();
                      });
    }
};

LinkMonitor::LinkMonitor(boost::asio::io_context& io, Callback cb) : impl_(std::make_unique<Impl>(io, std::move(cb))) {}
LinkMonitor::~LinkMonitor() = default;

Result<void> LinkMonitor::start() {
    auto& i = *impl_;
    i.sock = nl_socket_alloc();
    if (!i.sock) return make_error(ENOMEM, "link monitor: out of memory");
    nl_socket_disable_seq_check(i.sock);
    nl_socket_modify_cb(i.sock, NL_CB_VALID, NL_CB_CUSTOM, &Impl::on_valid, &i);
    if (int err = nl_connect(i.sock, NETLINK_ROUTE); err < 0)
        return make_error(-err, "link monitor: connect rtnetlink: {}", nl_geterror(err));
    if (int err = nl_socket_add_memberships(i.sock, RTNLGRP_LINK, 0); err < 0)
        return make_error(-err, "link monitor: join RTNLGRP_LINK: {}", nl_geterror(err));
    nl_socket_set_nonblocking(i.sock);
    i.fd.assign(nl_socket_get_fd(i.sock));
    i.wait();
    return {};
}

void LinkMonitor::stop() {
    if (impl_->fd.is_open()) impl_->fd.cancel();
}

}  // namespace lvsd::vrrp::detail
