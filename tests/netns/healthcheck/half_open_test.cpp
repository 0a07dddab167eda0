// TCP_CHECK's half-open (SYN) probe against real listeners in a network namespace:
//
//   cli (this test thread)        srv
//   eth0 192.0.2.1/24  ---------  eth0 192.0.2.2/24
//        192.0.2.3/24                  2001:db8::2/64
//        2001:db8::1/64                listeners, nftables counters and drops
//        2001:db8::3/64
//
// Open, refused and black-holed ports over IPv4 and IPv6, bindto seen on the wire, no
// connection ever reaching the application, no half-open entry left on the server, no
// descriptor or socket left on the balancer, and the connect() fallback without
// CAP_NET_RAW. Needs root; the Lab removes the namespaces, also when a test fails.
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "healthcheck/detail/syn_prober.hpp"
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

CheckSpec half_open(const IpAddress& a, uint16_t port, std::chrono::milliseconds timeout = 2s) {
    return spec_for(CheckType::Tcp, a, port, timeout, TcpMethod::HalfOpen);
}

// TCP sockets of the calling thread's network namespace in a given state (hex, as in
// /proc/net/tcp: 01 established, 03 SYN_RECV, 0A listen ...), IPv4 and IPv6 together.
std::size_t tcp_sockets(const std::string& state_hex = {}) {
    std::size_t n = 0;
    for (const char* path : {"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"}) {
        std::ifstream f(path);
        std::string line;
        std::getline(f, line);  // header
        while (std::getline(f, line)) {
            std::istringstream in(line);
            std::string sl, local, remote, st;
            in >> sl >> local >> remote >> st;
            if (state_hex.empty() || st == state_hex) ++n;
        }
    }
    return n;
}

class HalfOpenNetns : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("cli");
        lab_.netns("srv");
        lab_.veth("cli", "eth0", "srv", "eth0");
        lab_.address("cli", "eth0", "192.0.2.1/24");
        lab_.address("cli", "eth0", "192.0.2.3/24");
        lab_.address("cli", "eth0", "2001:db8::1/64");
        lab_.address("cli", "eth0", "2001:db8::3/64");
        lab_.address("srv", "eth0", "192.0.2.2/24");
        lab_.address("srv", "eth0", "2001:db8::2/64");
        in_cli_.emplace(lab_.netns_name("cli"));
    }

    void TearDown() override {
        servers_.clear();
        in_cli_.reset();
    }

    TestServer& serve(const IpAddress& a, uint16_t port, Behavior b = Behavior::CloseAtOnce) {
        InNetns in(lab_.netns_name("srv"));
        servers_.push_back(std::make_unique<TestServer>(io_, tcp::endpoint{a, port}, b));
        return *servers_.back();
    }

    std::size_t srv_sockets(const std::string& state_hex) {
        InNetns in(lab_.netns_name("srv"));
        return tcp_sockets(state_hex);
    }

    void nft(const std::string& command) { lab_.must("srv", {"nft", command}); }

    // The packet count of the srv rule whose comment is `name`.
    uint64_t counter(const std::string& name) {
        const auto out = lab_.must("srv", {"nft", "list chain inet lvthc in"});
        std::smatch m;
        const std::regex re("counter packets ([0-9]+) bytes [0-9]+ comment \"" + name + "\"");
        if (!std::regex_search(out, m, re)) throw std::runtime_error("no counter " + name + " in:\n" + out);
        return std::stoull(m[1]);
    }

    detail::SynProber& prober() {
        return asio::use_service<detail::SynProber>(io_);
    }

    lt::Lab lab_;
    asio::io_context io_;
    std::vector<std::unique_ptr<TestServer>> servers_;
    std::optional<InNetns> in_cli_;
};

}  // namespace

TEST_F(HalfOpenNetns, OpenRefusedAndBlackHoledOverV4AndV6) {
    nft("add table inet lvthc");
    nft("add chain inet lvthc in { type filter hook input priority 0 ; }");
    for (const auto& a : {kSrv4, kSrv6}) {
        SCOPED_TRACE(a.to_string());
        auto& srv = serve(a, 8090);

        auto open = run_probe(io_, half_open(a, 8090));
        EXPECT_TRUE(open.ok) << open.reason;
        EXPECT_EQ(open.reason, "port open (SYN-ACK)");
        EXPECT_LT(open.latency, 500ms);

        auto refused = run_probe(io_, half_open(a, 8091));
        EXPECT_FALSE(refused.ok);
        EXPECT_EQ(refused.reason, "connect refused");
        EXPECT_LT(refused.latency, 500ms);

        // The server's SYN-ACK got the balancer kernel's RST: nothing half-open is left
        // on the server, and the application never saw a connection.
        EXPECT_TRUE(lt::wait_until([&] { return srv_sockets("03") == 0; }, 2s));
        io_.poll();
        EXPECT_EQ(srv.accepted(), 0u);
        EXPECT_EQ(prober().in_flight(), 0u);
    }

    // Black-holed: SYNs to 8090 dropped in srv, for both families.
    nft("add rule inet lvthc in tcp dport 8090 drop");
    for (const auto& a : {kSrv4, kSrv6}) {
        SCOPED_TRACE(a.to_string());
        auto r = run_probe(io_, half_open(a, 8090, 300ms));
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.reason, "connect timeout after 300ms");
        EXPECT_GE(r.latency, 300ms);
        EXPECT_LT(r.latency, 1s);
    }
    EXPECT_EQ(prober().in_flight(), 0u);
}

TEST_F(HalfOpenNetns, BindtoAndConnectPortAreWhatGoesOnTheWire) {
    serve(kSrv4, 8092);
    serve(kSrv6, 8092);
    nft("add table inet lvthc");
    nft("add chain inet lvthc in { type filter hook input priority 0 ; }");
    nft("add rule inet lvthc in ip saddr 192.0.2.3 tcp dport 8092 tcp flags == syn counter comment \"syn4\"");
    nft("add rule inet lvthc in ip saddr 192.0.2.3 tcp dport 8092 tcp flags & rst == rst counter comment \"rst4\"");
    nft("add rule inet lvthc in ip6 saddr 2001:db8::3 tcp dport 8092 tcp flags == syn counter comment \"syn6\"");
    nft("add rule inet lvthc in ip6 saddr 2001:db8::3 tcp dport 8092 tcp flags & rst == rst counter comment \"rst6\"");

    auto s4 = half_open(kSrv4, 9999);  // the real server's port; the check goes to connect_port
    s4.connect_port = 8092;
    s4.bindto = parse_address("192.0.2.3");
    auto s6 = half_open(kSrv6, 9999);
    s6.connect_port = 8092;
    s6.bindto = parse_address("2001:db8::3");
    for (int i = 0; i < 3; ++i) {
        auto r4 = run_probe(io_, s4);
        EXPECT_TRUE(r4.ok) << r4.reason;
        auto r6 = run_probe(io_, s6);
        EXPECT_TRUE(r6.ok) << r6.reason;
    }
    // Each probe: one SYN from the bindto address, and the RST that ends it from there too.
    EXPECT_TRUE(lt::wait_until([&] { return counter("rst4") == 3 && counter("rst6") == 3; }, 2s));
    EXPECT_EQ(counter("syn4"), 3u);
    EXPECT_EQ(counter("syn6"), 3u);
    EXPECT_EQ(counter("rst4"), 3u);
    EXPECT_EQ(counter("rst6"), 3u);

    // A source this host lacks is the same clear failure as with connect().
    auto bad = half_open(kSrv4, 8092);
    bad.bindto = parse_address("198.51.100.77");
    auto r = run_probe(io_, bad);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "cannot bind to 198.51.100.77: Cannot assign requested address");
}

TEST_F(HalfOpenNetns, NoDescriptorSocketOrHalfOpenEntryIsLeftAfter10000Probes) {
    serve(kSrv4, 8093);
    serve(kSrv6, 8093);
    const CheckSpec kinds[] = {half_open(kSrv4, 8093), half_open(kSrv4, 8094), half_open(kSrv6, 8093),
                               half_open(kSrv6, 8094)};
    constexpr int kTotal = 10000, kBatch = 250;
    int done = 0, ok = 0, refused = 0;
    auto batch = [&] {
        const int target = done + kBatch;
        for (int i = 0; i < kBatch; ++i)
            asio::co_spawn(io_, probe(kinds[i % 4]), [&](std::exception_ptr e, ProbeResult r) {
                ASSERT_FALSE(e);
                ++done;
                ok += r.ok;
                refused += r.reason == "connect refused";
            });
        return run_until(io_, [&] { return done == target; });
    };
    // The first batch opens the raw sockets and holds source ports, one per probe in
    // flight to the same server (62 here; a monitor has one at most): those stay, and
    // are bounded.
    ASSERT_TRUE(batch());
    EXPECT_LE(prober().held_ports(Family::V4), 64u);
    EXPECT_LE(prober().held_ports(Family::V6), 64u);
    done = ok = refused = 0;
    const std::size_t fds = open_fds();
    const std::size_t sockets = tcp_sockets();
    const std::size_t held = prober().held_ports(Family::V4) + prober().held_ports(Family::V6);

    while (done < kTotal) ASSERT_TRUE(batch());
    EXPECT_EQ(ok, kTotal / 2);
    EXPECT_EQ(refused, kTotal / 2);
    EXPECT_EQ(prober().in_flight(), 0u);
    EXPECT_EQ(open_fds(), fds);
    EXPECT_EQ(tcp_sockets(), sockets);
    EXPECT_EQ(prober().held_ports(Family::V4) + prober().held_ports(Family::V6), held);
    EXPECT_TRUE(lt::wait_until([&] { return srv_sockets("03") == 0; }, 2s));
    io_.poll();
    for (auto& s : servers_) EXPECT_EQ(s->accepted(), 0u);
}

TEST_F(HalfOpenNetns, TheMonitorTakesABlackHoledServerDownAndBackUp) {
    serve(kSrv6, 8095);
    std::vector<HealthEvent> events;
    Monitor mon(io_.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto s = half_open(kSrv6, 8095, 200ms);
    s.delay_loop = 50ms;
    s.delay_before_retry = 20ms;
    s.warmup = 1ms;
    s.fall = 2;
    ASSERT_TRUE(mon.add(s));
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 1; }, 3s));
    EXPECT_EQ(fmt::format("{}", events[0]), "[2001:db8::2]:8095 UP: port open (SYN-ACK) (1/1 success)");

    nft("add table inet lvthc");
    nft("add chain inet lvthc in { type filter hook input priority 0 ; }");
    nft("add rule inet lvthc in tcp dport 8095 drop");
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 2; }, 3s));
    EXPECT_EQ(fmt::format("{}", events[1]), "[2001:db8::2]:8095 DOWN: connect timeout after 200ms (2/2 failures)");

    nft("flush chain inet lvthc in");
    ASSERT_TRUE(run_until(io_, [&] { return events.size() == 3; }, 3s));
    EXPECT_EQ(events[2].transition.to, Health::Up);
}

// Capabilities are per thread: a thread without CAP_NET_RAW gets no raw socket, and
// its io_context's TCP checks connect() instead, after one warning that says why.
TEST_F(HalfOpenNetns, WithoutCapNetRawTcpChecksFallBackToConnect) {
    auto& srv = serve(kSrv4, 8096);
    std::ostringstream log;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
    spdlog::default_logger()->sinks().push_back(sink);

    std::optional<ProbeResult> first, second;
    std::thread t([&] {
        InNetns in(lab_.netns_name("cli"));
        __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        if (syscall(SYS_capget, &hdr, data) != 0) return;
        data[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
        if (syscall(SYS_capset, &hdr, data) != 0) return;
        asio::io_context io;
        first = run_probe(io, half_open(kSrv4, 8096));
        second = run_probe(io, half_open(kSrv4, 8097));
    });
    t.join();
    spdlog::default_logger()->sinks().pop_back();

    ASSERT_TRUE(first && second);
    EXPECT_TRUE(first->ok) << first->reason;
    EXPECT_EQ(first->reason, "connected");  // the connect() probe's verdict
    EXPECT_EQ(second->reason, "connect refused");
    EXPECT_TRUE(run_until(io_, [&] { return srv.accepted() == 1; }));
    const auto text = log.str();
    EXPECT_NE(text.find("TCP_CHECK: half-open probes unavailable for IPv4 (cannot open a raw socket: "
                        "Operation not permitted, lvsd needs CAP_NET_RAW); TCP checks connect() instead"),
              std::string::npos)
        << text;
    // Said once, not once per probe.
    EXPECT_EQ(text.find("half-open probes unavailable"), text.rfind("half-open probes unavailable")) << text;
}
