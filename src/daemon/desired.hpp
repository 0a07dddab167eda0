// From configuration and health verdicts to the IPVS table lvsd wants (DESIGN.md:
// ipvs::desired(Config, health) -> diff -> ops). Pure: the reconciler does the writing.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::daemon {

// Whether a checked real server is up right now. Not asked for real servers without a
// check: those are always up.
using HealthLookup =
    std::function<bool(const config::VirtualServer&, const config::RealServer&)>;

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
// its established connections finish. While no real server of a service is up, the
// sorry_server (if any) stands in with weight 1, and leaves again when one recovers.
// `dynamic_weight` (optional) gives a weight that replaces the configured one while the
// real server is up: a MISC_CHECK's misc_dynamic status. Under inhibit_on_failure a down
// server still gets 0.
using WeightLookup =
    std::function<std::optional<uint32_t>(const config::VirtualServer&, const config::RealServer&)>;
ipvs::Table desired_table(const config::Config& config, const HealthLookup& is_up,
                          const WeightLookup& dynamic_weight = {});

}  // namespace lvsd::daemon
