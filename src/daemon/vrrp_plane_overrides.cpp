// VrrpPlane's part of `lvsctl failover` and `lvsctl hold`: the decisions are
// vrrp_overrides.hpp's, what an overridden instance does is vrrp/override.hpp's; here they
// are carried out on the running instances and handed to the daemon to keep.
#include <cerrno>
#include <utility>

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

namespace {

vrrp::Override engine_kind(VrrpOverride o) { return o == VrrpOverride::Hold ? vrrp::Override::Hold : vrrp::Override::Failover; }
VrrpOverride file_kind(vrrp::Override o) { return o == vrrp::Override::Hold ? VrrpOverride::Hold : VrrpOverride::Failover; }

// The store's failover and hold entries as the plane keeps them. The file has no time:
// an entry read at start counts from then.
VrrpOverrides from_store(const Overrides& o, VrrpOverrideClock::time_point now) {
    VrrpOverrides out;
    for (const auto& [name, kind] : o.vrrp_instances) out[{false, name}] = {engine_kind(kind), now};
    for (const auto& [name, kind] : o.vrrp_groups) out[{true, name}] = {engine_kind(kind), now};
    return out;
}

// `all` with its VRRP entries replaced by `v` (the real servers' stay as they are).
Overrides with_vrrp(Overrides all, const VrrpOverrides& v) {
    all.vrrp_instances.clear();
    all.vrrp_groups.clear();
    for (const auto& [target, entry] : v)
        (target.group ? all.vrrp_groups : all.vrrp_instances)[target.name] = file_kind(entry.kind);
    return all;
}

}  // namespace

// Main thread, before the first commit.
void VrrpPlane::keep_overrides_in(OverrideStore& store) {
    store_ = &store;
    auto restored = from_store(store.get(), VrrpOverrideClock::now());
    for (const auto& [target, entry] : restored)
        spdlog::info("{}: the operator's {} from the previous run is kept", describe(target), vrrp::to_string(entry.kind));
    const bool drained = store.get().balancer_drain.has_value();
    if (drained) spdlog::info("the balancer drain from the previous run is kept: every VRRP instance fails over");
    thread_.call([&] {
        overrides_ = std::move(restored);
        if (drained) balancer_drained_ = VrrpOverrideClock::now();
    });
}

// Main thread; the store already keeps the balancer drain (the service plane's verb).
void VrrpPlane::set_balancer_drained(bool on) {
    thread_.call([&] {
        if (on == balancer_drained_.has_value()) return;
        balancer_drained_.reset();
        if (on) balancer_drained_ = VrrpOverrideClock::now();
        spdlog::info("balancer {}: {}", on ? "drained" : "undrained",
                     on ? "every VRRP instance without an override of its own fails over"
                        : "VRRP instances follow their own overrides again");
        apply_overrides();
    });
}

// Main thread (the control socket's): decided and carried out on the VRRP thread, kept
// in the store here in between, so that a change that cannot be kept changes nothing.
// Requests come one at a time from this thread, so nothing changes between the calls.
Result<std::string> VrrpPlane::request_override(const VrrpOverrideRequest& r) {
    auto next = thread_.call([&] { return apply_request(overrides_, r, topology_, VrrpOverrideClock::now()); });
    if (!next) return make_error(ETIMEDOUT, "the VRRP thread did not answer; nothing changed");
    if (!*next) return next->error();
    auto answer = thread_.call([&] {
        const bool changed = **next != overrides_;
        return changed;
    });
    if (answer && *answer && store_)
        if (auto saved = store_->commit(with_vrrp(store_->get(), **next)); !saved) return saved.error();
    auto text = thread_.call([&] {
        if (**next != overrides_) {
            overrides_ = std::move(**next);
            spdlog::info("{}: operator {} {}", describe(r.target), vrrp::to_string(r.verb), r.clear ? "cleared" : "set");
            apply_overrides();
        }
        std::string out;
        for (const auto& name : instances_of(r.target, topology_)) out += override_text(name);
        if (r.clear && balancer_drained_)
            out += "the balancer is drained (lvsctl drain --balancer): its instances stay failed over until "
                   "lvsctl undrain --balancer\n";
        return out;
    });
    if (!text) return make_error(ETIMEDOUT, "the VRRP thread did not answer");
    return *text;
}

void VrrpPlane::save_dropped_overrides() {
    const bool dirty = thread_.call([this] { return std::exchange(store_dirty_, false); }).value_or(false);
    if (!dirty || !store_) return;
    auto now = thread_.call([this] { return overrides_; });
    if (now) store_->update(with_vrrp(store_->get(), *now));
}

void VrrpPlane::apply_overrides() {
    for (const auto& [name, o] : effective_overrides()) {
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
        store_dirty_ = true;
    }
    apply_overrides();
}

// One line of a failover/hold answer: the instance's state now and what it runs with.
std::string VrrpPlane::override_text(const std::string& instance) const {
    auto it = instances_.find(instance);
    if (it == instances_.end()) return fmt::format("{}: not running\n", instance);
    const auto& inst = *it->second;
    const auto o = effective_overrides().at(instance);
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
    if (inst.handing_over())
        what += ", handing over: advertising priority 0, VIPs kept until the peer is heard as master";
    if (!o.group.empty()) what += fmt::format(", on sync group {}", o.group);
    if (o.balancer) what += ", with the balancer (drain --balancer)";
    return fmt::format("{}: {}, priority {} (configured {}), {}\n", instance, inst.state(), inst.effective_priority(),
                       inst.config().priority, what);
}

}  // namespace lvsd::daemon
