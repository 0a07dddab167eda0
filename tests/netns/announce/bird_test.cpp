// The shipped BIRD configs against real BIRD 2 (issue 14), on the host: namespaces lb and
// router joined by a veth, BIRD in each from etc/bird-lvsd.conf and
// etc/bird-router-example.conf (the test changes only `log syslog` to stderr). lvsd's kind of
// route in lb's table 100 reaches the router's FIB and BIRD's view; other routes do not; a
// deleted route is withdrawn; a BIRD killed with -9 closes its BGP session (the router drops
// the route at once); a hung BIRD (SIGSTOP, like a dead host: nothing closed, nothing sent)
// is dropped by BFD; the client's errors. Times are printed, not asserted tightly (the one
// bound tells BFD's 0.3 s from the 9 s hold time). Then two balancers: the router's
// `merge paths` makes one multipath route of them.
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <sstream>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include "announce/bird_client.hpp"
#include "daemon/bird_watch.hpp"
#include "support/netns_lab.hpp"

// GCC 12's false positive on Asio's coroutine frames (GCC bug 109224), as in
// healthcheck/probe.cpp.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ == 12
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

using namespace lvsd;
using namespace lvsd::announce;
using namespace lvsd::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct TempDir {
    TempDir() {
        std::string t = "/tmp/lvsd-bird-XXXXXX";
        if (!mkdtemp(t.data())) throw LabError("mkdtemp failed");
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string path;
};

Result<BirdView> view(const std::string& sock, std::chrono::milliseconds timeout = 1s) {
    boost::asio::io_context io;
    std::optional<Result<BirdView>> out;
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
        out.emplace(co_await read_bird_view(sock, timeout));
    }, boost::asio::detached);
    io.run();
    return std::move(*out);
}

// The shipped file with logging to stderr (the test's output) instead of the host's syslog.
std::string shipped(const std::string& name, const std::string& dir) {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/etc/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string from = "log syslog all;";
    auto at = text.find(from);
    if (at == std::string::npos) throw LabError(name + ": no 'log syslog all;'");
    text.replace(at, from.size(), "log stderr all;");
    auto path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
}

pid_t read_pid(const std::string& file) {
    pid_t pid = -1;
    wait_until([&] { std::ifstream in(file); return bool(in >> pid) && pid > 0; }, 5s);
    return pid;
}

double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

bool exports(const Result<BirdView>& v, const std::string& proto, const std::string& prefix) {
    if (!v) return false;
    auto it = v->exported.find(proto);
    if (it == v->exported.end()) return false;
    for (const auto& p : it->second)
        if (fmt::format("{}", p) == prefix) return true;
    return false;
}

class Bird : public ::testing::Test {
protected:
    void SetUp() override {
        lab.netns("lb");
        lab.netns("r");
        lab.veth("lb", "eth0", "r", "eth0");
        lab.address("lb", "eth0", "198.51.100.1/24");
        lab.address("lb", "eth0", "2001:db8:100::1/64");
        lab.address("r", "eth0", "198.51.100.254/24");
        lab.address("r", "eth0", "2001:db8:100::fe/64");
        lb_sock = dir.path + "/lb.ctl";
        r_sock = dir.path + "/r.ctl";
        lb_bird = lab.spawn("lb", {"bird", "-f", "-c", shipped("bird-lvsd.conf", dir.path), "-s", lb_sock,
                                   "-P", dir.path + "/lb.pid"});
        r_bird = lab.spawn("r", {"bird", "-f", "-c", shipped("bird-router-example.conf", dir.path), "-s",
                                 r_sock, "-P", dir.path + "/r.pid"});
        lb_pid = read_pid(dir.path + "/lb.pid");
        ASSERT_GT(lb_pid, 0) << lb_bird.output();
    }
    void TearDown() override {
        // By pid: Process handles stop their own process group, the lab the rest.
        r_bird.stop();
        lb_bird.stop();
    }
    bool router_has(const std::string& prefix) {
        const bool v6 = prefix.find(':') != std::string::npos;
        auto r = lab.exec("r", {"ip", v6 ? "-6" : "-4", "route", "show", "exact", prefix});
        return r.ok() && r.output.find("via") != std::string::npos;
    }

    TempDir dir;
    Lab lab;
    std::string lb_sock, r_sock;
    Process lb_bird, r_bird;
    pid_t lb_pid = -1;
};

TEST_F(Bird, ShippedConfigsAnnounceWithdrawAndTheRouterDropsADeadBalancer) {
    // BGP comes up after BIRD's start delay (5 s).
    Result<BirdView> v = make_error(0, "");
    const auto start = Clock::now();
    ASSERT_TRUE(wait_until([&] {
        v = view(lb_sock);
        if (!v) return false;
        int established = 0;
        for (const auto& p : v->protocols) established += p.established();
        return established == 2;
    }, 30s, 100ms)) << (v ? "not Established" : v.error().message) << "\n" << lb_bird.output() << r_bird.output();
    std::cout << "BGP v4+v6 Established " << ms_since(start) << " ms after BIRD's start\n";
    EXPECT_EQ(v->version, "2.0.12");
    ASSERT_FALSE(v->bfd.empty());
    for (const auto& s : v->bfd) EXPECT_TRUE(s.up()) << s.address.to_string() << " " << s.state;

    // Not lvsd's: another protocol number, a route that is not a host route.
    lab.ip("lb", "route add 192.0.2.11/32 dev lo table 100 proto 3");
    lab.ip("lb", "route add 192.0.2.128/25 dev lo table 100 proto 250");
    auto t0 = Clock::now();
    lab.ip("lb", "route add 192.0.2.10/32 dev lo table 100 proto 250");
    lab.ip("lb", "-6 route add 2001:db8:10::10/128 dev lo table 100 proto 250");
    ASSERT_TRUE(wait_until([&] { return router_has("192.0.2.10/32"); }, 10s, 5ms)) << lb_bird.output();
    std::cout << "announce: route in lb's table 100 -> router's FIB in " << ms_since(t0) << " ms\n";
    ASSERT_TRUE(wait_until([&] { return router_has("2001:db8:10::10/128"); }, 10s, 5ms));
    std::cout << "announce v6: " << ms_since(t0) << " ms\n";
    v = view(lb_sock);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_TRUE(exports(v, "router4", "192.0.2.10/32"));
    EXPECT_TRUE(exports(v, "router6", "2001:db8:10::10/128"));
    EXPECT_EQ(v->exported["router4"].size(), 1u) << "only lvsd's host route";
    EXPECT_FALSE(router_has("192.0.2.11/32"));
    EXPECT_FALSE(router_has("192.0.2.128/25"));

    // BirdWatch, as the daemon runs it: the poller's view, then the drain's wait.
    boost::asio::io_context io;
    daemon::BirdWatch watch(io, lb_sock, 100ms, 1s);
    watch.start();
    io.run_for(300ms);
    ASSERT_TRUE(watch.state().up()) << watch.state().error.value_or("");
    auto lines = daemon::bird_status_lines(watch.state());
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(lines[1], "  router4 BGP up Established, exports 192.0.2.10/32");
    watch.stop();
    io.restart();
    io.run_for(100ms);
    const uint64_t reads = watch.state().reads;
    io.restart();
    io.run_for(300ms);
    EXPECT_EQ(watch.state().reads, reads) << "stop() ends the poller";
    auto wait = [&](std::vector<Prefix> ps, std::chrono::milliseconds timeout) {
        std::optional<Result<void>> out;
        boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
            out.emplace(co_await watch.wait_until_withdrawn(ps, timeout));
        }, boost::asio::detached);
        io.restart();
        io.run();
        return std::move(*out);
    };
    auto still = wait({*parse_prefix("2001:db8:10::10/128")}, 300ms);
    ASSERT_FALSE(still.ok());
    EXPECT_EQ(still.error().code, ETIMEDOUT);
    EXPECT_NE(still.error().message.find("2001:db8:10::10/128 to router6"), std::string::npos)
        << still.error().message;

    t0 = Clock::now();
    lab.ip("lb", "route del 192.0.2.10/32 dev lo table 100 proto 250");
    auto withdrawn = wait({*parse_prefix("192.0.2.10/32")}, 5s);
    ASSERT_TRUE(withdrawn.ok()) << withdrawn.error().message;
    std::cout << "withdraw: route deleted -> BirdWatch::wait_until_withdrawn returns in " << ms_since(t0)
              << " ms\n";
    ASSERT_TRUE(wait_until([&] { return !router_has("192.0.2.10/32"); }, 10s, 5ms));
    std::cout << "withdraw: route deleted -> gone from router's FIB in " << ms_since(t0) << " ms\n";

    // kill -9 of lb's BIRD: its kernel closes the BGP connection, so the router drops the
    // route as soon as the FIN arrives, before BFD would notice.
    lab.ip("lb", "route add 192.0.2.10/32 dev lo table 100 proto 250");
    ASSERT_TRUE(wait_until([&] { return router_has("192.0.2.10/32"); }, 10s, 5ms));
    t0 = Clock::now();
    ASSERT_EQ(::kill(lb_pid, SIGKILL), 0);
    ASSERT_TRUE(wait_until([&] { return !router_has("192.0.2.10/32"); }, 15s, 5ms));
    std::cout << "kill -9 of lb's BIRD -> router drops the route in " << ms_since(t0)
              << " ms (the TCP session closes with the process)\n";
    ASSERT_TRUE(wait_until([&] { return !lb_bird.running(); }, 5s));
    // The socket file is left behind: a clear error, not a hang.
    auto gone = view(lb_sock);
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.error().code, ECONNREFUSED) << gone.error().message;
    EXPECT_NE(gone.error().message.find(lb_sock), std::string::npos) << gone.error().message;

    // A hung BIRD or a dead host closes nothing: only BFD (100 ms x 3 = 300 ms) tells the
    // router before the hold time (9 s). SIGSTOP stands for both: nothing more is sent.
    t0 = Clock::now();
    lb_bird = lab.spawn("lb", {"bird", "-f", "-c", dir.path + "/bird-lvsd.conf", "-s", lb_sock, "-P",
                               dir.path + "/lb2.pid"});
    lb_pid = read_pid(dir.path + "/lb2.pid");
    ASSERT_GT(lb_pid, 0) << lb_bird.output();
    ASSERT_TRUE(wait_until([&] { return router_has("192.0.2.10/32"); }, 30s, 20ms)) << lb_bird.output();
    std::cout << "lb's BIRD restarted -> route back at the router in " << ms_since(t0) << " ms\n";
    // BFD comes up after BGP: wait until lb sees its session Up.
    ASSERT_TRUE(wait_until([&] {
        auto w = view(lb_sock);
        if (!w || w->bfd.empty()) return false;
        for (const auto& b : w->bfd) if (!b.up()) return false;
        return true;
    }, 10s, 50ms));
    t0 = Clock::now();
    ASSERT_EQ(::kill(lb_pid, SIGSTOP), 0);
    ASSERT_TRUE(wait_until([&] { return !router_has("192.0.2.10/32"); }, 15s, 5ms));
    const double dropped = ms_since(t0);
    std::cout << "lb's BIRD stopped (SIGSTOP) -> router drops the route in " << dropped
              << " ms (BFD 100 ms x 3 = 300 ms; BGP hold time 9000 ms)\n";
    EXPECT_LT(dropped, 3000) << "not BFD: the hold time took it down";
    auto hung = view(lb_sock, 300ms);
    ASSERT_FALSE(hung.ok());
    EXPECT_EQ(hung.error().code, ETIMEDOUT) << hung.error().message;
    ::kill(lb_pid, SIGKILL);  // a stopped process takes SIGKILL
}

TEST(BirdClient, ClearErrors) {
    TempDir dir;
    auto missing = view(dir.path + "/none.ctl");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_NE(missing.error().message.find("no such socket"), std::string::npos) << missing.error().message;

    // Something listens but never answers: the deadline ends the read.
    const std::string path = dir.path + "/silent.ctl";
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    auto t0 = Clock::now();
    auto silent = view(path, 300ms);
    const double took = ms_since(t0);
    ::close(fd);
    ASSERT_FALSE(silent.ok());
    EXPECT_EQ(silent.error().code, ETIMEDOUT) << silent.error().message;
    EXPECT_GE(took, 290);
    EXPECT_LT(took, 2000);

    // Not BIRD: a peer that answers something else.
    const std::string other = dir.path + "/other.ctl";
    int fd2 = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", other.c_str());
    ASSERT_EQ(::bind(fd2, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd2, 4), 0);
    boost::asio::io_context io;
    std::optional<Result<BirdView>> out;
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
        out.emplace(co_await read_bird_view(other, 1s));
    }, boost::asio::detached);
    io.poll();  // connects
    int c = ::accept(fd2, nullptr, nullptr);
    ASSERT_GE(c, 0);
    const char junk[] = "SSH-2.0-OpenSSH\r\n";
    ASSERT_GT(::write(c, junk, sizeof junk - 1), 0);
    io.run();
    ASSERT_TRUE(out.has_value());
    auto r = std::move(*out);
    ::close(c);
    ::close(fd2);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EPROTO) << r.error().message;
}

}  // namespace

namespace {

// Two balancers behind the shipped router config: `merge paths` makes one multipath route
// with a next hop per balancer; one balancer withdrawing leaves the other.
TEST(BirdEcmp, RouterMergesTheBalancersIntoOneMultipathRoute) {
    TempDir dir;
    Lab lab;
    lab.netns("lb1");
    lab.netns("lb2");
    lab.netns("r");
    lab.bridge("r", "br0");
    lab.veth("lb1", "eth0", "r", "p1");
    lab.veth("lb2", "eth0", "r", "p2");
    lab.enslave("r", "p1", "br0");
    lab.enslave("r", "p2", "br0");
    lab.address("r", "br0", "198.51.100.254/24");
    lab.address("r", "br0", "2001:db8:100::fe/64");
    std::vector<Process> birds;
    for (int i = 1; i <= 2; ++i) {
        const std::string ns = "lb" + std::to_string(i);
        lab.address(ns, "eth0", fmt::format("198.51.100.{}/24", i));
        lab.address(ns, "eth0", fmt::format("2001:db8:100::{}/64", i));
        // The one per-balancer line of the shipped file.
        auto conf = shipped("bird-lvsd.conf", dir.path);
        std::ifstream in(conf);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        const std::string id = "router id 198.51.100.1;";
        auto at = text.find(id);
        ASSERT_NE(at, std::string::npos);
        text.replace(at, id.size(), fmt::format("router id 198.51.100.{};", i));
        const auto mine = fmt::format("{}/lb{}.conf", dir.path, i);
        std::ofstream(mine) << text;
        birds.push_back(lab.spawn(ns, {"bird", "-f", "-c", mine, "-s", fmt::format("{}/lb{}.ctl", dir.path, i),
                                       "-P", fmt::format("{}/lb{}.pid", dir.path, i)}));
        lab.ip(ns, "route add 192.0.2.10/32 dev lo table 100 proto 250");
    }
    birds.push_back(lab.spawn("r", {"bird", "-f", "-c", shipped("bird-router-example.conf", dir.path), "-s",
                                    dir.path + "/r.ctl", "-P", dir.path + "/r.pid"}));
    auto route = [&] { return lab.exec("r", {"ip", "-4", "route", "show", "exact", "192.0.2.10/32"}).output; };
    auto hops = [&] {
        auto text = route();
        return int(text.find("via 198.51.100.1 ") != std::string::npos) +
               int(text.find("via 198.51.100.2 ") != std::string::npos);
    };
    ASSERT_TRUE(wait_until([&] { return hops() == 2; }, 30s, 50ms)) << route() << birds[2].output();
    EXPECT_NE(route().find("nexthop"), std::string::npos) << route();
    std::cout << "router's route with both balancers:\n" << route();
    auto t0 = Clock::now();
    lab.ip("lb1", "route del 192.0.2.10/32 dev lo table 100 proto 250");
    ASSERT_TRUE(wait_until([&] { return route().find("198.51.100.1 ") == std::string::npos; }, 10s, 5ms));
    std::cout << "lb1 withdraws -> the router's route keeps only lb2 in " << ms_since(t0) << " ms: " << route();
    EXPECT_EQ(hops(), 1);
    EXPECT_NE(route().find("via 198.51.100.2 "), std::string::npos) << route();
    for (auto& b : birds) b.stop();
}

}  // namespace
