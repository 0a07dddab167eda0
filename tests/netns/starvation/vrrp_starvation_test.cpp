// VRRP timing under CPU starvation (issue 16): a pair of lvsd at VRRPv3 advert_int 0.01
// (master down after 3 x 10 ms + skew, so any 30-40 ms stall of the master's adverts is a
// takeover) keeps its master while every CPU is saturated by normal-priority work
// (CpuLoad: busy loops, 4 per CPU, and stress-ng's context-switch and cache load). lvsd's
// VRRP thread runs SCHED_RR (vrrp_rt_priority, 10 by default), so the load cannot delay it.
//
// The count is asserted: with LVSD_STARVATION_RT=0 the same test runs both daemons with
// vrrp_rt_priority = 0 and fails on these machines (the negative control: the backup
// takes over several times a minute). LVSD_STARVATION_SECONDS changes the 60 s.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "support/cpu_load.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, int priority, int rt_priority) {
    return "global_defs = { control_socket = \"" + socket + "\"; vrrp_rt_priority = " + std::to_string(rt_priority) +
           R"(; };
vrrp_instances = ( {
    name = "VI_1"; interface = "eth0"; virtual_router_id = 51; priority = )" +
           std::to_string(priority) + R"(;
    version = 3; advert_int = 0.01;
    virtual_ipaddress = [ "192.0.2.10/24" ];
} );
)";
}

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

// Lines of lvsd's log that say the instance became master.
int masters_in(const std::string& log) {
    int n = 0;
    for (auto pos = log.find("-> MASTER"); pos != std::string::npos; pos = log.find("-> MASTER", pos + 1)) ++n;
    return n;
}

}  // namespace

TEST(VrrpStarvation, PairKeepsItsMasterWithEveryCpuSaturated) {
    const int rt = env_int("LVSD_STARVATION_RT", 10);
    const auto seconds = std::chrono::seconds(env_int("LVSD_STARVATION_SECONDS", 60));
    Lab lab;
    lab.netns("sw");
    lab.bridge("sw", "br0");
    for (const char* lb : {"lb1", "lb2"}) {
        lab.netns(lb);
        lab.veth(lb, "eth0", "sw", std::string(lb) + "p");
        lab.enslave("sw", std::string(lb) + "p", "br0");
    }
    lab.address("lb1", "eth0", "192.0.2.2/24");
    lab.address("lb2", "eth0", "192.0.2.3/24");
    const std::string dir = "/tmp/" + lab.prefix() + "starve";
    run({"mkdir", "-p", dir});
    std::ofstream(dir + "/lb1.conf") << config(dir + "/lb1.sock", 150, rt);
    std::ofstream(dir + "/lb2.conf") << config(dir + "/lb2.sock", 100, rt);
    auto status = [&](const char* ns) {
        return lab.exec(ns, {kLvsctl, "-s", dir + "/" + ns + ".sock", "status", "--json"}).output;
    };

    auto lb1 = lab.spawn("lb1", {kLvsd, "-f", dir + "/lb1.conf"});
    auto lb2 = lab.spawn("lb2", {kLvsd, "-f", dir + "/lb2.conf"});
    ASSERT_TRUE(wait_until([&] { return status("lb1").find(R"("state":"MASTER")") != std::string::npos; }, 10s))
        << lb1.output();
    ASSERT_TRUE(wait_until([&] { return status("lb2").find(R"("state":"BACKUP")") != std::string::npos; }, 10s))
        << lb2.output();
    // Both threads run as configured: SCHED_RR 10, or normal priority for the control.
    const std::string policy = rt > 0 ? R"("policy":"SCHED_RR","priority":)" + std::to_string(rt)
                                      : R"("policy":"SCHED_OTHER","priority":0)";
    for (const char* ns : {"lb1", "lb2"}) ASSERT_NE(status(ns).find(policy), std::string::npos) << status(ns);
    // Settled a moment without load. (Started together, lb2 may have been master for a
    // few ms before it heard lb1: only what happens under load counts.)
    wait_until([] { return false; }, 1s);
    ASSERT_NE(status("lb2").find(R"("state":"BACKUP")"), std::string::npos) << lb2.output();
    const int before = masters_in(lb2.output());

    {
        CpuLoad load(seconds + 30s);
        wait_until([] { return false; }, seconds, 1s);
        std::cout << "[          ] load: " << load.what() << " for " << seconds.count() << " s, vrrp_rt_priority "
                  << rt << std::endl;
    }  // every load process ended here, by pid (also when an assertion above threw)

    const int takeovers = masters_in(lb2.output()) - before;
    std::cout << "[          ] false takeovers in " << seconds.count() << " s: " << takeovers << std::endl;
    RecordProperty("false_takeovers", takeovers);
    EXPECT_EQ(takeovers, 0) << "lb2's log:\n" << lb2.output();
    // The master is still the master (and was never demoted by SIGXCPU).
    const std::string s1 = status("lb1");
    EXPECT_NE(s1.find(R"("state":"MASTER")"), std::string::npos) << s1;
    EXPECT_NE(s1.find(R"("demoted":false)"), std::string::npos) << s1;
    lb1.stop(3s);
    lb2.stop(3s);
    run({"rm", "-rf", dir});
}
