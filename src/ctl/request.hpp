// The control socket's request grammar, pure (issue #15). A request is one line of words
// separated by single spaces, at most kMaxRequestLine bytes; lvsctl builds it from its own
// command line with the same parser (parse_request over the words, then format_request),
// so that what lvsctl accepts is exactly what lvsd accepts.
//
//   status | status json | reload
//   drain   [SERVICE] REAL [--timeout SECONDS]   drain --balancer [--timeout SECONDS]
//   undrain [SERVICE] REAL                       undrain --balancer
//   disable [SERVICE] REAL                       enable [SERVICE] REAL
//   weight  [SERVICE] REAL WEIGHT                weight --clear [SERVICE] REAL
//   progress [SERVICE] REAL | --balancer         (what `lvsctl drain --wait` polls)
//   failover [--clear] INSTANCE | failover [--clear] --group GROUP
//   hold     [--clear] INSTANCE | hold     [--clear] --group GROUP
//
// SERVICE is how lvsctl status and the overrides file name an IPVS service:
// VIP:PORT/PROTO ("192.0.2.10:80/tcp", "[2001:db8::10]:443/tcp") or fwmark:N[/ipv6]
// ("fwmark:7"). REAL is ADDRESS:PORT ("198.51.100.5:8080", "[2001:db8::5]:8080"). A REAL
// without SERVICE means that real server in every virtual service it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::ctl {

// Longer lines are refused unread beyond this (the control server stops reading there).
inline constexpr size_t kMaxRequestLine = 512;
// --timeout's range: one second to seven days (long-lived connections can take days).
inline constexpr uint32_t kMaxDrainTimeoutSeconds = 7 * 24 * 3600;
// A weight override's range, as a real server's `weight` in the config.
inline constexpr uint32_t kMaxWeight = 65535;

// "192.0.2.10:80/tcp", "[2001:db8::1]:443/udp", "fwmark:7", "fwmark:7/ipv6": one word.
std::string format_service(const ipvs::ServiceKey& key);
std::optional<ipvs::ServiceKey> parse_service(std::string_view word);
// "198.51.100.5:8080", "[2001:db8::5]:8080": one word.
std::string format_real(const ipvs::DestinationKey& key);
std::optional<ipvs::DestinationKey> parse_real(std::string_view word);

// A real server, in one virtual service or (no service) in every one it belongs to.
struct RealServerRef {
    std::optional<ipvs::ServiceKey> service;
    ipvs::DestinationKey real;
    friend bool operator==(const RealServerRef&, const RealServerRef&) = default;
};
// Every real server of every virtual service (`--balancer`).
struct Balancer {
    friend bool operator==(const Balancer&, const Balancer&) = default;
};
using DrainTarget = std::variant<RealServerRef, Balancer>;

struct StatusRequest {
    bool json = false;
    friend bool operator==(const StatusRequest&, const StatusRequest&) = default;
};
struct ReloadRequest {
    friend bool operator==(const ReloadRequest&, const ReloadRequest&) = default;
};
// Weight 0 at once; out of the table (or inhibited) when its active connections reach 0
// or `timeout` has passed. No timeout: only when they reach 0.
struct DrainRequest {
    DrainTarget target;
    std::optional<uint32_t> timeout_s;
    friend bool operator==(const DrainRequest&, const DrainRequest&) = default;
};
struct UndrainRequest {
    DrainTarget target;
    friend bool operator==(const UndrainRequest&, const UndrainRequest&) = default;
};
// disable: out of the table (or inhibited) at once, health still checked; enable: clears it.
struct DisableRequest {
    RealServerRef target;
    bool disable = true;  // false: enable
    friend bool operator==(const DisableRequest&, const DisableRequest&) = default;
};
struct WeightRequest {
    RealServerRef target;
    std::optional<uint32_t> weight;  // unset: --clear (back to the config's or the check's)
    friend bool operator==(const WeightRequest&, const WeightRequest&) = default;
};
// How far the drains of `target` are: sent by lvsctl drain --wait, once a second.
struct ProgressRequest {
    DrainTarget target;
    friend bool operator==(const ProgressRequest&, const ProgressRequest&) = default;
};
// VRRP overrides (the VRRP plane carries them out). failover: a master hands over to the
// peer without stopping; hold: an instance stays backup. Exactly one of instance, group.
struct VrrpRequest {
    enum class Verb : uint8_t { Failover, Hold };
    Verb verb = Verb::Failover;
    bool clear = false;
    std::string instance;  // a vrrp_instance's name
    std::string group;     // a vrrp_sync_group's name
    friend bool operator==(const VrrpRequest&, const VrrpRequest&) = default;
};

using Request = std::variant<StatusRequest, ReloadRequest, DrainRequest, UndrainRequest, DisableRequest,
                             WeightRequest, ProgressRequest, VrrpRequest>;

// The error message says what is wrong and where (which word); no trailing newline.
Result<Request> parse_request(std::string_view line);
Result<Request> parse_request(const std::vector<std::string>& words);
// The canonical line (no newline); parse_request(format_request(r)) == r.
std::string format_request(const Request& r);

// The verbs, in the order above, for usage texts and did-you-mean.
const std::vector<std::string_view>& request_verbs();

// A drain's progress as the first line of a `progress` reply: what lvsctl drain --wait
// prints and reads. `draining` real servers still have `connections` active connections;
// for a balancer drain, `routes` announced VIPs are still in lvsd's table or exported by
// BIRD (written only when non-zero). The drain is over when all three are 0.
struct DrainProgress {
    uint64_t draining = 0;
    uint64_t connections = 0;
    uint64_t routes = 0;
    friend bool operator==(const DrainProgress&, const DrainProgress&) = default;
};
std::string format_progress(const DrainProgress& p);
std::optional<DrainProgress> parse_progress(std::string_view line);

}  // namespace lvsd::ctl
