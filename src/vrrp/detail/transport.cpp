#include "vrrp/detail/transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <spdlog/spdlog.h>

#include "vrrp/ah.hpp"

namespace lvsd::vrrp::detail {
namespace {

const IpAddress kGroupV4 = boost::asio::ip::make_address("224.0.0.18");  // RFC 5798 §5.1.1.2
const IpAddress kGroupV6 = boost::asio::ip::make_address("ff02::12");    // RFC 5798 §5.1.2.2

IpAddress from_sockaddr(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET) {
        const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
        return boost::asio::ip::address_v4(ntohl(s->sin_addr.s_addr));
    }
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &s->sin6_addr, 16);
    return boost::asio::ip::address_v6(b);
}

}  // namespace

struct Transport::Impl {
    boost::asio::posix::stream_descriptor sock;
    std::string owner;
    Receiver receive;
    Dropper drop;
    std::string ifname;
    int ifindex = 0;
    Family family = Family::V4;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Impl(boost::asio::io_context& io, std::string o, Receiver r, Dropper d)
        : sock(io), owner(std::move(o)), receive(std::move(r)), drop(std::move(d)) {}

    Result<void> setup(int fd, bool unicast, bool ah) {
        auto fail = [&](const char* what) {
            return make_error(errno, "{}: {} on {}: {}", owner, what, ifname, std::strerror(errno));
        };
        // Only this interface's packets, and ours leave through it (RFC 5798 §7.1 is per
        // interface).
        if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) < 0)
            return fail("SO_BINDTODEVICE");
        const int ttl = kRequiredTtl, off = 0, on = 1;
        if (family == Family::V4) {
            const int tos = 0xc0;  // internetwork control, as keepalived marks adverts
            ip_mreqn mreq{};
            mreq.imr_ifindex = ifindex;
            if (::setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0) return fail("IP_TTL");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) return fail("IP_MULTICAST_TTL");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off) < 0)
                return fail("IP_MULTICAST_LOOP");
            if (::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0) return fail("IP_TOS");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0)
                return fail("IP_MULTICAST_IF");
            // AH: we write the IP header, since the ICV covers its ID (the kernel still
            // fills in the checksum and total length, which the ICV does not depend on).
            if (ah && ::setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on) < 0) return fail("IP_HDRINCL");
            if (!unicast) {
                mreq.imr_multiaddr.s_addr = htonl(kGroupV4.to_v4().to_uint());
                if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
                    return fail("join 224.0.0.18");
            }
            return {};
        }
        const int tclass = 0xc0;
        const unsigned idx = static_cast<unsigned>(ifindex);
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) < 0) return fail("IPV6_UNICAST_HOPS");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) < 0)
            return fail("IPV6_MULTICAST_HOPS");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) < 0)
            return fail("IPV6_MULTICAST_LOOP");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass) < 0) return fail("IPV6_TCLASS");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0) return fail("IPV6_MULTICAST_IF");
        // The hop limit and the destination (for the checksum's pseudo-header) come with
        // each packet as ancillary data.
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0) return fail("IPV6_RECVHOPLIMIT");
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) return fail("IPV6_RECVPKTINFO");
        if (!unicast) {
            ipv6_mreq mreq{};
            auto g = kGroupV6.to_v6().to_bytes();
            std::memcpy(&mreq.ipv6mr_multiaddr, g.data(), 16);
            mreq.ipv6mr_interface = idx;
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) < 0) return fail("join ff02::12");
        }
        return {};
    }

    void wait() {
        sock.async_wait(boost::asio::posix::descriptor_base::wait_read,
                        [this, alive = alive](const boost::system::error_code& ec) {
                            if (!*alive || ec) return;
                            drain();
                            if (*alive && sock.is_open()) wait();
                        });
    }

    void drain() {
        std::array<std::byte, 4096> buf;
        auto keep = alive;
        // Bounded, so that a flood cannot starve the timers.
        for (int n = 0; n < 256 && *keep && sock.is_open(); ++n) {
            sockaddr_storage from{};
            alignas(cmsghdr) char control[256];
            iovec iov{buf.data(), buf.size()};
            msghdr msg{};
            msg.msg_name = &from;
            msg.msg_namelen = sizeof from;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            ssize_t len = ::recvmsg(sock.native_handle(), &msg, MSG_DONTWAIT);
            if (len < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    spdlog::warn("{}: receive on {}: {}", owner, ifname, std::strerror(errno));
                return;
            }
            std::span<const std::byte> packet(buf.data(), static_cast<std::size_t>(len));
            if (family == Family::V4) {
                // A raw IPv4 socket delivers the IP header: TTL and addresses come from it.
                auto ip = split_ipv4(packet);
                if (!ip) {
                    drop(Drop{DropReason::TooShort, fmt::format("{} bytes: not an IPv4 packet", len)});
                    continue;
                }
                receive(ip->payload, ip->src, ip->dst, ip->ttl, packet);
                continue;
            }
            int hops = -1;
            std::optional<IpAddress> dst;
            for (auto* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != IPPROTO_IPV6) continue;
                if (c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
                if (c->cmsg_type == IPV6_PKTINFO) {
                    in6_pktinfo pi;
                    std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
                    boost::asio::ip::address_v6::bytes_type b;
                    std::memcpy(b.data(), &pi.ipi6_addr, 16);
                    dst = boost::asio::ip::address_v6(b);
                }
            }
            if (hops < 0 || !dst) {
                drop(Drop{DropReason::BadAddress, "IPv6 packet without hop limit or destination"});
                continue;
            }
            receive(packet, from_sockaddr(from), *dst, static_cast<uint8_t>(hops), {});
        }
    }
};

Transport::Transport(boost::asio::io_context& io, std::string owner, Receiver receive, Dropper drop)
    : impl_(std::make_unique<Impl>(io, std::move(owner), std::move(receive), std::move(drop))) {}

Transport::~Transport() {
    *impl_->alive = false;
    close();
}

Result<void> Transport::open(const std::string& ifname, int ifindex, Family family, bool unicast, bool ah) {
    close();
    auto& i = *impl_;
    i.ifname = ifname;
    i.ifindex = ifindex;
    i.family = family;
    if (ah && family != Family::V4) return make_error(EAFNOSUPPORT, "{}: AH adverts are IPv4 only", i.owner);
    const int protocol = ah ? ah::kProtocol : kProtocol;
    int fd = ::socket(family == Family::V4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd < 0)
        return make_error(errno, "{}: open raw socket for protocol {}: {}", i.owner, protocol, std::strerror(errno));
    i.sock.assign(fd);
    if (auto r = i.setup(fd, unicast, ah); !r) {
        close();
        return r;
    }
    i.alive = std::make_shared<bool>(true);
    i.wait();
    return {};
}

void Transport::close() {
    auto& i = *impl_;
    *i.alive = false;
    if (i.sock.is_open()) i.sock.close();
    i.ifindex = 0;
}

bool Transport::is_open() const { return impl_->sock.is_open(); }
int Transport::ifindex() const { return impl_->sock.is_open() ? impl_->ifindex : 0; }

Result<void> Transport::send(std::span<const std::byte> bytes, const IpAddress& src, const IpAddress& dst) {
    auto& i = *impl_;
    if (!i.sock.is_open()) return make_error(ENOTCONN, "{}: no socket on {}", i.owner, i.ifname);
    iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))]{};
    sockaddr_in to4{};
    sockaddr_in6 to6{};
    msg.msg_control = control;
    if (dst.is_v4()) {
        to4.sin_family = AF_INET;
        to4.sin_addr.s_addr = htonl(dst.to_v4().to_uint());
        msg.msg_name = &to4;
        msg.msg_namelen = sizeof to4;
        msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        auto* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo pi{};
        pi.ipi_ifindex = i.ifindex;
        pi.ipi_spec_dst.s_addr = htonl(src.to_v4().to_uint());
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else {
        to6.sin6_family = AF_INET6;
        auto b = dst.to_v6().to_bytes();
        std::memcpy(&to6.sin6_addr, b.data(), 16);
        to6.sin6_scope_id = static_cast<uint32_t>(i.ifindex);
        msg.msg_name = &to6;
        msg.msg_namelen = sizeof to6;
        msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        auto* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo pi{};
        auto s = src.to_v6().to_bytes();
        std::memcpy(&pi.ipi6_addr, s.data(), 16);
        pi.ipi6_ifindex = static_cast<unsigned>(i.ifindex);
        std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    }
    if (::sendmsg(i.sock.native_handle(), &msg, 0) < 0)
        return make_error(errno, "{}: send advert to {} on {}: {}", i.owner, dst, i.ifname, std::strerror(errno));
    return {};
}

}  // namespace lvsd::vrrp::detail
