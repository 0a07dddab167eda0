// Proves the namespace lab on the host kernel: two namespaces on a bridge (which lives in
// a third namespace, so the host's root namespace is never touched) reach each other over
// IPv4 and IPv6, background processes die with their handle, and teardown leaves no
// namespace or link behind.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>

#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using namespace std::chrono_literals;

namespace {

bool has_prefix(const std::vector<std::string>& names, const std::string& prefix) {
    return std::any_of(names.begin(), names.end(), [&](const auto& n) { return n.starts_with(prefix); });
}

// a:eth0 -- sw:br0 -- b:eth0, with 192.0.2.1/2 and 2001:db8::1/2.
void build_two_hosts_on_a_bridge(lt::Lab& lab) {
    lab.netns("a");
    lab.netns("b");
    lab.netns("sw");
    lab.bridge("sw", "br0");
    lab.veth("a", "eth0", "sw", "pa");
    lab.veth("b", "eth0", "sw", "pb");
    lab.enslave("sw", "pa", "br0");
    lab.enslave("sw", "pb", "br0");
    lab.address("a", "eth0", "192.0.2.1/24");
    lab.address("b", "eth0", "192.0.2.2/24");
    lab.address("a", "eth0", "2001:db8::1/64");
    lab.address("b", "eth0", "2001:db8::2/64");
}

// Gone, or a zombie waiting for whoever reaps orphans here.
bool dead(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

TEST(NetnsLab, TwoNamespacesOnABridgeReachEachOtherBothWays) {
    // Only this lab's own objects: other tests (and other people's runs) have labs of their
    // own on this host at the same time.
    std::string prefix, links;
    {
        lt::Lab lab;
        prefix = lab.prefix();
        links = lab.current_if("x");
        links.pop_back();  // "lvt-<pid base36>-": every link this lab could make here
        build_two_hosts_on_a_bridge(lab);

        for (auto [from, to] : {std::pair{"a", "192.0.2.2"}, {"b", "192.0.2.1"},
                                {"a", "2001:db8::2"}, {"b", "2001:db8::1"}}) {
            auto r = lab.exec(from, {"ping", "-c", "1", "-W", "2", to});
            EXPECT_TRUE(r.ok()) << from << " -> " << to << ": status " << r.status << "\n" << r.output;
        }
        // The objects exist while the lab lives.
        EXPECT_TRUE(has_prefix(lt::Lab::lab_namespaces(), prefix + "a"));
        EXPECT_TRUE(has_prefix(lt::Lab::lab_namespaces(), prefix + "sw"));
        // Nothing was created in the current (host) namespace.
        EXPECT_FALSE(has_prefix(lt::Lab::lab_links(), links));
    }
    EXPECT_FALSE(has_prefix(lt::Lab::lab_namespaces(), prefix)) << "a namespace survived teardown";
    EXPECT_FALSE(has_prefix(lt::Lab::lab_links(), links)) << "a link survived teardown";
}

std::string g_failed_lab_prefix;

void build_a_lab_then_fail_an_assertion() {
    lt::Lab lab;
    g_failed_lab_prefix = lab.prefix();
    lab.netns("x");
    lab.netns("y");
    lab.veth("x", "eth0", "y", "eth0");
    ASSERT_TRUE(false) << "deliberate failure";
}

TEST(NetnsLab, TeardownAfterAFailedAssertionOrAThrowStillCleansUp) {
    EXPECT_FATAL_FAILURE(build_a_lab_then_fail_an_assertion(), "deliberate failure");
    ASSERT_FALSE(g_failed_lab_prefix.empty());
    EXPECT_FALSE(has_prefix(lt::Lab::lab_namespaces(), g_failed_lab_prefix));

    std::string prefix;
    try {
        lt::Lab lab;
        prefix = lab.prefix();
        lab.netns("x");
        lab.veth("x", "eth0", "nope", "eth0");  // no namespace "nope": throws
        FAIL() << "veth into a missing namespace must throw";
    } catch (const lt::LabError&) {
    }
    EXPECT_FALSE(has_prefix(lt::Lab::lab_namespaces(), prefix));
}

TEST(NetnsLab, AddressBringsALinkUpAgainAfterTheTestSetItDown) {
    lt::Lab lab;
    lab.netns("a");
    lab.netns("b");
    lab.veth("a", "eth0", "b", "eth0");
    lab.ip("a", "link set eth0 down");
    lab.address("a", "eth0", "198.51.100.1/24");
    EXPECT_NE(lab.ip("a", "-br link show eth0").find("UP"), std::string::npos);
}

TEST(NetnsLab, ErrorsNameTheCommandAndTheReason) {
    lt::Lab lab;
    lab.netns("x");
    try {
        lab.address("x", "eth9", "192.0.2.9/24");
        FAIL() << "adding an address to a missing interface must throw";
    } catch (const lt::LabError& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("address add 192.0.2.9/24 dev eth9"), std::string::npos) << what;
        EXPECT_NE(what.find(lab.netns_name("x")), std::string::npos) << what;
    }
    EXPECT_THROW(lab.netns_name("never-made"), lt::LabError);
    EXPECT_THROW(lab.current_if("much-too-long-name"), lt::LabError);
}

TEST(NetnsLab, BackgroundProcessGroupDiesWithItsHandle) {
    lt::Lab lab;
    lab.netns("p");
    pid_t child_pid = -1;
    {
        // The shell starts a grandchild; killing the group must take both.
        auto proc = lab.spawn("p", {"sh", "-c", "sleep 600 & echo started $!; wait"});
        ASSERT_TRUE(lt::wait_until([&] { return proc.output().find("started") != std::string::npos; }, 5s))
            << proc.output();
        child_pid = std::stoi(proc.output().substr(proc.output().find(' ') + 1));
        EXPECT_TRUE(proc.running());
        EXPECT_FALSE(dead(child_pid));
        // It is inside the namespace.
        auto pids = lab.must("", {"ip", "netns", "pids", lab.netns_name("p")});
        EXPECT_NE(pids.find(std::to_string(child_pid)), std::string::npos) << pids;
    }
    EXPECT_TRUE(lt::wait_until([&] { return dead(child_pid); }, 3s)) << "grandchild survived";
}

TEST(NetnsLab, BackgroundProcessReportsItsExitAndIsKilledWhenItIgnoresSigterm) {
    auto quick = lt::spawn({"sh", "-c", "echo bye; exit 3"});
    ASSERT_TRUE(lt::wait_until([&] { return !quick.running(); }, 5s));
    EXPECT_EQ(quick.status(), 3);
    EXPECT_EQ(quick.output(), "bye\n");
    auto done = quick.stop();
    EXPECT_EQ(done.status, 3);

    auto stubborn = lt::spawn({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"});
    ASSERT_TRUE(lt::wait_until([&] { return stubborn.output() == "ready\n"; }, 5s));
    auto killed = stubborn.stop(200ms);
    EXPECT_EQ(killed.status, 128 + SIGKILL);
    EXPECT_FALSE(stubborn.running());
}

TEST(NetnsLab, RunCollectsOutputStatusAndEnforcesTheDeadline) {
    auto r = lt::run({"sh", "-c", "echo out; echo err >&2; exit 7"});
    EXPECT_EQ(r.status, 7);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.output.find("out"), std::string::npos);
    EXPECT_NE(r.output.find("err"), std::string::npos);

    auto slow = lt::run({"sleep", "30"}, {}, 200ms);
    EXPECT_TRUE(slow.timed_out);
    EXPECT_FALSE(slow.ok());

    auto missing = lt::run({"/nonexistent/tool"});
    EXPECT_EQ(missing.status, 127);
}

TEST(NetnsLab, StaleObjectsOfADeadOwnerAreRemovedAtStart) {
    // Fake a namespace left by a crashed run: its pid is one that does not exist.
    const std::string stale = "lvt-4194303-0-stale";  // above the default pid_max range
    ASSERT_TRUE(lt::run({"ip", "netns", "add", stale}).ok());
    lt::Lab lab;
    EXPECT_FALSE(has_prefix(lt::Lab::lab_namespaces(), stale));
}
