// The HTTP/1.x server of global_defs.metrics_listen: on the daemon's io_context, it
// answers `GET /metrics` (and HEAD) with what the daemon renders (daemon/metrics.hpp).
//
// It expects to face hostile clients (it may listen on a shared management network): a
// request head is capped (kMaxRequestHead), must arrive whole within a deadline
// (slowloris), a request body is refused (a scrape has none), the number of open
// connections is capped, and every response closes its connection. Rejections are
// counted and exported, and logged at debug level only, so that a scanner cannot flood
// the journal.
//
// Requests are parsed and responses serialised by Boost.Beast, inside metrics_server.cpp
// only: this header stays free of Beast, which is heavy to compile.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "common/result.hpp"
#include "config/config.hpp"
#include "daemon/metrics.hpp"

namespace lvsd::daemon {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::size_t kMaxRequestHead = 8192;

// What a request head (request line and header fields, up to the blank line) asks for.
struct HttpRequest {
    unsigned status = 400;  // 200 for GET or HEAD /metrics; 404, 405, 413 or 400 otherwise
    bool head = false;      // a HEAD request: headers only
};
// A head with bare LFs for CRLFs is read as if they were CRLFs (RFC 9112 §2.2). One that
// announces a body (Content-Length above 0, or chunked) is 413: nothing is read past the head.
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
