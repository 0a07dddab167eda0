#include "host/monitor.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>
#include <spdlog/spdlog.h>

#include "host/rtnl_decode.hpp"

namespace lvsd::host {
namespace {

constexpr std::size_t kReceiveBuffer = 64 * 1024;
constexpr int kDumpAttempts = 5;
constexpr std::chrono::milliseconds kResyncRetry{1000};

struct NlSocket {
    nl_sock* p = nullptr;
    ~NlSocket() {
        if (p) nl_socket_free(p);
    }
};

// Dumps one kind of object (RTM_GETLINK / RTM_GETADDR) on a socket of its own, so that
// notifications on the monitor socket never interleave with dump replies.
Result<std::vector<Change>> dump(int type, bool& interrupted) {
    NlSocket s;
    s.p = nl_socket_alloc();
    if (!s.p) return make_error(ENOMEM, "host view: dump: out of memory");
    if (int err = nl_connect(s.p, NETLINK_ROUTE); err < 0)
        return make_error(-err, "host view: dump: connect rtnetlink: {}", nl_geterror(err));
    if (int err = nl_rtgen_request(s.p, type, AF_UNSPEC, NLM_F_DUMP); err < 0)
        return make_error(-err, "host view: dump request {}: {}", type, nl_geterror(err));
    std::vector<Change> out;
    std::vector<std::byte> buf(kReceiveBuffer);
    const int fd = nl_socket_get_fd(s.p);
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        // Messages for this socket were dropped: the dump is incomplete, and repeated
        // like one that raced a change (the socket, with what is left of it, goes).
        if (n < 0 && errno == ENOBUFS) {
            interrupted = true;
            return out;
        }
        if (n < 0) return make_error(errno, "host view: read dump: {}", std::strerror(errno));
        if (n == 0) return make_error(EIO, "host view: dump ended early");
        auto d = decode(std::span(buf.data(), static_cast<std::size_t>(n)));
        if (d.error) return make_error(-*d.error, "host view: dump {}: {}", type, std::strerror(-*d.error));
        interrupted = interrupted || d.interrupted;
        for (auto& c : d.changes) out.push_back(std::move(c));
        if (d.done) return out;
    }
}

// Links, then addresses; repeated while the kernel reports a dump that raced a change
// or lost messages (ENOBUFS).
Result<View> consistent_dump() {
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
        bool interrupted = false;
        auto links = dump(RTM_GETLINK, interrupted);
        if (!links) return links.error();
        auto addrs = dump(RTM_GETADDR, interrupted);
        if (!addrs) return addrs.error();
        if (interrupted) continue;
        View v;
        for (auto& c : *links) v.apply(c);
        for (auto& c : *addrs) v.apply(c);
        return v;
    }
    return make_error(EAGAIN, "host view: the dump was interrupted {} times in a row", kDumpAttempts);
}

}  // namespace

Result<View> read_view() { return consistent_dump(); }

struct Monitor::Subscription::State {
    std::map<uint64_t, Listener> listeners;
    uint64_t next_id = 1;
};

Monitor::Subscription::~Subscription() { reset(); }

void Monitor::Subscription::reset() {
    if (auto s = state_.lock()) s->listeners.erase(id_);
    state_.reset();
}

struct Monitor::Impl {
    boost::asio::posix::stream_descriptor fd;
    NlSocket sock;
    View view;
    MonitorCounters counters;
    std::shared_ptr<Subscription::State> subs = std::make_shared<Subscription::State>();
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    std::vector<std::byte> buf = std::vector<std::byte>(kReceiveBuffer);
    bool dumped = false;
    int receive_buffer;

    boost::asio::steady_timer retry;
    bool resync_failing = false;

    Impl(boost::asio::io_context& io, int rcvbuf) : fd(io), receive_buffer(rcvbuf), retry(io) {}
    ~Impl() {
        *alive = false;
        if (fd.is_open()) {
            fd.cancel();
            fd.release();  // libnl closes it
        }
    }

    void tell() {
        // A copy: a listener may (un)subscribe while we iterate.
        auto listeners = subs->listeners;
        for (auto& [id, l] : listeners)
            if (subs->listeners.count(id)) l(view);
    }

    // A full read; true when the view changed.
    Result<bool> full_dump() {
        auto next = consistent_dump();
        if (!next) return next.error();
        counters.messages += next->links().size() + next->addresses().size();
        const bool changed = !(*next == view);
        view = std::move(*next);
        if (dumped) ++counters.resyncs;
        dumped = true;
        return changed;
    }

    // Everything queued, then one notification. On ENOBUFS the queue is discarded and
    // the view read again in full: what is queued after that is newer than the dump.
    void drain() {
        bool changed = false, lost = false;
        for (;;) {
            ssize_t n = ::recv(fd.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == ENOBUFS) {
                lost = true;
                continue;
            }
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    spdlog::warn("host view: reading rtnetlink: {}", std::strerror(errno));
                break;
            }
            if (lost) continue;  // stale: the dump below supersedes it
            auto d = decode(std::span(buf.data(), static_cast<std::size_t>(n)));
            counters.malformed += d.malformed;
            counters.messages += d.changes.size();
            for (auto& c : d.changes) changed = view.apply(c) || changed;
        }
        if (lost) {
            spdlog::warn("host view: rtnetlink notifications were lost (ENOBUFS); reading links and addresses again");
            changed = resync_or_retry() || changed;
        }
        if (changed) tell();
    }

    // A full read after lost notifications. Should it fail, the view is known to be
    // stale: it is read again every kResyncRetry until that works. True when the view
    // changed.
    bool resync_or_retry() {
        auto r = full_dump();
        if (r) {
            if (resync_failing) spdlog::info("host view: links and addresses read again");
            resync_failing = false;
            return *r;
        }
        if (!resync_failing)
            spdlog::error("{}; the view may be stale: reading again every {} ms", r.error().message,
                          kResyncRetry.count());
        resync_failing = true;
        retry.expires_after(kResyncRetry);
        retry.async_wait([this, alive = alive](const boost::system::error_code& ec) {
            if (!*alive || ec) return;
            if (resync_or_retry()) tell();
        });
        return false;
    }

    void wait() {
        fd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this, alive = alive](const boost::system::error_code& ec) {
                          if (!*alive || ec) return;
                          drain();
                          if (*alive && fd.is_open()) wait();
                      });
    }
};

Monitor::Monitor(boost::asio::io_context& io, int receive_buffer)
    : impl_(std::make_unique<Impl>(io, receive_buffer)) {}
Monitor::~Monitor() = default;

Result<void> Monitor::start() {
    auto& i = *impl_;
    if (i.sock.p) return {};
    i.sock.p = nl_socket_alloc();
    if (!i.sock.p) return make_error(ENOMEM, "host view: out of memory");
    nl_socket_disable_seq_check(i.sock.p);
    if (int err = nl_connect(i.sock.p, NETLINK_ROUTE); err < 0)
        return make_error(-err, "host view: connect rtnetlink: {}", nl_geterror(err));
    if (int err = nl_socket_add_memberships(i.sock.p, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
        err < 0)
        return make_error(-err, "host view: join the link and address groups: {}", nl_geterror(err));
    // Room for a burst (a tool re-creating hundreds of links). Best effort: without the
    // privilege to force it, the capped size, and ENOBUFS resyncs when that overflows.
    const int rcvbuf = i.receive_buffer;
    if (::setsockopt(nl_socket_get_fd(i.sock.p), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        nl_socket_set_buffer_size(i.sock.p, rcvbuf, 0);
    nl_socket_set_nonblocking(i.sock.p);
    // Subscribed before the dump, so nothing that happens during it is missed.
    if (auto r = i.full_dump(); !r) return r.error();
    i.fd.assign(nl_socket_get_fd(i.sock.p));
    i.wait();
    return {};
}

void Monitor::stop() {
    if (impl_->fd.is_open()) impl_->fd.cancel();
    impl_->retry.cancel();
    *impl_->alive = false;
    impl_->alive = std::make_shared<bool>(true);
}

const View& Monitor::view() const { return impl_->view; }
const MonitorCounters& Monitor::counters() const { return impl_->counters; }

Monitor::Subscription Monitor::subscribe(Listener listener) {
    auto& s = *impl_->subs;
    const uint64_t id = s.next_id++;
    s.listeners.emplace(id, std::move(listener));
    return Subscription(impl_->subs, id);
}

Result<void> Monitor::resync() {
    auto r = impl_->full_dump();
    if (!r) return r.error();
    if (*r) impl_->tell();
    return {};
}

}  // namespace lvsd::host
