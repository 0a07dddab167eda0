// CheckSpec validation, keys and small parsers.
#include "healthcheck/check.hpp"

#include <functional>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

CheckSpec tcp(const char* addr = "192.0.2.21", uint16_t port = 8080) {
    CheckSpec s;
    s.address = *parse_address(addr);
    s.port = port;
    return s;
}

std::string error_of(const CheckSpec& s) {
    auto r = validate(s);
    return r ? std::string("valid") : r.error().message;
}

}  // namespace

TEST(CheckSpec, ValidTcpAndHttpAndProxy) {
    EXPECT_TRUE(validate(tcp()));
    auto h = tcp();
    h.type = CheckType::Http;
    h.path = "/health?x=1";
    h.status_code = {{200, 200}, {301, 302}};
    h.body_contains = "ok";
    EXPECT_TRUE(validate(h));
    auto p = tcp();
    p.type = CheckType::Proxy;
    p.proxy_url = "http://origin.example:8000/health";
    EXPECT_TRUE(validate(p));
    auto v6 = tcp("2001:db8::21");
    v6.bindto = parse_address("2001:db8::1");
    EXPECT_TRUE(validate(v6));
}

TEST(CheckSpec, EveryBadFieldIsNamedWithTheTarget) {
    auto s = tcp();
    s.rise = 0;
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: rise must be at least 1");
    s = tcp();
    s.fall = 0;
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: retry (fall) must be at least 1");
    s = tcp("192.0.2.21", 0);
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:0: no port: set the real server port or connect_port");
    s.connect_port = 80;
    EXPECT_TRUE(validate(s));
    s = tcp();
    s.bindto = parse_address("2001:db8::1");
    EXPECT_EQ(error_of(s),
              "check TCP_CHECK 192.0.2.21:8080: bindto 2001:db8::1 is not of the real server's address family");
    s = tcp();
    s.connect_timeout = 0ms;
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: connect_timeout must be positive");
    s = tcp();
    s.delay_loop = 0ms;
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: delay_loop must be positive");
    s = tcp("0.0.0.0");
    EXPECT_EQ(error_of(s), "check TCP_CHECK 0.0.0.0:8080: the real server address is unset");
    s = tcp();
    s.body_contains = "x";
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: status_code and body_contains are only for HTTP checks");

    s = tcp("2001:db8::21");
    s.type = CheckType::Http;
    s.path = "/a b";
    EXPECT_EQ(error_of(s), "check HTTP_GET [2001:db8::21]:8080: path '/a b' must start with / and contain no "
                           "spaces or control characters");
    s.path = "/ok\r\nX-Injected: 1";
    EXPECT_NE(error_of(s), "valid");
    s.path = "health";
    EXPECT_NE(error_of(s), "valid");
    s.path = "/";
    s.virtualhost = "a\r\nb";
    EXPECT_EQ(error_of(s), "check HTTP_GET [2001:db8::21]:8080: virtualhost 'a\r\nb' contains spaces or control "
                           "characters");
    s.virtualhost.clear();
    s.status_code = {{600, 700}};
    EXPECT_EQ(error_of(s), "check HTTP_GET [2001:db8::21]:8080: status_code 600-700 is not a range within 100-599");

    s = tcp();
    s.type = CheckType::Proxy;
    EXPECT_EQ(error_of(s), "check PROXY_CHECK 192.0.2.21:8080: the proxy check needs proxy_url (http://origin/path)");
    s.proxy_url = "https://origin/";
    EXPECT_EQ(error_of(s), "check PROXY_CHECK 192.0.2.21:8080: proxy_url 'https://origin/': must start with http:// "
                           "(the proxy is asked to fetch it)");
    s = tcp();
    s.proxy_url = "http://origin/";
    EXPECT_EQ(error_of(s), "check TCP_CHECK 192.0.2.21:8080: proxy_url is only for the proxy check");
}

TEST(CheckKey, SameProbeAndRulesMeansSameKey) {
    auto a = tcp();
    auto b = tcp();
    b.warmup = 5s;  // when to start does not change what is checked
    EXPECT_EQ(check_key(a), check_key(b));
    // Port 80 and port 443 real servers both checked on connect_port 8080 are one check.
    auto c = tcp("192.0.2.21", 80);
    c.connect_port = 8080;
    EXPECT_EQ(check_key(a), check_key(c));
    auto d = tcp();
    d.fall = 3;
    EXPECT_NE(check_key(a), check_key(d));
    EXPECT_EQ(probe_identity(a), probe_identity(d));
    auto e = tcp();
    e.bindto = parse_address("192.0.2.1");
    EXPECT_NE(probe_identity(a), probe_identity(e));
    auto h = tcp();
    h.type = CheckType::Http;
    auto h2 = h;
    h2.path = "/other";
    EXPECT_NE(check_key(h), check_key(h2));
    EXPECT_NE(check_key(a), check_key(h));
    EXPECT_EQ(probe_identity(a), "TCP_CHECK 192.0.2.21:8080");
}

// Issue #11: a reload that changes only a setting must keep the check (its verdict and
// history); only the target and the probe kind make a check another one.
TEST(CheckKey, EverySettingChangesTheKeyButNotTheProbeIdentity) {
    const auto base = [] {
        auto h = tcp();
        h.type = CheckType::Http;
        return h;
    };
    const std::vector<std::pair<const char*, std::function<void(CheckSpec&)>>> settings = {
        {"connect_timeout", [](CheckSpec& s) { s.connect_timeout = 1500ms; }},
        {"delay_loop", [](CheckSpec& s) { s.delay_loop = 2s; }},
        {"delay_before_retry", [](CheckSpec& s) { s.delay_before_retry = 3s; }},
        {"rise", [](CheckSpec& s) { s.rise = 4; }},
        {"fall", [](CheckSpec& s) { s.fall = 5; }},
        {"initial", [](CheckSpec& s) { s.initial = InitialState::Up; }},
        {"path", [](CheckSpec& s) { s.path = "/health"; }},
        {"status_code", [](CheckSpec& s) { s.status_code = {{200, 200}}; }},
        {"virtualhost", [](CheckSpec& s) { s.virtualhost = "www.example"; }},
        {"body_contains", [](CheckSpec& s) { s.body_contains = "ok"; }},
    };
    for (const auto& [name, change] : settings) {
        SCOPED_TRACE(name);
        auto s = base();
        change(s);
        EXPECT_NE(check_key(s), check_key(base()));
        EXPECT_EQ(probe_identity(s), probe_identity(base()));
    }
    // The TCP method and the proxy URL, on their own check types.
    auto half = tcp(), full = tcp();
    full.tcp_method = TcpMethod::Connect;
    EXPECT_NE(check_key(half), check_key(full));
    EXPECT_EQ(probe_identity(half), probe_identity(full));
    auto p1 = tcp(), p2 = tcp();
    p1.type = p2.type = CheckType::Proxy;
    p1.proxy_url = "http://198.51.100.2/a";
    p2.proxy_url = "http://198.51.100.2/b";
    EXPECT_NE(check_key(p1), check_key(p2));
    EXPECT_EQ(probe_identity(p1), probe_identity(p2));
}

TEST(CheckKey, TheTargetAndTheProbeKindAreTheIdentity) {
    const auto a = tcp();
    const std::vector<std::pair<const char*, std::function<void(CheckSpec&)>>> targets = {
        {"type", [](CheckSpec& s) { s.type = CheckType::Http; }},
        {"address", [](CheckSpec& s) { s.address = *parse_address("192.0.2.22"); }},
        {"port", [](CheckSpec& s) { s.port = 8081; }},
        {"connect_port", [](CheckSpec& s) { s.connect_port = 9000; }},
        {"bindto", [](CheckSpec& s) { s.bindto = parse_address("192.0.2.1"); }},
    };
    for (const auto& [name, change] : targets) {
        SCOPED_TRACE(name);
        auto s = a;
        change(s);
        EXPECT_NE(probe_identity(s), probe_identity(a));
        EXPECT_NE(check_key(s), check_key(a));
    }
    // The effective port is what counts, however it is written.
    auto b = tcp("192.0.2.21", 80);
    b.connect_port = 8080;
    EXPECT_EQ(probe_identity(b), probe_identity(a));
    EXPECT_EQ(probe_identity(a),
              "TCP_CHECK 192.0.2.21:8080");
    auto v6 = tcp("2001:db8::21");
    v6.bindto = parse_address("2001:db8::1");
    EXPECT_EQ(probe_identity(v6), "TCP_CHECK [2001:db8::21]:8080 bindto=2001:db8::1");
}

TEST(StatusCodes, ParsesCodesAndRanges) {
    auto r = parse_status_codes("200,301-302");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1], (StatusRange{301, 302}));
    EXPECT_TRUE(status_matches(*r, 302));
    EXPECT_FALSE(status_matches(*r, 204));
    EXPECT_TRUE(status_matches({}, 204));  // default 200-299
    EXPECT_FALSE(status_matches({}, 301));
    EXPECT_FALSE(parse_status_codes(""));
    EXPECT_FALSE(parse_status_codes("200,"));
    EXPECT_FALSE(parse_status_codes("abc"));
    EXPECT_EQ(parse_status_codes("299-200").error().message,
              "status_code '299-200': codes must be within 100-599, low before high");
}

TEST(HttpUrl, KeepsTheAbsoluteFormAndAuthority) {
    auto u = parse_http_url("http://198.51.100.2:8000/health");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->authority, "198.51.100.2:8000");
    EXPECT_EQ(u->target, "http://198.51.100.2:8000/health");
    EXPECT_EQ(parse_http_url("http://origin.example")->target, "http://origin.example/");
    EXPECT_FALSE(parse_http_url("http:///x"));
    EXPECT_FALSE(parse_http_url("http://user:pw@origin/"));
    EXPECT_FALSE(parse_http_url("http://origin/a b"));
}

TEST(MiscVerdict, KeepalivedsExitStatusRule) {
    // Without misc_dynamic: 0 up, anything else down.
    EXPECT_TRUE(misc_verdict(0, false).ok);
    EXPECT_EQ(misc_verdict(0, false).weight, std::nullopt);
    EXPECT_FALSE(misc_verdict(1, false).ok);
    EXPECT_FALSE(misc_verdict(2, false).ok);
    EXPECT_FALSE(misc_verdict(255, false).ok);
    // With it: 0 up (weight unchanged), 1 down, 2..255 up with weight status - 2.
    EXPECT_TRUE(misc_verdict(0, true).ok);
    EXPECT_EQ(misc_verdict(0, true).weight, std::nullopt);
    EXPECT_FALSE(misc_verdict(1, true).ok);
    EXPECT_EQ(misc_verdict(1, true).weight, std::nullopt);
    EXPECT_TRUE(misc_verdict(2, true).ok);
    EXPECT_EQ(misc_verdict(2, true).weight, 0u);
    EXPECT_EQ(misc_verdict(12, true).weight, 10u);
    EXPECT_EQ(misc_verdict(255, true).weight, 253u);
    EXPECT_FALSE(misc_verdict(256, true).ok);  // not an exit status
    EXPECT_FALSE(misc_verdict(-1, true).ok);
}

TEST(CheckSpec, MiscCheckIdentityIsTheCommand) {
    CheckSpec a = tcp();
    a.type = CheckType::Misc;
    a.misc_argv = {"/usr/local/bin/check", "192.0.2.21"};
    EXPECT_TRUE(validate(a));
    CheckSpec b = a;
    b.misc_dynamic = true;
    b.connect_timeout = 2s;
    EXPECT_EQ(probe_identity(a), probe_identity(b));  // settings
    EXPECT_NE(check_key(a), check_key(b));
    CheckSpec c = a;
    c.misc_argv.back() = "192.0.2.22";
    EXPECT_NE(probe_identity(a), probe_identity(c));
    CheckSpec d = a;
    d.misc_user = RunAs{65534, 65534};
    EXPECT_NE(probe_identity(a), probe_identity(d));
    CheckSpec bad = a;
    bad.misc_argv = {"check"};
    EXPECT_FALSE(validate(bad));
    CheckSpec not_misc = tcp();
    not_misc.misc_dynamic = true;
    EXPECT_FALSE(validate(not_misc));
}

TEST(CheckSpec, SslSettingsAndDigestBelongToTheirChecks) {
    CheckSpec s = tcp("192.0.2.21", 443);
    s.type = CheckType::Ssl;
    s.ssl_verify = true;
    s.ssl_ca = "/etc/ssl/ca.pem";
    s.digest = "9e107d9d372bb6826bd81d3542a419d6";
    EXPECT_TRUE(validate(s));
    EXPECT_EQ(to_string(CheckType::Ssl), "SSL_GET");
    CheckSpec unverified = s;
    unverified.ssl_verify = false;
    unverified.ssl_ca.clear();
    EXPECT_EQ(probe_identity(s), probe_identity(unverified));  // a setting
    EXPECT_NE(check_key(s), check_key(unverified));
    CheckSpec http = s;
    http.type = CheckType::Http;
    EXPECT_FALSE(validate(http));  // ssl_* on HTTP_GET
    http.ssl_verify = false;
    http.ssl_ca.clear();
    EXPECT_TRUE(validate(http));   // digest on HTTP_GET
    http.digest = "9E107D9D372BB6826BD81D3542A419D6";
    EXPECT_FALSE(validate(http));  // lowercase only (the loader lowercases)
    CheckSpec plain = tcp();
    plain.digest = "9e107d9d372bb6826bd81d3542a419d6";
    EXPECT_FALSE(validate(plain));
}
