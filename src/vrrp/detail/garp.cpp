#include "vrrp/detail/garp.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lvsd::vrrp::detail {

Result<Mac> interface_mac(const std::string& ifname) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(errno, "read MAC of {}: socket: {}", ifname, std::strerror(errno));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    int rc = ::ioctl(fd, SIOCGIFHWADDR, &ifr);
    int err = errno;
    ::close(fd);
    if (rc < 0) return make_error(err, "read MAC of {}: {}", ifname, std::strerror(err));
    Mac m;
    std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, m.size());
    return m;
}

std::array<uint8_t, 28> gratuitous_arp(const Mac& mac, const IpAddress& vip) {
    // RFC 5227 §3 / RFC 5798 §8.1.2: an ARP request for our own address, sender and
    // target protocol address both the VIP; target hardware address all ones, as
    // keepalived sends it.
    std::array<uint8_t, 28> f{};
    f[0] = 0x00, f[1] = 0x01;  // hardware: Ethernet
    f[2] = 0x08, f[3] = 0x00;  // protocol: IPv4
    f[4] = 6, f[5] = 4;
    f[6] = 0x00, f[7] = 0x01;  // request
    auto ip = vip.to_v4().to_bytes();
    std::memcpy(&f[8], mac.data(), 6);
    std::memcpy(&f[14], ip.data(), 4);
    std::memset(&f[18], 0xff, 6);
    std::memcpy(&f[24], ip.data(), 4);
    return f;
}

std::array<uint8_t, 28> arp_request(const Mac& mac, const IpAddress& sender, const IpAddress& target) {
    std::array<uint8_t, 28> f{};
    f[0] = 0x00, f[1] = 0x01;
    f[2] = 0x08, f[3] = 0x00;
    f[4] = 6, f[5] = 4;
    f[6] = 0x00, f[7] = 0x01;
    auto s = sender.to_v4().to_bytes();
    auto t = target.to_v4().to_bytes();
    std::memcpy(&f[8], mac.data(), 6);
    std::memcpy(&f[14], s.data(), 4);
    std::memcpy(&f[24], t.data(), 4);
    return f;
}

std::array<uint8_t, 32> unsolicited_na(const Mac& mac, const IpAddress& vip) {
    // RFC 4861 §4.4 / §7.2.6: Override set, Solicited clear, Router clear, with the
    // target link-layer address option. The kernel fills in the checksum.
    std::array<uint8_t, 32> f{};
    f[0] = ND_NEIGHBOR_ADVERT;
    f[4] = 0x20;  // O flag
    auto ip = vip.to_v6().to_bytes();
    std::memcpy(&f[8], ip.data(), 16);
    f[24] = ND_OPT_TARGET_LINKADDR;
    f[25] = 1;  // in units of 8 octets
    std::memcpy(&f[26], mac.data(), 6);
    return f;
}

Announcer::~Announcer() {
    if (arp_fd_ >= 0) ::close(arp_fd_);
    if (icmp6_fd_ >= 0) ::close(icmp6_fd_);
}

Result<void> Announcer::open(int ifindex, const std::string& ifname, bool want_v4, bool want_v6) {
    ifindex_ = ifindex;
    ifname_ = ifname;
    auto mac = interface_mac(ifname);
    if (!mac) return mac.error();
    mac_ = *mac;
    if (want_v4) {
        arp_fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        if (arp_fd_ < 0)
            return make_error(errno, "open packet socket for gratuitous ARP on {}: {}", ifname, std::strerror(errno));
    }
    if (want_v6) {
        icmp6_fd_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
        if (icmp6_fd_ < 0)
            return make_error(errno, "open ICMPv6 socket for neighbour adverts on {}: {}", ifname,
                              std::strerror(errno));
        int hops = 255;  // RFC 4861 §7.1.2: receivers drop NDP with a hop limit below 255
        unsigned idx = static_cast<unsigned>(ifindex);
        if (::setsockopt(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0 ||
            ::setsockopt(icmp6_fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0 ||
            ::setsockopt(icmp6_fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) < 0)
            return make_error(errno, "set up ICMPv6 socket on {}: {}", ifname, std::strerror(errno));
    }
    return {};
}

namespace {
Result<void> send_arp(int fd, int ifindex, const std::array<uint8_t, 28>& frame) {
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        return make_error(errno, "{}", std::strerror(errno));
    return {};
}
}  // namespace

Result<void> Announcer::ask(const IpAddress& sender, const IpAddress& target) {
    if (arp_fd_ < 0) return make_error(EBADF, "ARP request for {} on {}: no IPv4 socket", target, ifname_);
    if (auto r = send_arp(arp_fd_, ifindex_, arp_request(mac_, sender, target)); !r)
        return make_error(r.error().code, "ARP request for {} on {}: {}", target, ifname_, r.error().message);
    return {};
}

Result<void> Announcer::announce(const IpAddress& vip) {
    if (vip.is_v4()) {
        if (arp_fd_ < 0) return make_error(EBADF, "gratuitous ARP for {} on {}: no IPv4 socket", vip, ifname_);
        auto frame = gratuitous_arp(mac_, vip);
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_protocol = htons(ETH_P_ARP);
        to.sll_ifindex = ifindex_;
        to.sll_halen = 6;
        std::memset(to.sll_addr, 0xff, 6);
        if (::sendto(arp_fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
            return make_error(errno, "gratuitous ARP for {} on {}: {}", vip, ifname_, std::strerror(errno));
        return {};
    }
    if (icmp6_fd_ < 0) return make_error(EBADF, "neighbour advert for {} on {}: no IPv6 socket", vip, ifname_);
    auto frame = unsolicited_na(mac_, vip);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);  // all-nodes (RFC 4861 §7.2.6)
    to.sin6_scope_id = static_cast<uint32_t>(ifindex_);
    if (::sendto(icmp6_fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        return make_error(errno, "neighbour advert for {} on {}: {}", vip, ifname_, std::strerror(errno));
    return {};
}

}  // namespace lvsd::vrrp::detail
