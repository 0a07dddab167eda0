// The load-balancing half of the daemon: health checks feed the desired IPVS table,
// and the reconciler keeps the kernel equal to it. It owns the health Monitor and the
// ipvs::Reconciler; the kernel writer comes in through the constructor (Katran-style),
// so the same code drives the genetlink Client in production and a fake in tests.
#pragma once

#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "ctl/control.hpp"
#include "ctl/request.hpp"
#include "daemon/desired.hpp"
#include "daemon/override_plan.hpp"
#include "daemon/overrides.hpp"
#include "daemon/status.hpp"
#include "healthcheck/monitor.hpp"
#include "ipvs/reconcile.hpp"
#include "ipvs/sysctl.hpp"

namespace lvsd::ipvs {
class Client;
}

namespace lvsd::daemon {

struct ServicePlaneMetrics;

// The check a real server's config asks for, as the health checker takes it.
healthcheck::CheckSpec check_spec(const config::VirtualServer& vs, const config::RealServer& rs,
                                  const config::HealthCheck& hc);

// The service half of a reload's host check (validate, check against the host, apply):
// what a valid file can still get wrong about this machine. A health check whose
// `bindto` is not an address of this host (`is_local_address` false) is refused: every
// probe of it would fail and take its real server down, an outage caused by a typo.
// The error names each such check as `FILE:LINE: message` (the check's group), joined
// by "; " so that the log keeps one line per verdict.
Result<void> check_against_host(const config::Config& config,
                                const std::function<bool(const IpAddress&)>& is_local_address);

class ServicePlane {
public:
    ServicePlane(boost::asio::any_io_executor executor, std::unique_ptr<ipvs::Backend> backend);
    // The genetlink client in production: it also reads the kernel's counters for the
    // metrics endpoint (a Backend only dumps and writes the table).
    ServicePlane(boost::asio::any_io_executor executor, std::unique_ptr<ipvs::Client> client);
    ~ServicePlane();

    // Takes a new configuration (at start and on every accepted reload): checks of
    // unchanged real servers keep their state, the desired table is rebuilt, and the
    // kernel is reconciled at once. Fails only when the health checks are refused,
    // and then nothing changed.
    Result<void> apply(std::shared_ptr<const config::Config> config);

    // Keeps the set of services lvsd owns in `path` (see ownership_file.hpp): reads
    // what an earlier run owned, before the first reconcile, and rewrites the file
    // whenever the set changes.
    void keep_ownership_in(std::string path);

    // Carries out the operator's overrides of real servers kept in `store` (issue #15;
    // service_overrides.cpp): read now, fitted to each config applied, written back.
    void keep_overrides_in(OverrideStore& store);
    // drain, undrain, progress, disable, enable, weight: the resulting state of every
    // real server concerned, or an error (nothing changed).
    ctl::Reply on_request(const ctl::Request& request);
    // Writes the ownership file again although the set did not change: it was removed
    // with its directory (see ctl::ControlServer, which re-creates the directory).
    void rewrite_ownership();

    // Dumps the kernel and applies what differs; logs every operation and error.
    void reconcile(std::string_view why);

    // Scale-out (issue #14, announce/plan.hpp): the service's quorum verdict, or nothing
    // while one of its real servers' checks has not settled yet (no result, or its latest
    // result disagrees with the state it started in: a fresh start, a new real server).
    std::optional<bool> quorum_verdict(const config::VirtualServer& vs) const;
    // Whether the table lvsd wants has a destination of `vs` with weight > 0 (a real
    // server up and not held out by an override, or the sorry server).
    bool takes_new_connections(const config::VirtualServer& vs) const;
    // Runs after the verdicts were evaluated again (a health transition, an apply, an
    // operator's override, a drain that ended).
    void on_quorum_change(std::function<void()> listener) { quorum_listener_ = std::move(listener); }

    // `lvsctl status` text and `--json`'s part for the virtual services.
    std::string status_text() const;
    ServicePlaneStatus status() const;

    // One scrape of the metrics endpoint: health, kernel weights and reconcile counters
    // as `lvsctl status` shows them, plus the kernel's traffic counters read now.
    ServicePlaneMetrics metrics() const;

private:
    // The backend and, when it is the genetlink client, the same object as the reader
    // of the kernel's counters.
    using Backends = std::pair<std::unique_ptr<ipvs::Backend>, ipvs::Client*>;
    ServicePlane(boost::asio::any_io_executor executor, Backends backends);
    void on_health(const healthcheck::HealthEvent& event);
    void rebuild_desired();
    // Re-evaluates every virtual server's quorum (one per pool_name: a group's services
    // share one) and runs quorum_up / quorum_down on each transition.
    void update_quorum();
    bool has_quorum(const config::VirtualServer& vs) const;  // as of the last update_quorum()
    void arm_periodic();
    // Overrides (service_overrides.cpp).
    const RealServerOverride* override_of(const config::VirtualServer& vs, const config::RealServer& rs) const;
    void fit_overrides(const config::Config* previous);
    // Ends the drains that are over, and re-arms itself while any runs (once a second:
    // the kernel tells no one when a destination's last connection ends).
    void poll_drains();
    // The kernel's active connections of the real servers being drained, per service.
    std::map<RealServerKey, uint64_t> draining_connections() const;
    Observed observe(const RealServerKey& key, const std::map<RealServerKey, uint64_t>& active) const;
    std::string state_line(const RealServerKey& key) const;
    ctl::Reply progress(const ctl::DrainTarget& target);
    void write_ownership_if_changed();
    // Sets net.ipv4.vs.sloppy_tcp/sloppy_sctp while an announced service is configured
    // (ipvs/sysctl.hpp says why), on every reconcile, so that a change behind lvsd's
    // back is repaired as the IPVS table is.
    void keep_sloppy();
    // One real server as the checker and the kernel table (as of the last reconcile)
    // see it; the desired table and both status views read it.
    struct RealServerView {
        bool healthy = true;  // no check: always
        std::optional<uint32_t> weight;  // unset: not in the kernel table
        std::optional<healthcheck::ProbeResult> last;  // of a failing check if any, else of the first
        std::string last_check;                        // that check's kind: "HTTP_GET"
        uint64_t probes = 0;                           // summed over the real server's checks
        unsigned sharing = 0;  // the most real servers (in all services) one of its checks serves
        std::optional<uint32_t> dynamic_weight;        // a MISC_CHECK's misc_dynamic weight
    };
    RealServerView view(const config::VirtualServer& vs, const config::RealServer& rs) const;

    boost::asio::any_io_executor executor_;  // for notify commands
    std::unique_ptr<ipvs::Backend> backend_;
    ipvs::Reconciler reconciler_;
    healthcheck::Monitor monitor_;
    boost::asio::steady_timer periodic_;
    boost::asio::steady_timer drain_poll_;
    OverrideStore* overrides_ = nullptr;  // the daemon's; null: no overrides (tests)
    std::shared_ptr<const config::Config> config_;
    std::map<std::string, Quorum> quorum_;  // by config::pool_name, kept across reloads
    std::string ownership_path_;  // empty: not kept
    std::set<ipvs::ServiceKey> ownership_written_;
    std::string ownership_error_;
    bool ownership_lost_ = false;  // rewrite_ownership() asked, and no write has worked since  // the last write's error, "" when it worked
    uint64_t reconciles_ = 0;
    uint64_t ops_sent_ = 0;
    uint64_t ops_failed_ = 0;
    uint64_t reconcile_failures_ = 0;
    std::function<void()> quorum_listener_;
    mutable std::set<std::string> settled_;  // checks whose state agreed with a result once (quorum_verdict)
    ipvs::Client* stats_ = nullptr;  // backend_ itself when it is the genetlink client
    mutable bool stats_failing_ = false;  // to log a failing counter read once, not per scrape
    // net.ipv4.vs.sloppy_* (keep_sloppy)
    ipvs::IpvsSysctls sysctls_;
    bool sloppy_set_ = false;   // the reason was logged (once per run)
    std::string sysctl_error_;  // the last write's error, said once; "" when it worked
};

}  // namespace lvsd::daemon
