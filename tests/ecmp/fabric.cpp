#include "ecmp/fabric.hpp"

#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

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

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Replaces every match of `re` and insists there was one: a shipped file that changed
// shape must fail loudly, not run half-adapted.
std::string must_replace(const std::string& text, const std::string& re, const std::string& with,
                         const std::string& what) {
    const std::regex r(re);
    if (!std::regex_search(text, r))
        throw std::runtime_error(fmt::format("adapting {}: no match for /{}/ (did the file change?)", what, re));
    return std::regex_replace(text, r, with);
}

std::string adapt_common(std::string t, BfdTimers bfd, const std::string& what) {
    t = must_replace(t, "log syslog all;", "log stderr all;", what);
    t = must_replace(t, "min rx interval [0-9]+ ms;(\\s*)min tx interval [0-9]+ ms;(\\s*)multiplier [0-9]+;",
                     fmt::format("min rx interval {0} ms;$1min tx interval {0} ms;$2multiplier {1};",
                                 bfd.interval.count(), bfd.multiplier),
                     what);
    return must_replace(t, "\\n(\\s*)keepalive time ([0-9]+);",
                        "\n$1keepalive time $2;\n$1connect delay time 1;\n$1connect retry time 2;\n"
                        "$1error wait time 1, 4;",
                        what);
}

}  // namespace

std::string bird_router_conf(const std::string& source_dir, BfdTimers bfd) {
    const std::string what = "etc/bird-router-example.conf";
    std::string t = adapt_common(read_file(source_dir + "/" + what), bfd, what);
    return must_replace(t, "\\nprotocol bgp lb[0-9]_6 [^\\n]*", "", what);
}

std::string bird_balancer_conf(const std::string& source_dir, int index, BfdTimers bfd) {
    const std::string what = "etc/bird-lvsd.conf";
    std::string t = adapt_common(read_file(source_dir + "/" + what), bfd, what);
    t = must_replace(t, "\\nrouter id 198\\.51\\.100\\.1;", "\nrouter id " + lb_addr(index) + ";", what);
    return must_replace(t, "\\nprotocol bgp router6 from to_router \\{[\\s\\S]*?\\n\\}\\n", "\n", what);
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
