// BIRD, as lvsd sees it through its control socket (issue 14): a poller on the main
// io_context that keeps the last BirdView, pure renderers for `lvsctl status`, its JSON
// and the metrics, and the wait behind `lvsctl drain --balancer --wait`.
//
// Entry points for the daemon:
//   BirdWatch watch(io, announce.bird_socket);      // config::Announce, global_defs
//   watch.start();                                   // polls every 2 s until stop()
//   bird_status_lines(watch.state())                 // lvsctl status
//   bird_status_json(watch.state())                  // lvsctl status --json, "bird" member
//   bird_metrics(watch.state())                      // appended to the metrics scrape
//   co_await watch.wait_until_withdrawn(vips, 30s)   // drain --balancer --wait
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "announce/bird_client.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::daemon {

struct BirdWatchState {
    std::string socket;                       // the control socket's path
    std::optional<announce::BirdView> view;   // the last successful read; unset before one
    std::optional<std::string> error;         // the last read's error; unset when it succeeded
    std::chrono::steady_clock::time_point read_at{};  // when the last read ended
    uint64_t reads = 0;     // reads done, failed ones included
    uint64_t failures = 0;  // reads that failed
    bool up() const { return view.has_value() && !error.has_value(); }
};

// `lvsctl status` lines, e.g.
//   BIRD 2.0.12 at /run/bird/bird.ctl: up
//     router4 BGP up Established, exports 192.0.2.10/32
//     bfd 198.51.100.254 on eth0 Up (detection 0.300 s)
// or "BIRD at /run/bird/bird.ctl: unreachable: <error>" (with the last exports seen).
std::vector<std::string> bird_status_lines(const BirdWatchState& s);
// One JSON object, no newline: {"socket","up","error","version","protocols":[{name,proto,
// table,state,info,exported:[...]}],"bfd":[{protocol,address,interface,state,interval_s,
// timeout_s}]}.
std::string bird_status_json(const BirdWatchState& s);
// Prometheus text-format families (HELP and TYPE included):
//   lvsd_bird_up                                   1 when the last read succeeded
//   lvsd_bird_protocol_up{name,proto}              1 when up (a BGP session: Established)
//   lvsd_bird_exported_route{protocol,prefix}      1 per network a BGP protocol exports
//   lvsd_bird_bfd_session_up{address,interface}    1 when the BFD session is Up
// Protocol and route samples are of the last successful read; none before one.
std::string bird_metrics(const BirdWatchState& s);

// The members of `prefixes` that some BGP protocol in `view` still exports.
std::vector<Prefix> still_exported(const announce::BirdView& view, const std::vector<Prefix>& prefixes);

class BirdWatch {
public:
    // interval: between the end of a read and the next; timeout: per read (steady clock).
    BirdWatch(boost::asio::io_context& io, std::string socket_path,
              std::chrono::milliseconds interval = std::chrono::seconds(2),
              std::chrono::milliseconds timeout = std::chrono::seconds(1));
    ~BirdWatch();  // stop()
    BirdWatch(const BirdWatch&) = delete;
    BirdWatch& operator=(const BirdWatch&) = delete;

    void start();  // the first read at once, then every interval
    void stop();   // no read starts after this; one under way ends within its timeout
    const BirdWatchState& state() const;

    // Reads BIRD every 100 ms (updating state()) until no BGP protocol exports any of
    // `prefixes` (-> ok), or `timeout` has passed (-> ETIMEDOUT, naming what is still
    // exported and where). A BIRD that cannot be read counts as not yet withdrawn.
    boost::asio::awaitable<Result<void>> wait_until_withdrawn(std::vector<Prefix> prefixes,
                                                              std::chrono::milliseconds timeout);

    struct Inner;

private:
    boost::asio::io_context& io_;
    std::shared_ptr<Inner> inner_;
};

}  // namespace lvsd::daemon
