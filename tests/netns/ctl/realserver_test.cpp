// `lvsctl realserver up|down` in a namespace standing for a DSR real server: the VIPs go
// on lo, ARP for the VIP from the LAN goes unanswered (arp_ignore=1), and down undoes it.
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
}  // namespace

TEST(LvsctlRealserver, UpPutsVipsOnLoWithoutArpAndDownUndoesIt) {
    Lab lab;
    lab.netns("sw");
    lab.bridge("sw", "br0");
    for (const char* ns : {"rs", "cl"}) {
        lab.netns(ns);
        lab.veth(ns, "eth0", "sw", std::string(ns) + "p");
        lab.enslave("sw", std::string(ns) + "p", "br0");
    }
    lab.address("rs", "eth0", "192.0.2.21/24");
    lab.address("cl", "eth0", "192.0.2.50/24");

    auto up = lab.exec("rs", {kLvsctl, "realserver", "up", "--vip", "192.0.2.10", "--vip", "2001:db8::10"});
    ASSERT_EQ(up.status, 0) << up.output;
    auto lo = lab.exec("rs", {"ip", "-o", "addr", "show", "dev", "lo"}).output;
    EXPECT_NE(lo.find("192.0.2.10/32"), std::string::npos) << lo;
    EXPECT_NE(lo.find("2001:db8::10/128"), std::string::npos) << lo;
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "1\n");
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_announce").output, "2\n");

    // The real server answers ARP for its own address but not for the VIP.
    EXPECT_TRUE(lab.exec("cl", {"arping", "-c", "2", "-w", "3", "-I", "eth0", "192.0.2.21"}).ok());
    auto vip = lab.exec("cl", {"arping", "-c", "2", "-w", "2", "-I", "eth0", "192.0.2.10"});
    EXPECT_FALSE(vip.ok()) << "the real server answered ARP for the VIP:\n" << vip.output;

    // Idempotent, as an operator's boot script needs.
    EXPECT_EQ(lab.exec("rs", {kLvsctl, "realserver", "up", "--vip", "192.0.2.10"}).status, 0);

    auto down = lab.exec("rs", {kLvsctl, "realserver", "down", "--vip", "192.0.2.10", "--vip", "2001:db8::10"});
    ASSERT_EQ(down.status, 0) << down.output;
    lo = lab.exec("rs", {"ip", "-o", "addr", "show", "dev", "lo"}).output;
    EXPECT_EQ(lo.find("192.0.2.10"), std::string::npos) << lo;
    EXPECT_EQ(lo.find("2001:db8::10"), std::string::npos) << lo;
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "0\n");
}

TEST(LvsctlRealserver, BadArgumentsSayWhat) {
    auto r = run({kLvsctl, "realserver", "up", "--vip", "nope"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("\"nope\" is not an IP address"), std::string::npos) << r.output;
    auto none = run({kLvsctl, "realserver", "sideways"});
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.output.find("usage: lvsctl realserver up|down"), std::string::npos) << none.output;
}
