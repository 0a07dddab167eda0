// The monitor against real loopback listeners, in real (short) time: exact rise/fall,
// dedupe of identical checks, hitless update, removal, and spread of the start times.
#include <sys/resource.h>

#include <functional>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "healthcheck/monitor.hpp"
#include "servers.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

const auto kV4 = *parse_address("127.0.0.1");

// The connect() method unless asked: these tests count the connections the server
// accepted, which a half-open probe never makes.
CheckSpec fast_tcp(uint16_t port, TcpMethod method = TcpMethod::Connect) {
    CheckSpec s;
    s.tcp_method = method;
    s.address = kV4;
    s.port = port;
    s.connect_timeout = 500ms;
    s.delay_loop = 20ms;
    s.delay_before_retry = 10ms;
    s.warmup = 1ms;
    return s;
}

struct Seen {
    HealthEvent event;
    uint64_t probes_at_event;  // how many probes the check had made when it changed
};

}  // namespace

class MonitorMethods : public ::testing::TestWithParam<TcpMethod> {};

TEST_P(MonitorMethods, RiseAndFallCountsAreRespectedExactly) {
    const auto method = GetParam();
    const char* ok_reason = method == TcpMethod::Connect ? "connected" : "port open (SYN-ACK)";
    asio::io_context io;
    auto srv = std::make_unique<TestServer>(io, tcp::endpoint{kV4, 0}, Behavior::CloseAtOnce);
    const uint16_t port = srv->port();
    std::vector<Seen> seen;
    Monitor* mon_ptr = nullptr;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) {
        seen.push_back({e, mon_ptr->status(e.key)->probes});
    });
    mon_ptr = &mon;
    auto spec = fast_tcp(port, method);
    spec.rise = 3;
    spec.fall = 2;
    spec.initial = InitialState::Down;
    auto key = mon.add(spec);
    ASSERT_TRUE(key);
    EXPECT_EQ(mon.status(*key)->health, Health::Down);

    ASSERT_TRUE(run_until(io, [&] { return seen.size() == 1; }));
    EXPECT_EQ(seen[0].probes_at_event, 3u);
    EXPECT_EQ(fmt::format("{}", seen[0].event), fmt::format("127.0.0.1:{} UP: {} (3/3 successes)", port, ok_reason));

    srv.reset();  // the port now refuses
    ASSERT_TRUE(run_until(io, [&] { return seen.size() == 2; }));
    const auto down_at = seen[1].probes_at_event;
    EXPECT_EQ(fmt::format("{}", seen[1].event),
              fmt::format("127.0.0.1:{} DOWN: connect refused (2/2 failures)", port));
    auto st = mon.status(*key);
    EXPECT_EQ(st->health, Health::Down);
    EXPECT_EQ(st->last->reason, "connect refused");

    srv = std::make_unique<TestServer>(io, tcp::endpoint{kV4, port}, Behavior::CloseAtOnce);
    ASSERT_TRUE(run_until(io, [&] { return seen.size() == 3; }));
    EXPECT_EQ(seen[2].event.transition.to, Health::Up);
    EXPECT_EQ(seen[2].event.transition.count, 3u);
    // The last three probes before the event were the successes, and the one before
    // them a failure: recovery took exactly `rise`.
    EXPECT_GE(seen[2].probes_at_event, down_at + 3);
    EXPECT_EQ(mon.status(*key)->successes, 3u);
    if (method == TcpMethod::HalfOpen) {
        EXPECT_EQ(srv->accepted(), 0u);  // no connection, ever
    }
}

INSTANTIATE_TEST_SUITE_P(Tcp, MonitorMethods, ::testing::Values(TcpMethod::HalfOpen, TcpMethod::Connect),
                         [](const auto& info) {
                             return std::string(info.param == TcpMethod::HalfOpen ? "HalfOpen" : "Connect");
                         });

TEST(Monitor, IdenticalChecksAreProbedOnceAndShareTheVerdict) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    int events = 0;
    Monitor mon(io.get_executor(), [&](const HealthEvent&) { ++events; });
    auto a = fast_tcp(srv.port());
    auto b = a;  // the same real server in a second virtual service, other port, same check
    b.port = 443;
    b.connect_port = srv.port();
    auto ka = mon.add(a), kb = mon.add(b);
    ASSERT_TRUE(ka && kb);
    EXPECT_EQ(*ka, *kb);
    EXPECT_EQ(mon.size(), 1u);
    EXPECT_EQ(mon.status(*ka)->users, 2u);
    ASSERT_TRUE(run_until(io, [&] { return mon.status(*ka)->probes >= 10; }));
    EXPECT_EQ(events, 1);  // one UP, shared
    io.poll();
    // One probe stream: the server saw as many connections as the check made probes.
    ASSERT_TRUE(run_until(io, [&] { return srv.accepted() >= mon.status(*ka)->probes; }, 2s));
    EXPECT_LE(srv.accepted(), mon.status(*ka)->probes + 1);

    EXPECT_TRUE(mon.remove(*ka));
    EXPECT_EQ(mon.size(), 1u);  // still used by b
    EXPECT_TRUE(mon.remove(*kb));
    EXPECT_EQ(mon.size(), 0u);
    EXPECT_FALSE(mon.remove(*kb));
    // Stopped: no more connections arrive.
    io.run_for(100ms);
    const auto after = srv.accepted();
    io.run_for(100ms);
    EXPECT_EQ(srv.accepted(), after);
}

TEST(Monitor, UpdateIsHitless) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    std::vector<HealthEvent> events;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto a = fast_tcp(srv.port());
    ASSERT_TRUE(mon.update({a}));
    const auto key_a = check_key(a);
    ASSERT_TRUE(run_until(io, [&] { return mon.status(key_a) && mon.status(key_a)->probes >= 3; }));
    ASSERT_EQ(events.size(), 1u);

    // Same check plus a new one: `a` keeps its counters and health.
    auto b = fast_tcp(closed_port(io, kV4));
    const auto probes_before = mon.status(key_a)->probes;
    ASSERT_TRUE(mon.update({b, a}));
    EXPECT_EQ(mon.size(), 2u);
    EXPECT_GE(mon.status(key_a)->probes, probes_before);
    EXPECT_EQ(mon.status(key_a)->health, Health::Up);

    // An invalid spec rejects the whole update and changes nothing.
    auto bad = a;
    bad.rise = 0;
    auto r = mon.update({a, bad});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("rise must be at least 1"), std::string::npos);
    EXPECT_EQ(mon.size(), 2u);

    // New rules for the same probe: the health carries over, no second UP.
    auto a2 = a;
    a2.rise = 5;
    a2.fall = 4;
    ASSERT_TRUE(mon.update({a2}));
    EXPECT_EQ(mon.size(), 1u);
    EXPECT_FALSE(mon.status(key_a));
    ASSERT_TRUE(mon.status(check_key(a2)));
    EXPECT_EQ(mon.status(check_key(a2))->health, Health::Up);
    io.run_for(100ms);
    EXPECT_EQ(events.size(), 1u);

    ASSERT_TRUE(mon.update({}));
    EXPECT_EQ(mon.size(), 0u);
    EXPECT_TRUE(mon.snapshot().empty());
}

TEST(Monitor, StartsAreSpreadAcrossTheInterval) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    Monitor mon(io.get_executor(), nullptr, 42);
    constexpr int kChecks = 500;
    for (int i = 0; i < kChecks; ++i) {
        auto s = fast_tcp(srv.port());
        s.address = *parse_address(fmt::format("127.0.{}.{}", i / 200 + 1, i % 200 + 1));
        s.port = srv.port();
        s.connect_port.reset();
        s.warmup.reset();  // spread over delay_loop
        s.delay_loop = 500ms;
        ASSERT_TRUE(mon.add(s));
    }
    // Only 127.0.0.1 listens; the rest are refused at once (loopback answers RST).
    ASSERT_TRUE(run_until(io, [&] { return mon.stats().probes_started >= kChecks; }, 3s));
    // Fired together, all 500 would be in flight at once; spread, one starts every 1 ms and
    // a refused connect is over in well under a millisecond on an idle machine. The bound
    // leaves room for a slow one (ASan, a loaded builder: 64 seen with both), not for a burst.
    EXPECT_LT(mon.stats().peak_in_flight, static_cast<std::size_t>(kChecks / 4));
    auto snap = mon.snapshot();
    ASSERT_EQ(snap.size(), static_cast<std::size_t>(kChecks));
    EXPECT_TRUE(std::is_sorted(snap.begin(), snap.end(),
                               [](const TargetStatus& x, const TargetStatus& y) { return x.key < y.key; }));
}

TEST(Monitor, DestroyingTheMonitorStopsEveryCheckAndClosesEverySocket) {
    asio::io_context io;
    TestServer silent(io, {kV4, 0}, Behavior::Silent);
    const std::size_t before = open_fds();
    {
        Monitor mon(io.get_executor(), nullptr);
        auto s = fast_tcp(silent.port());
        s.type = CheckType::Http;
        s.connect_timeout = 300ms;
        ASSERT_TRUE(mon.add(s));
        ASSERT_TRUE(run_until(io, [&] { return mon.stats().in_flight == 1 && silent.accepted() == 1; }));
    }
    // The probe in flight ends at its deadline and closes its socket; nothing else runs.
    io.run_for(400ms);
    EXPECT_EQ(silent.accepted(), 1u);
    silent.drop_connections();
    io.run_for(50ms);
    EXPECT_EQ(open_fds(), before);
}

TEST(Monitor, AShortageOfDescriptorsOnTheBalancerKeepsEveryVerdict) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    std::vector<HealthEvent> events;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = fast_tcp(srv.port());
    s.initial = InitialState::Up;
    s.fall = 1;
    auto key = mon.add(s);
    ASSERT_TRUE(key);
    ASSERT_TRUE(run_until(io, [&] { return mon.stats().probes_ok >= 1; }));

    // Only fds 0-2 allowed: every new socket fails with EMFILE (RLIMIT_NOFILE caps new
    // descriptor numbers; the ones already open stay usable).
    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 3;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    const bool shortage_seen = run_until(io, [&] { return mon.stats().probes_inconclusive >= 3; }, 5s);
    const auto during = mon.status(*key);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_TRUE(shortage_seen);
    EXPECT_EQ(during->last->reason, "cannot open a socket: Too many open files");
    EXPECT_TRUE(during->last->inconclusive);
    EXPECT_EQ(during->health, Health::Up);  // fall=1, yet no DOWN
    EXPECT_TRUE(events.empty());

    const auto ok_before = mon.stats().probes_ok;
    ASSERT_TRUE(run_until(io, [&] { return mon.stats().probes_ok > ok_before; }));
    EXPECT_EQ(mon.status(*key)->last->reason, "connected");
    EXPECT_TRUE(events.empty());
}

// The daemon's io_context returns from run() once every component has stopped: a
// Monitor's half-open probes keep the raw sockets' reads armed while it lives, and
// nothing of them once it is gone.
TEST(Monitor, OnceTheMonitorIsGoneNothingOfItsHalfOpenProbesKeepsTheIoContextBusy) {
    asio::io_context io;
    tcp::acceptor listening(io, tcp::endpoint(kV4, 0));  // answers SYNs; no accept pending
    {
        Monitor mon(io.get_executor(), nullptr);
        auto s = fast_tcp(listening.local_endpoint().port(), TcpMethod::HalfOpen);
        auto key = mon.add(s);
        ASSERT_TRUE(key);
        ASSERT_TRUE(run_until(io, [&] { return mon.stats().probes_ok >= 5; }));
        EXPECT_EQ(mon.status(*key)->last->reason, "port open (SYN-ACK)");
    }
    io.restart();
    io.run_for(3s);  // returns as soon as there is no work left (a probe in flight ends by 500 ms)
    EXPECT_TRUE(io.stopped());
}

// Issue #11: a reload that changes only a check's settings keeps the same check going:
// verdict, consecutive counts, probe count and last result, under the new key; a dead
// server never comes back up for it.
TEST(Monitor, ASettingsChangeKeepsTheVerdictAndTheHistory) {
    asio::io_context io;
    std::vector<HealthEvent> events;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = fast_tcp(closed_port(io, kV4));
    s.initial = InitialState::Up;  // keepalived without alpha: a new check would start up
    s.fall = 2;
    ASSERT_TRUE(mon.update({s}));
    ASSERT_TRUE(run_until(io, [&] { return events.size() == 1; }));
    ASSERT_EQ(events[0].transition.to, Health::Down);
    io.run_for(100ms);

    const std::vector<std::pair<const char*, std::function<void(CheckSpec&)>>> changes = {
        {"connect_timeout", [](CheckSpec& x) { x.connect_timeout = 700ms; }},
        {"delay_loop", [](CheckSpec& x) { x.delay_loop = 30ms; }},
        {"delay_before_retry", [](CheckSpec& x) { x.delay_before_retry = 15ms; }},
        {"rise and fall", [](CheckSpec& x) { x.rise = 3; x.fall = 4; }},
        {"tcp_method", [](CheckSpec& x) { x.tcp_method = TcpMethod::HalfOpen; }},
        {"initial", [](CheckSpec& x) { x.initial = InitialState::DownUntilFirstSuccess; }},
    };
    for (const auto& [what, change] : changes) {
        SCOPED_TRACE(what);
        const auto before = mon.status(check_key(s));
        ASSERT_TRUE(before);
        auto next = s;
        change(next);
        ASSERT_NE(check_key(next), check_key(s));
        ASSERT_TRUE(mon.update({next}));
        EXPECT_FALSE(mon.status(check_key(s)));
        auto now = mon.status(check_key(next));
        ASSERT_TRUE(now);
        EXPECT_EQ(now->health, Health::Down);
        EXPECT_TRUE(now->judged);
        EXPECT_EQ(now->probes, before->probes);
        EXPECT_EQ(now->failures, before->failures);
        EXPECT_EQ(now->last_probe, before->last_probe);
        EXPECT_EQ(now->spec, next);
        EXPECT_EQ(mon.size(), 1u);
        // It goes on probing, with no UP ever.
        ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(next))->probes >= before->probes + 2; }));
        EXPECT_EQ(events.size(), 1u);
        s = next;
    }
}

// A check that goes to a new target is a new check: it starts as `initial` says.
TEST(Monitor, ANewTargetStartsAfreshAsInitialSays) {
    asio::io_context io;
    std::vector<HealthEvent> events;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = fast_tcp(closed_port(io, kV4));
    s.initial = InitialState::Up;
    ASSERT_TRUE(mon.update({s}));
    ASSERT_TRUE(run_until(io, [&] { return events.size() == 1; }));

    // Loopback refuses on every 127/8 address: another address is another dead target.
    auto alpha = s;
    alpha.address = *parse_address("127.0.0.2");
    alpha.initial = InitialState::DownUntilFirstSuccess;
    ASSERT_TRUE(mon.update({alpha}));
    auto st = mon.status(check_key(alpha));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->health, Health::Down);
    EXPECT_FALSE(st->judged);
    EXPECT_EQ(st->probes, 0u);

    auto no_alpha = alpha;
    no_alpha.address = *parse_address("127.0.0.3");
    no_alpha.initial = InitialState::Up;
    ASSERT_TRUE(mon.update({no_alpha}));
    st = mon.status(check_key(no_alpha));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->health, Health::Up);  // up until `fall` failures, as keepalived without alpha
    EXPECT_EQ(st->probes, 0u);
}

// A shorter delay_loop applies at once, not after the old one runs out.
TEST(Monitor, ANewDelayLoopDoesNotWaitForTheOldOne) {
    asio::io_context io;
    TestServer srv(io, {kV4, 0}, Behavior::CloseAtOnce);
    Monitor mon(io.get_executor(), nullptr);
    auto s = fast_tcp(srv.port());
    s.delay_loop = 60s;
    ASSERT_TRUE(mon.update({s}));
    ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(s))->probes == 1; }));
    io.run_for(50ms);
    EXPECT_EQ(mon.status(check_key(s))->probes, 1u);  // the next one is a minute away

    auto fast = s;
    fast.delay_loop = 20ms;
    ASSERT_TRUE(mon.update({fast}));
    ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(fast))->probes >= 5; }, 1s));

    // And a longer one counts from the last probe, not from the reload.
    auto slow = fast;
    slow.delay_loop = 400ms;
    ASSERT_TRUE(mon.update({slow}));
    const auto at = mon.status(check_key(slow))->probes;
    io.run_for(200ms);
    EXPECT_LE(mon.status(check_key(slow))->probes, at + 1);  // at most one in flight then
    ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(slow))->probes >= at + 2; }, 2s));
}

// A probe in flight when the settings change finishes with the settings it started with;
// the next one uses the new ones.
TEST(Monitor, AProbeInFlightFinishesWithItsOwnSettings) {
    asio::io_context io;
    TestServer silent(io, {kV4, 0}, Behavior::Silent);
    Monitor mon(io.get_executor(), nullptr);
    auto s = fast_tcp(silent.port());
    s.type = CheckType::Http;
    s.connect_timeout = 300ms;
    s.delay_loop = 50ms;
    ASSERT_TRUE(mon.update({s}));
    ASSERT_TRUE(run_until(io, [&] { return mon.stats().in_flight == 1 && silent.accepted() == 1; }));

    auto longer = s;
    longer.connect_timeout = 600ms;
    longer.path = "/other";
    ASSERT_TRUE(mon.update({longer}));
    ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(longer))->last.has_value(); }, 2s));
    EXPECT_EQ(mon.status(check_key(longer))->last->reason, "no response within 300ms");
    ASSERT_TRUE(run_until(io, [&] { return mon.status(check_key(longer))->probes >= 2; }, 3s));
    EXPECT_EQ(mon.status(check_key(longer))->last->reason, "no response within 600ms");
    silent.drop_connections();
}

// Several new keys for one old target: one takes the check over, the others start with
// its verdict and history; a real server that leaves a shared check for its own settings
// keeps its verdict too.
TEST(Monitor, SeveralNewKeysForOneTargetAllKeepItsVerdict) {
    asio::io_context io;
    std::vector<HealthEvent> events;
    Monitor mon(io.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = fast_tcp(closed_port(io, kV4));
    s.initial = InitialState::Up;
    ASSERT_TRUE(mon.update({s, s}));  // two real servers, one check
    ASSERT_TRUE(run_until(io, [&] { return events.size() == 1; }));
    const auto before = *mon.status(check_key(s));
    EXPECT_EQ(before.users, 2u);

    // Both real servers change, to different settings: two checks now, both down.
    auto a = s, b = s;
    a.connect_timeout = 600ms;
    b.connect_timeout = 700ms;
    ASSERT_TRUE(mon.update({a, b}));
    EXPECT_EQ(mon.size(), 2u);
    for (const auto* x : {&a, &b}) {
        auto st = mon.status(check_key(*x));
        ASSERT_TRUE(st);
        EXPECT_EQ(st->health, Health::Down);
        EXPECT_EQ(st->users, 1u);
        EXPECT_GE(st->probes, before.probes);
        EXPECT_EQ(st->failures, before.failures);
    }

    // One real server keeps `a`, a new one joins with `c` for the same target: it starts
    // down as well (from `a`, which stays), not up as its `initial` says.
    auto c = s;
    c.fall = 7;
    ASSERT_TRUE(mon.update({a, c}));
    EXPECT_EQ(mon.size(), 2u);
    EXPECT_FALSE(mon.status(check_key(b)));  // taken over by c
    EXPECT_EQ(mon.status(check_key(c))->health, Health::Down);
    auto d = s;
    d.fall = 9;
    ASSERT_TRUE(mon.update({a, c, d}));
    EXPECT_EQ(mon.size(), 3u);
    EXPECT_EQ(mon.status(check_key(d))->health, Health::Down);
    EXPECT_TRUE(mon.status(check_key(d))->judged);
    io.run_for(200ms);
    EXPECT_EQ(events.size(), 1u);  // never UP
    for (const auto& st : mon.snapshot()) EXPECT_EQ(st.health, Health::Down) << st.key;
}
