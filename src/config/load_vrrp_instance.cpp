// vrrp_instances: one VRRP instance each, and the checks across instances.
#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

using namespace std::chrono_literals;

void Loader::read_vip(Group& g, const lc::Setting& e, VrrpInstance& vi, std::vector<VirtualAddress>& out) {
    VirtualAddress va;
    va.where = where(e);
    std::string text;
    if (e.getType() == lc::Setting::TypeString) {
        // keepalived's form: "192.0.2.10/24 [dev eth1] [label eth1:vip]"
        auto words = detail::split_command(e.c_str()).value_or(std::vector<std::string>{});
        if (words.empty()) {
            g.error(e, "virtual_ipaddress: empty entry");
            return;
        }
        text = words[0];
        for (std::size_t i = 1; i < words.size(); i += 2) {
            if (i + 1 >= words.size() || (words[i] != "dev" && words[i] != "label")) {
                g.error(e, fmt::format("virtual_ipaddress \"{}\": expected ADDRESS[/LEN] [dev IFNAME] [label LABEL]", e.c_str()));
                return;
            }
            (words[i] == "dev" ? va.dev : va.label) = words[i + 1];
        }
    } else if (e.isGroup()) {
        Group vg(*this, e, g.context() + " virtual_ipaddress", detail::keys_of("virtual_ipaddress"));
        auto a = vg.string("address");
        if (!a) {
            if (!vg.find("address")) vg.missing("address");
            return;
        }
        text = *a;
        if (auto d = vg.string("dev")) va.dev = *d;
        if (auto l = vg.string("label")) va.label = *l;
    } else {
        g.error(e, fmt::format("virtual_ipaddress entries must be strings (\"192.0.2.10/24\") or groups "
                               "{{ address = ...; dev = ...; label = ...; }}, not {}",
                               type_name(e.getType())));
        return;
    }
    auto p = parse_prefix(text);
    if (!p) {
        const auto slash = text.find('/');
        auto addr = parse_address(std::string_view(text).substr(0, slash));
        if (addr && slash != std::string::npos)
            g.error(e, fmt::format("virtual_ipaddress \"{}\": the prefix length must be 0..{}", text, addr->is_v4() ? 32 : 128));
        else
            g.error(e, fmt::format("virtual_ipaddress \"{}\" is not an address with an optional prefix length "
                                   "(e.g. 192.0.2.10/24 or 2001:db8::10/64)", text));
        return;
    }
    const auto& a = p->address;
    if (a.is_unspecified() || a.is_multicast() || a.is_loopback()) {
        g.error(e, fmt::format("virtual_ipaddress {} is {} address; a VIP must be a unicast address", text,
                               a.is_unspecified() ? "an unspecified" : a.is_multicast() ? "a multicast" : "a loopback"));
        return;
    }
    va.prefix = *p;
    bool ok = true;
    if (!va.dev.empty() && !valid_ifname(va.dev)) {
        g.error(e, fmt::format("virtual_ipaddress {}: dev \"{}\" is not a valid interface name", text, va.dev));
        ok = false;
    }
    if (!va.label.empty()) {
        const std::string& dev = va.dev.empty() ? vi.interface : va.dev;
        if (a.is_v6()) {
            g.error(e, fmt::format("virtual_ipaddress {}: IPv6 addresses have no label", text));
            ok = false;
        } else if (va.label.size() > 15 || !(va.label == dev || va.label.starts_with(dev + ":"))) {
            g.error(e, fmt::format("virtual_ipaddress {}: label \"{}\" must be the device name or start with \"{}:\" "
                                   "and have at most 15 characters",
                                   text, va.label, dev));
            ok = false;
        }
    }
    if (ok) out.push_back(std::move(va));
}

std::optional<VrrpInstance> Loader::read_instance(const lc::Setting& s, std::size_t index) {
    VrrpInstance vi;
    vi.where = where(s);
    std::string context = fmt::format("vrrp_instances[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp instance \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_instances"));
    bool ok = true;  // identity present and readable

    if (auto v = g.string("name")) {
        if (v->empty() || v->size() > 64 || std::any_of(v->begin(), v->end(), [](char ch) { return !std::isgraph(static_cast<unsigned char>(ch)); })) {
            g.error(*g.find("name"), fmt::format("name = \"{}\" must be 1-64 printable characters without blanks", *v));
            ok = false;
        } else {
            vi.name = *v;
            instance_names_.insert(*v);
        }
    } else {
        if (!g.find("name")) g.missing("name");
        ok = false;
    }
    if (auto v = g.choice("state", {"MASTER", "BACKUP"})) vi.state = *v == "MASTER" ? VrrpState::Master : VrrpState::Backup;
    if (auto v = g.interface("interface")) {
        vi.interface = *v;
        vi.interface_where = where(*g.find("interface"));
    } else {
        if (!g.find("interface")) g.missing("interface");
        ok = false;
    }
    if (auto v = g.integer("virtual_router_id", 1, 255)) vi.virtual_router_id = static_cast<uint8_t>(*v);
    else {
        if (!g.find("virtual_router_id")) g.missing("virtual_router_id", "(1..255, the same on both balancers)");
        ok = false;
    }
    if (auto v = g.integer("priority", 1, 255)) vi.priority = static_cast<uint8_t>(*v);
    std::optional<int64_t> version = g.integer("version", 2, 3);
    vi.nopreempt = g.boolean("nopreempt").value_or(false);
    // use_vmac = true (the name vrrp.<VRID>, keepalived's default) or a name.
    if (const lc::Setting* vm = g.find("use_vmac")) {
        if (vm->getType() == lc::Setting::TypeBoolean) {
            if (static_cast<bool>(*vm)) vi.use_vmac = fmt::format("vrrp.{}", vi.virtual_router_id);
        } else if (auto name = g.interface("use_vmac")) {
            vi.use_vmac = *name;
        }
    }
    if (auto v = g.boolean("vmac_xmit_base")) vi.vmac_xmit_base = *v;
    if (vi.vmac_xmit_base && vi.use_vmac.empty() && g.find("vmac_xmit_base"))
        g.error(*g.find("vmac_xmit_base"), "vmac_xmit_base needs use_vmac");
    vi.dont_track_primary = g.boolean("dont_track_primary").value_or(false);
    if (auto v = g.seconds("preempt_delay", 0ms, 1000s)) vi.preempt_delay = *v;

    // Addresses decide the family (RFC 5798 §7.1: a virtual router is IPv4 or IPv6).
    std::vector<VirtualAddress> vips;
    // None is allowed, as keepalived allows it: the instance elects a master and its notify
    // commands do the rest (e.g. move a cloud provider's floating address).
    if (g.find("virtual_ipaddress"))
        for (auto* e : g.elements("virtual_ipaddress")) read_vip(g, *e, vi, vips);
    if (vips.empty()) {
        // Then the unicast addresses decide the family, else IPv4.
        std::optional<IpAddress> hint;
        if (const lc::Setting* s = g.find("unicast_src_ip"); s && s->getType() == lc::Setting::TypeString)
            hint = parse_address(s->c_str());
        if (!hint && g.find("unicast_peer"))
            for (auto* e : g.elements("unicast_peer"))
                if (e->getType() == lc::Setting::TypeString && (hint = parse_address(e->c_str()))) break;
        if (hint) vi.family = family_of(*hint);
    } else {
        vi.family = family_of(vips.front().prefix.address);
        for (auto& va : vips) {
            if (family_of(va.prefix.address) != vi.family) {
                error(va.where, fmt::format("{}: virtual_ipaddress {} is {} but the instance is {} (from {}); one VRRP "
                                            "instance carries one address family (RFC 5798 §7.1), use a second instance "
                                            "for the other family",
                                            context, va.prefix, family_name(family_of(va.prefix.address)),
                                            family_name(vi.family), vips.front().prefix));
                continue;
            }
            vi.virtual_ipaddress.push_back(va);
        }
        // The advert carries every address: the 8-bit count and one 1500-byte frame bound it.
        const std::size_t max = vi.family == Family::V4 ? 255 : 90;
        if (vi.virtual_ipaddress.size() > max)
            g.error(*g.find("virtual_ipaddress"), fmt::format("{} virtual addresses do not fit in one advertisement (at most {} {})",
                                                              vi.virtual_ipaddress.size(), max, family_name(vi.family)));
    }

    // Version: keepalived's default 2 for IPv4 (so that a keepalived peer with default
    // settings interoperates); IPv6 exists only in VRRPv3.
    if (version) {
        vi.version = static_cast<uint8_t>(*version);
        if (vi.version == 2 && vi.family == Family::V6 && !vips.empty())
            g.error(*g.find("version"), "version = 2 cannot carry IPv6 addresses (VRRPv2, RFC 3768, is IPv4 only); use version = 3");
    } else {
        vi.version = vi.family == Family::V6 ? 3 : global_->vrrp.version.value_or(2);
    }

    if (vips.empty() && vi.version == 3)
        error(vi.where, fmt::format("{}: no virtual_ipaddress; a VRRPv3 advert carries at least one address (RFC 5798 "
                                    "§5.2.5; keepalived refuses it too), only a version = 2 instance may have none",
                                    context));
    if (auto v = g.number("advert_int")) {
        const lc::Setting& at = *g.find("advert_int");
        const double cs = *v * 100.0;
        if (vi.version == 2) {
            if (*v < 1 || *v > 255 || std::fabs(*v - std::round(*v)) > 1e-9)
                g.error(at, fmt::format("advert_int = {} is not valid for VRRPv2: whole seconds 1..255 (RFC 3768 §5.3.7); "
                                        "sub-second adverts need version = 3", *v));
            else vi.advert_int = std::chrono::seconds(std::lround(*v));
        } else {
            if (cs < 1 - 1e-6 || cs > 4095 + 1e-6 || std::fabs(cs - std::round(cs)) > 1e-6)
                g.error(at, fmt::format("advert_int = {} is not valid for VRRPv3: a multiple of 0.01 s from 0.01 to 40.95 "
                                        "(RFC 5798 §5.2.7, 12-bit centiseconds)", *v));
            else vi.advert_int = Duration(std::lround(cs) * 10);
        }
    }

    if (vi.nopreempt && vi.state == VrrpState::Master)
        g.error(*g.find("nopreempt"), "nopreempt needs state = \"BACKUP\": with MASTER the instance takes over at start anyway");
    if (vi.nopreempt && vi.priority == 255)
        g.error(*g.find("nopreempt"), "nopreempt cannot apply to priority 255: the address owner always preempts (RFC 5798 §6.4.3)");
    if (auto v = g.integer("failover_priority", 1, 254)) {
        vi.failover_priority = static_cast<uint8_t>(*v);
        if (vi.priority == 255)
            g.error(*g.find("failover_priority"),
                    "failover_priority has no use with priority 255: the address owner cannot be failed over or held "
                    "(RFC 5798 §6.4.1 makes it master whenever it runs)");
        else if (vi.failover_priority >= vi.priority)
            g.error(*g.find("failover_priority"),
                    fmt::format("failover_priority = {} must be below priority = {}, or `lvsctl failover` would take "
                                "mastership back from the peer",
                                *v, vi.priority));
    }

    // Unicast
    if (auto v = g.address("unicast_src_ip")) {
        if (v->is_unspecified() || v->is_multicast())
            g.error(*g.find("unicast_src_ip"), fmt::format("unicast_src_ip {} must be a unicast address of this host", *v));
        else if (!vips.empty() && family_of(*v) != vi.family)
            g.error(*g.find("unicast_src_ip"), fmt::format("unicast_src_ip {} is {} but the instance's addresses are {}", *v,
                                                           family_name(family_of(*v)), family_name(vi.family)));
        else {
            vi.unicast_src_ip = *v;
            vi.unicast_src_ip_where = where(*g.find("unicast_src_ip"));
        }
    }
    for (auto* e : g.elements("unicast_peer")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.error(*e, fmt::format("unicast_peer entries must be address strings, not {}", type_name(e->getType())));
            continue;
        }
        auto a = parse_address(e->c_str());
        if (!a) {
            g.error(*e, fmt::format("unicast_peer \"{}\" is not an IPv4 or IPv6 address", e->c_str()));
        } else if (a->is_unspecified() || a->is_multicast()) {
            g.error(*e, fmt::format("unicast_peer {} must be a unicast address", *a));
        } else if (vi.unicast_src_ip && family_of(*a) != family_of(*vi.unicast_src_ip)) {
            g.error(*e, fmt::format("unicast_peer {} is {} but unicast_src_ip {} is {}", *a, family_name(family_of(*a)),
                                    *vi.unicast_src_ip, family_name(family_of(*vi.unicast_src_ip))));
        } else if (!vips.empty() && family_of(*a) != vi.family) {
            g.error(*e, fmt::format("unicast_peer {} is {} but the instance's addresses are {}", *a,
                                    family_name(family_of(*a)), family_name(vi.family)));
        } else if (std::find(vi.unicast_peer.begin(), vi.unicast_peer.end(), *a) != vi.unicast_peer.end()) {
            g.error(*e, fmt::format("unicast_peer {} is listed twice", *a));
        } else if (vi.unicast_src_ip && *a == *vi.unicast_src_ip) {
            g.error(*e, fmt::format("unicast_peer {} is this host's own unicast_src_ip", *a));
        } else {
            vi.unicast_peer.push_back(*a);
        }
    }

    // Tracking
    for (auto* e : g.elements("track_interface")) {
        TrackInterface t;
        t.where = where(*e);
        if (e->getType() == lc::Setting::TypeString) {
            t.name = e->c_str();
        } else if (e->isGroup()) {
            Group tg(*this, *e, context + " track_interface", detail::keys_of("track_interface"));
            if (auto n = tg.string("interface")) t.name = *n;
            else if (!tg.find("interface")) tg.missing("interface");
            if (auto w = tg.integer("weight", -253, 253)) t.weight = static_cast<int>(*w);
            if (t.name.empty()) continue;
        } else {
            g.error(*e, fmt::format("track_interface entries must be interface names or groups "
                                    "{{ interface = ...; weight = ...; }}, not {}", type_name(e->getType())));
            continue;
        }
        if (!valid_ifname(t.name))
            g.error(*e, fmt::format("track_interface \"{}\" is not a valid interface name", t.name));
        else if (std::any_of(vi.track_interface.begin(), vi.track_interface.end(), [&](auto& x) { return x.name == t.name; }))
            g.error(*e, fmt::format("track_interface \"{}\" is listed twice", t.name));
        else
            vi.track_interface.push_back(std::move(t));
    }
    read_refs(g, "track_script", context, "vrrp_scripts", 253, vi.track_script);
    read_refs(g, "track_process", context, "vrrp_track_processes", 254, vi.track_process);
    read_refs(g, "track_file", context, "vrrp_track_files", 254, vi.track_file);
    if (auto* ta = g.find("track_arp_target")) {
        if (!ta->isGroup()) {
            g.wrong_type(*ta, "track_arp_target", "a group { targets = [ ... ]; fall = ...; }");
        } else {
            Group tg(*this, *ta, context + " track_arp_target", detail::keys_of("track_arp_target"));
            TrackArpTarget t;
            t.where = tg.where();
            for (auto* e : tg.elements("targets")) {
                std::optional<IpAddress> a;
                if (e->getType() == lc::Setting::TypeString) a = parse_address(e->c_str());
                if (!a || a->is_unspecified() || a->is_multicast())
                    tg.error(*e, fmt::format("targets: {} is not a unicast IPv4 or IPv6 address", show(*e)));
                else if (!vips.empty() && family_of(*a) != vi.family)
                    tg.error(*e, fmt::format("targets: {} is {} but the instance is {}", *a, family_name(family_of(*a)), family_name(vi.family)));
                else t.targets.push_back(*a);
            }
            if (!tg.find("targets")) tg.missing("targets");
            else if (t.targets.empty() && tg.find("targets")->getLength() == 0) tg.error(*tg.find("targets"), "targets is empty");
            if (auto v = tg.seconds("interval", 100ms, 3600s)) t.interval = *v;
            if (auto v = tg.integer("fall", 1, 255)) t.fall = static_cast<uint32_t>(*v);
            if (auto v = tg.integer("weight", -253, 253)) t.weight = static_cast<int>(*v);
            if (!t.targets.empty()) vi.track_arp_target = std::move(t);
        }
    }

    // Gratuitous ARP / unsolicited NA after takeover (keepalived's names and defaults;
    // global_defs' vrrp_garp_* / vrrp_gna_interval first).
    const auto& dflt = global_->vrrp;
    if (dflt.garp_master_delay) vi.garp_master_delay = *dflt.garp_master_delay;
    if (dflt.garp_master_repeat) vi.garp_master_repeat = *dflt.garp_master_repeat;
    if (vi.family == Family::V6 ? dflt.gna_interval.has_value() : dflt.garp_interval.has_value())
        vi.garp_interval = vi.family == Family::V6 ? *dflt.gna_interval : *dflt.garp_interval;
    if (dflt.garp_master_refresh) vi.garp_master_refresh = *dflt.garp_master_refresh;
    if (dflt.garp_master_refresh_repeat) vi.garp_master_refresh_repeat = *dflt.garp_master_refresh_repeat;
    if (auto v = g.seconds("garp_master_delay", 0ms, 3600s)) vi.garp_master_delay = *v;
    if (auto v = g.integer("garp_master_repeat", 1, 255)) vi.garp_master_repeat = static_cast<uint32_t>(*v);
    if (auto v = g.seconds("garp_interval", 0ms, 10s)) vi.garp_interval = *v;
    if (auto v = g.seconds("garp_master_refresh", 0ms, 86400s)) vi.garp_master_refresh = *v;
    if (auto v = g.integer("garp_master_refresh_repeat", 1, 255)) vi.garp_master_refresh_repeat = static_cast<uint32_t>(*v);

    if (auto* au = g.find("authentication")) {
        if (!au->isGroup()) {
            g.wrong_type(*au, "authentication", "a group { auth_type = \"PASS\"; auth_pass = \"...\"; }");
        } else {
            Group ag(*this, *au, context + " authentication", detail::keys_of("authentication"));
            if (vi.version == 3)
                ag.error("VRRPv3 has no authentication (RFC 5798 §9 removed it); remove this group or use version = 2");
            auto type = ag.string("auth_type");
            // AH (IPsec Authentication Header, vrrp/ah.hpp) is VRRPv2 over IPv4 only, as in keepalived.
            if (type && *type == "AH" && vi.family != Family::V4)
                ag.error(*ag.find("auth_type"), "auth_type = \"AH\" is for VRRPv2 over IPv4 only (as in keepalived)");
            else if (type && *type != "PASS" && *type != "AH")
                ag.error(*ag.find("auth_type"), fmt::format("auth_type = \"{}\" is not \"PASS\" or \"AH\"", *type));
            else if (!ag.find("auth_type"))
                ag.missing("auth_type", "(\"PASS\" or \"AH\")");
            if (auto p = ag.string("auth_pass")) {
                if (p->empty() || p->size() > 8)
                    ag.error(*ag.find("auth_pass"), fmt::format("auth_pass has {} characters; VRRPv2 carries 1 to 8 "
                                                                "(RFC 3768 §5.3.10; keepalived would cut it silently)", p->size()));
                else if (type && (*type == "PASS" || *type == "AH") && vi.version == 2) {
                    vi.auth_pass = *p;
                    vi.auth_ah = *type == "AH";
                }
            } else if (!ag.find("auth_pass")) {
                ag.missing("auth_pass");
            }
        }
    }

    read_notify(g, vi.notify);

    // An instance with errors is still returned when its identity (name, interface, VRID,
    // family) is sound, so that the cross-checks (duplicate VRID, VIP in two instances)
    // see it; the Config as a whole is rejected anyway.
    if (!ok || (vi.virtual_ipaddress.empty() && !vips.empty())) return std::nullopt;
    return vi;
}

void Loader::check_instances(Config& c) {
    auto& v = c.vrrp_instances;
    for (std::size_t i = 0; i < v.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (v[i].name == v[j].name)
                error(v[i].where, fmt::format("vrrp instance \"{}\" is defined twice (first at line {})", v[i].name, v[j].where.line));
            // RFC 5798 §7.3: the VRID picks the virtual MAC, so it is unique per interface
            // and family (IPv4 and IPv6 routers use different MAC ranges).
            if (v[i].interface == v[j].interface && v[i].family == v[j].family && v[i].virtual_router_id == v[j].virtual_router_id)
                error(v[i].where, fmt::format("vrrp instance \"{}\": virtual_router_id {} on {} ({}) is already used by "
                                              "instance \"{}\" (line {})",
                                              v[i].name, v[i].virtual_router_id, v[i].interface, family_name(v[i].family),
                                              v[j].name, v[j].where.line));
            // One macvlan per instance: `use_vmac = true` names it vrrp.<VRID> for both families.
            if (!v[i].use_vmac.empty() && v[i].use_vmac == v[j].use_vmac)
                error(v[i].where, fmt::format("vrrp instance \"{}\": use_vmac interface \"{}\" is also the one of instance "
                                              "\"{}\" (line {}); give one of them its own name (use_vmac = \"vrrp6.{}\")",
                                              v[i].name, v[i].use_vmac, v[j].name, v[j].where.line,
                                              v[i].virtual_router_id));
            for (auto& a : v[i].virtual_ipaddress)
                for (auto& b : v[j].virtual_ipaddress)
                    if (a.prefix.address == b.prefix.address)
                        error(a.where, fmt::format("vrrp instance \"{}\": virtual_ipaddress {} is also floated by instance "
                                                   "\"{}\" (line {})", v[i].name, a.prefix.address, v[j].name, b.where.line));
        }
        auto& vips = v[i].virtual_ipaddress;
        for (std::size_t k = 0; k < vips.size(); ++k)
            for (std::size_t l = 0; l < k; ++l)
                if (vips[k].prefix.address == vips[l].prefix.address)
                    error(vips[k].where, fmt::format("vrrp instance \"{}\": virtual_ipaddress {} is listed twice",
                                                     v[i].name, vips[k].prefix.address));
    }
}

}  // namespace lvsd::config::detail
