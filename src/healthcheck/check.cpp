#include "healthcheck/check.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/ranges.h>

#include "healthcheck/dns.hpp"

namespace lvsd::healthcheck {
namespace {

// Header and request-line fields must not smuggle in a line break or a space
// (request splitting); they are plain visible ASCII.
bool is_token_text(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

std::optional<unsigned> parse_uint(std::string_view s) {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::string_view initial_name(InitialState s) {
    switch (s) {
        case InitialState::DownUntilFirstSuccess: return "down-until-first-success";
        case InitialState::Down: return "down";
        case InitialState::Up: return "up";
    }
    return "?";
}

}  // namespace

std::string_view to_string(CheckType type) {
    switch (type) {
        case CheckType::Tcp: return "TCP_CHECK";
        case CheckType::Http: return "HTTP_GET";
        case CheckType::Ssl: return "SSL_GET";
        case CheckType::Proxy: return "PROXY_CHECK";
        case CheckType::Misc: return "MISC_CHECK";
        case CheckType::Udp: return "UDP_CHECK";
        case CheckType::Dns: return "DNS_CHECK";
        case CheckType::Smtp: return "SMTP_CHECK";
    }
    return "?";
}

MiscVerdict misc_verdict(int status, bool dynamic) {
    if (status == 0) return {true, std::nullopt};
    if (status >= 2 && status <= 255 && dynamic) return {true, static_cast<uint32_t>(status - 2)};
    return {false, std::nullopt};
}

Result<std::vector<StatusRange>> parse_status_codes(std::string_view text) {
    std::vector<StatusRange> out;
    if (text.empty()) return make_error(0, "status_code is empty");
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        auto dash = item.find('-');
        auto low = parse_uint(item.substr(0, dash));
        auto high = dash == std::string_view::npos ? low : parse_uint(item.substr(dash + 1));
        if (!low || !high)
            return make_error(0, "status_code '{}': expected a code like 200 or a range like 200-299",
                              item);
        if (*low < 100 || *high > 599 || *low > *high)
            return make_error(0, "status_code '{}': codes must be within 100-599, low before high",
                              item);
        out.push_back({static_cast<uint16_t>(*low), static_cast<uint16_t>(*high)});
        if (comma != std::string_view::npos && text.empty())
            return make_error(0, "status_code: trailing comma");
    }
    return out;
}

std::string status_codes_text(const std::vector<StatusRange>& ranges) {
    if (ranges.empty()) return "200-299";
    std::string out;
    for (const auto& r : ranges) {
        if (!out.empty()) out += ',';
        out += fmt::format("{}", r);
    }
    return out;
}

bool status_matches(const std::vector<StatusRange>& ranges, unsigned status) {
    if (ranges.empty()) return status >= 200 && status <= 299;
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const StatusRange& r) { return status >= r.low && status <= r.high; });
}

Result<HttpUrl> parse_http_url(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme)
        return make_error(0, "proxy_url '{}': must start with http:// (the proxy is asked to fetch it)",
                          url);
    if (!is_token_text(url))
        return make_error(0, "proxy_url '{}': spaces and control characters are not allowed", url);
    auto rest = url.substr(kScheme.size());
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    if (authority.empty()) return make_error(0, "proxy_url '{}': no host", url);
    if (authority.find('@') != std::string_view::npos)
        return make_error(0, "proxy_url '{}': credentials in the URL are not supported", url);
    HttpUrl out;
    out.authority = std::string(authority);
    out.target = std::string(url);
    if (slash == std::string_view::npos) out.target += '/';
    return out;
}

Result<void> validate(const CheckSpec& s) {
    const auto where = fmt::format("{} {}", s.type, format_endpoint(s.address, s.port));
    auto fail = [&](std::string what) { return Error{fmt::format("check {}: {}", where, what), 0}; };

    if (s.address.is_unspecified()) return fail("the real server address is unset");
    if (s.effective_port() == 0) return fail("no port: set the real server port or connect_port");
    if (s.bindto && s.bindto->is_v4() != s.address.is_v4())
        return fail(fmt::format("bindto {} is not of the real server's address family", *s.bindto));
    if (s.connect_timeout.count() <= 0) return fail("connect_timeout must be positive");
    if (s.rise < 1) return fail("rise must be at least 1");
    if (s.fall < 1) return fail("retry (fall) must be at least 1");
    if (s.delay_loop.count() <= 0) return fail("delay_loop must be positive");
    if (s.delay_before_retry.count() < 0) return fail("delay_before_retry must not be negative");
    if (s.warmup && s.warmup->count() < 0) return fail("warmup must not be negative");
    for (const auto& r : s.status_code)
        if (r.low < 100 || r.high > 599 || r.low > r.high)
            return fail(fmt::format("status_code {} is not a range within 100-599", r));
    if (s.body_contains.size() > 1024)
        return fail("body_contains is longer than 1024 bytes");
    if (!s.digest.empty()) {
        if (s.type != CheckType::Http && s.type != CheckType::Ssl) return fail("digest is only for HTTP_GET and SSL_GET");
        if (s.digest.size() != 32 || !std::all_of(s.digest.begin(), s.digest.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            }))
            return fail(fmt::format("digest '{}' is not an MD5 in 32 lowercase hex digits", s.digest));
    }

    if (s.type != CheckType::Ssl && (s.ssl_verify || !s.ssl_ca.empty()))
        return fail("ssl_verify and ssl_ca are only for SSL_GET");
    if (s.type == CheckType::Http || s.type == CheckType::Ssl) {
        if (s.path.empty() || s.path.front() != '/' || !is_token_text(s.path))
            return fail(fmt::format("path '{}' must start with / and contain no spaces or control "
                                    "characters",
                                    s.path));
    }
    if (s.type != CheckType::Tcp && !s.virtualhost.empty() && !is_token_text(s.virtualhost))
        return fail(fmt::format("virtualhost '{}' contains spaces or control characters",
                                s.virtualhost));
    if (s.type == CheckType::Proxy) {
        if (s.proxy_url.empty()) return fail("the proxy check needs proxy_url (http://origin/path)");
        if (auto u = parse_http_url(s.proxy_url); !u) return fail(u.error().message);
    } else if (!s.proxy_url.empty()) {
        return fail("proxy_url is only for the proxy check");
    }
    if (s.type != CheckType::Udp && (!s.udp_payload.empty() || s.require_reply))
        return fail("payload and require_reply are only for UDP_CHECK");
    if (s.type == CheckType::Dns && !dns_type(s.dns_type))
        return fail(fmt::format("type '{}' is not a DNS record type", s.dns_type));
    if (s.type == CheckType::Dns && !dns_query(s.dns_name, 1, 0))
        return fail(fmt::format("name '{}' is not a domain name", s.dns_name));
    if (s.udp_payload.size() > 1400) return fail("payload is longer than 1400 bytes");
    if (s.type == CheckType::Smtp && !valid_helo_name(s.helo_name))
        return fail(fmt::format("helo_name {:?} must be 1-255 visible ASCII characters", s.helo_name));
    if (s.type != CheckType::Smtp && s.helo_name != kDefaultHeloName) return fail("helo_name is only for SMTP_CHECK");
    if ((s.type == CheckType::Tcp || s.type == CheckType::Misc || s.type == CheckType::Udp || s.type == CheckType::Dns ||
         s.type == CheckType::Smtp) &&
        (!s.body_contains.empty() || !s.status_code.empty()))
        return fail("status_code and body_contains are only for HTTP checks");
    if (s.type == CheckType::Misc) {
        if (s.misc_argv.empty() || s.misc_argv.front().empty() || s.misc_argv.front().front() != '/')
            return fail("MISC_CHECK needs a command whose first word is an absolute path");
    } else if (!s.misc_argv.empty() || s.misc_user || s.misc_dynamic) {
        return fail("misc_path, user and misc_dynamic are only for MISC_CHECK");
    }
    return {};
}

std::string probe_identity(const CheckSpec& s) {
    std::string out = fmt::format("{} {}", s.type, format_endpoint(s.address, s.effective_port()));
    if (s.bindto) out += fmt::format(" bindto={}", *s.bindto);
    if (s.type == CheckType::Misc) {
        out += fmt::format(" cmd={:?}", fmt::join(s.misc_argv, " "));
        if (s.misc_user) out += fmt::format(" uid={} gid={}", s.misc_user->uid, s.misc_user->gid);
    }
    return out;
}

std::string check_key(const CheckSpec& s) {
    std::string out = probe_identity(s);
    out += fmt::format(" timeout={}ms", s.connect_timeout.count());
    switch (s.type) {
        case CheckType::Tcp:
            if (s.tcp_method == TcpMethod::Connect) out += " method=connect";
            break;
        case CheckType::Http: out += fmt::format(" path={:?}", s.path); break;
        case CheckType::Ssl:
            out += fmt::format(" path={:?}", s.path);
            if (s.ssl_verify) out += fmt::format(" verify ca={:?}", s.ssl_ca);
            break;
        case CheckType::Proxy: out += fmt::format(" url={:?}", s.proxy_url); break;
        case CheckType::Misc:
            if (s.misc_dynamic) out += " dynamic";
            break;
        case CheckType::Udp:
            out += " payload=";
            for (unsigned char c : s.udp_payload) out += fmt::format("{:02x}", c);
            if (s.require_reply) out += " require_reply";
            break;
        case CheckType::Dns: out += fmt::format(" query={} {:?}", s.dns_type, s.dns_name); break;
        case CheckType::Smtp: out += fmt::format(" helo={:?}", s.helo_name); break;
    }
    if (s.type == CheckType::Http || s.type == CheckType::Ssl || s.type == CheckType::Proxy) {
        if (!s.virtualhost.empty()) out += fmt::format(" host={:?}", s.virtualhost);
        out += " status=" + status_codes_text(s.status_code);
        if (!s.body_contains.empty()) out += fmt::format(" body={:?}", s.body_contains);
        if (!s.digest.empty()) out += fmt::format(" digest={}", s.digest);
    }
    out += fmt::format(" rise={} fall={} initial={} delay_loop={}ms delay_before_retry={}ms", s.rise, s.fall,
                       initial_name(s.initial), s.delay_loop.count(), s.delay_before_retry.count());
    return out;
}

}  // namespace lvsd::healthcheck
