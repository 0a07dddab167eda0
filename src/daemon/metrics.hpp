// The Prometheus metrics endpoint (global_defs.metrics_listen): a pure renderer, from a
// snapshot of plain values to the text exposition format 0.0.4, and a small HTTP/1.x
// server on the daemon's io_context that answers `GET /metrics` with it.
//
// The server expects to face hostile clients (it may listen on a shared management
// network): a request head is capped (kMaxRequestHead), must arrive whole within a
// deadline (slowloris), the number of open connections is capped, and every response
// closes its connection. Rejections are counted and exported, and logged at debug level
// only, so that a scanner cannot flood the journal.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/result.hpp"
#include "config/config.hpp"
#include "healthcheck/monitor.hpp"
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
    Malformed,        // not an HTTP/1.x request line: answered 400
    HeaderTooLarge,   // the request head exceeds the cap: answered 431
    ReadTimeout,      // the head did not arrive in time (slowloris): dropped
    WriteTimeout,     // the client did not take the response in time: dropped
    ConnectionLimit,  // too many open connections: closed at once
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
    std::optional<ServicePlaneMetrics> ipvs;  // unset: no virtual services (VRRP only)
    HttpMetrics http;
};

// The label-value escaping of the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view s);

// The whole scrape in text format 0.0.4: every family with HELP and TYPE, its samples
// together, families in a fixed order. The README's "Metrics" section lists them.
std::string render_metrics(const MetricsSnapshot& s);

// ---- HTTP ------------------------------------------------------------------------

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::size_t kMaxRequestHead = 8192;

// What a request head (request line and header fields, up to the blank line) asks for.
struct HttpRequest {
    unsigned status = 400;  // 200 for GET or HEAD /metrics; 404, 405 or 400 otherwise
    bool head = false;      // a HEAD request: headers only
};
HttpRequest classify_request(std::string_view head);

// A complete HTTP/1.1 response that closes the connection. `head` leaves the body out
// (Content-Length still gives its size, as HEAD requires).
std::string http_response(unsigned status, std::string_view content_type, std::string_view body,
                          bool head = false);

struct MetricsLimits {
    std::size_t max_request_head = kMaxRequestHead;
    std::chrono::milliseconds read_timeout{5000};    // the whole request head
    std::chrono::milliseconds write_timeout{10000};  // the whole response
    unsigned max_connections = 16;
};

class MetricsServer {
public:
    // Builds the body of a 200 response; gets the server's own counters to include.
    using Collect = std::function<std::string(const HttpMetrics&)>;

    // Listens on `endpoint` (SO_REUSEADDR, so a restart does not wait out TIME_WAIT) and
    // serves until stop() or destruction. `carried` continues the counters of the server
    // this one replaces (a rebind on reload), so they stay monotonic. The error says
    // which address and why (in use, not an address of this host, permission).
    static Result<std::unique_ptr<MetricsServer>> start(boost::asio::any_io_executor executor,
                                                        const config::Endpoint& endpoint,
                                                        Collect collect, MetricsLimits limits = {},
                                                        HttpMetrics carried = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Closes the listening socket and every open connection. Idempotent.
    void stop();
    const config::Endpoint& endpoint() const;
    HttpMetrics http() const;

    struct Impl;

private:
    explicit MetricsServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::daemon
