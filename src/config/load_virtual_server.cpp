// virtual_servers and their real_servers.
#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

using namespace std::chrono_literals;

namespace {

constexpr int64_t kU32Max = 4294967295LL;

const std::vector<std::string_view> kSchedulers = {"rr",  "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                                   "sh",  "sed", "nq", "fo",  "ovf",  "mh",    "twos"};

constexpr std::string_view kAnnouncedInhibit =
    "inhibit_on_failure = false cannot be announced: a failed real server must keep its place (weight 0) in mh's "
    "table, or every balancer that sees the failure at another moment maps other flows elsewhere";

// IPVS's NAT rewrites the reply on its way back through the balancer that scheduled the
// connection; behind ECMP a real server's replies reach only its one gateway.
constexpr std::string_view kAnnouncedNat =
    "lb_kind NAT cannot be announced: NAT needs each reply to pass back through the balancer that scheduled its "
    "connection, and behind ECMP a real server answers through one gateway only (use DR or TUN)";

std::optional<Forwarding> parse_forwarding(Group& g) {
    auto v = g.choice("lb_kind", {"DR", "NAT", "TUN"});
    if (!v) return std::nullopt;
    return *v == "DR" ? Forwarding::DirectRouting : *v == "NAT" ? Forwarding::Nat : Forwarding::Tunnel;
}

}  // namespace

std::optional<RealServer> Loader::read_real_server(const lc::Setting& s, const VirtualServer& vs, const std::string& vs_name) {
    RealServer rs;
    rs.where = where(s);
    rs.lb_kind = vs.lb_kind;
    rs.inhibit_on_failure = vs.inhibit_on_failure;
    std::string context = fmt::format("real server of {}", vs_name);
    // Name the real server in messages as address:port when both are readable.
    if (s.exists("address") && s["address"].getType() == lc::Setting::TypeString) {
        if (auto a = parse_address(s["address"].c_str())) {
            int port = vs.port;
            if (s.exists("port") && s["port"].getType() == lc::Setting::TypeInt) port = s["port"];
            context = fmt::format("real server {} of {}",
                                  port > 0 && port <= 65535 ? format_endpoint(*a, static_cast<uint16_t>(port)) : a->to_string(),
                                  vs_name);
        }
    }
    Group g(*this, s, context, detail::keys_of("real_servers"));
    const std::size_t errors_before = diagnostics_.size();
    bool identity_ok = true;  // address and port, the IPVS destination key

    if (auto v = g.address("address")) {
        if (v->is_unspecified() || v->is_multicast()) {
            g.error(*g.find("address"), fmt::format("address {} must be a unicast address", *v));
            identity_ok = false;
        } else {
            rs.address = *v;
        }
    } else {
        if (!g.find("address")) g.missing("address");
        identity_ok = false;
    }
    if (auto v = parse_forwarding(g)) {
        rs.lb_kind = *v;
        if (vs.announce && *v == Forwarding::Nat && vs.lb_kind != Forwarding::Nat)
            g.error(*g.find("lb_kind"), std::string(kAnnouncedNat));
    }
    const bool any_port = vs.fwmark || vs_ports_vary_;
    if (auto v = g.integer("port", any_port ? 0 : 1, 65535)) rs.port = static_cast<uint16_t>(*v);
    else if (!g.find("port")) rs.port = vs.port;
    else identity_ok = false;
    // DR and TUN deliver the packet unchanged: the real server sees the service's port.
    if (!any_port && identity_ok && rs.lb_kind != Forwarding::Nat && g.find("port") && rs.port != vs.port && vs.port != 0)
        g.error(*g.find("port"), fmt::format("port {} differs from the service's port {}, but {} cannot change the destination "
                                             "port (only NAT can)", rs.port, vs.port, to_string(rs.lb_kind)));
    if (auto v = g.integer("weight", 0, 65535)) rs.weight = static_cast<uint32_t>(*v);
    if (auto v = g.integer("uthreshold", 0, 2147483647)) rs.uthreshold = static_cast<uint32_t>(*v);
    if (auto v = g.integer("lthreshold", 0, 2147483647)) rs.lthreshold = static_cast<uint32_t>(*v);
    if (rs.uthreshold && rs.lthreshold > rs.uthreshold)
        g.error(*g.find("lthreshold"), fmt::format("lthreshold {} is above uthreshold {}", rs.lthreshold, rs.uthreshold));
    else if (!rs.uthreshold && rs.lthreshold)
        g.error(*g.find("lthreshold"), "lthreshold needs uthreshold (IPVS only lowers a server's load back below it)");
    if (auto v = g.boolean("inhibit_on_failure")) {
        rs.inhibit_on_failure = *v;
        if (vs.announce && !*v) g.error(*g.find("inhibit_on_failure"), std::string(kAnnouncedInhibit));
    }
    rs.notify_up = g.command("notify_up");
    rs.notify_down = g.command("notify_down");
    if (vs_family_known_ && g.find("address") && !rs.address.is_unspecified() && family_of(rs.address) != vs.family &&
        rs.lb_kind != Forwarding::Tunnel)
        g.error(*g.find("address"), fmt::format("address {} is {} but the service is {}; only TUN forwards across families",
                                                rs.address, family_name(family_of(rs.address)), family_name(vs.family)));

    // Each kind takes one group, or a list of groups for several checks of that kind
    // (libconfig has no repeated keys); every check must be up for the server to be.
    for (std::string_view kind : {"TCP_CHECK", "HTTP_GET", "SSL_GET", "PROXY_CHECK", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK",
                                 "SMTP_CHECK"}) {
        const lc::Setting* c = g.find(kind);
        if (!c) continue;
        std::vector<std::pair<const lc::Setting*, std::string>> groups;
        if (c->isGroup()) {
            groups.emplace_back(c, context);
        } else if (c->isList()) {
            if (c->getLength() == 0) g.error(*c, fmt::format("{} is an empty list; remove it or give at least one {{ ... }}", kind));
            for (int i = 0; i < c->getLength(); ++i) {
                if (!(*c)[i].isGroup()) {
                    g.wrong_type((*c)[i], fmt::format("{}[{}]", kind, i), "a group { ... }");
                    continue;
                }
                groups.emplace_back(&(*c)[i], fmt::format("{} (check {} of {})", context, i + 1, c->getLength()));
            }
        } else {
            g.wrong_type(*c, kind, "a group { ... } or a list of groups ( { ... }, { ... } )");
            continue;
        }
        for (const auto& [setting, where] : groups)
            for (auto& hc : read_check(*setting, kind, rs, vs, where)) rs.checks.push_back(std::move(hc));
    }
    if (diagnostics_.size() != errors_before) rs.checks.clear();
    if (!identity_ok) return std::nullopt;
    return rs;
}

std::optional<VirtualServer> Loader::read_virtual_server(const lc::Setting& s, std::size_t index) {
    VirtualServer vs;
    vs.where = where(s);
    // Name the service as ipvsadm does when its key is readable, else by position.
    std::string context = fmt::format("virtual_servers[{}]", index);
    auto peek_int = [&](const char* k) -> std::optional<long long> {
        if (!s.exists(k) || (s[k].getType() != lc::Setting::TypeInt && s[k].getType() != lc::Setting::TypeInt64)) return std::nullopt;
        return s[k].getType() == lc::Setting::TypeInt ? static_cast<int>(s[k]) : static_cast<long long>(s[k]);
    };
    if (s.exists("group") && s["group"].getType() == lc::Setting::TypeString) {
        context = fmt::format("virtual server group \"{}\"", s["group"].c_str());
    } else if (auto mark = peek_int("fwmark"); mark && *mark > 0) {
        context = fmt::format("virtual server FWM {}", *mark);
    } else if (s.exists("address") && s["address"].getType() == lc::Setting::TypeString) {
        if (auto a = parse_address(s["address"].c_str())) {
            std::string proto = "TCP";
            if (s.exists("protocol") && s["protocol"].getType() == lc::Setting::TypeString) proto = s["protocol"].c_str();
            auto port = peek_int("port");
            context = port && *port >= 0 && *port <= 65535
                          ? fmt::format("virtual server {} {}", proto, format_endpoint(*a, static_cast<uint16_t>(*port)))
                          : fmt::format("virtual server {} {}", proto, a->to_string());
        }
    }
    Group g(*this, s, context, detail::keys_of("virtual_servers"));
    bool identity_ok = true;  // address, port and protocol, or fwmark: the IPVS service key
    bool port_ok = true;
    bool family_ok = true;

    const bool by_group = g.find("group") != nullptr;
    const bool by_mark = !by_group && g.find("fwmark") != nullptr;
    if (by_group) {
        for (auto k : {"address", "port", "fwmark"})
            if (g.find(k))
                g.error(*g.find(k), fmt::format("{} does not apply to a virtual server with a group (the group's entries are "
                                                "its services)", k));
        const VirtualServerGroup* group = nullptr;
        if (auto v = g.string("group")) {
            auto it = std::find_if(groups_->begin(), groups_->end(), [&](auto& x) { return x.name == *v; });
            if (it != groups_->end()) {
                group = &*it;
                vs.group = *v;
            } else if (!group_names_.count(*v)) {  // a broken group was reported already
                std::vector<std::string_view> names;
                for (auto& x : *groups_) names.push_back(x.name);
                std::string msg = fmt::format("group \"{}\" is not a virtual_server_group", *v);
                if (auto near = detail::nearest(*v, names)) msg += fmt::format("; did you mean '{}'?", *near);
                g.error(*g.find("group"), msg);
            }
        }
        if (!group) identity_ok = port_ok = family_ok = false;
        if (auto v = g.choice("protocol", {"TCP", "UDP", "SCTP"}))
            vs.protocol = *v == "TCP" ? Protocol::Tcp : *v == "UDP" ? Protocol::Udp : Protocol::Sctp;
        else if (g.find("protocol")) identity_ok = false;
        // The settings below are checked against one member standing for all: the first
        // address entry (the family and, when all agree, the port) or else the first mark.
        if (group) {
            const GroupMember* addr = nullptr;
            bool ports_agree = true;
            for (auto& m : group->members)
                if (!m.fwmark) {
                    if (!addr) addr = &m;
                    else if (m.port != addr->port) ports_agree = false;
                }
            const bool open = mark_family_open_.count(group->name) > 0;
            if (auto v = g.choice("ip_family", {"inet", "inet6"})) {
                vs.family = *v == "inet" ? Family::V4 : Family::V6;
                if (!open)
                    g.error(*g.find("ip_family"), "ip_family only applies to a group's fwmark entries written without "
                                                  "inet or inet6; this group's entries give the family");
            } else if (addr) {
                vs.family = addr->family;
            } else {
                vs.family = group->members.front().family;
                if (open) {  // as for a fwmark service: the real servers' family
                    const lc::Setting* rsl = g.find("real_servers");
                    if (rsl && rsl->isList() && rsl->getLength() > 0) {
                        const lc::Setting& r0 = (*rsl)[0];
                        if (r0.isGroup() && r0.exists("address") && r0["address"].getType() == lc::Setting::TypeString)
                            if (auto a = parse_address(r0["address"].c_str())) vs.family = family_of(*a);
                    }
                }
            }
            if (addr) {
                vs.address = addr->address;
                vs.port = ports_agree ? addr->port : 0;
                vs_ports_vary_ = !ports_agree || addr->port == 0 ||
                                 std::any_of(group->members.begin(), group->members.end(), [](auto& m) { return m.fwmark != 0; });
            } else {
                vs.fwmark = group->members.front().fwmark;
            }
        }
    } else if (by_mark) {
        if (auto v = g.integer("fwmark", 1, kU32Max)) vs.fwmark = static_cast<uint32_t>(*v);
        else identity_ok = false;
        for (auto k : {"address", "port", "protocol"})
            if (g.find(k)) g.error(*g.find(k), fmt::format("{} does not apply to a fwmark service (the mark selects the packets)", k));
        if (auto v = g.choice("ip_family", {"inet", "inet6"})) vs.family = *v == "inet" ? Family::V4 : Family::V6;
        else if (!g.find("ip_family")) {
            // The real servers' family, as keepalived does.
            const lc::Setting* rsl = g.find("real_servers");
            if (rsl && rsl->isList() && rsl->getLength() > 0) {
                const lc::Setting& r0 = (*rsl)[0];
                if (r0.isGroup() && r0.exists("address") && r0["address"].getType() == lc::Setting::TypeString)
                    if (auto a = parse_address(r0["address"].c_str())) vs.family = family_of(*a);
            }
        }
    } else {
        if (g.find("ip_family")) g.error(*g.find("ip_family"), "ip_family only applies to fwmark services; the address gives the family");
        if (auto v = g.address("address")) {
            if (v->is_unspecified() || v->is_multicast()) {
                g.error(*g.find("address"), fmt::format("address {} must be a unicast address", *v));
                identity_ok = false;
            }
            vs.address = *v;
            vs.family = family_of(*v);
        } else {
            if (!g.find("address")) g.missing("address", "(or fwmark)");
            identity_ok = family_ok = false;
        }
        if (auto v = g.integer("port", 0, 65535)) {
            vs.port = static_cast<uint16_t>(*v);
        } else {
            if (!g.find("port")) g.missing("port");
            identity_ok = port_ok = false;
        }
        if (auto v = g.choice("protocol", {"TCP", "UDP", "SCTP"}))
            vs.protocol = *v == "TCP" ? Protocol::Tcp : *v == "UDP" ? Protocol::Udp : Protocol::Sctp;
        else if (g.find("protocol")) identity_ok = false;
    }
    vs_port_known_ = port_ok;
    vs_family_known_ = family_ok;
    const std::string& name = context;

    const auto algo = g.choice("lb_algo", kSchedulers);
    if (algo) vs.lb_algo = *algo;
    // Scale-out (issue #14): every balancer must send a flow to the same real server, and a
    // flow that moves to another balancer mid-connection must land there too: mh (Maglev
    // hashing) on address and port, failed real servers kept in the order with weight 0,
    // and no per-balancer state such as persistence.
    vs.announce = g.boolean("announce").value_or(false);
    if (vs.announce) {
        if (algo && *algo != "mh")
            g.error(*g.find("lb_algo"), fmt::format("lb_algo \"{}\" cannot be announced: every balancer behind ECMP must pick "
                                                    "the same real server for a flow, which only \"mh\" does (leave lb_algo "
                                                    "out: an announced service uses mh with mh-port)", vs.lb_algo));
        else vs.lb_algo = "mh";  // also after a bad lb_algo, whose own error is enough
    }
    if (auto v = parse_forwarding(g)) {
        vs.lb_kind = *v;
        if (vs.announce && *v == Forwarding::Nat) g.error(*g.find("lb_kind"), std::string(kAnnouncedNat));
    }
    if (auto v = g.integer("persistence_timeout", 0, 2678400)) vs.persistence_timeout = static_cast<uint32_t>(*v);
    if (vs.announce && vs.persistence_timeout)
        g.error(*g.find("persistence_timeout"),
                "persistence_timeout cannot be used on an announced service: persistence is kept per balancer, and ECMP "
                "sends a client's next connection to any balancer");
    const uint8_t host_len = vs.family == Family::V4 ? 32 : 128;
    vs.persistence_granularity = host_len;
    if (auto* pg = g.find("persistence_granularity")) {
        if (!vs.persistence_timeout)
            g.error(*pg, "persistence_granularity needs persistence_timeout");
        if (pg->getType() == lc::Setting::TypeString) {
            // An IPv4 netmask as keepalived and ipvsadm -M take it.
            auto m = parse_address(pg->c_str());
            uint32_t bits = m && m->is_v4() ? m->to_v4().to_uint() : 0;
            const int len = std::popcount(bits);
            if (!m || !m->is_v4() || vs.family != Family::V4 || (len < 32 && (bits << len) != 0) || len == 0)
                g.error(*pg, fmt::format("persistence_granularity \"{}\" is not a contiguous IPv4 netmask{}", pg->c_str(),
                                         vs.family == Family::V6 ? " (an IPv6 service takes a prefix length 1..128)" : ""));
            else vs.persistence_granularity = static_cast<uint8_t>(len);
        } else if (auto v = g.integer("persistence_granularity", 1, host_len)) {
            vs.persistence_granularity = static_cast<uint8_t>(*v);
        }
    }
    vs.ops = g.boolean("ops").value_or(false);
    if (vs.ops && !by_mark && !vs.fwmark && vs.protocol != Protocol::Udp)
        g.error(*g.find("ops"), "ops (one-packet scheduling) applies to UDP services only");
    if (vs.ops && vs.persistence_timeout)
        g.error(*g.find("ops"), "ops cannot be combined with persistence_timeout: every packet is scheduled on its own");
    if (!by_mark && !by_group && port_ok && vs.port == 0 && !vs.persistence_timeout)
        g.error(*g.find("port"), "port 0 (all ports) needs persistence_timeout, as in IPVS");
    vs.sh_port = g.boolean("sh-port").value_or(false);
    vs.sh_fallback = g.boolean("sh-fallback").value_or(false);
    vs.mh_port = g.boolean("mh-port").value_or(vs.announce);
    if (vs.announce && !vs.mh_port)
        g.error(*g.find("mh-port"), "mh-port = false cannot be announced: the balancers hash on address and port, so that "
                                    "one client's connections spread over the real servers alike on every balancer");
    vs.mh_fallback = g.boolean("mh-fallback").value_or(false);
    for (auto [key, algo] : {std::pair{"sh-port", "sh"}, {"sh-fallback", "sh"}, {"mh-port", "mh"}, {"mh-fallback", "mh"}})
        if (g.find(key) && vs.lb_algo != algo)
            g.error(*g.find(key), fmt::format("{} applies to lb_algo \"{}\" only, not \"{}\"", key, algo, vs.lb_algo));
    if (auto v = g.seconds("delay_loop", 100ms, 86400s)) vs.delay_loop = *v;
    vs.inhibit_on_failure = g.boolean("inhibit_on_failure").value_or(vs.announce);
    if (vs.announce && !vs.inhibit_on_failure)
        g.error(*g.find("inhibit_on_failure"), std::string(kAnnouncedInhibit));
    vs.alpha = g.boolean("alpha").value_or(false);
    if (auto v = g.integer("quorum", 1, kU32Max)) vs.quorum = static_cast<uint32_t>(*v);
    if (auto v = g.integer("hysteresis", 0, kU32Max)) vs.hysteresis = static_cast<uint32_t>(*v);
    vs.quorum_up = g.command("quorum_up");
    vs.quorum_down = g.command("quorum_down");

    if (auto* ss = g.find("sorry_server")) {
        if (!ss->isGroup()) {
            g.wrong_type(*ss, "sorry_server", "a group { address = ...; port = ...; }");
        } else {
            Group sg(*this, *ss, name + " sorry_server", detail::keys_of("sorry_server"));
            Endpoint ep{{}, vs.port};
            auto a = sg.address("address");
            if (!a && !sg.find("address")) sg.missing("address");
            if (auto p = sg.integer("port", 1, 65535)) ep.port = static_cast<uint16_t>(*p);
            if (a) {
                ep.address = *a;
                if (family_ok && family_of(*a) != vs.family && vs.lb_kind != Forwarding::Tunnel)
                    sg.error(*sg.find("address"), fmt::format("address {} is {} but the service is {}", *a,
                                                              family_name(family_of(*a)), family_name(vs.family)));
                else if (!by_mark && vs.lb_kind != Forwarding::Nat && ep.port != vs.port && vs.port != 0)
                    sg.error(*sg.find("port"), fmt::format("port {} differs from the service's port {}, but {} cannot change "
                                                           "the destination port (only NAT can)", ep.port, vs.port, to_string(vs.lb_kind)));
                else vs.sorry_server = ep;
            }
        }
    }

    if (auto* rsl = g.find("real_servers")) {
        if (!rsl->isList()) {
            g.wrong_type(*rsl, "real_servers", "a list of groups ( { address = ...; }, ... )");
        } else {
            for (int i = 0; i < rsl->getLength(); ++i) {
                const lc::Setting& e = (*rsl)[i];
                if (!e.isGroup()) {
                    g.error(e, fmt::format("real_servers[{}] must be a group {{ ... }}, not {}", i, type_name(e.getType())));
                    continue;
                }
                if (auto rs = read_real_server(e, vs, name)) vs.real_servers.push_back(std::move(*rs));
            }
        }
    }
    // Duplicate real servers: the IPVS destination key is address and port.
    for (std::size_t i = 0; i < vs.real_servers.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (vs.real_servers[i].address == vs.real_servers[j].address && vs.real_servers[i].port == vs.real_servers[j].port) {
                error(vs.real_servers[i].where,
                      fmt::format("{}: real server {} is listed twice (first at line {})", name,
                                  format_endpoint(vs.real_servers[i].address, vs.real_servers[i].port), vs.real_servers[j].where.line));
                break;
            }
    vs_port_known_ = vs_family_known_ = true;
    vs_ports_vary_ = false;
    if (!identity_ok) return std::nullopt;
    return vs;
}

void Loader::check_virtual_servers(Config& c) {
    auto& v = c.virtual_servers;
    for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = 0; j < i; ++j) {
            const bool same = v[i].fwmark ? (v[i].fwmark == v[j].fwmark && v[i].family == v[j].family)
                                          : (!v[j].fwmark && v[i].address == v[j].address && v[i].port == v[j].port &&
                                             v[i].protocol == v[j].protocol);
            if (same) {
                error(v[i].where, fmt::format("virtual server {} is defined twice (first at line {})", service_name(v[i]), v[j].where.line));
                break;
            }
        }
}

}  // namespace lvsd::config::detail
