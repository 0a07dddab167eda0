// VRRPv2 authentication type 2, IP Authentication Header (RFC 3768 §5.3.6 deprecated it;
// RFC 2338 §5.3.6.3 and RFC 2402 define it), as keepalived 2.2.7 puts it on the wire, so
// that an lvsd instance and a keepalived one with `auth_type AH` accept each other.
// Pure: plain bytes and values in, bytes or a Drop out; the HMAC is OpenSSL's.
//
// The packet (IPv4 only; keepalived has AH for VRRPv2 over IPv4 only):
//
//   IPv4 header, 20 bytes, protocol 51, TOS 0xc0, TTL 255, an IP ID chosen by the sender
//   AH, 24 bytes (RFC 2402 §2):
//     next header 112 | payload length 4 ((24 / 4) - 2) | reserved 0 (2 bytes)
//     SPI: the sender's IPv4 source address (keepalived's choice: no SA negotiation
//          happens between VRRP routers, the address is unique on the segment)
//     sequence number (32 bits, big-endian)
//     ICV: HMAC-MD5 (RFC 2104) truncated to its first 12 bytes (HMAC-MD5-96, RFC 2403)
//   VRRPv2 advert, auth type 2 and 8 zero bytes of authentication data (RFC 3768 §5.3.10)
//
// The ICV covers the whole packet with the fields that may change in transit set to zero
// (RFC 2402 §3.3.3.1.1.1): in the IP header TOS, flags/fragment offset and the header
// checksum; the TTL too, but keepalived zeroes it only for unicast (a multicast advert
// always arrives with TTL 255, which the receiver checks anyway); and the ICV itself.
// The IP ID is covered: the sender must choose it (the kernel fills in a zero one after
// the ICV was computed, hence never 0). The key is `auth_pass`: keepalived keys with its
// 8-byte buffer, the password NUL-padded, which HMAC's own zero padding makes the same.
//
// Sequence numbers (keepalived's anti-replay): one counter per instance, used for both
// directions. Sending takes the counter plus one; a received sequence number must be
// greater than the counter and then becomes it. A backup therefore follows the master's
// count and, on taking over, continues above it; a restarted router starts from 0 and
// catches up from the first advert it accepts. See next_sequence / accept_sequence.
// (keepalived's master that hears a lower priority also sets its counter to that advert's
// number plus one before answering; with the one counter the answer is above it already.
// keepalived starts a non-owner with AH as BACKUP whatever `state` says, to learn the count
// first; lvsd starts every non-owner as backup.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "vrrp/codec.hpp"

namespace lvsd::vrrp::ah {

inline constexpr uint8_t kProtocol = 51;          // IANA protocol number of AH (RFC 2402 §2)
inline constexpr std::size_t kHeaderLength = 24;  // 12 fixed bytes + a 12-byte ICV
inline constexpr std::size_t kIcvLength = 12;     // HMAC-MD5-96 (RFC 2403 §2)
inline constexpr uint8_t kPayloadLength = 4;      // 32-bit words minus 2 (RFC 2402 §2.2)
inline constexpr std::size_t kIpv4HeaderLength = 20;

// What the sender chooses for one packet.
struct SealParams {
    IpAddress src;          // IPv4; also the SPI
    IpAddress dst;          // 224.0.0.18 or a unicast peer
    uint16_t ip_id = 1;     // 1..65535 (0 would let the kernel pick one after the ICV)
    uint32_t sequence = 1;  // next_sequence()
    bool unicast = false;   // the TTL is zeroed for the ICV (keepalived does so for unicast)
};

// The whole IPv4 packet (for a socket with IP_HDRINCL) around `advert`, an encoded VRRPv2
// advert with auth type 2. The IP header checksum is filled in (the kernel rewrites it).
// Fails on an IPv6 address, an IP ID of 0, an empty key or a packet over 65535 bytes.
Result<std::vector<std::byte>> seal(std::span<const std::byte> advert, const SealParams& p, std::string_view key);

// A received IPv4 packet of protocol 51 taken apart, unverified.
struct Opened {
    IpAddress src;
    IpAddress dst;
    uint8_t ttl = 0;
    uint32_t spi = 0;
    uint32_t sequence = 0;
    std::span<const std::byte> vrrp;  // into the packet
};

// Structure only, no key: the IPv4 header (version 4, IHL >= 5, protocol 51), an AH
// header of payload length 4 whose next header is 112, and a VRRP part after it.
// Drops: TooShort (shorter than the headers or than the IP total length says), BadLength
// (the AH payload length is not 4, the IP total length differs from what arrived),
// BadAddress (not IPv4 AH, or AH around another protocol: not VRRP's business).
std::variant<Opened, Drop> open(std::span<const std::byte> packet);

// The ICV check and the SPI rule, for a packet open() accepted: BadAuth when the ICV
// differs (another auth_pass, or a changed field) or the SPI is not the source address.
// `unicast` as in SealParams: it must match the sender's mode.
std::optional<Drop> verify(std::span<const std::byte> packet, std::string_view key, bool unicast);

// The sequence number of the next packet after `counter`. keepalived stops counting at
// 0xFFFFFFFE (136 years at one advert a second); so does this.
uint32_t next_sequence(uint32_t counter);

// The anti-replay rule: a sequence number not above `counter` is dropped (BadAuth, as
// keepalived counts it as an authentication failure); otherwise it is the new counter.
std::variant<uint32_t, Drop> accept_sequence(uint32_t counter, uint32_t sequence, const IpAddress& src);

// verify, then accept_sequence against the instance's `counter`: its new value, or why
// the packet is dropped. The counter moves only for a packet whose ICV is right.
std::variant<uint32_t, Drop> authenticate(std::span<const std::byte> packet, std::string_view key, bool unicast,
                                          uint32_t counter);

}  // namespace lvsd::vrrp::ah
