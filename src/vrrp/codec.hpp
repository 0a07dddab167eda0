// VRRP wire format: VRRPv3 (RFC 5798 §5) for IPv4 and IPv6, VRRPv2 (RFC 3768 §5) with
// authentication type 0 (none), 1 (simple text password, as keepalived sends it) or 2
// (IP Authentication Header: this codec does the VRRP part, ah.hpp the AH around it).
// Pure: no sockets, no clock. The adapter hands in the payload of protocol 112 and the
// addresses it came from; the codec answers with an Advert or a Drop that says why.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::vrrp {

inline constexpr uint8_t kProtocol = 112;     // IANA protocol number (RFC 5798 §5.1.1.3)
inline constexpr uint8_t kRequiredTtl = 255;  // RFC 5798 §5.1.1.3 / §5.1.2.3
inline constexpr std::size_t kHeaderLength = 8;
inline constexpr std::size_t kV2AuthLength = 8;  // RFC 3768 §5.3.10: always 8 octets

// v3 carries a 12-bit interval in centiseconds; v2 an 8-bit interval in seconds.
using Centiseconds = std::chrono::duration<int32_t, std::centi>;

enum class AuthType : uint8_t { None = 0, SimpleText = 1, IpAh = 2 };

struct Advert {
    uint8_t version = 3;  // 2 or 3
    uint8_t vrid = 0;     // 1..255
    uint8_t priority = 0;
    Centiseconds max_advert_int{100};  // v2: a whole number of seconds
    AuthType auth_type = AuthType::None;  // v2 only; v3 has no authentication
    std::string auth_pass;                // v2 simple text, at most 8 bytes, NUL-padded on the wire (AH: unused)
    std::vector<IpAddress> addresses;     // all of one family

    friend bool operator==(const Advert&, const Advert&) = default;
};

// Why a received packet was dropped. Each has a counter in the adapter (drop_counters).
enum class DropReason : uint8_t {
    TooShort,              // shorter than a header, or than its own address list
    BadVersion,            // not 2 or 3, or not the version this instance speaks
    BadType,               // type is not 1 (ADVERTISEMENT)
    BadLength,             // payload length does not match the address count
    AddressCountMismatch,  // the advertised addresses differ from ours (a count of 0 is valid: no VIPs)
    BadChecksum,
    BadAuthType,           // v2 auth type not 0/1/2, or not ours
    BadAuth,               // v2 password differs; AH: ICV, SPI or a replayed sequence number (ah.hpp)
    BadTtl,                // TTL / hop limit not 255 (checked from ancillary data)
    WrongVrid,             // another virtual router on the same wire: not an error
    IntervalMismatch,      // v2: advert interval differs from ours (RFC 3768 §7.1)
    BadAddress,            // v4 header too short or not for protocol 112 (AH around another), zero VRID
    OwnAdvert,             // our own packet looped back
    kCount
};

std::string_view to_string(DropReason r);

struct Drop {
    DropReason reason;
    std::string message;  // says what was wrong, with the offending value
};

// Like lvsd::Result, but the failure carries the drop reason so that the adapter can
// count it without parsing a message.
class [[nodiscard]] Parsed {
public:
    Parsed(Advert a) : v_(std::move(a)) {}
    Parsed(Drop d) : v_(std::move(d)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    const Advert& value() const { return std::get<0>(v_); }
    Advert& value() { return std::get<0>(v_); }
    const Advert* operator->() const { return &value(); }
    const Drop& error() const { return std::get<1>(v_); }

private:
    std::variant<Advert, Drop> v_;
};

// `src` and `dst` are the IP header's addresses: v3 checksums a pseudo-header with them
// (RFC 5798 §5.2.8); v2 checksums the VRRP message alone (RFC 3768 §5.3.8).
Parsed parse(std::span<const std::byte> payload, const IpAddress& src, const IpAddress& dst);

// Encodes a complete VRRP message (no IP header) with its checksum. Fails on values the
// wire cannot carry (interval out of range, mixed families, password too long, ...).
Result<std::vector<std::byte>> encode(const Advert& advert, const IpAddress& src, const IpAddress& dst);

// An IPv4 raw socket delivers the IP header too; this splits it off (pure).
struct Ipv4Packet {
    IpAddress src;
    IpAddress dst;
    uint8_t ttl = 0;
    uint8_t protocol = 0;
    std::span<const std::byte> payload;
};
std::optional<Ipv4Packet> split_ipv4(std::span<const std::byte> packet);

// What an instance expects of a peer's advert, beyond well-formedness (RFC 5798 §7.1,
// RFC 3768 §7.1). Kept apart from parse so that parse stays a pure wire decoder.
struct Expectation {
    uint8_t version = 3;
    uint8_t vrid = 0;
    Family family = Family::V4;
    AuthType auth_type = AuthType::None;  // v2
    std::string auth_pass;                // v2
    Centiseconds advert_int{100};         // v2 must match
    std::vector<IpAddress> own_addresses; // the packet's source must not be one of ours
    // IPv6 unicast (unicast_peer): the hop limit is not checked. keepalived sends these with
    // the default unicast hop limit (64) and accepts any; RFC 5798 §5.1.1.3's 255 still
    // applies to every multicast advert and to IPv4, where keepalived sends TTL 255.
    bool ipv6_unicast = false;
};
std::optional<Drop> check(const Advert& advert, uint8_t ttl, const IpAddress& src, const Expectation& e);

// Internet checksum (RFC 1071) of the concatenation of the given pieces.
uint16_t internet_checksum(std::initializer_list<std::span<const std::byte>> pieces);

}  // namespace lvsd::vrrp

template <>
struct fmt::formatter<lvsd::vrrp::DropReason> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::vrrp::DropReason r, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::vrrp::to_string(r), ctx);
    }
};
