#include "ecmp/fabric.hpp"

#include <ctime>
#include <regex>

#include <fmt/format.h>

namespace lvsd::ecmp {

std::optional<double> time_of_day(const std::string& text, std::size_t pos) {
    static const std::regex re("(\\d\\d):(\\d\\d):(\\d\\d(\\.\\d+)?)");
    std::smatch m;
    if (pos > text.size() || !std::regex_search(text.begin() + static_cast<long>(pos), text.end(), m, re))
        return std::nullopt;
    return std::stoi(m[1]) * 3600.0 + std::stoi(m[2]) * 60.0 + std::stod(m[3]);
}

double time_of_day_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::localtime_r(&ts.tv_sec, &tm);
    return tm.tm_hour * 3600.0 + tm.tm_min * 60.0 + tm.tm_sec + ts.tv_nsec / 1e9;
}

namespace {

std::string bfd_block(const std::string& ifname, BfdTimers bfd) {
    return fmt::format(
        "# Detection time: interval x multiplier = {} ms (RFC 5880 6.8.4).\n"
        "protocol bfd {{\n    interface \"{}\" {{ interval {} ms; multiplier {}; }};\n}}\n",
        bfd.interval.count() * bfd.multiplier, ifname, bfd.interval.count(), bfd.multiplier);
}

// Short BGP timers: the scenario restarts sessions and should not wait BIRD's default 5 s
// connect delay or its error back-off; BFD, not the hold timer, detects a dead peer.
constexpr const char* kBgpTimers =
    "    bfd on;\n    hold time 9;\n    connect delay time 1;\n    connect retry time 2;\n    error wait time 1, 4;\n";

}  // namespace

std::string bird_router_conf(int balancers, BfdTimers bfd) {
    std::string s = fmt::format(
        "# The router in front of the balancers (the ECMP scenario).\n"
        "log stderr all;\nrouter id {};\n"
        "protocol device {{ }}\n"
        "# Every balancer's path to the VIP in one multipath route (the router spreads flows\n"
        "# by net.ipv4.fib_multipath_hash_policy=1, over the 5-tuple).\n"
        "protocol kernel {{\n    merge paths on;\n    ipv4 {{ import none; export all; }};\n}}\n",
        kRouterFabric);
    s += bfd_block("eth1", bfd);
    s += fmt::format("template bgp balancer {{\n    local {} as {};\n{}    ipv4 {{ import all; export none; }};\n}}\n",
                     kRouterFabric, kRouterAs, kBgpTimers);
    for (int i = 0; i < balancers; ++i)
        s += fmt::format("protocol bgp lb{} from balancer {{ neighbor {} as {}; }}\n", i + 1, lb_addr(i), kBalancerAs);
    return s;
}

std::string bird_balancer_conf(int index, BfdTimers bfd) {
    std::string s = fmt::format(
        "# Balancer lb{}: announces what lvsd puts in its table.\n"
        "log stderr all;\nrouter id {};\n"
        "protocol device {{ }}\n"
        "protocol kernel lvsd {{\n    kernel table {};\n    learn;\n"
        "    ipv4 {{ import where krt_source = {}; export none; }};\n}}\n",
        index + 1, lb_addr(index), kAnnounceTable, kAnnounceProtocol);
    s += bfd_block("eth0", bfd);
    s += fmt::format(
        "protocol bgp uplink {{\n    local {} as {};\n    neighbor {} as {};\n{}"
        "    ipv4 {{ import none; export where proto = \"lvsd\"; next hop self; }};\n}}\n",
        lb_addr(index), kBalancerAs, kRouterFabric, kRouterAs, kBgpTimers);
    return s;
}

std::string lvsd_conf(int index, int real_servers, const std::string& socket, const std::string& bird_socket) {
    std::string reals;
    for (int i = 0; i < real_servers; ++i)
        reals += fmt::format(
            "        {{ address = \"{}\"; port = {}; weight = 1;\n"
            "          TCP_CHECK = {{ connect_timeout = 1; retry = 0; delay_before_retry = 1; }}; }}{}\n",
            rs_addr(i), kPort, i + 1 < real_servers ? "," : "");
    return fmt::format(
        // reconcile_interval: long, so that lvsd does not set sloppy_tcp back in the middle of
        // the negative control (it does on every reconcile); changes still apply at once.
        "global_defs = {{\n    router_id = \"lb{}\";\n    control_socket = \"{}\";\n    reconcile_interval = 3600;\n"
        "    bird_socket = \"{}\";\n}};\n"
        "virtual_servers = (\n  {{\n    address = \"{}\";\n    port = {};\n    protocol = \"TCP\";\n"
        "    lb_algo = \"mh\";\n    mh-port = true;\n    lb_kind = \"DR\";\n    delay_loop = 1;\n"
        "    inhibit_on_failure = true;\n    announce = true;\n    real_servers = (\n{}    );\n  }}\n);\n",
        index + 1, socket, bird_socket, kVip, kPort, reals);
}

RouteLog::RouteLog(const lvsd::testing::Lab& lab, const std::string& ns, const std::string& prefix)
    : process_(lab.spawn(ns, {"ip", "-ts", "-o", "-4", "monitor", "route"})), prefix_(prefix) {}

void RouteLog::update() {
    const std::string out = process_.output();
    while (true) {
        const auto nl = out.find('\n', seen_);
        if (nl == std::string::npos) break;
        std::string line = out.substr(seen_, nl - seen_);
        seen_ = nl + 1;
        // "[2026-11-30T19:11:39.372289] [Deleted ]192.0.2.10 via ..." (one line: -o).
        const auto close = line.find("] ");
        if (line.empty() || line[0] != '[' || close == std::string::npos) continue;
        std::string rest = line.substr(close + 2);
        const bool deleted = rest.rfind("Deleted ", 0) == 0;
        if (deleted) rest = rest.substr(8);
        if (rest.rfind(prefix_ + " ", 0) != 0) continue;
        RouteEvent e;
        e.tod = time_of_day(line.substr(0, close)).value_or(0);
        e.seen = std::chrono::steady_clock::now();
        e.line = line;
        if (!deleted) {
            static const std::regex via("via ([0-9.]+)");
            for (std::sregex_iterator it(rest.begin(), rest.end(), via), end; it != end; ++it) e.next_hops.insert((*it)[1]);
        }
        events_.push_back(std::move(e));
    }
}

std::set<std::string> RouteLog::next_hops() {
    update();
    return events_.empty() ? std::set<std::string>{} : events_.back().next_hops;
}

std::vector<RouteEvent> RouteLog::events() {
    update();
    return events_;
}

std::size_t RouteLog::size() {
    update();
    return events_.size();
}

std::optional<RouteEvent> RouteLog::first_since(std::size_t from, const std::function<bool(const RouteEvent&)>& pred) {
    update();
    for (std::size_t i = from; i < events_.size(); ++i)
        if (pred(events_[i])) return events_[i];
    return std::nullopt;
}

}  // namespace lvsd::ecmp
