// The wire of one VRRP instance: a raw socket for IP protocol 112 (51 with VRRPv2
// auth_type AH: the adverts ride in an IP Authentication Header, ah.hpp) bound to the
// instance's interface (SO_BINDTODEVICE and the multicast membership both hold the
// interface's index of the moment, so a re-created interface needs open() again).
// Receives whole packets and hands over the VRRP payload with the addresses and TTL /
// hop limit the receive checks need; sends adverts from a chosen source.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/net.hpp"
#include "common/result.hpp"
#include "vrrp/codec.hpp"

namespace lvsd::vrrp::detail {

class Transport {
public:
    // payload (the part after the IP header), source, destination, TTL or hop limit, and
    // the whole IPv4 packet (AH's ICV covers the IP header; empty for IPv6).
    using Receiver = std::function<void(std::span<const std::byte>, const IpAddress&, const IpAddress&, uint8_t,
                                        std::span<const std::byte>)>;
    // A packet that never got as far as the codec (not IPv4, no ancillary data).
    using Dropper = std::function<void(const Drop&)>;

    Transport(boost::asio::io_context& io, std::string owner, Receiver receive, Dropper drop);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // (Re)opens the socket on `ifname`, which has index `ifindex` now; joins 224.0.0.18 /
    // ff02::12 unless `unicast`. Closes a previous socket first. The error names the
    // step (socket, bind to device, join) and the interface. `ah` (IPv4 only): protocol
    // 51, and send() takes whole IPv4 packets (IP_HDRINCL), as the ICV covers the header.
    Result<void> open(const std::string& ifname, int ifindex, Family family, bool unicast, bool ah = false);
    void close();
    bool is_open() const;
    int ifindex() const;  // of the open socket; 0 when closed

    // One advert to `dst` from `src` (the source is forced even where a VIP in the same
    // subnet would win the kernel's choice; with `ah` the packet's own header says it).
    // The error carries errno.
    Result<void> send(std::span<const std::byte> packet, const IpAddress& src, const IpAddress& dst);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp::detail
