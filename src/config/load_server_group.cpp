// virtual_server_groups, and their expansion into one virtual server per entry.
#include <algorithm>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

std::optional<VirtualServerGroup> Loader::read_server_group(const lc::Setting& s, std::size_t index) {
    VirtualServerGroup vg;
    vg.where = where(s);
    std::string context = fmt::format("virtual_server_groups[{}]", index);
    if (s.exists("name") && s["name"].getType() == lc::Setting::TypeString)
        context = fmt::format("virtual server group \"{}\"", s["name"].c_str());
    Group g(*this, s, context, detail::keys_of("virtual_server_groups"));
    const std::size_t errors_before = diagnostics_.size();
    if (auto v = g.string("name")) {
        if (v->empty()) g.error(*g.find("name"), "name is empty");
        else group_names_.insert(vg.name = *v);
    } else if (!g.find("name")) {
        g.missing("name");
    }
    if (!g.find("entries")) g.missing("entries", "(\"ADDRESS PORT\", \"FIRST-LAST PORT\" or \"fwmark N\")");
    else if (g.find("entries")->isAggregate() && g.find("entries")->getLength() == 0)
        g.error(*g.find("entries"), "entries is empty");
    std::optional<Family> family;  // of the first entry that has one
    int family_line = 0;
    std::set<std::size_t> open;
    auto member_name = [](const GroupMember& m) {
        return m.fwmark ? fmt::format("fwmark {}", m.fwmark) : format_endpoint(m.address, m.port);
    };
    for (const lc::Setting* e : g.elements("entries")) {
        if (e->getType() != lc::Setting::TypeString) {
            g.wrong_type(*e, "an entry", "a string such as \"192.0.2.10 80\", \"192.0.2.10-20 80\" or \"fwmark 7\"");
            continue;
        }
        auto parsed = detail::parse_group_entry(e->c_str());
        if (auto* why = std::get_if<std::string>(&parsed)) {
            g.error(*e, fmt::format("entry \"{}\": {}", e->c_str(), *why));
            continue;
        }
        const auto& entry = std::get<detail::GroupEntry>(parsed);
        const Location at = where(*e);
        std::vector<GroupMember> members;
        if (entry.fwmark) members.push_back({entry.fwmark, entry.family.value_or(Family::V4), {}, 0, at});
        for (auto& a : entry.addresses) members.push_back({0, family_of(a), a, entry.port, at});
        const bool known = !entry.fwmark || entry.family;
        if (known) {
            if (family && members.front().family != *family) {
                g.error(*e, fmt::format("entry \"{}\" is {} but the group's entries are {} (line {}); one family per group",
                                        e->c_str(), family_name(members.front().family), family_name(*family), family_line));
                continue;
            }
            if (!family) family = members.front().family, family_line = at.line;
        }
        for (auto& m : members) {
            auto dup = std::find_if(vg.members.begin(), vg.members.end(), [&](const GroupMember& o) {
                return m.fwmark ? o.fwmark == m.fwmark : (!o.fwmark && o.address == m.address && o.port == m.port);
            });
            if (dup != vg.members.end()) {
                g.error(*e, fmt::format("entry \"{}\": {} is already in the group (line {})", e->c_str(), member_name(m),
                                        dup->where.line));
                break;
            }
            if (!known) open.insert(vg.members.size());
            vg.members.push_back(m);
        }
    }
    // A mark without a family takes the family of the group's addresses when it has any.
    for (auto i : open)
        if (family) vg.members[i].family = *family;
    if (!family && !open.empty()) mark_family_open_[vg.name] = open;
    if (diagnostics_.size() != errors_before || vg.name.empty()) return std::nullopt;
    return vg;
}

void Loader::expand_groups(Config& c) {
    std::vector<VirtualServer> out;
    for (auto& vs : c.virtual_servers) {
        if (vs.group.empty()) {
            out.push_back(std::move(vs));
            continue;
        }
        const auto& group = *std::find_if(c.virtual_server_groups.begin(), c.virtual_server_groups.end(),
                                          [&](auto& x) { return x.name == vs.group; });
        const auto open = mark_family_open_.find(group.name);
        for (std::size_t i = 0; i < group.members.size(); ++i) {
            const GroupMember& m = group.members[i];
            VirtualServer e = vs;
            e.fwmark = m.fwmark;
            e.address = m.fwmark ? IpAddress{} : m.address;
            e.port = m.port;
            e.family = open != mark_family_open_.end() && open->second.count(i) ? vs.family : m.family;
            if (!m.fwmark && m.port == 0 && !vs.persistence_timeout)
                error(m.where, fmt::format("virtual server group \"{}\": {} (port 0, all ports) needs persistence_timeout in "
                                           "the virtual server at line {}, as in IPVS", group.name, format_endpoint(m.address, 0),
                                           vs.where.line));
            out.push_back(std::move(e));
        }
    }
    c.virtual_servers = std::move(out);
}

}  // namespace lvsd::config::detail
