#include "vrrp/codec.hpp"

#include <algorithm>
#include <cstring>

namespace lvsd::vrrp {
namespace {

constexpr uint8_t kTypeAdvertisement = 1;  // RFC 5798 §5.2.2, RFC 3768 §5.3.2
constexpr int kV3MaxIntervalCs = 0x0fff;   // 12 bits (RFC 5798 §5.2.7)

uint8_t at(std::span<const std::byte> b, std::size_t i) { return std::to_integer<uint8_t>(b[i]); }

std::size_t address_length(Family f) { return f == Family::V4 ? 4 : 16; }

void append_address(std::vector<std::byte>& out, const IpAddress& a) {
    if (a.is_v4()) {
        auto bytes = a.to_v4().to_bytes();
        for (auto c : bytes) out.push_back(std::byte{c});
    } else {
        auto bytes = a.to_v6().to_bytes();
        for (auto c : bytes) out.push_back(std::byte{c});
    }
}

IpAddress read_address(std::span<const std::byte> b, Family f) {
    if (f == Family::V4) {
        boost::asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), b.data(), bytes.size());
        return boost::asio::ip::address_v4(bytes);
    }
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), b.data(), bytes.size());
    return boost::asio::ip::address_v6(bytes);
}

// RFC 5798 §5.2.8: the v3 checksum covers a pseudo-header (RFC 2460 §8.1 for IPv6,
// src/dst/zero/protocol/length for IPv4) followed by the VRRP message.
std::vector<std::byte> pseudo_header(const IpAddress& src, const IpAddress& dst, std::size_t length) {
    std::vector<std::byte> h;
    append_address(h, src);
    append_address(h, dst);
    if (src.is_v4()) {
        h.push_back(std::byte{0});
        h.push_back(std::byte{kProtocol});
        h.push_back(std::byte(length >> 8));
        h.push_back(std::byte(length & 0xff));
    } else {
        h.push_back(std::byte(length >> 24));
        h.push_back(std::byte((length >> 16) & 0xff));
        h.push_back(std::byte((length >> 8) & 0xff));
        h.push_back(std::byte(length & 0xff));
        h.insert(h.end(), 3, std::byte{0});
        h.push_back(std::byte{kProtocol});
    }
    return h;
}

uint16_t message_checksum(uint8_t version, std::span<const std::byte> message, const IpAddress& src,
                          const IpAddress& dst) {
    if (version == 2) return internet_checksum({message});
    auto ph = pseudo_header(src, dst, message.size());
    return internet_checksum({ph, message});
}

Drop drop(DropReason r, std::string message) { return Drop{r, std::move(message)}; }

}  // namespace

std::string_view to_string(DropReason r) {
    switch (r) {
        case DropReason::TooShort: return "too_short";
        case DropReason::BadVersion: return "bad_version";
        case DropReason::BadType: return "bad_type";
        case DropReason::BadLength: return "bad_length";
        case DropReason::AddressCountMismatch: return "address_count_mismatch";
        case DropReason::BadChecksum: return "bad_checksum";
        case DropReason::BadAuthType: return "bad_auth_type";
        case DropReason::BadAuth: return "bad_auth";
        case DropReason::BadTtl: return "bad_ttl";
        case DropReason::WrongVrid: return "wrong_vrid";
        case DropReason::IntervalMismatch: return "interval_mismatch";
        case DropReason::BadAddress: return "bad_address";
        case DropReason::OwnAdvert: return "own_advert";
        case DropReason::kCount: break;
    }
    return "unknown";
}

uint16_t internet_checksum(std::initializer_list<std::span<const std::byte>> pieces) {
    // RFC 1071: one's-complement sum of 16-bit words; `odd` tracks the byte position
    // across pieces so that a piece of odd length does not shift the next one.
    uint32_t sum = 0;
    bool odd = false;
    for (auto piece : pieces) {
        for (auto b : piece) {
            uint32_t v = std::to_integer<uint8_t>(b);
            sum += odd ? v : (v << 8);
            odd = !odd;
        }
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

Parsed parse(std::span<const std::byte> p, const IpAddress& src, const IpAddress& dst) {
    if (src.is_v4() != dst.is_v4())
        return drop(DropReason::BadAddress, fmt::format("source {} and destination {} differ in family", src, dst));
    const Family family = family_of(src);
    if (p.size() < kHeaderLength)
        return drop(DropReason::TooShort,
                    fmt::format("{} bytes from {}, a VRRP header needs {}", p.size(), src, kHeaderLength));
    Advert a;
    a.version = at(p, 0) >> 4;
    const uint8_t type = at(p, 0) & 0x0f;
    if (a.version != 2 && a.version != 3)
        return drop(DropReason::BadVersion, fmt::format("version {} from {}", a.version, src));
    if (a.version == 2 && family == Family::V6)
        return drop(DropReason::BadVersion, fmt::format("VRRPv2 from {} over IPv6", src));
    if (type != kTypeAdvertisement)
        return drop(DropReason::BadType, fmt::format("type {} from {}, only 1 (advertisement) exists", type, src));
    a.vrid = at(p, 1);
    if (a.vrid == 0) return drop(DropReason::BadAddress, fmt::format("VRID 0 from {}", src));
    a.priority = at(p, 2);
    const unsigned count = at(p, 3);
    // RFC 5798 §5.2.5 says at least 1, but keepalived advertises an instance without
    // addresses (its notify scripts move a cloud provider's address) with a count of 0.
    const std::size_t expected =
        kHeaderLength + count * address_length(family) + (a.version == 2 ? kV2AuthLength : 0);
    if (p.size() < expected)
        return drop(DropReason::TooShort, fmt::format("{} bytes from {} (VRID {}), {} addresses need {}", p.size(),
                                                      src, a.vrid, count, expected));
    if (p.size() != expected)
        return drop(DropReason::BadLength, fmt::format("{} bytes from {} (VRID {}), {} addresses make {}", p.size(),
                                                       src, a.vrid, count, expected));
    const uint16_t sent = static_cast<uint16_t>(at(p, 6) << 8 | at(p, 7));
    if (message_checksum(a.version, p, src, dst) != 0) {
        std::vector<std::byte> copy(p.begin(), p.end());
        copy[6] = copy[7] = std::byte{0};
        return drop(DropReason::BadChecksum, fmt::format("checksum {:#06x} from {} (VRID {}), expected {:#06x}", sent,
                                                         src, a.vrid, message_checksum(a.version, copy, src, dst)));
    }
    if (a.version == 3) {
        a.max_advert_int = Centiseconds((at(p, 4) & 0x0f) << 8 | at(p, 5));
    } else {
        const uint8_t auth = at(p, 4);
        if (auth > 2)
            return drop(DropReason::BadAuthType,
                        fmt::format("auth type {} from {} (VRID {}): only 0 (none), 1 (PASS) and 2 (AH) exist", auth,
                                    src, a.vrid));
        a.auth_type = static_cast<AuthType>(auth);
        a.max_advert_int = std::chrono::seconds(at(p, 5));
        if (a.auth_type == AuthType::SimpleText) {
            auto data = p.subspan(kHeaderLength + count * 4, kV2AuthLength);
            std::string pass;
            for (auto b : data) {
                if (b == std::byte{0}) break;
                pass.push_back(static_cast<char>(b));
            }
            a.auth_pass = std::move(pass);
        }
    }
    if (a.max_advert_int.count() == 0)
        return drop(DropReason::IntervalMismatch, fmt::format("advert interval 0 from {} (VRID {})", src, a.vrid));
    const std::size_t alen = address_length(family);
    for (unsigned i = 0; i < count; ++i) a.addresses.push_back(read_address(p.subspan(kHeaderLength + i * alen), family));
    return a;
}

Result<std::vector<std::byte>> encode(const Advert& a, const IpAddress& src, const IpAddress& dst) {
    if (a.version != 2 && a.version != 3) return make_error(0, "encode VRRP advert: version {} (2 or 3)", a.version);
    if (a.vrid == 0) return make_error(0, "encode VRRP advert: VRID 0 (1..255)");
    if (a.addresses.size() > 255)
        return make_error(0, "encode VRRP advert for VRID {}: {} addresses (0..255)", a.vrid, a.addresses.size());
    if (src.is_v4() != dst.is_v4())
        return make_error(0, "encode VRRP advert for VRID {}: source {} and destination {} differ in family", a.vrid,
                          src, dst);
    for (const auto& x : a.addresses)
        if (x.is_v4() != src.is_v4())
            return make_error(0, "encode VRRP advert for VRID {}: address {} is not of the family of source {}",
                              a.vrid, x, src);
    if (a.version == 2 && !src.is_v4())
        return make_error(0, "encode VRRP advert for VRID {}: VRRPv2 is IPv4 only (RFC 3768)", a.vrid);

    std::vector<std::byte> out;
    out.push_back(std::byte(a.version << 4 | kTypeAdvertisement));
    out.push_back(std::byte{a.vrid});
    out.push_back(std::byte{a.priority});
    out.push_back(std::byte(a.addresses.size()));
    const auto cs = a.max_advert_int.count();
    if (a.version == 3) {
        if (cs < 1 || cs > kV3MaxIntervalCs)
            return make_error(0, "encode VRRP advert for VRID {}: interval {} cs out of 1..{}", a.vrid, cs,
                              kV3MaxIntervalCs);
        out.push_back(std::byte((cs >> 8) & 0x0f));
        out.push_back(std::byte(cs & 0xff));
    } else {
        if (cs % 100 != 0 || cs < 100 || cs > 255 * 100)
            return make_error(0, "encode VRRP advert for VRID {}: VRRPv2 interval {} cs is not 1..255 whole seconds",
                              a.vrid, cs);
        if (a.auth_pass.size() > kV2AuthLength)
            return make_error(0, "encode VRRP advert for VRID {}: password longer than {} bytes", a.vrid,
                              kV2AuthLength);
        out.push_back(std::byte(static_cast<uint8_t>(a.auth_type)));
        out.push_back(std::byte(cs / 100));
    }
    out.push_back(std::byte{0});
    out.push_back(std::byte{0});
    for (const auto& x : a.addresses) append_address(out, x);
    if (a.version == 2) {
        // RFC 3768 §5.3.10: 8 octets, zero unless type 1; the password NUL-padded. With
        // type 2 the password keys the AH header's ICV instead (ah.hpp).
        std::array<std::byte, kV2AuthLength> auth{};
        if (a.auth_type == AuthType::SimpleText)
            std::transform(a.auth_pass.begin(), a.auth_pass.end(), auth.begin(), [](char c) { return std::byte(c); });
        out.insert(out.end(), auth.begin(), auth.end());
    }
    const uint16_t sum = message_checksum(a.version, out, src, dst);
    out[6] = std::byte(sum >> 8);
    out[7] = std::byte(sum & 0xff);
    return out;
}

std::optional<Ipv4Packet> split_ipv4(std::span<const std::byte> b) {
    if (b.size() < 20 || (at(b, 0) >> 4) != 4) return std::nullopt;
    const std::size_t ihl = (at(b, 0) & 0x0f) * 4u;
    const std::size_t total = static_cast<std::size_t>(at(b, 2) << 8 | at(b, 3));
    if (ihl < 20 || ihl > b.size()) return std::nullopt;
    // The kernel hands over exactly total bytes; trust the smaller of the two.
    const std::size_t end = std::min(total, b.size());
    if (end < ihl) return std::nullopt;
    Ipv4Packet p;
    p.ttl = at(b, 8);
    p.protocol = at(b, 9);
    p.src = read_address(b.subspan(12), Family::V4);
    p.dst = read_address(b.subspan(16), Family::V4);
    p.payload = b.subspan(ihl, end - ihl);
    return p;
}

std::optional<Drop> check(const Advert& a, uint8_t ttl, const IpAddress& src, const Expectation& e) {
    // RFC 5798 §7.1 and RFC 3768 §7.1, in the order they list the checks.
    if (ttl != kRequiredTtl && !e.ipv6_unicast)
        return drop(DropReason::BadTtl, fmt::format("TTL/hop limit {} from {} (VRID {}), must be 255", ttl, src, a.vrid));
    if (a.version != e.version)
        return drop(DropReason::BadVersion,
                    fmt::format("VRRPv{} advert from {} for VRID {}, this instance speaks v{}", a.version, src, a.vrid,
                                e.version));
    if (a.vrid != e.vrid)
        return drop(DropReason::WrongVrid, fmt::format("VRID {} from {}, ours is {}", a.vrid, src, e.vrid));
    if (family_of(src) != e.family)
        return drop(DropReason::BadAddress, fmt::format("advert from {} for VRID {} in the other family", src, a.vrid));
    if (std::find(e.own_addresses.begin(), e.own_addresses.end(), src) != e.own_addresses.end())
        return drop(DropReason::OwnAdvert, fmt::format("own advert from {} (VRID {}) looped back", src, a.vrid));
    if (a.version == 2) {
        if (a.auth_type != e.auth_type)
            return drop(DropReason::BadAuthType, fmt::format("auth type {} from {} (VRID {}), ours is {}",
                                                             static_cast<int>(a.auth_type), src, a.vrid,
                                                             static_cast<int>(e.auth_type)));
        if (a.auth_type == AuthType::SimpleText && a.auth_pass != e.auth_pass)
            return drop(DropReason::BadAuth, fmt::format("wrong password from {} (VRID {})", src, a.vrid));
        if (a.max_advert_int != e.advert_int)
            return drop(DropReason::IntervalMismatch,
                        fmt::format("advert interval {} s from {} (VRID {}), ours is {} s",
                                    a.max_advert_int.count() / 100.0, src, a.vrid, e.advert_int.count() / 100.0));
    }
    return std::nullopt;
}

}  // namespace lvsd::vrrp
