// The load-balancing half of the daemon: health checks feed the desired IPVS table,
// and the reconciler keeps the kernel equal to it. It owns the health Monitor and the
// ipvs::Reconciler; the kernel writer comes in through the constructor (Katran-style),
// so the same code drives the genetlink Client in production and a fake in tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "healthcheck/monitor.hpp"
#include "ipvs/reconcile.hpp"

namespace lvsd::daemon {

// The check a real server's config asks for, as the health checker takes it.
healthcheck::CheckSpec check_spec(const config::VirtualServer& vs, const config::RealServer& rs,
                                  const config::HealthCheck& hc);

class ServicePlane {
public:
    ServicePlane(boost::asio::any_io_executor executor, std::unique_ptr<ipvs::Backend> backend);
    ~ServicePlane();

    // Takes a new configuration (at start and on every accepted reload): checks of
    // unchanged real servers keep their state, the desired table is rebuilt, and the
    // kernel is reconciled at once. Fails only when the health checks are refused,
    // and then nothing changed.
    Result<void> apply(std::shared_ptr<const config::Config> config);

    // Dumps the kernel and applies what differs; logs every operation and error.
    void reconcile(std::string_view why);

    // `lvsctl status` text and JSON for the virtual services.
    std::string status_text() const;
    std::string status_json() const;

private:
    void on_health(const healthcheck::HealthEvent& event);
    void rebuild_desired();
    void arm_periodic();
    // One real server as the checker and the kernel table (as of the last reconcile)
    // see it; the desired table and both status views read it.
    struct RealServerView {
        bool healthy = true;  // no check: always
        std::optional<uint32_t> weight;  // unset: not in the kernel table
        std::optional<healthcheck::ProbeResult> last;
    };
    RealServerView view(const config::VirtualServer& vs, const config::RealServer& rs) const;

    std::unique_ptr<ipvs::Backend> backend_;
    ipvs::Reconciler reconciler_;
    healthcheck::Monitor monitor_;
    boost::asio::steady_timer periodic_;
    std::shared_ptr<const config::Config> config_;
    uint64_t reconciles_ = 0;
    uint64_t ops_sent_ = 0;
    uint64_t ops_failed_ = 0;
};

}  // namespace lvsd::daemon
