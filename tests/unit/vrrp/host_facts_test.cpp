// What an instance may do on the host, and what it must change there: pure answers to a
// host::View built from plain values.
#include <linux/if_addr.h>
#include <net/if.h>

#include <gtest/gtest.h>

#include "vrrp/host_facts.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;
using host::Address;
using host::AddressChange;
using host::Link;
using host::LinkChange;

namespace {

constexpr unsigned kUp = IFF_UP | IFF_RUNNING;

IpAddress ip(const char* s) { return boost::asio::ip::make_address(s); }

InstanceConfig instance() {
    InstanceConfig c;
    c.name = "VI_1";
    c.interface = "eth0";
    c.virtual_router_id = 51;
    c.priority = 150;
    c.virtual_ipaddress = {{{ip("192.0.2.10"), 24}, "", ""}};
    return c;
}

host::View host_with(std::initializer_list<Link> links, std::initializer_list<Address> addrs) {
    host::View v;
    for (const auto& l : links) v.apply(LinkChange{l});
    for (const auto& a : addrs) v.apply(AddressChange{a});
    return v;
}

Address addr(int index, const char* a, uint8_t len, std::string label = "eth0", uint32_t flags = 0) {
    return Address{index, {ip(a), len}, std::move(label), flags, 0};
}

}  // namespace

TEST(HostFacts, TheInterfaceByNameAndTheFirstPrimaryNonVipAddress) {
    auto v = host_with({Link{7, "eth0", kUp}},
                       {addr(7, "192.0.2.10", 24), addr(7, "192.0.2.2", 24), addr(7, "198.51.100.2", 24)});
    auto f = host_facts(instance(), v);
    EXPECT_EQ(f.ifindex, 7);
    ASSERT_TRUE(f.source);
    EXPECT_EQ(*f.source, ip("192.0.2.2"));  // the VIP is never the source
    EXPECT_EQ(f.fault, "");
    EXPECT_EQ(f.vip_devices.at("eth0"), 7);
}

TEST(HostFacts, SecondaryOnlyWhenNoPrimaryIsLeft) {
    auto v = host_with({Link{2, "eth0", kUp}},
                       {addr(2, "192.0.2.5", 24, "eth0", IFA_F_SECONDARY), addr(2, "192.0.2.2", 24)});
    EXPECT_EQ(*host_facts(instance(), v).source, ip("192.0.2.2"));
    auto only = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.5", 24, "eth0", IFA_F_SECONDARY)});
    EXPECT_EQ(*host_facts(instance(), only).source, ip("192.0.2.5"));
}

TEST(HostFacts, EachReasonForFault) {
    auto c = instance();
    EXPECT_EQ(host_facts(c, host_with({}, {})).fault, "interface eth0 does not exist");
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", IFF_UP}}, {addr(2, "192.0.2.2", 24)})).fault,
              "interface eth0 is down");
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.10", 24)})).fault,
              "interface eth0 has no usable IPv4 address to send adverts from");
    // A tracked interface is a tracker (priority.hpp), not a host fact.
    c.track_interface = {{"bond0", 0}};
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24)})).fault, "");
    c.track_interface.clear();
    c.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "eth9", ""});
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24)})).fault,
              "interface eth9 of VIP 192.0.2.11/24 does not exist");
}

// keepalived's dont_track_primary: the instance's own interface being down (admin down
// or no carrier) is no fault; it missing or without a source address still is.
TEST(HostFacts, DontTrackPrimaryIgnoresOnlyTheInterfaceBeingDown) {
    auto c = instance();
    const auto admin_down = host_with({Link{2, "eth0", 0}}, {addr(2, "192.0.2.2", 24)});
    const auto no_carrier = host_with({Link{2, "eth0", IFF_UP}}, {addr(2, "192.0.2.2", 24)});
    EXPECT_EQ(host_facts(c, admin_down).fault, "interface eth0 is down");
    EXPECT_EQ(host_facts(c, no_carrier).fault, "interface eth0 is down");
    c.dont_track_primary = true;
    EXPECT_EQ(host_facts(c, admin_down).fault, "");
    EXPECT_EQ(host_facts(c, no_carrier).fault, "");
    EXPECT_EQ(host_facts(c, no_carrier).ifindex, 2);  // adverts still go there
    EXPECT_EQ(host_facts(c, no_carrier).source, ip("192.0.2.2"));
    EXPECT_EQ(host_facts(c, host_with({}, {})).fault, "interface eth0 does not exist");
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", 0}}, {})).fault,
              "interface eth0 has no usable IPv4 address to send adverts from");
    c.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "eth9", ""});
    EXPECT_EQ(host_facts(c, admin_down).fault, "interface eth9 of VIP 192.0.2.11/24 does not exist");
}

TEST(HostFacts, DontTrackPrimaryCoversTheVirtualMacInterfaceToo) {
    auto c = instance();
    c.use_vmac = "vrrp.51";
    const auto down = host_with({Link{2, "eth0", IFF_UP}, Link{3, "vrrp.51", IFF_UP}}, {addr(2, "192.0.2.2", 24)});
    EXPECT_EQ(host_facts(c, down).fault, "interface eth0 is down");
    c.dont_track_primary = true;
    EXPECT_EQ(host_facts(c, down).fault, "");
    EXPECT_EQ(host_facts(c, host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24)})).fault,
              "virtual MAC interface vrrp.51 does not exist");
}

// The flag is about the instance's own interface only: a tracked interface (even the
// same one, listed in track_interface) and every other tracker still count.
TEST(CollectTrackers, DontTrackPrimaryLeavesTheTrackersAlone) {
    auto c = instance();
    c.dont_track_primary = true;
    c.track_interface = {{"eth0", 0}, {"eth1", -10}};
    c.track_script = {{"chk", 0}};
    auto v = host_with({Link{2, "eth0", IFF_UP}, Link{3, "eth1", 0}}, {addr(2, "192.0.2.2", 24)});
    EXPECT_EQ(host_facts(c, v).fault, "");
    const std::map<std::string, bool> scripts{{"chk", false}};
    auto t = collect_trackers(c, v, {&scripts, nullptr, nullptr, std::nullopt});
    ASSERT_EQ(t.size(), 3u);
    EXPECT_FALSE(t[0].ok);
    EXPECT_FALSE(t[1].ok);
    EXPECT_EQ(effective_priority(150, t).fault, "interface eth0 is down");
    c.track_interface = {{"eth1", -10}};
    auto p = effective_priority(150, collect_trackers(c, v, {&scripts, nullptr, nullptr, std::nullopt}));
    EXPECT_EQ(p.priority, 140);
    EXPECT_EQ(p.fault, "script chk failed");
}

TEST(HostFacts, UnicastSourceMustBeOnTheInterfaceAndUsable) {
    auto c = instance();
    c.unicast_src_ip = ip("192.0.2.3");
    c.unicast_peer = {ip("192.0.2.4")};
    auto without = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24)});
    EXPECT_FALSE(host_facts(c, without).source);
    EXPECT_EQ(host_facts(c, without).fault, "unicast_src_ip 192.0.2.3 is not a usable address of eth0");
    auto with = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24), addr(2, "192.0.2.3", 24)});
    EXPECT_EQ(*host_facts(c, with).source, ip("192.0.2.3"));
}

TEST(HostFacts, Ipv6UsesAUsableLinkLocalAddress) {
    auto c = instance();
    c.virtual_ipaddress = {{{ip("2001:db8::10"), 64}, "", ""}};
    auto tentative = host_with({Link{2, "eth0", kUp}},
                               {addr(2, "2001:db8::2", 64, ""), addr(2, "fe80::2", 64, "", IFA_F_TENTATIVE)});
    EXPECT_FALSE(host_facts(c, tentative).source);
    auto ready = host_with({Link{2, "eth0", kUp}}, {addr(2, "2001:db8::2", 64, ""), addr(2, "fe80::2", 64, "")});
    EXPECT_EQ(*host_facts(c, ready).source, ip("fe80::2"));
}

TEST(CheckHost, NamesWhatIsMissing) {
    auto c = instance();
    c.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "eth9", ""});
    auto v = host_with({Link{2, "eth0", IFF_UP}}, {});  // down and without address: not a check's business
    auto problems = check_host(c, v);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].kind, HostProblem::Kind::VipDevice);
    EXPECT_EQ(problems[0].vip, 1u);
    EXPECT_NE(problems[0].message.find("eth9"), std::string::npos);
    c.interface = "eth8";
    problems = check_host(c, v);
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_EQ(problems[0].kind, HostProblem::Kind::Interface);
    c.interface = "eth0";
    c.virtual_ipaddress.pop_back();
    c.unicast_src_ip = ip("192.0.2.3");
    c.unicast_peer = {ip("192.0.2.4")};
    problems = check_host(c, v);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].kind, HostProblem::Kind::UnicastSource);
}

TEST(VipPlan, MasterAddsWhatIsMissingAndFixesLabels) {
    auto c = instance();
    c.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "", "eth0:vip"});
    auto v = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24), addr(2, "192.0.2.11", 24, "eth0:x")});
    auto plan = vip_plan(c, host_facts(c, v), v, true);
    ASSERT_EQ(plan.size(), 3u);
    EXPECT_EQ(plan[0], (VipOp{VipOp::Kind::Add, 2, "eth0", {ip("192.0.2.10"), 24}, "", "absent"}));
    EXPECT_EQ(plan[1].kind, VipOp::Kind::Remove);
    EXPECT_EQ(plan[1].why, "label eth0:x, wanted eth0:vip");
    EXPECT_EQ(plan[2], (VipOp{VipOp::Kind::Add, 2, "eth0", {ip("192.0.2.11"), 24}, "eth0:vip",
                              "label eth0:x, wanted eth0:vip"}));
    // Everything in place: nothing to do (no label means the kernel's: the interface name).
    auto done = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24), addr(2, "192.0.2.10", 24),
                                                   addr(2, "192.0.2.11", 24, "eth0:vip")});
    EXPECT_TRUE(vip_plan(c, host_facts(c, done), done, true).empty());
}

TEST(VipPlan, NotMasterRemovesAnyAddressEqualToAVip) {
    auto c = instance();
    auto v = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24), addr(2, "192.0.2.10", 32)});
    auto plan = vip_plan(c, host_facts(c, v), v, false);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].kind, VipOp::Kind::Remove);
    EXPECT_EQ(plan[0].prefix, (Prefix{ip("192.0.2.10"), 32}));
    // The same address on another interface is not ours to judge.
    auto elsewhere = host_with({Link{2, "eth0", kUp}, Link{3, "eth1", kUp}},
                               {addr(2, "192.0.2.2", 24), addr(3, "192.0.2.10", 24, "eth1")});
    EXPECT_TRUE(vip_plan(c, host_facts(c, elsewhere), elsewhere, false).empty());
    // An address owner's VIPs go too, as keepalived removes them (else a stopped owner and
    // the new master would both hold them).
    c.priority = 255;
    EXPECT_EQ(vip_plan(c, host_facts(c, v), v, false).size(), 1u);
}

TEST(VipPlan, AVipWhoseInterfaceIsGoneIsSkipped) {
    auto c = instance();
    c.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "eth9", ""});
    auto v = host_with({Link{2, "eth0", kUp}}, {addr(2, "192.0.2.2", 24)});
    auto plan = vip_plan(c, host_facts(c, v), v, true);
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].dev, "eth0");
}

TEST(VipsLeaving, OnlyWhatTheNewConfigDropsAndNeverAsOwner) {
    auto from = instance();
    from.priority = 255;
    from.virtual_ipaddress.push_back({{ip("192.0.2.11"), 24}, "", ""});
    from.virtual_ipaddress.push_back({{ip("192.0.2.12"), 24}, "eth1", ""});
    auto to = instance();
    to.virtual_ipaddress.push_back({{ip("192.0.2.12"), 24}, "eth2", ""});  // moved to another interface
    auto leaving = vips_leaving(from, to);
    ASSERT_EQ(leaving.virtual_ipaddress.size(), 2u);
    EXPECT_EQ(leaving.virtual_ipaddress[0].prefix.address, ip("192.0.2.11"));
    EXPECT_EQ(leaving.virtual_ipaddress[1].dev, "eth1");
    EXPECT_NE(leaving.priority, 255);
}

TEST(CollectTrackers, EveryKindInConfigOrderWithWhatWasReported) {
    auto c = instance();
    c.track_interface = {{"eth1", -10}};
    c.track_script = {{"chk", -60}, {"new", 5}};
    c.track_process = {{"hap", 0}};
    c.track_file = {{"f", 2}};
    c.track_arp_weight = -7;
    auto v = host_with({Link{2, "eth0", kUp}, Link{3, "eth1", IFF_UP}}, {addr(2, "192.0.2.2", 24)});
    const std::map<std::string, bool> scripts{{"chk", false}};
    const std::map<std::string, long> files{{"f", 4}};
    const std::map<std::string, bool> processes{{"hap", false}};
    auto t = collect_trackers(c, v, {&scripts, &files, &processes, false});
    ASSERT_EQ(t.size(), 6u);
    EXPECT_EQ(t[0], (Tracker{Tracker::Kind::Interface, "eth1", -10, false, "is down", std::nullopt}));
    EXPECT_FALSE(t[1].ok);
    EXPECT_TRUE(t[2].ok);  // not reported yet: well
    EXPECT_EQ(t[3].kind, Tracker::Kind::Process);
    EXPECT_FALSE(t[3].ok);
    EXPECT_EQ(t[4].value, 4);
    EXPECT_EQ(t[5].kind, Tracker::Kind::ArpTarget);
    EXPECT_EQ(t[5].weight, -7);
    EXPECT_EQ(effective_priority(150, t).fault, "process hap is out of quorum");
}
