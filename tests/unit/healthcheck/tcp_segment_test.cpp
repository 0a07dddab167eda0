// The half-open probe's bytes: the SYN it sends (byte-exact, checksums computed
// independently) and the replies it accepts or ignores.
#include <gtest/gtest.h>

#include <vector>

#include "healthcheck/detail/tcp_segment.hpp"

using namespace lvsd;
using namespace lvsd::healthcheck::detail;

namespace {

IpAddress addr(const char* text) { return *parse_address(text); }

Syn syn_of(const char* src, const char* dst) {
    return Syn{addr(src), addr(dst), 40000, 8080, 0x01020304};
}

// IPv4 header (20 bytes, no options) + a TCP header with the given flags.
std::vector<uint8_t> v4_reply(uint8_t flags, uint32_t ack, uint16_t frag = 0) {
    std::vector<uint8_t> d = {
        0x45, 0, 0, 40, 0, 0, static_cast<uint8_t>(frag >> 8), static_cast<uint8_t>(frag), 64, 6, 0, 0,
        192, 0, 2, 2,  // source: the real server
        192, 0, 2, 1,  // destination: us
        0x1f, 0x90,    // source port 8080
        0x9c, 0x40,    // destination port 40000
        0, 0, 0, 9,    // seq
        static_cast<uint8_t>(ack >> 24), static_cast<uint8_t>(ack >> 16), static_cast<uint8_t>(ack >> 8),
        static_cast<uint8_t>(ack),
        0x50, flags, 0xff, 0xff, 0, 0, 0, 0};
    return d;
}

}  // namespace

TEST(TcpSegment, Ipv4SynIsByteExact) {
    std::array<uint8_t, kMaxSynDatagram> buf;
    ASSERT_EQ(build_syn(syn_of("192.0.2.1", "192.0.2.2"), buf), 44u);
    const std::vector<uint8_t> expected = {
        // IPv4: version/IHL, TOS, total length 44, id 0, DF, TTL 64, TCP, header checksum 0 (the kernel's)
        0x45, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
        192, 0, 2, 1, 192, 0, 2, 2,
        // TCP: 40000 -> 8080, seq 0x01020304, ack 0, offset 6 words, SYN, window 64240
        0x9c, 0x40, 0x1f, 0x90, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0x60, 0x02, 0xfa, 0xf0,
        0x59, 0x5b,  // checksum, computed apart from this code
        0x00, 0x00,  // urgent pointer
        0x02, 0x04, 0x05, 0xb4};  // MSS 1460
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 44), expected);
}

TEST(TcpSegment, Ipv6SynIsTheTcpSegmentAloneWithTheV6PseudoHeaderChecksum) {
    std::array<uint8_t, kMaxSynDatagram> buf;
    ASSERT_EQ(build_syn(syn_of("2001:db8::1", "2001:db8::2"), buf), kTcpSynLength);
    EXPECT_EQ(buf[0], 0x9c);  // starts with the source port
    EXPECT_EQ(buf[13], 0x02);
    EXPECT_EQ(buf[16], 0x81);
    EXPECT_EQ(buf[17], 0xea);
}

TEST(TcpSegment, ChecksumOfASegmentWithItsChecksumIsZero) {
    std::array<uint8_t, kMaxSynDatagram> buf;
    for (auto [src, dst] : {std::pair{"192.0.2.1", "192.0.2.2"}, std::pair{"2001:db8::1", "2001:db8::2"}}) {
        const auto syn = syn_of(src, dst);
        const auto n = build_syn(syn, buf);
        const std::span<const uint8_t> tcp(buf.data() + (n - kTcpSynLength), kTcpSynLength);
        EXPECT_EQ(tcp_checksum(syn.source, syn.destination, tcp), 0) << src;
    }
    // An odd length is padded with a zero byte.
    const uint8_t odd[] = {0x01};
    const uint8_t even[] = {0x01, 0x00};
    EXPECT_EQ(tcp_checksum(addr("192.0.2.1"), addr("192.0.2.2"), odd) + 1,
              tcp_checksum(addr("192.0.2.1"), addr("192.0.2.2"), even) + 2);
}

TEST(TcpSegment, ParsesSynAckAndResetFromIpv4) {
    auto synack = parse_reply_v4(v4_reply(0x12, 0x01020305));
    ASSERT_TRUE(synack);
    EXPECT_EQ(synack->kind, Reply::Kind::SynAck);
    EXPECT_EQ(synack->remote, addr("192.0.2.2"));
    EXPECT_EQ(synack->remote_port, 8080);
    EXPECT_EQ(synack->local_port, 40000);
    EXPECT_TRUE(synack->has_ack);
    EXPECT_EQ(synack->ack, 0x01020305u);

    auto rst = parse_reply_v4(v4_reply(0x14, 0x01020305));
    ASSERT_TRUE(rst);
    EXPECT_EQ(rst->kind, Reply::Kind::Reset);
    EXPECT_TRUE(rst->has_ack);

    auto bare_rst = parse_reply_v4(v4_reply(0x04, 0));
    ASSERT_TRUE(bare_rst);
    EXPECT_FALSE(bare_rst->has_ack);  // cannot answer a SYN: the prober ignores it
}

TEST(TcpSegment, IgnoresWhatCannotAnswerASyn) {
    EXPECT_FALSE(parse_reply_v4(v4_reply(0x10, 1)));          // bare ACK
    EXPECT_FALSE(parse_reply_v4(v4_reply(0x02, 0)));          // a SYN (ours, looped back)
    EXPECT_FALSE(parse_reply_v4(v4_reply(0x13, 1)));          // SYN+ACK+FIN
    EXPECT_FALSE(parse_reply_v4(v4_reply(0x12, 1, 0x0010)));  // a later fragment
    auto d = v4_reply(0x12, 1);
    d.resize(30);
    EXPECT_FALSE(parse_reply_v4(d));  // truncated TCP header
    d = v4_reply(0x12, 1);
    d[9] = 17;
    EXPECT_FALSE(parse_reply_v4(d));  // UDP
    d = v4_reply(0x12, 1);
    d[0] = 0x44;
    EXPECT_FALSE(parse_reply_v4(d));  // IHL below 5
    EXPECT_FALSE(parse_reply_v4({}));
}

TEST(TcpSegment, HonoursIpv4Options) {
    auto d = v4_reply(0x12, 7);
    d[0] = 0x46;  // 24-byte header: 4 bytes of options before TCP
    d.insert(d.begin() + 20, {1, 1, 1, 0});
    auto r = parse_reply_v4(d);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->remote_port, 8080);
    EXPECT_EQ(r->ack, 7u);
}

TEST(TcpSegment, ParsesAnIpv6SegmentFromTheSender) {
    auto d = v4_reply(0x12, 0x01020305);
    const std::vector<uint8_t> tcp(d.begin() + 20, d.end());
    auto r = parse_reply_v6(addr("2001:db8::2"), tcp);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Reply::Kind::SynAck);
    EXPECT_EQ(r->remote, addr("2001:db8::2"));
    EXPECT_EQ(r->local_port, 40000);
    EXPECT_FALSE(parse_reply_v6(addr("2001:db8::2"), std::span<const uint8_t>(tcp.data(), 19)));
}
