// Codec against adverts captured from keepalived 2.2.7 (fixtures/capture.sh made them):
// parse must read every field, and encode must give back the very same bytes.
#include "vrrp/codec.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fixtures.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;

namespace {

using lvsd::testing::load_hex;

struct Captured {
    IpAddress src, dst;
    uint8_t ttl = 0;
    std::vector<std::byte> payload;
};

// Splits the captured IP packet the way the adapter does (v4) or the kernel does (v6).
Captured split(const std::vector<std::byte>& packet) {
    Captured c;
    if ((std::to_integer<int>(packet[0]) >> 4) == 4) {
        auto p = split_ipv4(packet);
        EXPECT_TRUE(p);
        EXPECT_EQ(p->protocol, kProtocol);
        c.src = p->src;
        c.dst = p->dst;
        c.ttl = p->ttl;
        c.payload.assign(p->payload.begin(), p->payload.end());
    } else {
        boost::asio::ip::address_v6::bytes_type s, d;
        for (int i = 0; i < 16; ++i) {
            s[i] = std::to_integer<unsigned char>(packet[8 + i]);
            d[i] = std::to_integer<unsigned char>(packet[24 + i]);
        }
        EXPECT_EQ(std::to_integer<int>(packet[6]), kProtocol);
        c.src = boost::asio::ip::address_v6(s);
        c.dst = boost::asio::ip::address_v6(d);
        c.ttl = std::to_integer<uint8_t>(packet[7]);
        c.payload.assign(packet.begin() + 40, packet.end());
    }
    return c;
}

IpAddress ip(const char* s) { return *parse_address(s); }

void expect_round_trip(const Captured& c, const Advert& a) {
    auto bytes = encode(a, c.src, c.dst);
    ASSERT_TRUE(bytes) << bytes.error().message;
    EXPECT_EQ(*bytes, c.payload) << "encode differs from keepalived's bytes";
}

}  // namespace

TEST(CodecFixtures, V2WithPasswordAsKeepalivedSendsIt) {
    auto c = split(load_hex("v2_ipv4_pass_advert.hex"));
    EXPECT_EQ(c.ttl, 255);
    EXPECT_EQ(c.dst, ip("224.0.0.18"));
    auto a = parse(c.payload, c.src, c.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->version, 2);
    EXPECT_EQ(a->vrid, 51);
    EXPECT_EQ(a->priority, 150);
    EXPECT_EQ(a->auth_type, AuthType::SimpleText);
    EXPECT_EQ(a->auth_pass, "secret12");
    EXPECT_EQ(a->max_advert_int, std::chrono::seconds(1));
    EXPECT_EQ(a->addresses, (std::vector<IpAddress>{ip("192.0.2.100"), ip("192.0.2.101")}));
    expect_round_trip(c, a.value());
}

TEST(CodecFixtures, V2WithoutAuthCarriesEightZeroBytes) {
    auto c = split(load_hex("v2_ipv4_noauth_advert.hex"));
    auto a = parse(c.payload, c.src, c.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->vrid, 52);
    EXPECT_EQ(a->priority, 100);
    EXPECT_EQ(a->auth_type, AuthType::None);
    EXPECT_EQ(a->auth_pass, "");
    EXPECT_EQ(a->addresses, std::vector<IpAddress>{ip("192.0.2.102")});
    expect_round_trip(c, a.value());
}

TEST(CodecFixtures, V3Ipv4ChecksumCoversPseudoHeader) {
    auto c = split(load_hex("v3_ipv4_advert.hex"));
    auto a = parse(c.payload, c.src, c.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->version, 3);
    EXPECT_EQ(a->vrid, 53);
    EXPECT_EQ(a->priority, 200);
    EXPECT_EQ(a->max_advert_int, Centiseconds(50));
    EXPECT_EQ(a->addresses.size(), 3u);
    expect_round_trip(c, a.value());
    // The same bytes with another destination fail: the pseudo-header is in the sum.
    auto other = parse(c.payload, c.src, ip("192.0.2.2"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().reason, DropReason::BadChecksum);
}

TEST(CodecFixtures, V3Ipv6FromLinkLocal) {
    auto c = split(load_hex("v3_ipv6_advert.hex"));
    EXPECT_EQ(c.ttl, 255);
    EXPECT_EQ(c.dst, ip("ff02::12"));
    auto a = parse(c.payload, c.src, c.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->vrid, 54);
    EXPECT_EQ(a->priority, 120);
    EXPECT_EQ(a->max_advert_int, Centiseconds(100));
    EXPECT_EQ(a->addresses, (std::vector<IpAddress>{ip("2001:db8::100"), ip("2001:db8::101")}));
    expect_round_trip(c, a.value());
}

TEST(CodecFixtures, V3UnicastToPeer) {
    auto c = split(load_hex("v3_ipv4_unicast_advert.hex"));
    EXPECT_EQ(c.dst, ip("192.0.2.2"));
    auto a = parse(c.payload, c.src, c.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->vrid, 55);
    EXPECT_EQ(a->priority, 90);
    expect_round_trip(c, a.value());
}

TEST(CodecFixtures, StopAdvertsHavePriorityZero) {
    for (const char* name : {"v2_ipv4_pass_stop.hex", "v2_ipv4_noauth_stop.hex", "v3_ipv4_stop.hex",
                             "v3_ipv6_stop.hex", "v3_ipv4_unicast_stop.hex"}) {
        SCOPED_TRACE(name);
        auto c = split(load_hex(name));
        auto a = parse(c.payload, c.src, c.dst);
        ASSERT_TRUE(a) << a.error().message;
        EXPECT_EQ(a->priority, 0);
        expect_round_trip(c, a.value());
    }
}

namespace {

struct Mangled {
    Captured c = split(load_hex("v3_ipv4_advert.hex"));
    Parsed parse_now() { return parse(c.payload, c.src, c.dst); }
    // Re-sums after a change so that the check under test is the one that fires.
    void fix_checksum() {
        c.payload[6] = c.payload[7] = std::byte{0};
        std::vector<std::byte> pseudo;
        for (auto b : c.src.to_v4().to_bytes()) pseudo.push_back(std::byte(b));
        for (auto b : c.dst.to_v4().to_bytes()) pseudo.push_back(std::byte(b));
        pseudo.push_back(std::byte{0});
        pseudo.push_back(std::byte{kProtocol});
        pseudo.push_back(std::byte(c.payload.size() >> 8));
        pseudo.push_back(std::byte(c.payload.size() & 0xff));
        auto sum = internet_checksum({pseudo, c.payload});
        c.payload[6] = std::byte(sum >> 8);
        c.payload[7] = std::byte(sum & 0xff);
    }
};

DropReason reason_of(const Parsed& p) {
    EXPECT_FALSE(p);
    return p ? DropReason::kCount : p.error().reason;
}

}  // namespace

TEST(CodecDrops, EachMalformationHasItsReason) {
    {
        Mangled m;
        m.c.payload.resize(7);
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::TooShort);
    }
    {
        Mangled m;
        m.c.payload[0] = std::byte{0x41};
        m.fix_checksum();
        auto p = m.parse_now();
        EXPECT_EQ(reason_of(p), DropReason::BadVersion);
        EXPECT_NE(p.error().message.find("version 4"), std::string::npos) << p.error().message;
    }
    {
        Mangled m;
        m.c.payload[0] = std::byte{0x32};
        m.fix_checksum();
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::BadType);
    }
    {
        Mangled m;
        m.c.payload[3] = std::byte{4};  // claims 4 addresses, carries 3
        m.fix_checksum();
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::TooShort);
    }
    {
        Mangled m;
        m.c.payload[3] = std::byte{2};  // claims 2 addresses, carries 3
        m.fix_checksum();
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::BadLength);
    }
    {
        Mangled m;
        m.c.payload[3] = std::byte{0};  // claims none, carries 3
        m.fix_checksum();
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::BadLength);
    }
    {
        Mangled m;
        m.c.payload[2] = std::byte{201};  // priority changed, checksum not
        auto p = m.parse_now();
        EXPECT_EQ(reason_of(p), DropReason::BadChecksum);
        EXPECT_NE(p.error().message.find("192.0.2.1"), std::string::npos) << p.error().message;
    }
    {
        Mangled m;
        m.c.payload[4] = m.c.payload[5] = std::byte{0};
        m.fix_checksum();
        EXPECT_EQ(reason_of(m.parse_now()), DropReason::IntervalMismatch);
    }
}

TEST(CodecDrops, V2AuthTypeBeyondAhIsRefusedAndV2OverIpv6IsBadVersion) {
    auto c = split(load_hex("v2_ipv4_noauth_advert.hex"));
    c.payload[4] = std::byte{3};  // 0 none, 1 PASS, 2 AH (ah_test.cpp); nothing else exists
    c.payload[6] = c.payload[7] = std::byte{0};
    auto sum = internet_checksum({c.payload});
    c.payload[6] = std::byte(sum >> 8);
    c.payload[7] = std::byte(sum & 0xff);
    EXPECT_EQ(reason_of(parse(c.payload, c.src, c.dst)), DropReason::BadAuthType);
    EXPECT_EQ(reason_of(parse(c.payload, ip("fe80::1"), ip("ff02::12"))), DropReason::BadVersion);
}

TEST(CodecEncode, RefusesWhatTheWireCannotCarry) {
    Advert a{3, 7, 100, Centiseconds(100), AuthType::None, "", {ip("192.0.2.10")}};
    auto src = ip("192.0.2.1"), dst = ip("224.0.0.18");
    EXPECT_TRUE(encode(a, src, dst));
    auto bad = a;
    bad.max_advert_int = Centiseconds(4096);
    EXPECT_FALSE(encode(bad, src, dst));
    bad = a;
    bad.addresses = {ip("2001:db8::1")};
    auto r = encode(bad, src, dst);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("2001:db8::1"), std::string::npos) << r.error().message;
    bad = a;
    bad.version = 2;
    bad.max_advert_int = Centiseconds(150);
    EXPECT_FALSE(encode(bad, src, dst));
    bad.max_advert_int = Centiseconds(100);
    bad.auth_type = AuthType::SimpleText;
    bad.auth_pass = "ninechars";
    EXPECT_FALSE(encode(bad, src, dst));
    bad = a;
    bad.vrid = 0;
    EXPECT_FALSE(encode(bad, src, dst));
    bad = a;
    bad.addresses.assign(256, ip("192.0.2.10"));
    EXPECT_FALSE(encode(bad, src, dst)) << "the count is 8 bits";
}

TEST(CodecEncode, RoundTripsIpv6) {
    Advert a{3, 9, 254, Centiseconds(3), AuthType::None, "", {ip("2001:db8::a"), ip("2001:db8::b")}};
    auto src = ip("fe80::1"), dst = ip("ff02::12");
    auto bytes = encode(a, src, dst);
    ASSERT_TRUE(bytes);
    auto back = parse(*bytes, src, dst);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back.value(), a);
}

TEST(Check, AppliesRfcReceiveRules) {
    Advert a{2, 51, 150, std::chrono::seconds(1), AuthType::SimpleText, "secret12", {ip("192.0.2.100")}};
    Expectation e{2, 51, Family::V4, AuthType::SimpleText, "secret12", std::chrono::seconds(1), {ip("192.0.2.2")}};
    auto peer = ip("192.0.2.1");
    EXPECT_FALSE(check(a, 255, peer, e));
    EXPECT_EQ(check(a, 254, peer, e)->reason, DropReason::BadTtl);
    EXPECT_EQ(check(a, 255, ip("192.0.2.2"), e)->reason, DropReason::OwnAdvert);
    auto x = a;
    x.vrid = 52;
    EXPECT_EQ(check(x, 255, peer, e)->reason, DropReason::WrongVrid);
    x = a;
    x.auth_pass = "wrong";
    EXPECT_EQ(check(x, 255, peer, e)->reason, DropReason::BadAuth);
    x = a;
    x.auth_type = AuthType::None;
    EXPECT_EQ(check(x, 255, peer, e)->reason, DropReason::BadAuthType);
    x = a;
    x.max_advert_int = std::chrono::seconds(2);
    EXPECT_EQ(check(x, 255, peer, e)->reason, DropReason::IntervalMismatch);
    x = a;
    x.version = 3;
    EXPECT_EQ(check(x, 255, peer, e)->reason, DropReason::BadVersion);
    // v3 learns the master's interval instead of checking it (RFC 5798 §6.4.2).
    e.version = 3;
    x.auth_type = AuthType::None;
    x.max_advert_int = Centiseconds(7);
    EXPECT_FALSE(check(x, 255, peer, e));
}

// keepalived advertises an instance without addresses (its notify scripts move a cloud
// provider's address) with an address count of 0; lvsd sends and accepts the same.
TEST(CodecEncode, AnAdvertWithoutAddressesRoundTrips) {
    for (uint8_t version : {uint8_t{2}, uint8_t{3}}) {
        Advert a{version, 9, 150, Centiseconds(100), AuthType::None, "", {}};
        auto src = ip("192.0.2.1"), dst = ip("192.0.2.2");
        auto bytes = encode(a, src, dst);
        ASSERT_TRUE(bytes) << bytes.error().message;
        EXPECT_EQ(std::to_integer<int>((*bytes)[3]), 0) << "count";
        auto back = parse(*bytes, src, dst);
        ASSERT_TRUE(back.ok()) << "version " << int(version) << ": " << back.error().message;
        EXPECT_EQ(back.value(), a);
    }
}

// keepalived sends IPv6 unicast adverts with hop limit 64 and accepts them; lvsd accepts
// them too, but only there: multicast and IPv4 keep RFC 5798's 255.
TEST(Check, Ipv6UnicastAdvertsAreAcceptedAtAnyHopLimit) {
    Advert a{3, 51, 150, Centiseconds(100), AuthType::None, "", {ip("2001:db8::100")}};
    Expectation e{3, 51, Family::V6, AuthType::None, "", Centiseconds(100), {ip("fe80::2")}};
    auto peer = ip("fe80::1");
    EXPECT_EQ(check(a, 64, peer, e)->reason, DropReason::BadTtl) << "multicast";
    e.ipv6_unicast = true;
    EXPECT_FALSE(check(a, 64, peer, e));
    EXPECT_FALSE(check(a, 255, peer, e));
}
