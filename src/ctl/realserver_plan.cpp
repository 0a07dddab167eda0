#include "ctl/realserver_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::ctl {

RealserverPlan plan_realserver(bool up, const std::vector<IpAddress>& vips, const std::vector<Prefix>& on_lo) {
    RealserverPlan plan;
    auto find = [&](const IpAddress& a) {
        return std::find_if(on_lo.begin(), on_lo.end(), [&](const Prefix& p) { return p.address == a; });
    };
    bool any_v4 = false;
    for (const auto& vip : vips) {
        any_v4 = any_v4 || vip.is_v4();
        const auto there = find(vip);
        if (up && there != on_lo.end())
            plan.notes.push_back(fmt::format("{} already present on lo", *there));
        else if (up)
            plan.add.push_back(Prefix{vip, static_cast<uint8_t>(vip.is_v4() ? 32 : 128)});
        else if (there == on_lo.end())
            plan.notes.push_back(fmt::format("{} not present on lo", vip));
        else
            plan.remove.push_back(*there);
    }
    if (!any_v4) {
        plan.notes.push_back("IPv6 only: net.ipv4.conf.all.arp_ignore and arp_announce left as they are");
        return plan;
    }
    if (up) {
        plan.arp = ArpSysctls{1, 2};
        return plan;
    }
    // IPv4 addresses that stay on lo: any but 127/8 would be answered for on the LAN.
    std::vector<std::string> staying;
    for (const auto& p : on_lo) {
        if (!p.address.is_v4() || p.address.is_loopback()) continue;
        if (std::find(plan.remove.begin(), plan.remove.end(), p) == plan.remove.end())
            staying.push_back(fmt::format("{}", p));
    }
    if (staying.empty()) {
        plan.arp = ArpSysctls{0, 0};
    } else {
        plan.notes.push_back(fmt::format("net.ipv4.conf.all.arp_ignore and arp_announce left as they are: {} "
                                         "still on lo",
                                         fmt::join(staying, ", ")));
    }
    return plan;
}

}  // namespace lvsd::ctl
