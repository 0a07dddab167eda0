// Shared helpers of the VRRP netns tests: a segment of namespaces on a bridge, lvsd VRRP
// instances run as separate processes (lvsd-vrrp-instance), keepalived instances, and
// probes of who holds the VIP.
//
//   a:eth0 192.0.2.1 ─┐
//   b:eth0 192.0.2.2 ─┼─ sw:br0      (IPv6: 2001:db8::1..3, link-locals from the kernel)
//   c:eth0 192.0.2.3 ─┘              c is the client / the packet forger
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

namespace vrrp_lab {

namespace lt = lvsd::testing;
using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

inline const std::string kBinary = std::string(LVSD_BINARY_DIR) + "/src/vrrp/lvsd-vrrp-instance";
inline const std::string kVip = "192.0.2.100";

inline void build_segment(lt::Lab& lab, const std::vector<std::string>& hosts = {"a", "b", "c"}) {
    lab.netns("sw");
    lab.bridge("sw", "br0");
    int i = 1;
    for (auto& h : hosts) {
        lab.netns(h);
        lab.veth(h, "eth0", "sw", "p" + h);
        lab.enslave("sw", "p" + h, "br0");
        lab.address(h, "eth0", "192.0.2." + std::to_string(i) + "/24");
        lab.address(h, "eth0", "2001:db8::" + std::to_string(i) + "/64");
        ++i;
    }
}

inline std::string host_ip(const std::string& h) { return "192.0.2." + std::to_string(1 + (h[0] - 'a')); }

// One lvsd VRRP instance process; its stdout carries STATE and COUNTERS lines.
struct Router {
    std::string name;
    lt::Process proc;

    std::string last_state() const {
        auto out = proc.output();
        auto key = "STATE " + name + " ";
        auto at = out.rfind(key);
        if (at == std::string::npos) return "";
        auto end = out.find('\n', at);
        return out.substr(at + key.size(), end - at - key.size());
    }
    bool wait_state(const std::string& s, Ms timeout) const {
        return lt::wait_until([&] { return last_state() == s; }, timeout, 2ms);
    }
    int transitions() const {
        auto out = proc.output();
        int n = 0;
        for (std::size_t at = 0; (at = out.find("STATE " + name + " ", at)) != std::string::npos; ++at) ++n;
        return n;
    }
    // Asks for a COUNTERS line (SIGUSR1) and parses it.
    std::map<std::string, long> counters() {
        auto before = proc.output();
        auto count_lines = [&](const std::string& s) {
            std::size_t n = 0;
            for (std::size_t at = 0; (at = s.find("COUNTERS ", at)) != std::string::npos; ++at) ++n;
            return n;
        };
        const auto n0 = count_lines(before);
        ::kill(proc.pid(), SIGUSR1);
        std::map<std::string, long> m;
        if (!lt::wait_until([&] { return count_lines(proc.output()) > n0; }, 2s)) return m;
        auto out = proc.output();
        auto at = out.rfind("COUNTERS ");
        std::istringstream line(out.substr(at, out.find('\n', at) - at));
        std::string w;
        while (line >> w) {
            auto eq = w.find('=');
            if (eq != std::string::npos) m[w.substr(0, eq)] = std::stol(w.substr(eq + 1));
        }
        return m;
    }
    void kill9() { ::kill(-proc.pid(), SIGKILL); }
    void term() { ::kill(proc.pid(), SIGTERM); }
};

struct RouterSpec {
    std::string ns;
    int priority = 100;
    std::vector<std::string> extra = {};
    int advert_ms = 100;
    std::vector<std::string> vips = {kVip + "/24"};
    int version = 3;
    int vrid = 51;
};

inline Router start_router(lt::Lab& lab, const RouterSpec& s) {
    std::vector<std::string> argv{kBinary,           "--name",    s.ns,        "--interface",
                                  "eth0",            "--vrid",    std::to_string(s.vrid),
                                  "--priority",      std::to_string(s.priority),
                                  "--version",       std::to_string(s.version),
                                  "--advert-int-ms", std::to_string(s.advert_ms)};
    for (auto& v : s.vips) argv.insert(argv.end(), {"--vip", v});
    argv.insert(argv.end(), s.extra.begin(), s.extra.end());
    Router r{s.ns, lab.spawn(s.ns, argv)};
    return r;
}

inline bool has_address(lt::Lab& lab, const std::string& ns, const std::string& addr) {
    auto r = lab.exec(ns, {"ip", "-o", "addr", "show", "dev", "eth0"});
    return r.output.find(" " + addr + "/") != std::string::npos;
}

inline std::string mac_of(lt::Lab& lab, const std::string& ns) {
    auto out = lab.must(ns, {"cat", "/sys/class/net/eth0/address"});
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// Run keepalived (Debian's) in `ns` with the given vrrp_instance body.
struct Keepalived {
    std::string dir;
    lt::Process proc;
    std::string log() const { return proc.output(); }
    void kill9() { ::kill(-proc.pid(), SIGKILL); }
};

inline Keepalived start_keepalived(lt::Lab& lab, const std::string& ns, const std::string& instance_body) {
    char tmpl[] = "/tmp/lvt-ka-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    {
        std::ofstream conf(dir + "/keepalived.conf");
        conf << "global_defs {\n  router_id lvt_" << ns << "\n  enable_script_security\n}\n"
             << "vrrp_instance ka {\n" << instance_body << "}\n";
    }
    Keepalived k{dir, lab.spawn(ns, {"keepalived", "-n", "-l", "-D", "-P", "-f", dir + "/keepalived.conf", "-p",
                                      dir + "/ka.pid", "-r", dir + "/vrrp.pid"})};
    return k;
}

inline void remove_dir(const std::string& dir) {
    if (dir.rfind("/tmp/lvt-ka-", 0) == 0) lt::run({"rm", "-rf", dir});
}

}  // namespace vrrp_lab
