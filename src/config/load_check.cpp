// The health checks of a real server: TCP_CHECK, HTTP_GET, SSL_GET, PROXY_CHECK, MISC_CHECK,
// UDP_CHECK, DNS_CHECK and SMTP_CHECK.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <variant>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/script_security.hpp"
#include "config/detail/text.hpp"

// GCC 12 reports a std::string assigned a short literal (`one.path = "/"`) as an
// overlapping memcpy once it inlines the assignment into read_check (GCC bug 105329, a
// false positive); with the standard headers from the precompiled header (a different
// inlining order) the same false positive comes as -Wstringop-overflow.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wrestrict"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif

namespace lvsd::config::detail {

using namespace std::chrono_literals;

namespace {

// Hints for keys of one section only (a 'host' elsewhere is not keepalived's SMTP host block).
const std::map<std::string_view, std::string_view> kSmtpCheckHints = {
    {"host", "keepalived's deprecated SMTP_CHECK host { } blocks are not supported; give a list of SMTP_CHECK "
             "groups instead, one per host: SMTP_CHECK = ( { connect_ip = ...; }, { connect_ip = ...; } );"},
};

}  // namespace

std::optional<StatusCodes> Loader::read_status_codes(Group& g) {
    const lc::Setting* s = g.find("status_code");
    if (!s) return std::nullopt;
    StatusCodes codes;
    auto bad = [&](const std::string& what) {
        g.error(*s, fmt::format("status_code {} is not a status code 100..599, a range \"200-299\" or a list of them", what));
    };
    if (s->getType() == lc::Setting::TypeInt) {
        const int v = *s;
        if (v < 100 || v > 599) return bad(show(*s)), std::nullopt;
        codes.emplace_back(v, v);
    } else if (s->getType() == lc::Setting::TypeString || s->isArray() || s->isList()) {
        std::vector<std::string> parts;
        if (s->getType() == lc::Setting::TypeString) {
            std::stringstream ss(s->c_str());
            for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
        } else {
            for (int i = 0; i < s->getLength(); ++i) {
                const lc::Setting& e = (*s)[i];
                if (e.getType() == lc::Setting::TypeInt) parts.push_back(std::to_string(static_cast<int>(e)));
                else if (e.getType() == lc::Setting::TypeString) parts.push_back(e.c_str());
                else return bad(show(e)), std::nullopt;
            }
        }
        if (parts.empty()) return bad("(empty)"), std::nullopt;
        for (auto p : parts) {
            p.erase(0, p.find_first_not_of(' '));
            p.erase(p.find_last_not_of(' ') + 1);
            unsigned lo = 0, hi = 0;
            const auto dash = p.find('-');
            auto num = [](std::string_view t, unsigned& out) {
                auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
                return !t.empty() && ec == std::errc{} && ptr == t.data() + t.size();
            };
            const bool parsed = dash == std::string::npos ? (num(p, lo) && ((hi = lo), true))
                                                          : (num(std::string_view(p).substr(0, dash), lo) &&
                                                             num(std::string_view(p).substr(dash + 1), hi));
            if (!parsed || lo < 100 || hi > 599 || lo > hi) return bad(fmt::format("\"{}\"", p)), std::nullopt;
            codes.emplace_back(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
        }
    } else {
        return bad(fmt::format("({})", type_name(s->getType()))), std::nullopt;
    }
    return codes;
}

namespace {

// "http://host[:port]/path" -> the Host header value, or an error text.
std::variant<std::string, std::string> parse_proxy_url(std::string_view url) {
    using R = std::variant<std::string, std::string>;
    auto fail = [](std::string why) { return R(std::in_place_index<1>, std::move(why)); };
    if (url.starts_with("https://"))
        return fail("https:// would need CONNECT and TLS; PROXY_CHECK sends plain GET requests, use an http:// URL");
    if (!url.starts_with("http://")) return fail("must start with http://");
    if (url.find_first_of(" \t\r\n") != std::string_view::npos) return fail("contains blanks or line breaks");
    std::string_view rest = url.substr(7);
    const auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    if (authority.find('@') != std::string_view::npos) return fail("user credentials in the URL are not supported");
    std::string_view host = authority, port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("has an unterminated [IPv6] host");
        host = authority.substr(1, close - 1);
        if (!parse_address(host) || !parse_address(host)->is_v6()) return fail("has a bad [IPv6] host");
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return fail("has junk after the [IPv6] host");
            port = after.substr(1);
        }
    } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return fail("has no host");
    if (!authority.starts_with('[') &&
        !std::all_of(host.begin(), host.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }))
        return fail("has an invalid host name");
    if (!port.empty() || authority.ends_with(':')) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p < 1 || p > 65535)
            return fail("has a port outside 1..65535");
    }
    return R(std::in_place_index<0>, std::string(authority));
}

}  // namespace

std::optional<MiscProbe> Loader::read_misc(Group& g) {
    MiscProbe p;
    bool ok = true;
    if (auto v = g.boolean("misc_dynamic")) p.dynamic = *v;
    if (auto v = g.string("user")) {
        const lc::Setting& at = *g.find("user");
        auto words = detail::split_command(*v).value_or(std::vector<std::string>{});
        const struct passwd* pw = words.empty() || words.size() > 2 ? nullptr : ::getpwnam(words[0].c_str());
        if (words.empty() || words.size() > 2) {
            g.error(at, fmt::format("user = \"{}\" must be \"USER\" or \"USER GROUP\"", *v));
            ok = false;
        } else if (!pw && host_checks()) {
            g.error(at, fmt::format("user \"{}\" is not known on this host", words[0]));
            ok = false;
        } else if (!pw) {
            p.user = ScriptUser{*v, 0, 0};  // checked on the host that runs it
        } else {
            ScriptUser u{*v, pw->pw_uid, pw->pw_gid};
            if (words.size() == 2) {
                if (const struct group* gr = ::getgrnam(words[1].c_str())) u.gid = gr->gr_gid;
                else g.error(at, fmt::format("group \"{}\" is not known on this host", words[1])), ok = false;
            }
            p.user = u;
        }
    } else if (g.find("user")) {
        ok = false;
    }
    auto text = g.string("misc_path");
    if (!text) {
        if (!g.find("misc_path")) g.missing("misc_path", "(the command to run)");
        return std::nullopt;
    }
    const lc::Setting& at = *g.find("misc_path");
    p.text = *text;
    auto words = detail::split_command(*text);
    if (!words) {
        g.error(at, fmt::format("misc_path: unterminated quote in: {}", *text));
        return std::nullopt;
    }
    if (words->empty()) {
        g.error(at, "misc_path is empty; give the command to run");
        return std::nullopt;
    }
    // A shell only when the text needs one (a pipe, a redirection, a variable...).
    const bool shell = detail::needs_shell(*text);
    p.argv = shell ? std::vector<std::string>{"/bin/sh", "-c", *text} : *words;
    const std::string& exe = words->front();
    if (!shell && exe.front() != '/') {
        g.error(at, fmt::format("misc_path: '{}' is not an absolute path (lvsd runs it without a shell or PATH)", exe));
        return std::nullopt;
    }
    const uint32_t uid = p.user ? p.user->uid : 0;
    if (!host_checks()) return ok ? std::optional<MiscProbe>(std::move(p)) : std::nullopt;
    const std::string runs_as = p.user ? detail::split_command(p.user->name).value().front() : std::string("root");
    if (auto why = unsafe_command(p.argv, uid, runs_as)) {
        g.error(at, fmt::format("misc_path: {}", *why));
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
    return p;
}

// path, status_code and digest: in HTTP_GET itself or in each of its url entries.
void Loader::read_http_target(Group& g, HttpProbe& p) {
    if (auto v = g.string("path")) {
        if (!v->starts_with('/') || v->find_first_of(" \t\r\n") != std::string::npos)
            g.error(*g.find("path"), fmt::format("path = \"{}\" must start with '/' and contain no blanks or line breaks", *v));
        else p.path = *v;
    }
    if (auto v = read_status_codes(g)) p.status_code = *v;
    if (auto v = g.string("digest")) {
        // keepalived's genhash prints the MD5 as 32 hex digits.
        std::string d = *v;
        std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (d.size() != 32 || !std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isxdigit(c); }))
            g.error(*g.find("digest"), fmt::format("digest = \"{}\" must be an MD5 in 32 hex digits (as genhash prints it)", *v));
        else p.digest = d;
    }
}

std::vector<HealthCheck> Loader::read_check(const lc::Setting& s, std::string_view kind, const RealServer& rs,
                                            const VirtualServer& vs, const std::string& rs_context) {
    Group g(*this, s, fmt::format("{} of {}", kind, rs_context), detail::keys_of(kind),
            kind == "SMTP_CHECK" ? &kSmtpCheckHints : nullptr);
    const std::size_t errors_before = diagnostics_.size();
    HealthCheck hc;
    std::vector<HealthCheck> url_checks;  // HTTP_GET with url entries: one check each
    hc.where = g.where();
    hc.connect_ip = rs.address;
    hc.delay_loop = vs.delay_loop;
    hc.initially_up = !vs.alpha;
    const bool network = kind != "MISC_CHECK";  // MISC_CHECK has no target of its own
    if (!network) {
        hc.connect_port = rs.port;
    } else if (auto v = g.address("connect_ip")) {
        if (v->is_unspecified() || v->is_multicast()) g.error(*g.find("connect_ip"), fmt::format("connect_ip {} must be a unicast address", *v));
        else hc.connect_ip = *v;
    }
    if (!network) {
    } else if (auto v = g.integer("connect_port", 1, 65535)) {
        hc.connect_port = static_cast<uint16_t>(*v);
    } else if (!g.find("connect_port")) {
        hc.connect_port = rs.port;
        // A real server without a port (fwmark or all-ports service): SMTP has its own,
        // 25 (RFC 5321 section 4.5.4.2).
        if (rs.port == 0 && kind == "SMTP_CHECK") hc.connect_port = 25;
        else if (rs.port == 0 && vs_port_known_)
            g.error("the real server has no port (fwmark or all-ports service), so the check needs connect_port");
    }
    if (auto v = network ? g.address("bindto") : std::nullopt) {
        if (family_of(*v) != family_of(hc.connect_ip))
            g.error(*g.find("bindto"), fmt::format("bindto {} is {} but the check connects to {} ({})", *v,
                                                   family_name(family_of(*v)), hc.connect_ip, family_name(family_of(hc.connect_ip))));
        else hc.bindto = *v;
    }
    if (auto v = network ? g.integer("bind_port", 1, 65535) : std::nullopt) hc.bind_port = static_cast<uint16_t>(*v);
    if (auto v = network ? g.seconds("connect_timeout", 1ms, 3600s) : std::nullopt) hc.connect_timeout = *v;
    if (auto v = g.seconds("delay_loop", 100ms, 86400s)) hc.delay_loop = *v;
    if (auto v = g.seconds("delay_before_retry", 0ms, 3600s)) hc.delay_before_retry = *v;
    // keepalived's retry counts the attempts *after* the first failure.
    auto retry = g.integer("retry", 0, 99);
    auto fall = g.integer("fall", 1, 100);
    if (g.find("retry") && g.find("fall"))
        g.error(*g.find("fall"), "give either retry (keepalived: failures after the first) or fall (consecutive failures), not both");
    else if (retry) hc.fall = static_cast<uint32_t>(*retry + 1);
    else if (fall) hc.fall = static_cast<uint32_t>(*fall);
    if (auto v = g.integer("rise", 1, 100)) hc.rise = static_cast<uint32_t>(*v);

    if (kind == "TCP_CHECK") {
        TcpProbe p;
        if (auto v = g.boolean("half_open")) p.half_open = *v;
        hc.probe = p;
    } else if (kind == "HTTP_GET" || kind == "SSL_GET") {
        HttpProbe p;
        read_http_target(g, p);
        if (kind == "SSL_GET") {
            p.tls = true;
            if (auto v = g.boolean("ssl_verify")) p.ssl_verify = *v;
            if (auto v = g.string("ssl_ca")) {
                const lc::Setting& at = *g.find("ssl_ca");
                struct stat st {};
                if (v->empty() || v->front() != '/') g.error(at, fmt::format("ssl_ca \"{}\" must be an absolute path", *v));
                else if (!host_checks() && p.ssl_verify) p.ssl_ca = *v;
                else if (::stat(v->c_str(), &st) != 0) g.error(at, fmt::format("ssl_ca '{}': {}", *v, std::strerror(errno)));
                else if (!S_ISREG(st.st_mode)) g.error(at, fmt::format("ssl_ca '{}' is not a regular file (a PEM bundle)", *v));
                else if (!p.ssl_verify) g.error(at, "ssl_ca is used only with ssl_verify = true");
                else p.ssl_ca = *v;
            }
        }
        if (auto v = g.string("virtualhost")) {
            if (v->empty() || v->find_first_of(" \t\r\n") != std::string::npos)
                g.error(*g.find("virtualhost"), fmt::format("virtualhost = \"{}\" must be a host name without blanks", *v));
            else p.virtualhost = *v;
        }
        if (auto v = g.string("body_contains")) p.body_contains = *v;
        hc.probe = p;
        // keepalived's several `url { path; digest; status_code; }` blocks: each is probed
        // as a check of its own (same settings), and the real server needs them all.
        if (const lc::Setting* u = g.find("url")) {
            for (const char* direct : {"path", "status_code", "digest"})
                if (g.find(direct))
                    g.error(*g.find(direct), fmt::format("{} is given both here and in url entries; give it in each url entry", direct));
            std::vector<const lc::Setting*> entries;
            if (u->isGroup()) entries.push_back(u);
            else if (u->isList() && u->getLength() > 0)
                for (int i = 0; i < u->getLength(); ++i) entries.push_back(&(*u)[i]);
            else g.wrong_type(*u, "url", "a group { path = ...; } or a non-empty list of them");
            for (std::size_t i = 0; i < entries.size(); ++i) {
                if (!entries[i]->isGroup()) {
                    g.wrong_type(*entries[i], fmt::format("url[{}]", i), "a group { path = ...; }");
                    continue;
                }
                Group ug(*this, *entries[i], fmt::format("url {} of {}", i + 1, g.context()), detail::keys_of("url"));
                HttpProbe one = p;
                one.path = "/";
                one.status_code = HttpProbe{}.status_code;
                one.digest.clear();
                read_http_target(ug, one);
                if (!ug.find("path")) ug.missing("path");
                HealthCheck each = hc;
                each.probe = std::move(one);
                each.where = ug.where();
                url_checks.push_back(std::move(each));
            }
        }
    } else if (kind == "UDP_CHECK") {
        UdpProbe p;
        if (auto v = g.string("payload")) {
            // keepalived writes the payload as hex digits (blanks allowed between bytes).
            std::string hex;
            for (char ch : *v)
                if (ch != ' ' && ch != ':') hex += ch;
            bool ok = hex.size() % 2 == 0 && hex.size() <= 2 * 1400 &&
                      std::all_of(hex.begin(), hex.end(), [](unsigned char ch) { return std::isxdigit(ch); });
            if (!ok) {
                g.error(*g.find("payload"), fmt::format("payload = \"{}\" must be hex digits, two per byte, at most 1400 bytes", *v));
            } else {
                for (std::size_t i = 0; i < hex.size(); i += 2)
                    p.payload += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
            }
        }
        if (auto v = g.boolean("require_reply")) p.require_reply = *v;
        hc.probe = std::move(p);
    } else if (kind == "DNS_CHECK") {
        DnsProbe p;
        // keepalived's DNS_CHECK types.
        if (auto v = g.choice("type", {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"})) p.type = *v;
        if (auto v = g.string("name")) {
            // A domain name in presentation form: labels of 1-63 characters, 253 in all.
            std::string_view n = *v;
            bool ok = !n.empty() && n.size() <= 254 && n.find_first_of(" \t\r\n\\") == std::string_view::npos;
            if (ok && n != ".") {
                std::string_view rest = n.ends_with('.') ? n.substr(0, n.size() - 1) : n;
                while (ok && !rest.empty()) {
                    const auto dot = rest.find('.');
                    const auto label = rest.substr(0, dot);
                    ok = !label.empty() && label.size() <= 63;
                    rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
                    if (dot != std::string_view::npos && rest.empty()) ok = false;
                }
            }
            if (!ok) g.error(*g.find("name"), fmt::format("name = \"{}\" is not a domain name (labels of 1-63 characters, no blanks)", *v));
            else p.name = *v;
        }
        hc.probe = std::move(p);
    } else if (kind == "SMTP_CHECK") {
        SmtpProbe p;
        if (auto v = g.string("helo_name")) {
            // It ends up on the HELO command line: no blanks or line breaks (a second command).
            const bool ok = !v->empty() && v->size() <= 255 && std::all_of(v->begin(), v->end(), [](unsigned char c) {
                return c > 0x20 && c < 0x7f;
            });
            if (!ok)
                g.error(*g.find("helo_name"), fmt::format("helo_name = \"{}\" must be a host name or address literal: 1-255 "
                                                          "visible ASCII characters, no blanks", *v));
            else p.helo_name = *v;
        }
        hc.probe = std::move(p);
    } else if (kind == "MISC_CHECK") {
        // keepalived: misc_timeout defaults to the check's delay_loop.
        hc.connect_timeout = hc.delay_loop;
        if (auto v = g.seconds("misc_timeout", 1ms, 3600s)) hc.connect_timeout = *v;
        if (auto p = read_misc(g)) hc.probe = std::move(*p);
    } else {
        ProxyProbe p;
        if (auto v = g.string("url")) {
            auto r = parse_proxy_url(*v);
            if (r.index() == 1) g.error(*g.find("url"), fmt::format("url \"{}\" {}", *v, std::get<1>(r)));
            else p.url = *v, p.host = std::get<0>(r);
        } else if (!g.find("url")) {
            g.missing("url", "(the absolute http:// URL to fetch through the proxy)");
        }
        if (auto v = read_status_codes(g)) p.status_code = *v;
        hc.probe = std::move(p);
    }
    if (diagnostics_.size() != errors_before) return {};
    if (!url_checks.empty()) return url_checks;
    return {hc};
}

}  // namespace lvsd::config::detail
