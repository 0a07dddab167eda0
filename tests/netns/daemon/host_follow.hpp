// Shared by host_follow_test.cpp and reload_transaction_test.cpp (issue #11, "VRRP follows
// the host"): a VRRP pair of real lvsd processes in namespaces a and b on one bridge
// (sw:br0), a with priority 150 and b with 100, VIP 192.0.2.10/24 on eth0, plus the small
// helpers the tests read status and the host with.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

namespace lvsd::testing::hostfollow {

using Clock = std::chrono::steady_clock;

inline const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
inline const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
inline constexpr const char* kBehind = "behind lvsd's back";

inline long ms_since(Clock::time_point t0) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// The object of VRRP instance `name` in `lvsctl status --json` ("" when absent): from its
// opening brace to the matching closing one, strings skipped.
inline std::string instance_object(const std::string& json, const std::string& name = "VI_1") {
    const auto start = json.find("{\"name\":\"" + name + "\"");
    if (start == std::string::npos) return {};
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = start; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            return json.substr(start, i - start + 1);
        }
    }
    return {};
}

// The raw value of `"key":value` in `object` (a string without its quotes, a number, `null`),
// or nullopt when the key is missing.
inline std::optional<std::string> field(const std::string& object, const std::string& key) {
    std::smatch m;
    if (!std::regex_search(object, m, std::regex("\"" + key + R"re(":("((?:[^"\\]|\\.)*)"|[^,}\]]*))re")))
        return std::nullopt;
    return m[2].matched ? std::string(m[2]) : std::string(m[1]);
}

inline long number(const std::optional<std::string>& v) {
    try {
        return v ? std::stol(*v) : -1;
    } catch (...) {
        return -1;
    }
}

// Status with the figures that move by themselves (clocks, advert counters) blanked out, so
// that two snapshots of an unchanged daemon compare equal.
inline std::string normalized(const std::string& json) {
    static const std::regex moving(R"re("(uptime_s|state_since_s|adverts_sent|adverts_received)":[0-9.]+)re");
    return std::regex_replace(json, moving, "\"$1\":_");
}

inline std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
    return n;
}

// 1-based number of the first line of `text` that contains `needle` (0 when none).
inline int line_of(const std::string& text, const std::string& needle) {
    const auto p = text.find(needle);
    if (p == std::string::npos) return 0;
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(p), '\n'));
}

// Calls `check` (which returns "" when all is well, else what is wrong) until `d` has
// passed; returns the first violation, prefixed with when it was seen.
inline std::string hold_for(std::chrono::milliseconds d, const std::function<std::string()>& check) {
    const auto t0 = Clock::now();
    int samples = 0;
    do {
        ++samples;
        if (auto bad = check(); !bad.empty()) return "after " + std::to_string(ms_since(t0)) + " ms: " + bad;
    } while (Clock::now() - t0 < d);
    std::cout << "[ sampled  ] " << samples << " samples in " << ms_since(t0) << " ms" << std::endl;
    return {};
}

// Instance settings, rendered one setting per line so that FILE:LINE points at one key.
struct VrrpConf {
    int priority = 100;
    std::string interface = "eth0";
    std::vector<std::string> vips = {"192.0.2.10/24"};
    std::string unicast_src;   // "" = multicast
    std::string unicast_peer;
    std::string global_extra;    // whole lines added inside global_defs
    std::string top_extra;       // whole lines at the top level (vrrp_scripts, ...)
    std::string instance_extra;  // whole lines added inside the instance (track_script, ...)
};

class PairTest : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("a");
        lab_.netns("b");
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        lab_.veth("a", "eth0", "sw", "ap");
        lab_.enslave("sw", "ap", "br0");
        lab_.veth("b", "eth0", "sw", "bp");
        lab_.enslave("sw", "bp", "br0");
        // Deleting the primary address takes the secondaries (the VIP) along: the kernel
        // default, made explicit because some tests depend on it.
        for (const char* ns : {"a", "b"})
            for (const char* conf : {"all", "default", "eth0"})
                lab_.sysctl(ns, std::string("net.ipv4.conf.") + conf + ".promote_secondaries", "0");
        lab_.address("a", "eth0", "192.0.2.2/24");
        lab_.address("b", "eth0", "192.0.2.3/24");
        dir_ = "/tmp/" + lab_.prefix() + "hostfollow";
        run({"mkdir", "-p", dir_});
    }

    void TearDown() override {
        const bool failed = HasFailure();
        for (auto* p : {&a_, &b_}) {
            if (p->pid() <= 0) continue;
            auto r = p->stop();
            if (failed) std::cout << "---- " << p->name() << " (status " << r.status << ")\n" << tail(r.output, 40);
        }
        run({"rm", "-rf", dir_});
    }

    static std::string tail(const std::string& s, int lines) {
        std::size_t p = s.size();
        while (lines-- > 0) {
            if (p == 0) return s;
            p = s.rfind('\n', p - 1);
            if (p == std::string::npos) return s;
        }
        return s.substr(p + 1);
    }

    std::string conf_path(const std::string& node) const { return dir_ + "/" + node + ".conf"; }
    std::string sock(const std::string& node) const { return dir_ + "/" + node + ".sock"; }

    std::string render(const std::string& node, const VrrpConf& c) const {
        std::string s = "global_defs = {\n    control_socket = \"" + sock(node) + "\";\n" + c.global_extra + "};\n";
        s += c.top_extra;
        s += "vrrp_instances = ( {\n    name = \"VI_1\";\n    interface = \"" + c.interface + "\";\n";
        s += "    virtual_router_id = 51;\n    priority = " + std::to_string(c.priority) + ";\n";
        s += "    version = 3;\n    advert_int = 0.1;\n";
        if (!c.unicast_src.empty()) {
            s += "    unicast_src_ip = \"" + c.unicast_src + "\";\n";
            s += "    unicast_peer = [ \"" + c.unicast_peer + "\" ];\n";
        }
        s += "    virtual_ipaddress = [\n";
        for (std::size_t i = 0; i < c.vips.size(); ++i)
            s += "        \"" + c.vips[i] + "\"" + (i + 1 < c.vips.size() ? "," : "") + "\n";
        s += "    ];\n" + c.instance_extra + "} );\n";
        return s;
    }
    std::string write(const std::string& node, const std::string& text) const {
        std::ofstream(conf_path(node)) << text;
        return conf_path(node);
    }
    static VrrpConf conf_a(bool unicast = false) {
        VrrpConf c;
        c.priority = 150;
        if (unicast) c.unicast_src = "192.0.2.2", c.unicast_peer = "192.0.2.3";
        return c;
    }
    static VrrpConf conf_b(bool unicast = false) {
        VrrpConf c;
        c.priority = 100;
        if (unicast) c.unicast_src = "192.0.2.3", c.unicast_peer = "192.0.2.2";
        return c;
    }

    // Starts both daemons (call it with ASSERT_NO_FATAL_FAILURE) and waits until a is MASTER with the VIP and b BACKUP without it.
    void start_pair(const VrrpConf& ca, const VrrpConf& cb) {
        write("a", render("a", ca));
        write("b", render("b", cb));
        a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
        b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
        ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a"); }, 15s))
            << status("a") << a_.output();
        // b has heard a (BACKUP alone could still be b's start-up state) and holds no VIP.
        ASSERT_TRUE(wait_until([&] {
            return state("b") == "BACKUP" && counter("b", "adverts_received") >= 3 && !has_vip("b");
        }, 10s)) << status("b") << b_.output();
    }

    // lvsctl runs outside the namespaces: the control socket is a path, which every
    // network namespace sees, and one `ip netns exec` less per sample counts on 2 cores.
    RunResult lvsctl(const std::string& node, const std::vector<std::string>& args) const {
        std::vector<std::string> argv{kLvsctl, "-s", sock(node)};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, {}, 10s);
    }
    std::string status(const std::string& node) const { return lvsctl(node, {"status", "--json"}).output; }
    std::string inst(const std::string& node) const { return instance_object(status(node)); }
    std::string state(const std::string& node) const { return field(inst(node), "state").value_or("?"); }
    long counter(const std::string& node, const std::string& key) const { return number(field(inst(node), key)); }
    // A field of the instance, "<absent>" when status has no such key.
    std::string fld(const std::string& node, const std::string& key) const {
        return field(inst(node), key).value_or("<absent>");
    }
    long generation(const std::string& node) const {
        std::smatch m;
        const auto s = status(node);
        return std::regex_search(s, m, std::regex(R"("generation":([0-9]+))")) ? std::stol(m[1]) : -1;
    }

    // `ip -o addr show [dev DEV]` in a namespace ("" when the device does not exist).
    std::string addrs(const std::string& ns, const std::string& dev = "eth0") const {
        std::vector<std::string> argv{"ip", "-n", lab_.netns_name(ns), "-o", "addr", "show"};
        if (!dev.empty()) argv.insert(argv.end(), {"dev", dev});
        auto r = run(argv, {}, 10s);
        return r.ok() ? r.output : "";
    }
    bool has_vip(const std::string& ns, const std::string& dev = "eth0",
                 const std::string& cidr = "192.0.2.10/24") const {
        return addrs(ns, dev).find("inet " + cidr + " ") != std::string::npos;
    }
    // The VIP anywhere in the namespace, on any device.
    bool has_vip_anywhere(const std::string& ns) const {
        return addrs(ns, "").find("inet 192.0.2.10/") != std::string::npos;
    }

    static void measure(const std::string& key, long ms) {
        std::cout << "[ measure  ] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": " << key
                  << " = " << ms << " ms" << std::endl;
        ::testing::Test::RecordProperty(key, static_cast<int>(ms));
    }

    Lab lab_;
    std::string dir_;
    Process a_;  // after lab_: destroyed before it
    Process b_;
};

}  // namespace lvsd::testing::hostfollow
