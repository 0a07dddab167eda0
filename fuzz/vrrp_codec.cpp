// libFuzzer target: VRRP adverts as a raw socket delivers them (issue #16). The first
// byte picks IPv4 (the IP header comes with the packet, split_ipv4) or IPv6 (the payload
// alone, from a fixed source); every parsed advert must encode back to a packet that
// parses to the same advert, and check() must take it against any expectation.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "vrrp/codec.hpp"

using namespace lvsd;

namespace {

void round_trip(const vrrp::Advert& a, const IpAddress& src, const IpAddress& dst) {
    auto wire = vrrp::encode(a, src, dst);
    if (!wire) return;  // e.g. a v2 interval that the wire carried but encode refuses
    auto again = vrrp::parse(*wire, src, dst);
    if (!again || !(again.value() == a)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
    vrrp::Expectation e;
    e.version = (data[0] & 2) ? 3 : 2;
    e.vrid = 51;
    e.auth_type = (data[0] & 4) ? vrrp::AuthType::SimpleText : vrrp::AuthType::None;
    e.auth_pass = "secret1";
    if (data[0] & 1) {
        const auto src = boost::asio::ip::make_address("2001:db8::1");
        const auto dst = boost::asio::ip::make_address("ff02::12");
        e.family = Family::V6;
        auto parsed = vrrp::parse(rest, src, dst);
        if (!parsed) return 0;
        (void)vrrp::check(parsed.value(), 255, src, e);
        round_trip(parsed.value(), src, dst);
        return 0;
    }
    auto packet = vrrp::split_ipv4(rest);
    if (!packet) return 0;
    auto parsed = vrrp::parse(packet->payload, packet->src, packet->dst);
    if (!parsed) return 0;
    (void)vrrp::check(parsed.value(), packet->ttl, packet->src, e);
    round_trip(parsed.value(), packet->src, packet->dst);
    return 0;
}
