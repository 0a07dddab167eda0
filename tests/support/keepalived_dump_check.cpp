// The checker child's dump ("LVS Topology", "Health checkers") -> reading.
//
// In "LVS Topology" every virtual server and group sits under its own indent-1 sub-header
// (" ------< Virtual server >------"); a virtual server's fields are at indent 3, and each
// of its real servers starts with an indent-3 "------< Real server >------" and has its
// fields at indent 3 too. "Health checkers" lists one entry per check, headed
// "[VS]:proto:port -> [RS]:proto:port" where VS is keepalived's name of the virtual server.
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "support/keepalived_dump.hpp"
#include "support/keepalived_reading.hpp"

namespace lvsd::testing::keepalived {

namespace {

using dump::Line;
namespace json = boost::json;

std::optional<std::string> field(const std::vector<Line>& body, std::string_view key) {
    const std::string prefix = std::string(key) + " = ";
    for (const auto& l : body)
        if (l.indent == 3 && l.text.starts_with(prefix)) return l.text.substr(prefix.size());
    return std::nullopt;
}

std::string need(const std::vector<Line>& body, std::string_view key, const std::string& what) {
    auto v = field(body, key);
    if (!v) throw dump::DumpError(fmt::format("{}: no '{}' in keepalived's dump", what, key));
    return *v;
}

bool flag_on(const std::vector<Line>& body, std::string_view text, const std::string& what) {
    for (const auto& l : body)
        if (l.indent == 3 && l.text.starts_with(text)) return l.text.ends_with("ON");
    throw dump::DumpError(fmt::format("{}: no '{}' in keepalived's dump", what, text));
}

// "[192.0.2.1]:80" / "[2001:db8::1]:80" -> {"192.0.2.1", 80}.
std::pair<std::string, long> bracketed(const std::string& s, const std::string& what) {
    const auto close = s.find(']');
    if (s.empty() || s.front() != '[' || close == std::string::npos)
        throw dump::DumpError(fmt::format("{}: unexpected address '{}'", what, s));
    const auto colon = s.rfind(':');
    return {s.substr(1, close - 1), colon > close ? dump::integer(s.substr(colon + 1), what) : 0};
}

std::string host_port(const std::string& addr, long port) {
    return addr.find(':') != std::string::npos ? fmt::format("[{}]:{}", addr, port) : fmt::format("{}:{}", addr, port);
}

// A check's entry in "Health checkers" -> {"type", ...}.
json::object check(const dump::Entry& e, const std::string& what) {
    json::object o;
    const std::string method = e.get("Keepalive method", 3).value_or("");
    o["type"] = method.substr(0, method.find(','));
    const auto conn = e.list("Connection", 3);
    for (const auto& c : conn) {
        if (c.starts_with("Dest = ")) {
            auto [a, p] = bracketed(c.substr(7), what);
            o["connect_ip"] = a;
            o["connect_port"] = p;
        } else if (c.starts_with("Timeout = ")) {
            o["connect_timeout"] = dump::seconds(c.substr(10), what);
        }
    }
    o["retry"] = dump::integer(e.get("Retries", 3).value_or("0"), what);
    // Without its own delay_before_retry a check uses the default keepalived prints beside it.
    if (auto d = e.get("Delay before retry", 3)) o["delay_before_retry"] = dump::seconds(*d, what);
    else if (auto dd = e.get("Default delay before retry", 3)) o["delay_before_retry"] = dump::seconds(*dd, what);
    if (auto d = e.get("Delay loop", 3)) o["delay_loop"] = dump::seconds(*d, what);
    // HTTP_GET / SSL_GET: "Checked url = PATH" with its status codes and digest beneath.
    json::array urls;
    for (std::size_t i = 0; i < e.body.size(); ++i) {
        const auto& l = e.body[i];
        if (l.indent != 3 || !l.text.starts_with("Checked url = ")) continue;
        json::object u{{"path", l.text.substr(14)}};
        json::array codes;
        json::value digest = nullptr;
        for (std::size_t j = i + 1; j < e.body.size() && e.body[j].indent > 3; ++j) {
            const auto& t = e.body[j].text;
            if (e.body[j].indent == 7 && !t.empty() && std::isdigit(static_cast<unsigned char>(t[0]))) {
                // "200" or a range "200-299"
                codes.emplace_back(t);
            } else if (t.starts_with("digest = ")) {
                digest = t.substr(9);
            }
        }
        u["status_code"] = std::move(codes);
        u["digest"] = digest;
        urls.push_back(std::move(u));
    }
    if (!urls.empty()) o["urls"] = std::move(urls);
    if (auto s = e.get("script", 3)) o["misc_path"] = dump::command(*s);
    if (auto t = e.get("timeout", 3)) o["misc_timeout"] = dump::seconds(*t, what);
    if (auto d = e.get("dynamic", 3)) o["misc_dynamic"] = (*d == "YES" || *d == "yes");
    return o;
}

struct Server {
    std::string key;  // keepalived's name of the virtual server in "Health checkers"
    json::object value;
};

Server virtual_server(const std::string& head, const std::vector<Line>& body) {
    const std::string what = "virtual_server '" + head + "'";
    // The virtual server's own fields come before its first real server.
    std::vector<std::vector<Line>> reals;
    std::vector<Line> own;
    for (const auto& l : body) {
        if (l.indent == 3 && l.text == "------< Real server >------") reals.emplace_back();
        else if (!reals.empty()) reals.back().push_back(l);
        else own.push_back(l);
    }
    Server s;
    json::object& o = s.value;
    const std::string proto = field(own, "protocol").value_or("");
    std::string lower = proto;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (head.starts_with("VS VIP = ")) {
        // "VS VIP = 192.0.2.1, VPORT = 80"
        const auto comma = head.find(", VPORT = ");
        if (comma == std::string::npos) throw dump::DumpError(what + ": unexpected head");
        const std::string addr = head.substr(9, comma - 9);
        const long port = dump::integer(head.substr(comma + 10), what);
        o["service"] = proto + " " + host_port(addr, port);
        s.key = fmt::format("[{}]:{}:{}", addr, lower, port);
    } else if (head.starts_with("VS GROUP = ")) {
        // "VS GROUP = [name]:0"
        const std::string g = head.substr(11);
        o["service"] = "group " + g.substr(1, g.find(']') - 1);
        s.key = g;
    } else if (head.starts_with("VS FWMARK = ")) {
        o["service"] = "FWM " + head.substr(12);
        s.key = "FWM " + head.substr(12);
    } else {
        throw dump::DumpError(what + ": unexpected head");
    }
    o["scheduler"] = need(own, "lvs_sched", what);
    o["forwarding"] = need(own, "default forwarding method", what);
    o["persistence_timeout"] = field(own, "persistence timeout") ? dump::seconds(*field(own, "persistence timeout"), what) : 0.0;
    o["delay_loop"] = dump::seconds(need(own, "delay_loop", what), what);
    // "quorum = 1, hysteresis = 0"
    const std::string q = need(own, "quorum", what);
    const auto h = q.find(", hysteresis = ");
    if (h == std::string::npos) throw dump::DumpError(what + ": unexpected quorum line '" + q + "'");
    o["quorum"] = dump::integer(q.substr(0, h), what);
    o["hysteresis"] = dump::integer(q.substr(h + 15), what);
    if (auto sorry = field(own, "sorry server")) {
        // "[192.0.2.254]:tcp:80"
        const auto close = sorry->find(']');
        const auto colon = sorry->rfind(':');
        o["sorry_server"] = host_port(sorry->substr(1, close - 1), dump::integer(sorry->substr(colon + 1), what));
    } else {
        o["sorry_server"] = nullptr;
    }
    json::array rs;
    for (const auto& r : reals) {
        if (r.empty() || !r.front().text.starts_with("RIP = "))
            throw dump::DumpError(what + ": a real server without 'RIP = '");
        // "RIP = 192.0.2.10, RPORT = 80, WEIGHT = 3 EFF WEIGHT = 3"
        std::string head_line = r.front().text;
        const auto p1 = head_line.find(", RPORT = "), p2 = head_line.find(", WEIGHT = ");
        if (p1 == std::string::npos || p2 == std::string::npos) throw dump::DumpError(what + ": unexpected '" + head_line + "'");
        const std::string addr = head_line.substr(6, p1 - 6);
        const long port = dump::integer(head_line.substr(p1 + 10, p2 - p1 - 10), what);
        std::istringstream w(head_line.substr(p2 + 11));
        std::string weight;
        w >> weight;
        const std::string rwhat = fmt::format("{} real_server {}", what, host_port(addr, port));
        rs.push_back(json::object{{"address", addr},
                                  {"port", port},
                                  {"weight", dump::integer(weight, rwhat)},
                                  {"forwarding", need(r, "forwarding method", rwhat)},
                                  {"inhibit_on_failure", flag_on(r, "Inhibit on failure is", rwhat)},
                                  {"checks", json::array{}},
                                  {"key", fmt::format("[{}]:{}:{}", addr, lower, port)}});
    }
    o["real_servers"] = std::move(rs);
    return s;
}

}  // namespace

boost::json::object checker_reading(const std::vector<std::string>& lines) {
    const auto topo = dump::section(lines, "LVS Topology");
    json::array groups;
    std::vector<Server> servers;
    // Walk the indent-1 sub-sections.
    std::string sub;
    for (std::size_t i = 0; i < topo.size(); ++i) {
        const auto& l = topo[i];
        if (l.indent != 1) continue;
        if (l.text.starts_with("------<")) {
            sub = l.text;
            continue;
        }
        std::vector<Line> body;
        for (std::size_t j = i + 1; j < topo.size() && topo[j].indent > 1; ++j) body.push_back(topo[j]);
        if (sub == "------< Virtual server group >------" && l.text.starts_with("Virtual Server Group = ")) {
            std::string name = dump::value_of(l.text);
            name.resize(name.find(','));
            json::array members;
            // "VIP = 192.0.2.1, VPORT = 80", "VIP range = ...", "FWMARK = 7"
            for (const auto& b : body) {
                if (b.indent != 3) continue;
                std::string m = b.text;
                if (m.starts_with("VIP = ") || m.starts_with("VIP Range = ")) {
                    // "VIP = 192.0.2.1, VPORT = 80", "VIP Range = 2001:db8::2-2001:db8::9, VPORT = 80"
                    const auto from = m.find(" = ") + 3;
                    const auto c = m.find(", VPORT = ");
                    if (c == std::string::npos) throw dump::DumpError("virtual_server_group " + name + ": unexpected '" + m + "'");
                    members.emplace_back(m.substr(from, c - from) + " " + m.substr(c + 10));
                } else if (m.starts_with("FWMARK = ")) {
                    members.emplace_back("fwmark " + m.substr(9));
                } else {
                    members.emplace_back(m);
                }
            }
            groups.push_back(json::object{{"name", name}, {"members", std::move(members)}});
        } else if (sub == "------< Virtual server >------") {
            servers.push_back(virtual_server(l.text, body));
        }
    }
    // Checks, attached to their real server by keepalived's names of both.
    for (const auto& e : dump::entries(dump::section(lines, "Health checkers"), 1)) {
        const auto arrow = e.head.find(" -> ");
        if (arrow == std::string::npos) continue;
        const std::string vs = e.head.substr(0, arrow), real = e.head.substr(arrow + 4);
        bool placed = false;
        for (auto& s : servers) {
            if (s.key != vs) continue;
            for (auto& r : s.value["real_servers"].as_array()) {
                auto& ro = r.as_object();
                if (ro["key"].as_string() != real) continue;
                ro["checks"].as_array().push_back(check(e, e.head));
                placed = true;
                break;
            }
            if (placed) break;
        }
        if (!placed) throw dump::DumpError(fmt::format("a health checker for '{}' matches no real server in the dump", e.head));
    }
    json::array vss;
    for (auto& s : servers) {
        for (auto& r : s.value["real_servers"].as_array()) r.as_object().erase("key");
        vss.push_back(std::move(s.value));
    }
    return {{"virtual_servers", std::move(vss)}, {"virtual_server_groups", std::move(groups)}};
}

}  // namespace lvsd::testing::keepalived
