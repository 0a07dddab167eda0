// Half-open ("SYN") TCP probes for TCP_CHECK, through one raw socket per address family.
//
// What TCP_CHECK proves is that the real server's kernel completes a handshake on the
// port: a listening socket exists and its accept queue has room (a full queue drops the
// SYN). A connect() proves exactly that and no more: the application never has to call
// accept() for connect() to succeed. A SYN answered with a SYN-ACK proves the same,
// without the rest: no socket on the balancer, no established connection on the real
// server, nothing for the application to accept, log and close. So a probe sends a SYN
// from a source port the balancer holds bound (never listening, never connected); the
// SYN-ACK is read from the raw socket, and the balancer's kernel, finding no socket for
// it, answers it with RST itself, which removes the real server's half-open entry. An
// RST for the SYN means refused; nothing within connect_timeout means timeout. (The
// technique of nmap's SYN scan.) It costs two system calls per probe instead of the nine
// of a connect() probe, and on the real server a SYN queue entry instead of a socket.
//
// A classic BPF filter on each raw socket passes only SYN-ACKs and RSTs to the held
// ports, so no other traffic is copied to lvsd. (Traffic IPVS forwards is taken at
// netfilter's LOCAL_IN before raw sockets see anything.)
//
// It needs CAP_NET_RAW (the systemd unit grants it). Without it, or when the held ports
// cannot be had, the caller falls back to connect(); the reason is logged once per family.
//
// The raw sockets are opened by the first TCP probe on an io_context, in the network
// namespace of the thread running it, and serve every later probe on that io_context.
// A program that probes from several namespaces uses one io_context per namespace, or
// TcpMethod::Connect (tests do).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "healthcheck/check.hpp"
#include "healthcheck/probe.hpp"

namespace lvsd::healthcheck::detail {

class SynProber : public boost::asio::execution_context::service {
public:
    using key_type = SynProber;
    static inline boost::asio::execution_context::id id;
    using Handler = boost::asio::any_completion_handler<void(ProbeResult)>;

    explicit SynProber(boost::asio::execution_context& context);
    ~SynProber() override;

    // Whether half-open probes can go out for this family; opens the raw socket and the
    // held ports on first use, and logs once why not when they cannot be had.
    bool usable(const boost::asio::any_io_executor& executor, Family family);

    // Probes spec.address:effective_port() from spec.bindto (or the routed source).
    // usable(family_of(spec.address)) must be true. The handler runs once, never from
    // inside this call.
    template <class Token>
    auto async_probe(const CheckSpec& spec, Token&& token) {
        return boost::asio::async_initiate<Token, void(ProbeResult)>(
            [this](auto handler, const CheckSpec* s) { start(*s, Handler(std::move(handler))); }, token, &spec);
    }

    // A long-lived user (the Monitor) holds the prober between probes: its reads and
    // deadline timer then stay armed instead of being cancelled and re-armed each time
    // nothing is in flight (at 10,000 checks/s that is most probes). Without a holder,
    // nothing of the prober outlives the last probe, so io_context::run() can return.
    void hold();
    void unhold();

    // Probes in flight (for tests: zero once every handler ran).
    std::size_t in_flight() const;
    // Held source ports of a family (for tests).
    std::size_t held_ports(Family family) const;

private:
    struct Channel;
    struct Pending;
    struct FlowKey {
        std::array<uint8_t, 16> remote{};
        uint16_t remote_port = 0;
        uint16_t local_port = 0;
        uint8_t family = 0;
        friend bool operator==(const FlowKey&, const FlowKey&) = default;
    };
    struct FlowHash {
        std::size_t operator()(const FlowKey& k) const noexcept;
    };
    struct RouteKey {
        std::array<uint8_t, 16> destination{};
        std::array<uint8_t, 16> bindto{};
        uint8_t family = 0;
        bool bound = false;
        friend bool operator==(const RouteKey&, const RouteKey&) = default;
    };
    struct RouteHash {
        std::size_t operator()(const RouteKey& k) const noexcept;
    };
    struct Route {
        IpAddress source;
        std::chrono::steady_clock::time_point checked;
    };

    void shutdown() override;
    void start(const CheckSpec& spec, Handler handler);
    // The source address a connection to spec would get (cached); a failed probe when none.
    std::optional<ProbeResult> route(const CheckSpec& spec, const RouteKey& key, IpAddress& source);
    // A held port with no probe in flight to key's server; sets key.local_port.
    std::optional<uint16_t> pick_port(Channel& ch, FlowKey& key);
    bool grow_ports(Channel& ch);
    std::string attach_filter(Channel& ch);  // empty, or why not
    void arm_read(Channel& ch);
    void on_readable(Channel& ch);
    void arm_timer(std::chrono::steady_clock::time_point deadline);
    void on_timer();
    void finish(uint32_t slot, ProbeResult result);
    void release(uint32_t slot);
    void go_idle();  // cancels the reads and the timer
    void fail_soon(Handler handler, ProbeResult result, std::chrono::steady_clock::time_point started);

    std::optional<boost::asio::any_io_executor> executor_;
    std::unique_ptr<Channel> v4_, v6_;
    std::vector<Pending> slots_;
    std::vector<uint32_t> free_slots_;
    std::size_t live_ = 0;
    std::size_t holds_ = 0;
    std::unordered_map<FlowKey, uint32_t, FlowHash> flows_;
    // Deadlines in start order, one queue per timeout value (so each is sorted).
    std::map<std::chrono::milliseconds::rep, std::deque<std::pair<uint32_t, uint32_t>>> deadlines_;
    std::optional<boost::asio::steady_timer> timer_;
    std::optional<std::chrono::steady_clock::time_point> timer_at_;
    std::unordered_map<RouteKey, Route, RouteHash> routes_;
    std::size_t prune_at_ = 1024;
    std::mt19937 rng_;  // initial sequence numbers
    uint32_t next_port_ = 0;
};

}  // namespace lvsd::healthcheck::detail
