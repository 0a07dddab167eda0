#include "ecmp/scenario.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "ecmp/scenario_impl.hpp"

namespace lvsd::ecmp {

namespace detail {

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw Aborted(fmt::format("cannot write {}", path));
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

std::string proc_endpoint(const std::string& addr, int port) {
    in_addr a{};
    ::inet_pton(AF_INET, addr.c_str(), &a);
    return fmt::format("{:08X}:{:04X}", ntohl(a.s_addr), port);
}

Report Scenario::run() {
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
        measured(fmt::format("flows reset while a balancer's real servers fail and return ({} runs)",
                             opt_.withdraw_runs),
                 fmt::format("{} in all (of {} flows)", withdraw_resets_, opt_.flows));
        bird_crash(1);
        link_cut(1);
        lvsd_restart(0);
        lvsd_stop_start(0);
        report_.completed = true;
    } catch (const std::exception& e) {
        report_.aborted = e.what();
        check(false, "the scenario ran to its end", e.what() + logs());
    }
    finish();
    return report_;
}

void Scenario::say(const std::string& text) {
    if (opt_.out) *opt_.out << fmt::format("[+{:7.2f}s] {}\n", now().count(), text) << std::flush;
}

void Scenario::step(const std::string& name) {
    step_ = name;
    if (flows_) flows_->phase(name);
    say("== " + name);
}

bool Scenario::check(bool ok, const std::string& what, const std::string& detail) {
    report_.checks.push_back({step_, what, ok, detail});
    say(fmt::format("   {} {}{}", ok ? "ok:    " : "FAILED:", what, detail.empty() ? "" : " -- " + detail));
    return ok;
}

void Scenario::measured(const std::string& what, const std::string& value) {
    report_.measured.emplace_back(what, value);
    say("   measured: " + what + ": " + value);
}

void Scenario::tick() {
    for (int i = 0; i < kBalancers; ++i) {
        if (lvsd_[i] && lvsd_up_[i] && !lvsd_[i]->running())
            throw Aborted(fmt::format("lvsd on {} exited with status {}", lb(i), lvsd_[i]->status()));
        if (bird_[i] && bird_up_[i] && !bird_[i]->running())
            throw Aborted(fmt::format("BIRD on {} exited: {}", lb(i), bird_[i]->output()));
    }
    if (router_bird_ && !router_bird_->running())
        throw Aborted("BIRD on the router exited: " + router_bird_->output());
}

std::string Scenario::logs() const {
    std::string s;
    auto tail = [](std::string t) { return t.size() > 2500 ? "..." + t.substr(t.size() - 2500) : t; };
    for (int i = 0; i < kBalancers; ++i)
        if (lvsd_[i]) s += fmt::format("\n--- lvsd on {}:\n{}", lb(i), tail(lvsd_[i]->output()));
    if (router_bird_) s += "\n--- BIRD on the router:\n" + tail(router_bird_->output());
    if (routes_) s += "\n--- ip monitor route on the router:\n" + tail(routes_->output());
    return s;
}

void Scenario::batch(const std::string& name, const std::string& commands) {
    write_file(dir_ + "/" + name + ".batch", commands);
    lab_->ip(name, "-batch " + dir_ + "/" + name + ".batch");
}

void Scenario::sysctl(const std::string& name, const std::string& key, const std::string& value) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    const bool ok = in_netns(ns(name), [&] {
        std::ofstream f(path);
        f << value;
        return static_cast<bool>(f.flush());
    });
    if (!ok) throw Aborted(fmt::format("cannot set {} = {} in {}", key, value, name));
}

void Scenario::set_link(const std::string& name, const std::string& ifname, bool up) {
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

std::string Scenario::read_in(const std::string& name, const std::string& path) {
    return in_netns(ns(name), [&] { return slurp(path); });
}

unsigned long Scenario::ipvs_conns(int i) {
    const auto s = read_in(lb(i), "/proc/thread-self/net/ip_vs_stats");
    std::smatch m;
    if (!std::regex_search(s, m, std::regex("\\n\\s*([0-9A-Fa-f]+)\\s"))) return 0;
    return std::stoul(m[1], nullptr, 16);
}

void Scenario::setup() {
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

void Scenario::start_bird(int i) {
    bird_[i] = std::make_unique<lt::Process>(lab_->spawn(
        lb(i), {"bird", "-f", "-c", dir_ + "/" + lb(i) + ".bird.conf", "-s", dir_ + "/" + lb(i) + ".bird.ctl", "-P",
                dir_ + "/" + lb(i) + ".bird.pid"}));
    bird_up_[i] = true;
}

void Scenario::start_lvsd(int i) {
    lvsd_[i] = std::make_unique<lt::Process>(lab_->spawn(lb(i), {opt_.lvsd, "-f", dir_ + "/" + lb(i) + ".conf"}));
    lvsd_up_[i] = true;
}

lt::RunResult Scenario::lvsctl(int i, const std::vector<std::string>& args) {
    std::vector<std::string> argv{opt_.lvsctl, "-s", socket_[i]};
    argv.insert(argv.end(), args.begin(), args.end());
    return lab_->exec(lb(i), argv);
}

void Scenario::start_flows() {
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

void Scenario::settled(const std::string& what, Clock::time_point since) {
    const auto s = flows_->current();
    const int answered = flows_->answered_since(since == Clock::time_point{} ? Clock::now() - kSettle : since);
    check(s.broken() == 0 && answered == opt_.flows,
          fmt::format("{}: 0 of {} flows reset or broken, every flow answered", what, opt_.flows),
          fmt::format("{} resets, {} stalls, {} closed, {} connects failed, {} switched server; {} answered; {}",
                      s.resets, s.stalls, s.closed, s.connect_failed, s.switched, answered, s.first_error));
}

std::optional<RouteEvent> Scenario::route_change(std::size_t from, int i, bool present, Seconds timeout) {
    std::optional<RouteEvent> e;
    const auto hop = lb_addr(i);
    wait([&] {
        e = routes_->first_since(from, [&](const RouteEvent& r) { return r.next_hops.contains(hop) == present; });
        return e.has_value();
    }, timeout);
    return e;
}

std::vector<unsigned long> Scenario::scheduled() {
    std::vector<unsigned long> n;
    for (int i = 0; i < kBalancers; ++i) n.push_back(ipvs_conns(i));
    return n;
}

void Scenario::mid_flow(const std::vector<unsigned long>& before, const std::string& what) {
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

void Scenario::stop_all() {
    flows_.reset();
    servers_.clear();
    routes_.reset();
    for (int i = 0; i < kBalancers; ++i) {
        lvsd_[i].reset();
        bird_[i].reset();
    }
    router_bird_.reset();
}

void Scenario::finish() {
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

}  // namespace detail

bool Report::passed() const {
    return completed && !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

Report run(const Options& options) {
    try {
        detail::Scenario s(options);
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
