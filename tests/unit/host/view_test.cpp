// The host view and the rtnetlink decoder, with messages built byte by byte as the
// kernel sends them (include/uapi/linux/rtnetlink.h, if_addr.h, if_link.h).
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "host/rtnl_decode.hpp"
#include "host/view.hpp"

using namespace lvsd;
using namespace lvsd::host;

namespace {

IpAddress ip(const char* s) { return boost::asio::ip::make_address(s); }

// Appends one netlink message: header, fixed part, then attributes (type, payload).
struct MessageBuilder {
    std::vector<std::byte> bytes;

    template <class Fixed>
    std::size_t begin(uint16_t type, uint16_t flags, const Fixed& fixed) {
        const std::size_t start = bytes.size();
        nlmsghdr h{};
        h.nlmsg_type = type;
        h.nlmsg_flags = flags;
        put(&h, sizeof h);
        put(&fixed, sizeof fixed);
        return start;
    }
    void attr(uint16_t type, const void* data, std::size_t len) {
        nlattr a{};
        a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
        a.nla_type = type;
        put(&a, sizeof a);
        put(data, len);
    }
    void attr_str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
    void end(std::size_t start) {
        const auto len = static_cast<uint32_t>(bytes.size() - start);
        std::memcpy(bytes.data() + start, &len, sizeof len);
    }
    void put(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        bytes.insert(bytes.end(), b, b + n);
        while (bytes.size() % 4) bytes.push_back(std::byte{0});
    }
    void link(uint16_t type, int index, unsigned flags, const std::string& name) {
        ifinfomsg ifi{};
        ifi.ifi_index = index;
        ifi.ifi_flags = flags;
        auto s = begin(type, 0, ifi);
        if (!name.empty()) attr_str(IFLA_IFNAME, name);
        end(s);
    }
    void address(uint16_t type, int index, const char* addr, uint8_t len, const std::string& label = {},
                 uint32_t flags = 0) {
        const IpAddress a = ip(addr);
        ifaddrmsg ifa{};
        ifa.ifa_family = a.is_v4() ? AF_INET : AF_INET6;
        ifa.ifa_prefixlen = len;
        ifa.ifa_index = static_cast<uint32_t>(index);
        ifa.ifa_flags = static_cast<uint8_t>(flags & 0xff);
        auto s = begin(type, 0, ifa);
        if (a.is_v4()) {
            auto b = a.to_v4().to_bytes();
            attr(IFA_ADDRESS, b.data(), b.size());
            attr(IFA_LOCAL, b.data(), b.size());
        } else {
            auto b = a.to_v6().to_bytes();
            attr(IFA_ADDRESS, b.data(), b.size());
        }
        if (!label.empty()) attr_str(IFA_LABEL, label);
        attr(IFA_FLAGS, &flags, sizeof flags);
        end(s);
    }
};

constexpr unsigned kUp = IFF_UP | IFF_RUNNING;

}  // namespace

TEST(RtnlDecode, LinksAndAddressesOfBothFamilies) {
    MessageBuilder m;
    m.link(RTM_NEWLINK, 2, kUp, "eth0");
    m.address(RTM_NEWADDR, 2, "192.0.2.2", 24, "eth0");
    m.address(RTM_NEWADDR, 2, "fe80::1", 64, {}, IFA_F_TENTATIVE);
    m.address(RTM_DELADDR, 2, "192.0.2.10", 24, "eth0:vip");
    auto d = decode(m.bytes);
    EXPECT_EQ(d.malformed, 0u);
    ASSERT_EQ(d.changes.size(), 4u);
    const auto& l = std::get<LinkChange>(d.changes[0]);
    EXPECT_EQ(l.link.index, 2);
    EXPECT_EQ(l.link.name, "eth0");
    EXPECT_TRUE(l.link.up());
    const auto& a = std::get<AddressChange>(d.changes[1]);
    EXPECT_EQ(a.address.prefix, (Prefix{ip("192.0.2.2"), 24}));
    EXPECT_EQ(a.address.label, "eth0");
    EXPECT_FALSE(a.removed);
    const auto& v6 = std::get<AddressChange>(d.changes[2]);
    EXPECT_TRUE(v6.address.tentative());
    EXPECT_FALSE(v6.address.usable());
    const auto& del = std::get<AddressChange>(d.changes[3]);
    EXPECT_TRUE(del.removed);
    EXPECT_EQ(del.address.label, "eth0:vip");
}

TEST(RtnlDecode, EndOfDumpInterruptionAndErrors) {
    MessageBuilder m;
    int zero = 0;
    auto s = m.begin(NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, zero);
    m.end(s);
    auto d = decode(m.bytes);
    EXPECT_TRUE(d.done);
    EXPECT_TRUE(d.interrupted);

    MessageBuilder e;
    nlmsgerr err{};
    err.error = -EPERM;
    auto s2 = e.begin(NLMSG_ERROR, 0, err);
    e.end(s2);
    auto d2 = decode(e.bytes);
    ASSERT_TRUE(d2.error);
    EXPECT_EQ(*d2.error, -EPERM);
}

TEST(RtnlDecode, MalformedInputIsSkippedAndCounted) {
    MessageBuilder m;
    m.link(RTM_NEWLINK, 3, kUp, "eth1");
    auto good = m.bytes;
    // A header that claims more than there is.
    auto truncated = good;
    truncated.resize(truncated.size() - 8);
    EXPECT_TRUE(decode(truncated).changes.empty());
    // An attribute longer than its message.
    auto bad_attr = good;
    const std::size_t attr_at = sizeof(nlmsghdr) + sizeof(ifinfomsg);
    uint16_t huge = 200;
    std::memcpy(bad_attr.data() + attr_at, &huge, sizeof huge);
    auto d = decode(bad_attr);
    EXPECT_TRUE(d.changes.empty());
    EXPECT_EQ(d.malformed, 1u);
    // A new link without a name, an address with a wrong-size address, an index 0.
    MessageBuilder n;
    n.link(RTM_NEWLINK, 4, kUp, "");
    n.address(RTM_NEWADDR, 0, "192.0.2.2", 24);
    n.address(RTM_NEWADDR, 2, "192.0.2.2", 33);
    auto d2 = decode(n.bytes);
    EXPECT_TRUE(d2.changes.empty());
    EXPECT_EQ(d2.malformed, 3u);
    // Nothing at all, and garbage shorter than a header.
    EXPECT_TRUE(decode({}).changes.empty());
    std::vector<std::byte> junk(7, std::byte{0xff});
    EXPECT_TRUE(decode(junk).changes.empty());
}

TEST(HostView, FollowsRenamesRecreationAndRemovals) {
    View v;
    Link eth0{2, "eth0", kUp};
    EXPECT_TRUE(v.apply(LinkChange{eth0}));
    EXPECT_FALSE(v.apply(LinkChange{eth0}));  // the same again: no change
    Address a{2, {ip("192.0.2.2"), 24}, "eth0", 0, 0};
    EXPECT_TRUE(v.apply(AddressChange{a}));
    EXPECT_TRUE(v.is_local(ip("192.0.2.2")));
    ASSERT_NE(v.link("eth0"), nullptr);
    EXPECT_EQ(v.link("eth0")->index, 2);

    // Renamed: found by the new name only.
    EXPECT_TRUE(v.apply(LinkChange{Link{2, "eth7", kUp}}));
    EXPECT_EQ(v.link("eth0"), nullptr);
    EXPECT_EQ(v.link("eth7")->index, 2);

    // Deleted: its addresses go with it even without DELADDR messages.
    EXPECT_TRUE(v.apply(LinkChange{Link{2, "eth7", 0}, true}));
    EXPECT_EQ(v.link("eth7"), nullptr);
    EXPECT_TRUE(v.addresses().empty());

    // Created again under the old name with a new index.
    v.apply(LinkChange{Link{9, "eth0", IFF_UP}});
    EXPECT_EQ(v.link("eth0")->index, 9);
    EXPECT_FALSE(v.link("eth0")->up());  // no carrier yet
    EXPECT_TRUE(v.link("eth0")->admin_up());
}

TEST(HostView, AddressIdentityIsInterfaceAddressAndLength) {
    View v;
    v.apply(LinkChange{Link{2, "eth0", kUp}});
    Address a{2, {ip("192.0.2.10"), 24}, "eth0", 0, 0};
    v.apply(AddressChange{a});
    // The same address with another label replaces it (a changed label).
    Address relabelled = a;
    relabelled.label = "eth0:x";
    EXPECT_TRUE(v.apply(AddressChange{relabelled}));
    ASSERT_EQ(v.addresses().size(), 1u);
    EXPECT_EQ(v.addresses().front().label, "eth0:x");
    // Another length is another address.
    Address host = a;
    host.prefix.length = 32;
    EXPECT_TRUE(v.apply(AddressChange{host}));
    EXPECT_EQ(v.addresses_of(2).size(), 2u);
    // Removing one that is not there changes nothing.
    Address other{3, {ip("192.0.2.10"), 24}, "", 0, 0};
    EXPECT_FALSE(v.apply(AddressChange{other, true}));
    EXPECT_TRUE(v.apply(AddressChange{a, true}));
    EXPECT_EQ(v.addresses_of(2).size(), 1u);
}
