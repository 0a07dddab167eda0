// vrrp_sync_groups, and the notify commands that sync groups and instances share.
#include <algorithm>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

void Loader::read_notify(Group& g, Notify& n) {
    n.master = g.command("notify_master");
    n.backup = g.command("notify_backup");
    n.fault = g.command("notify_fault");
    n.stop = g.command("notify_stop");
    n.any = g.command("notify");
}

std::optional<VrrpSyncGroup> Loader::read_sync_group(const lc::Setting& s, std::size_t index) {
    VrrpSyncGroup sg;
    sg.where = where(s);
    std::string context = fmt::format("vrrp_sync_groups[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString && *s["name"].c_str())
        context = fmt::format("vrrp sync group \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("vrrp_sync_groups"));
    if (auto v = g.string("name")) sg.name = *v;
    if (!g.find("name")) g.missing("name");
    else if (sg.name.empty() && g.find("name")->getType() == lc::Setting::TypeString) g.error(*g.find("name"), "name is empty");
    for (auto* e : g.elements("group")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.error(*e, fmt::format("group entries must be instance names, not {}", type_name(e->getType())));
            continue;
        }
        std::string name = e->c_str();
        if (std::find(sg.group.begin(), sg.group.end(), name) != sg.group.end())
            g.error(*e, fmt::format("group lists \"{}\" twice", name));
        else sg.group.push_back(name);
    }
    if (!g.find("group")) g.missing("group", "(the instances that change state together)");
    else if (g.find("group")->getLength() == 0) g.error(*g.find("group"), "group is empty");
    read_notify(g, sg.notify);
    read_refs(g, "track_script", context, "vrrp_scripts", 253, sg.track_script);
    if (sg.name.empty()) return std::nullopt;
    return sg;
}

void Loader::check_sync_groups(Config& c) {
    std::map<std::string, const VrrpSyncGroup*> member_of;
    for (std::size_t i = 0; i < c.vrrp_sync_groups.size(); ++i) {
        auto& sg = c.vrrp_sync_groups[i];
        for (std::size_t j = 0; j < i; ++j)
            if (c.vrrp_sync_groups[j].name == sg.name)
                error(sg.where, fmt::format("vrrp sync group \"{}\" is defined twice (first at line {})", sg.name,
                                            c.vrrp_sync_groups[j].where.line));
        for (auto& name : sg.group) {
            auto it = std::find_if(c.vrrp_instances.begin(), c.vrrp_instances.end(), [&](auto& vi) { return vi.name == name; });
            if (it == c.vrrp_instances.end()) {
                if (instance_names_.count(name)) continue;  // exists, but its own errors were reported
                std::vector<std::string_view> names;
                for (auto& vi : c.vrrp_instances) names.push_back(vi.name);
                std::string msg = fmt::format("vrrp sync group \"{}\": \"{}\" is not a vrrp instance", sg.name, name);
                if (auto near = detail::nearest(name, names)) msg += fmt::format("; did you mean '{}'?", *near);
                error(sg.where, msg);
            } else if (auto [m, inserted] = member_of.emplace(name, &sg); !inserted) {
                error(sg.where, fmt::format("vrrp sync group \"{}\": instance \"{}\" is already in sync group \"{}\" (line {})",
                                            sg.name, name, m->second->name, m->second->where.line));
            }
        }
    }
}

}  // namespace lvsd::config::detail
