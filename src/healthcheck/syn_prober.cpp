#include "healthcheck/detail/syn_prober.hpp"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "healthcheck/detail/tcp_segment.hpp"

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

constexpr const char* kOpen = "port open (SYN-ACK)";

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

ProbeResult failure(std::string reason, bool inconclusive = false) {
    ProbeResult r{false, std::move(reason)};
    r.inconclusive = inconclusive;
    return r;
}

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t length = 0;
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

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

std::array<uint8_t, 16> bytes16(const IpAddress& a) {
    std::array<uint8_t, 16> out{};
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        std::memcpy(out.data(), b.data(), 4);
    } else {
        out = a.to_v6().to_bytes();
    }
    return out;
}

// 16 address bytes and a few more, a word at a time.
std::size_t mix(std::size_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}
std::size_t hash_address(const std::array<uint8_t, 16>& a, std::size_t h) {
    uint64_t w[2];
    std::memcpy(w, a.data(), sizeof w);
    return mix(mix(h, w[0]), w[1]);
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

}  // namespace

struct SynProber::Channel {
    explicit Channel(Family f) : family(f) {}
    Family family;
    bool tried = false;
    std::optional<asio::generic::raw_protocol::socket> socket;
    std::vector<Fd> held;         // bound, never listening: their ports are ours alone
    std::vector<uint16_t> ports;  // the port of each held socket
    bool reading = false;
    int domain() const { return family == Family::V4 ? AF_INET : AF_INET6; }
};

struct SynProber::Pending {
    uint32_t generation = 0;
    bool live = false;
    FlowKey flow;
    RouteKey route;
    uint32_t isn = 0;
    std::chrono::milliseconds::rep timeout_ms = 0;
    Clock::time_point start{};
    Clock::time_point deadline{};
    // optional: Boost 1.81's any_completion_handler move assignment recurses forever
    // (it copies from an lvalue through its converting constructor); only construct
    // and destroy it.
    std::optional<Handler> handler;
};

std::size_t SynProber::FlowHash::operator()(const FlowKey& k) const noexcept {
    return mix(hash_address(k.remote, 0),
               uint64_t{k.remote_port} << 24 | uint64_t{k.local_port} << 8 | k.family);
}

std::size_t SynProber::RouteHash::operator()(const RouteKey& k) const noexcept {
    const std::size_t h = hash_address(k.destination, 0);
    return mix(k.bound ? hash_address(k.bindto, h) : h, k.family);
}

SynProber::SynProber(asio::execution_context& context)
    : asio::execution_context::service(context),
      v4_(std::make_unique<Channel>(Family::V4)),
      v6_(std::make_unique<Channel>(Family::V6)),
      rng_(std::random_device{}()) {}

SynProber::~SynProber() = default;

void SynProber::shutdown() {
    // The io_context is going away: pending handlers are destroyed, never run (Asio's
    // rule for services), and the sockets and the timer leave the reactor before it goes.
    for (auto& p : slots_) p.handler.reset();
    slots_.clear();
    free_slots_.clear();
    flows_.clear();
    deadlines_.clear();
    live_ = 0;
    timer_.reset();
    timer_at_.reset();
    for (auto* ch : {v4_.get(), v6_.get()}) {
        ch->socket.reset();
        ch->held.clear();
        ch->ports.clear();
        ch->reading = false;
    }
}

std::size_t SynProber::in_flight() const { return live_; }

std::size_t SynProber::held_ports(Family family) const {
    return (family == Family::V4 ? v4_ : v6_)->held.size();
}

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

void SynProber::start(const CheckSpec& spec, Handler handler) {
    const Family family = family_of(spec.address);
    Channel& ch = family == Family::V4 ? *v4_ : *v6_;
    const auto started = Clock::now();

    RouteKey rk;
    rk.destination = bytes16(spec.address);
    rk.family = static_cast<uint8_t>(family);
    if (spec.bindto) {
        rk.bindto = bytes16(*spec.bindto);
        rk.bound = true;
    }
    IpAddress source;
    if (auto err = route(spec, rk, source)) return fail_soon(std::move(handler), std::move(*err), started);

    FlowKey key;
    key.remote = rk.destination;
    key.remote_port = spec.effective_port();
    key.family = rk.family;
    if (!pick_port(ch, key))
        return fail_soon(std::move(handler),
                         failure("no free source port for a half-open probe (too many probes of one server at once)",
                                 true),
                         started);

    Syn syn{source, spec.address, key.local_port, key.remote_port, static_cast<uint32_t>(rng_())};
    std::array<uint8_t, kMaxSynDatagram> buf;
    const std::size_t len = build_syn(syn, buf);
    auto dst = sockaddr_of(spec.address, 0);
    ssize_t sent;
    if (family == Family::V4) {
        sent = ::sendto(ch.socket->native_handle(), buf.data(), len, 0, dst.get(), dst.length);
    } else {
        // The source the checksum covers, chosen per packet (RFC 3542 6.1).
        iovec iov{buf.data(), len};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        msghdr msg{};
        msg.msg_name = dst.get();
        msg.msg_namelen = dst.length;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo info{};
        const auto sb = source.to_v6().to_bytes();
        std::memcpy(&info.ipi6_addr, sb.data(), 16);
        info.ipi6_ifindex = spec.address.to_v6().scope_id();
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        sent = ::sendmsg(ch.socket->native_handle(), &msg, 0);
    }
    if (sent < 0) {
        const int e = errno;
        routes_.erase(rk);
        return fail_soon(std::move(handler),
                         e == EPERM || e == ENETUNREACH || e == EHOSTUNREACH
                             ? failure(connect_failure(e))
                             : failure(fmt::format("cannot send a SYN: {}", errno_text(e)), local_shortage(e)),
                         started);
    }

    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    Pending& p = slots_[slot];
    p.live = true;
    p.flow = key;
    p.route = rk;
    p.isn = syn.sequence;
    p.timeout_ms = spec.connect_timeout.count();
    p.start = started;
    p.deadline = started + spec.connect_timeout;
    p.handler.emplace(std::move(handler));
    flows_.emplace(key, slot);
    ++live_;
    deadlines_[p.timeout_ms].emplace_back(slot, p.generation);
    arm_read(ch);
    arm_timer(p.deadline);
}

void SynProber::fail_soon(Handler handler, ProbeResult result, Clock::time_point started) {
    result.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    asio::post(*executor_, [h = std::move(handler), r = std::move(result)]() mutable { std::move(h)(std::move(r)); });
}

void SynProber::arm_read(Channel& ch) {
    if (ch.reading) return;
    ch.reading = true;
    ch.socket->async_wait(asio::socket_base::wait_read, [this, &ch](const error_code& ec) {
        ch.reading = false;
        if (!ec) on_readable(ch);
        if ((live_ > 0 || holds_ > 0) && ch.socket && !ch.reading) arm_read(ch);
    });
}

void SynProber::on_readable(Channel& ch) {
    std::array<uint8_t, 256> buf;
    for (;;) {
        if (!ch.socket) return;  // shut down by a handler
        sockaddr_in6 from{};
        socklen_t from_len = sizeof from;
        const ssize_t n = ::recvfrom(ch.socket->native_handle(), buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // EAGAIN: drained (the reactor is edge-triggered)
        }
        const std::span<const uint8_t> data(buf.data(), std::min<std::size_t>(static_cast<std::size_t>(n), buf.size()));
        std::optional<Reply> reply;
        if (ch.family == Family::V4) {
            reply = parse_reply_v4(data);
        } else {
            asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &from.sin6_addr, 16);
            reply = parse_reply_v6(asio::ip::address_v6(b, from.sin6_scope_id), data);
        }
        if (!reply || !reply->has_ack) continue;
        FlowKey key;
        key.remote = bytes16(reply->remote);
        key.remote_port = reply->remote_port;
        key.local_port = reply->local_port;
        key.family = static_cast<uint8_t>(ch.family);
        auto it = flows_.find(key);
        if (it == flows_.end()) continue;
        const uint32_t slot = it->second;
        // Only an answer to this SYN counts (RFC 9293 3.10.7.3: an acceptable ACK of
        // a SYN acknowledges ISN + 1); a stray or forged segment is ignored.
        if (reply->ack != slots_[slot].isn + 1) continue;
        finish(slot, reply->kind == Reply::Kind::SynAck ? ProbeResult{true, kOpen} : failure("connect refused"));
    }
}

void SynProber::arm_timer(Clock::time_point deadline) {
    if (timer_at_ && *timer_at_ <= deadline) return;
    timer_at_ = deadline;
    timer_->expires_at(deadline);
    timer_->async_wait([this](const error_code& ec) {
        if (ec) return;  // re-armed or cancelled; whoever did that owns timer_at_
        timer_at_.reset();
        on_timer();
    });
}

void SynProber::on_timer() {
    // Replies the kernel already queued count before any deadline is called: when the
    // loop runs late (a loaded balancer), a reply that came in time is still waiting to
    // be read, and a false DOWN would take a healthy server out of the table.
    for (auto* ch : {v4_.get(), v6_.get()})
        if (ch->socket && live_ > 0) on_readable(*ch);
    const auto now = Clock::now();
    std::vector<uint32_t> due;
    std::optional<Clock::time_point> next;
    for (auto& [timeout, queue] : deadlines_) {
        while (!queue.empty()) {
            const auto [slot, generation] = queue.front();
            const Pending& p = slots_[slot];
            if (!p.live || p.generation != generation) {
                queue.pop_front();
            } else if (p.deadline <= now) {
                due.push_back(slot);
                queue.pop_front();
            } else {
                if (!next || p.deadline < *next) next = p.deadline;
                break;
            }
        }
    }
    if (next) arm_timer(*next);
    const auto ms = [&](uint32_t slot) { return slots_[slot].timeout_ms; };
    for (uint32_t slot : due) {
        if (slot >= slots_.size() || !slots_[slot].live) continue;  // a handler above shut the service down
        finish(slot, failure(fmt::format("connect timeout after {}ms", ms(slot))));
    }
}

void SynProber::finish(uint32_t slot, ProbeResult result) {
    Pending& p = slots_[slot];
    result.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - p.start);
    // A failure may come from a stale source address: look the route up again next time.
    if (!result.ok) routes_.erase(p.route);
    Handler h(std::move(*p.handler));
    release(slot);
    std::move(h)(std::move(result));
}

void SynProber::release(uint32_t slot) {
    Pending& p = slots_[slot];
    flows_.erase(p.flow);
    p.live = false;
    ++p.generation;
    p.handler.reset();
    free_slots_.push_back(slot);
    auto& queue = deadlines_[p.timeout_ms];
    while (!queue.empty() && (!slots_[queue.front().first].live ||
                              slots_[queue.front().first].generation != queue.front().second))
        queue.pop_front();
    if (--live_ > 0) return;
    deadlines_.clear();  // only stale entries are left
    if (holds_ == 0) go_idle();
}

void SynProber::hold() { ++holds_; }

void SynProber::unhold() {
    if (holds_ > 0 && --holds_ == 0 && live_ == 0) go_idle();
}

void SynProber::go_idle() {
    // Nothing of ours may keep the io_context running (the daemon's io_context returns
    // from run() once every component has stopped).
    if (timer_at_) {
        timer_at_.reset();
        timer_->cancel();
    }
    for (auto* ch : {v4_.get(), v6_.get()})
        if (ch->reading && ch->socket) ch->socket->cancel();
}

}  // namespace lvsd::healthcheck::detail
