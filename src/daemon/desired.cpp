#include "daemon/desired.hpp"

namespace lvsd::daemon {

namespace {

ipvs::Protocol to_ipvs(config::Protocol p) {
    switch (p) {
        case config::Protocol::Tcp: return ipvs::Protocol::Tcp;
        case config::Protocol::Udp: return ipvs::Protocol::Udp;
        case config::Protocol::Sctp: return ipvs::Protocol::Sctp;
    }
    return ipvs::Protocol::Tcp;
}

ipvs::Forwarding to_ipvs(config::Forwarding f) {
    switch (f) {
        case config::Forwarding::DirectRouting: return ipvs::Forwarding::DirectRoute;
        case config::Forwarding::Nat: return ipvs::Forwarding::Nat;
        case config::Forwarding::Tunnel: return ipvs::Forwarding::Tunnel;
    }
    return ipvs::Forwarding::DirectRoute;
}

ipvs::Service service_of(const config::VirtualServer& vs) {
    ipvs::Service s;
    s.key = service_key(vs);
    s.scheduler = vs.lb_algo;
    if (vs.ops) s.flags |= ipvs::flag::kOnePacket;
    if (vs.sh_fallback) s.flags |= ipvs::flag::kShFallback;
    if (vs.sh_port) s.flags |= ipvs::flag::kShPort;
    if (vs.mh_fallback) s.flags |= ipvs::flag::kMhFallback;
    if (vs.mh_port) s.flags |= ipvs::flag::kMhPort;
    s.persistence_timeout = vs.persistence_timeout;
    const uint8_t host_length = vs.family == Family::V4 ? 32 : 128;
    if (vs.persistence_timeout > 0 && vs.persistence_granularity != host_length)
        s.persistence_prefix = vs.persistence_granularity;
    return s;
}

ipvs::Destination destination_of(const config::RealServer& rs, uint32_t weight) {
    ipvs::Destination d;
    d.key = destination_key(rs);
    d.forwarding = to_ipvs(rs.lb_kind);
    d.weight = weight;
    d.upper_threshold = rs.uthreshold;
    d.lower_threshold = rs.lthreshold;
    return d;
}

}  // namespace

Quorum quorum_state(uint64_t weight_up, uint32_t quorum, uint32_t hysteresis, std::optional<Quorum> previous) {
    const uint64_t q = quorum, h = hysteresis;
    if (!previous) return weight_up > 0 && weight_up >= q ? Quorum::Up : Quorum::Down;
    if (*previous == Quorum::Up)
        return weight_up == 0 || weight_up + h < q ? Quorum::Down : Quorum::Up;  // below q - h, without underflow
    return weight_up > 0 && weight_up >= q + h ? Quorum::Up : Quorum::Down;
}

uint64_t weight_up(const config::VirtualServer& vs, const HealthLookup& is_up) {
    uint64_t sum = 0;
    for (const auto& rs : vs.real_servers)
        if (rs.checks.empty() || is_up(vs, rs)) sum += rs.weight;
    return sum;
}

CombinedHealth combine_checks(const std::vector<CheckState>& checks) {
    CombinedHealth out;
    for (const auto& c : checks) {
        out.up = out.up && c.up;
        if (c.dynamic_weight && (!out.weight || *c.dynamic_weight < *out.weight)) out.weight = c.dynamic_weight;
    }
    return out;
}

ipvs::ServiceKey service_key(const config::VirtualServer& vs) {
    if (vs.fwmark != 0) return ipvs::ServiceKey::mark(vs.fwmark, vs.family);
    return ipvs::ServiceKey::endpoint(to_ipvs(vs.protocol), vs.address, vs.port);
}

ipvs::DestinationKey destination_key(const config::RealServer& rs) {
    return ipvs::DestinationKey{rs.address, rs.port};
}

std::optional<uint32_t> effective_weight(bool up, uint32_t weight, bool inhibit_on_failure,
                                         const RealServerOverride* o) {
    const bool out = !up || (o && (o->disabled || (o->drain && o->drain->done)));
    if (out) return inhibit_on_failure ? std::optional<uint32_t>(0) : std::nullopt;
    if (o && o->drain) return 0;
    if (o && o->weight) return *o->weight;
    return weight;
}

ipvs::Table desired_table(const config::Config& config, const HealthLookup& is_up,
                          const QuorumLookup& has_quorum, const WeightLookup& dynamic_weight,
                          const OverrideLookup& override_of) {
    ipvs::Table table;
    for (const auto& vs : config.virtual_servers) {
        const bool quorum =
            has_quorum ? has_quorum(vs)
                       : quorum_state(weight_up(vs, is_up), vs.quorum, vs.hysteresis, std::nullopt) == Quorum::Up;
        const bool sorry = !quorum && vs.sorry_server;
        std::vector<ipvs::Destination> destinations;
        for (const auto& rs : vs.real_servers) {
            const bool up = !sorry && (rs.checks.empty() || is_up(vs, rs));
            std::optional<uint32_t> w;
            if (up && !rs.checks.empty() && dynamic_weight) w = dynamic_weight(vs, rs);
            // Under the sorry server the overrides wait: every real server is out then.
            const RealServerOverride* o = !sorry && override_of ? override_of(vs, rs) : nullptr;
            if (auto weight = effective_weight(up, w.value_or(rs.weight), rs.inhibit_on_failure, o))
                destinations.push_back(destination_of(rs, *weight));
        }
        if (sorry) {
            ipvs::Destination sorry;
            sorry.key = {vs.sorry_server->address, vs.sorry_server->port};
            sorry.forwarding = to_ipvs(vs.lb_kind);
            sorry.weight = 1;
            // An inhibited real server may share the sorry server's address: the sorry
            // server wins, since it is the one meant to take traffic now.
            std::erase_if(destinations, [&](const auto& d) { return d.key == sorry.key; });
            destinations.push_back(sorry);
        }
        ipvs::put(table, service_of(vs), destinations);
    }
    return table;
}

}  // namespace lvsd::daemon
