// keepalived's vrrp_instance -> an element of lvsd's vrrp_instances.
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "common/net.hpp"
#include "config/detail/keepalived_translate.hpp"

namespace lvsd::config::keepalived::detail {

namespace {

const std::map<std::string_view, std::string_view>& instance_harmless() {
    static const std::map<std::string_view, std::string_view> m{
        {"smtp_alert", "lvsd sends no mail"},
        {"debug", "lvsd's log level is global (global_defs.log_level)"},
        {"preempt", "preemption is lvsd's default too"},
        {"accept", "lvsd's master accepts traffic to the VIPs (keepalived's default outside strict mode)"},
        {"native_ipv6", "an IPv6 instance is VRRPv3 in lvsd too"},
        {"skip_check_adv_addr", "lvsd does not compare the addresses listed in a peer's adverts"},
        {"check_unicast_src", "lvsd accepts unicast adverts from any source on the interface"},
        {"garp_lower_prio_repeat", "lvsd sends no gratuitous ARP on a lower-priority advert"},
        {"garp_lower_prio_delay", "lvsd sends no gratuitous ARP on a lower-priority advert"},
        {"lower_prio_no_advert", "lvsd answers a lower-priority advert with its own"},
        {"higher_prio_send_advert", "a master that hears a higher priority becomes backup without a last advert"},
        {"notify_priority_changes", "priority changes are not sent to notify; lvsctl status shows them"},
        {"strict_mode", "lvsd adds no firewall rules that drop traffic to the VIPs; they stay reachable"},
        {"kernel_rx_buf_size", "socket buffer sizes are lvsd's own"},
        {"linkbeat_use_polling", "lvsd follows links over rtnetlink"},
    };
    return m;
}

// keepalived reads unicast_src_ip and unicast_peer entries up to a '/' ("192.0.2.1/24" is
// 192.0.2.1); the translation keeps the address and says so.
std::optional<std::string> unicast_address(Ctx& ctx, const Statement& s, const std::string& text) {
    const std::string address = text.substr(0, text.find('/'));
    if (!parse_address(address)) {
        ctx.error(s, fmt::format("'{}' is not an address", text));
        return std::nullopt;
    }
    if (address != text) ctx.warn(s, fmt::format("'{}': keepalived ignores the prefix length, and so does the translation", text));
    return address;
}

// "ADDR[/LEN] [dev IF] [label L] [brd B] [scope S] ..." -> lvsd's "ADDR/LEN dev IF label L".
std::optional<std::string> vip_entry(Ctx& ctx, const Statement& e, Out& into) {
    std::string text = e.keyword;
    std::string prefix = e.keyword;
    const auto slash = prefix.find('/');
    if (!parse_address(prefix.substr(0, slash))) {
        ctx.error(e, fmt::format("virtual_ipaddress '{}' is not an address", e.keyword));
        return std::nullopt;
    }
    for (std::size_t i = 0; i < e.args.size(); ++i) {
        const std::string& w = e.args[i];
        const bool has_value = i + 1 < e.args.size();
        if ((w == "dev" || w == "label") && has_value) {
            text += " " + w + " " + e.args[++i];
        } else if ((w == "brd" || w == "broadcast" || w == "scope" || w == "preferred_lft") && has_value) {
            ctx.left_out(into, e, fmt::format("'{} {}': lvsd adds the address with the kernel's defaults", w, e.args[i + 1]));
            ++i;
        } else if (w == "no_track" || w == "home" || w == "-nodad" || w == "nodad" || w == "noprefixroute") {
            ctx.left_out(into, e, fmt::format("'{}' is not supported by lvsd", w));
        } else {
            ctx.error(e, fmt::format("virtual_ipaddress '{}': '{}' is not an option lvsd knows", e.keyword, w));
            return std::nullopt;
        }
    }
    return text;
}

}  // namespace

void translate_vrrp_instance(Ctx& ctx, const Statement& s, const std::string& default_interface, Out& instances) {
    static constexpr std::array<std::string_view, 30> kKnown{
        "state", "interface", "virtual_router_id", "priority", "advert_int", "version", "nopreempt", "preempt_delay",
        "unicast_src_ip", "mcast_src_ip", "unicast_peer", "virtual_ipaddress", "track_interface", "track_script",
        "track_process", "track_file", "authentication", "notify_master", "notify_backup", "notify_fault",
        "notify_stop", "notify", "garp_master_delay", "garp_master_repeat", "garp_master_refresh",
        "garp_master_refresh_repeat", "garp_interval", "gna_interval", "use_vmac", "vmac_xmit_base"};
    if (s.args.empty()) return ctx.error(s, "vrrp_instance needs a name");
    Out e = with_comments(Out::group(), s);
    e.add(Out::string("name", s.args[0]));
    bool has_interface = false;
    bool instance_strict = false;
    for (const auto& k : s.children) {
        const std::string& kw = k.keyword;
        if (kw == "state") {
            auto v = ctx.word(k);
            if (v && *v != "MASTER" && *v != "BACKUP") ctx.error(k, fmt::format("state '{}': MASTER or BACKUP", *v));
            else if (v) e.add(with_comments(Out::string("state", *v), k));
        } else if (kw == "interface") {
            if (auto v = ctx.word(k)) e.add(with_comments(Out::string("interface", *v), k)), has_interface = true;
        } else if (kw == "virtual_router_id") {
            if (auto v = ctx.integer(k, 1, 255)) e.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "priority") {
            if (auto v = ctx.integer(k, 1, 255)) e.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "advert_int") {
            if (auto v = ctx.seconds(k, 0.01, 255)) e.add(with_comments(Out::literal(kw, *v), k));
        } else if (kw == "version") {
            if (auto v = ctx.integer(k, 2, 3)) e.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "nopreempt") {
            e.add(with_comments(Out::literal("nopreempt", "true"), k));
        } else if (kw == "preempt_delay") {
            if (auto v = ctx.seconds(k, 0, 1000)) e.add(with_comments(Out::literal(kw, *v), k));
        } else if (kw == "unicast_src_ip" || kw == "mcast_src_ip") {
            // keepalived's two names for one setting: the source address of the adverts.
            if (auto v = ctx.word(k))
                if (auto a = unicast_address(ctx, k, *v)) e.add(with_comments(Out::string("unicast_src_ip", *a), k));
        } else if (kw == "unicast_peer") {
            Out peers = with_comments(Out::array("unicast_peer"), k);
            for (const auto& p : k.children) {
                if (auto a = unicast_address(ctx, p, p.keyword)) peers.add(Out::string({}, *a));
                if (!p.args.empty()) ctx.left_out(e, p, "lvsd checks no TTL range on unicast adverts");
            }
            e.add(std::move(peers));
        } else if (kw == "virtual_ipaddress") {
            Out vips = with_comments(Out::list("virtual_ipaddress"), k);
            for (const auto& v : k.children)
                if (auto text = vip_entry(ctx, v, vips)) vips.add(with_comments(Out::string({}, *text), v));
            e.add(std::move(vips));
        } else if (kw == "virtual_ipaddress_excluded") {
            if (!k.children.empty())
                ctx.error(k, "virtual_ipaddress_excluded: lvsd has no addresses that move with the instance but are "
                             "left out of its adverts; list them in virtual_ipaddress on both balancers instead");
        } else if (kw == "track_interface") {
            e.add(translate_track_list(ctx, k, "track_interface", 253));
        } else if (kw == "track_script") {
            e.add(translate_track_list(ctx, k, "track_script", 253));
        } else if (kw == "track_process" || kw == "track_file") {
            e.add(translate_track_list(ctx, k, kw, 254));
        } else if (kw == "authentication") {
            Out auth = with_comments(Out::group("authentication"), k);
            for (const auto& a : k.children) {
                if (a.keyword == "auth_type") {
                    auto v = ctx.word(a);
                    // AH: lvsd speaks keepalived's IPsec AH (vrrp/ah.hpp); the loader refuses
                    // it where keepalived has none (IPv6), and a VRRPv3 instance loses the
                    // whole group below, as keepalived ignores it.
                    if (v && *v != "PASS" && *v != "AH")
                        ctx.error(a, fmt::format("auth_type '{}' is not PASS or AH: keepalived ignores it and sends adverts "
                                                 "without authentication, which a peer set up with PASS drops", *v));
                    else if (v) auth.add(with_comments(Out::string("auth_type", *v), a));
                } else if (a.keyword == "auth_pass") {
                    auto v = ctx.word(a);
                    if (v && v->size() > 8) {
                        ctx.warn(a, "auth_pass is longer than 8 characters: keepalived sends only the first 8, and so "
                                    "does the translation");
                        *v = v->substr(0, 8);
                    }
                    if (v) auth.add(with_comments(Out::string("auth_pass", *v), a));
                } else {
                    static constexpr std::array<std::string_view, 2> kAuth{"auth_type", "auth_pass"};
                    ctx.unexpected(a, "authentication", kAuth);
                }
            }
            e.add(std::move(auth));
        } else if (kw == "notify_master" || kw == "notify_backup" || kw == "notify_fault" || kw == "notify_stop" ||
                   kw == "notify") {
            if (auto v = ctx.command(k, 2)) e.add(with_comments(Out::string(kw, *v), k));
        } else if (kw == "garp_master_delay" || kw == "garp_master_refresh") {
            if (auto v = ctx.seconds(k, 0, kw == "garp_master_delay" ? 3600 : 86400)) e.add(with_comments(Out::literal(kw, *v), k));
        } else if (kw == "garp_master_repeat" || kw == "garp_master_refresh_repeat") {
            if (auto v = ctx.integer(k, 1, 255)) e.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "garp_interval" || kw == "gna_interval") {
            if (auto v = ctx.seconds(k, 0, 10)) e.add(with_comments(Out::literal("garp_interval", *v), k));
        } else if (kw == "use_vmac") {
            e.add(with_comments(k.args.empty() ? Out::literal("use_vmac", "true") : Out::string("use_vmac", k.args[0]), k));
        } else if (kw == "vmac_xmit_base") {
            e.add(with_comments(Out::literal("vmac_xmit_base", "true"), k));
        } else if (kw == "lvs_sync_daemon_interface") {
            // keepalived 2.2.7 still reads it (deprecated): the IPVS sync daemon on that
            // interface, following this instance. lvsd has that as global_defs.lvs_sync_daemon.
            if (auto v = ctx.word(k)) ctx.sync_daemon = {*v, s.args[0], k.file, k.line};
        } else if (kw == "dont_track_primary") {
            e.add(with_comments(Out::literal("dont_track_primary", "true"), k));
        } else if (auto h = instance_harmless().find(kw); h != instance_harmless().end()) {
            if (kw == "strict_mode") instance_strict = true;
            ctx.left_out(e, k, h->second);
        } else {
            ctx.unexpected(k, "vrrp_instance", kKnown);
        }
    }
    if (!has_interface) e.add(Out::string("interface", default_interface));
    // keepalived clears nopreempt and preempt_delay with state MASTER or priority 255 (it
    // logs a warning); lvsd refuses them there, so the translation leaves them out.
    auto erase = [&](std::string_view key, std::string_view why) {
        for (const auto& k : s.children)
            if (k.keyword == key) ctx.warn(k, fmt::format("{}: keepalived clears it {}; left out", key, why));
        std::erase_if(e.items, [&](const Out& o) { return o.kind != Out::Kind::Comment && o.key == key; });
    };
    const Out* state = e.find("state");
    if (state && state->scalar == "\"MASTER\"" && !e.has("priority")) {
        // keepalived's default priority is 255 (the address owner) with state MASTER, else 100.
        Out p = Out::literal("priority", "255");
        p.comments.push_back("keepalived's default priority with state MASTER");
        e.add(std::move(p));
        state = e.find("state");
    }
    const Out* priority = e.find("priority");
    const bool master = state && state->scalar == "\"MASTER\"";
    const bool owner = priority && priority->scalar == "255";
    if (master) {
        erase("nopreempt", "with state MASTER");
        erase("preempt_delay", "with state MASTER");
    }
    if (owner) erase("nopreempt", "for the address owner (priority 255)");
    // VRRPv3 (set, the global default, or IPv6) has no authentication: keepalived ignores it.
    const Out* version = e.find("version");
    const Out* vips = e.find("virtual_ipaddress");
    const bool ipv6 = vips && !vips->items.empty() &&
                      vips->items.front().scalar.substr(0, vips->items.front().scalar.find(' ')).find(':') != std::string::npos;
    if ((version ? version->scalar == "3" : ctx.vrrp_version == 3) || ipv6) erase("authentication", "with VRRPv3");
    // vrrp_strict: keepalived drops authentication and starts a non-owner as BACKUP.
    if (ctx.strict || instance_strict) {
        erase("authentication", "in strict mode");
        priority = e.find("priority");
        if (Out* st = e.find("state"); st && st->scalar == "\"MASTER\"" && (!priority || priority->scalar != "255")) {
            st->scalar = "\"BACKUP\"";
            ctx.warn(s, "state MASTER: keepalived's strict mode starts an instance that does not own its addresses as "
                        "BACKUP, and so does the translation");
        }
    }
    // auth_type AH: keepalived starts a non-owner as BACKUP, so that it learns the AH sequence
    // number from the master's advert before it takes over (lvsd starts every non-owner as
    // backup anyway; the translation says what keepalived reads).
    if (const Out* auth = e.find("authentication"); auth && auth->find("auth_type") &&
                                                    auth->find("auth_type")->scalar == "\"AH\"") {
        priority = e.find("priority");
        if (Out* st = e.find("state"); st && st->scalar == "\"MASTER\"" && (!priority || priority->scalar != "255")) {
            st->scalar = "\"BACKUP\"";
            ctx.warn(s, "state MASTER: keepalived starts an instance with auth_type AH that does not own its addresses "
                        "as BACKUP (it learns the AH sequence number first), and so does the translation");
        }
    }
    // The instance's own interface is always tracked (FAULT while down): keepalived drops a
    // track_interface entry that names it, weight and all.
    const Out* iface = e.find("interface");
    if (Out* tracked = e.find("track_interface"); tracked && iface) {
        const std::string own = unquoted(iface->scalar);
        std::erase_if(tracked->items, [&](const Out& t) {
            const bool same = entry_name(t) == own;
            if (same) ctx.warn(s, fmt::format("track_interface {}: the instance's own interface; keepalived tracks it anyway "
                                              "(FAULT while down) and ignores this entry", own));
            return same;
        });
    }
    // An address owner (priority 255) is never moved: keepalived ignores weighted tracking there.
    priority = e.find("priority");
    if (priority && priority->scalar == "255") {
        for (std::string_view key : {"track_script", "track_interface", "track_process", "track_file"}) {
            Out* tracked = e.find(key);
            if (!tracked) continue;
            std::erase_if(tracked->items, [&](const Out& t) {
                const Out* weight = t.find("weight");
                int w = weight ? std::stoi(weight->scalar) : 0;
                if (key == "track_script" && !weight) w = ctx.script_weights[entry_name(t)];
                if (w == 0) return false;
                ctx.warn(s, fmt::format("{} {} (weight {}): keepalived ignores weighted tracking on an address owner "
                                        "(priority 255); left out", key, entry_name(t), w));
                return true;
            });
        }
    }
    std::erase_if(e.items, [](const Out& o) { return o.kind == Out::Kind::List && o.items.empty() && o.key.starts_with("track_"); });
    instances.add(std::move(e));
}

}  // namespace lvsd::config::keepalived::detail
