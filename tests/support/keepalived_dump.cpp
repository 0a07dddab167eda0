// The dump's shape (keepalived_dump.hpp) and the VRRP child's dump -> reading.
#include "support/keepalived_dump.hpp"

#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "support/keepalived_reading.hpp"

namespace lvsd::testing::keepalived {

namespace dump {

std::vector<Line> section(const std::vector<std::string>& lines, std::string_view name) {
    const std::string header = fmt::format("------< {} >------", name);
    std::vector<Line> out;
    bool in = false;
    for (const auto& l : lines) {
        if (l.starts_with("------<")) {
            if (in) break;
            in = (l == header);
            continue;
        }
        if (!in) continue;
        const auto indent = l.find_first_not_of(' ');
        if (indent == std::string::npos) continue;
        // A column-0 line inside a section is a log message interleaved with the dump
        // (the parent's "Stopping", a script's result): not part of it.
        if (indent == 0) continue;
        out.push_back({indent, l.substr(indent)});
    }
    return out;
}

std::optional<std::string> Entry::get(std::string_view key, std::size_t indent) const {
    const std::string prefix = std::string(key) + " = ";
    for (const auto& l : body)
        if (l.indent == indent && l.text.starts_with(prefix)) return l.text.substr(prefix.size());
    // "Key =" with an empty value ("DBus service name = ").
    for (const auto& l : body)
        if (l.indent == indent && l.text == std::string(key) + " =") return std::string{};
    return std::nullopt;
}

std::vector<std::string> Entry::list(std::string_view header, std::size_t indent) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i].indent != indent || body[i].text != header) continue;
        for (std::size_t j = i + 1; j < body.size() && body[j].indent > indent; ++j) out.push_back(body[j].text);
        break;
    }
    return out;
}

bool Entry::has(std::string_view text, std::size_t indent) const {
    for (const auto& l : body)
        if (l.indent == indent && l.text == text) return true;
    return false;
}

std::vector<Entry> entries(const std::vector<Line>& lines, std::size_t indent) {
    std::vector<Entry> out;
    for (const auto& l : lines) {
        if (l.indent == indent) out.push_back({l.text, {}});
        else if (l.indent > indent && !out.empty()) out.back().body.push_back(l);
        else if (l.indent < indent) break;
    }
    return out;
}

std::string value_of(const std::string& head) {
    const auto eq = head.find(" = ");
    return eq == std::string::npos ? std::string{} : head.substr(eq + 3);
}

long integer(const std::string& s, std::string_view what) {
    long v = 0;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc{} || p == s.data()) throw DumpError(fmt::format("{}: '{}' is not an integer", what, s));
    return v;
}

double number(const std::string& s, std::string_view what) {
    double v = 0;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc{} || p == s.data()) throw DumpError(fmt::format("{}: '{}' is not a number", what, s));
    return v;
}

double seconds(const std::string& s, std::string_view what) {
    std::istringstream in(s);
    std::string n, unit;
    in >> n >> unit;
    const double v = number(n, what);
    if (unit.empty() || unit == "sec" || unit == "secs" || unit == "seconds") return v;
    if (unit == "milli-sec" || unit == "ms") return v / 1000;
    if (unit == "us" || unit == "usecs") return v / 1e6;
    throw DumpError(fmt::format("{}: unknown time unit in '{}'", what, s));
}

std::string command(const std::string& s) {
    // keepalived prints each argument in single quotes with one space between them and
    // does not escape quotes inside, so "' '" is the separator.
    if (s.size() < 2 || s.front() != '\'' || s.back() != '\'') return s;
    std::string inner = s.substr(1, s.size() - 2), out;
    std::size_t pos = 0;
    for (;;) {
        const auto sep = inner.find("' '", pos);
        out += inner.substr(pos, sep == std::string::npos ? std::string::npos : sep - pos);
        if (sep == std::string::npos) break;
        out += ' ';
        pos = sep + 3;
    }
    return out;
}

std::string with_length(const std::string& addr) {
    if (addr.find('/') != std::string::npos) return addr;
    return addr + (addr.find(':') != std::string::npos ? "/128" : "/32");
}

}  // namespace dump

namespace {

using dump::Entry;

// "192.168.1.100 dev eth0 scope global label eth0:1" -> "192.168.1.100/32 dev eth0 label
// eth0:1". The device of a VIP on a VMAC reads "vmac@base": the VIP lives on the VMAC.
// A scope other than global is kept (it changes the address's meaning).
std::string vip(const std::string& item) {
    std::istringstream in(item);
    std::string addr, word, dev, label, scope;
    in >> addr;
    while (in >> word) {
        if (word == "dev") in >> dev;
        else if (word == "label") in >> label;
        else if (word == "scope") in >> scope;
    }
    if (auto at = dev.find('@'); at != std::string::npos) dev.resize(at);
    std::string out = dump::with_length(addr);
    if (!dev.empty()) out += " dev " + dev;
    if (!scope.empty() && scope != "global") out += " scope " + scope;
    if (!label.empty()) out += " label " + label;
    return out;
}

// "chk_haproxy weight -2" -> {"name", "weight"}.
boost::json::array weighted(const std::vector<std::string>& items, std::string_view what) {
    boost::json::array out;
    for (const auto& it : items) {
        std::istringstream in(it);
        std::string name, w, weight;
        in >> name >> w >> weight;
        if (!name.empty() && name.back() == ',') name.pop_back();
        if (w != "weight") throw dump::DumpError(fmt::format("{}: unexpected item '{}'", what, it));
        out.push_back(boost::json::object{{"name", name}, {"weight", dump::integer(weight, what)}});
    }
    return out;
}

boost::json::array strings(const std::vector<std::string>& v) {
    boost::json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

std::string need(const Entry& e, std::string_view key, std::size_t indent) {
    auto v = e.get(key, indent);
    if (!v) throw dump::DumpError(fmt::format("'{}': no '{}' in keepalived's dump", e.head, key));
    return *v;
}

boost::json::object instance(const Entry& e) {
    const std::string name = dump::value_of(e.head);
    const std::string what = "vrrp_instance " + name;
    boost::json::object o;
    o["name"] = name;
    o["state"] = need(e, "Wantstate", 3);
    // "eth0", or with a VMAC "pub_a, vmac on ens7f0" / "vrrp.51, vmac on eth0, xmit base i/f".
    std::string iface = need(e, "Interface", 3);
    boost::json::value vmac = nullptr;
    if (auto on = iface.find(", vmac on "); on != std::string::npos) {
        vmac = iface.substr(0, on);
        iface = iface.substr(on + 10);
        if (auto comma = iface.find(','); comma != std::string::npos) iface.resize(comma);
    }
    o["interface"] = iface;
    o["vrid"] = dump::integer(need(e, "Virtual Router ID", 3), what);
    o["priority"] = dump::integer(need(e, "Priority", 3), what);
    o["version"] = dump::integer(need(e, "VRRP Version", 3), what);
    o["advert_int"] = dump::seconds(need(e, "Advert interval", 3), what);
    o["nopreempt"] = need(e, "Preempt", 3) == "disabled";
    // Printed only when set.
    o["preempt_delay"] = e.get("Preempt delay", 3) ? dump::seconds(*e.get("Preempt delay", 3), what) : 0.0;
    // Printed for VRRPv2 only: "SIMPLE_PASSWORD", "IPSEC_AH" or "none".
    const auto auth = e.get("Authentication type", 3).value_or("none");
    o["auth_type"] = auth == "SIMPLE_PASSWORD" ? "PASS" : auth == "IPSEC_AH" ? "AH" : auth == "none" ? "NONE" : auth;
    if (auto pass = e.get("Password", 3)) o["auth_pass"] = *pass;
    else o["auth_pass"] = nullptr;
    // "203.0.113.2 (from configuration)" when unicast_src_ip was given; "(none)" or an
    // address keepalived picked itself otherwise.
    const auto src = need(e, "Using src_ip", 3);
    if (auto from = src.find(" (from configuration)"); from != std::string::npos) o["unicast_src_ip"] = src.substr(0, from);
    else o["unicast_src_ip"] = nullptr;
    boost::json::array peers;
    for (const auto& p : e.list("Unicast Peer :", 3)) peers.emplace_back(p.substr(0, p.find(' ')));
    o["unicast_peers"] = std::move(peers);
    boost::json::array vips, excluded;
    for (const auto& l : e.body)
        if (l.indent == 3 && l.text.starts_with("Virtual IP (") && l.text.ends_with("):"))
            for (const auto& v : e.list(l.text, 3)) vips.emplace_back(vip(v));
    for (const auto& v : e.list("Virtual IP Excluded :", 3)) excluded.emplace_back(vip(v));
    o["vips"] = std::move(vips);
    o["excluded_vips"] = std::move(excluded);
    o["track_interfaces"] = weighted(e.list("Tracked interfaces :", 3), what);
    o["track_scripts"] = weighted(e.list("Tracked scripts :", 3), what);
    o["use_vmac"] = vmac;
    o["garp_master_delay"] = dump::seconds(need(e, "Gratuitous ARP delay", 3), what);
    o["garp_master_repeat"] = dump::integer(need(e, "Gratuitous ARP repeat", 3), what);
    o["garp_master_refresh"] = dump::seconds(need(e, "Gratuitous ARP refresh", 3), what);
    return o;
}

boost::json::object script(const Entry& e) {
    const std::string name = dump::value_of(e.head);
    const std::string what = "vrrp_script " + name;
    return {{"name", name},
            {"script", dump::command(need(e, "Command", 3))},
            {"interval", dump::seconds(need(e, "Interval", 3), what)},
            {"timeout", dump::seconds(need(e, "Timeout", 3), what)},
            {"weight", dump::integer(need(e, "Weight", 3), what)},
            {"rise", dump::integer(need(e, "Rise", 3), what)},
            {"fall", dump::integer(need(e, "Fall", 3), what)},
            {"user", need(e, "Script uid:gid", 3)},
            {"init_state", need(e, "Init state", 3)}};
}

boost::json::object sync_group(const Entry& e) {
    // "G1, FAULT": the name and the group's current state (not config).
    std::string name = dump::value_of(e.head);
    if (auto comma = name.rfind(", "); comma != std::string::npos) name.resize(comma);
    return {{"name", name},
            {"instances", strings(e.list("VRRP member instances :", 3))},
            {"track_scripts", weighted(e.list("Tracked scripts :", 3), "vrrp_sync_group " + name)}};
}

}  // namespace

boost::json::object vrrp_reading(const std::vector<std::string>& lines) {
    boost::json::array scripts, instances, groups;
    for (const auto& e : dump::entries(dump::section(lines, "VRRP Scripts"), 1))
        if (e.head.starts_with("VRRP Script = ")) scripts.push_back(script(e));
    for (const auto& e : dump::entries(dump::section(lines, "VRRP Topology"), 1))
        if (e.head.starts_with("VRRP Instance = ")) instances.push_back(instance(e));
    for (const auto& e : dump::entries(dump::section(lines, "VRRP Sync groups"), 1))
        if (e.head.starts_with("VRRP Sync Group = ")) groups.push_back(sync_group(e));
    return {{"vrrp_scripts", std::move(scripts)}, {"vrrp_instances", std::move(instances)}, {"sync_groups", std::move(groups)}};
}

}  // namespace lvsd::testing::keepalived
