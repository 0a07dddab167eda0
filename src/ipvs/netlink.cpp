// IPVS generic-netlink encoding. Layout per <linux/ip_vs.h> and the kernel's
// ip_vs_ctl.c policies: addresses travel as 16-byte nf_inet_addr, ports in network
// order, a v4 persistence netmask as a network-order mask but a v6 one as a plain
// prefix length (that is how the kernel checks it: 1..128).
// This file builds messages; netlink_decode.cpp parses them.
#include "ipvs/detail/netlink.hpp"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include <netlink/attr.h>

namespace lvsd::ipvs::detail {
namespace {

uint16_t af_of(Family f) { return f == Family::V4 ? AF_INET : AF_INET6; }

int put_address(nl_msg* m, int type, const IpAddress& a) {
    std::array<unsigned char, kAddrLen> bytes{};
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        std::memcpy(bytes.data(), b.data(), b.size());
    } else {
        auto b = a.to_v6().to_bytes();
        std::memcpy(bytes.data(), b.data(), b.size());
    }
    return nla_put(m, type, kAddrLen, bytes.data());
}

uint32_t v4_mask(uint8_t prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

// The persistence netmask as the kernel stores it (see the file comment).
uint32_t wire_netmask(const Service& s) {
    if (s.key.family == Family::V6) return s.persistence_prefix.value_or(128);
    return htonl(v4_mask(s.persistence_prefix.value_or(32)));
}

int put_stats(nl_msg* m, int type, const Stats& s) {
    nlattr* nest = nla_nest_start(m, type);
    if (!nest) return -NLE_NOMEM;
    const std::pair<int, uint64_t> values[] = {
        {IPVS_STATS_ATTR_CONNS, s.connections}, {IPVS_STATS_ATTR_INPKTS, s.packets_in},
        {IPVS_STATS_ATTR_OUTPKTS, s.packets_out}, {IPVS_STATS_ATTR_INBYTES, s.bytes_in},
        {IPVS_STATS_ATTR_OUTBYTES, s.bytes_out},  {IPVS_STATS_ATTR_CPS, s.cps},
        {IPVS_STATS_ATTR_INPPS, s.pps_in},        {IPVS_STATS_ATTR_OUTPPS, s.pps_out},
        {IPVS_STATS_ATTR_INBPS, s.bps_in},        {IPVS_STATS_ATTR_OUTBPS, s.bps_out},
    };
    for (auto [attr, v] : values)
        if (int e = nla_put_u64(m, attr, v); e < 0) return e;
    return nla_nest_end(m, nest);
}

// Writes the service attributes into an open nest.
int put_service_attrs(nl_msg* m, const Service& s, bool full) {
    const auto& k = s.key;
    int e = nla_put_u16(m, IPVS_SVC_ATTR_AF, af_of(k.family));
    if (e < 0) return e;
    if (k.is_fwmark()) {
        e = nla_put_u32(m, IPVS_SVC_ATTR_FWMARK, k.fwmark);
    } else {
        if ((e = nla_put_u16(m, IPVS_SVC_ATTR_PROTOCOL, static_cast<uint16_t>(k.protocol))) < 0)
            return e;
        if ((e = put_address(m, IPVS_SVC_ATTR_ADDR, k.address)) < 0) return e;
        e = nla_put_u16(m, IPVS_SVC_ATTR_PORT, htons(k.port));
    }
    if (e < 0 || !full) return e;
    const ip_vs_flags flags{wire_flags(s), ~uint32_t{0}};
    if ((e = nla_put_string(m, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str())) < 0) return e;
    if (!s.persistence_engine.empty() &&
        (e = nla_put_string(m, IPVS_SVC_ATTR_PE_NAME, s.persistence_engine.c_str())) < 0)
        return e;
    if ((e = nla_put(m, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags)) < 0) return e;
    if ((e = nla_put_u32(m, IPVS_SVC_ATTR_TIMEOUT, s.persistence_timeout)) < 0) return e;
    return nla_put_u32(m, IPVS_SVC_ATTR_NETMASK, wire_netmask(s));
}

int put_service_nest(nl_msg* m, const Service& s, bool full, const Stats* stats) {
    nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_SERVICE);
    if (!nest) return -NLE_NOMEM;
    int e = put_service_attrs(m, s, full);
    if (e >= 0 && stats) e = put_stats(m, IPVS_SVC_ATTR_STATS64, *stats);
    if (e < 0) return e;
    return nla_nest_end(m, nest);
}

int put_destination_nest(nl_msg* m, const Destination& d, bool full,
                         const DestinationStatus* status) {
    nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_DEST);
    if (!nest) return -NLE_NOMEM;
    int e = nla_put_u16(m, IPVS_DEST_ATTR_ADDR_FAMILY, af_of(family_of(d.key.address)));
    if (e >= 0) e = put_address(m, IPVS_DEST_ATTR_ADDR, d.key.address);
    if (e >= 0) e = nla_put_u16(m, IPVS_DEST_ATTR_PORT, htons(d.key.port));
    if (e >= 0 && full) {
        e = nla_put_u32(m, IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(d.forwarding));
        if (e >= 0) e = nla_put_u32(m, IPVS_DEST_ATTR_WEIGHT, d.weight);
        if (e >= 0) e = nla_put_u32(m, IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
        if (e >= 0) e = nla_put_u32(m, IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
        if (e >= 0 && d.forwarding == Forwarding::Tunnel) {
            e = nla_put_u8(m, IPVS_DEST_ATTR_TUN_TYPE, static_cast<uint8_t>(d.tunnel_type));
            if (e >= 0) e = nla_put_u16(m, IPVS_DEST_ATTR_TUN_PORT, htons(d.tunnel_port));
            if (e >= 0) e = nla_put_u16(m, IPVS_DEST_ATTR_TUN_FLAGS, d.tunnel_flags);
        }
    }
    if (e >= 0 && status) {
        e = nla_put_u32(m, IPVS_DEST_ATTR_ACTIVE_CONNS, status->active_connections);
        if (e >= 0) e = nla_put_u32(m, IPVS_DEST_ATTR_INACT_CONNS, status->inactive_connections);
        if (e >= 0)
            e = nla_put_u32(m, IPVS_DEST_ATTR_PERSIST_CONNS, status->persistent_connections);
        if (e >= 0) e = put_stats(m, IPVS_DEST_ATTR_STATS64, status->stats);
    }
    if (e < 0) return e;
    return nla_nest_end(m, nest);
}

}  // namespace

uint32_t wire_flags(const Service& s) {
    return (s.flags & flag::kAll) | (s.persistence_timeout ? IP_VS_SVC_F_PERSISTENT : 0u);
}

Result<MsgPtr> new_request(int family_id, uint8_t command, int flags) {
    MsgPtr m(nlmsg_alloc());
    if (!m) return make_error(ENOMEM, "allocate netlink message: out of memory");
    if (!genlmsg_put(m.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id, 0, flags, command,
                     IPVS_GENL_VERSION))
        return make_error(ENOMEM, "build netlink message header: message too small");
    return m;
}

int put_service(nl_msg* m, const Service& s) { return put_service_nest(m, s, true, nullptr); }

int put_service_key(nl_msg* m, const ServiceKey& k) {
    Service s;
    s.key = k;
    return put_service_nest(m, s, false, nullptr);
}

int put_destination(nl_msg* m, const Destination& d) {
    return put_destination_nest(m, d, true, nullptr);
}

int put_destination_key(nl_msg* m, const DestinationKey& k) {
    Destination d;
    d.key = k;
    return put_destination_nest(m, d, false, nullptr);
}

int put_service_status(nl_msg* m, const ServiceStatus& s) {
    return put_service_nest(m, s.service, true, &s.stats);
}

int put_destination_status(nl_msg* m, const DestinationStatus& d) {
    return put_destination_nest(m, d.destination, true, &d);
}

int put_timeouts(nl_msg* m, const Timeouts& t) {
    int e = 0;
    if (t.tcp) e = nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
    if (e >= 0 && t.tcp_fin) e = nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
    if (e >= 0 && t.udp) e = nla_put_u32(m, IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
    return e;
}

int put_sync_role(nl_msg* m, SyncRole role) {
    nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_DAEMON);
    if (!nest) return -NLE_NOMEM;
    if (int e = nla_put_u32(m, IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(role)); e < 0) return e;
    return nla_nest_end(m, nest);
}

int put_sync_daemon(nl_msg* m, const SyncDaemon& d) {
    nlattr* nest = nla_nest_start(m, IPVS_CMD_ATTR_DAEMON);
    if (!nest) return -NLE_NOMEM;
    int e = nla_put_u32(m, IPVS_DAEMON_ATTR_STATE, static_cast<uint32_t>(d.role));
    if (e >= 0) e = nla_put_string(m, IPVS_DAEMON_ATTR_MCAST_IFN, d.interface.c_str());
    if (e >= 0) e = nla_put_u32(m, IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
    if (e >= 0 && d.max_length) e = nla_put_u16(m, IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.max_length);
    if (e >= 0 && d.port) e = nla_put_u16(m, IPVS_DAEMON_ATTR_MCAST_PORT, d.port);
    if (e >= 0 && d.ttl) e = nla_put_u8(m, IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl);
    if (e >= 0 && d.group) {
        if (d.group->is_v4()) {
            auto b = d.group->to_v4().to_bytes();
            e = nla_put(m, IPVS_DAEMON_ATTR_MCAST_GROUP, static_cast<int>(b.size()), b.data());
        } else {
            auto b = d.group->to_v6().to_bytes();
            e = nla_put(m, IPVS_DAEMON_ATTR_MCAST_GROUP6, static_cast<int>(b.size()), b.data());
        }
    }
    if (e < 0) return e;
    return nla_nest_end(m, nest);
}

Result<MsgPtr> encode(const Op& op, int family_id) {
    uint8_t cmd = 0;
    switch (op.kind) {
        case OpKind::AddService: cmd = IPVS_CMD_NEW_SERVICE; break;
        case OpKind::EditService: cmd = IPVS_CMD_SET_SERVICE; break;
        case OpKind::DeleteService: cmd = IPVS_CMD_DEL_SERVICE; break;
        case OpKind::AddDestination: cmd = IPVS_CMD_NEW_DEST; break;
        case OpKind::EditDestination: cmd = IPVS_CMD_SET_DEST; break;
        case OpKind::DeleteDestination: cmd = IPVS_CMD_DEL_DEST; break;
    }
    auto m = new_request(family_id, cmd);
    if (!m) return m.error();
    int e = 0;
    switch (op.kind) {
        case OpKind::AddService:
        case OpKind::EditService: e = put_service(m->get(), op.service); break;
        case OpKind::DeleteService: e = put_service_key(m->get(), op.service.key); break;
        case OpKind::AddDestination:
        case OpKind::EditDestination:
            e = put_service_key(m->get(), op.service.key);
            if (e >= 0) e = put_destination(m->get(), op.destination);
            break;
        case OpKind::DeleteDestination:
            e = put_service_key(m->get(), op.service.key);
            if (e >= 0) e = put_destination_key(m->get(), op.destination.key);
            break;
    }
    if (e < 0) return make_error(ENOMEM, "{}: encode netlink message: {}", op, nl_geterror(e));
    return m;
}

}  // namespace lvsd::ipvs::detail
