// The ECMP scenario's configuration texts (BIRD on the router and the balancers, lvsd on
// the balancers) and its view of the router's FIB: `ip -ts -o monitor route` in the
// router's namespace, one process for the whole run, every change of the VIP's route
// kept with the kernel's report time.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/netns_lab.hpp"

namespace lvsd::ecmp {

inline constexpr const char* kVip = "192.0.2.10";
inline constexpr int kPort = 8080;
// The fabric is the network of etc/bird-lvsd.conf and etc/bird-router-example.conf (router
// 198.51.100.254, balancers .1, .2, .3), so that the shipped files run nearly as they are.
inline constexpr const char* kRouterFabric = "198.51.100.254";
inline constexpr const char* kRouterClient = "203.0.113.1";
inline constexpr const char* kClient = "203.0.113.2";

inline std::string lb_addr(int i) { return "198.51.100." + std::to_string(1 + i); }
inline std::string rs_addr(int i) { return "198.51.100." + std::to_string(21 + i); }
// The router's BGP session with balancer i, as etc/bird-router-example.conf names it.
inline std::string router_session(int i) { return "lb" + std::to_string(i + 1) + "_4"; }

// Seconds since local midnight of "HH:MM:SS.frac" found at `pos` in `text`; nullopt if
// there is none. lvsd's log lines and `ip -ts` both stamp local time: comparable.
std::optional<double> time_of_day(const std::string& text, std::size_t pos = 0);
double time_of_day_now();
// later - earlier, both from time_of_day(), across midnight too (for spans under 12 h).
inline double tod_delta(double later, double earlier) {
    const double d = later - earlier;
    return d < -43200 ? d + 86400 : d;
}

struct BfdTimers {
    std::chrono::milliseconds interval;
    int multiplier;
};

// etc/bird-router-example.conf and etc/bird-lvsd.conf (under `source_dir`) adapted to the
// lab: log to stderr, the balancer's router id, the scenario's BFD timers, IPv4 only (the
// lab has no IPv6 sessions), and short BGP reconnect timers (BIRD waits `error wait time`,
// 60 s by default, before it reconnects after BFD took a session down). Throws
// std::runtime_error when a file no longer has what is adapted.
std::string bird_router_conf(const std::string& source_dir, BfdTimers bfd);
std::string bird_balancer_conf(const std::string& source_dir, int index, BfdTimers bfd);
// lvsd on balancer `index`: one announced DR service on the VIP, mh with mh-port, the
// real servers in one order, TCP_CHECK every second, announced (`announce = true;`) with
// lvsd's default table and protocol; `bird_socket`: that balancer's BIRD.
std::string lvsd_conf(int index, int real_servers, const std::string& socket, const std::string& bird_socket);

// One change of the VIP's route in the router's FIB.
struct RouteEvent {
    double tod = 0;                   // the kernel's report, seconds since midnight (ip -ts)
    std::chrono::steady_clock::time_point seen;  // when the scenario read it
    std::set<std::string> next_hops;  // empty: no route
    std::string line;
};

class RouteLog {
public:
    RouteLog(const lvsd::testing::Lab& lab, const std::string& ns, const std::string& prefix);
    // Reads what `ip monitor` printed since the last call.
    void update();
    std::set<std::string> next_hops();  // now (update()d)
    std::vector<RouteEvent> events();   // all so far (update()d)
    // The first event at or after index `from` for which `pred` holds.
    std::optional<RouteEvent> first_since(std::size_t from, const std::function<bool(const RouteEvent&)>& pred);
    std::size_t size();
    std::string output() const { return process_.output(); }

private:
    lvsd::testing::Process process_;
    std::string prefix_;
    std::size_t seen_ = 0;
    std::vector<RouteEvent> events_;
};

}  // namespace lvsd::ecmp
