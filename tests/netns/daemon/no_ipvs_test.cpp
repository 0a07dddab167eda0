// On a kernel without IPVS (the host kernel of these machines) a configuration with
// virtual services cannot be served: lvsd says so in one line and exits 1, while a
// VRRP-only configuration needs no IPVS and runs.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {
const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
}  // namespace

TEST(DaemonWithoutIpvs, VirtualServicesNeedIpvsAndSayHowToGetIt) {
    struct stat st {};
    ASSERT_NE(::stat("/proc/net/ip_vs", &st), 0)
        << "this test expects a host kernel without IPVS (DESIGN.md: CONFIG_IP_VS is not set)";
    Lab lab;
    lab.netns("lb");
    const std::string conf = "/tmp/" + lab.prefix() + "noipvs.conf";
    std::ofstream(conf) << "global_defs = { control_socket = \"/tmp/" << lab.prefix()
                        << "noipvs.sock\"; };\n"
                           "virtual_servers = ( { address = \"192.0.2.10\"; port = 8080;\n"
                           "  real_servers = ( { address = \"192.0.2.21\"; } ); } );\n";
    auto r = lab.exec("lb", {kLvsd, "-f", conf}, 10s);
    ::unlink(conf.c_str());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("IPVS is not available in this kernel: modprobe ip_vs"),
              std::string::npos)
        << r.output;
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
