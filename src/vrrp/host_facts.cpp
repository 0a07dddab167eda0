#include "vrrp/host_facts.hpp"

#include <linux/if_addr.h>

#include <algorithm>

#include <fmt/format.h>

namespace lvsd::vrrp {
namespace {

bool is_vip(const InstanceConfig& c, const IpAddress& a) {
    return std::any_of(c.virtual_ipaddress.begin(), c.virtual_ipaddress.end(),
                       [&](const VirtualAddress& v) { return v.prefix.address == a; });
}

std::optional<IpAddress> advert_source(const InstanceConfig& c, const host::View& view, int ifindex) {
    const Family fam = instance_family(c);
    const auto addrs = view.addresses_of(ifindex);
    if (c.unicast_src_ip) {
        for (const auto& a : addrs)
            if (a.prefix.address == *c.unicast_src_ip && a.usable()) return a.prefix.address;
        return std::nullopt;
    }
    std::optional<IpAddress> secondary;
    for (const auto& a : addrs) {
        if (family_of(a.prefix.address) != fam || !a.usable() || is_vip(c, a.prefix.address)) continue;
        if (fam == Family::V6) {
            if (a.prefix.address.to_v6().is_link_local()) return a.prefix.address;
            continue;
        }
        if (!(a.flags & IFA_F_SECONDARY)) return a.prefix.address;
        if (!secondary) secondary = a.prefix.address;
    }
    return secondary;
}

}  // namespace

const std::string& vip_device(const InstanceConfig& c, const VirtualAddress& v) {
    if (!v.dev.empty()) return v.dev;
    return c.use_vmac.empty() ? c.interface : c.use_vmac;
}

const std::string& advert_interface(const InstanceConfig& c) {
    return c.use_vmac.empty() || c.vmac_xmit_base ? c.interface : c.use_vmac;
}

HostFacts host_facts(const InstanceConfig& c, const host::View& view) {
    HostFacts f;
    auto fault = [&](std::string why) {
        if (f.fault.empty()) f.fault = std::move(why);
    };
    const host::Link* link = view.link(c.interface);
    if (!link) {
        fault(fmt::format("interface {} does not exist", c.interface));
    } else {
        f.base_ifindex = link->index;
        if (!link->up() && !c.dont_track_primary) fault(fmt::format("interface {} is down", c.interface));
    }
    if (const host::Link* vmac = c.use_vmac.empty() ? nullptr : view.link(c.use_vmac); !c.use_vmac.empty()) {
        if (!vmac) fault(fmt::format("virtual MAC interface {} does not exist", c.use_vmac));
        else if (!vmac->up() && !c.dont_track_primary)
            fault(fmt::format("virtual MAC interface {} is down", c.use_vmac));
    }
    if (const host::Link* l = view.link(advert_interface(c))) f.ifindex = l->index;
    for (const auto& v : c.virtual_ipaddress) {
        const std::string& dev = vip_device(c, v);
        if (const host::Link* l = view.link(dev))
            f.vip_devices[dev] = l->index;
        else
            fault(fmt::format("interface {} of VIP {} does not exist", dev, v.prefix));
    }
    if (link) {
        f.source = advert_source(c, view, link->index);
        if (!f.source && c.unicast_src_ip)
            fault(fmt::format("unicast_src_ip {} is not a usable address of {}", *c.unicast_src_ip, c.interface));
        else if (!f.source)
            fault(fmt::format("interface {} has no usable {} address to send adverts from", c.interface,
                              instance_family(c) == Family::V4 ? "IPv4" : "IPv6 link-local"));
    }
    return f;
}

std::vector<HostProblem> check_host(const InstanceConfig& c, const host::View& view) {
    std::vector<HostProblem> out;
    // (A use_vmac interface is lvsd's to create: not a problem when missing.)
    if (!view.link(c.interface)) {
        out.push_back({HostProblem::Kind::Interface, 0,
                       fmt::format("vrrp_instance {}: interface {} does not exist", c.name, c.interface)});
    } else if (c.unicast_src_ip && !host_facts(c, view).source) {
        out.push_back({HostProblem::Kind::UnicastSource, 0,
                       fmt::format("vrrp_instance {}: unicast_src_ip {} is not an address of {}", c.name,
                                   *c.unicast_src_ip, c.interface)});
    }
    for (std::size_t i = 0; i < c.virtual_ipaddress.size(); ++i) {
        const auto& v = c.virtual_ipaddress[i];
        if (!v.dev.empty() && v.dev != c.use_vmac && !view.link(v.dev))
            out.push_back({HostProblem::Kind::VipDevice, i,
                           fmt::format("vrrp_instance {}: interface {} of VIP {} does not exist", c.name, v.dev,
                                       v.prefix)});
    }
    return out;
}

std::vector<Tracker> collect_trackers(const InstanceConfig& c, const host::View& view, const TrackerInputs& in) {
    auto ok_in = [](const std::map<std::string, bool>* m, const std::string& name) {
        if (!m) return true;
        auto it = m->find(name);
        return it == m->end() || it->second;
    };
    std::vector<Tracker> out;
    for (const auto& t : c.track_interface) {
        const host::Link* l = view.link(t.name);
        out.push_back({Tracker::Kind::Interface, t.name, t.weight, l && l->up(), l ? "is down" : "does not exist",
                       std::nullopt});
    }
    for (const auto& t : c.track_script)
        out.push_back({Tracker::Kind::Script, t.name, t.weight, ok_in(in.scripts, t.name), "failed", std::nullopt});
    for (const auto& t : c.track_process)
        out.push_back({Tracker::Kind::Process, t.name, t.weight, ok_in(in.processes, t.name), "is out of quorum",
                       std::nullopt});
    for (const auto& t : c.track_file) {
        long v = 0;
        if (in.files)
            if (auto it = in.files->find(t.name); it != in.files->end()) v = it->second;
        out.push_back({Tracker::Kind::File, t.name, t.weight, true, "", v});
    }
    if (in.arp_ok)
        out.push_back({Tracker::Kind::ArpTarget, "targets", c.track_arp_weight, *in.arp_ok,
                       fmt::format("silent for {} intervals", c.track_arp_fall), std::nullopt});
    return out;
}

InstanceConfig vips_leaving(const InstanceConfig& from, const InstanceConfig& to) {
    InstanceConfig leaving = from;
    std::erase_if(leaving.virtual_ipaddress, [&](const VirtualAddress& v) {
        return std::any_of(to.virtual_ipaddress.begin(), to.virtual_ipaddress.end(), [&](const VirtualAddress& n) {
            return n.prefix.address == v.prefix.address && vip_device(to, n) == vip_device(from, v);
        });
    });
    leaving.priority = 1;  // not an owner: these addresses do go
    return leaving;
}

std::vector<VipOp> vmac_link_local_plan(const InstanceConfig& c, const host::View& view) {
    std::vector<VipOp> ops;
    if (c.use_vmac.empty() || instance_family(c) != Family::V6) return ops;
    const host::Link* base = view.link(c.interface);
    const host::Link* vmac = view.link(c.use_vmac);
    if (!base || !vmac) return ops;
    auto link_local = [](const IpAddress& a) { return a.is_v6() && a.to_v6().is_link_local(); };
    std::optional<Prefix> wanted;
    for (const auto& a : view.addresses_of(base->index)) {
        if (!link_local(a.prefix.address) || !a.usable() || is_vip(c, a.prefix.address)) continue;
        if (c.unicast_src_ip && link_local(*c.unicast_src_ip) && a.prefix.address != *c.unicast_src_ip) continue;
        wanted = a.prefix;
        break;
    }
    if (!wanted) return ops;
    bool present = false;
    for (const auto& a : view.addresses_of(vmac->index)) {
        if (!link_local(a.prefix.address) || is_vip(c, a.prefix.address)) continue;
        if (a.prefix == *wanted) {
            present = true;
            continue;
        }
        ops.push_back({VipOp::Kind::Remove, vmac->index, c.use_vmac, a.prefix, {},
                       fmt::format("not {}'s link-local {}", c.interface, *wanted)});
    }
    if (!present)
        ops.push_back({VipOp::Kind::Add, vmac->index, c.use_vmac, *wanted, {},
                       fmt::format("a copy of {}'s link-local", c.interface)});
    return ops;
}

std::vector<VipOp> vip_plan(const InstanceConfig& c, const HostFacts& facts, const host::View& view, bool master) {
    std::vector<VipOp> ops;
    for (const auto& v : c.virtual_ipaddress) {
        const std::string& dev = vip_device(c, v);
        auto it = facts.vip_devices.find(dev);
        if (it == facts.vip_devices.end()) continue;
        const int index = it->second;
        const auto present = view.addresses_of(index);
        if (!master) {
            for (const auto& a : present)
                if (a.prefix.address == v.prefix.address)
                    ops.push_back({VipOp::Kind::Remove, index, dev, a.prefix, {}, "present while not master"});
            continue;
        }
        auto same = std::find_if(present.begin(), present.end(), [&](const host::Address& a) { return a.prefix == v.prefix; });
        if (same == present.end()) {
            ops.push_back({VipOp::Kind::Add, index, dev, v.prefix, v.label, "absent"});
            continue;
        }
        // The kernel labels an IPv4 address with the interface's name when none is given.
        const std::string& wanted = v.label.empty() ? dev : v.label;
        if (v.prefix.address.is_v4() && same->label != wanted) {
            const std::string why = fmt::format("label {}, wanted {}", same->label, wanted);
            ops.push_back({VipOp::Kind::Remove, index, dev, v.prefix, {}, why});
            ops.push_back({VipOp::Kind::Add, index, dev, v.prefix, v.label, why});
        }
    }
    return ops;
}

}  // namespace lvsd::vrrp
