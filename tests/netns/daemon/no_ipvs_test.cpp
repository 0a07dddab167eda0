// On a kernel without IPVS (the host kernel of these machines) a configuration with
// virtual services cannot be served: lvsd says so in one line, starts nothing (no VRRP
// instance either, so a peer keeps the VIP) and waits for IPVS, asking again every
// few seconds without saying it again (tests/kernel/daemon/ipvs_late_test.cpp: IPVS
// then appears, and lvsd starts without a restart). A VRRP-only configuration needs no
// IPVS and runs.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {
const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
}  // namespace

TEST(DaemonWithoutIpvs, VirtualServicesWaitForIpvsAndSayHowToGetItOnce) {
    struct stat st {};
    ASSERT_NE(::stat("/proc/net/ip_vs", &st), 0)
        << "this test expects a host kernel without IPVS (DESIGN.md: CONFIG_IP_VS is not set)";
    Lab lab;
    lab.netns("lb");
    lab.netns("sw");
    lab.bridge("sw", "br0");
    lab.veth("lb", "eth0", "sw", "lb0");
    lab.enslave("sw", "lb0", "br0");
    lab.address("lb", "eth0", "192.0.2.2/24");
    const std::string conf = "/tmp/" + lab.prefix() + "noipvs.conf";
    const std::string sock = "/tmp/" + lab.prefix() + "noipvs.sock";
    std::ofstream(conf) << "global_defs = { control_socket = \"" << sock << "\"; };\n"
                           "vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51;\n"
                           "  priority = 150; advert_int = 1; virtual_ipaddress = ( \"192.0.2.10/24\" ); } );\n"
                           "virtual_servers = ( { address = \"192.0.2.10\"; port = 8080;\n"
                           "  real_servers = ( { address = \"192.0.2.21\"; } ); } );\n";
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    auto status = [&] { return lab.exec("lb", {kLvsctl, "-s", sock, "status"}).output; };
    ASSERT_TRUE(wait_until([&] { return status().find("waiting for it") != std::string::npos; }, 10s))
        << status() << lvsd.output();
    EXPECT_NE(status().find("IPVS: not available in this kernel (modprobe ip_vs)"), std::string::npos) << status();
    // Past two retries: still waiting, still said once, and no instance was started.
    std::this_thread::sleep_for(2 * 5s + 1s);
    EXPECT_TRUE(lvsd.running()) << lvsd.output();
    const std::string log = lvsd.output();
    const std::string message = "IPVS is not available in this kernel: modprobe ip_vs; lvsd waits for it";
    const auto first = log.find(message);
    EXPECT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find(message, first + 1), std::string::npos) << "said more than once:\n" << log;
    EXPECT_EQ(status().find("VI_1"), std::string::npos) << "a VRRP instance started without IPVS:\n" << status();
    EXPECT_EQ(lab.exec("lb", {"ip", "-4", "addr", "show", "dev", "eth0"}).output.find("192.0.2.10"), std::string::npos);

    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the control socket is left behind";
    ::unlink(conf.c_str());
}

TEST(DaemonWithoutIpvs, VrrpOnlyConfigNeedsNoIpvs) {
    Lab lab;
    lab.netns("lb");
    const std::string conf = "/tmp/" + lab.prefix() + "vrrponly.conf";
    const std::string sock = "/tmp/" + lab.prefix() + "vrrponly.sock";
    std::ofstream(conf) << "global_defs = { control_socket = \"" << sock << "\"; };\n";
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    EXPECT_TRUE(wait_until(
        [&] { return lab.exec("lb", {kLvsctl, "-s", sock, "status"}).output.find("no virtual services") != std::string::npos; },
        5s))
        << lvsd.output();
    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
    ::unlink(conf.c_str());
}

// Privileges are checked before anything is touched.
TEST(DaemonPrivileges, NonRootIsOneClearMessage) {
    std::string conf = std::string(LVSD_SOURCE_DIR) + "/etc/lvsd.conf";
    auto r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kLvsd, "-f", conf});
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("needs root or CAP_NET_ADMIN"), std::string::npos) << r.output;
}

// Announced VIPs (issue #14): a balancer that cannot balance must not stay in the ECMP set
// through routes an earlier run left (kill -9, then a kernel without IPVS): they go, and
// nothing is announced while lvsd waits.
TEST(DaemonWithoutIpvs, RoutesAnEarlierRunLeftAreWithdrawn) {
    struct stat st {};
    ASSERT_NE(::stat("/proc/net/ip_vs", &st), 0)
        << "this test expects a host kernel without IPVS (DESIGN.md: CONFIG_IP_VS is not set)";
    Lab lab;
    lab.netns("lb");
    lab.ip("lb", "route add 192.0.2.10/32 dev lo table 100 proto 250");
    lab.ip("lb", "route add 203.0.113.5/32 dev lo table 100 proto static");  // not lvsd's
    const std::string conf = "/tmp/" + lab.prefix() + "noipvs-announce.conf";
    const std::string sock = "/tmp/" + lab.prefix() + "noipvs-announce.sock";
    std::ofstream(conf) << "global_defs = { control_socket = \"" << sock << "\"; };\n"
                           "virtual_servers = ( { address = \"192.0.2.10\"; port = 8080; announce = true;\n"
                           "  real_servers = ( { address = \"127.0.0.2\"; } ); } );\n";
    auto lvsd = lab.spawn("lb", {kLvsd, "-f", conf});
    auto routes = [&] { return lab.sh("lb", "ip route show table 100 2>/dev/null").output; };
    EXPECT_TRUE(wait_until([&] { return routes().find("192.0.2.10") == std::string::npos; }, 10s)) << routes() << lvsd.output();
    EXPECT_NE(routes().find("203.0.113.5"), std::string::npos) << routes();
    EXPECT_NE(lvsd.output().find("withdrew 192.0.2.10/32 (left in table 100 by an earlier run)"), std::string::npos)
        << lvsd.output();
    EXPECT_TRUE(lvsd.running()) << lvsd.output();
    lvsd.stop();
    ::unlink(conf.c_str());
}
