#include "healthcheck/detail/tcp_segment.hpp"

#include <cstring>

namespace lvsd::healthcheck::detail {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr uint8_t kProtoTcp = 6;

void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }

// One's-complement sum of 16-bit big-endian words (an odd last byte is padded with zero).
uint32_t sum_words(std::span<const uint8_t> bytes, uint32_t sum) {
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) sum += get16(bytes.data() + i);
    if (i < bytes.size()) sum += uint32_t{bytes[i]} << 8;
    return sum;
}

std::optional<Reply> parse_tcp(const IpAddress& remote, std::span<const uint8_t> seg) {
    if (seg.size() < 20) return std::nullopt;
    const uint8_t flags = seg[13];
    Reply r;
    r.remote = remote;
    r.remote_port = get16(seg.data());
    r.local_port = get16(seg.data() + 2);
    r.has_ack = (flags & kAck) != 0;
    r.ack = get32(seg.data() + 8);
    if ((flags & (kSyn | kAck | kRst | kFin)) == (kSyn | kAck)) {
        r.kind = Reply::Kind::SynAck;
    } else if (flags & kRst) {
        r.kind = Reply::Kind::Reset;
    } else {
        return std::nullopt;
    }
    return r;
}

}  // namespace

uint16_t tcp_checksum(const IpAddress& source, const IpAddress& destination, std::span<const uint8_t> segment) {
    uint32_t sum = 0;
    if (source.is_v4()) {
        const auto s = source.to_v4().to_bytes(), d = destination.to_v4().to_bytes();
        sum = sum_words(s, sum);
        sum = sum_words(d, sum);
    } else {
        const auto s = source.to_v6().to_bytes(), d = destination.to_v6().to_bytes();
        sum = sum_words(s, sum);
        sum = sum_words(d, sum);
    }
    // The rest of the pseudo-header: protocol and TCP length (the same sum for the
    // IPv4 layout, zero + protocol + 16-bit length, and the IPv6 one, 32-bit length +
    // three zero bytes + next header).
    sum += kProtoTcp;
    sum += static_cast<uint32_t>(segment.size());
    sum = sum_words(segment, sum);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

std::size_t build_syn(const Syn& syn, std::span<uint8_t, kMaxSynDatagram> out) {
    std::memset(out.data(), 0, out.size());
    uint8_t* tcp = out.data();
    std::size_t total = kTcpSynLength;
    if (syn.destination.is_v4()) {
        uint8_t* ip = out.data();
        ip[0] = 0x45;                 // version 4, 20-byte header
        put16(ip + 2, 20 + kTcpSynLength);  // total length (the kernel sets it too)
        put16(ip + 6, 0x4000);        // don't fragment; id 0: the kernel picks one
        ip[8] = 64;                   // TTL
        ip[9] = kProtoTcp;
        const auto s = syn.source.to_v4().to_bytes(), d = syn.destination.to_v4().to_bytes();
        std::memcpy(ip + 12, s.data(), 4);
        std::memcpy(ip + 16, d.data(), 4);
        tcp = ip + 20;
        total += 20;
    }
    put16(tcp, syn.source_port);
    put16(tcp + 2, syn.destination_port);
    put32(tcp + 4, syn.sequence);
    tcp[12] = (kTcpSynLength / 4) << 4;  // data offset
    tcp[13] = kSyn;
    put16(tcp + 14, 64240);  // window
    tcp[20] = 2;             // MSS option
    tcp[21] = 4;
    put16(tcp + 22, 1460);
    put16(tcp + 16, tcp_checksum(syn.source, syn.destination, std::span<const uint8_t>(tcp, kTcpSynLength)));
    return total;
}

std::optional<Reply> parse_reply_v4(std::span<const uint8_t> d) {
    if (d.size() < 20 || (d[0] >> 4) != 4 || d[9] != kProtoTcp) return std::nullopt;
    const std::size_t ihl = std::size_t{d[0] & 0x0fu} * 4;
    // A fragment other than the first carries no TCP header to read.
    if (ihl < 20 || d.size() < ihl || (get16(d.data() + 6) & 0x1fff) != 0) return std::nullopt;
    boost::asio::ip::address_v4::bytes_type src;
    std::memcpy(src.data(), d.data() + 12, 4);
    return parse_tcp(boost::asio::ip::address_v4(src), d.subspan(ihl));
}

std::optional<Reply> parse_reply_v6(const IpAddress& remote, std::span<const uint8_t> segment) {
    return parse_tcp(remote, segment);
}

}  // namespace lvsd::healthcheck::detail
