// keepalived's virtual_server and virtual_server_group -> lvsd's virtual_servers and
// virtual_server_groups, with real servers and their checks.
#include <algorithm>
#include <array>
#include <map>

#include <fmt/format.h>

#include "common/net.hpp"
#include "config/detail/keepalived_translate.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::keepalived::detail {

namespace {

constexpr std::array<std::string_view, 14> kSchedulers{"rr", "wrr", "lc",  "wlc", "lblc", "lblcr", "dh",
                                                       "sh", "sed", "nq",  "fo",  "ovf",  "mh",    "twos"};

// Settings keepalived lets a virtual server or real server give as defaults for its checks.
struct CheckDefaults {
    std::map<std::string, const Statement*> by_key;  // connect_timeout, retry, delay_before_retry, delay_loop, virtualhost
};

constexpr std::array<std::string_view, 5> kInherited{"connect_timeout", "retry", "delay_before_retry", "delay_loop",
                                                     "virtualhost"};

bool inherited(std::string_view kw) { return std::find(kInherited.begin(), kInherited.end(), kw) != kInherited.end(); }

// One check setting common to every kind; true when it was one.
bool common_check_key(Ctx& ctx, const Statement& k, Out& c) {
    const std::string& kw = k.keyword;
    if (kw == "connect_ip" || kw == "bindto") {
        if (auto v = ctx.word(k)) c.add(with_comments(Out::string(kw, *v), k));
    } else if (kw == "connect_port" || kw == "bind_port") {
        if (auto v = ctx.integer(k, 1, 65535)) c.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
    } else if (kw == "connect_timeout") {
        if (auto v = ctx.seconds(k, 0.001, 3600)) c.add(with_comments(Out::literal(kw, *v), k));
    } else if (kw == "delay_loop") {
        if (auto v = ctx.seconds(k, 0.1, 86400)) c.add(with_comments(Out::literal(kw, *v), k));
    } else if (kw == "delay_before_retry") {
        if (auto v = ctx.seconds(k, 0, 3600)) c.add(with_comments(Out::literal(kw, *v), k));
    } else if (kw == "retry") {
        if (auto v = ctx.integer(k, 0, 99)) c.add(with_comments(Out::literal("retry", std::to_string(*v)), k));
    } else if (kw == "warmup") {
        ctx.left_out(c, k, "lvsd starts checking at once (its first probe is spread over the delay_loop)");
    } else {
        return false;
    }
    return true;
}

// HTTP_GET / SSL_GET's url { path; digest; status_code }.
Out url_entry(Ctx& ctx, const Statement& u) {
    static constexpr std::array<std::string_view, 3> kKnown{"path", "digest", "status_code"};
    Out e = with_comments(Out::group(), u);
    for (const auto& k : u.children) {
        if (k.keyword == "path" || k.keyword == "digest") {
            if (auto v = ctx.word(k)) e.add(with_comments(Out::string(k.keyword, *v), k));
        } else if (k.keyword == "status_code") {
            std::string codes;
            for (const auto& a : k.args) codes += (codes.empty() ? "" : ",") + a;
            if (codes.empty()) ctx.error(k, "status_code needs a code or a range");
            else e.add(with_comments(Out::string("status_code", codes), k));
        } else {
            ctx.unexpected(k, "url", kKnown);
        }
    }
    return e;
}

Out check(Ctx& ctx, const Statement& s, const CheckDefaults& defaults) {
    Out c = with_comments(Out::group(), s);
    const std::string& kind = s.keyword;
    std::vector<Out> urls;
    for (const auto& k : s.children) {
        const std::string& kw = k.keyword;
        if (common_check_key(ctx, k, c)) continue;
        if (kw == "nb_get_retry" && (kind == "HTTP_GET" || kind == "SSL_GET")) {
            // keepalived's older name of retry, still read by HTTP_GET and SSL_GET.
            if (auto v = ctx.integer(k, 0, 99)) c.add(with_comments(Out::literal("retry", std::to_string(*v)), k));
        } else if ((kind == "HTTP_GET" || kind == "SSL_GET") && kw == "url") {
            urls.push_back(url_entry(ctx, k));
        } else if ((kind == "HTTP_GET" || kind == "SSL_GET") && kw == "virtualhost") {
            if (auto v = ctx.word(k)) c.add(with_comments(Out::string("virtualhost", *v), k));
        } else if ((kind == "HTTP_GET" || kind == "SSL_GET") &&
                   (kw == "enable_sni" || kw == "http_protocol" || kw == "fast_recovery" || kw == "tls_compliant")) {
            ctx.left_out(c, k, "lvsd speaks HTTP/1.1, sends SNI when virtualhost is a name, and reads the whole response");
        } else if (kind == "MISC_CHECK" && kw == "misc_path") {
            if (auto v = ctx.command(k, 0)) c.add(with_comments(Out::string(kw, *v), k));
        } else if (kind == "MISC_CHECK" && kw == "user") {
            if (auto v = ctx.rest_of_line(k)) c.add(with_comments(Out::string(kw, *v), k));
        } else if (kind == "MISC_CHECK" && kw == "misc_timeout") {
            if (auto v = ctx.seconds(k, 0.001, 3600)) c.add(with_comments(Out::literal(kw, *v), k));
        } else if (kind == "MISC_CHECK" && kw == "misc_dynamic") {
            c.add(with_comments(Out::literal(kw, "true"), k));
        } else if (kind == "UDP_CHECK" && kw == "payload") {
            if (auto v = ctx.word(k)) c.add(with_comments(Out::string(kw, *v), k));
        } else if (kind == "UDP_CHECK" && kw == "require_reply") {
            c.add(with_comments(Out::literal(kw, "true"), k));
        } else if (kind == "SMTP_CHECK" && kw == "helo_name") {
            if (auto v = ctx.word(k)) c.add(with_comments(Out::string(kw, *v), k));
        } else if (kind == "SMTP_CHECK" && kw == "host") {
            ctx.error(k, "SMTP_CHECK host { }: keepalived makes each host block a check of its own; write one SMTP_CHECK "
                         "per host instead");
        } else if (kind == "DNS_CHECK" && (kw == "type" || kw == "name")) {
            if (auto v = ctx.word(k)) c.add(with_comments(Out::string(kw, *v), k));
        } else {
            static constexpr std::array<std::string_view, 16> kKnown{
                "connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout", "delay_loop",
                "delay_before_retry", "retry", "url", "virtualhost", "misc_path", "misc_timeout", "misc_dynamic",
                "payload", "require_reply", "type"};
            ctx.unexpected(k, kind, kKnown);
        }
    }
    if (kind == "MISC_CHECK") {
        // misc_path's check has no connect_timeout; its default timeout is its delay_loop, as lvsd's.
        std::erase_if(c.items, [](const Out& o) { return o.key == "connect_timeout" || o.key == "virtualhost"; });
        // keepalived retries a MISC_CHECK 0 times by default, lvsd's checks once.
        if (!c.has("retry") && !defaults.by_key.count("retry")) c.add(Out::literal("retry", "0"));
    }
    // Defaults given by the real server or the virtual server, for what the check leaves unset.
    for (const auto& [key, at] : defaults.by_key) {
        if (c.has(key)) continue;
        if (key == "virtualhost") {
            if ((kind == "HTTP_GET" || kind == "SSL_GET") && !at->args.empty()) c.add(Out::string("virtualhost", at->args[0]));
        } else if (!(kind == "MISC_CHECK" && key == "connect_timeout")) {
            common_check_key(ctx, *at, c);
        }
    }
    // keepalived's HTTP_GET and SSL_GET wait 3 s before a retry unless told otherwise.
    if ((kind == "HTTP_GET" || kind == "SSL_GET") && !c.has("delay_before_retry")) c.add(Out::literal("delay_before_retry", "3"));
    if (urls.size() == 1) {
        for (auto& o : urls[0].items) c.add(std::move(o));
    } else if (urls.size() > 1) {
        Out list = Out::list("url");
        for (auto& u : urls) list.add(std::move(u));
        c.add(std::move(list));
    }
    return c;
}

void real_server(Ctx& ctx, const Statement& s, const CheckDefaults& vs_defaults, Out& real_servers) {
    static constexpr std::array<std::string_view, 13> kKnown{
        "weight", "inhibit_on_failure", "notify_up", "notify_down", "uthreshold", "lthreshold", "lb_kind",
        "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "UDP_CHECK", "DNS_CHECK"};
    if (s.args.empty()) return ctx.error(s, "real_server needs an address and a port");
    Out rs = with_comments(Out::group(), s);
    rs.add(Out::string("address", s.args[0]));
    if (s.args.size() > 1) {
        if (auto port = ctx.integer(s, 0, 65535, 1)) rs.add(Out::literal("port", std::to_string(*port)));
    }
    CheckDefaults defaults = vs_defaults;
    for (const auto& k : s.children)
        if (inherited(k.keyword)) defaults.by_key[k.keyword] = &k;
    std::map<std::string, std::vector<Out>> checks;
    for (const auto& k : s.children) {
        const std::string& kw = k.keyword;
        if (kw == "weight") {
            if (auto v = ctx.integer(k, 0, 65535)) rs.add(with_comments(Out::literal("weight", std::to_string(*v)), k));
        } else if (kw == "inhibit_on_failure") {
            rs.add(with_comments(Out::literal(kw, "true"), k));
        } else if (kw == "notify_up" || kw == "notify_down") {
            if (auto v = ctx.command(k, 2)) rs.add(with_comments(Out::string(kw, *v), k));
        } else if (kw == "uthreshold" || kw == "lthreshold") {
            if (auto v = ctx.integer(k, 0, 2147483647)) rs.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "lb_kind" || kw == "lvs_method") {
            if (auto v = ctx.word(k)) rs.add(with_comments(Out::string("lb_kind", *v), k));
        } else if (kw == "TCP_CHECK" || kw == "HTTP_GET" || kw == "SSL_GET" || kw == "MISC_CHECK" || kw == "UDP_CHECK" ||
                   kw == "DNS_CHECK" || kw == "SMTP_CHECK") {
            checks[kw].push_back(check(ctx, k, defaults));
        } else if (kw == "PING_CHECK" || kw == "FILE_CHECK" || kw == "BFD_CHECK") {
            ctx.error(k, fmt::format("{}: lvsd has no such check; without it the real server would be taken as always "
                                     "up. Replace it with a MISC_CHECK that runs an equivalent probe",
                                     kw));
        } else if (inherited(kw)) {
            continue;  // a default for the checks, applied above
        } else if (kw == "smtp_alert") {
            ctx.left_out(rs, k, "lvsd sends no mail");
        } else {
            ctx.unexpected(k, "real_server", kKnown);
        }
    }
    for (auto& [kind, list] : checks) {
        if (list.size() == 1) {
            list[0].key = kind;
            rs.add(std::move(list[0]));
        } else {
            Out l = Out::list(kind);
            for (auto& c : list) l.add(std::move(c));
            rs.add(std::move(l));
        }
    }
    real_servers.add(std::move(rs));
}

}  // namespace

void translate_virtual_server(Ctx& ctx, const Statement& s, Out& virtual_servers) {
    static constexpr std::array<std::string_view, 22> kKnown{
        "delay_loop", "lb_algo", "lb_kind", "protocol", "persistence_timeout", "persistence_granularity", "ops",
        "sh-port", "sh-fallback", "mh-port", "mh-fallback", "virtualhost", "sorry_server", "real_server", "quorum",
        "hysteresis", "quorum_up", "quorum_down", "alpha", "inhibit_on_failure", "ip_family", "omega"};
    Out vs = with_comments(Out::group(), s);
    if (s.args.size() == 2 && s.args[0] == "fwmark") {
        if (auto v = ctx.integer(s, 1, 4294967295L, 1)) vs.add(Out::literal("fwmark", fmt::format("{}{}", *v, *v > 2147483647 ? "L" : "")));
    } else if (s.args.size() == 2 && s.args[0] == "group") {
        vs.add(Out::string("group", s.args[1]));
    } else if (s.args.size() >= 2) {
        if (!parse_address(s.args[0])) return ctx.error(s, fmt::format("virtual_server '{}' is not an address", s.args[0]));
        if (s.args.size() > 2)
            ctx.warn(s, fmt::format("virtual_server: '{}' after the port is ignored by keepalived, and by the translation",
                                    s.args[2]));
        vs.add(Out::string("address", s.args[0]));
        if (auto port = ctx.integer(s, 0, 65535, 1)) vs.add(Out::literal("port", std::to_string(*port)));
    } else {
        return ctx.error(s, "virtual_server needs ADDRESS PORT, fwmark N or group NAME");
    }
    CheckDefaults defaults;
    for (const auto& k : s.children)
        if (inherited(k.keyword) && k.keyword != "delay_loop") defaults.by_key[k.keyword] = &k;
    bool has_kind = false;
    Out real_servers = Out::list("real_servers");
    for (const auto& k : s.children) {
        const std::string& kw = k.keyword;
        if (kw == "delay_loop") {
            if (auto v = ctx.seconds(k, 0.1, 86400)) vs.add(with_comments(Out::literal(kw, *v), k));
        } else if (kw == "lb_algo" || kw == "lvs_sched") {
            auto v = ctx.word(k);
            if (!v) continue;
            if (std::find(kSchedulers.begin(), kSchedulers.end(), *v) == kSchedulers.end()) {
                const std::string hint = config::detail::nearest(*v, kSchedulers).value_or("");
                ctx.error(k, fmt::format("{} '{}' is not an IPVS scheduler{}: keepalived ignores it and schedules by wlc",
                                         kw, *v, hint.empty() ? fmt::format(" (rr, wrr, lc, wlc, sh, mh, ...)") : fmt::format(" (did you mean '{}'?)", hint)));
            } else {
                vs.add(with_comments(Out::string("lb_algo", *v), k));
            }
        } else if (kw == "lb_kind" || kw == "lvs_method") {
            auto v = ctx.word(k);
            if (v && *v != "NAT" && *v != "DR" && *v != "TUN")
                ctx.error(k, fmt::format("{} '{}' is not NAT, DR or TUN: keepalived ignores it and forwards by NAT", kw, *v));
            else if (v) vs.add(with_comments(Out::string("lb_kind", *v), k)), has_kind = true;
        } else if (kw == "protocol") {
            auto v = ctx.word(k);
            if (v && *v != "TCP" && *v != "UDP" && *v != "SCTP") ctx.error(k, fmt::format("protocol '{}': TCP, UDP or SCTP", *v));
            else if (v && vs.has("fwmark")) ctx.left_out(vs, k, "a firewall-mark service has no protocol (the mark decides)");
            else if (v) vs.add(with_comments(Out::string("protocol", *v), k));
        } else if (kw == "persistence_timeout") {
            if (k.args.empty()) {
                // keepalived's documented default for a bare persistence_timeout (its dump says 360).
                ctx.warn(k, "persistence_timeout without a value: keepalived uses 360 s, written explicitly");
                vs.add(with_comments(Out::literal(kw, "360"), k));
            } else if (auto v = ctx.integer(k, 0, 2678400)) vs.add(with_comments(Out::literal(kw, std::to_string(*v)), k));
        } else if (kw == "persistence_granularity" || kw == "ip_family") {
            if (auto v = ctx.word(k)) vs.add(with_comments(Out::string(kw, *v), k));
        } else if (kw == "ops" || kw == "sh-port" || kw == "sh-fallback" || kw == "mh-port" || kw == "mh-fallback" ||
                   kw == "alpha" || kw == "inhibit_on_failure") {
            vs.add(with_comments(Out::literal(kw, "true"), k));
        } else if (kw == "quorum" && !k.args.empty() && k.args[0] == "0") {
            ctx.warn(k, "quorum 0: keepalived reads it as 1, and so does the translation");
            vs.add(with_comments(Out::literal(kw, "1"), k));
        } else if (kw == "quorum" || kw == "hysteresis") {
            if (auto v = ctx.integer(k, kw == "quorum" ? 1 : 0, 4294967295L))
                vs.add(with_comments(Out::literal(kw, fmt::format("{}{}", *v, *v > 2147483647 ? "L" : "")), k));
        } else if (kw == "quorum_up" || kw == "quorum_down") {
            if (auto v = ctx.command(k, 2)) vs.add(with_comments(Out::string(kw, *v), k));
        } else if (kw == "sorry_server") {
            if (k.args.size() < 1) {
                ctx.error(k, "sorry_server needs an address and a port");
                continue;
            }
            Out sorry = with_comments(Out::group("sorry_server"), k);
            sorry.add(Out::string("address", k.args[0]));
            if (k.args.size() > 1)
                if (auto port = ctx.integer(k, 1, 65535, 1)) sorry.add(Out::literal("port", std::to_string(*port)));
            vs.add(std::move(sorry));
        } else if (kw == "real_server") {
            real_server(ctx, k, defaults, real_servers);
        } else if (inherited(kw)) {
            continue;  // defaults for the checks, applied to each
        } else if (kw == "nat_mask") {
            ctx.left_out(vs, k, "an option of keepalived 1.x without effect on IPVS; keepalived 2.2.7 ignores it");
        } else if (kw == "omega" || kw == "ha_suspend" || kw == "smtp_alert") {
            ctx.left_out(vs, k, kw == "smtp_alert" ? "lvsd sends no mail"
                                : kw == "omega"    ? "lvsd runs no quorum_down at its own stop"
                                                   : "lvsd checks real servers on the backup too");
        } else {
            ctx.unexpected(k, "virtual_server", kKnown);
        }
    }
    // keepalived's default forwarding is NAT; lvsd's is DR.
    if (!has_kind) vs.add(Out::string("lb_kind", "NAT"));
    // keepalived's default scheduler is wlc, as lvsd's; its delay_loop default 60 s, as lvsd's.
    if (!real_servers.items.empty()) vs.add(std::move(real_servers));
    virtual_servers.add(std::move(vs));
}

void translate_virtual_server_group(Ctx& ctx, const Statement& s, Out& groups) {
    if (s.args.empty()) return ctx.error(s, "virtual_server_group needs a name");
    Out g = with_comments(Out::group(), s);
    g.add(Out::string("name", s.args[0]));
    Out entries = Out::array("entries");
    for (const auto& e : s.children) {
        std::string text = e.keyword;
        for (const auto& a : e.args) text += " " + a;
        entries.add(with_comments(Out::string({}, text), e));
    }
    g.add(std::move(entries));
    groups.add(std::move(g));
}

}  // namespace lvsd::config::keepalived::detail
