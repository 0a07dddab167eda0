// The Prometheus metrics of global_defs.metrics_listen: a pure renderer, from a snapshot
// of plain values to the text exposition format 0.0.4. The HTTP server that serves it is
// in daemon/metrics_server.hpp; its own counters (HttpMetrics) are part of the snapshot.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/status.hpp"
#include "healthcheck/monitor.hpp"
#include "daemon/realtime.hpp"
#include "ipvs/ipvs.hpp"
#include "vrrp/instance.hpp"

namespace lvsd::daemon {

// ---- The snapshot the renderer takes: one scrape's worth of plain values -----------

struct VrrpInstanceMetrics {
    std::string name;
    std::string interface;
    unsigned virtual_router_id = 0;
    unsigned version = 3;
    vrrp::State state = vrrp::State::Initialize;
    unsigned priority = 0;            // configured
    unsigned effective_priority = 0;  // what the instance advertises with
    double state_seconds = 0;         // how long it has been in `state` (monotonic clock)
    vrrp::Counters counters;
    std::vector<vrrp::Contribution> trackers;  // each tracker's part in the effective priority
    bool fault = false;                       // the instance cannot act now (`lvsctl status` says why)
    vrrp::Override override_ = vrrp::Override::None;  // lvsctl failover / hold
    double override_seconds = 0;                      // how long it has been in force (0: none)
};

struct RealServerMetrics {
    std::string name;  // "192.0.2.21:8080", as `lvsctl status` spells it
    bool up = true;    // the checker's verdict; always up without a check
    bool checked = false;
    std::optional<uint32_t> weight;  // in the kernel table; unset: not in it
    uint64_t probes = 0;             // of its check (shared with users of the same check)
    std::optional<healthcheck::ProbeResult> last_probe;
    // The kernel's counters, read for this scrape; unset: not in the kernel or not read.
    std::optional<ipvs::DestinationStatus> kernel;
    std::optional<OverrideStatus> override_state;  // lvsctl drain/disable/weight; unset: none
};

struct ServiceMetrics {
    std::string name;  // "TCP 192.0.2.10:8080", "FWM 7", as `lvsctl status` spells it
    bool in_kernel = false;
    std::optional<ipvs::Stats> kernel;  // unset: not in the kernel or not read
    std::vector<RealServerMetrics> real_servers;
};

struct ServicePlaneMetrics {
    uint64_t reconciles = 0;
    uint64_t reconcile_failures = 0;  // the kernel dump itself failed
    uint64_t ops_sent = 0;
    uint64_t ops_failed = 0;
    bool stats_read = false;  // the kernel counters were read for this scrape
    healthcheck::MonitorStats probes;
    std::vector<ServiceMetrics> services;
};

// Why the HTTP server turned a client away. Each reason is a label value.
enum class HttpReject : uint8_t {
    Malformed,        // not an HTTP/1.x request: answered 400
    HeaderTooLarge,   // the request head exceeds the cap: answered 431
    ReadTimeout,      // the head did not arrive in time (slowloris): dropped
    WriteTimeout,     // the client did not take the response in time: dropped
    ConnectionLimit,  // too many open connections: closed at once
    BodyTooLarge,     // the request announces a body (none is accepted): answered 413
    kCount
};
std::string_view to_string(HttpReject r);

struct HttpMetrics {
    std::map<unsigned, uint64_t> responses;  // HTTP status code -> count
    std::array<uint64_t, static_cast<std::size_t>(HttpReject::kCount)> rejected{};
    unsigned open_connections = 0;
};

struct ProcessMetrics {
    std::string version;
    double start_time_seconds = 0;  // Unix time, like process_start_time_seconds
    uint64_t config_generation = 1;
    uint64_t reloads_succeeded = 0;
    uint64_t reloads_failed = 0;
    bool last_reload_succeeded = true;
};

struct MetricsSnapshot {
    ProcessMetrics process;
    std::vector<VrrpInstanceMetrics> vrrp;
    SchedulingStatus vrrp_thread;
    bool balancer_drained = false;            // lvsctl drain --balancer is on (VRRP-only balancers too)
    std::optional<ServicePlaneMetrics> ipvs;  // unset: no virtual services (VRRP only)
    std::optional<AnnounceStatus> announce;   // unset: no announced VIP
    HttpMetrics http;
};

// The label-value escaping of the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view s);

// The whole scrape in text format 0.0.4: every family with HELP and TYPE, its samples
// together, families in a fixed order. The README's "Metrics" section lists them.
std::string render_metrics(const MetricsSnapshot& s);

}  // namespace lvsd::daemon
