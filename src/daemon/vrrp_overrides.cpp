#include "daemon/vrrp_overrides.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::daemon {

std::string describe(const VrrpOverrideTarget& t) {
    return fmt::format("{} {}", t.group ? "vrrp sync group" : "vrrp instance", t.name);
}

VrrpOverrideRequest override_request(const ctl::VrrpRequest& r) {
    const bool group = !r.group.empty();
    return VrrpOverrideRequest{{group, group ? r.group : r.instance},
                               r.verb == ctl::VrrpRequest::Verb::Hold ? vrrp::Override::Hold : vrrp::Override::Failover,
                               r.clear};
}

std::optional<std::string> VrrpTopology::group_of(const std::string& instance) const {
    for (const auto& [g, members] : groups)
        if (std::find(members.begin(), members.end(), instance) != members.end()) return g;
    return std::nullopt;
}

std::vector<std::string> instances_of(const VrrpOverrideTarget& t, const VrrpTopology& topology) {
    if (!t.group) return topology.priorities.contains(t.name) ? std::vector<std::string>{t.name} : std::vector<std::string>{};
    auto g = topology.groups.find(t.name);
    return g == topology.groups.end() ? std::vector<std::string>{} : g->second;
}

namespace {

// Why `o` cannot be on `t` as configured now ("" when it can); checked on every request
// and again after every reload.
std::string refusal(const VrrpOverrideTarget& t, vrrp::Override o, const VrrpTopology& topology) {
    const auto members = instances_of(t, topology);
    if (members.empty()) {
        if (!t.group) return fmt::format("no vrrp instance named \"{}\" in the running configuration", t.name);
        return fmt::format("no vrrp sync group named \"{}\" in the running configuration", t.name);
    }
    if (!t.group)
        if (auto g = topology.group_of(t.name))
            return fmt::format("vrrp instance {} is in sync group {}, whose members change state together: use "
                               "--group {} (every member of the group then {})",
                               t.name, *g, *g, o == vrrp::Override::Hold ? "is held" : "fails over");
    for (const auto& m : members) {
        auto p = topology.priorities.find(m);
        const unsigned prio = p == topology.priorities.end() ? 0 : p->second;
        if (auto why = vrrp::override_refusal(m, static_cast<uint8_t>(prio), o); !why.empty())
            return t.group ? fmt::format("sync group {}: {}", t.name, why) : why;
    }
    return {};
}

std::string_view verb(vrrp::Override o) { return o == vrrp::Override::Hold ? "hold" : "failover"; }

}  // namespace

Result<VrrpOverrides> apply_request(const VrrpOverrides& now, const VrrpOverrideRequest& request,
                                    const VrrpTopology& topology, VrrpOverrideClock::time_point at) {
    VrrpOverrides next = now;
    auto it = next.find(request.target);
    if (request.clear) {
        // Unknown names are still errors: a typo must not look like success.
        if (instances_of(request.target, topology).empty())
            return make_error(0, "{}", refusal(request.target, request.verb, topology));
        if (it == next.end()) {
            if (!request.target.group)
                if (auto g = topology.group_of(request.target.name); g && next.contains({true, *g}))
                    return make_error(0, "the {} is on sync group {}, not on vrrp instance {}: lvsctl {} --clear --group {}",
                                      verb(next.at({true, *g}).kind), *g, request.target.name,
                                      verb(next.at({true, *g}).kind), *g);
            return next;
        }
        if (it->second.kind != request.verb)
            return make_error(0, "{} is under {}, not {}: lvsctl {} --clear {}{}", describe(request.target),
                              verb(it->second.kind), verb(request.verb), verb(it->second.kind),
                              request.target.group ? "--group " : "", request.target.name);
        next.erase(it);
        return next;
    }
    if (auto why = refusal(request.target, request.verb, topology); !why.empty()) return make_error(0, "{}", why);
    if (it != next.end() && it->second.kind == request.verb) return next;
    next[request.target] = VrrpOverrideEntry{request.verb, at};
    return next;
}

OverridesAfterReload after_reload(const VrrpOverrides& now, const VrrpTopology& topology) {
    OverridesAfterReload out;
    for (const auto& [target, entry] : now) {
        if (instances_of(target, topology).empty()) {
            out.dropped.push_back(fmt::format("{}: the operator's {} is dropped: the {} is no longer in the configuration",
                                              describe(target), verb(entry.kind), target.group ? "group" : "instance"));
            continue;
        }
        if (auto why = refusal(target, entry.kind, topology); !why.empty()) {
            out.dropped.push_back(fmt::format("{}: the operator's {} is dropped: {}", describe(target),
                                              verb(entry.kind), why));
            continue;
        }
        out.kept.emplace(target, entry);
    }
    return out;
}

std::map<std::string, InstanceOverride> per_instance(const VrrpOverrides& overrides, const VrrpTopology& topology,
                                                    std::optional<VrrpOverrideClock::time_point> balancer_drained) {
    std::map<std::string, InstanceOverride> out;
    for (const auto& [name, prio] : topology.priorities) {
        auto& o = out[name];
        if (balancer_drained && prio < 255) o = InstanceOverride{vrrp::Override::Failover, *balancer_drained, {}, true};
    }
    for (const auto& [target, entry] : overrides)
        for (const auto& m : instances_of(target, topology))
            out[m] = InstanceOverride{entry.kind, entry.since, target.group ? target.name : std::string()};
    return out;
}

}  // namespace lvsd::daemon
