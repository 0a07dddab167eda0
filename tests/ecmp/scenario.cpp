#include "ecmp/scenario.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "ecmp/fabric.hpp"
#include "support/netns_lab.hpp"

namespace lvsd::ecmp {

namespace lt = lvsd::testing;
using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

namespace {

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

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw Aborted(fmt::format("cannot write {}", path));
}

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

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string hops_str(const std::set<std::string>& hops) {
    std::string s;
    for (const auto& h : hops) s += (s.empty() ? "" : ", ") + h;
    return s.empty() ? "(no route)" : s;
}

std::string lb(int i) { return "lb" + std::to_string(i + 1); }

// "198.51.100.21", 8080 -> "C6336415:1F90", as /proc/net/ip_vs writes a destination.
std::string proc_endpoint(const std::string& addr, int port) {
    in_addr a{};
    ::inet_pton(AF_INET, addr.c_str(), &a);
    return fmt::format("{:08X}:{:04X}", ntohl(a.s_addr), port);
}

class Scenario {
public:
    explicit Scenario(const Options& o) : opt_(o), t0_(Clock::now()) {}
    ~Scenario() { stop_all(); }

    Report run() {
        try {
            setup();
            start_flows();
            // The order matters for the two drains: lb1's flows have never been seen by
            // lb2 and lb3 when lb1 is drained first, and lb3's flows (which stayed on lb3
            // meanwhile) have never been seen by lb1 and lb2 when lb3 is drained in the
            // negative control: each drain moves flows to balancers without a connection
            // entry for them, which is what sloppy_tcp is about.
            drain_and_return();
            negative_control(2);
            for (int r = 0; r < opt_.withdraw_runs; ++r) all_real_servers_fail(2, r);
            bird_crash(1);
            link_cut(1);
            lvsd_restart(0);
            report_.completed = true;
        } catch (const std::exception& e) {
            report_.aborted = e.what();
            check(false, "the scenario ran to its end", e.what() + logs());
        }
        finish();
        return report_;
    }

private:
    // ---- narration and bookkeeping

    Seconds now() const { return std::chrono::duration_cast<Seconds>(Clock::now() - t0_); }

    void say(const std::string& text) {
        if (opt_.out) *opt_.out << fmt::format("[+{:7.2f}s] {}\n", now().count(), text) << std::flush;
    }

    void step(const std::string& name) {
        step_ = name;
        if (flows_) flows_->phase(name);
        say("== " + name);
    }

    bool check(bool ok, const std::string& what, const std::string& detail = "") {
        report_.checks.push_back({step_, what, ok, detail});
        say(fmt::format("   {} {}{}", ok ? "ok:    " : "FAILED:", what, detail.empty() ? "" : " -- " + detail));
        return ok;
    }

    void measured(const std::string& what, const std::string& value) {
        report_.measured.emplace_back(what, value);
        say("   measured: " + what + ": " + value);
    }

    // Fails the scenario at once when a process it relies on died.
    void tick() {
        for (int i = 0; i < kBalancers; ++i) {
            if (lvsd_[i] && lvsd_up_[i] && !lvsd_[i]->running())
                throw Aborted(fmt::format("lvsd on {} exited with status {}", lb(i), lvsd_[i]->status()));
            if (bird_[i] && bird_up_[i] && !bird_[i]->running())
                throw Aborted(fmt::format("BIRD on {} exited: {}", lb(i), bird_[i]->output()));
        }
        if (router_bird_ && !router_bird_->running())
            throw Aborted("BIRD on the router exited: " + router_bird_->output());
    }

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

    std::string logs() const {
        std::string s;
        auto tail = [](std::string t) { return t.size() > 2500 ? "..." + t.substr(t.size() - 2500) : t; };
        for (int i = 0; i < kBalancers; ++i)
            if (lvsd_[i]) s += fmt::format("\n--- lvsd on {}:\n{}", lb(i), tail(lvsd_[i]->output()));
        if (router_bird_) s += "\n--- BIRD on the router:\n" + tail(router_bird_->output());
        if (routes_) s += "\n--- ip monitor route on the router:\n" + tail(routes_->output());
        return s;
    }

    // ---- the lab

    std::string ns(const std::string& name) const { return lab_->netns_name(name); }

    void batch(const std::string& name, const std::string& commands) {
        write_file(dir_ + "/" + name + ".batch", commands);
        lab_->ip(name, "-batch " + dir_ + "/" + name + ".batch");
    }

    // A sysctl in a namespace, written by a thread in it (no process under TCG).
    void sysctl(const std::string& name, const std::string& key, const std::string& value) {
        std::string path = "/proc/sys/" + key;
        std::replace(path.begin() + 10, path.end(), '.', '/');
        const bool ok = in_netns(ns(name), [&] {
            std::ofstream f(path);
            f << value;
            return static_cast<bool>(f.flush());
        });
        if (!ok) throw Aborted(fmt::format("cannot set {} = {} in {}", key, value, name));
    }

    // A link up or down by a thread in the namespace: the time of the change is the time
    // of the call, not of a process start.
    void set_link(const std::string& name, const std::string& ifname, bool up) {
        const bool ok = in_netns(ns(name), [&] {
            const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            ifreq ifr{};
            std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname.c_str());
            bool done = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
            if (done) {
                ifr.ifr_flags = static_cast<short>(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
                done = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
            }
            ::close(fd);
            return done;
        });
        if (!ok) throw Aborted(fmt::format("cannot set {} {} in {}", ifname, up ? "up" : "down", name));
    }

    std::string read_in(const std::string& name, const std::string& path) {
        return in_netns(ns(name), [&] { return slurp(path); });
    }

    // Connections IPVS scheduled in a balancer so far (/proc/net/ip_vs_stats, first field).
    unsigned long ipvs_conns(int i) {
        const auto s = read_in(lb(i), "/proc/thread-self/net/ip_vs_stats");
        std::smatch m;
        if (!std::regex_search(s, m, std::regex("\\n\\s*([0-9A-Fa-f]+)\\s"))) return 0;
        return std::stoul(m[1], nullptr, 16);
    }

    void setup() {
        say(fmt::format("setting up: client, router, fabric bridge, {} balancers (lvsd + BIRD), {} real servers; "
                        "VIP {}:{}, BFD {} ms x {}",
                        kBalancers, kRealServers, kVip, kPort, opt_.bfd_interval.count(), opt_.bfd_multiplier));
        lab_ = std::make_unique<lt::Lab>();
        dir_ = "/tmp/" + lab_->prefix() + "ecmp";
        std::filesystem::create_directories(dir_);
        ::chmod(dir_.c_str(), 0700);
        for (const char* n : {"sw", "client", "router"}) lab_->netns(n);
        for (int i = 0; i < kBalancers; ++i) lab_->netns(lb(i));
        for (int i = 0; i < kRealServers; ++i) lab_->netns("rs" + std::to_string(i + 1));

        // One `ip -batch` per namespace: under TCG each exec costs most of a second.
        std::string sw = "link add br0 type bridge stp_state 0 forward_delay 0\nlink set br0 up\n";
        auto port = [&](const std::string& host, const std::string& ifname) {
            sw += fmt::format("link add {}-p type veth peer name {} netns {}\nlink set {}-p master br0 up\n", host,
                              ifname, ns(host), host);
        };
        port("router", "eth1");
        for (int i = 0; i < kBalancers; ++i) port(lb(i), "eth0");
        for (int i = 0; i < kRealServers; ++i) port("rs" + std::to_string(i + 1), "eth0");
        sw += fmt::format("link add c-r type veth peer name eth0 netns {}\nlink set c-r netns {}\n", ns("client"),
                          ns("router"));
        batch("sw", sw);
        batch("client", fmt::format("link set eth0 up\naddress add {}/24 dev eth0\nroute add default via {}\n", kClient,
                                    kRouterClient));
        batch("router", fmt::format("link set c-r name eth0\nlink set eth0 up\naddress add {}/24 dev eth0\n"
                                    "link set eth1 up\naddress add {}/24 dev eth1\n",
                                    kRouterClient, kRouterFabric));
        sysctl("router", "net.ipv4.ip_forward", "1");
        sysctl("router", "net.ipv4.fib_multipath_hash_policy", "1");
        for (int i = 0; i < kBalancers; ++i)
            // lvsd makes the VIP a local address (on announce_interface, lo), so that
            // IPVS sees its packets. The default route is the router, as for any host: the balancer's own answers
            // (a reset from its stack, in the negative control) reach the client.
            batch(lb(i), fmt::format("link set eth0 up\naddress add {}/24 dev eth0\nroute add default via {}\n",
                                     lb_addr(i), kRouterFabric));
        for (int i = 0; i < kRealServers; ++i) {
            const std::string n = "rs" + std::to_string(i + 1);
            // DR: the VIP on lo, never answered for by ARP; replies go straight to the router.
            sysctl(n, "net.ipv4.conf.all.arp_ignore", "1");
            sysctl(n, "net.ipv4.conf.all.arp_announce", "2");
            batch(n, fmt::format("link set eth0 up\naddress add {}/24 dev eth0\naddress add {}/32 dev lo\n"
                                 "route add default via {}\n",
                                 rs_addr(i), kVip, kRouterFabric));
            servers_.push_back(std::make_unique<HttpServer>(ns(n), n, kPort));
        }

        routes_ = std::make_unique<RouteLog>(*lab_, "router", kVip);
        const BfdTimers bfd{opt_.bfd_interval, opt_.bfd_multiplier};
        write_file(dir_ + "/router.bird.conf", bird_router_conf(opt_.source_dir, bfd));
        router_bird_ = std::make_unique<lt::Process>(lab_->spawn(
            "router", {"bird", "-f", "-c", dir_ + "/router.bird.conf", "-s", dir_ + "/router.bird.ctl", "-P",
                       dir_ + "/router.bird.pid"}));
        for (int i = 0; i < kBalancers; ++i) {
            write_file(dir_ + "/" + lb(i) + ".bird.conf", bird_balancer_conf(opt_.source_dir, i, bfd));
            start_bird(i);
            socket_[i] = dir_ + "/" + lb(i) + ".sock";
            write_file(dir_ + "/" + lb(i) + ".conf",
                       lvsd_conf(i, kRealServers, socket_[i], dir_ + "/" + lb(i) + ".bird.ctl"));
            start_lvsd(i);
        }
        const auto t = Clock::now();
        // The IPVS table first: with announce, lvsd announces only a service with quorum.
        const bool tables = wait([&] {
            for (int i = 0; i < kBalancers; ++i) {
                const auto s = read_in(lb(i), "/proc/thread-self/net/ip_vs");
                for (int r = 0; r < kRealServers; ++r)
                    if (s.find("-> " + proc_endpoint(rs_addr(r), kPort)) == std::string::npos) return false;
            }
            return true;
        }, 60s);
        if (!check(tables, "every balancer's IPVS table holds the service with all real servers", logs()))
            throw Aborted("the balancers did not come up");
        const bool three = wait([&] { return routes_->next_hops().size() == kBalancers; }, 60s);
        check(three, fmt::format("the router's FIB has the VIP with {} next hops", kBalancers),
              fmt::format("after {:.2f} s: {}", Seconds(Clock::now() - t).count(), hops_str(routes_->next_hops())));
        if (!three) throw Aborted("the VIP is not announced by every balancer" + logs());
        for (int i = 0; i < kBalancers; ++i)
            check(read_in(lb(i), "/proc/sys/net/ipv4/vs/sloppy_tcp").starts_with("1"),
                  fmt::format("net.ipv4.vs.sloppy_tcp is 1 on {}", lb(i)));
    }

    void start_bird(int i) {
        bird_[i] = std::make_unique<lt::Process>(lab_->spawn(
            lb(i), {"bird", "-f", "-c", dir_ + "/" + lb(i) + ".bird.conf", "-s", dir_ + "/" + lb(i) + ".bird.ctl", "-P",
                    dir_ + "/" + lb(i) + ".bird.pid"}));
        bird_up_[i] = true;
    }

    void start_lvsd(int i) {
        lvsd_[i] = std::make_unique<lt::Process>(lab_->spawn(lb(i), {opt_.lvsd, "-f", dir_ + "/" + lb(i) + ".conf"}));
        lvsd_up_[i] = true;
    }

    lt::RunResult lvsctl(int i, const std::vector<std::string>& args) {
        std::vector<std::string> argv{opt_.lvsctl, "-s", socket_[i]};
        argv.insert(argv.end(), args.begin(), args.end());
        return lab_->exec(lb(i), argv);
    }

    // ---- flows

    void start_flows() {
        step(fmt::format("{} long-lived flows through the VIP", opt_.flows));
        flows_ = std::make_unique<FlowPool>(ns("client"), kVip, kPort, opt_.flows, opt_.period,
                                           std::chrono::duration_cast<std::chrono::milliseconds>(kStall));
        unsigned long before[kBalancers];
        for (int i = 0; i < kBalancers; ++i) before[i] = ipvs_conns(i);
        const bool all = wait([&] { return flows_->answering() == opt_.flows; }, 60s);
        const auto s = flows_->current();
        check(all, fmt::format("all {} flows are open and answered", opt_.flows),
              fmt::format("{} answering, {} opened, {} connects failed{}", flows_->answering(), s.opened,
                          s.connect_failed, s.first_error.empty() ? "" : ": " + s.first_error));
        if (!all) throw Aborted("the flows did not come up");
        step("steady state");
        pause(kSettle);
        settled("steady state");
        std::string per_lb;
        bool every = true;
        for (int i = 0; i < kBalancers; ++i) {
            const auto n = ipvs_conns(i) - before[i];
            every = every && n > 0;
            per_lb += fmt::format("{}{} {}", per_lb.empty() ? "" : ", ", lb(i), n);
        }
        check(every, "the router spreads the flows over every balancer (connections IPVS scheduled)", per_lb);
        const auto st = flows_->current();
        check(st.by_server.size() == kRealServers, "every real server answers flows",
              fmt::format("{} answers in {} s", st.answers, Seconds(kSettle).count()));
    }

    // Counts the flows of the current phase: none may break, and each must have been
    // answered since `since`.
    void settled(const std::string& what, Clock::time_point since = {}) {
        const auto s = flows_->current();
        const int answered = flows_->answered_since(since == Clock::time_point{} ? Clock::now() - kSettle : since);
        check(s.broken() == 0 && answered == opt_.flows,
              fmt::format("{}: 0 of {} flows reset or broken, every flow answered", what, opt_.flows),
              fmt::format("{} resets, {} stalls, {} closed, {} connects failed, {} switched server; {} answered; {}",
                          s.resets, s.stalls, s.closed, s.connect_failed, s.switched, answered, s.first_error));
    }

    // Waits for the router's FIB to have (`present`) or lack balancer i as next hop; the
    // time from `t` (steady) to the event that did it, or nullopt.
    std::optional<RouteEvent> route_change(std::size_t from, int i, bool present, Seconds timeout) {
        std::optional<RouteEvent> e;
        const auto hop = lb_addr(i);
        wait([&] {
            e = routes_->first_since(from, [&](const RouteEvent& r) { return r.next_hops.contains(hop) == present; });
            return e.has_value();
        }, timeout);
        return e;
    }

    // Connections every balancer's IPVS has scheduled so far.
    std::vector<unsigned long> scheduled() {
        std::vector<unsigned long> n;
        for (int i = 0; i < kBalancers; ++i) n.push_back(ipvs_conns(i));
        return n;
    }

    // A step that moved flows proves something only if the balancers they moved to
    // scheduled them mid-connection: the pool opened no connection in the step, so every
    // connection IPVS scheduled meanwhile is one of them.
    void mid_flow(const std::vector<unsigned long>& before, const std::string& what) {
        const auto after = scheduled();
        const auto s = flows_->current();
        unsigned long moved = 0;
        std::string per_lb;
        for (int i = 0; i < kBalancers; ++i) {
            moved += after[i] - before[i];
            per_lb += fmt::format("{}{} {}", per_lb.empty() ? "" : ", ", lb(i), after[i] - before[i]);
        }
        check(moved > 0 && s.opened == 0, what, fmt::format("{} (the flows opened {} connections)", per_lb, s.opened));
        measured("flows scheduled mid-connection by another balancer in '" + s.phase + "'",
                 fmt::format("{} of {}", moved, opt_.flows));
    }

    // ---- steps

    void drain(int i) {
        auto r = lvsctl(i, {"drain", "--balancer"});
        check(r.ok(), fmt::format("lvsctl drain --balancer on {} succeeds", lb(i)), r.output);
    }

    void undrain(int i) {
        auto r = lvsctl(i, {"undrain", "--balancer"});
        check(r.ok(), fmt::format("lvsctl undrain --balancer on {} succeeds", lb(i)), r.output);
    }

    void drain_and_return() {
        step(fmt::format("{} drained (lvsctl drain --balancer)", lb(0)));
        auto from = routes_->size();
        auto t = Clock::now();
        const auto before = scheduled();
        drain(0);
        auto gone = route_change(from, 0, false, 10s);
        check(gone.has_value(), "the router drops lb1's next hop",
              gone ? fmt::format("after {:.2f} s: {}", Seconds(gone->seen - t).count(), hops_str(gone->next_hops))
                   : hops_str(routes_->next_hops()));
        pause(kSettle);
        settled("drain");
        mid_flow(before, "lb2 and lb3 schedule lb1's flows mid-connection (sloppy_tcp)");
        report_.measured.emplace_back("flows reset during a drain",
                                      fmt::format("{} of {}", flows_->current().resets, opt_.flows));

        step(fmt::format("{} back (undrain)", lb(0)));
        from = routes_->size();
        t = Clock::now();
        undrain(0);
        auto back = route_change(from, 0, true, 20s);
        check(back && back->next_hops.size() == kBalancers, "the router has lb1's next hop again, 3 in all",
              back ? fmt::format("after {:.2f} s: {}", Seconds(back->seen - t).count(), hops_str(back->next_hops))
                   : hops_str(routes_->next_hops()));
        pause(kSettle);
        settled("balancer added");
        measured("flows reset when a balancer is added", fmt::format("{} of {}", flows_->current().resets, opt_.flows));
    }

    // The same drain with sloppy_tcp=0 on the other balancers: the flows they get
    // mid-connection are not scheduled but reset by their stack, so the checks above can fail.
    void negative_control(int d) {
        std::string others;
        for (int i = 0; i < kBalancers; ++i)
            if (i != d) others += (others.empty() ? "" : ", ") + lb(i);
        step(fmt::format("negative control: sloppy_tcp=0 on {}; {} drained", others, lb(d)));
        const auto before = scheduled();
        for (int i = 0; i < kBalancers; ++i)
            if (i != d) sysctl(lb(i), "net.ipv4.vs.sloppy_tcp", "0");
        auto from = routes_->size();
        drain(d);
        auto gone = route_change(from, d, false, 10s);
        pause(kSettle);
        const auto s = flows_->current();
        for (int i = 0; i < kBalancers; ++i)
            if (i != d && !read_in(lb(i), "/proc/sys/net/ipv4/vs/sloppy_tcp").starts_with("0"))
                throw Aborted(fmt::format("negative control: sloppy_tcp on {} was set back during the step", lb(i)));
        check(gone && s.resets > 0, fmt::format("flows moved to {} are reset (the scenario can see a reset)", others),
              fmt::format("{} of {} reset", s.resets, opt_.flows));
        measured("negative control (sloppy_tcp=0): flows reset during a drain", fmt::format("{} of {}", s.resets, opt_.flows));
        const auto after = scheduled();
        std::string per_lb;
        for (int i = 0; i < kBalancers; ++i) per_lb += fmt::format(" {} {}", lb(i), after[i] - before[i]);
        say("   connections IPVS scheduled meanwhile (new flows after the resets):" + per_lb);
        for (int i = 0; i < kBalancers; ++i)
            if (i != d) sysctl(lb(i), "net.ipv4.vs.sloppy_tcp", "1");
        from = routes_->size();
        undrain(d);
        if (!route_change(from, d, true, 20s)) throw Aborted(lb(d) + " did not come back after the negative control");
        // The reset flows were opened again; the pool must be whole before the next step.
        if (!wait([&] { return flows_->answering() == opt_.flows; }, 20s))
            throw Aborted(fmt::format("the flows did not recover: {} of {}", flows_->answering(), opt_.flows));
        pause(1s);
    }

    // Balancer i loses its real servers (a firewall between it and them rejects its health
    // checks; client traffic it forwards is not touched): lvsd's verdict (quorum lost)
    // withdraws the route; the router drops the next hop within 1 s of the verdict.
    void all_real_servers_fail(int i, int run) {
        step(fmt::format("{}'s real servers fail (run {} of {})", lb(i), run + 1, opt_.withdraw_runs));
        write_file(dir_ + "/block.nft",
                   fmt::format("table ip ecmp_block {{\n  chain out {{\n    type filter hook output priority 0;\n"
                               "    ip saddr {} tcp dport {} reject with tcp reset\n  }}\n}}\n",
                               lb_addr(i), kPort));
        const auto log_from = lvsd_[i]->output().size();
        auto from = routes_->size();
        auto t = Clock::now();
        auto r = lab_->exec(lb(i), {"nft", "-f", dir_ + "/block.nft"});
        if (!r.ok()) throw Aborted("nft: " + r.output);
        auto gone = route_change(from, i, false, 20s);
        const std::string log = lvsd_[i]->output();
        const auto at = log.find("quorum lost", log_from);
        std::optional<double> verdict;
        if (at != std::string::npos) verdict = time_of_day(log.substr(log.rfind('\n', at) + 1));
        const double took = gone && verdict ? gone->tod - *verdict : -1;
        if (gone && verdict) report_.withdraw_s.push_back(took);
        check(gone && verdict && took <= 1.0, "the router drops the next hop within 1 s of lvsd's verdict",
              gone && verdict ? fmt::format("{:.3f} s after 'quorum lost' ({:.2f} s after the block)", took,
                                            Seconds(gone->seen - t).count())
                              : fmt::format("route {}; verdict {}{}", gone ? "dropped" : "not dropped",
                                            verdict ? "logged" : "not logged", logs()));
        pause(kSettle);
        settled("real servers failed");
        step(fmt::format("{}'s real servers return (run {})", lb(i), run + 1));
        from = routes_->size();
        r = lab_->exec(lb(i), {"nft", "delete", "table", "ip", "ecmp_block"});
        if (!r.ok()) throw Aborted("nft: " + r.output);
        auto back = route_change(from, i, true, 20s);
        check(back.has_value(), "the balancer announces the VIP again", hops_str(routes_->next_hops()));
        pause(kSettle);
        settled("real servers returned");
    }

    void bird_crash(int i) {
        const double detect = Seconds(opt_.bfd_interval).count() * opt_.bfd_multiplier;
        step(fmt::format("kill -9 of {}'s BIRD", lb(i)));
        auto from = routes_->size();
        const auto before = scheduled();
        const double t = time_of_day_now();
        bird_up_[i] = false;
        ::kill(bird_[i]->pid(), SIGKILL);
        auto gone = route_change(from, i, false, 10s);
        const double took = gone ? gone->tod - t : -1;
        auto why = lab_->exec("router", {"birdc", "-s", dir_ + "/router.bird.ctl", "show", "protocols", router_session(i)});
        std::smatch m;
        const std::string info = std::regex_search(why.output, m, std::regex("\\n" + router_session(i) + "\\s+BGP.*?  (\\S.*)"))
                                     ? m[1].str() : why.output;
        check(gone && took <= detect + 0.5,
              fmt::format("the router drops the next hop within the BFD detection time {:.1f} s (+0.5 s)", detect),
              gone ? fmt::format("{:.3f} s ({:.2f} x detection time); router's session: {}", took, took / detect, info)
                   : hops_str(routes_->next_hops()));
        if (gone)
            measured(fmt::format("kill -9 of a balancer's BIRD -> next hop gone (BFD {} ms x {})",
                                 opt_.bfd_interval.count(), opt_.bfd_multiplier),
                     fmt::format("{:.3f} s; the router's session said: {}", took, info));
        pause(kSettle);
        settled("BIRD crashed");
        mid_flow(before, fmt::format("the other balancers schedule {}'s flows mid-connection", lb(i)));
        measured("flows reset when a balancer's BIRD crashes", fmt::format("{} of {}", flows_->current().resets, opt_.flows));
        bird_[i]->stop(0ms);

        step(fmt::format("{}'s BIRD started again", lb(i)));
        from = routes_->size();
        auto t2 = Clock::now();
        start_bird(i);
        auto back = route_change(from, i, true, 30s);
        check(back && back->next_hops.size() == kBalancers, "the router has the next hop back, 3 in all",
              back ? fmt::format("after {:.2f} s", Seconds(back->seen - t2).count()) : hops_str(routes_->next_hops()));
        pause(kSettle);
        settled("BIRD restarted");
    }

    // The balancer's link to the fabric is cut (its bridge port down): no FIN, no
    // notification, only BFD's silence tells the router.
    void link_cut(int i) {
        const double detect = Seconds(opt_.bfd_interval).count() * opt_.bfd_multiplier;
        step(fmt::format("{}'s link cut", lb(i)));
        auto from = routes_->size();
        const auto before = scheduled();
        const double t = time_of_day_now();
        set_link("sw", lb(i) + "-p", false);
        auto gone = route_change(from, i, false, 10s);
        const double took = gone ? gone->tod - t : -1;
        auto why = lab_->exec("router", {"birdc", "-s", dir_ + "/router.bird.ctl", "show", "protocols", router_session(i)});
        std::smatch m;
        const std::string info = std::regex_search(why.output, m, std::regex("\\n" + router_session(i) + "\\s+BGP.*?  (\\S.*)"))
                                     ? m[1].str() : why.output;
        check(gone && took <= detect + 0.5 && info.find("BFD") != std::string::npos,
              fmt::format("BFD takes the next hop away within its detection time {:.1f} s (+0.5 s)", detect),
              gone ? fmt::format("{:.3f} s ({:.2f} x detection time); router's session: {}", took, took / detect, info)
                   : hops_str(routes_->next_hops()));
        if (gone)
            measured(fmt::format("link cut -> next hop gone (BFD {} ms x {} = {:.1f} s)", opt_.bfd_interval.count(),
                                 opt_.bfd_multiplier, detect),
                     fmt::format("{:.3f} s = {:.2f} x detection time; the router's session said: {}", took, took / detect, info));
        pause(kSettle);
        settled("link cut");
        measured("flows reset when a balancer's link is cut", fmt::format("{} of {}", flows_->current().resets, opt_.flows));

        step(fmt::format("{}'s link back", lb(i)));
        from = routes_->size();
        auto t2 = Clock::now();
        set_link("sw", lb(i) + "-p", true);
        auto back = route_change(from, i, true, 30s);
        check(back && back->next_hops.size() == kBalancers, "the router has the next hop back, 3 in all",
              back ? fmt::format("after {:.2f} s", Seconds(back->seen - t2).count()) : hops_str(routes_->next_hops()));
        pause(kSettle);
        settled("link back");
    }

    void lvsd_restart(int i) {
        step(fmt::format("{}'s lvsd killed (-9) and started again", lb(i)));
        const auto from = routes_->size();
        lvsd_up_[i] = false;
        ::kill(lvsd_[i]->pid(), SIGKILL);
        lvsd_[i]->stop(0ms);
        start_lvsd(i);
        auto r = wait([&] { return lvsctl(i, {"status"}).ok(); }, 30s);
        check(r, "the new lvsd answers lvsctl status");
        pause(kSettle);  // a check round and a reconcile after the start
        const auto events = routes_->events();
        std::string flaps;
        for (std::size_t k = from; k < events.size(); ++k) flaps += "\n  " + events[k].line;
        check(events.size() == from, "the router's route does not change (the new lvsd adopts its route)", flaps);
        settled("lvsd restarted");
    }

    void stop_all() {
        flows_.reset();
        servers_.clear();
        routes_.reset();
        for (int i = 0; i < kBalancers; ++i) {
            lvsd_[i].reset();
            bird_[i].reset();
        }
        router_bird_.reset();
    }

    void finish() {
        if (flows_) report_.phases = flows_->phases();
        stop_all();
        if (lab_) {
            auto problems = lab_->teardown();
            std::string all;
            for (auto& p : problems) all += p + "; ";
            check(problems.empty(), "namespaces, links and processes removed", all);
        }
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }

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
};

}  // namespace

bool Report::passed() const {
    return completed && !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

Report run(const Options& options) {
    try {
        Scenario s(options);
        return s.run();
    } catch (const std::exception& e) {
        Report r;
        r.aborted = e.what();
        r.checks.push_back({"setup", "the scenario ran", false, e.what()});
        return r;
    }
}

std::string summary(const Report& report) {
    std::string s = "\nsummary of the ECMP scenario\n\n";
    s += fmt::format("{:<52} {:>7} {:>6} {:>6} {:>6} {:>6} {:>8}\n", "step (flows)", "answers", "resets", "stalls",
                     "closed", "opened", "switched");
    for (const auto& p : report.phases)
        s += fmt::format("{:<52} {:>7} {:>6} {:>6} {:>6} {:>6} {:>8}\n", p.phase.substr(0, 52), p.answers, p.resets,
                         p.stalls, p.closed + p.connect_failed, p.opened, p.switched);
    if (!report.measured.empty()) {
        s += "\nmeasured\n";
        for (const auto& [what, value] : report.measured) s += fmt::format("  {:<70} {}\n", what, value);
    }
    int passed = 0;
    for (const auto& c : report.checks) passed += c.ok;
    s += fmt::format("\nchecks: {} of {} passed\n", passed, report.checks.size());
    for (const auto& c : report.checks)
        if (!c.ok) s += fmt::format("  FAILED [{}] {}{}\n", c.step, c.what, c.detail.empty() ? "" : ": " + c.detail);
    if (!report.completed) s += "\nthe scenario stopped early: " + report.aborted + "\n";
    s += report.passed() ? "\nRESULT: PASS\n" : "\nRESULT: FAIL\n";
    return s;
}

}  // namespace lvsd::ecmp
