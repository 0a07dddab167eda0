// IPv6 use_vmac: the link-local address the macvlan must carry (a copy of the base
// interface's, as keepalived gives it), as a pure plan over a host::View of plain values;
// and the virtual router MACs of RFC 5798 §7.3.
#include <linux/if_addr.h>
#include <net/if.h>

#include <ostream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "host/vmac.hpp"
#include "vrrp/host_facts.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;
using host::Address;
using host::AddressChange;
using host::Link;
using host::LinkChange;

namespace {

constexpr unsigned kUp = IFF_UP | IFF_RUNNING;
constexpr int kBase = 2;
constexpr int kVmac = 9;

IpAddress ip(const char* s) { return boost::asio::ip::make_address(s); }

InstanceConfig v6_vmac() {
    InstanceConfig c;
    c.name = "VI_6";
    c.interface = "eth0";
    c.virtual_router_id = 51;
    c.priority = 150;
    c.virtual_ipaddress = {{{ip("2001:db8::10"), 64}, "", ""}};
    c.use_vmac = "vrrp.51";
    return c;
}

Address addr(int index, const char* a, uint8_t len, uint32_t flags = 0) {
    return Address{index, {ip(a), len}, "", flags, 0};
}

host::View host_with(std::initializer_list<Address> addrs, bool with_vmac = true) {
    host::View v;
    v.apply(LinkChange{Link{kBase, "eth0", kUp}});
    if (with_vmac) v.apply(LinkChange{Link{kVmac, "vrrp.51", kUp}});
    for (const auto& a : addrs) v.apply(AddressChange{a});
    return v;
}

VipOp add(const char* a, uint8_t len, std::string why = "a copy of eth0's link-local") {
    return {VipOp::Kind::Add, kVmac, "vrrp.51", {ip(a), len}, "", std::move(why)};
}
VipOp remove(const char* a, uint8_t len, std::string why) {
    return {VipOp::Kind::Remove, kVmac, "vrrp.51", {ip(a), len}, "", std::move(why)};
}

}  // namespace

namespace lvsd::vrrp {
// Readable failures.
void PrintTo(const VipOp& o, std::ostream* os) {
    *os << (o.kind == VipOp::Kind::Add ? "add " : "remove ") << fmt::format("{}", o.prefix) << " on " << o.dev << " ("
        << o.ifindex << "): " << o.why;
}
}  // namespace lvsd::vrrp

TEST(VmacLinkLocal, TheMacvlanGetsACopyOfTheBasesLinkLocal) {
    auto v = host_with({addr(kBase, "2001:db8::2", 64), addr(kBase, "fe80::1828:e8ff:fe5d:f5b7", 64)});
    EXPECT_EQ(vmac_link_local_plan(v6_vmac(), v), std::vector<VipOp>{add("fe80::1828:e8ff:fe5d:f5b7", 64)});
    // Present: nothing to do. Its prefix length is the base's.
    auto done = host_with({addr(kBase, "fe80::2", 64), addr(kVmac, "fe80::2", 64), addr(kVmac, "2001:db8::10", 64)});
    EXPECT_TRUE(vmac_link_local_plan(v6_vmac(), done).empty());
    auto other_len = host_with({addr(kBase, "fe80::2", 10)});
    EXPECT_EQ(vmac_link_local_plan(v6_vmac(), other_len), std::vector<VipOp>{add("fe80::2", 10)});
}

TEST(VmacLinkLocal, OneMadeFromTheSharedMacGoesALinkLocalVipStays) {
    auto c = v6_vmac();
    c.virtual_ipaddress.push_back({{ip("fe80::51"), 64}, "", ""});
    auto v = host_with({addr(kBase, "fe80::2", 64), addr(kVmac, "fe80::200:5eff:fe00:233", 64),
                        addr(kVmac, "fe80::51", 64)});
    EXPECT_EQ(vmac_link_local_plan(c, v),
              (std::vector<VipOp>{remove("fe80::200:5eff:fe00:233", 64, "not eth0's link-local fe80::2/64"),
                                  add("fe80::2", 64)}));
    // The base's link-local changed (a new MAC): the old copy goes, the new one comes.
    auto moved = host_with({addr(kBase, "fe80::3", 64), addr(kVmac, "fe80::2", 64)});
    EXPECT_EQ(vmac_link_local_plan(c, moved),
              (std::vector<VipOp>{remove("fe80::2", 64, "not eth0's link-local fe80::3/64"), add("fe80::3", 64)}));
}

TEST(VmacLinkLocal, TheUnicastSourceWhenItIsLinkLocalAndNeverATentativeOne) {
    auto c = v6_vmac();
    c.unicast_src_ip = ip("fe80::b");
    c.unicast_peer = {ip("fe80::c")};
    auto v = host_with({addr(kBase, "fe80::a", 64), addr(kBase, "fe80::b", 64)});
    EXPECT_EQ(vmac_link_local_plan(c, v), std::vector<VipOp>{add("fe80::b", 64)});
    // A global unicast source: the base's link-local all the same.
    c.unicast_src_ip = ip("2001:db8::2");
    c.unicast_peer = {ip("2001:db8::3")};
    EXPECT_EQ(vmac_link_local_plan(c, v), std::vector<VipOp>{add("fe80::a", 64)});
    auto tentative = host_with({addr(kBase, "fe80::a", 64, IFA_F_TENTATIVE), addr(kBase, "fe80::b", 64)});
    EXPECT_EQ(vmac_link_local_plan(v6_vmac(), tentative), std::vector<VipOp>{add("fe80::b", 64)});
}

TEST(VmacLinkLocal, NothingForIpv4WithoutUseVmacOrWithoutTheInterfacesOrAddress) {
    const auto v = host_with({addr(kBase, "fe80::2", 64), addr(kBase, "192.0.2.2", 24)});
    auto v4 = v6_vmac();
    v4.virtual_ipaddress = {{{ip("192.0.2.10"), 24}, "", ""}};
    EXPECT_TRUE(vmac_link_local_plan(v4, v).empty());
    auto plain = v6_vmac();
    plain.use_vmac.clear();
    EXPECT_TRUE(vmac_link_local_plan(plain, v).empty());
    EXPECT_TRUE(vmac_link_local_plan(v6_vmac(), host_with({addr(kBase, "fe80::2", 64)}, false)).empty());
    // No link-local on the base (the instance is in FAULT): the macvlan is left as it is.
    EXPECT_TRUE(vmac_link_local_plan(v6_vmac(), host_with({addr(kBase, "2001:db8::2", 64),
                                                           addr(kVmac, "fe80::9", 64)})).empty());
    auto no_base = host::View{};
    no_base.apply(LinkChange{Link{kVmac, "vrrp.51", kUp}});
    EXPECT_TRUE(vmac_link_local_plan(v6_vmac(), no_base).empty());
}

TEST(VmacLinkLocal, VirtualRouterMacsPerFamilyAndIpv6UseVmacIsValid) {
    EXPECT_EQ(host::virtual_router_mac(51, false), (host::MacAddress{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}));
    EXPECT_EQ(host::virtual_router_mac(51, true), (host::MacAddress{0x00, 0x00, 0x5e, 0x00, 0x02, 0x33}));
    auto c = v6_vmac();
    c.version = 3;
    c.advert_int = std::chrono::milliseconds(100);
    EXPECT_TRUE(validate(c)) << validate(c).error().message;
}
