// keepalived.conf -> lvsd configuration: the driver, global_defs, the tracked scripts,
// files and processes, and sync groups (instances: keepalived_translate_vrrp.cpp; the
// LVS part: keepalived_translate_lvs.cpp).
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "config/detail/keepalived_translate.hpp"

namespace lvsd::config::keepalived {

using detail::Ctx;
using detail::Out;

namespace detail {
void translate_vrrp_instance(Ctx& ctx, const Statement& s, const std::string& default_interface, Out& instances);
}

namespace {

// keepalived keywords whose absence changes neither load balancing nor failover, with the
// reason shown in the output. Anything keepalived knows and is not here or translated is an
// error (exit 1): the importer never guesses that a feature does not matter.
const std::map<std::string_view, std::string_view>& global_harmless() {
    static const std::map<std::string_view, std::string_view> m{
        {"notification_email", "lvsd sends no mail; use notify scripts"},
        {"notification_email_from", "lvsd sends no mail"},
        {"smtp_server", "lvsd sends no mail"},
        {"smtp_connect_timeout", "lvsd sends no mail"},
        {"smtp_helo_name", "lvsd sends no mail"},
        {"smtp_alert", "lvsd sends no mail"},
        {"smtp_alert_vrrp", "lvsd sends no mail"},
        {"smtp_alert_checker", "lvsd sends no mail"},
        {"email_faults", "lvsd sends no mail"},
        {"no_email_faults", "lvsd sends no mail"},
        {"max_auto_priority", "process scheduling; lvsd's VRRP timing does not depend on it"},
        {"min_auto_priority_delay", "process scheduling"},
        {"checker_no_swap", "memory locking of keepalived's checker process"},
        {"bfd_no_swap", "memory locking"},
        {"vrrp_priority", "process priority of keepalived's VRRP process"},
        {"checker_priority", "process priority of keepalived's checker process"},
        {"checker_rt_priority", "process priority"},
        {"checker_rlimit_rttime", "process limits"},
        {"vrrp_notify_fifo", "lvsd has no notify FIFO; notify scripts and lvsctl status carry the states"},
        {"vrrp_notify_fifo_script", "lvsd has no notify FIFO"},
        {"notify_fifo", "lvsd has no notify FIFO"},
        {"notify_fifo_script", "lvsd has no notify FIFO"},
        {"lvs_notify_fifo", "lvsd has no notify FIFO"},
        {"lvs_notify_fifo_script", "lvsd has no notify FIFO"},
        {"vrrp_notify_priority_changes", "priority changes are not sent to notify; lvsctl status shows them"},
        {"vrrp_skip_check_adv_addr", "lvsd does not compare the addresses listed in a peer's adverts"},
        {"vrrp_check_unicast_src", "lvsd accepts unicast adverts from any source on the interface"},
        {"vrrp_garp_lower_prio_repeat", "lvsd sends no gratuitous ARP on a lower-priority advert"},
        {"vrrp_garp_lower_prio_delay", "lvsd sends no gratuitous ARP on a lower-priority advert"},
        {"vrrp_higher_prio_send_advert", "a master that hears a higher priority becomes backup without a last advert"},
        {"vrrp_lower_prio_no_advert", "lvsd answers a lower-priority advert with its own"},
        {"dynamic_interfaces", "lvsd always follows interfaces that appear and disappear"},
        {"vrrp_strict", "lvsd adds no firewall rules that drop traffic to the VIPs (keepalived's no_accept); the "
                        "VIPs stay reachable"},
        {"vrrp_iptables", "lvsd adds no firewall rules"},
        {"vrrp_ipsets", "lvsd adds no firewall rules"},
        {"nftables", "lvsd adds no firewall rules"},
        {"lvs_flush", "lvsd leaves IPVS services it did not create alone"},
        {"enable_snmp_vrrp", "lvsd has no SNMP agent; see its Prometheus metrics"},
        {"enable_snmp_checker", "lvsd has no SNMP agent"},
        {"enable_snmp_rfc", "lvsd has no SNMP agent"},
        {"enable_snmp_rfcv2", "lvsd has no SNMP agent"},
        {"enable_snmp_rfcv3", "lvsd has no SNMP agent"},
        {"enable_traps", "lvsd has no SNMP agent"},
        {"snmp_socket", "lvsd has no SNMP agent"},
        {"enable_dbus", "lvsd has no D-Bus interface"},
        {"vrrp_netlink_cmd_rcv_bufs", "netlink buffer sizes are lvsd's own"},
        {"vrrp_netlink_monitor_rcv_bufs", "netlink buffer sizes are lvsd's own"},
        {"lvs_netlink_cmd_rcv_bufs", "netlink buffer sizes are lvsd's own"},
        {"lvs_netlink_monitor_rcv_bufs", "netlink buffer sizes are lvsd's own"},
        {"process_names", "process names"},
        {"vrrp_process_name", "process names"},
        {"checker_process_name", "process names"},
        {"use_pid_dir", "lvsd is one process"},
        {"linkbeat_use_polling", "lvsd follows links over rtnetlink"},
        {"vrrp_startup_delay", "lvsd starts VRRP at once"},
        {"lvs_timeouts", "lvsd leaves IPVS's connection timeouts as they are (set them with ipvsadm --set)"},
        {"vrrp_garp_extra_if", "lvsd sends gratuitous ARP on the VIPs' interfaces only"},
        // keepalived 2.2.7 no longer knows it and ignores it; it only named the host in mail.
        {"lvs_id", "keepalived 1.x's name for router_id; keepalived 2.2.7 ignores it, and router_id only names "
                   "this host in logs"},
    };
    return m;
}

void translate_global(Ctx& ctx, const Statement& s, Out& global, std::string& default_interface) {
    static constexpr std::array<std::string_view, 16> kKnown{
        "router_id", "script_user", "enable_script_security", "vrrp_version", "vrrp_garp_interval",
        "vrrp_gna_interval", "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
        "vrrp_garp_master_refresh_repeat", "lvs_sync_daemon", "default_interface", "vrrp_rt_priority",
        "vrrp_rlimit_rttime", "vrrp_rlimit_rtime", "vrrp_no_swap"};
    for (const auto& k : s.children) {
        if (k.keyword == "router_id") {
            if (auto v = ctx.word(k)) global.add(detail::with_comments(Out::string("router_id", *v), k));
        } else if (k.keyword == "script_user") {
            if (auto v = ctx.word(k)) {
                std::string user = *v;
                if (k.args.size() > 1) user += " " + k.args[1];
                global.add(detail::with_comments(Out::string("script_user", user), k));
            }
        } else if (k.keyword == "enable_script_security") {
            global.add(detail::with_comments(Out::literal("enable_script_security", "true"), k));
        } else if (k.keyword == "vrrp_version") {
            if (auto v = ctx.integer(k, 2, 3)) {
                ctx.vrrp_version = static_cast<int>(*v);
                global.add(detail::with_comments(Out::literal("vrrp_version", std::to_string(*v)), k));
            }
        } else if (k.keyword == "vrrp_garp_interval" || k.keyword == "vrrp_gna_interval") {
            if (auto v = ctx.seconds(k, 0, 10)) global.add(detail::with_comments(Out::literal(k.keyword, *v), k));
        } else if (k.keyword == "vrrp_garp_master_delay") {
            if (auto v = ctx.seconds(k, 0, 3600)) global.add(detail::with_comments(Out::literal(k.keyword, *v), k));
        } else if (k.keyword == "vrrp_garp_master_refresh") {
            if (auto v = ctx.seconds(k, 0, 86400)) global.add(detail::with_comments(Out::literal(k.keyword, *v), k));
        } else if (k.keyword == "vrrp_garp_master_repeat" || k.keyword == "vrrp_garp_master_refresh_repeat") {
            if (auto v = ctx.integer(k, 1, 255)) global.add(detail::with_comments(Out::literal(k.keyword, std::to_string(*v)), k));
        } else if (k.keyword == "vrrp_rt_priority") {
            // keepalived: SCHED_RR for its VRRP process; lvsd: for its VRRP thread.
            if (auto v = ctx.integer(k, 1, 99))
                global.add(detail::with_comments(Out::literal("vrrp_rt_priority", std::to_string(*v)), k));
        } else if (k.keyword == "vrrp_rlimit_rttime" || k.keyword == "vrrp_rlimit_rtime") {
            // vrrp_rlimit_rtime is keepalived's older spelling of the same key. lvsd wants at
            // least 1 ms: the kernel counts this limit in scheduler ticks anyway.
            if (auto v = ctx.integer(k, 1000, 10000000))
                global.add(detail::with_comments(Out::literal("vrrp_rlimit_rttime", std::to_string(*v)), k));
        } else if (k.keyword == "vrrp_no_swap") {
            global.add(detail::with_comments(Out::literal("vrrp_no_swap", "true"), k));
        } else if (k.keyword == "vrrp_mcast_group4" || k.keyword == "vrrp_mcast_group6") {
            // lvsd uses RFC 5798's groups; another group would leave the peer deaf to lvsd.
            auto v = ctx.word(k);
            if (v && *v != (k.keyword == "vrrp_mcast_group4" ? "224.0.0.18" : "ff02::12"))
                ctx.error(k, fmt::format("{} {}: lvsd sends adverts to RFC 5798's group only", k.keyword, *v));
            else if (v) ctx.left_out(global, k, "RFC 5798's group, lvsd's too");
        } else if (k.keyword == "default_interface") {
            if (auto v = ctx.word(k)) default_interface = *v;  // applied to instances without an interface
        } else if (k.keyword == "lvs_sync_daemon") {
            // lvs_sync_daemon INTERFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]
            if (k.args.size() < 2) {
                ctx.error(k, "lvs_sync_daemon needs an interface and a VRRP instance name");
                continue;
            }
            Out sync = Out::group("lvs_sync_daemon");
            sync.add(Out::string("interface", k.args[0]));
            sync.add(Out::string("instance", k.args[1]));
            for (std::size_t i = 2; i + 1 < k.args.size(); i += 2) {
                if (k.args[i] == "id") {
                    if (auto v = ctx.integer(k, 0, 255, i + 1)) sync.add(Out::literal("syncid", std::to_string(*v)));
                } else {
                    ctx.error(k, fmt::format("lvs_sync_daemon: '{}' is not supported by lvsd (it uses the kernel's "
                                             "defaults for maxlen, port, ttl and group)",
                                             k.args[i]));
                }
            }
            global.add(detail::with_comments(std::move(sync), k));
        } else if (auto h = global_harmless().find(k.keyword); h != global_harmless().end()) {
            if (k.keyword == "vrrp_strict") ctx.strict = true;
            ctx.left_out(global, k, h->second);
        } else {
            ctx.unexpected(k, "global_defs", kKnown);
        }
    }
}

// vrrp_script NAME { script; interval; timeout; weight; rise; fall; user; init_fail }
void translate_vrrp_script(Ctx& ctx, const Statement& s, Out& scripts) {
    static constexpr std::array<std::string_view, 8> kKnown{"script", "interval", "timeout", "weight",
                                                            "rise",   "fall",     "user",    "init_fail"};
    if (s.args.empty()) return ctx.error(s, "vrrp_script needs a name");
    Out e = detail::with_comments(Out::group(), s);
    e.add(Out::string("name", s.args[0]));
    int weight = 0;
    for (const auto& k : s.children) {
        if (k.keyword == "script") {
            if (auto v = ctx.command(k, 0)) e.add(detail::with_comments(Out::string("script", *v), k));
        } else if (k.keyword == "interval" || k.keyword == "timeout") {
            if (auto v = ctx.seconds(k, 0.01, 3600)) e.add(detail::with_comments(Out::literal(k.keyword, *v), k));
        } else if (k.keyword == "weight") {
            if (k.args.size() > 1 && k.args[1] == "reverse") {
                ctx.error(k, "weight ... reverse: lvsd has no reversed script weights");
                continue;
            }
            if (auto v = ctx.integer(k, -253, 253)) {
                weight = static_cast<int>(*v);
                e.add(detail::with_comments(Out::literal("weight", std::to_string(*v)), k));
            }
        } else if (k.keyword == "rise" || k.keyword == "fall") {
            if (auto v = ctx.integer(k, 1, 1000)) e.add(detail::with_comments(Out::literal(k.keyword, std::to_string(*v)), k));
        } else if (k.keyword == "user") {
            if (auto v = ctx.word(k))
                e.add(detail::with_comments(Out::string("user", k.args.size() > 1 ? *v + " " + k.args[1] : *v), k));
        } else if (k.keyword == "init_fail") {
            e.add(detail::with_comments(Out::literal("init_fail", "true"), k));
        } else {
            ctx.unexpected(k, "vrrp_script", kKnown);
        }
    }
    ctx.script_weights[s.args[0]] = weight;
    scripts.add(std::move(e));
}

// vrrp_track_file NAME { file PATH; weight N; init_file [N] [overwrite] }
void translate_track_file(Ctx& ctx, const Statement& s, Out& files) {
    static constexpr std::array<std::string_view, 3> kKnown{"file", "weight", "init_file"};
    if (s.args.empty()) return ctx.error(s, "vrrp_track_file needs a name");
    Out e = detail::with_comments(Out::group(), s);
    e.add(Out::string("name", s.args[0]));
    for (const auto& k : s.children) {
        if (k.keyword == "file") {
            if (auto v = ctx.word(k)) e.add(detail::with_comments(Out::string("file", *v), k));
        } else if (k.keyword == "weight") {
            if (k.args.size() > 1 && k.args[1] == "reverse") ctx.error(k, "weight ... reverse: lvsd has no reversed weights");
            else if (auto v = ctx.integer(k, -254, 254)) e.add(detail::with_comments(Out::literal("weight", std::to_string(*v)), k));
        } else if (k.keyword == "init_file") {
            std::size_t i = 0;
            long value = 0;  // keepalived's default when no number is given
            if (i < k.args.size() && k.args[i] != "overwrite") {
                auto v = ctx.integer(k, -2147483647, 2147483647, i++);
                if (!v) continue;
                value = *v;
            }
            e.add(detail::with_comments(Out::literal("init_file", std::to_string(value)), k));
            if (i < k.args.size() && k.args[i] == "overwrite") e.add(Out::literal("init_overwrite", "true"));
        } else {
            ctx.unexpected(k, "vrrp_track_file", kKnown);
        }
    }
    files.add(std::move(e));
}

// vrrp_track_process NAME { process NAME [ARGS]; param_match; weight; quorum; quorum_max; delay }
void translate_track_process(Ctx& ctx, const Statement& s, Out& processes) {
    static constexpr std::array<std::string_view, 6> kKnown{"process", "param_match", "weight", "quorum", "quorum_max", "delay"};
    if (s.args.empty()) return ctx.error(s, "vrrp_track_process needs a name");
    Out e = detail::with_comments(Out::group(), s);
    e.add(Out::string("name", s.args[0]));
    for (const auto& k : s.children) {
        if (k.keyword == "process") {
            if (auto v = ctx.rest_of_line(k)) e.add(detail::with_comments(Out::string("process", *v), k));
        } else if (k.keyword == "param_match") {
            if (auto v = ctx.word(k)) e.add(detail::with_comments(Out::string("param_match", *v), k));
        } else if (k.keyword == "weight") {
            if (k.args.size() > 1 && k.args[1] == "reverse") ctx.error(k, "weight ... reverse: lvsd has no reversed weights");
            else if (auto v = ctx.integer(k, -254, 254)) e.add(detail::with_comments(Out::literal("weight", std::to_string(*v)), k));
        } else if (k.keyword == "quorum" || k.keyword == "quorum_max") {
            if (auto v = ctx.integer(k, 1, 65535)) e.add(detail::with_comments(Out::literal(k.keyword, std::to_string(*v)), k));
        } else if (k.keyword == "delay") {
            if (auto v = ctx.seconds(k, 0, 3600)) e.add(detail::with_comments(Out::literal("delay", *v), k));
        } else if (k.keyword == "terminate_delay" || k.keyword == "fork_delay") {
            ctx.left_out(e, k, "lvsd sees a process start and exit at once (pidfd), without these delays");
        } else {
            ctx.unexpected(k, "vrrp_track_process", kKnown);
        }
    }
    processes.add(std::move(e));
}

// `track_script { NAME [weight N] }` (instances and sync groups).
Out track_list(Ctx& ctx, const Statement& s, std::string_view key, long limit) {
    Out list = detail::with_comments(Out::list(std::string(key)), s);
    for (const auto& t : s.children) {
        if (key == "track_script" && !ctx.script_weights.count(t.keyword)) {
            ctx.error(t, fmt::format("track_script '{}': no vrrp_script of that name is defined above this line; "
                                     "keepalived resolves the name as it reads it and ignores the entry (it logs \"track "
                                     "script {} not found\"), so the instance does not track it",
                                     t.keyword, t.keyword));
            continue;
        }
        if (t.args.empty()) {
            list.add(detail::with_comments(Out::string({}, t.keyword), t));
            continue;
        }
        if (t.args[0] != "weight" || t.args.size() < 2) {
            ctx.error(t, fmt::format("{} entry '{}': expected NAME [weight N]", key, detail::line_of(t)));
            continue;
        }
        if (t.args.size() > 2 && t.args[2] == "reverse") {
            ctx.error(t, "weight ... reverse: lvsd has no reversed weights");
            continue;
        }
        auto w = ctx.integer(t, -limit, limit, 1);
        if (!w) continue;
        Out g = detail::with_comments(Out::group(), t);
        g.add(Out::string(key == "track_interface" ? "interface" : "name", t.keyword));
        g.add(Out::literal("weight", std::to_string(*w)));
        list.add(std::move(g));
    }
    return list;
}

void translate_sync_group(Ctx& ctx, const Statement& s, Out& groups) {
    static constexpr std::array<std::string_view, 8> kKnown{"group",        "notify_master", "notify_backup", "notify_fault",
                                                            "notify_stop",  "notify",        "track_script",  "smtp_alert"};
    if (s.args.empty()) return ctx.error(s, "vrrp_sync_group needs a name");
    Out e = detail::with_comments(Out::group(), s);
    e.add(Out::string("name", s.args[0]));
    for (const auto& k : s.children) {
        if (k.keyword == "group") {
            Out members = detail::with_comments(Out::array("group"), k);
            for (const auto& m : k.children) {
                members.add(Out::string({}, m.keyword));
                for (const auto& a : m.args) members.add(Out::string({}, a));  // several names on one line
            }
            e.add(std::move(members));
        } else if (k.keyword.starts_with("notify")) {
            if (k.keyword != "notify" && k.keyword != "notify_master" && k.keyword != "notify_backup" &&
                k.keyword != "notify_fault" && k.keyword != "notify_stop")
                ctx.unexpected(k, "vrrp_sync_group", kKnown);
            else if (auto v = ctx.command(k, 2))
                e.add(detail::with_comments(Out::string(k.keyword, *v), k));
        } else if (k.keyword == "track_script") {
            e.add(track_list(ctx, k, "track_script", 253));
        } else if (k.keyword == "smtp_alert") {
            ctx.left_out(e, k, "lvsd sends no mail");
        } else if (k.keyword == "global_tracking" || k.keyword == "sync_group_tracking_weight") {
            ctx.left_out(e, k, "lvsd's members each track what they list");
        } else {
            ctx.unexpected(k, "vrrp_sync_group", kKnown);
        }
    }
    groups.add(std::move(e));
}

// What keepalived decides once everything is read, written out:
//   - the members of a sync group start as BACKUP unless every one owns its addresses
//     (priority 255);
//   - a vrrp_script that nothing tracks is dropped ("script X is not used") and never runs.
void follow_keepalived_start(Ctx& ctx, Out& instances, const Out& sync_groups, Out& scripts) {
    for (const auto& g : sync_groups.items) {
        std::vector<Out*> members;
        for (const auto& o : g.items)
            if (o.key == "group")
                for (const auto& m : o.items)
                    for (auto& vi : instances.items)
                        if (detail::entry_name(vi) == detail::unquoted(m.scalar)) members.push_back(&vi);
        const bool all_owners = std::all_of(members.begin(), members.end(), [](Out* vi) {
            const Out* p = vi->find("priority");
            return p && p->scalar == "255";
        });
        if (all_owners) continue;
        for (Out* vi : members)
            if (Out* st = vi->find("state"); st && st->scalar == "\"MASTER\"") {
                st->scalar = "\"BACKUP\"";
                ctx.result.warnings.push_back({st->src_file, st->src_line,
                                               fmt::format("state MASTER: keepalived starts the members of sync group {} as "
                                                           "BACKUP (not all of them own their addresses), and so does the "
                                                           "translation",
                                                           detail::entry_name(g))});
            }
    }
    std::set<std::string> tracked;
    auto collect = [&](const Out& holder) {
        if (const Out* t = holder.find("track_script"))
            for (const auto& e : t->items) tracked.insert(detail::entry_name(e));
    };
    for (const auto& vi : instances.items) collect(vi);
    for (const auto& g : sync_groups.items) collect(g);
    std::erase_if(scripts.items, [&](const Out& s) {
        if (s.kind == Out::Kind::Comment || tracked.count(detail::entry_name(s))) return false;
        ctx.result.warnings.push_back({s.src_file, s.src_line,
                                       fmt::format("vrrp_script {}: no instance tracks it; keepalived does not run it, and "
                                                   "the translation leaves it out",
                                                   detail::entry_name(s))});
        return true;
    });
}

}  // namespace

namespace detail {
Out translate_track_list(Ctx& ctx, const Statement& s, std::string_view key, long limit) {
    return track_list(ctx, s, key, limit);
}
}  // namespace detail

Translation translate(const ReadResult& read, const std::string& source) {
    Ctx ctx;
    ctx.result.errors = read.errors;
    ctx.result.warnings = read.warnings;
    static constexpr std::array<std::string_view, 9> kTop{
        "global_defs",         "vrrp_script",     "vrrp_track_file",      "vrrp_track_process", "vrrp_instance",
        "vrrp_sync_group",     "virtual_server",  "virtual_server_group", "static_ipaddress"};
    Out global = Out::group("global_defs"), scripts = Out::list("vrrp_scripts"), files = Out::list("vrrp_track_files"),
        processes = Out::list("vrrp_track_processes"), instances = Out::list("vrrp_instances"),
        sync_groups = Out::list("vrrp_sync_groups"), vs_groups = Out::list("virtual_server_groups"),
        servers = Out::list("virtual_servers");
    std::string default_interface = "eth0";  // keepalived's default_interface
    for (const auto& s : read.statements)
        if (s.keyword == "global_defs") translate_global(ctx, s, global, default_interface);
    for (const auto& s : read.statements) {
        if (s.keyword == "global_defs") continue;
        if (s.keyword == "vrrp_script") translate_vrrp_script(ctx, s, scripts);
        else if (s.keyword == "vrrp_track_file") translate_track_file(ctx, s, files);
        else if (s.keyword == "vrrp_track_process") translate_track_process(ctx, s, processes);
        else if (s.keyword == "vrrp_instance") detail::translate_vrrp_instance(ctx, s, default_interface, instances);
        else if (s.keyword == "vrrp_sync_group") translate_sync_group(ctx, s, sync_groups);
        else if (s.keyword == "virtual_server") detail::translate_virtual_server(ctx, s, servers);
        else if (s.keyword == "virtual_server_group") detail::translate_virtual_server_group(ctx, s, vs_groups);
        else if (s.keyword == "static_ipaddress" || s.keyword == "static_routes" || s.keyword == "static_rules")
            ctx.unexpected(s, "the top level", kTop);
        else ctx.unexpected(s, "the top level", kTop);
    }
    follow_keepalived_start(ctx, instances, sync_groups, scripts);
    if (ctx.sync_daemon && !global.has("lvs_sync_daemon")) {
        Out sync = Out::group("lvs_sync_daemon");
        sync.comments.push_back(fmt::format("from lvs_sync_daemon_interface in vrrp_instance {} ({}:{})",
                                            ctx.sync_daemon->instance, ctx.sync_daemon->file, ctx.sync_daemon->line));
        sync.src_file = ctx.sync_daemon->file;
        sync.src_line = ctx.sync_daemon->line;
        sync.add(Out::string("interface", ctx.sync_daemon->interface));
        sync.add(Out::string("instance", ctx.sync_daemon->instance));
        global.add(std::move(sync));
    }
    std::vector<Out> top;
    for (auto* o : {&global, &scripts, &files, &processes, &instances, &sync_groups, &vs_groups, &servers})
        if (!o->items.empty()) top.push_back(std::move(*o));
    std::vector<std::string> header{
        fmt::format("lvsd configuration translated from {} by lvsd --from-keepalived.", source),
        "Check it on the balancer that will run it: lvsd -t -f FILE (the scripts it names must exist there).",
    };
    // The original's own header (comments above its first statement that attach to none)
    // stays a header: it usually says what the file is for.
    bool first = true;
    for (const auto& c : read.unattached_comments) {
        if (!read.statements.empty() && (c.file != read.statements.front().file || c.line > read.statements.front().line))
            break;
        if (first) header.emplace_back();
        first = false;
        header.push_back(c.text);
    }
    auto written = detail::write_config(top, header);
    ctx.result.text = std::move(written.text);
    if (ctx.result.errors.empty()) {
        // lvsd's own rules, reported at the keepalived line the offending setting came from.
        const std::string name = "translation";
        LoadResult loaded = load_string(ctx.result.text, name, LoadOptions{.host_checks = false});
        for (const auto& d : loaded.diagnostics()) {
            std::pair<std::string, int> at{source, 0};
            if (d.line > 0 && static_cast<std::size_t>(d.line) <= written.source_of_line.size() &&
                written.source_of_line[d.line - 1].second > 0)
                at = written.source_of_line[d.line - 1];
            ctx.result.errors.push_back({at.first, at.second, fmt::format("lvsd refuses the translation: {}", d.message)});
        }
    }
    auto by_place = [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); };
    std::stable_sort(ctx.result.errors.begin(), ctx.result.errors.end(), by_place);
    std::stable_sort(ctx.result.warnings.begin(), ctx.result.warnings.end(), by_place);
    return std::move(ctx.result);
}

Translation translate_file(const std::string& path, const ReadOptions& options) {
    ReadResult read = read_file(path, options);
    if (!read.ok()) {
        Translation t;
        t.errors = std::move(read.errors);
        t.warnings = std::move(read.warnings);
        return t;
    }
    return translate(read, path);
}

}  // namespace lvsd::config::keepalived
