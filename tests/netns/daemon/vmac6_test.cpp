// keepalived's use_vmac for an IPv6 instance on a real lvsd pair, watched from a client on
// the same bridge: the macvlan has the IPv6 virtual router MAC 00:00:5e:00:02:33 and no
// address made from it, but a copy of its own base's link-local (each router its own);
// the VIP answers neighbour solicitation with the virtual MAC, adverts leave from a
// link-local source, a takeover by the peer sends unsolicited NAs with the virtual MAC,
// a link-local removed by hand comes back, and a stopped instance removes its macvlan.
#include <signal.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vmac6.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::vmac6;
using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(Vmac6Test, TheVipAnswersFromTheVirtualMacAcrossATakeover) {
    ASSERT_NO_FATAL_FAILURE(capture());
    write("a", render("a", v6(conf_a())));
    write("b", render("b", v6(conf_b())));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip6("a"); }, 15s)) << status("a") << a_.output();
    ASSERT_TRUE(wait_until([&] { return state("b") == "BACKUP" && counter("b", "adverts_received") >= 3; }, 10s))
        << status("b") << b_.output();
    EXPECT_FALSE(has_vip6("b"));

    // The macvlans: the virtual MAC, private mode, no address generated from the MAC.
    for (const char* ns : {"a", "b"}) {
        const auto link = lab_.exec(ns, {"ip", "-d", "link", "show", kVmac}).output;
        EXPECT_THAT(link, HasSubstr(std::string("link/ether ") + kMac)) << ns;
        EXPECT_THAT(link, HasSubstr("macvlan mode private")) << ns;
        EXPECT_THAT(link, HasSubstr("addrgenmode none")) << ns;
    }
    // Each carries exactly its own base's link-local: the two routers never share one.
    const auto ll_a = link_locals("a", "eth0"), ll_b = link_locals("b", "eth0");
    ASSERT_EQ(ll_a.size(), 1u) << addrs("a");
    ASSERT_EQ(ll_b.size(), 1u) << addrs("b");
    EXPECT_NE(ll_a, ll_b);
    EXPECT_EQ(link_locals("a", kVmac), ll_a) << addrs("a", kVmac);
    EXPECT_EQ(link_locals("b", kVmac), ll_b) << addrs("b", kVmac);

    // The client resolves the VIP: the answer comes from the macvlan, with the virtual MAC
    // as the target link-layer address, as seen on the wire.
    const auto before_ping = dump_.output().size();
    EXPECT_THAT(client_sees(), HasSubstr(std::string("lladdr ") + kMac));
    ASSERT_TRUE(wait_until([&] { return !adverts_for_vip(seen(before_ping), true).empty(); }, 2s)) << seen(before_ping);
    for (const auto& na : adverts_for_vip(seen(before_ping), true)) {
        EXPECT_EQ(ether_source(na), kMac) << na;
        EXPECT_THAT(na, HasSubstr(std::string("destination link-address option (2), length 8 (1): ") + kMac)) << na;
    }
    // The adverts: each from its router's own link-local, sent from the virtual MAC. (b
    // may have been master for a few adverts while both started.)
    auto from_a = [&] {
        std::size_t n = 0;
        for (const auto& p : vrrp_adverts(dump_.output())) n += ip6_source(p) == bare(ll_a[0]);
        return n;
    };
    ASSERT_TRUE(wait_until([&] { return from_a() >= 5; }, 2s)) << dump_.output();
    for (const auto& p : vrrp_adverts(dump_.output())) {
        EXPECT_EQ(ether_source(p), kMac) << p;
        if (ip6_source(p) != bare(ll_a[0])) {
            EXPECT_EQ(ip6_source(p), bare(ll_b[0])) << p;
        }
    }
    std::cout << "[ measure  ] " << from_a() << " adverts from " << bare(ll_a[0]) << " seen" << std::endl;

    // a stops (priority 0, VIP and macvlan removed): b takes over and tells the segment
    // with unsolicited NAs that carry the same virtual MAC.
    const auto mark = dump_.output().size();
    const auto t0 = Clock::now();
    ASSERT_EQ(::kill(a_.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return has_vip6("b"); }, 5s)) << status("b");
    measure("takeover_after_sigterm", ms_since(t0));
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 5s));
    EXPECT_EQ(a_.status(), 0) << a_.output();
    EXPECT_NE(lab_.exec("a", {"ip", "link", "show", kVmac}).status, 0) << "the stopped instance left its macvlan";
    ASSERT_TRUE(wait_until([&] { return !adverts_for_vip(seen(mark), false).empty(); }, 2s)) << seen(mark);
    for (const auto& na : adverts_for_vip(seen(mark), false)) {
        EXPECT_EQ(ether_source(na), kMac) << na;
        EXPECT_THAT(na, HasSubstr("Flags [override]")) << na;
        EXPECT_THAT(na, HasSubstr(std::string("destination link-address option (2), length 8 (1): ") + kMac)) << na;
    }
    ASSERT_TRUE(wait_until([&] { return vrrp_adverts(seen(mark)).size() >= 3; }, 2s)) << seen(mark);
    // (a's priority-0 advert may be in the capture too.)
    for (const auto& p : vrrp_adverts(seen(mark))) {
        if (ip6_source(p) != bare(ll_a[0])) {
            EXPECT_EQ(ip6_source(p), bare(ll_b[0])) << p;
        }
    }
    EXPECT_THAT(client_sees(), HasSubstr(std::string("lladdr ") + kMac));

    // The link-local removed from the master's macvlan by hand: put back.
    lab_.ip("b", "addr del " + ll_b[0] + " dev " + kVmac);
    ASSERT_TRUE(wait_until([&] { return link_locals("b", kVmac) == ll_b; }, 5s)) << addrs("b", kVmac);
    EXPECT_THAT(b_.output(), HasSubstr("changed behind lvsd's back"));
    EXPECT_EQ(state("b"), "MASTER");
}

TEST_F(Vmac6Test, AddressesMadeFromTheVirtualMacAreRemovedFromAnExistingMacvlan) {
    // A macvlan of that name, MAC and base left behind (an earlier run killed with -9) that
    // made its own link-local from the shared MAC: lvsd takes it, and the address goes.
    lab_.ip("a", std::string("link add ") + kVmac + " link eth0 address " + kMac + " type macvlan mode private");
    lab_.ip("a", std::string("link set ") + kVmac + " up");
    ASSERT_TRUE(wait_until([&] { return !link_locals("a", kVmac).empty(); }, 5s)) << addrs("a", kVmac);
    ASSERT_EQ(link_locals("a", kVmac), std::vector<std::string>{"fe80::200:5eff:fe00:233/64"});
    write("a", render("a", v6(conf_a())));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip6("a"); }, 15s)) << status("a") << a_.output();
    EXPECT_EQ(link_locals("a", kVmac), link_locals("a", "eth0")) << addrs("a", kVmac);
    EXPECT_THAT(lab_.exec("a", {"ip", "-d", "link", "show", kVmac}).output, HasSubstr("addrgenmode none"));
    EXPECT_THAT(a_.output(), Not(HasSubstr("behind lvsd's back")));
}

TEST_F(Vmac6Test, WithVmacXmitBaseAdvertsUseTheBaseAndTheVipStillTheVirtualMac) {
    ASSERT_NO_FATAL_FAILURE(capture());
    VrrpConf ca = v6(conf_a()), cb = v6(conf_b());
    ca.instance_extra += "    vmac_xmit_base = true;\n";
    cb.instance_extra += "    vmac_xmit_base = true;\n";
    write("a", render("a", ca));
    write("b", render("b", cb));
    a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip6("a"); }, 15s)) << status("a") << a_.output();
    ASSERT_TRUE(wait_until([&] { return state("b") == "BACKUP" && counter("b", "adverts_received") >= 3; }, 10s))
        << status("b") << b_.output();
    EXPECT_FALSE(has_vip6("b"));
    // a's adverts leave eth0 (its own MAC) from eth0's link-local.
    const auto ll_a = bare(link_locals("a", "eth0").at(0));
    const auto mac_a = lab_.exec("a", {"cat", "/sys/class/net/eth0/address"}).output.substr(0, 17);
    auto from_a = [&] {
        std::vector<std::string> out;
        for (const auto& p : vrrp_adverts(dump_.output()))
            if (ip6_source(p) == ll_a) out.push_back(p);
        return out;
    };
    ASSERT_TRUE(wait_until([&] { return from_a().size() >= 5; }, 2s)) << dump_.output();
    for (const auto& p : from_a()) EXPECT_EQ(ether_source(p), mac_a) << p;
    EXPECT_THAT(client_sees(), HasSubstr(std::string("lladdr ") + kMac));
}
