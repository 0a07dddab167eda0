// global_defs.
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

using namespace std::chrono_literals;

// Scale-out: where announced VIPs' host routes go (config::Announce).
void Loader::read_announce(Group& g, Announce& a) {
    a.where = g.where();
    // 253-255 are the kernel's default, main and local tables (rtnetlink(7), RT_TABLE_*):
    // routes there are the host's own, and lvsd deletes what it does not want in its table.
    if (auto v = g.integer("announce_table", 1, 0xfffffffeLL)) {
        if (*v >= 253 && *v <= 255)
            g.error(*g.find("announce_table"),
                    fmt::format("announce_table = {} is the kernel's {} table; give a table of lvsd's own (e.g. 100)", *v,
                                *v == 253 ? "default" : *v == 254 ? "main" : "local"));
        else a.table = static_cast<uint32_t>(*v);
    }
    // 0-4 are the kernel's own (RTPROT_UNSPEC, REDIRECT, KERNEL, BOOT, STATIC). 12 is
    // RTPROT_BIRD: BIRD takes such routes for its own exports and never learns them.
    if (auto v = g.integer("announce_protocol", 5, 255)) {
        if (*v == 12)
            g.error(*g.find("announce_protocol"),
                    "announce_protocol = 12 is BIRD's own (RTPROT_BIRD): BIRD would take lvsd's routes for its own exports "
                    "and not learn them; give another number (e.g. 250)");
        else a.protocol = static_cast<uint8_t>(*v);
    }
    if (auto v = g.interface("announce_interface")) a.interface = *v;
    if (auto v = g.string("bird_socket")) {
        if (v->empty() || v->front() != '/')
            g.error(*g.find("bird_socket"), fmt::format("bird_socket = \"{}\" must be an absolute path", *v));
        else if (v->size() > 107)
            g.error(*g.find("bird_socket"), fmt::format("bird_socket is {} bytes long; a unix socket path has at most 107", v->size()));
        else a.bird_socket = *v;
    }
}

void Loader::read_global(const lc::Setting& s, Config& c) {
    Group g(*this, s, "global_defs", detail::keys_of("global_defs"));
    Global& gl = c.global;
    gl.where = g.where();
    if (auto v = g.string("router_id")) {
        if (v->empty() || v->size() > 64 || std::any_of(v->begin(), v->end(), [](char ch) { return !std::isgraph(static_cast<unsigned char>(ch)); }))
            g.error(*g.find("router_id"), fmt::format("router_id = \"{}\" must be 1-64 printable characters without blanks", *v));
        else gl.router_id = *v;
    }
    if (auto v = g.choice("log_level", {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"})) {
        static const std::map<std::string, LogLevel> levels = {
            {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn},
            {"warning", LogLevel::Warn},
            {"error", LogLevel::Error}, {"critical", LogLevel::Critical}, {"off", LogLevel::Off}};
        gl.log_level = levels.at(*v);
    }
    if (auto v = g.string("control_socket")) {
        if (v->empty() || v->front() != '/')
            g.error(*g.find("control_socket"), fmt::format("control_socket = \"{}\" must be an absolute path", *v));
        else if (v->size() > 107)
            g.error(*g.find("control_socket"), fmt::format("control_socket is {} bytes long; a unix socket path has at most 107", v->size()));
        else gl.control_socket = *v;
    }
    if (auto v = g.seconds("reconcile_interval", 1s, 3600s)) gl.reconcile_interval = *v;
    // keepalived's global VRRP defaults (the instances read them below).
    auto& d = gl.vrrp;
    if (auto v = g.integer("vrrp_version", 2, 3)) d.version = static_cast<uint8_t>(*v);
    if (auto v = g.seconds("vrrp_garp_interval", 0ms, 10s)) d.garp_interval = *v;
    if (auto v = g.seconds("vrrp_gna_interval", 0ms, 10s)) d.gna_interval = *v;
    if (auto v = g.seconds("vrrp_garp_master_delay", 0ms, 3600s)) d.garp_master_delay = *v;
    if (auto v = g.integer("vrrp_garp_master_repeat", 1, 255)) d.garp_master_repeat = static_cast<uint32_t>(*v);
    if (auto v = g.seconds("vrrp_garp_master_refresh", 0ms, 86400s)) d.garp_master_refresh = *v;
    if (auto v = g.integer("vrrp_garp_master_refresh_repeat", 1, 255))
        d.garp_master_refresh_repeat = static_cast<uint32_t>(*v);
    // The VRRP thread's scheduling (keepalived's keys; 0 turns real time off).
    if (auto v = g.integer("vrrp_rt_priority", 0, 99)) gl.vrrp_scheduling.rt_priority = static_cast<int>(*v);
    if (auto v = g.integer("vrrp_rlimit_rttime", 1000, 10000000))
        gl.vrrp_scheduling.rlimit_rttime = std::chrono::microseconds(*v);
    if (auto v = g.boolean("vrrp_no_swap")) gl.vrrp_scheduling.no_swap = *v;
    if (auto v = g.string("script_user")) {
        auto words = detail::split_command(*v).value_or(std::vector<std::string>{});
        if (words.empty() || words.size() > 2 ||
            (host_checks() && (!::getpwnam(words[0].c_str()) || (words.size() == 2 && !::getgrnam(words[1].c_str())))))
            g.error(*g.find("script_user"),
                    fmt::format("script_user = \"{}\": give an existing user and optionally an existing group", *v));
        else {
            d.script_user = words[0];
            if (words.size() == 2) d.script_group = words[1];
        }
    }
    // lvsd always applies keepalived's script security rules.
    if (auto v = g.boolean("enable_script_security"); v && !*v)
        g.error(*g.find("enable_script_security"),
                "enable_script_security = false: lvsd always refuses scripts that a user other than root can change");
    if (auto v = g.string("metrics_listen")) {
        // "192.0.2.1:9100" or "[2001:db8::1]:9100"
        std::optional<Endpoint> ep;
        std::string_view t = *v;
        std::string_view host, port;
        if (t.starts_with('[')) {
            auto close = t.find("]:");
            if (close != std::string_view::npos) host = t.substr(1, close - 1), port = t.substr(close + 2);
        } else if (auto colon = t.rfind(':'); colon != std::string_view::npos && t.find(':') == colon) {
            host = t.substr(0, colon), port = t.substr(colon + 1);
        }
        auto a = parse_address(host);
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (a && ec == std::errc{} && ptr == port.data() + port.size() && !port.empty() && p >= 1 && p <= 65535)
            ep = Endpoint{*a, static_cast<uint16_t>(p)};
        if (!ep)
            g.error(*g.find("metrics_listen"),
                    fmt::format("metrics_listen = \"{}\" is not ADDRESS:PORT (e.g. \"127.0.0.1:9100\" or \"[::1]:9100\")", *v));
        gl.metrics_listen = ep;
        gl.metrics_listen_where = where(*g.find("metrics_listen"));
    }
    read_announce(g, gl.announce);
    if (auto* sd = g.find("lvs_sync_daemon")) {
        if (!sd->isGroup()) {
            g.wrong_type(*sd, "lvs_sync_daemon", "a group { interface = ...; instance = ...; }");
        } else {
            Group sg(*this, *sd, "global_defs.lvs_sync_daemon", detail::keys_of("lvs_sync_daemon"));
            SyncDaemon d;
            d.where = sg.where();
            bool ok = true;
            if (auto v = sg.interface("interface")) {
                d.interface = *v;
            } else {
                ok = false;
                if (!sg.find("interface")) sg.missing("interface");
            }
            if (auto v = sg.string("instance")) {
                d.instance = *v;
            } else {
                ok = false;
                if (!sg.find("instance")) sg.missing("instance", "(the vrrp instance whose state starts master or backup sync)");
            }
            if (auto v = sg.integer("syncid", 0, 255)) d.syncid = static_cast<uint8_t>(*v);
            else if (sg.find("syncid")) ok = false;
            else syncid_from_instance_ = true;
            if (ok) gl.lvs_sync_daemon = d;
        }
    }
}

}  // namespace lvsd::config::detail
