// `lvsctl failover` and `lvsctl hold` as the daemon decides them, pure: which instances
// a request names, whether it may be carried out, and what a reload leaves of the
// overrides in force. The engine's part (what an overridden instance does) is
// vrrp/override.hpp's; the VrrpPlane carries these decisions out.
//
// An override is on a vrrp_instance or on a vrrp_sync_group, never on one member of a
// group: the members change state together (sync_group.hpp), so a member failed over on
// its own would be taken back by its siblings. Rules, each refusal a clear answer:
//   - an unknown instance or group is refused;
//   - an instance in a sync group is refused, naming the group to use instead;
//   - an address owner (priority 255), or a group with one, is refused
//     (vrrp::override_refusal);
//   - setting the override already in force keeps it (and its "since");
//     failover on a held target (or hold on a failed-over one) replaces it;
//   - clearing what is not there succeeds and changes nothing; clearing a failover with
//     `hold --clear` (or the reverse) is refused, naming the verb that clears it.
// A reload drops (and says why) the overrides of instances and groups it removes, of an
// instance that joined a sync group, and of targets that became address owners.
#pragma once

#include <chrono>
#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ctl/request.hpp"
#include "vrrp/override.hpp"

namespace lvsd::daemon {

using VrrpOverrideClock = std::chrono::steady_clock;

// What an override is on: a vrrp_instance or a vrrp_sync_group, by its name.
struct VrrpOverrideTarget {
    bool group = false;
    std::string name;
    friend auto operator<=>(const VrrpOverrideTarget&, const VrrpOverrideTarget&) = default;
    friend bool operator==(const VrrpOverrideTarget&, const VrrpOverrideTarget&) = default;
};
// "vrrp instance VI_1", "vrrp sync group G1": for answers and log lines.
std::string describe(const VrrpOverrideTarget& t);

struct VrrpOverrideEntry {
    vrrp::Override kind = vrrp::Override::Failover;  // Failover or Hold, never None
    VrrpOverrideClock::time_point since{};
    friend bool operator==(const VrrpOverrideEntry&, const VrrpOverrideEntry&) = default;
};
using VrrpOverrides = std::map<VrrpOverrideTarget, VrrpOverrideEntry>;

// The configured instances and groups, as far as the rules above need them.
struct VrrpTopology {
    std::map<std::string, unsigned> priorities;               // instance -> configured priority
    std::map<std::string, std::vector<std::string>> groups;  // group -> members
    // The group `instance` belongs to, if any.
    std::optional<std::string> group_of(const std::string& instance) const;
};

// One operator request: `verb` (Failover or Hold) on `target`, or its --clear.
struct VrrpOverrideRequest {
    VrrpOverrideTarget target;
    vrrp::Override verb = vrrp::Override::Failover;
    bool clear = false;
};

// lvsctl's request (ctl/request.hpp) in these terms.
VrrpOverrideRequest override_request(const ctl::VrrpRequest& r);

// The overrides after `request`, or the refusal (one line, no newline) when the rules
// above refuse it: then nothing changes.
Result<VrrpOverrides> apply_request(const VrrpOverrides& now, const VrrpOverrideRequest& request,
                                    const VrrpTopology& topology, VrrpOverrideClock::time_point at);

// The instances a target stands for: itself, or its group's members (empty: unknown).
std::vector<std::string> instances_of(const VrrpOverrideTarget& t, const VrrpTopology& topology);

struct OverridesAfterReload {
    VrrpOverrides kept;
    std::vector<std::string> dropped;  // one log line per dropped override
};
OverridesAfterReload after_reload(const VrrpOverrides& now, const VrrpTopology& topology);

// The override each instance is under and where it comes from.
struct InstanceOverride {
    vrrp::Override kind = vrrp::Override::None;
    VrrpOverrideClock::time_point since{};
    std::string group;  // the sync group the override is on; "" when on the instance
    bool balancer = false;  // a failover that `lvsctl drain --balancer` makes
    friend bool operator==(const InstanceOverride&, const InstanceOverride&) = default;
};
// Every instance of `topology`, with None for those without an override. While the
// balancer is drained (`balancer_drained`: since when), every instance without an override
// of its own fails over, but an address owner (priority 255: it cannot hand its addresses
// over, RFC 5798 §6.1) and instances held or failed over by the operator stay as they are.
std::map<std::string, InstanceOverride> per_instance(
    const VrrpOverrides& overrides, const VrrpTopology& topology,
    std::optional<VrrpOverrideClock::time_point> balancer_drained = std::nullopt);

}  // namespace lvsd::daemon
