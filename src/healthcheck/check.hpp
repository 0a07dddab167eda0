// What one health check is: the target, the probe and the verdict rules.
// Field names follow keepalived's (TCP_CHECK / HTTP_GET) so the config mapping is 1:1.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/net.hpp"
#include "common/process.hpp"
#include "common/result.hpp"
#include "healthcheck/smtp.hpp"

namespace lvsd::healthcheck {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class CheckType : uint8_t {
    Tcp,    // TCP_CHECK: the connection is accepted within connect_timeout
    Http,   // HTTP_GET: GET path, expect a status (and optionally a body substring)
    Ssl,    // SSL_GET: HTTP_GET over TLS
    Proxy,  // GET absolute-form URI *through* the real server acting as a forward proxy
    Misc,   // MISC_CHECK: runs a command; its exit status is the verdict (misc_verdict)
    Udp,    // UDP_CHECK: a datagram; ICMP port unreachable down (silence too with require_reply)
    Dns,    // DNS_CHECK: a query over UDP; an answer of the asked type up
    Smtp,   // SMTP_CHECK: greeting 220, HELO answered 250, QUIT answered 221 (smtp.hpp)
};

// How TCP_CHECK tests the port (see detail/syn_prober.hpp for why both prove the same).
enum class TcpMethod : uint8_t {
    HalfOpen,  // SYN through a raw socket: SYN-ACK up, RST refused (connect() without CAP_NET_RAW)
    Connect,   // a full connect(), closed with RST
};

// How a target is judged before its first verdict.
enum class InitialState : uint8_t {
    DownUntilFirstSuccess,  // down; the first success alone brings it up (keepalived `alpha`)
    Down,                   // down; `rise` successes are needed like any later recovery
    Up,                     // up; `fall` failures take it down (keepalived without `alpha`)
};

// An inclusive range of HTTP status codes; `200` alone is {200, 200}.
struct StatusRange {
    uint16_t low = 200;
    uint16_t high = 299;
    friend bool operator==(const StatusRange&, const StatusRange&) = default;
};

struct CheckSpec {
    CheckType type = CheckType::Tcp;

    // The probe identity (probe_identity): the type above, the target and the source.
    // The real server. The probe goes to connect_port when set, else to `port`.
    IpAddress address;
    uint16_t port = 0;
    std::optional<uint16_t> connect_port;
    std::optional<IpAddress> bindto;  // source address of the probe's socket

    // Everything below is a setting: a reload that changes only settings keeps the
    // check's verdict and history.

    TcpMethod tcp_method = TcpMethod::HalfOpen;  // TCP_CHECK only (ignored by HTTP checks)

    // Bounds the whole probe: connect, request and response (as keepalived does).
    milliseconds connect_timeout{5000};

    // Verdict rules (the judge).
    unsigned rise = 1;  // consecutive successes that bring a down target up
    unsigned fall = 1;  // consecutive failures that take an up target down (keepalived's retry + 1)
    InitialState initial = InitialState::DownUntilFirstSuccess;
    milliseconds delay_loop{60000};
    // After a failure that has not (yet) taken an up target down, the next probe comes
    // this soon instead of after delay_loop, so that `fall` failures are confirmed fast.
    milliseconds delay_before_retry{1000};
    // The first probe of a new check starts at a random point in [0, warmup) so that
    // thousands of checks added at once never fire together. Unset: delay_loop.
    std::optional<milliseconds> warmup;

    // HTTP_GET and proxy check.
    std::string path = "/";             // HTTP_GET only
    std::string virtualhost;            // Host header; empty: the target's address
    std::vector<StatusRange> status_code;  // empty: 200-299
    std::string body_contains;          // empty: the body is not read
    std::string digest;                 // HTTP_GET/SSL_GET: MD5 of the whole body, lowercase hex; empty: none
    // SSL_GET: SNI is virtualhost (when it is a name). Off (keepalived's behaviour): any
    // certificate; on: a chain to ssl_ca (empty: the system's CAs) for virtualhost, or
    // for the target's address without one.
    bool ssl_verify = false;
    std::string ssl_ca;
    std::string proxy_url;              // proxy check only: http://origin[:port]/path

    // UDP_CHECK: the datagram sent (may be empty) and whether a reply is required.
    std::string udp_payload;
    bool require_reply = false;
    // DNS_CHECK: the query (keepalived's defaults).
    std::string dns_type = "SOA";
    std::string dns_name = ".";
    // SMTP_CHECK: the argument of HELO (valid_helo_name()).
    std::string helo_name = std::string(kDefaultHeloName);

    // MISC_CHECK: argv (run without a shell; `/bin/sh -c TEXT` when the config's text
    // needs one) and whom it runs as; the command is part of the probe identity.
    // connect_timeout is misc_timeout: the process group is killed when it runs out.
    std::vector<std::string> misc_argv;
    std::optional<RunAs> misc_user;
    bool misc_dynamic = false;  // exit 2..255: up with weight status - 2

    uint16_t effective_port() const { return connect_port.value_or(port); }

    friend bool operator==(const CheckSpec&, const CheckSpec&) = default;
};

// Every problem an operator can put in a CheckSpec, with the target named.
Result<void> validate(const CheckSpec& spec);

// Identity used to deduplicate checks: two specs with the same key are the same check,
// probed once and judged once. It is the probe identity plus every setting (everything
// but `warmup` and the real server's own `port` when connect_port is set), so two real
// servers that share a target but differ in a setting are two checks.
std::string check_key(const CheckSpec& spec);

// What a check probes: its kind and target (type, address, effective port, bindto).
// Everything else is a setting: connect_timeout, tcp_method, path, virtualhost,
// status_code, body_contains, proxy_url, helo_name, rise, fall, initial, delay_loop,
// delay_before_retry. A reload that changes only settings keeps the check's verdict and
// history (Monitor::update); one that changes the probe identity makes a new check,
// which starts as `initial` says. tcp_method is a setting because both methods prove the
// same thing about the target (a listening socket with room in its accept queue, see
// detail/syn_prober.hpp), and the prober already falls back from one to the other on its
// own when it has no raw socket.
std::string probe_identity(const CheckSpec& spec);

// `200-299` or `200` or `200,301-302`.
Result<std::vector<StatusRange>> parse_status_codes(std::string_view text);
bool status_matches(const std::vector<StatusRange>& ranges, unsigned status);
// The accepted codes as written in the config: `200-299` (the default), `200,301-302`.
std::string status_codes_text(const std::vector<StatusRange>& ranges);

// An `http://host[:port]/path` URL, as the proxy check sends it.
struct HttpUrl {
    std::string authority;  // host[:port] as written, for the Host header
    std::string target;     // the absolute-form request target (the whole URL)
};
Result<HttpUrl> parse_http_url(std::string_view url);

std::string_view to_string(CheckType type);

// What a MISC_CHECK exit status means (keepalived's rule): 0 up (the configured
// weight), 1 down; 2..255 down, or with misc_dynamic up with weight status - 2 (0..253).
struct MiscVerdict {
    bool ok = false;
    std::optional<uint32_t> weight;  // set only by a dynamic status 2..255
};
MiscVerdict misc_verdict(int exit_status, bool dynamic);

}  // namespace lvsd::healthcheck

template <>
struct fmt::formatter<lvsd::healthcheck::CheckType> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::healthcheck::CheckType t, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::healthcheck::to_string(t), ctx);
    }
};

template <>
struct fmt::formatter<lvsd::healthcheck::StatusRange> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::healthcheck::StatusRange& r, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(
            r.low == r.high ? fmt::format("{}", r.low) : fmt::format("{}-{}", r.low, r.high), ctx);
    }
};
