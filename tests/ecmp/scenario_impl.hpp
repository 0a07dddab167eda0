// The ECMP scenario's implementation, shared by scenario.cpp (the lab, bookkeeping, the
// run) and steps.cpp (the events it drives); not for use outside tests/ecmp.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "ecmp/fabric.hpp"
#include "ecmp/flows.hpp"
#include "ecmp/scenario.hpp"
#include "support/netns_lab.hpp"

namespace lvsd::ecmp::detail {

namespace lt = lvsd::testing;
using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;


constexpr int kBalancers = 3;
constexpr int kRealServers = 3;
// How long the flows run after a change before they are counted: every flow sends a
// request at least twice in it, so each has crossed the new path.
constexpr auto kSettle = 3s;
// A flow whose answer takes longer than this is counted as stalled (and reopened).
constexpr auto kStall = 5s;

struct Aborted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void write_file(const std::string& path, const std::string& text);
std::string slurp(const std::string& path);
std::string hops_str(const std::set<std::string>& hops);  // "a, b" or "(no route)"
std::string lb(int i);                                     // 0 -> "lb1"
// "198.51.100.21", 8080 -> "C6336415:1F90", as /proc/net/ip_vs writes a destination.
std::string proc_endpoint(const std::string& addr, int port);

// Runs `fn` on a short-lived thread inside namespace `netns` (full name).
template <class Fn>
auto in_netns(const std::string& netns, Fn fn) -> decltype(fn()) {
    decltype(fn()) result{};
    std::string error;
    std::thread([&] {
        const int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
            error = fmt::format("cannot enter {}: {}", netns, std::strerror(errno));
        } else {
            result = fn();
        }
        if (fd >= 0) ::close(fd);
    }).join();
    if (!error.empty()) throw Aborted(error);
    return result;
}

class Scenario {
public:
    explicit Scenario(const Options& o) : opt_(o), t0_(Clock::now()) {}
    ~Scenario() { stop_all(); }
    Report run();

private:
    // ---- narration and bookkeeping
    Seconds now() const { return std::chrono::duration_cast<Seconds>(Clock::now() - t0_); }
    void say(const std::string& text);
    void step(const std::string& name);
    bool check(bool ok, const std::string& what, const std::string& detail = "");
    void measured(const std::string& what, const std::string& value);

    // Fails the scenario at once when a process it relies on died.
    void tick();

    template <class Pred>
    bool wait(Pred pred, Seconds timeout) {
        const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
        while (!pred()) {
            if (Clock::now() >= until) return false;
            tick();
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }
    void pause(Seconds d) { wait([] { return false; }, d); }
    std::string logs() const;

    // ---- the lab
    std::string ns(const std::string& name) const { return lab_->netns_name(name); }
    void batch(const std::string& name, const std::string& commands);

    // A sysctl in a namespace, written by a thread in it (no process under TCG).
    void sysctl(const std::string& name, const std::string& key, const std::string& value);

    // A link up or down by a thread in the namespace: the time of the change is the time
    // of the call, not of a process start.
    void set_link(const std::string& name, const std::string& ifname, bool up);
    std::string read_in(const std::string& name, const std::string& path);

    // Connections IPVS scheduled in a balancer so far (/proc/net/ip_vs_stats, first field).
    unsigned long ipvs_conns(int i);
    void setup();
    void start_bird(int i);
    void start_lvsd(int i);
    lt::RunResult lvsctl(int i, const std::vector<std::string>& args);

    // ---- flows
    void start_flows();

    // Counts the flows of the current phase: none may break, and each must have been
    // answered since `since`.
    void settled(const std::string& what, Clock::time_point since = {});

    // Waits for the router's FIB to have (`present`) or lack balancer i as next hop; the
    // time from `t` (steady) to the event that did it, or nullopt.
    std::optional<RouteEvent> route_change(std::size_t from, int i, bool present, Seconds timeout);

    // Connections every balancer's IPVS has scheduled so far.
    std::vector<unsigned long> scheduled();

    // A step that moved flows proves something only if the balancers they moved to
    // scheduled them mid-connection: the pool opened no connection in the step, so every
    // connection IPVS scheduled meanwhile is one of them.
    void mid_flow(const std::vector<unsigned long>& before, const std::string& what);

    // ---- steps
    void drain(int i);
    void undrain(int i);
    void drain_and_return();

    // The same drain with sloppy_tcp=0 on the other balancers: the flows they get
    // mid-connection are not scheduled but reset by their stack, so the checks above can fail.
    void negative_control(int d);

    // Balancer i loses its real servers (a firewall between it and them rejects its health
    // checks; client traffic it forwards is not touched): lvsd's verdict (quorum lost)
    // withdraws the route; the router drops the next hop within 1 s of the verdict.
    void all_real_servers_fail(int i, int run);
    void bird_crash(int i);

    // The balancer's link to the fabric is cut (its bridge port down): no FIN, no
    // notification, only BFD's silence tells the router.
    void link_cut(int i);
    void lvsd_restart(int i);

    // A planned restart (systemctl restart: SIGTERM, then a new lvsd): the stopping lvsd
    // withdraws its routes, the new one announces them once its checks have a verdict.
    // The flows move away and back like in a drain.
    void lvsd_stop_start(int i);
    void stop_all();
    void finish();

    Options opt_;
    Clock::time_point t0_;
    Report report_;
    std::string step_ = "setup";
    std::unique_ptr<lt::Lab> lab_;
    std::string dir_;
    std::string socket_[kBalancers];
    std::unique_ptr<lt::Process> lvsd_[kBalancers], bird_[kBalancers], router_bird_;
    bool lvsd_up_[kBalancers] = {}, bird_up_[kBalancers] = {};
    std::vector<std::unique_ptr<HttpServer>> servers_;
    std::unique_ptr<RouteLog> routes_;
    std::unique_ptr<FlowPool> flows_;
    long withdraw_resets_ = 0;
};

}  // namespace lvsd::ecmp::detail
