// `lvsctl realserver up|down` in a namespace standing for a DSR real server: the VIPs go
// on lo, ARP for the VIP from the LAN goes unanswered (arp_ignore=1), and down undoes it.
#include <string>
#include <vector>

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

    // Idempotent, as an operator's boot script needs, and truthful about it.
    auto again = lab.exec("rs", {kLvsctl, "realserver", "up", "--vip", "192.0.2.10"});
    EXPECT_EQ(again.status, 0) << again.output;
    EXPECT_NE(again.output.find("192.0.2.10/32 already present on lo"), std::string::npos) << again.output;
    EXPECT_EQ(again.output.find("added"), std::string::npos) << again.output;

    auto down = lab.exec("rs", {kLvsctl, "realserver", "down", "--vip", "192.0.2.10", "--vip", "2001:db8::10"});
    ASSERT_EQ(down.status, 0) << down.output;
    lo = lab.exec("rs", {"ip", "-o", "addr", "show", "dev", "lo"}).output;
    EXPECT_EQ(lo.find("192.0.2.10"), std::string::npos) << lo;
    EXPECT_EQ(lo.find("2001:db8::10"), std::string::npos) << lo;
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "0\n");
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_announce").output, "0\n");
    auto gone = lab.exec("rs", {kLvsctl, "realserver", "down", "--vip", "192.0.2.10"});
    EXPECT_EQ(gone.status, 0) << gone.output;
    EXPECT_NE(gone.output.find("192.0.2.10 not present on lo"), std::string::npos) << gone.output;
}

// Taking one VIP down while another stays on lo must keep the ARP settings: with
// arp_ignore back at 0 the real server would answer ARP for the VIP that stays.
TEST(LvsctlRealserver, DownOfOneVipKeepsArpWhileAnotherStays) {
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
    auto up = lab.exec("rs", {kLvsctl, "realserver", "up", "--vip", "192.0.2.10", "--vip", "192.0.2.11"});
    ASSERT_EQ(up.status, 0) << up.output;

    auto down = lab.exec("rs", {kLvsctl, "realserver", "down", "--vip", "192.0.2.10"});
    ASSERT_EQ(down.status, 0) << down.output;
    EXPECT_NE(down.output.find("192.0.2.10/32 removed from lo"), std::string::npos) << down.output;
    EXPECT_NE(down.output.find("left as they are: 192.0.2.11/32 still on lo"), std::string::npos) << down.output;
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "1\n");
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_announce").output, "2\n");
    // On the wire: the VIP that stays is still not answered for.
    auto vip = lab.exec("cl", {"arping", "-c", "2", "-w", "2", "-I", "eth0", "192.0.2.11"});
    EXPECT_FALSE(vip.ok()) << "the real server answered ARP for the VIP that stays:\n" << vip.output;

    auto last = lab.exec("rs", {kLvsctl, "realserver", "down", "--vip", "192.0.2.11"});
    ASSERT_EQ(last.status, 0) << last.output;
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "0\n");
    EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_announce").output, "0\n");
}

// IPv6 VIPs only: the IPv4 ARP sysctls are not lvsctl's business (they stay as set).
TEST(LvsctlRealserver, Ipv6OnlyLeavesTheIpv4ArpSysctlsAlone) {
    Lab lab;
    lab.netns("rs");
    lab.sh("rs", "echo 2 > /proc/sys/net/ipv4/conf/all/arp_ignore; echo 1 > /proc/sys/net/ipv4/conf/all/arp_announce");
    for (const char* verb : {"up", "down"}) {
        auto r = lab.exec("rs", {kLvsctl, "realserver", verb, "--vip", "2001:db8::10"});
        ASSERT_EQ(r.status, 0) << verb << ": " << r.output;
        EXPECT_NE(r.output.find("IPv6 only"), std::string::npos) << r.output;
        EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_ignore").output, "2\n") << verb;
        EXPECT_EQ(lab.sh("rs", "cat /proc/sys/net/ipv4/conf/all/arp_announce").output, "1\n") << verb;
    }
    EXPECT_EQ(lab.exec("rs", {"ip", "-o", "addr", "show", "dev", "lo"}).output.find("2001:db8::10"), std::string::npos);
}

// Every usage error exits 2 (runtime failures exit 1), and nothing is changed.
TEST(LvsctlRealserver, BadArgumentsSayWhat) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"realserver", "up", "--vip", "127.0.0.5"}, {"realserver", "down", "--vip", "::1"},
          {"realserver", "up", "--vip", "224.0.0.18"}, {"realserver", "up"}, {"bogus"}, {"status", "-s"}, {}}) {
        std::vector<std::string> argv{kLvsctl};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run(argv);
        EXPECT_EQ(r.status, 2) << ::testing::PrintToString(args) << ": " << r.output;
        EXPECT_TRUE(r.output.starts_with("lvsctl: ")) << r.output;
    }
    EXPECT_NE(run({kLvsctl, "realserver", "up", "--vip", "127.0.0.5"}).output.find("loopback"), std::string::npos);
    // A daemon that is not there is a failure, not a usage error.
    EXPECT_EQ(run({kLvsctl, "-s", "/nonexistent/lvsd.sock", "status"}).status, 1);

    auto r = run({kLvsctl, "realserver", "up", "--vip", "nope"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("\"nope\" is not an IP address"), std::string::npos) << r.output;
    auto none = run({kLvsctl, "realserver", "sideways"});
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.output.find("usage: lvsctl realserver up|down"), std::string::npos) << none.output;
}
