#include "vrrp/ah.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace lvsd::vrrp::ah {
namespace {

// Offsets in the IPv4 header (RFC 791 §3.1) and in the AH header after it (RFC 2402 §2).
constexpr std::size_t kTos = 1, kTotalLength = 2, kId = 4, kFragment = 6, kTtl = 8, kProto = 9, kChecksum = 10,
                      kSrc = 12, kDst = 16;
constexpr std::size_t kNextHeader = 0, kAhPayloadLength = 1, kSpi = 4, kSequence = 8, kIcv = 12;
constexpr uint8_t kTosInternetworkControl = 0xc0;  // as keepalived marks adverts

uint8_t at(std::span<const std::byte> b, std::size_t i) { return std::to_integer<uint8_t>(b[i]); }
uint32_t be32(std::span<const std::byte> b, std::size_t i) {
    return uint32_t(at(b, i)) << 24 | uint32_t(at(b, i + 1)) << 16 | uint32_t(at(b, i + 2)) << 8 | at(b, i + 3);
}
void put16(std::vector<std::byte>& b, std::size_t i, uint16_t v) {
    b[i] = std::byte(v >> 8);
    b[i + 1] = std::byte(v & 0xff);
}
void put32(std::vector<std::byte>& b, std::size_t i, uint32_t v) {
    for (int k = 0; k < 4; ++k) b[i + k] = std::byte((v >> (24 - 8 * k)) & 0xff);
}
IpAddress v4_at(std::span<const std::byte> b, std::size_t i) { return boost::asio::ip::address_v4(be32(b, i)); }

// RFC 2402 §3.3.3.1.1.1: a copy with the mutable fields and the ICV zeroed.
std::vector<std::byte> icv_input(std::span<const std::byte> packet, std::size_t ihl, bool unicast) {
    std::vector<std::byte> c(packet.begin(), packet.end());
    c[kTos] = std::byte{0};
    c[kFragment] = c[kFragment + 1] = std::byte{0};
    c[kChecksum] = c[kChecksum + 1] = std::byte{0};
    if (unicast) c[kTtl] = std::byte{0};
    std::fill_n(c.begin() + static_cast<std::ptrdiff_t>(ihl + kIcv), kIcvLength, std::byte{0});
    return c;
}

std::array<std::byte, kIcvLength> icv_of(std::span<const std::byte> input, std::string_view key) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int len = 0;
    HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(input.data()),
         input.size(), mac.data(), &len);
    std::array<std::byte, kIcvLength> out{};
    std::memcpy(out.data(), mac.data(), kIcvLength);  // MD5 gives 16 bytes; the first 12 (RFC 2403 §2)
    return out;
}

Drop drop(DropReason r, std::string message) { return Drop{r, std::move(message)}; }

}  // namespace

Result<std::vector<std::byte>> seal(std::span<const std::byte> advert, const SealParams& p, std::string_view key) {
    if (!p.src.is_v4() || !p.dst.is_v4())
        return make_error(0, "seal AH packet from {} to {}: AH is for VRRPv2 over IPv4 only", p.src, p.dst);
    if (p.ip_id == 0) return make_error(0, "seal AH packet from {}: IP ID 0 (1..65535)", p.src);
    if (key.empty()) return make_error(0, "seal AH packet from {}: empty auth_pass", p.src);
    const std::size_t total = kIpv4HeaderLength + kHeaderLength + advert.size();
    if (total > 0xffff) return make_error(0, "seal AH packet from {}: {} bytes exceed 65535", p.src, total);

    std::vector<std::byte> b(total);
    b[0] = std::byte{0x45};  // version 4, 5 words of header
    b[kTos] = std::byte{kTosInternetworkControl};
    put16(b, kTotalLength, static_cast<uint16_t>(total));
    put16(b, kId, p.ip_id);
    b[kTtl] = std::byte{kRequiredTtl};
    b[kProto] = std::byte{kProtocol};
    put32(b, kSrc, p.src.to_v4().to_uint());
    put32(b, kDst, p.dst.to_v4().to_uint());
    const std::size_t h = kIpv4HeaderLength;
    b[h + kNextHeader] = std::byte{vrrp::kProtocol};
    b[h + kAhPayloadLength] = std::byte{kPayloadLength};
    put32(b, h + kSpi, p.src.to_v4().to_uint());
    put32(b, h + kSequence, p.sequence);
    std::copy(advert.begin(), advert.end(), b.begin() + static_cast<std::ptrdiff_t>(h + kHeaderLength));

    const auto icv = icv_of(icv_input(b, h, p.unicast), key);
    std::copy(icv.begin(), icv.end(), b.begin() + static_cast<std::ptrdiff_t>(h + kIcv));
    put16(b, kChecksum, internet_checksum({std::span<const std::byte>(b).first(h)}));
    return b;
}

std::variant<Opened, Drop> open(std::span<const std::byte> b) {
    if (b.size() < kIpv4HeaderLength)
        return drop(DropReason::TooShort, fmt::format("{} bytes: shorter than an IPv4 header", b.size()));
    const std::size_t ihl = (at(b, 0) & 0x0f) * 4u;
    if ((at(b, 0) >> 4) != 4 || ihl < kIpv4HeaderLength || at(b, kProto) != kProtocol)
        return drop(DropReason::BadAddress, fmt::format("not an IPv4 AH packet (first byte {:#04x}, protocol {})",
                                                        at(b, 0), at(b, kProto)));
    Opened o;
    o.src = v4_at(b, kSrc);
    o.dst = v4_at(b, kDst);
    o.ttl = at(b, kTtl);
    const std::size_t total = static_cast<std::size_t>(at(b, kTotalLength) << 8 | at(b, kTotalLength + 1));
    if (b.size() < ihl + kHeaderLength + vrrp::kHeaderLength)
        return drop(DropReason::TooShort, fmt::format("{} bytes from {}: IP and AH headers and a VRRP header need {}",
                                                      b.size(), o.src, ihl + kHeaderLength + vrrp::kHeaderLength));
    if (total != b.size())
        return drop(total > b.size() ? DropReason::TooShort : DropReason::BadLength,
                    fmt::format("{} bytes from {}, the IP header says {}", b.size(), o.src, total));
    const auto a = b.subspan(ihl);
    if (at(a, kNextHeader) != vrrp::kProtocol)
        return drop(DropReason::BadAddress,
                    fmt::format("AH from {} carries protocol {}, not VRRP (112)", o.src, at(a, kNextHeader)));
    if (at(a, kAhPayloadLength) != kPayloadLength)
        return drop(DropReason::BadLength, fmt::format("AH payload length {} from {}, HMAC-MD5-96 makes {}",
                                                       at(a, kAhPayloadLength), o.src, kPayloadLength));
    o.spi = be32(a, kSpi);
    o.sequence = be32(a, kSequence);
    o.vrrp = a.subspan(kHeaderLength);
    return o;
}

std::optional<Drop> verify(std::span<const std::byte> b, std::string_view key, bool unicast) {
    // open() has checked the lengths; this is only ever called after it.
    const std::size_t ihl = (at(b, 0) & 0x0f) * 4u;
    const IpAddress src = v4_at(b, kSrc);
    const auto expected = icv_of(icv_input(b, ihl, unicast), key);
    // Constant time, as keepalived compares: the comparison must not tell how much matched.
    if (CRYPTO_memcmp(expected.data(), b.data() + ihl + kIcv, kIcvLength) != 0)
        return drop(DropReason::BadAuth,
                    fmt::format("AH ICV from {} does not match: another auth_pass, or a field changed", src));
    const uint32_t spi = be32(b, ihl + kSpi);
    if (spi != src.to_v4().to_uint())
        return drop(DropReason::BadAuth, fmt::format("AH SPI {:#010x} from {} is not its address", spi, src));
    return std::nullopt;
}

uint32_t next_sequence(uint32_t counter) { return counter < 0xfffffffeu ? counter + 1 : counter; }

std::variant<uint32_t, Drop> accept_sequence(uint32_t counter, uint32_t sequence, const IpAddress& src) {
    if (sequence > counter) return sequence;
    return drop(DropReason::BadAuth, fmt::format("AH sequence number {} from {} was already seen (counter {}): replay",
                                                 sequence, src, counter));
}

std::variant<uint32_t, Drop> authenticate(std::span<const std::byte> packet, std::string_view key, bool unicast,
                                          uint32_t counter) {
    if (auto d = verify(packet, key, unicast)) return *d;
    const std::size_t ihl = (at(packet, 0) & 0x0f) * 4u;
    return accept_sequence(counter, be32(packet, ihl + kSequence), v4_at(packet, kSrc));
}

}  // namespace lvsd::vrrp::ah
