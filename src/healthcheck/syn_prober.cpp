// The SYN prober's probes in flight: a SYN out, then the reply or the deadline decides
// (the sockets they use are syn_prober_socket.cpp's).
#include "healthcheck/detail/syn_prober.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>

#include "healthcheck/detail/syn_socket.hpp"
#include "healthcheck/detail/tcp_segment.hpp"

namespace lvsd::healthcheck::detail {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using namespace syn;

namespace {

constexpr const char* kOpen = "port open (SYN-ACK)";

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


}  // namespace

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