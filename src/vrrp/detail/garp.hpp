// Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6, RFC 4861 §7.2.6)
// that tell the segment where a VIP lives now.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::vrrp::detail {

using Mac = std::array<uint8_t, 6>;

Result<Mac> interface_mac(const std::string& ifname);

// Pure builders, so that the frames can be unit-tested.
std::array<uint8_t, 28> gratuitous_arp(const Mac& mac, const IpAddress& vip);
std::array<uint8_t, 32> unsolicited_na(const Mac& mac, const IpAddress& vip);
// An ordinary ARP request for `target` (gateway tracking).
std::array<uint8_t, 28> arp_request(const Mac& mac, const IpAddress& sender, const IpAddress& target);

class Announcer {
public:
    Announcer() = default;
    ~Announcer();
    Announcer(const Announcer&) = delete;
    Announcer& operator=(const Announcer&) = delete;

    Result<void> open(int ifindex, const std::string& ifname, bool want_v4, bool want_v6);
    Result<void> announce(const IpAddress& vip);
    Result<void> ask(const IpAddress& sender, const IpAddress& target);  // ARP request, broadcast

private:
    int ifindex_ = 0;
    std::string ifname_;
    Mac mac_{};
    int arp_fd_ = -1;
    int icmp6_fd_ = -1;
};

}  // namespace lvsd::vrrp::detail
