#include "announce/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::announce {

std::string_view to_string(State s) { return s == State::Announced ? "announced" : "withdrawn"; }

Plan plan(const PlanInput& in) {
    Plan out;
    for (const auto& vip : in.vips) {
        VipDecision d{vip.address, State::Withdrawn, {}};
        std::vector<std::string> down, unknown, held;
        for (const auto& s : vip.services) {
            if (!s.quorum) unknown.push_back(s.name);
            else if (!*s.quorum) down.push_back(s.name);
            // Only with a verdict: before it, a check that starts down (alpha) leaves the
            // table empty, and an adopted route must stay (no flap at a restart).
            if (s.quorum.value_or(false) && !s.takes_new_connections) held.push_back(s.name);
        }
        const bool kept = in.announced.contains(vip.address);
        if (in.drained) {
            d.why = "balancer drained (lvsctl undrain --balancer announces it again)";
        } else if (vip.services.empty()) {
            d.why = "no announced service";
        } else if (!down.empty()) {
            d.why = fmt::format("quorum lost: {}", fmt::join(down, ", "));
        } else if (!held.empty()) {
            d.why = fmt::format("no real server takes new connections (disabled, draining or weight 0: lvsctl status): {}",
                                fmt::join(held, ", "));
        } else if (kept && !unknown.empty()) {
            d.state = State::Announced;
            d.why = fmt::format("kept announced until the first health verdict of {}", fmt::join(unknown, ", "));
        } else if (!unknown.empty()) {
            d.why = fmt::format("waiting for the first health verdict of {}", fmt::join(unknown, ", "));
        } else {
            d.state = State::Announced;
            d.why = vip.services.size() == 1 ? "its service has its quorum" : "every service has its quorum";
        }
        if (d.state == State::Announced) out.desired.insert(vip.address);
        out.decisions.push_back(std::move(d));
    }
    return out;
}

std::set<IpAddress> adopt(const std::set<IpAddress>& found, const std::vector<Vip>& vips) {
    std::set<IpAddress> out;
    for (const auto& v : vips)
        if (found.contains(v.address)) out.insert(v.address);
    return out;
}

std::vector<RouteOp> diff(const std::set<IpAddress>& desired, const std::set<IpAddress>& observed) {
    std::vector<RouteOp> ops;
    for (const auto& a : desired)
        if (!observed.contains(a)) ops.push_back({OpKind::Add, a});
    for (const auto& a : observed)
        if (!desired.contains(a)) ops.push_back({OpKind::Delete, a});
    return ops;
}

}  // namespace lvsd::announce
