// The bytes of a half-open TCP probe (see syn_prober.hpp): the SYN it sends and the
// replies it reads back. Pure functions over byte buffers; no sockets here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/net.hpp"

namespace lvsd::healthcheck::detail {

// The SYN of one probe.
struct Syn {
    IpAddress source;  // the address the reply will come back to (same family as destination)
    IpAddress destination;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    uint32_t sequence = 0;  // the initial sequence number; the reply acknowledges sequence + 1
};

// A SYN with one option (MSS 1460, as every real stack sends one): 24 bytes of TCP, and
// for IPv4 the 20-byte IP header in front of it (the raw socket sends with IP_HDRINCL so
// that the source address is the one the checksum covers).
constexpr std::size_t kTcpSynLength = 24;
constexpr std::size_t kMaxSynDatagram = 20 + kTcpSynLength;

// IPv4: the whole datagram; IPv6: the TCP segment alone (an IPv6 raw socket has no
// IP_HDRINCL; the source comes with IPV6_PKTINFO). The TCP checksum is always filled
// in; the IPv4 header checksum, total length and id are left to the kernel, which
// always sets them for IP_HDRINCL. Returns the number of bytes written.
std::size_t build_syn(const Syn& syn, std::span<uint8_t, kMaxSynDatagram> out);

// The internet checksum of a TCP segment with its pseudo-header (RFC 9293 3.1, RFC 8200 8.1).
uint16_t tcp_checksum(const IpAddress& source, const IpAddress& destination,
                      std::span<const uint8_t> segment);

// What came back for a SYN. Only the answers a probe can get are decoded; anything else
// (data, a bare ACK, a fragment, a truncated header) is nullopt.
struct Reply {
    enum class Kind : uint8_t { SynAck, Reset };
    Kind kind = Kind::Reset;
    IpAddress remote;        // the real server
    uint16_t remote_port = 0;
    uint16_t local_port = 0;
    uint32_t ack = 0;        // the SYN's sequence + 1 when it answers our SYN
    bool has_ack = false;
};

// An IPv4 datagram as an IPv4 raw socket delivers it (IP header first).
std::optional<Reply> parse_reply_v4(std::span<const uint8_t> datagram);
// A TCP segment as an IPv6 raw socket delivers it (no IP header), from `remote`.
std::optional<Reply> parse_reply_v6(const IpAddress& remote, std::span<const uint8_t> segment);

}  // namespace lvsd::healthcheck::detail
