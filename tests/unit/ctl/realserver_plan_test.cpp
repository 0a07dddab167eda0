// plan_realserver: what `lvsctl realserver up|down` changes, from the addresses on lo.
#include <gtest/gtest.h>

#include "ctl/realserver_plan.hpp"

using namespace lvsd;
using namespace lvsd::ctl;

namespace {

IpAddress ip(const char* s) { return *parse_address(s); }
Prefix pfx(const char* s) { return *parse_prefix(s); }
const Prefix kLo4 = pfx("127.0.0.1/8"), kLo6 = pfx("::1/128");

bool has_note(const RealserverPlan& p, const std::string& text) {
    for (const auto& n : p.notes)
        if (n.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(RealserverPlan, UpAddsHostAddressesAndSetsArp) {
    auto p = plan_realserver(true, {ip("192.0.2.10"), ip("2001:db8::10")}, {kLo4, kLo6});
    EXPECT_EQ(p.add, (std::vector<Prefix>{pfx("192.0.2.10/32"), pfx("2001:db8::10/128")}));
    EXPECT_TRUE(p.remove.empty());
    EXPECT_EQ(p.arp, (ArpSysctls{1, 2}));
    EXPECT_TRUE(p.notes.empty());
}

TEST(RealserverPlan, UpReportsAnAddressAlreadyThereWithItsLength) {
    auto p = plan_realserver(true, {ip("192.0.2.10")}, {kLo4, pfx("192.0.2.10/32")});
    EXPECT_TRUE(p.add.empty());
    EXPECT_TRUE(has_note(p, "192.0.2.10/32 already present on lo"));
    EXPECT_EQ(p.arp, (ArpSysctls{1, 2})) << "up sets the sysctls even when the address was there";
}

TEST(RealserverPlan, DownReportsAnAbsentAddressAsNotPresent) {
    auto p = plan_realserver(false, {ip("192.0.2.10")}, {kLo4});
    EXPECT_TRUE(p.remove.empty());
    EXPECT_TRUE(has_note(p, "192.0.2.10 not present on lo"));
    EXPECT_EQ(p.arp, (ArpSysctls{0, 0}));
}

TEST(RealserverPlan, DownRemovesWithTheLengthOnLo) {
    auto p = plan_realserver(false, {ip("192.0.2.10")}, {kLo4, pfx("192.0.2.10/24")});
    EXPECT_EQ(p.remove, (std::vector<Prefix>{pfx("192.0.2.10/24")}));
}

TEST(RealserverPlan, DownKeepsArpWhileAnotherIpv4VipStaysOnLo) {
    auto p = plan_realserver(false, {ip("192.0.2.10")}, {kLo4, pfx("192.0.2.10/32"), pfx("198.51.100.7/32")});
    EXPECT_EQ(p.remove, (std::vector<Prefix>{pfx("192.0.2.10/32")}));
    EXPECT_FALSE(p.arp) << "198.51.100.7 would be answered for on the LAN again";
    EXPECT_TRUE(has_note(p, "left as they are: 198.51.100.7/32 still on lo"));
}

TEST(RealserverPlan, DownResetsArpOnceTheLastIpv4VipGoes) {
    // 127/8 and IPv6 addresses on lo do not hold the sysctls.
    auto p = plan_realserver(false, {ip("192.0.2.10"), ip("198.51.100.7")},
                             {kLo4, kLo6, pfx("192.0.2.10/32"), pfx("198.51.100.7/32"), pfx("2001:db8::9/128")});
    EXPECT_EQ(p.remove.size(), 2u);
    EXPECT_EQ(p.arp, (ArpSysctls{0, 0}));
}

TEST(RealserverPlan, Ipv6OnlyLeavesTheIpv4ArpSysctlsAlone) {
    auto up = plan_realserver(true, {ip("2001:db8::10")}, {kLo4, kLo6});
    EXPECT_EQ(up.add, (std::vector<Prefix>{pfx("2001:db8::10/128")}));
    EXPECT_FALSE(up.arp);
    EXPECT_TRUE(has_note(up, "IPv6 only"));
    auto down = plan_realserver(false, {ip("2001:db8::10")}, {kLo4, kLo6, pfx("2001:db8::10/128")});
    EXPECT_EQ(down.remove, (std::vector<Prefix>{pfx("2001:db8::10/128")}));
    EXPECT_FALSE(down.arp);
}
