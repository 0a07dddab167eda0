// format_plan: what lvsd derives from a Config, for `lvsd --plan` and scripts/demo.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "config/config.hpp"

namespace lvsd::config {

std::string_view to_string(LogLevel l) {
    switch (l) {
        case LogLevel::Trace: return "trace";
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warn: return "warn";
        case LogLevel::Error: return "error";
        case LogLevel::Critical: return "critical";
        case LogLevel::Off: return "off";
    }
    return "?";
}

std::string_view to_string(VrrpState s) { return s == VrrpState::Master ? "MASTER" : "BACKUP"; }

std::string_view to_string(Protocol p) {
    switch (p) {
        case Protocol::Tcp: return "TCP";
        case Protocol::Udp: return "UDP";
        case Protocol::Sctp: return "SCTP";
    }
    return "?";
}

std::string_view to_string(Forwarding f) {
    switch (f) {
        case Forwarding::DirectRouting: return "DR";
        case Forwarding::Nat: return "NAT";
        case Forwarding::Tunnel: return "TUN";
    }
    return "?";
}

std::string_view check_name(const HealthCheck& c) {
    switch (c.probe.index()) {
        case 0: return "TCP_CHECK";
        case 1: return std::get<HttpProbe>(c.probe).tls ? "SSL_GET" : "HTTP_GET";
        case 2: return "PROXY_CHECK";
        case 3: return "MISC_CHECK";
        case 4: return "UDP_CHECK";
        case 5: return "DNS_CHECK";
        default: return "SMTP_CHECK";
    }
}

std::string pool_name(const VirtualServer& vs) {
    if (!vs.group.empty()) return fmt::format("group \"{}\"", vs.group);
    return service_name(vs);
}

std::string service_name(const VirtualServer& vs) {
    if (vs.fwmark) return fmt::format("FWM {}{}", vs.fwmark, vs.family == Family::V6 ? " IPv6" : "");
    return fmt::format("{} {}", to_string(vs.protocol), format_endpoint(vs.address, vs.port));
}

namespace {

// Seconds as an operator writes them: "1 s", "0.5 s", "3.414 s".
std::string secs(double s) {
    const double rounded = std::round(s * 1000.0) / 1000.0;
    return fmt::format("{} s", rounded);
}
std::string secs(Duration d) { return secs(static_cast<double>(d.count()) / 1000.0); }

std::string plural(uint32_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

// ipvsadm's names for the forwarding methods.
std::string_view ipvsadm_forward(Forwarding f) {
    switch (f) {
        case Forwarding::DirectRouting: return "Route";
        case Forwarding::Nat: return "Masq";
        case Forwarding::Tunnel: return "Tunnel";
    }
    return "?";
}

std::string codes_text(const StatusCodes& codes) {
    std::string out;
    for (auto [lo, hi] : codes) {
        if (!out.empty()) out += ",";
        out += lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
    }
    return out;
}

std::string command_text(const Command& c) {
    std::string out;
    for (auto& a : c.argv) {
        if (!out.empty()) out += ' ';
        out += a.find_first_of(" \t'\"") == std::string::npos ? a : fmt::format("'{}'", a);
    }
    return out;
}

void notify_lines(std::string& out, const Notify& n, std::string_view indent) {
    const std::pair<const char*, const std::optional<Command>*> all[] = {
        {"notify_master", &n.master}, {"notify_backup", &n.backup}, {"notify_fault", &n.fault},
        {"notify_stop", &n.stop},     {"notify", &n.any}};
    for (auto [name, cmd] : all)
        if (*cmd) out += fmt::format("{}{}: {}\n", indent, name, command_text(**cmd));
}

std::string check_text(const RealServer& rs, const HealthCheck& c) {
    std::string target = c.connect_ip == rs.address ? fmt::format(":{}", c.connect_port) : format_endpoint(c.connect_ip, c.connect_port);
    std::string what;
    switch (c.probe.index()) {
        case 0:
            what = fmt::format("TCP_CHECK {} {}",
                               std::get<TcpProbe>(c.probe).half_open ? "half-open (SYN)" : "connect",
                               target);
            break;
        case 1: {
            auto& h = std::get<HttpProbe>(c.probe);
            what = fmt::format("{} {}{} -> {}{}", h.tls ? "SSL_GET" : "HTTP_GET", target, h.path, codes_text(h.status_code),
                               h.body_contains.empty() ? "" : fmt::format(" with \"{}\" in the body", h.body_contains));
            if (!h.digest.empty()) what += fmt::format(" with body MD5 {}", h.digest);
            if (!h.virtualhost.empty()) what += fmt::format(" (Host: {}{})", h.virtualhost, h.tls ? ", SNI" : "");
            if (h.tls)
                what += h.ssl_verify ? fmt::format(", certificate verified against {}", h.ssl_ca.empty() ? "the system's CAs" : h.ssl_ca)
                                     : ", certificate not verified";
            break;
        }
        case 2: {
            auto& p = std::get<ProxyProbe>(c.probe);
            what = fmt::format("PROXY_CHECK via {} GET {} -> {}", target, p.url, codes_text(p.status_code));
            break;
        }
        case 4: {
            auto& u = std::get<UdpProbe>(c.probe);
            what = fmt::format("UDP_CHECK {} with a {}-byte datagram, {}", target, u.payload.size(),
                               u.require_reply ? "a reply required" : "down on ICMP port unreachable");
            break;
        }
        case 5: {
            auto& d = std::get<DnsProbe>(c.probe);
            what = fmt::format("DNS_CHECK {} query {} {}, an answer of that type required", target, d.type, d.name);
            break;
        }
        case 6:
            what = fmt::format("SMTP_CHECK {} HELO {}: 220 greeting, 250 to HELO, 221 to QUIT", target,
                               std::get<SmtpProbe>(c.probe).helo_name);
            break;
        default: {
            auto& m = std::get<MiscProbe>(c.probe);
            what = fmt::format("MISC_CHECK {}{}{}{}", m.argv.front() == "/bin/sh" && m.argv.size() == 3 && m.argv[2] == m.text ? "sh -c " : "",
                               m.text, m.user ? fmt::format(" as {}", m.user->name) : "",
                               m.dynamic ? " (misc_dynamic: exit 2-255 sets the weight to status - 2)" : "");
            return fmt::format("{} every {}, timeout {}; down after {} ({} apart), up after {}", what,
                               secs(c.delay_loop), secs(c.connect_timeout), plural(c.fall, "failure", "failures"),
                               secs(c.delay_before_retry), plural(c.rise, "success", "successes"));
        }
    }
    std::string from = c.bindto ? fmt::format(" from {}", c.bind_port ? format_endpoint(*c.bindto, *c.bind_port) : c.bindto->to_string()) : "";
    return fmt::format("{}{} every {}, timeout {}; down after {} ({} apart), up after {}", what, from,
                       secs(c.delay_loop), secs(c.connect_timeout), plural(c.fall, "failure", "failures"),
                       secs(c.delay_before_retry), plural(c.rise, "success", "successes"));
}

// One line per check; with several, the server is up only while all are.
std::vector<std::string> check_lines(const RealServer& rs) {
    if (rs.checks.empty()) return {"no health check: always up"};
    std::vector<std::string> out;
    for (const auto& c : rs.checks) out.push_back(check_text(rs, c));
    const char* down = rs.inhibit_on_failure ? "weight 0 while down" : "out of the table while down";
    if (rs.checks.size() == 1) out.back() += fmt::format("; {}", down);
    else out.push_back(fmt::format("up while all {} checks are up; {}", rs.checks.size(), down));
    return out;
}

// RFC 5798 §6.1 (v3) and RFC 3768 §6.1 (v2): Master_Down_Interval = 3 x advert + skew.
void timers(std::string& out, const VrrpInstance& vi) {
    const double adv = static_cast<double>(vi.advert_int.count()) / 1000.0;
    const double skew = vi.version == 3 ? ((256.0 - vi.priority) * adv) / 256.0 : (256.0 - vi.priority) / 256.0;
    std::string dest;
    if (vi.unicast_peer.empty()) {
        dest = fmt::format("multicast {}", vi.family == Family::V4 ? "224.0.0.18" : "ff02::12");
    } else {
        std::string peers;
        for (auto& p : vi.unicast_peer) peers += (peers.empty() ? "" : ", ") + p.to_string();
        dest = fmt::format("unicast to {}", peers);
    }
    if (vi.unicast_src_ip) dest += fmt::format(" from {}", *vi.unicast_src_ip);
    out += fmt::format("    adverts every {} by {}\n", secs(adv), dest);
    out += fmt::format("    master down after {} (3 x {} + skew {})\n", secs(3 * adv + skew), secs(adv), secs(skew));
}

}  // namespace

std::string format_plan(const Config& c) {
    std::string out;
    const Global& g = c.global;
    out += fmt::format("lvsd plan for {}\n", c.source);
    out += fmt::format("  router_id {}, log_level {}, control socket {}, IPVS reconciled every {}\n",
                       g.router_id.empty() ? "(host name)" : g.router_id, to_string(g.log_level), g.control_socket,
                       secs(g.reconcile_interval));
    if (g.metrics_listen) out += fmt::format("  metrics on {}\n", format_endpoint(g.metrics_listen->address, g.metrics_listen->port));
    if (g.lvs_sync_daemon)
        out += fmt::format("  IPVS connection sync on {} (sync id {}), master/backup follows instance {}\n",
                           g.lvs_sync_daemon->interface, g.lvs_sync_daemon->syncid, g.lvs_sync_daemon->instance);

    out += fmt::format("\nVRRP: {}\n", c.vrrp_instances.empty() ? "no instances" : plural(static_cast<uint32_t>(c.vrrp_instances.size()), "instance", "instances"));
    for (const VrrpInstance& vi : c.vrrp_instances) {
        out += fmt::format("  {} on {}: VRID {}, {}, VRRPv{}, priority {}{}, state hint {}, {}\n", vi.name, vi.interface,
                           vi.virtual_router_id, vi.family == Family::V4 ? "IPv4" : "IPv6", vi.version, vi.priority,
                           vi.priority == 255 ? " (address owner)" : "", to_string(vi.state),
                           vi.nopreempt ? "nopreempt"
                           : vi.preempt_delay.count() ? fmt::format("preempts after {}", secs(vi.preempt_delay))
                                                      : "preempts");
        timers(out, vi);
        for (const VirtualAddress& va : vi.virtual_ipaddress)
            out += fmt::format("    VIP {} dev {}{}\n", va.prefix, va.dev.empty() ? vi.interface : va.dev,
                               va.label.empty() ? "" : fmt::format(" label {}", va.label));
        out += fmt::format("    on takeover: {} {}, {} later {} more{}{}\n", vi.garp_master_repeat,
                           vi.family == Family::V4 ? "gratuitous ARPs" : "unsolicited NAs",
                           secs(vi.garp_master_delay), vi.garp_master_repeat,
                           vi.garp_interval.count() ? fmt::format(", {} apart", secs(vi.garp_interval)) : "",
                           vi.garp_master_refresh.count() ? fmt::format("; then {} again every {} while master", vi.garp_master_refresh_repeat,
                                                                         secs(vi.garp_master_refresh))
                                                          : "");
        // keepalived's weight rule, said per tracker: positive while well, negative while
        // failing, 0 = FAULT while failing.
        auto weighted = [](int weight, std::string_view well, std::string_view failing) {
            if (weight > 0) return fmt::format("priority {:+} while {}", weight, well);
            if (weight < 0) return fmt::format("priority {:+} while {}", weight, failing);
            return fmt::format("FAULT while {}", failing);
        };
        // dont_track_primary changes what FAULT means for the instance's own interface.
        out += vi.dont_track_primary
                   ? fmt::format("    {} down: not a FAULT (dont_track_primary); missing or without a source address: FAULT\n",
                                 vi.interface)
                   : fmt::format("    {} down, missing or without a source address: FAULT\n", vi.interface);
        for (const TrackInterface& t : vi.track_interface)
            out += fmt::format("    tracks interface {}: {}\n", t.name, weighted(t.weight, "it is up", "it is down"));
        for (const TrackScript& t : vi.track_script) {
            auto s = std::find_if(c.vrrp_scripts.begin(), c.vrrp_scripts.end(), [&](auto& v) { return v.name == t.name; });
            if (s == c.vrrp_scripts.end()) continue;
            out += fmt::format("    tracks script {} ({} every {}, rise {} fall {}): {}\n", t.name, s->text,
                               secs(s->interval), s->rise, s->fall,
                               weighted(t.weight.value_or(s->weight), "it succeeds", "it fails"));
        }
        for (const TrackProcess& t : vi.track_process) {
            auto p = std::find_if(c.vrrp_track_processes.begin(), c.vrrp_track_processes.end(),
                                  [&](auto& v) { return v.name == t.name; });
            if (p == c.vrrp_track_processes.end()) continue;
            const std::string range = p->quorum_max ? fmt::format("{}..{}", p->quorum, *p->quorum_max)
                                                    : fmt::format("at least {}", p->quorum);
            out += fmt::format("    tracks process {} ({} running {}): {}\n", t.name, range, p->process,
                               weighted(t.weight.value_or(p->weight), "they run", "they do not"));
        }
        for (const TrackFile& t : vi.track_file) {
            auto f = std::find_if(c.vrrp_track_files.begin(), c.vrrp_track_files.end(),
                                  [&](auto& v) { return v.name == t.name; });
            if (f == c.vrrp_track_files.end()) continue;
            const int w = t.weight.value_or(f->weight);
            out += w ? fmt::format("    tracks file {} ({}): priority + its number x {}\n", t.name, f->file, w)
                     : fmt::format("    tracks file {} ({}): FAULT while its number is not 0\n", t.name, f->file);
        }
        if (vi.track_arp_target) {
            std::string targets;
            for (auto& a : vi.track_arp_target->targets) targets += (targets.empty() ? "" : ", ") + a.to_string();
            out += fmt::format("    tracks {} every {}: {} after {} unanswered rounds\n", targets,
                               secs(vi.track_arp_target->interval),
                               vi.track_arp_target->weight ? fmt::format("priority {:+}", vi.track_arp_target->weight)
                                                           : std::string("FAULT"),
                               vi.track_arp_target->fall);
        }
        if (!vi.track_interface.empty() || !vi.track_script.empty() || !vi.track_process.empty() ||
            !vi.track_file.empty() || (vi.track_arp_target && vi.track_arp_target->weight))
            out += fmt::format("    effective priority: {} moved by the trackers above, kept within 1..254{}\n",
                               vi.priority, vi.priority == 255 ? " (an address owner is never moved)" : "");
        if (vi.auth_pass) out += vi.auth_ah ? "    authentication AH (IPsec, HMAC-MD5-96)\n" : "    authentication PASS\n";
        notify_lines(out, vi.notify, "    ");
    }
    for (const VrrpSyncGroup& sg : c.vrrp_sync_groups) {
        std::string members;
        for (auto& m : sg.group) members += (members.empty() ? "" : ", ") + m;
        out += fmt::format("  sync group {}: {} change state together\n", sg.name, members);
        for (const TrackScript& t : sg.track_script)
            out += fmt::format("    every member tracks script {}\n", t.name);
        notify_lines(out, sg.notify, "    ");
    }

    out += fmt::format("\nIPVS: {}\n", c.virtual_servers.empty() ? "no virtual services" : plural(static_cast<uint32_t>(c.virtual_servers.size()), "virtual service", "virtual services"));
    if (!c.virtual_servers.empty()) {
        out += "Prot LocalAddress:Port Scheduler Flags\n";
        out += "  -> RemoteAddress:Port           Forward Weight\n";
    }
    for (const VirtualServer& vs : c.virtual_servers) {
        std::string flags;
        if (vs.persistence_timeout) {
            flags += fmt::format(" persistent {}", vs.persistence_timeout);
            if (vs.persistence_granularity != (vs.family == Family::V4 ? 32 : 128))
                flags += fmt::format(" mask /{}", vs.persistence_granularity);
        }
        if (vs.ops) flags += " ops";
        std::string sched_flags;
        for (auto [on, name] : {std::pair{vs.sh_fallback, "sh-fallback"}, {vs.sh_port, "sh-port"}, {vs.mh_fallback, "mh-fallback"}, {vs.mh_port, "mh-port"}})
            if (on) sched_flags += (sched_flags.empty() ? "" : ",") + std::string(name);
        if (!sched_flags.empty()) flags += fmt::format(" ({})", sched_flags);
        std::string head = vs.fwmark ? fmt::format("FWM  {}{}", vs.fwmark, vs.family == Family::V6 ? " IPv6" : "")
                                     : fmt::format("{:<4} {}", to_string(vs.protocol), format_endpoint(vs.address, vs.port));
        out += fmt::format("{} {}{}{}\n", head, vs.lb_algo, flags,
                           vs.group.empty() ? "" : fmt::format("  (group {})", vs.group));
        for (const RealServer& rs : vs.real_servers) {
            std::string weight = vs.alpha && !rs.checks.empty() ? fmt::format("{}*", rs.weight) : std::to_string(rs.weight);
            out += fmt::format("  -> {:<28} {:<7} {}\n", format_endpoint(rs.address, rs.port), ipvsadm_forward(rs.lb_kind), weight);
            for (const auto& line : check_lines(rs)) out += fmt::format("       {}\n", line);
            // IPVS: overloaded above uthreshold; cleared below lthreshold, or 3/4 of uthreshold when 0.
            if (rs.uthreshold)
                out += fmt::format("       new connections stop above {} connections, resume below {}\n", rs.uthreshold,
                                   rs.lthreshold ? rs.lthreshold : rs.uthreshold * 3 / 4);
            if (rs.notify_up) out += fmt::format("       notify_up: {}\n", command_text(*rs.notify_up));
            if (rs.notify_down) out += fmt::format("       notify_down: {}\n", command_text(*rs.notify_down));
        }
        if (vs.real_servers.empty()) out += "  (no real servers)\n";
        if (vs.quorum != 1 || vs.hysteresis != 0)
            out += fmt::format("  quorum {}: down when the up real servers' weights sum below {}, up again at {}{}\n",
                               vs.quorum, vs.quorum > vs.hysteresis ? vs.quorum - vs.hysteresis : 1,
                               uint64_t{vs.quorum} + vs.hysteresis,
                               vs.group.empty() ? "" : fmt::format(" (one quorum for group {})", vs.group));
        if (vs.quorum_up) out += fmt::format("  quorum_up: {}\n", command_text(*vs.quorum_up));
        if (vs.quorum_down) out += fmt::format("  quorum_down: {}\n", command_text(*vs.quorum_down));
        if (vs.sorry_server)
            out += fmt::format("  sorry server {} replaces the real servers while the quorum is down\n",
                               format_endpoint(vs.sorry_server->address, vs.sorry_server->port));
        if (vs.alpha) out += "  alpha: real servers with a check start down (* above) until it succeeds\n";
        if (vs.announce) {
            out += fmt::format("  announced: route {}/{} in table {} (protocol {}, dev {}) while every announced service "
                               "on {} has its quorum and a real server taking new connections, and the balancer is not "
                               "drained\n",
                               vs.address, vs.family == Family::V4 ? 32 : 128, c.global.announce.table,
                               c.global.announce.protocol, c.global.announce.interface, vs.address);
            // What makes every balancer pick the same real server (README "Scale-out with ECMP").
            // A UDP flow has no state to pick up mid-connection: no sloppy switch for it.
            const std::string_view sloppy = vs.protocol == Protocol::Tcp    ? "; net.ipv4.vs.sloppy_tcp=1"
                                            : vs.protocol == Protocol::Sctp ? "; net.ipv4.vs.sloppy_sctp=1"
                                                                            : "";
            out += fmt::format("  as on every balancer: {} kept on {}; real servers added to IPVS in address order (mh's "
                               "table depends on it), a failed one kept at weight 0{}\n",
                               vs.address, c.global.announce.interface, sloppy);
        }
    }
    return out;
}

}  // namespace lvsd::config
