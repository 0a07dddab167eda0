// From configuration and health verdicts to the IPVS table lvsd wants (DESIGN.md:
// ipvs::desired(Config, health) -> diff -> ops). Pure: the reconciler does the writing.
#pragma once

#include <functional>

#include "config/config.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::daemon {

// Whether a checked real server is up right now. Not asked for real servers without a
// check: those are always up.
using HealthLookup =
    std::function<bool(const config::VirtualServer&, const config::RealServer&)>;

ipvs::ServiceKey service_key(const config::VirtualServer& vs);
ipvs::DestinationKey destination_key(const config::RealServer& rs);

// The table for `config`: every virtual service with its real servers that are up.
// A down real server is left out, or kept with weight 0 under inhibit_on_failure so that
// its established connections finish. While no real server of a service is up, the
// sorry_server (if any) stands in with weight 1, and leaves again when one recovers.
ipvs::Table desired_table(const config::Config& config, const HealthLookup& is_up);

}  // namespace lvsd::daemon
