// Probes: one attempt at a real server, as a coroutine on the caller's io_context.
// Every probe is bounded by spec.connect_timeout (connect, request and response
// together), closes its socket before it returns, and reports expected failures
// (refused, unreachable, timeout, wrong status) as values, never as exceptions.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "healthcheck/check.hpp"

namespace lvsd::healthcheck {

struct ProbeResult {
    bool ok = false;
    std::string reason;  // `connected`, `connect refused`, `HTTP 503, expected 200-299`, ...
    std::chrono::microseconds latency{0};
    // The probe could not be made for a local lack of resources (no file descriptor,
    // no buffer memory, no free source port): it says nothing about the real server,
    // so the judge skips it instead of counting a failure (fd exhaustion on the
    // balancer must not take every real server out of the table).
    bool inconclusive = false;
    // MISC_CHECK with misc_dynamic: the weight the exit status asked for (status - 2).
    std::optional<uint32_t> weight{};
};

// Runs the probe `spec.type` names. `spec` must stay alive until the awaitable
// completes (co_await the call directly). TCP_CHECK goes half-open (a SYN through the
// io_context's raw socket, see detail/syn_prober.hpp: reasons `port open (SYN-ACK)`,
// `connect refused`, `connect timeout after Nms`) unless spec.tcp_method is Connect or
// no raw socket can be had; then it connects (`connected`).
boost::asio::awaitable<ProbeResult> probe(const CheckSpec& spec);

}  // namespace lvsd::healthcheck
