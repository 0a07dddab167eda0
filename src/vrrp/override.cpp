#include "vrrp/override.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "vrrp/state_machine.hpp"

namespace lvsd::vrrp {

std::string_view to_string(Override o) {
    switch (o) {
        case Override::None: return "none";
        case Override::Failover: return "failover";
        case Override::Hold: return "hold";
    }
    return "none";
}

std::optional<Override> parse_override(std::string_view word) {
    for (Override o : {Override::None, Override::Failover, Override::Hold})
        if (word == to_string(o)) return o;
    return std::nullopt;
}

uint8_t overridden_priority(uint8_t tracked, Override o, uint8_t failover_priority) {
    if (o == Override::None || tracked == kOwnerPriority) return tracked;
    return std::min(tracked, std::clamp<uint8_t>(failover_priority, 1, 254));
}

std::string override_refusal(std::string_view name, uint8_t priority, Override o) {
    if (o == Override::None || priority != kOwnerPriority) return {};
    return fmt::format(
        "vrrp instance {} is the address owner (priority 255): RFC 5798 §6.4.1 makes it master whenever it runs, so it "
        "cannot {}; configure a priority below 255 for it to be able to hand over",
        name, o == Override::Failover ? "fail over" : "be held in backup");
}

}  // namespace lvsd::vrrp
