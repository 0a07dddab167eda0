// IPVS generic-netlink decoding: dump replies and requests parsed back (the layout is in
// netlink.cpp's comment). Attributes are checked against the kernel's own policies first.
#include "ipvs/detail/netlink.hpp"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bit>
#include <cstring>

#include <netlink/attr.h>

namespace lvsd::ipvs::detail {
namespace {

struct Policies {
    nla_policy cmd[IPVS_CMD_ATTR_MAX + 1]{};
    nla_policy svc[IPVS_SVC_ATTR_MAX + 1]{};
    nla_policy dest[IPVS_DEST_ATTR_MAX + 1]{};
    nla_policy daemon[IPVS_DAEMON_ATTR_MAX + 1]{};
    nla_policy stats[IPVS_STATS_ATTR_MAX + 1]{};
    nla_policy stats64[IPVS_STATS_ATTR_MAX + 1]{};

    Policies() {
        cmd[IPVS_CMD_ATTR_SERVICE].type = NLA_NESTED;
        cmd[IPVS_CMD_ATTR_DEST].type = NLA_NESTED;
        cmd[IPVS_CMD_ATTR_DAEMON].type = NLA_NESTED;
        cmd[IPVS_CMD_ATTR_TIMEOUT_TCP].type = NLA_U32;
        cmd[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN].type = NLA_U32;
        cmd[IPVS_CMD_ATTR_TIMEOUT_UDP].type = NLA_U32;

        svc[IPVS_SVC_ATTR_AF].type = NLA_U16;
        svc[IPVS_SVC_ATTR_PROTOCOL].type = NLA_U16;
        svc[IPVS_SVC_ATTR_ADDR] = {NLA_UNSPEC, 4, kAddrLen};
        svc[IPVS_SVC_ATTR_PORT].type = NLA_U16;
        svc[IPVS_SVC_ATTR_FWMARK].type = NLA_U32;
        svc[IPVS_SVC_ATTR_SCHED_NAME] = {NLA_STRING, 0, IP_VS_SCHEDNAME_MAXLEN};
        svc[IPVS_SVC_ATTR_FLAGS] = {NLA_UNSPEC, sizeof(ip_vs_flags), 0};
        svc[IPVS_SVC_ATTR_TIMEOUT].type = NLA_U32;
        svc[IPVS_SVC_ATTR_NETMASK].type = NLA_U32;
        svc[IPVS_SVC_ATTR_STATS].type = NLA_NESTED;
        svc[IPVS_SVC_ATTR_PE_NAME] = {NLA_STRING, 0, IP_VS_PENAME_MAXLEN};
        svc[IPVS_SVC_ATTR_STATS64].type = NLA_NESTED;

        dest[IPVS_DEST_ATTR_ADDR] = {NLA_UNSPEC, 4, kAddrLen};
        dest[IPVS_DEST_ATTR_PORT].type = NLA_U16;
        dest[IPVS_DEST_ATTR_FWD_METHOD].type = NLA_U32;
        dest[IPVS_DEST_ATTR_WEIGHT].type = NLA_U32;
        dest[IPVS_DEST_ATTR_U_THRESH].type = NLA_U32;
        dest[IPVS_DEST_ATTR_L_THRESH].type = NLA_U32;
        dest[IPVS_DEST_ATTR_ACTIVE_CONNS].type = NLA_U32;
        dest[IPVS_DEST_ATTR_INACT_CONNS].type = NLA_U32;
        dest[IPVS_DEST_ATTR_PERSIST_CONNS].type = NLA_U32;
        dest[IPVS_DEST_ATTR_STATS].type = NLA_NESTED;
        dest[IPVS_DEST_ATTR_ADDR_FAMILY].type = NLA_U16;
        dest[IPVS_DEST_ATTR_STATS64].type = NLA_NESTED;
        dest[IPVS_DEST_ATTR_TUN_TYPE].type = NLA_U8;
        dest[IPVS_DEST_ATTR_TUN_PORT].type = NLA_U16;
        dest[IPVS_DEST_ATTR_TUN_FLAGS].type = NLA_U16;

        daemon[IPVS_DAEMON_ATTR_STATE].type = NLA_U32;
        daemon[IPVS_DAEMON_ATTR_MCAST_IFN] = {NLA_STRING, 0, IP_VS_IFNAME_MAXLEN};
        daemon[IPVS_DAEMON_ATTR_SYNC_ID].type = NLA_U32;
        daemon[IPVS_DAEMON_ATTR_SYNC_MAXLEN].type = NLA_U16;
        daemon[IPVS_DAEMON_ATTR_MCAST_GROUP].type = NLA_U32;
        daemon[IPVS_DAEMON_ATTR_MCAST_GROUP6] = {NLA_UNSPEC, 16, 16};
        daemon[IPVS_DAEMON_ATTR_MCAST_PORT].type = NLA_U16;
        daemon[IPVS_DAEMON_ATTR_MCAST_TTL].type = NLA_U8;

        for (int i = IPVS_STATS_ATTR_CONNS; i <= IPVS_STATS_ATTR_OUTBPS; ++i) {
            stats[i].type = NLA_U32;
            stats64[i].type = NLA_U64;
        }
    }
};

const Policies& policies() {
    static const Policies p;
    return p;
}

std::optional<Family> family_from_af(unsigned af) {
    if (af == AF_INET) return Family::V4;
    if (af == AF_INET6) return Family::V6;
    return std::nullopt;
}

Result<IpAddress> get_address(const nlattr* attr, Family family, std::string_view what) {
    const int len = nla_len(attr);
    const auto* data = static_cast<const unsigned char*>(nla_data(attr));
    if (family == Family::V4) {
        boost::asio::ip::address_v4::bytes_type b{};
        if (len < static_cast<int>(b.size()))
            return make_error(EINVAL, "{}: IPv4 address attribute has {} bytes", what, len);
        std::memcpy(b.data(), data, b.size());
        return IpAddress(boost::asio::ip::address_v4(b));
    }
    boost::asio::ip::address_v6::bytes_type b{};
    if (len < static_cast<int>(b.size()))
        return make_error(EINVAL, "{}: IPv6 address attribute has {} bytes", what, len);
    std::memcpy(b.data(), data, b.size());
    return IpAddress(boost::asio::ip::address_v6(b));
}

std::optional<uint8_t> prefix_from_wire(uint32_t raw, Family family) {
    if (family == Family::V6) {
        if (raw >= 128) return std::nullopt;
        return static_cast<uint8_t>(raw);
    }
    // Leading ones; ipvsadm accepts non-contiguous masks, which lvsd never writes.
    const auto len = static_cast<uint8_t>(std::countl_one(ntohl(raw)));
    if (len == 32) return std::nullopt;
    return len;
}

Stats get_stats(nlattr* nested, bool is64) {
    Stats s;
    nlattr* tb[IPVS_STATS_ATTR_MAX + 1] = {};
    if (nla_parse_nested(tb, IPVS_STATS_ATTR_MAX, nested,
                         is64 ? policies().stats64 : policies().stats) < 0)
        return s;
    auto get = [&](int i) -> uint64_t {
        if (!tb[i]) return 0;
        return is64 ? nla_get_u64(tb[i]) : nla_get_u32(tb[i]);
    };
    s.connections = get(IPVS_STATS_ATTR_CONNS);
    s.packets_in = get(IPVS_STATS_ATTR_INPKTS);
    s.packets_out = get(IPVS_STATS_ATTR_OUTPKTS);
    s.bytes_in = get(IPVS_STATS_ATTR_INBYTES);
    s.bytes_out = get(IPVS_STATS_ATTR_OUTBYTES);
    s.cps = get(IPVS_STATS_ATTR_CPS);
    s.pps_in = get(IPVS_STATS_ATTR_INPPS);
    s.pps_out = get(IPVS_STATS_ATTR_OUTPPS);
    s.bps_in = get(IPVS_STATS_ATTR_INBPS);
    s.bps_out = get(IPVS_STATS_ATTR_OUTBPS);
    return s;
}

Result<ServiceStatus> parse_service(nlattr* nested, bool& has_settings, bool with_stats,
                                    std::string_view what) {
    nlattr* tb[IPVS_SVC_ATTR_MAX + 1] = {};
    if (int e = nla_parse_nested(tb, IPVS_SVC_ATTR_MAX, nested, policies().svc); e < 0)
        return make_error(EINVAL, "{}: malformed service attributes: {}", what, nl_geterror(e));
    if (!tb[IPVS_SVC_ATTR_AF]) return make_error(EINVAL, "{}: service without address family", what);
    auto family = family_from_af(nla_get_u16(tb[IPVS_SVC_ATTR_AF]));
    if (!family)
        return make_error(EAFNOSUPPORT, "{}: service with address family {}", what,
                          nla_get_u16(tb[IPVS_SVC_ATTR_AF]));
    ServiceStatus out;
    Service& s = out.service;
    if (tb[IPVS_SVC_ATTR_FWMARK] && nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]) != 0) {
        s.key = ServiceKey::mark(nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]), *family);
    } else {
        if (!tb[IPVS_SVC_ATTR_PROTOCOL] || !tb[IPVS_SVC_ATTR_ADDR] || !tb[IPVS_SVC_ATTR_PORT])
            return make_error(EINVAL, "{}: service without fwmark nor protocol, address and port",
                              what);
        const unsigned proto = nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]);
        if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
            return make_error(EPROTONOSUPPORT, "{}: service with IP protocol {} (lvsd knows tcp, udp, sctp)",
                              what, proto);
        auto addr = get_address(tb[IPVS_SVC_ATTR_ADDR], *family, what);
        if (!addr) return addr.error();
        s.key = ServiceKey::endpoint(static_cast<Protocol>(proto), *addr,
                                     ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT])));
    }
    has_settings = tb[IPVS_SVC_ATTR_SCHED_NAME] != nullptr;
    if (tb[IPVS_SVC_ATTR_SCHED_NAME]) s.scheduler = nla_get_string(tb[IPVS_SVC_ATTR_SCHED_NAME]);
    if (tb[IPVS_SVC_ATTR_PE_NAME]) s.persistence_engine = nla_get_string(tb[IPVS_SVC_ATTR_PE_NAME]);
    bool persistent = false;
    if (tb[IPVS_SVC_ATTR_FLAGS]) {
        ip_vs_flags f{};
        std::memcpy(&f, nla_data(tb[IPVS_SVC_ATTR_FLAGS]), sizeof(f));
        s.flags = f.flags & flag::kAll;
        persistent = (f.flags & IP_VS_SVC_F_PERSISTENT) != 0;
    }
    if (tb[IPVS_SVC_ATTR_TIMEOUT] && persistent)
        s.persistence_timeout = nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]);
    if (tb[IPVS_SVC_ATTR_NETMASK])
        s.persistence_prefix = prefix_from_wire(nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]), *family);
    if (!with_stats) return out;
    if (tb[IPVS_SVC_ATTR_STATS64])
        out.stats = get_stats(tb[IPVS_SVC_ATTR_STATS64], true);
    else if (tb[IPVS_SVC_ATTR_STATS])
        out.stats = get_stats(tb[IPVS_SVC_ATTR_STATS], false);
    return out;
}

Result<DestinationStatus> parse_destination(nlattr* nested, Family default_family,
                                            bool with_stats, std::string_view what) {
    nlattr* tb[IPVS_DEST_ATTR_MAX + 1] = {};
    if (int e = nla_parse_nested(tb, IPVS_DEST_ATTR_MAX, nested, policies().dest); e < 0)
        return make_error(EINVAL, "{}: malformed destination attributes: {}", what, nl_geterror(e));
    if (!tb[IPVS_DEST_ATTR_ADDR] || !tb[IPVS_DEST_ATTR_PORT])
        return make_error(EINVAL, "{}: destination without address or port", what);
    DestinationStatus out;
    out.family = default_family;
    if (tb[IPVS_DEST_ATTR_ADDR_FAMILY]) {
        auto f = family_from_af(nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]));
        if (!f)
            return make_error(EAFNOSUPPORT, "{}: destination with address family {}", what,
                              nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]));
        out.family = *f;
    }
    auto addr = get_address(tb[IPVS_DEST_ATTR_ADDR], out.family, what);
    if (!addr) return addr.error();
    Destination& d = out.destination;
    d.key = {*addr, ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]))};
    if (tb[IPVS_DEST_ATTR_FWD_METHOD]) {
        const uint32_t fwd = nla_get_u32(tb[IPVS_DEST_ATTR_FWD_METHOD]) & IP_VS_CONN_F_FWD_MASK;
        if (fwd > static_cast<uint32_t>(Forwarding::DirectRoute))
            return make_error(EINVAL, "{}: destination {} with forwarding method {}", what, d.key,
                              fwd);
        d.forwarding = static_cast<Forwarding>(fwd);
    }
    auto u32 = [&](int i) { return tb[i] ? nla_get_u32(tb[i]) : 0u; };
    d.weight = u32(IPVS_DEST_ATTR_WEIGHT);
    d.upper_threshold = u32(IPVS_DEST_ATTR_U_THRESH);
    d.lower_threshold = u32(IPVS_DEST_ATTR_L_THRESH);
    // The kernel reports tunnel settings for every destination; they only mean
    // something for tunnel forwarding, so keep them zero otherwise (equality).
    if (d.forwarding == Forwarding::Tunnel) {
        if (tb[IPVS_DEST_ATTR_TUN_TYPE]) {
            const uint8_t t = nla_get_u8(tb[IPVS_DEST_ATTR_TUN_TYPE]);
            if (t >= IP_VS_CONN_F_TUNNEL_TYPE_MAX)
                return make_error(EINVAL, "{}: destination {} with tunnel type {}", what, d.key, t);
            d.tunnel_type = static_cast<TunnelType>(t);
        }
        if (tb[IPVS_DEST_ATTR_TUN_PORT]) d.tunnel_port = ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_TUN_PORT]));
        if (tb[IPVS_DEST_ATTR_TUN_FLAGS]) d.tunnel_flags = nla_get_u16(tb[IPVS_DEST_ATTR_TUN_FLAGS]);
    }
    out.active_connections = u32(IPVS_DEST_ATTR_ACTIVE_CONNS);
    out.inactive_connections = u32(IPVS_DEST_ATTR_INACT_CONNS);
    out.persistent_connections = u32(IPVS_DEST_ATTR_PERSIST_CONNS);
    if (!with_stats) return out;
    if (tb[IPVS_DEST_ATTR_STATS64])
        out.stats = get_stats(tb[IPVS_DEST_ATTR_STATS64], true);
    else if (tb[IPVS_DEST_ATTR_STATS])
        out.stats = get_stats(tb[IPVS_DEST_ATTR_STATS], false);
    return out;
}

Result<SyncDaemon> parse_daemon(nlattr* nested, std::optional<SyncRole>& role_only,
                                std::string_view what) {
    nlattr* tb[IPVS_DAEMON_ATTR_MAX + 1] = {};
    if (int e = nla_parse_nested(tb, IPVS_DAEMON_ATTR_MAX, nested, policies().daemon); e < 0)
        return make_error(EINVAL, "{}: malformed sync daemon attributes: {}", what, nl_geterror(e));
    if (!tb[IPVS_DAEMON_ATTR_STATE]) return make_error(EINVAL, "{}: sync daemon without state", what);
    SyncDaemon d;
    const uint32_t state = nla_get_u32(tb[IPVS_DAEMON_ATTR_STATE]);
    if (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP)
        return make_error(EINVAL, "{}: sync daemon state {}", what, state);
    d.role = static_cast<SyncRole>(state);
    if (!tb[IPVS_DAEMON_ATTR_MCAST_IFN]) {
        role_only = d.role;
        return d;
    }
    d.interface = nla_get_string(tb[IPVS_DAEMON_ATTR_MCAST_IFN]);
    if (tb[IPVS_DAEMON_ATTR_SYNC_ID])
        d.sync_id = static_cast<uint8_t>(nla_get_u32(tb[IPVS_DAEMON_ATTR_SYNC_ID]));
    if (tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]) d.max_length = nla_get_u16(tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
    if (tb[IPVS_DAEMON_ATTR_MCAST_PORT]) d.port = nla_get_u16(tb[IPVS_DAEMON_ATTR_MCAST_PORT]);
    if (tb[IPVS_DAEMON_ATTR_MCAST_TTL]) d.ttl = nla_get_u8(tb[IPVS_DAEMON_ATTR_MCAST_TTL]);
    if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP]) {
        auto a = get_address(tb[IPVS_DAEMON_ATTR_MCAST_GROUP], Family::V4, what);
        if (!a) return a.error();
        if (!a->is_unspecified()) d.group = *a;
    } else if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP6]) {
        auto a = get_address(tb[IPVS_DAEMON_ATTR_MCAST_GROUP6], Family::V6, what);
        if (!a) return a.error();
        if (!a->is_unspecified()) d.group = *a;
    }
    return d;
}

}  // namespace

Result<Message> decode(const nlmsghdr* nlh, std::string_view what, Family dest_family,
                       bool with_stats) {
    nlattr* tb[IPVS_CMD_ATTR_MAX + 1] = {};
    auto* hdr = const_cast<nlmsghdr*>(nlh);  // libnl's parser is not const-correct
    if (int e = genlmsg_parse(hdr, 0, tb, IPVS_CMD_ATTR_MAX, policies().cmd); e < 0)
        return make_error(EINVAL, "{}: malformed generic netlink message: {}", what, nl_geterror(e));
    Message out;
    out.command = static_cast<genlmsghdr*>(nlmsg_data(hdr))->cmd;
    if (tb[IPVS_CMD_ATTR_SERVICE]) {
        auto s = parse_service(tb[IPVS_CMD_ATTR_SERVICE], out.service_has_settings, with_stats, what);
        if (!s) return s.error();
        out.service = std::move(*s);
        dest_family = out.service->service.key.family;
    }
    if (tb[IPVS_CMD_ATTR_DEST]) {
        auto d = parse_destination(tb[IPVS_CMD_ATTR_DEST], dest_family, with_stats, what);
        if (!d) return d.error();
        out.destination = std::move(*d);
    }
    if (tb[IPVS_CMD_ATTR_DAEMON]) {
        auto d = parse_daemon(tb[IPVS_CMD_ATTR_DAEMON], out.daemon_role, what);
        if (!d) return d.error();
        if (!out.daemon_role) out.daemon = std::move(*d);
    }
    if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP] || tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN] ||
        tb[IPVS_CMD_ATTR_TIMEOUT_UDP]) {
        Timeouts t;
        if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP]) t.tcp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP]);
        if (tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN])
            t.tcp_fin = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]);
        if (tb[IPVS_CMD_ATTR_TIMEOUT_UDP]) t.udp = nla_get_u32(tb[IPVS_CMD_ATTR_TIMEOUT_UDP]);
        out.timeouts = t;
    }
    return out;
}

Result<Op> decode_op(const nlmsghdr* nlh) {
    auto m = decode(nlh, "operation", Family::V4);
    if (!m) return m.error();
    if (!m->service) return make_error(EINVAL, "operation: no service attribute");
    Op op{OpKind::AddService, m->service->service, {}};
    const bool needs_dest = m->command >= IPVS_CMD_NEW_DEST && m->command <= IPVS_CMD_DEL_DEST;
    if (needs_dest && !m->destination)
        return make_error(EINVAL, "operation: no destination attribute");
    if (needs_dest) op.destination = m->destination->destination;
    switch (m->command) {
        case IPVS_CMD_NEW_SERVICE: op.kind = OpKind::AddService; break;
        case IPVS_CMD_SET_SERVICE: op.kind = OpKind::EditService; break;
        case IPVS_CMD_DEL_SERVICE: op.kind = OpKind::DeleteService; break;
        case IPVS_CMD_NEW_DEST: op.kind = OpKind::AddDestination; break;
        case IPVS_CMD_SET_DEST: op.kind = OpKind::EditDestination; break;
        case IPVS_CMD_DEL_DEST: op.kind = OpKind::DeleteDestination; break;
        default: return make_error(EINVAL, "operation: command {} is not a table operation", m->command);
    }
    return op;
}

}  // namespace lvsd::ipvs::detail
