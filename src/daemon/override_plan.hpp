// What the real-server verbs do to the overrides (issue #15), pure: the service plane
// carries the result out (desired table, reconcile, the file) and tells the operator.
// The effective weight of one real server is effective_weight() in desired.hpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "ctl/request.hpp"
#include "daemon/overrides.hpp"
#include "daemon/status.hpp"

namespace lvsd::daemon {

// The real servers of `config` a reference names: that one in its service, or (no
// service) that real server in every virtual service it belongs to. An error names what
// does not exist ("no virtual service 192.0.2.99:80/tcp in the configuration").
Result<std::vector<RealServerKey>> resolve(const config::Config& config, const ctl::RealServerRef& ref);
// Every real server of every virtual service, in config order.
std::vector<RealServerKey> every_real_server(const config::Config& config);
// What drain --balancer drains: the real servers of every virtual service that is not
// announced. An announced service's balancer leaves the ECMP set by withdrawing its routes
// instead; its real servers keep their weights, so that a flow still arriving while the
// routers converge is scheduled exactly as the other balancers schedule it (mh), and the
// drain does not wait for connections that have moved to other balancers anyway.
std::vector<RealServerKey> drained_with_the_balancer(const config::Config& config);
// "RIP:PORT in VIP:PORT/proto", as lvsctl names them, for replies and the log.
std::string real_server_name(const RealServerKey& k);

// The overrides after a drain / undrain / disable / enable / weight request, and the real
// servers it concerns (for the reply). A reference that names nothing changes nothing.
// drain: a new drain starts now (deadline now + timeout); draining again only moves the
// deadline. drain --balancer drains every real server not draining yet and marks
// them, so that undrain --balancer ends exactly those (and the balancer entry).
struct OverrideChange {
    Overrides next;
    std::vector<RealServerKey> concerned;
};
Result<OverrideChange> apply_request(const Overrides& current, const config::Config& config,
                                     const ctl::Request& request, OverrideClock::time_point now);

// Drains that are over: their real server's active connections reached 0, or it is not
// in the kernel table (nothing to wait for), or the deadline passed. Marks them done and
// returns one log line for each.
struct Observed {
    bool in_table = false;
    std::optional<uint64_t> active;  // the kernel's active connections; unset: not read
};
using ObservedLookup = std::function<Observed(const RealServerKey&)>;
std::vector<std::string> advance_drains(Overrides& o, const ObservedLookup& observe, OverrideClock::time_point now);

// The earliest deadline of a drain still running; unset when none has one.
std::optional<OverrideClock::time_point> next_deadline(const Overrides& o);
// Whether any drain is still running (the plane then polls the connection counts).
bool draining(const Overrides& o);

// The overrides for a new configuration (a reload, or the start): those of real servers
// or services it no longer has are dropped, one log line each; under a balancer drain the
// real servers `previous` did not have are drained too (at start there is no previous:
// every real server without a drain entry gets one).
std::vector<std::string> fit_to_config(Overrides& o, const config::Config* previous, const config::Config& next);

// One real server's override as lvsctl status shows it: "draining (until 120 s from
// now)", "drained", "disabled", "weight 5"; empty when there is none.
std::string describe(const RealServerOverride& o, OverrideClock::time_point now);
// The same for lvsctl status --json.
OverrideStatus override_status(const RealServerOverride& o, OverrideClock::time_point now);

}  // namespace lvsd::daemon
