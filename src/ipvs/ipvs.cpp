#include "ipvs/ipvs.hpp"

#include <cerrno>
#include <charconv>
#include <climits>

namespace lvsd::ipvs {
namespace {

constexpr size_t kNameMax = 15;  // IP_VS_SCHEDNAME_MAXLEN etc. include the NUL

std::strong_ordering compare(const IpAddress& a, const IpAddress& b) {
    if (a < b) return std::strong_ordering::less;
    if (b < a) return std::strong_ordering::greater;
    return std::strong_ordering::equal;
}

uint8_t host_length(Family f) { return f == Family::V4 ? 32 : 128; }

std::string_view family_name(Family f) { return f == Family::V4 ? "IPv4" : "IPv6"; }

}  // namespace

std::string_view to_string(Protocol p) {
    switch (p) {
        case Protocol::Tcp: return "tcp";
        case Protocol::Udp: return "udp";
        case Protocol::Sctp: return "sctp";
    }
    return "?";
}

std::optional<Protocol> parse_protocol(std::string_view text) {
    if (text == "tcp") return Protocol::Tcp;
    if (text == "udp") return Protocol::Udp;
    if (text == "sctp") return Protocol::Sctp;
    return std::nullopt;
}

std::string_view to_string(Forwarding f) {
    switch (f) {
        case Forwarding::Nat: return "nat";
        case Forwarding::Local: return "local";
        case Forwarding::Tunnel: return "tunnel";
        case Forwarding::DirectRoute: return "dr";
    }
    return "?";
}

std::string_view to_string(TunnelType t) {
    switch (t) {
        case TunnelType::Ipip: return "ipip";
        case TunnelType::Gue: return "gue";
        case TunnelType::Gre: return "gre";
    }
    return "?";
}

std::string_view to_string(SyncRole r) { return r == SyncRole::Master ? "master" : "backup"; }

std::optional<ServiceKey> parse_service_key(std::string_view text) {
    auto number = [](std::string_view t, uint64_t max) -> std::optional<uint64_t> {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc{} || end != t.data() + t.size() || t.empty() || v > max) return std::nullopt;
        return v;
    };
    if (text.starts_with("fwmark ")) {
        text.remove_prefix(7);
        Family family = Family::V4;
        if (text.ends_with("/ipv6")) {
            family = Family::V6;
            text.remove_suffix(5);
        }
        auto mark = number(text, UINT32_MAX);
        if (!mark || *mark == 0) return std::nullopt;
        return ServiceKey::mark(static_cast<uint32_t>(*mark), family);
    }
    auto slash = text.rfind('/');
    auto colon = text.rfind(':', slash);
    if (slash == std::string_view::npos || colon == std::string_view::npos) return std::nullopt;
    std::optional<Protocol> protocol;
    for (auto p : {Protocol::Tcp, Protocol::Udp, Protocol::Sctp})
        if (text.substr(slash + 1) == to_string(p)) protocol = p;
    auto port = number(text.substr(colon + 1, slash - colon - 1), UINT16_MAX);
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto address = parse_address(host);
    if (!protocol || !port || !address) return std::nullopt;
    return ServiceKey::endpoint(*protocol, *address, static_cast<uint16_t>(*port));
}

ServiceKey ServiceKey::endpoint(Protocol protocol, const IpAddress& address, uint16_t port) {
    ServiceKey k;
    k.family = family_of(address);
    k.protocol = protocol;
    k.address = address;
    k.port = port;
    return k;
}

ServiceKey ServiceKey::mark(uint32_t fwmark, Family family) {
    ServiceKey k;
    k.family = family;
    k.fwmark = fwmark;
    k.address = family == Family::V4 ? IpAddress(boost::asio::ip::address_v4())
                                     : IpAddress(boost::asio::ip::address_v6());
    return k;
}

std::strong_ordering operator<=>(const ServiceKey& a, const ServiceKey& b) {
    if (auto c = a.family <=> b.family; c != 0) return c;
    if (auto c = a.fwmark <=> b.fwmark; c != 0) return c;
    if (auto c = a.protocol <=> b.protocol; c != 0) return c;
    if (auto c = compare(a.address, b.address); c != 0) return c;
    return a.port <=> b.port;
}

std::strong_ordering operator<=>(const DestinationKey& a, const DestinationKey& b) {
    if (auto c = compare(a.address, b.address); c != 0) return c;
    return a.port <=> b.port;
}

void put(Table& table, Service service, const std::vector<Destination>& destinations) {
    const ServiceKey key = service.key;
    VirtualService vs{std::move(service), {}, {}};
    for (const auto& d : destinations) vs.destinations[d.key] = d;
    for (const auto& [k, _] : vs.destinations) vs.order.push_back(k);
    table[key] = std::move(vs);
}

bool equivalent(const Service& a, const Service& b) {
    const auto full = host_length(a.key.family);
    return a.key == b.key && a.scheduler == b.scheduler &&
           (a.flags & flag::kAll) == (b.flags & flag::kAll) &&
           a.persistence_timeout == b.persistence_timeout &&
           a.persistence_prefix.value_or(full) == b.persistence_prefix.value_or(full) &&
           a.persistence_engine == b.persistence_engine;
}

bool equivalent(const Destination& a, const Destination& b) {
    if (!(a.key == b.key && a.forwarding == b.forwarding && a.weight == b.weight &&
          a.upper_threshold == b.upper_threshold && a.lower_threshold == b.lower_threshold))
        return false;
    if (a.forwarding != Forwarding::Tunnel) return true;
    return a.tunnel_type == b.tunnel_type && a.tunnel_port == b.tunnel_port &&
           a.tunnel_flags == b.tunnel_flags;
}

Result<void> validate(const Service& s) {
    const auto& k = s.key;
    if (!k.is_fwmark() && family_of(k.address) != k.family)
        return make_error(EINVAL, "address is {} but the service is {}",
                          family_name(family_of(k.address)), family_name(k.family));
    if (s.scheduler.empty()) return make_error(EINVAL, "no scheduler");
    if (s.scheduler.size() > kNameMax)
        return make_error(EINVAL, "scheduler name \"{}\" is longer than {} characters",
                          s.scheduler, kNameMax);
    if (s.persistence_engine.size() > kNameMax)
        return make_error(EINVAL, "persistence engine \"{}\" is longer than {} characters",
                          s.persistence_engine, kNameMax);
    if (s.flags & ~flag::kAll)
        return make_error(EINVAL, "unknown flags {:#x}", s.flags & ~flag::kAll);
    if (s.persistence_prefix) {
        const unsigned p = *s.persistence_prefix;
        const unsigned min = k.family == Family::V6 ? 1 : 0;
        if (p < min || p > host_length(k.family))
            return make_error(EINVAL, "persistence netmask /{} is out of range for {}", p,
                              family_name(k.family));
    }
    return {};
}

Result<void> validate(const ServiceKey& service, const Destination& d) {
    const Family df = family_of(d.key.address);
    if (df != service.family && d.forwarding != Forwarding::Tunnel)
        return make_error(EINVAL,
                          "an {} destination in an {} service needs tunnel forwarding, not {}",
                          family_name(df), family_name(service.family), to_string(d.forwarding));
    if (d.weight > static_cast<uint32_t>(INT_MAX))
        return make_error(EINVAL, "weight {} is above {}", d.weight, INT_MAX);
    if (d.lower_threshold > d.upper_threshold)
        return make_error(ERANGE, "lower threshold {} is above the upper threshold {}",
                          d.lower_threshold, d.upper_threshold);
    if (d.forwarding == Forwarding::Tunnel && d.tunnel_type == TunnelType::Gue && d.tunnel_port == 0)
        return make_error(EINVAL, "a GUE tunnel needs a port");
    if (d.forwarding != Forwarding::Tunnel &&
        (d.tunnel_type != TunnelType::Ipip || d.tunnel_port != 0 || d.tunnel_flags != 0))
        return make_error(EINVAL, "tunnel settings need tunnel forwarding, not {}",
                          to_string(d.forwarding));
    return {};
}

}  // namespace lvsd::ipvs
