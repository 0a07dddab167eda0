// VRRPv2 with an IP Authentication Header, against adverts captured from keepalived 2.2.7
// (fixtures/capture.sh: VRID 56 multicast keyed "ahsecret", VRID 57 unicast keyed
// "short"): open and verify must accept them, seal must give back the very same bytes
// (IP header, AH with its ICV, VRRP), and every damaged or replayed copy is dropped.
#include "vrrp/ah.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fixtures.hpp"

#include "vrrp/codec.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;

namespace {

using lvsd::testing::load_hex;

IpAddress ip(const char* s) { return *parse_address(s); }

ah::Opened opened(std::span<const std::byte> p) {
    auto o = ah::open(p);
    if (auto* d = std::get_if<Drop>(&o)) ADD_FAILURE() << d->message;
    return std::get<ah::Opened>(o);
}

std::optional<DropReason> open_drop(std::span<const std::byte> p) {
    auto o = ah::open(p);
    if (auto* d = std::get_if<Drop>(&o)) return d->reason;
    return std::nullopt;
}

struct Fixture {
    const char* file;
    const char* key;
    bool unicast;
    const char* dst;
    uint8_t vrid, priority;
    std::vector<const char*> vips;
};
const Fixture kMulticast{"v2_ipv4_ah_advert.hex", "ahsecret", false, "224.0.0.18", 56, 110, {"192.0.2.107"}};
const Fixture kUnicast{"v2_ipv4_ah_unicast_advert.hex", "short", true, "192.0.2.2", 57, 130,
                       {"192.0.2.108", "192.0.2.109"}};

// The ICV a sender would put there, computed here independently of ah.cpp (RFC 2402
// §3.3.3.1.1.1 zeroing, HMAC-MD5 truncated to 96 bits) so that tests can forge packets
// whose ICV is right but whose SPI or sequence is not.
void re_sign(std::vector<std::byte>& p, std::string_view key, bool unicast) {
    auto c = p;
    c[1] = c[6] = c[7] = c[10] = c[11] = std::byte{0};
    if (unicast) c[8] = std::byte{0};
    std::fill_n(c.begin() + 32, 12, std::byte{0});
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(c.data()),
         c.size(), mac, &len);
    for (int i = 0; i < 12; ++i) p[32 + i] = std::byte{mac[i]};
}

class AhCaptured : public ::testing::TestWithParam<Fixture> {};

}  // namespace

TEST_P(AhCaptured, OpensVerifiesAndParsesKeepalivedsAdvert) {
    const Fixture f = GetParam();
    const auto pkt = load_hex(f.file);
    const auto o = opened(pkt);
    EXPECT_EQ(o.src, ip("192.0.2.1"));
    EXPECT_EQ(o.dst, ip(f.dst));
    EXPECT_EQ(o.ttl, 255);
    EXPECT_EQ(o.spi, 0xc0000201u) << "keepalived's SPI is its source address";
    EXPECT_EQ(o.sequence, 5u);
    EXPECT_FALSE(ah::verify(pkt, f.key, f.unicast)) << "the ICV of keepalived's packet checks out";

    auto a = parse(o.vrrp, o.src, o.dst);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->version, 2);
    EXPECT_EQ(a->vrid, f.vrid);
    EXPECT_EQ(a->priority, f.priority);
    EXPECT_EQ(a->auth_type, AuthType::IpAh);
    EXPECT_EQ(a->max_advert_int, std::chrono::seconds(1));
    ASSERT_EQ(a->addresses.size(), f.vips.size());
    for (std::size_t i = 0; i < f.vips.size(); ++i) EXPECT_EQ(a->addresses[i], ip(f.vips[i]));
}

TEST_P(AhCaptured, SealGivesKeepalivedsBytesExactly) {
    const Fixture f = GetParam();
    const auto pkt = load_hex(f.file);
    Advert a{2, f.vrid, f.priority, Centiseconds(100), AuthType::IpAh, "", {}};
    for (auto v : f.vips) a.addresses.push_back(ip(v));
    auto vrrp = encode(a, ip("192.0.2.1"), ip(f.dst));
    ASSERT_TRUE(vrrp) << vrrp.error().message;
    // keepalived's IP ID and sequence number were both 5 in this advert.
    auto sealed = ah::seal(*vrrp, {ip("192.0.2.1"), ip(f.dst), 5, 5, f.unicast}, f.key);
    ASSERT_TRUE(sealed) << sealed.error().message;
    EXPECT_EQ(*sealed, pkt) << "IP header, AH header (SPI, sequence, ICV) and VRRP byte for byte";
}

TEST_P(AhCaptured, WrongKeyOrModeOrAnyChangedByteFailsTheIcv) {
    const Fixture f = GetParam();
    const auto pkt = load_hex(f.file);
    EXPECT_EQ(ah::verify(pkt, "wrongpw", f.unicast)->reason, DropReason::BadAuth);
    EXPECT_EQ(ah::verify(pkt, f.key, !f.unicast)->reason, DropReason::BadAuth)
        << "the TTL is zeroed for unicast only: the modes do not mix";
    // Every byte the ICV covers: the IP header's immutable fields, AH, VRRP.
    for (std::size_t i = 0; i < pkt.size(); ++i) {
        const bool mutable_field = i == 1 || i == 6 || i == 7 || i == 10 || i == 11 || (i == 8 && f.unicast);
        auto bad = pkt;
        bad[i] ^= std::byte{0x01};
        if (mutable_field) {
            EXPECT_FALSE(ah::verify(bad, f.key, f.unicast)) << "byte " << i << " is mutable (RFC 2402)";
        } else if (i < 32 || i >= 44) {
            EXPECT_TRUE(ah::verify(bad, f.key, f.unicast)) << "byte " << i << " is covered";
        } else {
            EXPECT_EQ(ah::verify(bad, f.key, f.unicast)->reason, DropReason::BadAuth) << "ICV byte " << i;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Keepalived, AhCaptured, ::testing::Values(kMulticast, kUnicast),
                         [](const auto& i) { return std::string(i.param.unicast ? "unicast" : "multicast"); });

TEST(AhOpen, DropsShortMalformedAndForeignPackets) {
    const auto pkt = load_hex(kMulticast.file);
    for (std::size_t n = 0; n < pkt.size(); ++n) {
        std::vector<std::byte> cut(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
        auto r = open_drop(cut);
        ASSERT_TRUE(r) << n << " bytes";
        // Below 20 + 24 + 8 bytes the headers are missing; above, the IP total length says more.
        EXPECT_EQ(*r, DropReason::TooShort) << n << " bytes";
    }
    auto bad = pkt;
    bad[20] = std::byte{6};  // AH around TCP: IPsec traffic of someone else
    EXPECT_EQ(open_drop(bad), DropReason::BadAddress);
    bad = pkt;
    bad[21] = std::byte{5};  // AH payload length of a longer ICV
    EXPECT_EQ(open_drop(bad), DropReason::BadLength);
    bad = pkt;
    bad[9] = std::byte{112};  // plain VRRP
    EXPECT_EQ(open_drop(bad), DropReason::BadAddress);
    bad = pkt;
    bad.push_back(std::byte{0});  // longer than the IP header says
    EXPECT_EQ(open_drop(bad), DropReason::BadLength);
    bad = pkt;
    bad[0] = std::byte{0x65};  // not IPv4
    EXPECT_EQ(open_drop(bad), DropReason::BadAddress);
}

TEST(AhVerify, SpiMustBeTheSourceAddressEvenWithARightIcv) {
    auto pkt = load_hex(kMulticast.file);
    pkt[27] = std::byte{0x09};  // SPI 192.0.2.9 from 192.0.2.1
    re_sign(pkt, kMulticast.key, false);
    auto d = ah::verify(pkt, kMulticast.key, false);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->reason, DropReason::BadAuth);
    EXPECT_NE(d->message.find("SPI"), std::string::npos) << d->message;
}

TEST(AhSequence, FollowsKeepalivedsCounter) {
    EXPECT_EQ(ah::next_sequence(0), 1u) << "a fresh instance sends 1 first";
    EXPECT_EQ(ah::next_sequence(41), 42u);
    EXPECT_EQ(ah::next_sequence(0xfffffffeu), 0xfffffffeu) << "keepalived stops counting there";
    const auto src = ip("192.0.2.1");
    EXPECT_EQ(std::get<uint32_t>(ah::accept_sequence(4, 5, src)), 5u);
    EXPECT_EQ(std::get<uint32_t>(ah::accept_sequence(0, 1000, src)), 1000u) << "gaps are fine (a restart)";
    EXPECT_EQ(std::get<Drop>(ah::accept_sequence(5, 5, src)).reason, DropReason::BadAuth) << "a replay";
    EXPECT_EQ(std::get<Drop>(ah::accept_sequence(5, 3, src)).reason, DropReason::BadAuth) << "an old one";
}

TEST(AhAuthenticate, MovesTheCounterOnlyForAGoodIcvAndANewSequence) {
    const auto pkt = load_hex(kMulticast.file);  // sequence 5
    EXPECT_EQ(std::get<uint32_t>(ah::authenticate(pkt, kMulticast.key, false, 4)), 5u);
    EXPECT_EQ(std::get<Drop>(ah::authenticate(pkt, kMulticast.key, false, 5)).reason, DropReason::BadAuth);
    auto forged = pkt;
    forged[31] = std::byte{0x50};  // sequence 0x50 without the key
    EXPECT_EQ(std::get<Drop>(ah::authenticate(forged, kMulticast.key, false, 4)).reason, DropReason::BadAuth);
    re_sign(forged, kMulticast.key, false);  // the same with the key: a new advert
    EXPECT_EQ(std::get<uint32_t>(ah::authenticate(forged, kMulticast.key, false, 5)), 0x50u);
}

TEST(AhSeal, RoundTripsAndRefusesWhatTheWireCannotCarry) {
    Advert a{2, 9, 150, Centiseconds(300), AuthType::IpAh, "", {ip("198.51.100.10")}};
    const auto src = ip("198.51.100.1"), dst = ip("224.0.0.18");
    auto vrrp = encode(a, src, dst);
    ASSERT_TRUE(vrrp);
    auto sealed = ah::seal(*vrrp, {src, dst, 777, 12, false}, "k");
    ASSERT_TRUE(sealed);
    EXPECT_EQ(sealed->size(), 20u + 24u + vrrp->size());
    EXPECT_EQ(internet_checksum({std::span<const std::byte>(*sealed).first(20)}), 0) << "a valid IP checksum";
    auto o = opened(*sealed);
    EXPECT_EQ(o.sequence, 12u);
    EXPECT_EQ(o.spi, src.to_v4().to_uint());
    EXPECT_FALSE(ah::verify(*sealed, "k", false));
    auto back = parse(o.vrrp, src, dst);
    ASSERT_TRUE(back);
    EXPECT_EQ(back.value(), a);

    EXPECT_FALSE(ah::seal(*vrrp, {src, dst, 0, 12, false}, "k")) << "IP ID 0 would be the kernel's";
    EXPECT_FALSE(ah::seal(*vrrp, {src, dst, 1, 12, false}, "")) << "no key";
    EXPECT_FALSE(ah::seal(*vrrp, {ip("2001:db8::1"), ip("ff02::12"), 1, 12, false}, "k")) << "IPv4 only";
}
