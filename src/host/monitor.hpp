// The one rtnetlink view of the host per process (DESIGN.md "The host is observed"):
// subscribed to link and IPv4/IPv6 address notifications, dumped in full at start and
// again whenever the kernel reports that notifications were lost (ENOBUFS) or a dump
// raced a change (NLM_F_DUMP_INTR). Every engine reads the same View; listeners hear
// about each batch of changes once the socket is drained, so a change lvsd made itself
// (a VIP added) is in the view before anyone looks again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "common/result.hpp"
#include "host/view.hpp"

namespace lvsd::host {

struct MonitorCounters {
    uint64_t messages = 0;   // decoded notifications and dump entries
    uint64_t resyncs = 0;    // full dumps after the first (ENOBUFS, NLM_F_DUMP_INTR)
    uint64_t malformed = 0;  // skipped (see rtnl_decode.hpp)
};

class Monitor {
public:
    using Listener = std::function<void(const View&)>;

    // Keeps listeners alive while held; dropping it unsubscribes.
    class Subscription {
    public:
        Subscription() = default;
        Subscription(Subscription&&) noexcept = default;
        Subscription& operator=(Subscription&&) noexcept = default;
        ~Subscription();
        void reset();

    private:
        friend class Monitor;
        struct State;
        Subscription(std::weak_ptr<State> s, uint64_t id) : state_(std::move(s)), id_(id) {}
        std::weak_ptr<State> state_;
        uint64_t id_ = 0;
    };

    // `receive_buffer`: bytes the kernel may queue for us before it drops notifications
    // and reports ENOBUFS (then the view is read again in full); tests make it small.
    explicit Monitor(boost::asio::io_context& io, int receive_buffer = 4 * 1024 * 1024);
    ~Monitor();
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    // Subscribes, then dumps links and addresses (synchronously, a few ms). Errors name
    // the netlink step that failed.
    Result<void> start();
    void stop();

    const View& view() const;
    // Called on the io_context's thread after every batch that changed the view (also
    // after a resync that changed it). Listeners may subscribe and unsubscribe others.
    [[nodiscard]] Subscription subscribe(Listener listener);
    const MonitorCounters& counters() const;

    // Re-reads everything now (tests, and lvsd when it must be sure). Listeners are told
    // when something changed.
    Result<void> resync();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One synchronous, consistent read of links and addresses, for one-shot tools
// (`lvsctl realserver`) and checks that need no subscription.
Result<View> read_view();

}  // namespace lvsd::host
