// Shorthands for building IPVS values in tests.
#pragma once

#include <string>

#include "common/net.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::ipvs::test {

inline IpAddress ip(const char* text) { return *parse_address(text); }

inline Service tcp_service(const char* address, uint16_t port, std::string scheduler = "wlc") {
    Service s;
    s.key = ServiceKey::endpoint(Protocol::Tcp, ip(address), port);
    s.scheduler = std::move(scheduler);
    return s;
}

inline Service fwmark_service(uint32_t mark, Family family = Family::V4,
                              std::string scheduler = "wlc") {
    Service s;
    s.key = ServiceKey::mark(mark, family);
    s.scheduler = std::move(scheduler);
    return s;
}

inline Destination dest(const char* address, uint16_t port, uint32_t weight = 1,
                        Forwarding forwarding = Forwarding::DirectRoute) {
    Destination d;
    d.key = {ip(address), port};
    d.weight = weight;
    d.forwarding = forwarding;
    return d;
}

}  // namespace lvsd::ipvs::test
