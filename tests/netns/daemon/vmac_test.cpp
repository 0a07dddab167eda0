// keepalived's use_vmac on a real lvsd pair with a client on the same bridge: the VIP
// lives on a macvlan with the virtual router MAC 00:00:5e:00:01:33 (VRID 51), the client
// learns that MAC from the wire (ARP), a takeover by the peer keeps it, a macvlan deleted
// behind lvsd's back is made again, and a stopped instance removes it.
#include <signal.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;
using ::testing::HasSubstr;

namespace {

constexpr const char* kVmac = "vrrp.51";
constexpr const char* kMac = "00:00:5e:00:01:33";

class Vmac : public PairTest {
protected:
    void SetUp() override {
        PairTest::SetUp();
        lab_.netns("c");
        lab_.veth("c", "eth0", "sw", "cp");
        lab_.enslave("sw", "cp", "br0");
        lab_.address("c", "eth0", "192.0.2.100/24");
    }
    VrrpConf vmac(VrrpConf c) {
        c.instance_extra = "    use_vmac = true;\n";
        return c;
    }
    // The MAC the client has for the VIP after reaching it ("" when it cannot).
    std::string client_sees() {
        lab_.exec("c", {"ip", "neigh", "flush", "dev", "eth0"});
        if (!lab_.exec("c", {"ping", "-c", "1", "-W", "1", "192.0.2.10"}).ok()) return "";
        return lab_.exec("c", {"ip", "neigh", "show", "192.0.2.10", "dev", "eth0"}).output;
    }
};

}  // namespace

TEST_F(Vmac, TheVipAnswersFromTheVirtualMacAcrossATakeover) {
    write("a", render("a", vmac(conf_a())));
    write("b", render("b", vmac(conf_b())));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a", kVmac); }, 15s))
        << status("a") << a_.output();
    ASSERT_TRUE(wait_until([&] { return state("b") == "BACKUP" && counter("b", "adverts_received") >= 3; }, 10s))
        << status("b") << b_.output();
    EXPECT_FALSE(has_vip("b", kVmac));
    EXPECT_THAT(lab_.exec("a", {"ip", "link", "show", kVmac}).output, HasSubstr(kMac));
    EXPECT_THAT(lab_.exec("b", {"ip", "link", "show", kVmac}).output, HasSubstr(kMac));
    // The base interface does not answer ARP for the VIP: the reply comes from the macvlan.
    EXPECT_THAT(client_sees(), HasSubstr("lladdr " + std::string(kMac)));

    // a stops (priority 0, VIPs and macvlan removed): b answers, with the same MAC.
    ASSERT_EQ(::kill(a_.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return has_vip("b", kVmac); }, 5s)) << status("b");
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 5s));
    EXPECT_NE(lab_.exec("a", {"ip", "link", "show", kVmac}).status, 0) << "the stopped instance left its macvlan";
    EXPECT_THAT(client_sees(), HasSubstr("lladdr " + std::string(kMac)));

    // The macvlan deleted behind lvsd's back on the master: made again, VIP back.
    lab_.ip("b", std::string("link del ") + kVmac);
    ASSERT_TRUE(wait_until([&] { return has_vip("b", kVmac); }, 5s)) << status("b") << b_.output();
    EXPECT_THAT(b_.output(), HasSubstr("removed behind lvsd's back"));
    EXPECT_THAT(client_sees(), HasSubstr("lladdr " + std::string(kMac)));
}

TEST_F(Vmac, AnExistingInterfaceOfThatNameIsRefused) {
    // Someone else's interface named vrrp.51: lvsd does not take it over. (IPv6 instances:
    // vmac6_test.cpp.)
    lab_.ip("a", "link add vrrp.51 type veth peer name other");
    write("a", render("a", vmac(conf_a())));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 10s));
    EXPECT_NE(a_.status(), 0);
    EXPECT_THAT(a_.output(), HasSubstr("exists and is not this virtual MAC"));
}
