// The shell around the pure core: signals drive reload and stop (DESIGN.md "Interfaces").
// Two threads, one io_context each: the main one (config, health checks, IPVS, control
// socket, metrics, trackers, notify commands) and the VRRP thread (vrrp_thread.hpp: the
// instances and the host view they follow), possibly real time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ctl/control.hpp"
#include "daemon/announce_plane.hpp"
#include "daemon/bird_watch.hpp"
#include "daemon/connection_sync.hpp"
#include "daemon/instance_lock.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/overrides.hpp"
#include "daemon/service_plane.hpp"
#include "daemon/vrrp_plane.hpp"
#include "daemon/vrrp_thread.hpp"
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
    ~Daemon();  // the VRRP thread stops before what it runs is destroyed

    // Runs until SIGTERM/SIGINT; returns the process exit code.
    int run();

    // The service plane for `config`, or null when it has no virtual servers (a
    // VRRP-only host needs no IPVS). An error when IPVS is needed but unavailable
    // (then ipvs_unavailable_ is set: the kernel has no IPVS family, as opposed to a
    // failing socket).
    Result<void> ensure_service_plane(const config::Config& config);

    // How often a start that found no IPVS asks the kernel again.
    static constexpr std::chrono::seconds kIpvsRetry{5};

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
    // The first apply, at start and again while waiting for IPVS: true once running.
    bool start_engines();
    void wait_for_ipvs();

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
    VrrpThread vrrp_thread_;  // before everything that runs on it
    // The VRRP thread's; before the planes: they read it until they are gone.
    host::Monitor host_{vrrp_thread_.io()};
    std::string config_path_;
    std::string control_socket_path_;
    // Declared before everything it guards: released last.
    std::optional<InstanceLock> lock_;
    std::unique_ptr<ctl::ControlServer> control_;
    // Operator overrides (lvsctl drain, disable, weight, failover, hold): read on first
    // use, after the instance lock (overrides() makes it).
    std::optional<OverrideStore> overrides_;
    OverrideStore& overrides();
    bool balancer_drained() const { return overrides_ && overrides_->get().balancer_drain; }
    ConnectionSync sync_;  // before vrrp_: the instances' callbacks reach it until the end
    std::unique_ptr<ServicePlane> services_;
    std::unique_ptr<VrrpPlane> vrrp_;
    // After services_: it reads their verdicts, and goes first (without withdrawing: only
    // stop() does).
    std::unique_ptr<AnnouncePlane> announce_;
    // BIRD's control socket, read while any VIP is announced: what BIRD really exports
    // (status, metrics, drain --balancer --wait).
    std::unique_ptr<BirdWatch> bird_;
    // A balancer drain's progress with the announced routes still in the table or
    // exported by BIRD (the first line of a `progress --balancer` reply).
    ctl::Reply with_announced_routes(ctl::Reply reply);
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
    // At start the kernel had no IPVS (ip_vs not loaded and not loadable): nothing is
    // started, and the start is tried again every kIpvsRetry and on SIGHUP.
    bool waiting_for_ipvs_ = false;
    bool ipvs_unavailable_ = false;  // the last ensure_service_plane found no IPVS
    boost::asio::steady_timer ipvs_retry_{io_};
};

}  // namespace lvsd::daemon
