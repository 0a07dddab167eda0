#include "host/rtnl_decode.hpp"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <netlink/msg.h>
#include <netlink/netlink.h>

namespace lvsd::host {
namespace {

constexpr std::size_t kMaxDatagram = 1 << 20;

std::optional<Change> link_change(nlmsghdr* h, unsigned& malformed) {
    static nla_policy policy[IFLA_MAX + 1] = {};
    policy[IFLA_IFNAME].type = NLA_STRING;
    policy[IFLA_IFNAME].maxlen = IFNAMSIZ;
    nlattr* tb[IFLA_MAX + 1];
    if (!nlmsg_valid_hdr(h, sizeof(ifinfomsg)) || nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, policy) < 0) {
        ++malformed;
        return std::nullopt;
    }
    ifinfomsg ifi;
    std::memcpy(&ifi, nlmsg_data(h), sizeof ifi);
    if (ifi.ifi_index <= 0) {
        ++malformed;
        return std::nullopt;
    }
    LinkChange c;
    c.removed = h->nlmsg_type == RTM_DELLINK;
    c.link.index = ifi.ifi_index;
    c.link.flags = ifi.ifi_flags;
    if (tb[IFLA_IFNAME]) {
        // The policy bounds the length; the string need not be terminated inside it.
        const auto* p = static_cast<const char*>(nla_data(tb[IFLA_IFNAME]));
        const auto n = static_cast<std::size_t>(nla_len(tb[IFLA_IFNAME]));
        c.link.name.assign(p, std::find(p, p + n, '\0'));
    }
    // A new link without a name is not something we can follow by name.
    if (!c.removed && c.link.name.empty()) {
        ++malformed;
        return std::nullopt;
    }
    return Change{c};
}

std::optional<IpAddress> address_of(const nlattr* a, int family) {
    const auto n = static_cast<std::size_t>(nla_len(a));
    if (family == AF_INET && n == 4) {
        boost::asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), nla_data(a), 4);
        return boost::asio::ip::address_v4(b);
    }
    if (family == AF_INET6 && n == 16) {
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), nla_data(a), 16);
        return boost::asio::ip::address_v6(b);
    }
    return std::nullopt;
}

std::optional<Change> address_change(nlmsghdr* h, unsigned& malformed, unsigned& ignored) {
    static nla_policy policy[IFA_MAX + 1] = {};
    policy[IFA_LABEL].type = NLA_STRING;
    policy[IFA_LABEL].maxlen = IFNAMSIZ;
    policy[IFA_FLAGS].type = NLA_U32;
    nlattr* tb[IFA_MAX + 1];
    if (!nlmsg_valid_hdr(h, sizeof(ifaddrmsg)) || nlmsg_parse(h, sizeof(ifaddrmsg), tb, IFA_MAX, policy) < 0) {
        ++malformed;
        return std::nullopt;
    }
    ifaddrmsg ifa;
    std::memcpy(&ifa, nlmsg_data(h), sizeof ifa);
    if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6) {
        ++ignored;
        return std::nullopt;
    }
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links
    // and the only one IPv6 sends.
    const nlattr* local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    const unsigned max_len = ifa.ifa_family == AF_INET ? 32 : 128;
    std::optional<IpAddress> addr = local ? address_of(local, ifa.ifa_family) : std::nullopt;
    if (!addr || ifa.ifa_index == 0 || ifa.ifa_prefixlen > max_len) {
        ++malformed;
        return std::nullopt;
    }
    AddressChange c;
    c.removed = h->nlmsg_type == RTM_DELADDR;
    c.address.ifindex = static_cast<int>(ifa.ifa_index);
    c.address.prefix = Prefix{*addr, ifa.ifa_prefixlen};
    c.address.flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa.ifa_flags;
    c.address.scope = ifa.ifa_scope;
    if (tb[IFA_LABEL]) {
        const auto* p = static_cast<const char*>(nla_data(tb[IFA_LABEL]));
        const auto n = static_cast<std::size_t>(nla_len(tb[IFA_LABEL]));
        c.address.label.assign(p, std::find(p, p + n, '\0'));
    }
    return Change{c};
}

}  // namespace

Decoded decode(std::span<const std::byte> datagram) {
    Decoded out;
    // libnl walks mutable, aligned headers: work on an aligned copy.
    const std::size_t size = std::min(datagram.size(), kMaxDatagram);
    std::vector<uint32_t> buf((size + 3) / 4);
    if (size) std::memcpy(buf.data(), datagram.data(), size);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    int remaining = static_cast<int>(size);
    for (; nlmsg_ok(h, remaining); h = nlmsg_next(h, &remaining)) {
        if (h->nlmsg_flags & NLM_F_DUMP_INTR) out.interrupted = true;
        switch (h->nlmsg_type) {
            case NLMSG_DONE: out.done = true; break;
            case NLMSG_ERROR: {
                if (!nlmsg_valid_hdr(h, sizeof(nlmsgerr))) {
                    ++out.malformed;
                    break;
                }
                nlmsgerr e;
                std::memcpy(&e, nlmsg_data(h), sizeof e);
                if (e.error != 0) out.error = e.error;
                break;
            }
            case RTM_NEWLINK:
            case RTM_DELLINK:
                if (auto c = link_change(h, out.malformed)) out.changes.push_back(std::move(*c));
                break;
            case RTM_NEWADDR:
            case RTM_DELADDR:
                if (auto c = address_change(h, out.malformed, out.ignored)) out.changes.push_back(std::move(*c));
                break;
            default: ++out.ignored; break;
        }
    }
    // Trailing bytes that do not make a whole message.
    if (remaining > 0 && static_cast<std::size_t>(remaining) >= sizeof(nlmsghdr)) ++out.malformed;
    return out;
}

}  // namespace lvsd::host
