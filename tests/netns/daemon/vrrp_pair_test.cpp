// Two lvsd processes as a VRRP pair in namespaces on one bridge (no IPVS needed): the
// higher priority becomes master and holds the VIP; on SIGTERM it hands over with a
// priority-0 advert, so the backup holds the VIP within skew time, not 3 adverts.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, int priority) {
    return R"(global_defs = { control_socket = ")" + socket + R"("; };
vrrp_instances = ( {
    name = "VI_1"; interface = "eth0"; virtual_router_id = 51; priority = )" +
           std::to_string(priority) + R"(;
    version = 3; advert_int = 0.1;
    virtual_ipaddress = [ "192.0.2.10/24" ];
} );
)";
}

}  // namespace

TEST(LvsdVrrpPair, MasterHoldsTheVipAndHandsOverOnSigterm) {
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
    const std::string dir = "/tmp/" + lab.prefix() + "pair";
    run({"mkdir", "-p", dir});
    std::ofstream(dir + "/lb1.conf") << config(dir + "/lb1.sock", 150);
    std::ofstream(dir + "/lb2.conf") << config(dir + "/lb2.sock", 100);

    auto has_vip = [&](const char* ns) {
        return lab.exec(ns, {"ip", "-o", "addr", "show", "dev", "eth0"}).output.find("192.0.2.10/24") !=
               std::string::npos;
    };
    auto lb1 = lab.spawn("lb1", {kLvsd, "-f", dir + "/lb1.conf"});
    auto lb2 = lab.spawn("lb2", {kLvsd, "-f", dir + "/lb2.conf"});
    ASSERT_TRUE(wait_until([&] { return has_vip("lb1"); }, 10s)) << lb1.output();
    // Settled: lb2 has seen lb1's adverts and stays backup.
    ASSERT_TRUE(wait_until([&] {
        return lab.exec("lb2", {kLvsctl, "-s", dir + "/lb2.sock", "status"}).output.find("BACKUP") !=
               std::string::npos;
    }, 5s)) << lb2.output();
    EXPECT_FALSE(has_vip("lb2"));
    auto status = lab.exec("lb1", {kLvsctl, "-s", dir + "/lb1.sock", "status", "--json"});
    EXPECT_NE(status.output.find(R"("name":"VI_1","state":"MASTER")"), std::string::npos)
        << status.output;

    // Graceful stop: priority 0, so lb2 takes over after its skew time (~0.06 s here)
    // instead of the 3 x 0.1 s + skew of a silent master.
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(lb1.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return has_vip("lb2"); }, 5s, 5ms)) << lb2.output();
    const auto gap = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(wait_until([&] { return !lb1.running(); }, 5s));
    EXPECT_EQ(lb1.status(), 0) << lb1.output();
    EXPECT_FALSE(has_vip("lb1"));
    // Generous for a loaded 2-core host; a silent master would take at least 0.36 s.
    EXPECT_LT(gap, std::chrono::milliseconds(1000)) << lb2.output();
    run({"rm", "-rf", dir});
}
