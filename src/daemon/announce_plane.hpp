// Announced VIPs on the main thread (issue #14, DESIGN.md "Scale-out"): the service
// plane's quorum verdicts and the balancer drain go into announce::plan(), whose host
// routes announce::Routes keeps in lvsd's table; BIRD learns them from there. The VIPs
// are also local addresses of announce_interface (IPVS takes only packets to a local
// address), announced or not.
//
// The table is observed, not assumed: a route or an address removed (or a route of lvsd's
// protocol added) behind lvsd's back is seen through rtnetlink's route and address groups
// at once and repaired with a log line; a full reconcile also runs every
// reconcile_interval, in case events were lost.
//
// Lifecycle (README "Scale-out with ECMP"): the first apply adopts the routes an earlier
// run left (kill -9, crash); stop() (SIGTERM) withdraws every route, so BIRD withdraws
// the VIPs and the routers take this balancer out of the ECMP set, while the addresses,
// like the IPVS table, stay for the flows still arriving.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "announce/plan.hpp"
#include "announce/routes.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "daemon/status.hpp"

namespace lvsd::daemon {

// An announced service's verdict (announce::ServiceVerdict): ServicePlane::quorum_verdict
// and ServicePlane::takes_new_connections.
struct AnnounceVerdict {
    std::optional<bool> quorum;
    bool takes_new_connections = true;
};
using VerdictLookup = std::function<AnnounceVerdict(const config::VirtualServer&)>;

// The announced VIPs of a config with their services (verdicts unknown).
std::vector<announce::Vip> announced_vips(const config::Config& config);

class AnnouncePlane {
public:
    explicit AnnouncePlane(boost::asio::any_io_executor executor);
    ~AnnouncePlane();  // leaves the routes (as kill -9 would): stop() withdraws them

    // The host half of a reload's check: with announced VIPs, announce_interface must exist.
    static Result<void> check_against_host(const config::Config& config);

    // At start and on every accepted reload. The first one with announced VIPs opens the
    // rtnetlink sockets and adopts the routes found in the table (plan.hpp). Fails only
    // when the sockets cannot be opened; then nothing changed.
    Result<void> apply(std::shared_ptr<const config::Config> config);
    void set_verdicts(VerdictLookup lookup) { verdicts_ = std::move(lookup); }
    // lvsctl drain --balancer (true) / undrain --balancer (false); also read at start.
    void set_drained(bool drained);
    // Plans again (a verdict changed) and carries it out.
    void update(std::string_view why);
    // SIGTERM: withdraws every route of lvsd's table; addresses stay.
    void stop();
    // lvsd cannot start (no IPVS): the routes an earlier run left in `config`'s table go,
    // so that a balancer that cannot balance leaves the ECMP set. Nothing is watched.
    void withdraw_leftovers(const config::Config& config);

    // Hook for `lvsctl drain --balancer --wait`: no route of lvsd's protocol is left in
    // its table (as of the last reconcile). The BIRD side (the routers have dropped this
    // next hop, read from BIRD's control socket) joins here.
    bool withdrawn() const { return installed_.empty(); }
    // The announced VIPs as host prefixes (/32, /128), routed or not.
    std::vector<Prefix> prefixes() const;
    // Those of prefixes() whose route is in lvsd's table (as of the last reconcile).
    std::vector<Prefix> installed() const;

    std::optional<AnnounceStatus> status() const;  // unset: nothing announced
    std::string status_text() const;               // "" when nothing is announced

private:
    void reconcile(std::string_view why);
    void watch();
    void wait_for_events();  // re-arms itself until stopped or cancelled
    void arm_timer();
    bool waiting_for_verdicts() const;

    boost::asio::any_io_executor executor_;
    std::shared_ptr<const config::Config> config_;
    VerdictLookup verdicts_;
    announce::Routes routes_;
    bool opened_ = false;
    std::optional<boost::asio::posix::stream_descriptor> events_;
    boost::asio::steady_timer timer_;
    announce::Table table_;
    std::vector<announce::Vip> vips_;
    bool drained_ = false;
    bool stopped_ = false;
    std::set<IpAddress> announced_;  // the plan's desired routes
    std::vector<announce::VipDecision> decisions_;
    std::set<IpAddress> installed_;  // routes in the table as of the last reconcile
    std::set<IpAddress> addresses_;  // VIP addresses of the interface as of the last reconcile
    std::string problem_;
    uint64_t repairs_ = 0;
};

}  // namespace lvsd::daemon
