// The SYN prober's sockets: a raw TCP socket per address family with its BPF filter,
// the source ports it holds, and the source address each probe goes out from.
#include "healthcheck/detail/syn_socket.hpp"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace lvsd::healthcheck::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A route (hence the source address) is looked up again after this long, and at once
// after any failed probe, so that a renumbered balancer never probes from a stale source
// for long; in between, a probe costs no lookup.
constexpr auto kRouteTtl = 10s;
// Held source ports per family: a probe needs a port not already in flight to the same
// real server; the BPF filter lists them all.
constexpr std::size_t kInitialPorts = 4;
constexpr std::size_t kMaxPorts = 64;

}  // namespace

namespace syn {

std::string errno_text(int e) { return error_code(e, boost::system::system_category()).message(); }

const char* family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

// Failures of this host rather than of the real server (see ProbeResult::inconclusive).
bool local_shortage(int e) {
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM || e == EAGAIN || e == EADDRNOTAVAIL;
}

// The same reasons the connect() probe gives (probe.cpp), so that a log reads the same.
std::string connect_failure(int e) {
    if (e == ECONNREFUSED) return "connect refused";
    if (e == EHOSTUNREACH) return "host unreachable";
    if (e == ENETUNREACH) return "network unreachable";
    return fmt::format("connect failed: {}", errno_text(e));
}

ProbeResult failure(std::string reason, bool inconclusive) {
    ProbeResult r{false, std::move(reason)};
    r.inconclusive = inconclusive;
    return r;
}

SockAddr sockaddr_of(const IpAddress& a, uint16_t port) {
    SockAddr s;
    if (a.is_v4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&s.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        const auto b = a.to_v4().to_bytes();
        std::memcpy(&in->sin_addr, b.data(), 4);
        s.length = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const auto b = a.to_v6().to_bytes();
        std::memcpy(&in6->sin6_addr, b.data(), 16);
        in6->sin6_scope_id = a.to_v6().scope_id();
        s.length = sizeof(sockaddr_in6);
    }
    return s;
}

}  // namespace syn

using namespace syn;

bool SynProber::usable(const asio::any_io_executor& executor, Family family) {
    Channel& ch = family == Family::V4 ? *v4_ : *v6_;
    if (ch.tried) return ch.socket.has_value();
    ch.tried = true;
    if (!executor_) executor_ = executor;

    auto give_up = [&](const std::string& why) {
        spdlog::warn("TCP_CHECK: half-open probes unavailable for {} ({}); TCP checks connect() instead",
                     family_name(family), why);
        ch.socket.reset();
        ch.held.clear();
        ch.ports.clear();
        return false;
    };
    Fd fd(::socket(ch.domain(), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
    if (fd.get() < 0) {
        const int e = errno;
        return give_up(fmt::format("cannot open a raw socket: {}{}", errno_text(e),
                                   e == EPERM || e == EACCES ? ", lvsd needs CAP_NET_RAW" : ""));
    }
    const int one = 1;
    if (family == Family::V4 && ::setsockopt(fd.get(), IPPROTO_IP, IP_HDRINCL, &one, sizeof one) != 0)
        return give_up(fmt::format("IP_HDRINCL: {}", errno_text(errno)));
    // Room for the replies of every probe in flight: a queued reply costs about 1 KB of
    // buffer, and a reply the queue drops is a probe that times out. rmem_max (208 KB by
    // default, ~400 replies) would cap SO_RCVBUF; lvsd has CAP_NET_ADMIN for the FORCE
    // variant. The filter keeps everything else out, so this is only used under a burst.
    const int rcvbuf = 16 << 20;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    for (std::size_t i = 0; i < kInitialPorts; ++i)
        if (!grow_ports(ch)) return give_up(fmt::format("cannot hold a source port: {}", errno_text(errno)));
    error_code ec;
    ch.socket.emplace(executor);
    ch.socket->assign(asio::generic::raw_protocol(ch.domain(), IPPROTO_TCP), fd.get(), ec);
    if (ec) return give_up(fmt::format("cannot register the raw socket: {}", ec.message()));
    fd.release();
    if (auto why = attach_filter(ch); !why.empty()) return give_up(why);
    if (!timer_) timer_.emplace(executor);
    spdlog::debug("TCP_CHECK: half-open probes for {} from {} held ports", family_name(family), ch.ports.size());
    return true;
}

bool SynProber::grow_ports(Channel& ch) {
    if (ch.held.size() >= kMaxPorts) return false;
    Fd fd(::socket(ch.domain(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    if (fd.get() < 0) return false;
    const int one = 1;
    if (ch.family == Family::V6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        return false;
    // The wildcard address holds the port on every local address, so a SYN-ACK to it
    // (whatever the source the probe used) finds no socket and gets the kernel's RST.
    auto any = sockaddr_of(ch.family == Family::V4 ? IpAddress(asio::ip::address_v4::any())
                                                   : IpAddress(asio::ip::address_v6::any()),
                           0);
    if (::bind(fd.get(), any.get(), any.length) != 0) return false;
    SockAddr bound;
    bound.length = sizeof bound.storage;
    if (::getsockname(fd.get(), bound.get(), &bound.length) != 0) return false;
    const uint16_t port = ntohs(ch.family == Family::V4 ? reinterpret_cast<sockaddr_in*>(&bound.storage)->sin_port
                                                        : reinterpret_cast<sockaddr_in6*>(&bound.storage)->sin6_port);
    ch.held.push_back(std::move(fd));
    ch.ports.push_back(port);
    return true;
}

// Classic BPF: pass a TCP segment only when it goes to a held port and is a SYN-ACK or
// carries RST; drop IPv4 fragments after the first (no TCP header). An IPv4 raw socket
// sees the IP header first; an IPv6 one the TCP header.
std::string SynProber::attach_filter(Channel& ch) {
    std::vector<sock_filter> prog;
    const auto n = static_cast<uint8_t>(ch.ports.size());
    if (ch.family == Family::V4) {
        prog.push_back(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));      // X = IP header length
        prog.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6));       // flags + fragment offset
        prog.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, static_cast<uint8_t>(n + 7), 0));
    } else {
        prog.push_back(BPF_STMT(BPF_LDX | BPF_IMM, 0));
    }
    prog.push_back(BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2));  // destination port
    for (uint8_t i = 0; i < n; ++i)
        prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ch.ports[i], static_cast<uint8_t>(n - i), 0));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
    prog.push_back(BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13));  // TCP flags
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x04, 2, 0));  // RST
    prog.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x12, 0, 1));  // SYN+ACK
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, 256));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    if (::setsockopt(ch.socket->native_handle(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
        return fmt::format("SO_ATTACH_FILTER: {}", errno_text(errno));
    return {};
}

std::optional<ProbeResult> SynProber::route(const CheckSpec& spec, const RouteKey& key, IpAddress& source) {
    const auto now = Clock::now();
    if (auto it = routes_.find(key); it != routes_.end() && now - it->second.checked < kRouteTtl) {
        source = it->second.source;
        return std::nullopt;
    }
    // What connect() would choose: a connected UDP socket is routed but sends nothing.
    const int domain = spec.address.is_v4() ? AF_INET : AF_INET6;
    Fd fd(::socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        const int e = errno;
        return failure(fmt::format("cannot open a socket: {}", errno_text(e)), local_shortage(e));
    }
    if (spec.bindto) {
        auto b = sockaddr_of(*spec.bindto, 0);
        if (::bind(fd.get(), b.get(), b.length) != 0)
            return failure(fmt::format("cannot bind to {}: {}", *spec.bindto, errno_text(errno)));
    }
    auto d = sockaddr_of(spec.address, spec.effective_port());
    if (::connect(fd.get(), d.get(), d.length) != 0) {
        const int e = errno;
        return failure(connect_failure(e), local_shortage(e));
    }
    SockAddr local;
    local.length = sizeof local.storage;
    if (::getsockname(fd.get(), local.get(), &local.length) != 0) {
        const int e = errno;
        return failure(fmt::format("cannot learn the source address: {}", errno_text(e)), true);
    }
    if (domain == AF_INET) {
        asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(&local.storage)->sin_addr, 4);
        source = asio::ip::address_v4(b);
    } else {
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_addr, 16);
        source = asio::ip::address_v6(b);
    }
    routes_[key] = Route{source, now};
    // Servers that left the configuration leave their routes behind: sweep the stale
    // ones whenever the cache has doubled (live checks refresh theirs every kRouteTtl).
    if (routes_.size() >= prune_at_) {
        std::erase_if(routes_, [&](const auto& kv) { return now - kv.second.checked >= kRouteTtl; });
        prune_at_ = std::max<std::size_t>(1024, 2 * routes_.size());
    }
    return std::nullopt;
}

std::optional<uint16_t> SynProber::pick_port(Channel& ch, FlowKey& key) {
    // Rotate the starting point so that consecutive probes of one server do not reuse
    // one 4-tuple back to back.
    const std::size_t n = ch.ports.size();
    const std::size_t first = next_port_++ % n;
    for (std::size_t i = 0; i < n; ++i) {
        key.local_port = ch.ports[(first + i) % n];
        if (!flows_.contains(key)) return key.local_port;
    }
    // Every held port is in flight to this very server: hold one more.
    if (!grow_ports(ch) || !attach_filter(ch).empty()) return std::nullopt;
    key.local_port = ch.ports.back();
    return key.local_port;
}

}  // namespace lvsd::healthcheck::detail
