// From configuration and health verdicts to the IPVS table lvsd wants (DESIGN.md:
// ipvs::desired(Config, health) -> diff -> ops). Pure: the reconciler does the writing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "daemon/overrides.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::daemon {

// Whether a checked real server is up right now. Not asked for real servers without a
// check: those are always up.
using HealthLookup =
    std::function<bool(const config::VirtualServer&, const config::RealServer&)>;

// keepalived's quorum with hysteresis, pure. A service that was up goes down when the
// weights of its up real servers sum to 0 or below quorum - hysteresis; one that was down
// comes back when they reach quorum + hysteresis; in between it keeps its state. With no
// previous state (a new service) it is up at `quorum` or more, without the hysteresis band.
enum class Quorum : uint8_t { Up, Down };
Quorum quorum_state(uint64_t weight_up, uint32_t quorum, uint32_t hysteresis, std::optional<Quorum> previous);

// The sum of the weights of the real servers of `vs` that are up.
uint64_t weight_up(const config::VirtualServer& vs, const HealthLookup& is_up);

// Whether a virtual server has its quorum now. Empty: decided by quorum_state() with no
// previous state.
using QuorumLookup = std::function<bool(const config::VirtualServer&)>;

// One check of a real server as the monitor sees it, and what the real server's checks
// decide together: up only while every check is up (keepalived: all of a real server's
// checkers); the weight is the lowest dynamic weight among its checks (the most
// cautious), none when no check set one.
struct CheckState {
    bool up = false;  // unknown to the monitor: down
    std::optional<uint32_t> dynamic_weight;
};
struct CombinedHealth {
    bool up = true;
    std::optional<uint32_t> weight;
};
CombinedHealth combine_checks(const std::vector<CheckState>& checks);

ipvs::ServiceKey service_key(const config::VirtualServer& vs);
ipvs::DestinationKey destination_key(const config::RealServer& rs);

// The table for `config`: every virtual service with its real servers that are up.
// A down real server is left out, or kept with weight 0 under inhibit_on_failure so that
// its established connections finish. While the service's quorum is down, its
// sorry_server (if any) replaces every real server (keepalived: "all real servers will
// be brought down ... and be replaced with the sorry server"), with weight 1, and leaves
// again when the quorum is back. `dynamic_weight` (optional) gives a weight that replaces
// the configured one while the real server is up: a MISC_CHECK's misc_dynamic status.
// Under inhibit_on_failure a down server still gets 0. (Quorum counts configured weights.)
using WeightLookup =
    std::function<std::optional<uint32_t>(const config::VirtualServer&, const config::RealServer&)>;
// The operator's override of a real server (issue #15); null: none.
using OverrideLookup =
    std::function<const RealServerOverride*(const config::VirtualServer&, const config::RealServer&)>;
ipvs::Table desired_table(const config::Config& config, const HealthLookup& is_up,
                          const QuorumLookup& has_quorum = {}, const WeightLookup& dynamic_weight = {},
                          const OverrideLookup& override_of = {});

// One real server's weight in the table, or unset for "not in the table" (issue #15).
// `up`: its health verdict; `weight`: the configured or dynamic weight. In order:
// - disabled, drained (done), or down: out of the table, or weight 0 under
//   inhibit_on_failure, where its established connections go on (IPVS drops the packets
//   of a connection whose destination is gone: ip_vs_in_hook, expire_nodest_conn);
// - draining: weight 0, so that the scheduler sends it nothing new while its connections
//   continue (the drain ends when advance_drains() marks it done);
// - a weight override replaces `weight`.
// Health is checked and shown whatever the override says: enable brings it back as its
// verdict stands.
std::optional<uint32_t> effective_weight(bool up, uint32_t weight, bool inhibit_on_failure,
                                         const RealServerOverride* override_of);

}  // namespace lvsd::daemon
