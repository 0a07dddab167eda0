#include "daemon/metrics.hpp"

#include <charconv>
#include <iterator>
#include <type_traits>

#include <fmt/format.h>

namespace lvsd::daemon {

// ---- Renderer ----------------------------------------------------------------------

namespace {

void append_escaped(std::string& out, std::string_view s) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

}  // namespace

std::string escape_label_value(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_escaped(out, s);
    return out;
}

namespace {

// HELP text escapes backslash and newline (but not quotes).
std::string escape_help(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Writes one family at a time: the header, then its samples, so that every sample of a
// family is contiguous as the format requires.
class Text {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        name_.assign(name);
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
    }

    // Appends in place: a large table makes tens of thousands of samples per scrape.
    template <class T>
    void sample(Labels labels, T value) {
        out_ += name_;
        if (labels.size() > 0) {
            char sep = '{';
            for (const auto& [k, v] : labels) {
                out_ += sep;
                sep = ',';
                out_ += k;
                out_ += "=\"";
                append_escaped(out_, v);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        if constexpr (std::is_same_v<T, bool>) {
            out_ += value ? '1' : '0';
        } else if constexpr (std::is_integral_v<T>) {
            char buf[24];
            auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
            out_.append(buf, end);
        } else {
            fmt::format_to(std::back_inserter(out_), "{}", value);  // shortest round-trip
        }
        out_ += '\n';
    }
    template <class T>
    void sample(T value) {
        sample({}, value);
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
    std::string name_;
};

constexpr vrrp::State kStates[] = {vrrp::State::Initialize, vrrp::State::Backup,
                                   vrrp::State::Master, vrrp::State::Fault};

void render_process(Text& t, const ProcessMetrics& p) {
    t.family("lvsd_build_info", "gauge", "Always 1; the version label is lvsd's version.");
    t.sample({{"version", p.version}}, 1);
    t.family("lvsd_start_time_seconds", "gauge", "When lvsd started, in seconds since the Unix epoch.");
    t.sample(p.start_time_seconds);
    t.family("lvsd_config_generation", "gauge",
             "Generation of the running configuration: 1 at start, +1 per accepted reload.");
    t.sample(p.config_generation);
    t.family("lvsd_config_reloads_total", "counter",
             "Reloads (SIGHUP or lvsctl reload) by result; a failed reload keeps the running configuration.");
    t.sample({{"result", "success"}}, p.reloads_succeeded);
    t.sample({{"result", "failure"}}, p.reloads_failed);
    t.family("lvsd_config_last_reload_successful", "gauge",
             "1 if the last reload was accepted (or none was tried), 0 if it was rejected.");
    t.sample(p.last_reload_succeeded);
}

void render_vrrp_thread(Text& t, const SchedulingStatus& s) {
    t.family("lvsd_vrrp_thread_realtime_priority", "gauge",
             "The VRRP thread's SCHED_RR priority; 0 when it runs at normal priority (vrrp_rt_priority 0, not "
             "permitted, or demoted).");
    t.sample(static_cast<uint64_t>(s.policy == "SCHED_RR" ? s.priority : 0));
    t.family("lvsd_vrrp_thread_demoted", "gauge",
             "1 once the VRRP thread ran over vrrp_rlimit_rttime without sleeping and was dropped to normal "
             "priority (until lvsd restarts), else 0.");
    t.sample(s.demoted);
}

void render_vrrp(Text& t, const std::vector<VrrpInstanceMetrics>& instances) {
    if (instances.empty()) return;
    t.family("lvsd_vrrp_instance_info", "gauge", "Always 1; labels give each VRRP instance's interface, VRID and version.");
    for (const auto& i : instances)
        t.sample({{"vrrp_instance", i.name},
                  {"interface", i.interface},
                  {"vrid", std::to_string(i.virtual_router_id)},
                  {"version", std::to_string(i.version)}},
                 1);
    t.family("lvsd_vrrp_state", "gauge",
             "1 for the state each VRRP instance is in (INIT, BACKUP, MASTER, FAULT), 0 for the others.");
    for (const auto& i : instances)
        for (auto s : kStates) t.sample({{"vrrp_instance", i.name}, {"state", vrrp::to_string(s)}}, i.state == s);
    t.family("lvsd_vrrp_state_duration_seconds", "gauge", "How long each VRRP instance has been in its current state.");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.state_seconds);
    t.family("lvsd_vrrp_priority", "gauge", "Configured priority (255: address owner).");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.priority);
    t.family("lvsd_vrrp_effective_priority", "gauge",
             "Priority the instance advertises with now: the configured one moved by its trackers (0 once stopped).");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.effective_priority);
    t.family("lvsd_vrrp_override", "gauge",
             "1 for the operator's override each VRRP instance is under (lvsctl failover, lvsctl hold), 0 for the other.");
    for (const auto& i : instances)
        for (auto o : {vrrp::Override::Failover, vrrp::Override::Hold})
            t.sample({{"vrrp_instance", i.name}, {"override", vrrp::to_string(o)}}, i.override_ == o);
    t.family("lvsd_vrrp_override_duration_seconds", "gauge",
             "How long the operator's override of each VRRP instance has been in force (0 without one).");
    for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.override_seconds);
    t.family("lvsd_vrrp_tracker_priority_delta", "gauge",
             "What each tracker (track_interface, track_script, track_arp_target) adds to the priority now.");
    for (const auto& i : instances)
        for (const auto& c : i.trackers) t.sample({{"vrrp_instance", i.name}, {"tracker", c.what}}, c.delta);
    t.family("lvsd_vrrp_tracker_fault", "gauge", "1 while a weight-0 tracker fails and holds the instance in FAULT.");
    for (const auto& i : instances)
        for (const auto& c : i.trackers) t.sample({{"vrrp_instance", i.name}, {"tracker", c.what}}, c.fault ? 1 : 0);

    struct Counter {
        const char* name;
        const char* help;
        uint64_t vrrp::Counters::*field;
    };
    static constexpr Counter kCounters[] = {
        {"lvsd_vrrp_transitions_total", "State transitions.", &vrrp::Counters::transitions},
        {"lvsd_vrrp_adverts_sent_total", "VRRP adverts sent.", &vrrp::Counters::adverts_sent},
        {"lvsd_vrrp_adverts_received_total", "VRRP adverts received and accepted.",
         &vrrp::Counters::adverts_received},
        {"lvsd_vrrp_advert_send_errors_total", "VRRP adverts the kernel refused to send.",
         &vrrp::Counters::send_errors},
        {"lvsd_vrrp_garps_sent_total", "Gratuitous ARPs and unsolicited neighbour advertisements sent.",
         &vrrp::Counters::garps_sent},
        {"lvsd_vrrp_vip_repairs_total",
         "VIP differences made behind lvsd's back and repaired (a VIP removed or relabelled while master, "
         "a VIP address added while not master).",
         &vrrp::Counters::vip_repairs},
    };
    for (const auto& c : kCounters) {
        t.family(c.name, "counter", c.help);
        for (const auto& i : instances) t.sample({{"vrrp_instance", i.name}}, i.counters.*c.field);
    }
    t.family("lvsd_vrrp_packets_dropped_total", "counter",
             "VRRP packets received and dropped, by reason (wrong_vrid is another router on the wire).");
    for (const auto& i : instances)
        for (std::size_t r = 0; r < i.counters.dropped.size(); ++r)
            t.sample({{"vrrp_instance", i.name}, {"reason", vrrp::to_string(static_cast<vrrp::DropReason>(r))}},
                     i.counters.dropped[r]);
}

// Real servers as the health checker and the table see them.
void render_real_servers(Text& t, const ServicePlaneMetrics& m) {
    auto each = [&](auto&& f) {
        for (const auto& s : m.services)
            for (const auto& r : s.real_servers) f(s, r);
    };
    t.family("lvsd_real_server_up", "gauge",
             "1 if the real server passes its health check (always 1 without a check), 0 if it is down.");
    each([&](const auto& s, const auto& r) { t.sample({{"service", s.name}, {"real_server", r.name}}, r.up); });
    t.family("lvsd_real_server_in_kernel", "gauge", "1 if the real server is in the kernel's IPVS table.");
    each([&](const auto& s, const auto& r) {
        t.sample({{"service", s.name}, {"real_server", r.name}}, r.weight.has_value());
    });
    t.family("lvsd_real_server_weight", "gauge",
             "Weight in the kernel's IPVS table (0 when inhibited or not in the table).");
    each([&](const auto& s, const auto& r) {
        t.sample({{"service", s.name}, {"real_server", r.name}}, r.weight.value_or(0));
    });
    t.family("lvsd_real_server_probes_total", "counter",
             "Health probes of the real server's check (real servers with the same check share it).");
    each([&](const auto& s, const auto& r) {
        if (r.checked) t.sample({{"service", s.name}, {"real_server", r.name}}, r.probes);
    });
    t.family("lvsd_real_server_last_probe_success", "gauge", "1 if the last health probe succeeded, 0 if it failed.");
    each([&](const auto& s, const auto& r) {
        if (r.last_probe) t.sample({{"service", s.name}, {"real_server", r.name}}, r.last_probe->ok);
    });
    t.family("lvsd_real_server_probe_latency_seconds", "gauge", "How long the last health probe took.");
    each([&](const auto& s, const auto& r) {
        if (r.last_probe)
            t.sample({{"service", s.name}, {"real_server", r.name}},
                     std::chrono::duration<double>(r.last_probe->latency).count());
    });
    t.family("lvsd_real_server_override", "gauge",
             "1 for each operator override of the real server (lvsctl): draining, drained, disabled, weight.");
    each([&](const auto& s, const auto& r) {
        if (!r.override_state) return;
        const auto& o = *r.override_state;
        auto one = [&](std::string_view kind) {
            t.sample({{"service", s.name}, {"real_server", r.name}, {"override", std::string(kind)}}, 1);
        };
        if (o.drain) one(*o.drain);
        if (o.disabled) one("disabled");
        if (o.weight) one("weight");
    });
    t.family("lvsd_healthcheck_probes_total", "counter",
             "Health probes finished, by result (inconclusive: a local shortage such as no free file "
             "descriptor, not counted against the real server).");
    t.sample({{"result", "success"}}, m.probes.probes_ok);
    t.sample({{"result", "failure"}}, m.probes.probes_failed);
    t.sample({{"result", "inconclusive"}}, m.probes.probes_inconclusive);
    t.family("lvsd_healthcheck_probes_in_flight", "gauge", "Health probes running right now.");
    t.sample(m.probes.in_flight);
}

struct StatField {
    std::string_view suffix;
    std::string_view help;
    uint64_t ipvs::Stats::*field;
};
constexpr StatField kStatFields[] = {
    {"connections_total", "Connections scheduled by IPVS.", &ipvs::Stats::connections},
    {"incoming_packets_total", "Packets from clients.", &ipvs::Stats::packets_in},
    {"outgoing_packets_total", "Packets to clients (stay 0 under DR and TUN: replies bypass the balancer).",
     &ipvs::Stats::packets_out},
    {"incoming_bytes_total", "Bytes from clients.", &ipvs::Stats::bytes_in},
    {"outgoing_bytes_total", "Bytes to clients (stay 0 under DR and TUN: replies bypass the balancer).",
     &ipvs::Stats::bytes_out},
};

// The reconciler's counters and the kernel's, for the configured services only (a
// service lvsd does not own is someone else's to export).
void render_ipvs(Text& t, const ServicePlaneMetrics& m) {
    t.family("lvsd_ipvs_reconciles_total", "counter",
             "Reconcile runs (at start, on every change, every reconcile_interval).");
    t.sample(m.reconciles);
    t.family("lvsd_ipvs_reconcile_failures_total", "counter", "Reconcile runs that could not read the kernel's table.");
    t.sample(m.reconcile_failures);
    t.family("lvsd_ipvs_operations_total", "counter", "IPVS netlink operations sent by the reconciler.");
    t.sample(m.ops_sent);
    t.family("lvsd_ipvs_operation_errors_total", "counter", "IPVS netlink operations the kernel refused.");
    t.sample(m.ops_failed);
    t.family("lvsd_ipvs_stats_success", "gauge",
             "1 if the kernel's IPVS counters were read for this scrape, 0 if reading them failed.");
    t.sample(m.stats_read);
    t.family("lvsd_ipvs_service_in_kernel", "gauge", "1 if the virtual service is in the kernel's IPVS table.");
    for (const auto& s : m.services) t.sample({{"service", s.name}}, s.in_kernel);

    for (const auto& f : kStatFields) {
        t.family(fmt::format("lvsd_ipvs_service_{}", f.suffix), "counter", f.help);
        for (const auto& s : m.services)
            if (s.kernel) t.sample({{"service", s.name}}, (*s.kernel).*f.field);
    }
    // A service's connections are its real servers' (IPVS keeps them per destination).
    auto connections = [&](std::string_view name, std::string_view help, uint32_t ipvs::DestinationStatus::*field) {
        t.family(name, "gauge", help);
        for (const auto& s : m.services) {
            if (!s.kernel) continue;
            uint64_t sum = 0;
            for (const auto& r : s.real_servers)
                if (r.kernel) sum += (*r.kernel).*field;
            t.sample({{"service", s.name}}, sum);
        }
    };
    connections("lvsd_ipvs_service_active_connections", "Established connections of the service (ActiveConn).",
                &ipvs::DestinationStatus::active_connections);
    connections("lvsd_ipvs_service_inactive_connections",
                "Connections of the service in any other state (InActConn).",
                &ipvs::DestinationStatus::inactive_connections);

    auto each_real = [&](auto&& f) {
        for (const auto& s : m.services)
            for (const auto& r : s.real_servers)
                if (r.kernel) f(s, r, *r.kernel);
    };
    for (const auto& f : kStatFields) {
        t.family(fmt::format("lvsd_ipvs_real_server_{}", f.suffix), "counter", f.help);
        each_real([&](const auto& s, const auto& r, const ipvs::DestinationStatus& k) {
            t.sample({{"service", s.name}, {"real_server", r.name}}, k.stats.*f.field);
        });
    }
    struct ConnField {
        std::string_view name;
        std::string_view help;
        uint32_t ipvs::DestinationStatus::*field;
    };
    static constexpr ConnField kConns[] = {
        {"lvsd_ipvs_real_server_active_connections", "Established connections (ActiveConn).",
         &ipvs::DestinationStatus::active_connections},
        {"lvsd_ipvs_real_server_inactive_connections", "Connections in any other state (InActConn).",
         &ipvs::DestinationStatus::inactive_connections},
        {"lvsd_ipvs_real_server_persistent_connections",
         "Persistence templates pointing at the real server (persistence_timeout).",
         &ipvs::DestinationStatus::persistent_connections},
    };
    for (const auto& c : kConns) {
        t.family(c.name, "gauge", c.help);
        each_real([&](const auto& s, const auto& r, const ipvs::DestinationStatus& k) {
            t.sample({{"service", s.name}, {"real_server", r.name}}, k.*c.field);
        });
    }
}

void render_announce(Text& t, const AnnounceStatus& a) {
    t.family("lvsd_announce_route", "gauge",
             "1 while the announced VIP's host route is in lvsd's routing table (BIRD exports it), 0 while withdrawn.");
    for (const auto& v : a.vips) t.sample({{"vip", v.vip}}, v.route);
    t.family("lvsd_announce_wanted", "gauge",
             "1 while lvsd wants the VIP announced (its services have their quorum, the balancer is not drained).");
    for (const auto& v : a.vips) t.sample({{"vip", v.vip}}, v.state == "announced");
    t.family("lvsd_announce_repairs_total", "counter",
             "Announced routes and VIP addresses put back after they were removed behind lvsd's back.");
    t.sample(a.repairs);
}
void render_http(Text& t, const HttpMetrics& h) {
    t.family("lvsd_metrics_http_responses_total", "counter", "Responses of this endpoint, by HTTP status code.");
    for (const auto& [code, n] : h.responses) t.sample({{"code", std::to_string(code)}}, n);
    t.family("lvsd_metrics_http_rejected_total", "counter",
             "Clients this endpoint turned away, by reason (malformed: 400; header_too_large: 431; "
             "body_too_large: 413; read_timeout, write_timeout: dropped; connection_limit: 503).");
    for (std::size_t r = 0; r < h.rejected.size(); ++r)
        t.sample({{"reason", to_string(static_cast<HttpReject>(r))}}, h.rejected[r]);
    t.family("lvsd_metrics_http_open_connections", "gauge", "Connections to this endpoint open right now.");
    t.sample(h.open_connections);
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
    Text t;
    render_process(t, s.process);
    if (!s.vrrp.empty()) render_vrrp_thread(t, s.vrrp_thread);
    render_vrrp(t, s.vrrp);
    t.family("lvsd_balancer_drained", "gauge", "1 while lvsctl drain --balancer is on.");
    t.sample(s.balancer_drained);
    if (s.ipvs) {
        render_real_servers(t, *s.ipvs);
        render_ipvs(t, *s.ipvs);
    }
    if (s.announce) render_announce(t, *s.announce);
    render_http(t, s.http);
    return t.take();
}

// ---- The HTTP server's own counters ------------------------------------------------

std::string_view to_string(HttpReject r) {
    switch (r) {
        case HttpReject::Malformed: return "malformed";
        case HttpReject::HeaderTooLarge: return "header_too_large";
        case HttpReject::ReadTimeout: return "read_timeout";
        case HttpReject::WriteTimeout: return "write_timeout";
        case HttpReject::ConnectionLimit: return "connection_limit";
        case HttpReject::BodyTooLarge: return "body_too_large";
        case HttpReject::kCount: break;
    }
    return "unknown";
}

}  // namespace lvsd::daemon
