// Public IPVS domain types: virtual services and their destinations (real servers),
// identity (`key`) kept apart from settings, and counters kept apart from both so that
// equality means "same configuration" (seesaw's ipvs.go keeps the same split).
// Nothing here knows about netlink; the wire encoding lives in detail/netlink.hpp.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::ipvs {

// IP protocol numbers, as the kernel takes them.
enum class Protocol : uint8_t { Tcp = 6, Udp = 17, Sctp = 132 };

std::string_view to_string(Protocol p);
std::optional<Protocol> parse_protocol(std::string_view text);  // "tcp", "udp", "sctp"

// Identity of a virtual service: protocol + address + port, or a firewall mark.
// Built through the factories so that a fwmark key never carries a stray address or
// port (the kernel ignores them, so two such keys must compare equal).
struct ServiceKey {
    Family family = Family::V4;
    uint32_t fwmark = 0;  // non-zero: a fwmark service
    Protocol protocol = Protocol::Tcp;
    IpAddress address;
    uint16_t port = 0;

    static ServiceKey endpoint(Protocol protocol, const IpAddress& address, uint16_t port);
    static ServiceKey mark(uint32_t fwmark, Family family = Family::V4);

    bool is_fwmark() const { return fwmark != 0; }

    friend bool operator==(const ServiceKey&, const ServiceKey&) = default;
    friend std::strong_ordering operator<=>(const ServiceKey& a, const ServiceKey& b);
};

// The inverse of the ServiceKey formatter below ("192.0.2.10:8080/tcp",
// "[2001:db8::1]:443/tcp", "fwmark 7", "fwmark 7/ipv6"), for state lvsd writes itself.
std::optional<ServiceKey> parse_service_key(std::string_view text);

// Service flags as the kernel defines them (<linux/ip_vs.h> IP_VS_SVC_F_*). The
// persistent flag is not here: it follows from `persistence_timeout`.
namespace flag {
inline constexpr uint32_t kOnePacket = 0x0004;
inline constexpr uint32_t kSched1 = 0x0008;
inline constexpr uint32_t kSched2 = 0x0010;
inline constexpr uint32_t kSched3 = 0x0020;
// What sh and mh make of the scheduler flags (ipvsadm's sh-fallback, sh-port, ...).
inline constexpr uint32_t kShFallback = kSched1;
inline constexpr uint32_t kShPort = kSched2;
inline constexpr uint32_t kMhFallback = kSched1;
inline constexpr uint32_t kMhPort = kSched2;
inline constexpr uint32_t kAll = kOnePacket | kSched1 | kSched2 | kSched3;
}  // namespace flag

struct Service {
    ServiceKey key;
    std::string scheduler = "wlc";
    uint32_t flags = 0;                // flag::*
    uint32_t persistence_timeout = 0;  // seconds; 0: not persistent
    // Persistence granularity as a prefix length; unset: per client address (/32, /128).
    std::optional<uint8_t> persistence_prefix;
    std::string persistence_engine;  // "" or e.g. "sip"

    friend bool operator==(const Service&, const Service&) = default;
};

// Forwarding methods, valued as the kernel's IP_VS_CONN_F_* forwarding codes.
enum class Forwarding : uint8_t { Nat = 0, Local = 1, Tunnel = 2, DirectRoute = 3 };
enum class TunnelType : uint8_t { Ipip = 0, Gue = 1, Gre = 2 };

std::string_view to_string(Forwarding f);
std::string_view to_string(TunnelType t);

// Identity of a destination within its service.
struct DestinationKey {
    IpAddress address;
    uint16_t port = 0;

    friend bool operator==(const DestinationKey&, const DestinationKey&) = default;
    friend std::strong_ordering operator<=>(const DestinationKey& a, const DestinationKey& b);
};

struct Destination {
    DestinationKey key;
    Forwarding forwarding = Forwarding::DirectRoute;
    uint32_t weight = 1;
    uint32_t upper_threshold = 0;  // 0: no limit
    uint32_t lower_threshold = 0;
    // Tunnel forwarding only (ignored, and kept zero, otherwise).
    TunnelType tunnel_type = TunnelType::Ipip;
    uint16_t tunnel_port = 0;   // GUE destination port
    uint16_t tunnel_flags = 0;  // IP_VS_TUNNEL_ENCAP_FLAG_*

    friend bool operator==(const Destination&, const Destination&) = default;
};

// Traffic counters, kept apart from the configuration they belong to.
struct Stats {
    uint64_t connections = 0;
    uint64_t packets_in = 0;
    uint64_t packets_out = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    // Rates estimated by the kernel (per second).
    uint64_t cps = 0;
    uint64_t pps_in = 0;
    uint64_t pps_out = 0;
    uint64_t bps_in = 0;
    uint64_t bps_out = 0;

    friend bool operator==(const Stats&, const Stats&) = default;
};

struct ServiceStatus {
    Service service;
    Stats stats;
};

struct DestinationStatus {
    Destination destination;
    Family family = Family::V4;  // a tunnel destination may differ from its service
    uint32_t active_connections = 0;
    uint32_t inactive_connections = 0;
    uint32_t persistent_connections = 0;
    Stats stats;
};

// A whole IPVS table, or the part of it a caller cares about.
struct VirtualService {
    Service service;
    std::map<DestinationKey, Destination> destinations;
    // The order in which the kernel holds the destinations, oldest first, as far as it is
    // known (empty: unknown). The kernel puts a new destination at the head of the
    // service's list (ip_vs_ctl.c __ip_vs_update_dest: list_add_rcu) and the dump
    // (IPVS_CMD_GET_DEST) walks that list, so `Client::dump` fills this with the dump's
    // order reversed. The mh scheduler builds its Maglev table from the list in that
    // order (ip_vs_mh.c ip_vs_mh_permutate): the same destinations added in another
    // order give another table. Not configuration: equality leaves it out.
    std::vector<DestinationKey> order;

    friend bool operator==(const VirtualService& a, const VirtualService& b) {
        return a.service == b.service && a.destinations == b.destinations;
    }
};
using Table = std::map<ServiceKey, VirtualService>;

// Inserts (or replaces) a service with its destinations, `order` in key order (the
// canonical order `diff` keeps for mh services).
void put(Table& table, Service service, const std::vector<Destination>& destinations = {});

// Connection timeouts (IPVS_CMD_SET_CONFIG); 0 on set means "leave unchanged".
struct Timeouts {
    uint32_t tcp = 0;
    uint32_t tcp_fin = 0;
    uint32_t udp = 0;

    friend bool operator==(const Timeouts&, const Timeouts&) = default;
};

// Connection synchronisation daemon (ipvsadm --start-daemon).
enum class SyncRole : uint8_t { Master = 1, Backup = 2 };
std::string_view to_string(SyncRole r);

// On start, zero / unset tuning fields mean the kernel's defaults; a query reports the
// values in effect (the defaults filled in).
struct SyncDaemon {
    SyncRole role = SyncRole::Master;
    std::string interface;
    uint8_t sync_id = 0;  // the kernel keeps 8 bits
    // Optional tuning; 0 / unset: kernel defaults (224.0.0.81:8848, ttl 1, MTU-sized).
    uint16_t max_length = 0;
    std::optional<IpAddress> group;
    uint16_t port = 0;
    uint8_t ttl = 0;

    friend bool operator==(const SyncDaemon&, const SyncDaemon&) = default;
};

// Same configuration, read the way the kernel does: an unset persistence prefix equals
// the full host length, and tunnel settings count only for tunnel forwarding. `diff`
// compares with these, so a desired value spelled differently from the kernel's dump
// never causes an edit on every reconcile.
bool equivalent(const Service& a, const Service& b);
bool equivalent(const Destination& a, const Destination& b);

// Checks what the kernel would reject with a bare EINVAL, so that the operator gets
// a message that says which setting is wrong. The message is the reason only; callers
// prefix the object and where it came from (an operation, a config line).
Result<void> validate(const Service& s);
Result<void> validate(const ServiceKey& service, const Destination& d);

}  // namespace lvsd::ipvs

// Formatters: `192.0.2.10:8080/tcp`, `[2001:db8::1]:80/tcp`, `fwmark 7`, `fwmark 7/ipv6`;
// destinations print as their endpoint.
template <>
struct fmt::formatter<lvsd::ipvs::ServiceKey> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::ipvs::ServiceKey& k, Ctx& ctx) const {
        std::string s;
        if (k.is_fwmark()) {
            s = fmt::format("fwmark {}{}", k.fwmark, k.family == lvsd::Family::V6 ? "/ipv6" : "");
        } else {
            s = fmt::format("{}/{}", lvsd::format_endpoint(k.address, k.port),
                            lvsd::ipvs::to_string(k.protocol));
        }
        return fmt::formatter<std::string_view>::format(s, ctx);
    }
};

template <>
struct fmt::formatter<lvsd::ipvs::DestinationKey> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::ipvs::DestinationKey& k, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::format_endpoint(k.address, k.port),
                                                        ctx);
    }
};

// A service or destination prints as its identity.
template <>
struct fmt::formatter<lvsd::ipvs::Service> : fmt::formatter<lvsd::ipvs::ServiceKey> {
    template <class Ctx>
    auto format(const lvsd::ipvs::Service& s, Ctx& ctx) const {
        return fmt::formatter<lvsd::ipvs::ServiceKey>::format(s.key, ctx);
    }
};

template <>
struct fmt::formatter<lvsd::ipvs::Destination> : fmt::formatter<lvsd::ipvs::DestinationKey> {
    template <class Ctx>
    auto format(const lvsd::ipvs::Destination& d, Ctx& ctx) const {
        return fmt::formatter<lvsd::ipvs::DestinationKey>::format(d.key, ctx);
    }
};

template <>
struct fmt::formatter<lvsd::ipvs::Forwarding> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::ipvs::Forwarding f, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::ipvs::to_string(f), ctx);
    }
};

template <>
struct fmt::formatter<lvsd::ipvs::Protocol> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::ipvs::Protocol p, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::ipvs::to_string(p), ctx);
    }
};

// `master sync daemon on eth1 (syncid 5)`
template <>
struct fmt::formatter<lvsd::ipvs::SyncDaemon> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::ipvs::SyncDaemon& d, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(
            fmt::format("{} sync daemon on {} (syncid {})", lvsd::ipvs::to_string(d.role),
                        d.interface, d.sync_id),
            ctx);
    }
};

// `tcp 900 tcpfin 120 udp 300`, ipvsadm's order
template <>
struct fmt::formatter<lvsd::ipvs::Timeouts> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::ipvs::Timeouts& t, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(
            fmt::format("tcp {} tcpfin {} udp {}", t.tcp, t.tcp_fin, t.udp), ctx);
    }
};
