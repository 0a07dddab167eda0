// MISC_CHECK against real scripts: the exit-status rule, misc_dynamic weights through the
// monitor, a hanging script killed with its whole process group at misc_timeout, one run
// of a check at a time, and `user`. Needs root (the `user` test runs a script as nobody).
// No network: a MISC_CHECK's target is whatever its script tests.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "healthcheck/monitor.hpp"
#include "servers.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

class MiscCheck : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/lvt-misc-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ::chmod(dir_.c_str(), 0755);
    }
    void TearDown() override {
        // A sleeper a failed test left behind.
        if (auto pid = read_number(dir_ + "/child.pid"); pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string script(const std::string& name, const std::string& body) {
        const auto path = dir_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        ::chmod(path.c_str(), 0755);
        return path;
    }
    void write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
    static long read_number(const std::string& path) {
        std::ifstream in(path);
        long v = -1;
        in >> v;
        return v;
    }

    CheckSpec misc(std::vector<std::string> argv, std::chrono::milliseconds timeout = 2s, bool dynamic = false) {
        CheckSpec s;
        s.type = CheckType::Misc;
        s.address = *parse_address("192.0.2.21");
        s.port = 8080;
        s.misc_argv = std::move(argv);
        s.misc_dynamic = dynamic;
        s.connect_timeout = timeout;
        return s;
    }

    asio::io_context io_;
    std::string dir_;
};

}  // namespace

TEST_F(MiscCheck, ExitStatusZeroIsUpOneIsDownAndTwoPlusNIsWeightNOnlyWhenDynamic) {
    const auto s = script("exit.sh", "exit \"$1\"\n");
    auto r0 = run_probe(io_, misc({s, "0"}));
    EXPECT_TRUE(r0.ok);
    EXPECT_EQ(r0.reason, "exit 0");
    EXPECT_EQ(r0.weight, std::nullopt);
    auto r1 = run_probe(io_, misc({s, "1"}, 2s, true));
    EXPECT_FALSE(r1.ok);
    EXPECT_EQ(r1.reason, "exit 1");
    auto r7 = run_probe(io_, misc({s, "7"}, 2s, true));
    EXPECT_TRUE(r7.ok);
    EXPECT_EQ(r7.weight, 5u);
    EXPECT_EQ(r7.reason, "exit 7: weight 5");
    auto r255 = run_probe(io_, misc({s, "255"}, 2s, true));
    EXPECT_TRUE(r255.ok);
    EXPECT_EQ(r255.weight, 253u);
    auto static7 = run_probe(io_, misc({s, "7"}));  // without misc_dynamic: down
    EXPECT_FALSE(static7.ok);
    EXPECT_EQ(static7.weight, std::nullopt);
    // Through a shell, as the loader runs a text that needs one.
    EXPECT_TRUE(run_probe(io_, misc({"/bin/sh", "-c", s + " 1 || " + s + " 0"})).ok);
    auto missing = run_probe(io_, misc({dir_ + "/none"}));
    EXPECT_FALSE(missing.ok);
    EXPECT_FALSE(missing.inconclusive);
}

TEST_F(MiscCheck, AHangingScriptIsKilledWithItsProcessGroupAtTheTimeout) {
    // The script leaves a child of its own and then hangs: both must go.
    const auto s = script("hang.sh", "sleep 30 &\necho $! > " + dir_ + "/child.pid\nsleep 30\n");
    const auto start = std::chrono::steady_clock::now();
    auto r = run_probe(io_, misc({s}, 300ms));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "killed after misc_timeout 300ms");
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2s);
    const long child = read_number(dir_ + "/child.pid");
    ASSERT_GT(child, 0);
    // The background sleep was in the group: killed (it may linger a moment as a zombie
    // of init until reaped, so wait for it to vanish or become a zombie).
    auto alive = [&] {
        std::ifstream st("/proc/" + std::to_string(child) + "/stat");
        std::string line;
        if (!std::getline(st, line)) return false;
        const auto close = line.rfind(')');
        return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
    };
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(alive()) << "the script's child " << child << " survived the timeout";
}

TEST_F(MiscCheck, TheMonitorRunsOneAtATimeAndReportsDynamicWeights) {
    // Each run logs its start and end; it takes 150 ms while delay_loop is 10 ms.
    write("code", "5\n");
    const auto s = script("slow.sh", "echo start >> " + dir_ + "/runs\nsleep 0.15\necho end >> " + dir_ +
                                         "/runs\nexit $(cat " + dir_ + "/code)\n");
    std::vector<HealthEvent> events;
    Monitor mon(io_.get_executor(), [&](const HealthEvent& e) { events.push_back(e); });
    auto spec = misc({s}, 2s, true);
    spec.delay_loop = 10ms;
    spec.delay_before_retry = 10ms;
    spec.warmup = 1ms;
    auto key = mon.add(spec);
    ASSERT_TRUE(key);
    ASSERT_TRUE(run_until(io_, [&] { return !events.empty(); }, 3s));
    EXPECT_EQ(events[0].transition.to, Health::Up);
    EXPECT_EQ(events[0].weight, 3u);  // exit 5
    EXPECT_EQ(mon.status(*key)->dynamic_weight, 3u);

    write("code", "12\n");  // a new weight, still up: an event that says only that
    ASSERT_TRUE(run_until(io_, [&] { return events.size() >= 2; }, 3s));
    EXPECT_TRUE(events[1].weight_only);
    EXPECT_EQ(events[1].weight, 10u);
    EXPECT_EQ(fmt::format("{}", events[1]), "192.0.2.21:8080 weight 10: exit 12: weight 10");

    write("code", "0\n");  // 0 keeps the weight last set (keepalived)
    const auto probes = mon.status(*key)->probes;
    ASSERT_TRUE(run_until(io_, [&] { return mon.status(*key)->probes >= probes + 2; }, 3s));
    EXPECT_EQ(events.size(), 2u);
    EXPECT_EQ(mon.status(*key)->dynamic_weight, 10u);

    write("code", "1\n");
    ASSERT_TRUE(run_until(io_, [&] { return events.size() >= 3; }, 3s));
    EXPECT_EQ(events[2].transition.to, Health::Down);
    EXPECT_FALSE(events[2].weight_only);

    // Never two runs at once: starts and ends alternate.
    std::ifstream runs(dir_ + "/runs");
    std::vector<std::string> lines;
    for (std::string l; std::getline(runs, l);) lines.push_back(l);
    ASSERT_GE(lines.size(), 8u);
    for (size_t i = 0; i + 1 < lines.size(); ++i)
        EXPECT_NE(lines[i], lines[i + 1]) << "line " << i << ": two runs overlapped";
}

TEST_F(MiscCheck, RunsAsTheConfiguredUser) {
    ASSERT_EQ(::getuid(), 0u) << "the netns tier runs as root";
    const auto s = script("who.sh", "test \"$(id -u):$(id -g)\" = \"$1\"\n");
    auto as_nobody = misc({s, "65534:65534"});
    as_nobody.misc_user = RunAs{65534, 65534};
    auto r = run_probe(io_, as_nobody);
    EXPECT_TRUE(r.ok) << r.reason;
    // The same script as root (no user) fails the comparison.
    EXPECT_FALSE(run_probe(io_, misc({s, "65534:65534"})).ok);
    EXPECT_TRUE(run_probe(io_, misc({s, "0:0"})).ok);
}
