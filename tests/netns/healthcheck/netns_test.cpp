// Probes and the monitor against real peers in network namespaces:
//
//   cli (this test thread)        srv                          org
//   eth0 192.0.2.1/24  ---------  eth0 192.0.2.2/24
//        2001:db8::1/64                2001:db8::2/64
//                                 eth1 198.51.100.1/24 ------  eth0 198.51.100.2/24
//                                 listeners, nft drop,         busybox httpd (origin)
//                                 tinyproxy on :8080
//
// Needs root. The Lab removes namespaces and processes, also when a test fails.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "healthcheck/http.hpp"
#include "healthcheck/monitor.hpp"
#include "servers.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;
namespace lt = lvsd::testing;

namespace {

const auto kSrv4 = *parse_address("192.0.2.2");
const auto kSrv6 = *parse_address("2001:db8::2");
const auto kOrigin = *parse_address("198.51.100.2");

class HealthNetns : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("cli");
        lab_.netns("srv");
        lab_.netns("org");
        lab_.veth("cli", "eth0", "srv", "eth0");
        lab_.address("cli", "eth0", "192.0.2.1/24");
        lab_.address("cli", "eth0", "192.0.2.3/24");
        lab_.address("cli", "eth0", "2001:db8::1/64");
        lab_.address("srv", "eth0", "192.0.2.2/24");
        lab_.address("srv", "eth0", "2001:db8::2/64");
        lab_.veth("srv", "eth1", "org", "eth0");
        lab_.address("srv", "eth1", "198.51.100.1/24");
        lab_.address("org", "eth0", "198.51.100.2/24");
        char tmpl[] = "/tmp/lvt-hc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        in_cli_.emplace(lab_.netns_name("cli"));
    }

    void TearDown() override {
        servers_.clear();
        in_cli_.reset();
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    // A listener inside srv.
    TestServer& serve(const IpAddress& a, uint16_t port, Behavior b, std::string response = {}) {
        InNetns in(lab_.netns_name("srv"));
        servers_.push_back(std::make_unique<TestServer>(io_, tcp::endpoint{a, port}, b, std::move(response)));
        return *servers_.back();
    }

    void write_file(const std::string& path, const std::string& text) {
        std::ofstream f(path);
        f << text;
    }

    // The origin web server in org, serving dir_/www.
    lt::Process start_origin() {
        std::filesystem::create_directories(dir_ + "/www");
        write_file(dir_ + "/www/health", "origin ok\n");
        auto p = lab_.spawn("org", {"busybox", "httpd", "-f", "-p", "198.51.100.2:80", "-h", dir_ + "/www"});
        EXPECT_TRUE(lt::wait_until([&] { return port_open(kOrigin, 80); }, 5s)) << p.output();
        return p;
    }

    // tinyproxy in srv on 192.0.2.2:8080, with its own config.
    lt::Process start_tinyproxy() {
        const auto conf = dir_ + "/tinyproxy.conf";
        write_file(conf,
                   "Port 8080\nListen 192.0.2.2\nTimeout 5\nMaxClients 20\nLogLevel Info\n"
                   "DisableViaHeader Yes\nAllow 192.0.2.0/24\n");
        auto p = lab_.spawn("srv", {"tinyproxy", "-d", "-c", conf});
        EXPECT_TRUE(lt::wait_until([&] { return port_open(kSrv4, 8080); }, 5s)) << p.output();
        return p;
    }

    // A quick TCP check; the origin is reachable from srv only, so it is probed from there.
    // connect(): the io_context's raw sockets for half-open probes live in cli.
    bool port_open(const IpAddress& a, uint16_t port) {
        const auto spec = spec_for(CheckType::Tcp, a, port, 500ms, TcpMethod::Connect);
        if (a == kOrigin) {
            InNetns in(lab_.netns_name("srv"));
            return run_probe(io_, spec).ok;
        }
        return run_probe(io_, spec).ok;
    }

    lt::Lab lab_;
    asio::io_context io_;
    std::string dir_;
    std::vector<std::unique_ptr<TestServer>> servers_;
    std::optional<InNetns> in_cli_;
};

}  // namespace

TEST_F(HealthNetns, RefusedPortFailsAtOnceOverV4AndV6) {
    for (const auto& a : {kSrv4, kSrv6}) {
        auto r = run_probe(io_, spec_for(CheckType::Tcp, a, 81));
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.reason, "connect refused") << a;
        EXPECT_LT(r.latency, 500ms);
    }
}

TEST_F(HealthNetns, BlackHoledPortFailsAtTheTimeoutAndNoRouteFailsAtOnce) {
    serve(kSrv4, 82, Behavior::CloseAtOnce);
    ASSERT_TRUE(run_probe(io_, spec_for(CheckType::Tcp, kSrv4, 82)).ok);
    lab_.must("srv", {"nft", "add table inet lvthc"});
    lab_.must("srv", {"nft", "add chain inet lvthc in { type filter hook input priority 0 ; }"});
    lab_.must("srv", {"nft", "add rule inet lvthc in tcp dport 82 drop"});

    auto r = run_probe(io_, spec_for(CheckType::Tcp, kSrv4, 82, 300ms));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "connect timeout after 300ms");
    EXPECT_GE(r.latency, 300ms);
    EXPECT_LT(r.latency, 1s);

    // cli has no route to 203.0.113.0/24 at all.
    auto nr = run_probe(io_, spec_for(CheckType::Tcp, *parse_address("203.0.113.10"), 8080, 300ms));
    EXPECT_FALSE(nr.ok);
    EXPECT_EQ(nr.reason, "network unreachable");
    EXPECT_LT(nr.latency, 100ms);
}

TEST_F(HealthNetns, AHungPeerFailsAtItsTimeoutWhileOtherChecksGoOnOnTime) {
    auto& silent = serve(kSrv4, 8081, Behavior::Silent);
    serve(kSrv4, 8082, Behavior::Respond, http_response(200));
    EXPECT_TRUE(run_probe(io_, spec_for(CheckType::Tcp, kSrv4, 8081, 2s, TcpMethod::Connect)).ok);  // it does accept

    std::vector<HealthEvent> events;
    Monitor mon(io_.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto hung = spec_for(CheckType::Http, kSrv4, 8081, 1000ms);
    hung.initial = InitialState::Up;
    hung.delay_loop = 5s;
    hung.warmup = 1ms;
    auto good = spec_for(CheckType::Http, kSrv4, 8082, 1000ms);
    good.delay_loop = 50ms;
    good.warmup = 1ms;
    auto hung_key = mon.add(hung), good_key = mon.add(good);
    ASSERT_TRUE(hung_key && good_key);

    ASSERT_TRUE(run_until(io_, [&] { return mon.status(*good_key)->probes >= 1 && mon.stats().in_flight >= 1; }, 3s));
    const auto good_before = mon.status(*good_key)->probes;
    ASSERT_TRUE(run_until(io_, [&] { return mon.status(*hung_key)->probes == 1; }, 3s));
    // While the hung probe waited its full second, the good check kept its 50 ms pace.
    EXPECT_GE(mon.status(*good_key)->probes - good_before, 10u);
    auto st = mon.status(*hung_key);
    EXPECT_EQ(st->last->reason, "no response within 1000ms");
    EXPECT_GE(st->last->latency, 1000ms);
    EXPECT_LT(st->last->latency, 1500ms);
    ASSERT_EQ(events.size(), 2u);  // good UP, hung DOWN (fall 1)
    EXPECT_EQ(fmt::format("{}", events[1]), "192.0.2.2:8081 DOWN: no response within 1000ms (1/1 failure)");
    EXPECT_EQ(silent.accepted(), 2u);
}

TEST_F(HealthNetns, AServerThatAcceptsAndClosesPassesTcpButFailsHttp) {
    serve(kSrv4, 8083, Behavior::CloseAtOnce);
    EXPECT_TRUE(run_probe(io_, spec_for(CheckType::Tcp, kSrv4, 8083)).ok);
    EXPECT_TRUE(run_probe(io_, spec_for(CheckType::Tcp, kSrv4, 8083, 2s, TcpMethod::Connect)).ok);
    auto r = run_probe(io_, spec_for(CheckType::Http, kSrv4, 8083));
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.reason == "connection closed without a response" ||
                r.reason.starts_with("connection reset by the server"))
        << r.reason;
}

TEST_F(HealthNetns, HttpWrongStatusFailsOverV4AndV6) {
    serve(kSrv4, 8084, Behavior::Respond, http_response(503, "maintenance"));
    serve(kSrv6, 8084, Behavior::Respond, http_response(404, "no such path"));
    auto r4 = run_probe(io_, spec_for(CheckType::Http, kSrv4, 8084));
    EXPECT_FALSE(r4.ok);
    EXPECT_EQ(r4.reason, "HTTP 503, expected 200-299");
    auto s6 = spec_for(CheckType::Http, kSrv6, 8084);
    s6.path = "/health";
    s6.status_code = {{200, 200}};
    auto r6 = run_probe(io_, s6);
    EXPECT_FALSE(r6.ok);
    EXPECT_EQ(r6.reason, "HTTP 404, expected 200");
}

TEST_F(HealthNetns, BindtoChoosesTheSourceAddress) {
    auto& srv = serve(kSrv4, 8085, Behavior::CloseAtOnce);
    auto& srv6 = serve(kSrv6, 8085, Behavior::CloseAtOnce);
    auto s = spec_for(CheckType::Tcp, kSrv4, 8085, 2s, TcpMethod::Connect);
    s.bindto = parse_address("192.0.2.3");
    EXPECT_TRUE(run_probe(io_, s).ok);
    auto s6 = spec_for(CheckType::Tcp, kSrv6, 8085, 2s, TcpMethod::Connect);
    s6.bindto = parse_address("2001:db8::1");
    EXPECT_TRUE(run_probe(io_, s6).ok);
    ASSERT_TRUE(run_until(io_, [&] { return srv.accepted() == 1 && srv6.accepted() == 1; }));
    EXPECT_EQ(srv.peers()[0].to_string(), "192.0.2.3");
    EXPECT_EQ(srv6.peers()[0].to_string(), "2001:db8::1");
}

TEST_F(HealthNetns, ProxyCheckCatchesAProxyThatCannotFetchWhatATcpCheckMisses) {
    auto origin = start_origin();
    auto proxy = start_tinyproxy();

    auto tcp_spec = spec_for(CheckType::Tcp, kSrv4, 8080);
    auto proxy_spec = spec_for(CheckType::Proxy, kSrv4, 8080);
    proxy_spec.proxy_url = "http://198.51.100.2/health";
    proxy_spec.body_contains = "origin ok";

    auto ok = run_probe(io_, proxy_spec);
    EXPECT_TRUE(ok.ok) << ok.reason << "\n" << proxy.output();
    EXPECT_EQ(ok.reason, "proxy fetching http://198.51.100.2/health: HTTP 200");

    // The same through the monitor: both checks up; then the origin goes away and only
    // the proxy check notices, after exactly `fall` failures.
    std::vector<HealthEvent> events;
    Monitor mon(io_.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    for (auto* s : {&tcp_spec, &proxy_spec}) {
        s->delay_loop = 100ms;
        s->delay_before_retry = 50ms;
        s->warmup = 1ms;
        s->fall = 2;
    }
    auto tcp_key = mon.add(tcp_spec), proxy_key = mon.add(proxy_spec);
    ASSERT_TRUE(tcp_key && proxy_key);
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 2; }, 5s));
    EXPECT_EQ(mon.status(*tcp_key)->health, Health::Up);
    EXPECT_EQ(mon.status(*proxy_key)->health, Health::Up);

    origin.stop();
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 3; }, 5s)) << proxy.output();
    EXPECT_EQ(events[2].key, *proxy_key);
    EXPECT_EQ(fmt::format("{}", events[2]),
              "192.0.2.2:8080 DOWN: proxy fetching http://198.51.100.2/health: HTTP 500, expected 200-299 "
              "(2/2 failures)");
    // A few more rounds: the TCP check still says up and made no transition.
    const auto tcp_probes = mon.status(*tcp_key)->probes;
    ASSERT_TRUE(run_until(io_, [&] { return mon.status(*tcp_key)->probes >= tcp_probes + 3; }, 5s));
    EXPECT_EQ(mon.status(*tcp_key)->health, Health::Up);
    EXPECT_EQ(events.size(), 3u);
    auto direct = run_probe(io_, proxy_spec);
    EXPECT_FALSE(direct.ok);

    // The origin returns: the proxy check comes back up.
    origin = start_origin();
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 4; }, 5s));
    EXPECT_EQ(events[3].transition.to, Health::Up);
}

TEST_F(HealthNetns, HttpDigestMatchesTheWholeBodyAndAMismatchFails) {
    const std::string body(100000, 'x');  // far beyond one read: the digest needs every byte
    serve(kSrv4, 8090, Behavior::Respond, http_response(200, body));
    auto spec = spec_for(CheckType::Http, kSrv4, 8090);
    spec.digest = md5_hex(body);
    auto ok = run_probe(io_, spec);
    EXPECT_TRUE(ok.ok) << ok.reason;
    EXPECT_EQ(ok.reason, "HTTP 200");
    spec.digest = md5_hex(body + "y");
    auto bad = run_probe(io_, spec);
    EXPECT_FALSE(bad.ok);
    EXPECT_EQ(bad.reason, fmt::format("HTTP 200 but the body's MD5 is {}, expected {}", md5_hex(body), spec.digest));
}

// The user's report: a real server that answers `100 Continue` before `200 OK` on the same
// connection was kept DOWN ("HTTP 100, expected 200"). RFC 9110 section 15.2: the check
// skips interim responses and judges the final one; a connection that ends after interim
// responses only is a failure that says so.
TEST_F(HealthNetns, AServerThatSends100ContinueFirstComesUpThroughTheMonitor) {
    auto& srv = serve(kSrv4, 8091, Behavior::Respond);
    srv.set_pieces({"HTTP/1.1 100 Continue\r\n\r\n", http_response(200, "state: healthy")}, 20ms);
    std::vector<HealthEvent> events;
    Monitor mon(io_.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = spec_for(CheckType::Http, kSrv4, 8091, 1000ms);
    s.path = "/health";
    s.status_code = {{200, 200}};
    s.body_contains = "healthy";
    s.delay_loop = 50ms;
    s.delay_before_retry = 50ms;
    s.warmup = 1ms;
    s.fall = 2;
    auto key = mon.add(s);
    ASSERT_TRUE(key);
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 1; }, 5s));
    EXPECT_EQ(fmt::format("{}", events[0]), "192.0.2.2:8091 UP: HTTP 200 (1/1 success)");

    srv.set_pieces({"HTTP/1.1 100 Continue\r\n\r\n"}, 0ms);
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 2; }, 5s));
    EXPECT_EQ(fmt::format("{}", events[1]),
              "192.0.2.2:8091 DOWN: HTTP: connection closed after an interim 100 response, before the final "
              "response (2/2 failures)");
}
