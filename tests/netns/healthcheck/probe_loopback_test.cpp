// Probes against real listeners on loopback (no namespace needed): every verdict and
// reason, bindto and connect_port, the timeout bound, and no leaked descriptor.
#include <gtest/gtest.h>

#include "healthcheck/http.hpp"
#include "healthcheck/probe.hpp"
#include "servers.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

const auto kV4 = *parse_address("127.0.0.1");
const auto kV6 = *parse_address("::1");

}  // namespace

TEST(TcpProbe, HalfOpenSeesTheSynAckOverV4AndV6AndMakesNoConnection) {
    asio::io_context io;
    for (const auto& a : {kV4, kV6}) {
        TestServer srv(io, {a, 0}, Behavior::CloseAtOnce);
        auto r = run_probe(io, spec_for(CheckType::Tcp, a, srv.port()));
        EXPECT_TRUE(r.ok) << r.reason;
        EXPECT_EQ(r.reason, "port open (SYN-ACK)");
        EXPECT_LT(r.latency, 1s);
        // A connect() probe to the same listener is accepted (the server is alive and
        // accepting): had the half-open probe completed a handshake, its connection
        // would have been accepted first.
        auto c = run_probe(io, spec_for(CheckType::Tcp, a, srv.port(), 2s, TcpMethod::Connect));
        EXPECT_TRUE(c.ok) << c.reason;
        ASSERT_TRUE(run_until(io, [&] { return srv.accepted() == 1; }));
        io.poll();
        EXPECT_EQ(srv.accepted(), 1u);
    }
}

// The daemon's io_context returns from run() once everything has stopped: the raw
// sockets' reads and the deadline timer must not outlive the last probe.
TEST(TcpProbe, HalfOpenProbesLeaveNoWorkBehind) {
    asio::io_context io;
    tcp::acceptor listening(io, tcp::endpoint(kV4, 0));  // no accept pending: no work of its own
    auto open = spec_for(CheckType::Tcp, kV4, listening.local_endpoint().port());
    auto refused = spec_for(CheckType::Tcp, kV6, closed_port(io, kV6));
    for (int i = 0; i < 3; ++i) {
        std::optional<ProbeResult> a, b;
        asio::co_spawn(io, probe(open), [&](std::exception_ptr, ProbeResult r) { a = r; });
        asio::co_spawn(io, probe(refused), [&](std::exception_ptr, ProbeResult r) { b = r; });
        io.restart();
        io.run_for(5s);  // returns as soon as there is no work left
        EXPECT_TRUE(io.stopped());
        ASSERT_TRUE(a && b);
        EXPECT_TRUE(a->ok) << a->reason;
        EXPECT_EQ(b->reason, "connect refused");
    }
}

TEST(TcpProbe, ConnectsOverV4AndV6) {
    asio::io_context io;
    for (const auto& a : {kV4, kV6}) {
        TestServer srv(io, {a, 0}, Behavior::CloseAtOnce);
        auto r = run_probe(io, spec_for(CheckType::Tcp, a, srv.port(), 2s, TcpMethod::Connect));
        EXPECT_TRUE(r.ok) << r.reason;
        EXPECT_EQ(r.reason, "connected");
        EXPECT_LT(r.latency, 1s);
        EXPECT_TRUE(run_until(io, [&] { return srv.accepted() == 1; }));
    }
}

TEST(TcpProbe, RefusedPortFailsAtOnce) {
    asio::io_context io;
    for (auto method : {TcpMethod::HalfOpen, TcpMethod::Connect}) {
        for (const auto& a : {kV4, kV6}) {
            auto r = run_probe(io, spec_for(CheckType::Tcp, a, closed_port(io, a), 2s, method));
            EXPECT_FALSE(r.ok);
            EXPECT_EQ(r.reason, "connect refused") << a;
            EXPECT_LT(r.latency, 1s);
        }
    }
}

TEST(TcpProbe, ConnectPortOverridesThePortAndBindtoSetsTheSource) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    auto s = spec_for(CheckType::Tcp, kV4, closed_port(io, kV4), 2s, TcpMethod::Connect);
    s.connect_port = srv.port();
    s.bindto = parse_address("127.0.0.2");
    auto r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    ASSERT_TRUE(run_until(io, [&] { return srv.accepted() == 1; }));
    EXPECT_EQ(srv.peers().at(0).to_string(), "127.0.0.2");
    // The half-open probe honours connect_port too (the source address is checked on
    // the wire in the netns tier, where nftables can count it).
    s.tcp_method = TcpMethod::HalfOpen;
    r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "port open (SYN-ACK)");
}

TEST(TcpProbe, BindtoAnAddressThisHostLacksIsAClearFailure) {
    asio::io_context io;
    for (auto method : {TcpMethod::HalfOpen, TcpMethod::Connect}) {
        auto s = spec_for(CheckType::Tcp, kV4, 9, 2s, method);
        s.bindto = parse_address("192.0.2.77");
        auto r = run_probe(io, s);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.reason, "cannot bind to 192.0.2.77: Cannot assign requested address");
    }
}

TEST(HttpProbe, ChecksStatusPathHostAndBody) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::Respond, http_response(200, "state: healthy"));
    auto s = spec_for(CheckType::Http, kV4, srv.port());
    s.path = "/health";
    s.virtualhost = "proxy.example";
    auto r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
    ASSERT_EQ(srv.requests().size(), 1u);
    EXPECT_TRUE(srv.requests()[0].starts_with("GET /health HTTP/1.1\r\nHost: proxy.example\r\n"))
        << srv.requests()[0];
    EXPECT_NE(srv.requests()[0].find("Connection: close\r\n"), std::string::npos);

    s.body_contains = "healthy";
    EXPECT_TRUE(run_probe(io, s).ok);
    s.body_contains = "sick";
    r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP 200 but the body lacks \"sick\"");
    // Only the first MiB of a body is searched, and the reason says so.
    srv.set_response(http_response(200, std::string(2 * 1024 * 1024, 'x') + "sick"));
    r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP 200 but the body's first 1 MiB lacks \"sick\" (body_contains searches no further)");

    srv.set_response(http_response(503, "down for maintenance"));
    s.body_contains.clear();
    r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP 503, expected 200-299");
    s.status_code = {{500, 503}};
    EXPECT_TRUE(run_probe(io, s).ok);
}

TEST(HttpProbe, DefaultHostIsTheTargetAndV6IsBracketed) {
    asio::io_context io;
    TestServer srv(io, {kV6, 0}, Behavior::Respond, http_response(204, ""));
    auto r = run_probe(io, spec_for(CheckType::Http, kV6, srv.port()));
    EXPECT_TRUE(r.ok) << r.reason;
    ASSERT_EQ(srv.requests().size(), 1u);
    EXPECT_NE(srv.requests()[0].find(fmt::format("Host: [::1]:{}\r\n", srv.port())), std::string::npos);
}

TEST(HttpProbe, AServerThatClosesAtOnceFailsButPassesATcpCheck) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    EXPECT_TRUE(run_probe(io, spec_for(CheckType::Tcp, kV4, srv.port(), 2s, TcpMethod::Connect)).ok);
    auto r = run_probe(io, spec_for(CheckType::Http, kV4, srv.port()));
    EXPECT_FALSE(r.ok);
    // Depending on whether the close overtakes the request, a FIN or an RST.
    EXPECT_TRUE(r.reason == "connection closed without a response" ||
                r.reason.starts_with("connection reset by the server"))
        << r.reason;
}

TEST(HttpProbe, ASilentServerFailsAtTheTimeoutAndBlocksNoOtherProbe) {
    asio::io_context io;
    TestServer silent(io, {kV4, 0}, Behavior::Silent);
    TestServer good(io, {kV4, 0}, Behavior::Respond, http_response(200));
    auto slow_spec = spec_for(CheckType::Http, kV4, silent.port());
    slow_spec.connect_timeout = 300ms;
    auto fast_spec = spec_for(CheckType::Http, kV4, good.port());

    std::optional<ProbeResult> slow, fast;
    bool fast_first = false;
    asio::co_spawn(io, probe(slow_spec), [&](std::exception_ptr, ProbeResult r) { slow = r; });
    asio::co_spawn(io, probe(fast_spec), [&](std::exception_ptr, ProbeResult r) {
        fast = r;
        fast_first = !slow;
    });
    ASSERT_TRUE(run_until(io, [&] { return slow && fast; }));
    EXPECT_TRUE(fast_first);
    EXPECT_TRUE(fast->ok);
    EXPECT_FALSE(slow->ok);
    EXPECT_EQ(slow->reason, "no response within 300ms");
    EXPECT_GE(slow->latency, 300ms);
    EXPECT_LT(slow->latency, 1s);
}

TEST(Probes, DescriptorsAreTheSameBeforeAndAfter10000Probes) {
    asio::io_context io;
    TestServer tcp_srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    TestServer http_srv(io, {kV4, 0}, Behavior::Respond, http_response(200));
    TestServer bad_srv(io, {kV4, 0}, Behavior::Respond, http_response(500));
    const uint16_t refused = closed_port(io, kV4);
    auto tcp_ok = spec_for(CheckType::Tcp, kV4, tcp_srv.port(), 2s, TcpMethod::Connect);
    auto tcp_refused = spec_for(CheckType::Tcp, kV4, refused, 2s, TcpMethod::Connect);
    auto http_ok = spec_for(CheckType::Http, kV4, http_srv.port());
    auto http_bad = spec_for(CheckType::Http, kV4, bad_srv.port());
    const CheckSpec* kinds[] = {&tcp_ok, &tcp_refused, &http_ok, &http_bad};

    const std::size_t before = open_fds();
    constexpr int kTotal = 10000, kBatch = 250;
    int done = 0, ok = 0;
    for (int started = 0; started < kTotal; started += kBatch) {
        for (int i = 0; i < kBatch; ++i)
            asio::co_spawn(io, probe(*kinds[(started + i) % 4]), [&](std::exception_ptr e, ProbeResult r) {
                ASSERT_FALSE(e);
                ++done;
                ok += r.ok;
            });
        ASSERT_TRUE(run_until(io, [&] { return done == started + kBatch; }));
    }
    EXPECT_EQ(ok, kTotal / 2);
    // Let the servers finish with what they accepted, then count again.
    ASSERT_TRUE(run_until(io, [&] {
        return tcp_srv.accepted() == kTotal / 4 && http_srv.requests().size() == kTotal / 4 &&
               bad_srv.requests().size() == kTotal / 4;
    }));
    io.poll();
    EXPECT_EQ(open_fds(), before);
}

// RFC 9110 section 15.2: a server may send interim (1xx) responses before the final one on
// the same connection. A real server that answered `100 Continue` and then `200 OK` was
// DOWN as "HTTP 100, expected 200"; the check now skips interim responses.
namespace {

const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
const std::string kEarlyHints =
    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
    "Link: </app.js>; rel=preload; as=script\r\n\r\n";

CheckSpec http_spec(const TestServer& srv, std::string body_contains = {}) {
    auto s = spec_for(CheckType::Http, srv.endpoint().address(), srv.port());
    s.path = "/health";
    s.status_code = {{200, 200}};
    s.body_contains = std::move(body_contains);
    return s;
}

}  // namespace

TEST(HttpInterim, ContinueThenOkIsUpWhetherInOneWriteOrTwo) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::Respond);
    const std::string ok = http_response(200, "state: healthy");
    srv.set_pieces({kContinue, ok}, 100ms);  // the final response a while after the interim one
    auto s = http_spec(srv, "healthy");
    auto r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
    EXPECT_GE(r.latency, 100ms);
    // The request is the same bytes as ever (no Expect: 100-continue: servers send 100
    // unasked, too).
    ASSERT_EQ(srv.requests().size(), 1u);
    EXPECT_EQ(srv.requests()[0], fmt::format("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: "
                                             "lvsd-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                                             srv.port()));
    srv.set_pieces({}, 0ms);
    srv.set_response(kContinue + ok);
    r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
    // The final status is the verdict, whatever came before it.
    srv.set_response(kContinue + http_response(503, "maintenance"));
    r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP 503, expected 200");
    // Digest: the final response's body, not a byte of the interim one.
    srv.set_response(kContinue + ok);
    s.body_contains.clear();
    s.digest = md5_hex("state: healthy");
    r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
}

TEST(HttpInterim, EarlyHintsWithLinkHeadersThenOkIsUpOverV6) {
    asio::io_context io;
    TestServer srv(io, {kV6, 0}, Behavior::Respond,
                   kEarlyHints + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "6\r\nstate:\r\n8\r\n healthy\r\n0\r\n\r\n");
    auto r = run_probe(io, http_spec(srv, "state: healthy"));
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
}

// Several interim responses, and a slow server: every byte a write of its own.
TEST(HttpInterim, SeveralInARowThenOkIsUpEvenATrickle) {
    asio::io_context io;
    const std::string all = kContinue + "HTTP/1.1 102 Processing\r\n\r\n" + kEarlyHints +
                            "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nstate: healthy";
    TestServer srv(io, {kV4, 0}, Behavior::Respond, all);
    auto s = http_spec(srv, "healthy");
    auto r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    std::vector<std::string> bytes;
    for (char c : all) bytes.emplace_back(1, c);
    srv.set_pieces(bytes, 1ms);
    s.connect_timeout = 10s;
    r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "HTTP 200");
}

TEST(HttpInterim, AStreamThatEndsAfterInterimResponsesIsDown) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::Respond, kContinue);
    auto r = run_probe(io, http_spec(srv));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP: connection closed after an interim 100 response, before the final response");
    srv.set_response(kContinue + kEarlyHints);
    r = run_probe(io, http_spec(srv));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason,
              "HTTP: connection closed after 2 interim responses (the last a 103), before the final response");
}

TEST(HttpInterim, SwitchingProtocolsIsDown) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::Respond,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    auto s = http_spec(srv);
    s.status_code = {{100, 599}};  // whatever the status: 101 is no answer to the request
    auto r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "HTTP: the server switched protocols (101) though the request asked for no upgrade");
}

// PROXY_CHECK reads the proxy's response with the same reader.
TEST(HttpInterim, ProxyCheckSkipsInterimResponsesToo) {
    asio::io_context io;
    TestServer proxy(io, {kV4, 0}, Behavior::Respond);
    proxy.set_pieces({kContinue, http_response(200, "origin ok")}, 50ms);
    auto s = spec_for(CheckType::Proxy, kV4, proxy.port());
    s.proxy_url = "http://origin.example/health";
    s.body_contains = "origin ok";
    auto r = run_probe(io, s);
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "proxy fetching http://origin.example/health: HTTP 200");
    ASSERT_EQ(proxy.requests().size(), 1u);
    EXPECT_TRUE(proxy.requests()[0].starts_with("GET http://origin.example/health HTTP/1.1\r\n"));
    proxy.set_pieces({}, 0ms);
    proxy.set_response(kContinue);
    r = run_probe(io, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "proxy fetching http://origin.example/health: HTTP: connection closed after an interim 100 "
                        "response, before the final response");
}
