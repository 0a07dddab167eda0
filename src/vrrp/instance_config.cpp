// Instance configuration rules that need no system: ranges, families, combinations.
#include <net/if.h>

#include <fmt/format.h>

#include "vrrp/instance.hpp"

namespace lvsd::vrrp {

using namespace std::chrono_literals;

std::vector<std::string> problems(const InstanceConfig& c) {
    // Every problem, not only the first: `lvsd -t` promises each one (README, Configuration).
    std::vector<std::string> out;
    auto add = [&out](std::string m) { out.push_back(std::move(m)); };
    const std::string where = fmt::format("vrrp_instance {}", c.name.empty() ? "(unnamed)" : c.name);
    if (c.name.empty()) add("vrrp_instance: the instance needs a name");
    if (c.interface.empty() || c.interface.size() >= IFNAMSIZ)
        add(fmt::format("{}: interface '{}' is not a valid interface name", where, c.interface));
    if (c.virtual_router_id == 0) add(fmt::format("{}: virtual_router_id must be 1..255", where));
    if (c.priority == 0) add(fmt::format("{}: priority must be 1..255 (0 is reserved for stopping)", where));
    // (Below `priority` too, which the loader checks where the key is written: the default
    // 1 is no higher than any priority, and overridden_priority never raises one.)
    if (c.failover_priority == 0 || c.failover_priority == 255)
        add(fmt::format("{}: failover_priority {} must be 1..254", where, c.failover_priority));
    if (c.version != 2 && c.version != 3) add(fmt::format("{}: version {} (2 or 3)", where, c.version));
    const auto ms = c.advert_int.count();
    if (c.version == 3 && (ms < 10 || ms > 40950 || ms % 10 != 0))
        add(fmt::format("{}: advert_int {} ms: VRRPv3 carries 10 ms steps from 0.01 to 40.95 s", where, ms));
    if (c.version == 2 && (ms < 1000 || ms > 255000 || ms % 1000 != 0))
        add(fmt::format("{}: advert_int {} ms: VRRPv2 carries whole seconds from 1 to 255", where, ms));
    if (c.virtual_ipaddress.size() > 255)
        add(fmt::format("{}: {} virtual_ipaddress entries, an advert carries at most 255", where,
                        c.virtual_ipaddress.size()));
    const Family fam = instance_family(c);
    for (auto& v : c.virtual_ipaddress) {
        if (family_of(v.prefix.address) != fam)
            add(fmt::format("{}: virtual_ipaddress {} mixes IPv4 and IPv6; use one instance per family", where,
                            v.prefix));
        if (!v.label.empty() && (fam != Family::V4 || v.label.size() >= IFNAMSIZ))
            add(fmt::format("{}: label '{}' of {}: labels are IPv4 only and at most 15 bytes", where, v.label,
                            v.prefix));
        if (!v.dev.empty() && v.dev.size() >= IFNAMSIZ)
            add(fmt::format("{}: dev '{}' of {} is not a valid interface name", where, v.dev, v.prefix));
    }
    if (c.version == 2 && fam == Family::V6)
        add(fmt::format("{}: VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6", where));
    if (!c.auth_pass.empty() && c.version != 2)
        add(fmt::format("{}: auth_pass is VRRPv2 only (RFC 5798 removed authentication)", where));
    if (c.auth_pass.size() > kV2AuthLength) add(fmt::format("{}: auth_pass is longer than 8 bytes", where));
    // keepalived: AH is VRRPv2 over IPv4 only (its AH code sits in the IPv4 header path).
    if (c.auth_ah && (c.version != 2 || fam != Family::V4))
        add(fmt::format("{}: auth_type AH is for VRRPv2 over IPv4 only", where));
    if (c.auth_ah && c.auth_pass.empty()) add(fmt::format("{}: auth_type AH needs an auth_pass (its HMAC key)", where));
    if (c.unicast_src_ip && family_of(*c.unicast_src_ip) != fam)
        add(fmt::format("{}: unicast_src_ip {} is not of the family of the VIPs", where, *c.unicast_src_ip));
    for (auto& p : c.unicast_peer)
        if (family_of(p) != fam) add(fmt::format("{}: unicast_peer {} is not of the family of the VIPs", where, p));
    if (c.preempt_delay < 0ms || c.preempt_delay > 1000s)
        add(fmt::format("{}: preempt_delay must be 0..1000 s", where));
    if (c.garp_interval < 0ms || c.garp_master_delay < 0ms || c.garp_master_refresh < 0ms)
        add(fmt::format("{}: garp_* intervals must not be negative", where));
    if (c.notify_timeout <= 0ms) add(fmt::format("{}: the notify timeout must be positive", where));
    if (!c.use_vmac.empty() && (c.use_vmac.size() >= IFNAMSIZ || c.use_vmac == c.interface))
        add(fmt::format("{}: use_vmac '{}' is not a valid name for a new interface", where, c.use_vmac));
    for (auto& t : c.track_arp_target) {
        if (!t.is_v4()) add(fmt::format("{}: track_arp_target {}: ARP is IPv4 only", where, t));
        else if (fam != Family::V4)
            add(fmt::format("{}: track_arp_target {} needs an IPv4 instance to ask from", where, t));
    }
    if (!c.track_arp_target.empty() && (c.track_arp_interval < 10ms || c.track_arp_fall == 0))
        add(fmt::format("{}: track_arp interval must be at least 10 ms and fall at least 1", where));
    for (auto* n : {&c.notify_master, &c.notify_backup, &c.notify_fault, &c.notify_stop, &c.notify})
        if (!n->empty() && (n->front().empty() || n->front()[0] != '/'))
            add(fmt::format("{}: notify script '{}' must be an absolute path", where, n->front()));
    return out;
}

Result<void> validate(const InstanceConfig& c) {
    auto all = problems(c);
    if (!all.empty()) return make_error(0, "{}", all.front());
    return {};
}

Params params_of(const InstanceConfig& c, const IpAddress& primary) {
    Params p;
    p.version = c.version;
    p.priority = c.priority;
    p.advert_int = std::chrono::duration_cast<Centiseconds>(c.advert_int);
    p.preempt = !c.nopreempt;
    p.preempt_delay = c.preempt_delay;
    p.primary = primary;
    return p;
}

namespace {

std::string_view notify_word(State s) {
    switch (s) {
        case State::Master: return "MASTER";
        case State::Backup: return "BACKUP";
        case State::Fault: return "FAULT";
        case State::Initialize: return "STOP";
    }
    return "UNKNOWN";
}

const std::vector<std::string>& for_state(State s, const std::vector<std::string>& master,
                                          const std::vector<std::string>& backup,
                                          const std::vector<std::string>& fault, const std::vector<std::string>& stop) {
    switch (s) {
        case State::Master: return master;
        case State::Backup: return backup;
        case State::Fault: return fault;
        case State::Initialize: break;
    }
    return stop;
}

}  // namespace

Advert advert_of(const InstanceConfig& c, uint8_t priority) {
    Advert a;
    a.version = c.version;
    a.vrid = c.virtual_router_id;
    a.priority = priority;
    a.max_advert_int = std::chrono::duration_cast<Centiseconds>(c.advert_int);
    a.auth_type = auth_type_of(c);
    if (a.auth_type == AuthType::SimpleText) a.auth_pass = c.auth_pass;  // AH: the key, never on the wire
    for (const auto& v : c.virtual_ipaddress) a.addresses.push_back(v.prefix.address);
    return a;
}

std::vector<std::vector<std::string>> notify_commands(const InstanceConfig& c, State s) {
    std::vector<std::vector<std::string>> out;
    for (const auto* argv : {&for_state(s, c.notify_master, c.notify_backup, c.notify_fault, c.notify_stop), &c.notify}) {
        if (argv->empty()) continue;
        out.push_back(*argv);
        out.back().insert(out.back().end(),
                          {"INSTANCE", c.name, std::string(notify_word(s)), std::to_string(c.priority)});
    }
    return out;
}

std::vector<std::vector<std::string>> group_notify_commands(const GroupNotify& n, const std::string& group, State s) {
    std::vector<std::vector<std::string>> out;
    for (const auto* argv : {&for_state(s, n.master, n.backup, n.fault, n.stop), &n.any}) {
        if (argv->empty()) continue;
        out.push_back(*argv);
        out.back().insert(out.back().end(), {"GROUP", group, std::string(notify_word(s))});
    }
    return out;
}

bool reconfigurable(const InstanceConfig& from, const InstanceConfig& to) {
    return from.name == to.name && from.interface == to.interface && from.virtual_router_id == to.virtual_router_id &&
           from.version == to.version && instance_family(from) == instance_family(to) &&
           from.unicast_src_ip == to.unicast_src_ip && from.unicast_peer.empty() == to.unicast_peer.empty() &&
           from.track_arp_target.empty() == to.track_arp_target.empty() && from.use_vmac == to.use_vmac &&
           from.vmac_xmit_base == to.vmac_xmit_base && from.auth_ah == to.auth_ah;
}

}  // namespace lvsd::vrrp
