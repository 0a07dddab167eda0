// The shell around the pure core: one io_context, one thread; signals drive reload and
// stop (DESIGN.md "Interfaces").
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "ctl/control.hpp"
#include "daemon/connection_sync.hpp"
#include "daemon/instance_lock.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/overrides.hpp"
#include "daemon/service_plane.hpp"
#include "daemon/vrrp_plane.hpp"
#include "host/monitor.hpp"

namespace lvsd::config {
struct Config;
}

namespace lvsd::daemon {

// A config file read and checked: either a snapshot or the list of problems, each
// already formatted as `FILE:LINE: message`.
struct LoadedConfig {
    std::shared_ptr<const config::Config> config;
    std::vector<std::string> problems;
};

LoadedConfig load_config(const std::string& path);

// Settings the config module accepts but the VRRP engine or the health checker cannot
// carry out (yet), as `FILE:LINE: message`.
std::vector<std::string> engine_problems(const config::Config& config);

// What `lvsd -t` cannot check because it depends on the host at run time (interfaces,
// addresses, whether unicast peers answer), as `FILE:LINE: note: ...`. Start and every
// reload check the host; a peer's reachability only shows in the running instance.
std::vector<std::string> run_time_notes(const config::Config& config);

class Daemon {
public:
    Daemon(std::string config_path, std::string control_socket_path,
           std::shared_ptr<const config::Config> initial);

    // Runs until SIGTERM/SIGINT; returns the process exit code.
    int run();

    // The service plane for `config`, or null when it has no virtual servers (a
    // VRRP-only host needs no IPVS). An error when IPVS is needed but unavailable.
    Result<void> ensure_service_plane(const config::Config& config);

private:
    boost::asio::awaitable<void> handle_signals();
    ctl::Reply reload();
    Result<void> apply(const std::shared_ptr<const config::Config>& config);
    ctl::Reply on_request(std::string_view line);
    // Hook: the VRRP part of `drain --balancer` / `undrain --balancer` (issue #15).
    void balancer_drain_vrrp(bool on);
    std::string status_text() const;
    std::string status_json() const;
    void stop();

    // The metrics endpoint across a reload: the one for the new config is bound before
    // anything else changes, and takes over only when the whole reload is accepted.
    struct PendingMetrics {
        bool changed = false;
        std::unique_ptr<MetricsServer> next;    // null with changed: stop serving
        std::optional<config::Endpoint> freed;  // the old endpoint, closed early to rebind
        HttpMetrics carried;
    };
    Result<void> prepare_metrics(const config::Config& config, PendingMetrics& pending);
    void commit_metrics(PendingMetrics& pending);
    void roll_back_metrics(PendingMetrics& pending);
    std::string scrape(const HttpMetrics& http) const;

    boost::asio::io_context io_;
    host::Monitor host_{io_};  // before the planes: they read it until they are gone
    std::string config_path_;
    std::string control_socket_path_;
    // Declared before everything it guards: released last.
    std::optional<InstanceLock> lock_;
    std::unique_ptr<ctl::ControlServer> control_;
    // Operator overrides (lvsctl drain, disable, weight, failover, hold): read on first
    // use, after the instance lock (overrides() makes it).
    std::optional<OverrideStore> overrides_;
    OverrideStore& overrides();
    ConnectionSync sync_;  // before vrrp_: the instances' callbacks reach it until the end
    std::unique_ptr<ServicePlane> services_;
    std::unique_ptr<VrrpPlane> vrrp_;
    std::unique_ptr<MetricsServer> metrics_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    // For lvsd_start_time_seconds only: the wall clock is never used for timing.
    const std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
    std::shared_ptr<const config::Config> config_;
    unsigned generation_ = 1;
    uint64_t reloads_succeeded_ = 0;
    uint64_t reloads_failed_ = 0;
    bool last_reload_succeeded_ = true;
    int exit_code_ = 1;
    bool running_ = false;  // the first apply succeeded
};

}  // namespace lvsd::daemon
