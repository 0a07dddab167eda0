// VrrpPlane's part of `lvsctl failover` and `lvsctl hold`: the decisions are
// vrrp_overrides.hpp's, what an overridden instance does is vrrp/override.hpp's; here they
// are carried out on the running instances and handed to the daemon to keep.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/vrrp_plane.hpp"

namespace lvsd::daemon {

VrrpTopology VrrpPlane::topology_of(const Prepared& p) {
    VrrpTopology t;
    for (const auto& [name, c] : p.configs) t.priorities[name] = c.priority;
    t.groups = p.groups;
    return t;
}

Result<std::string> VrrpPlane::request_override(const VrrpOverrideRequest& r) {
    auto next = apply_request(overrides_, r, topology_, VrrpOverrideClock::now());
    if (!next) return next.error();
    if (*next != overrides_) {
        // Kept first: an override that would not survive a restart is refused.
        if (save_overrides_)
            if (auto saved = save_overrides_(*next); !saved)
                return make_error(saved.error().code, "nothing changed: {}", saved.error().message);
        overrides_ = std::move(*next);
        spdlog::info("{}: operator {} {}", describe(r.target), vrrp::to_string(r.verb), r.clear ? "cleared" : "set");
        apply_overrides();
    }
    std::string out;
    for (const auto& name : instances_of(r.target, topology_)) out += override_text(name);
    return out;
}

void VrrpPlane::apply_overrides() {
    for (const auto& [name, o] : per_instance(overrides_, topology_)) {
        auto it = instances_.find(name);
        if (it == instances_.end()) continue;
        // Refused only for an address owner, which the rules refused before.
        if (auto r = it->second->set_override(o.kind); !r) spdlog::error("{}", r.error().message);
    }
}

void VrrpPlane::reconcile_overrides(const VrrpTopology& next) {
    topology_ = next;
    auto after = after_reload(overrides_, topology_);
    for (const auto& line : after.dropped) spdlog::warn("{}", line);
    if (after.kept != overrides_) {
        overrides_ = std::move(after.kept);
        if (save_overrides_)
            if (auto r = save_overrides_(overrides_); !r) spdlog::error("overrides: {}", r.error().message);
    }
    apply_overrides();
}

// One line of a failover/hold answer: the instance's state now and what it runs with.
std::string VrrpPlane::override_text(const std::string& instance) const {
    auto it = instances_.find(instance);
    if (it == instances_.end()) return fmt::format("{}: not running\n", instance);
    const auto& inst = *it->second;
    const auto o = per_instance(overrides_, topology_).at(instance);
    std::string what;
    switch (o.kind) {
        case vrrp::Override::None:
            what = inst.config().nopreempt ? "no override (nopreempt: it stays backup while a master is heard)"
                                           : "no override";
            break;
        case vrrp::Override::Failover:
            what = "failover (master again only if no master is heard)";
            break;
        case vrrp::Override::Hold:
            what = "hold (never master until cleared)";
            break;
    }
    if (!o.group.empty()) what += fmt::format(", on sync group {}", o.group);
    return fmt::format("{}: {}, priority {} (configured {}), {}\n", instance, inst.state(), inst.effective_priority(),
                       inst.config().priority, what);
}

}  // namespace lvsd::daemon
