// The VRRP thread's scheduling decisions (realtime.hpp), and the one way across to the
// thread (vrrp_thread.hpp's call and post).
#include <sched.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "daemon/realtime.hpp"
#include "daemon/vrrp_thread.hpp"

namespace lvsd::daemon {
namespace {

using namespace std::chrono_literals;

config::VrrpScheduling want(int prio, bool no_swap = false) {
    config::VrrpScheduling w;
    w.rt_priority = prio;
    w.no_swap = no_swap;
    return w;
}

SchedulingStatus running(std::string policy, int prio, bool demoted = false, bool locked = false) {
    SchedulingStatus s;
    s.policy = std::move(policy);
    s.priority = prio;
    s.demoted = demoted;
    s.memory_locked = locked;
    return s;
}

TEST(RttimeLimits, TheBudgetIsTheSoftLimitAndTheKernelKillsASecondLater) {
    EXPECT_EQ(rttime_limits(10000us), (RttimeLimits{10000, 1010000}));
    EXPECT_EQ(rttime_limits(1000us), (RttimeLimits{1000, 1001000}));
}

TEST(RttimeLimits, AHardLimitInForceIsNeverRaised) {
    // A reload from 10 ms to 2 s: the hard limit of 1.01 s stays, and so must the soft one.
    EXPECT_EQ(rttime_limits(20000us, 1010000), (RttimeLimits{20000, 1010000}));
    EXPECT_EQ(rttime_limits(2000000us, 1010000), (RttimeLimits{1010000, 1010000}));
    EXPECT_EQ(plan_scheduling(want(10), running("SCHED_RR", 10), 1010000).limits.hard_us, 1010000u);
}

TEST(PlanScheduling, RealTimeAtStartWithItsBudgetSetFirst) {
    auto p = plan_scheduling(want(10), running("SCHED_OTHER", 0));
    EXPECT_EQ(p.policy, SCHED_RR);
    EXPECT_EQ(p.priority, 10);
    EXPECT_TRUE(p.set_policy);
    EXPECT_TRUE(p.set_rlimit);
    EXPECT_EQ(p.limits.soft_us, 10000u);
    EXPECT_FALSE(p.lock_memory);
    EXPECT_FALSE(p.unlock_memory);
}

TEST(PlanScheduling, AReloadChangesOnlyWhatDiffers) {
    EXPECT_FALSE(plan_scheduling(want(10), running("SCHED_RR", 10)).set_policy);
    auto up = plan_scheduling(want(20), running("SCHED_RR", 10));
    EXPECT_TRUE(up.set_policy);
    EXPECT_EQ(up.priority, 20);
    auto off = plan_scheduling(want(0), running("SCHED_RR", 10));
    EXPECT_TRUE(off.set_policy);
    EXPECT_EQ(off.policy, SCHED_OTHER);
    EXPECT_EQ(off.priority, 0);
    EXPECT_FALSE(off.set_rlimit);
    EXPECT_FALSE(plan_scheduling(want(0), running("SCHED_OTHER", 0)).set_policy);
}

TEST(PlanScheduling, AThreadDemotedBySigxcpuStaysDemoted) {
    auto p = plan_scheduling(want(10), running("SCHED_OTHER", 0, true));
    EXPECT_EQ(p.policy, SCHED_OTHER);
    EXPECT_FALSE(p.set_policy);
    EXPECT_FALSE(p.set_rlimit);
}

TEST(PlanScheduling, MemoryIsLockedAndUnlockedOnChange) {
    EXPECT_TRUE(plan_scheduling(want(10, true), running("SCHED_RR", 10)).lock_memory);
    EXPECT_FALSE(plan_scheduling(want(10, true), running("SCHED_RR", 10, false, true)).lock_memory);
    EXPECT_TRUE(plan_scheduling(want(10, false), running("SCHED_RR", 10, false, true)).unlock_memory);
}

TEST(Describe, SaysThePolicyAndWhyItIsNotAsConfigured) {
    EXPECT_EQ(describe(running("SCHED_RR", 10)), "SCHED_RR priority 10");
    auto demoted = running("SCHED_OTHER", 0, true);
    demoted.rlimit_rttime_us = 10000;
    demoted.wanted_priority = 10;
    EXPECT_EQ(describe(demoted), "SCHED_OTHER (demoted: it ran over vrrp_rlimit_rttime 10000 us without sleeping)");
    auto refused = running("SCHED_OTHER", 0);
    refused.wanted_priority = 10;
    refused.problem = "pthread_setschedparam(SCHED_RR priority 10): Operation not permitted";
    EXPECT_EQ(describe(refused), "SCHED_OTHER (pthread_setschedparam(SCHED_RR priority 10): Operation not permitted)");
    EXPECT_EQ(describe(running("SCHED_OTHER", 0)), "SCHED_OTHER (vrrp_rt_priority 0)");
}

TEST(VrrpThread, CallRunsOnTheThreadAndReturnsTheResult) {
    VrrpThread t;
    EXPECT_FALSE(t.here());
    auto id = t.call([&] { return std::this_thread::get_id(); });
    ASSERT_TRUE(id);
    EXPECT_NE(*id, std::this_thread::get_id());
    // From the thread itself it runs at once (no deadlock).
    auto nested = t.call([&] { return t.call([&] { return t.here(); }); });
    ASSERT_TRUE(nested && *nested);
    EXPECT_TRUE(**nested);
    int x = 0;
    EXPECT_TRUE(t.call([&] { x = 7; }));
    EXPECT_EQ(x, 7);
}

TEST(VrrpThread, AFunctionNotTakenUpInTimeNeverRuns) {
    VrrpThread t;
    std::promise<void> release;
    auto gate = release.get_future().share();
    t.post([gate] { gate.wait(); });  // the thread is busy until released
    bool ran = false;
    auto r = t.call([&] { ran = true; return 1; }, 50ms);
    EXPECT_FALSE(r);
    release.set_value();
    // Whatever is queued after it still runs; the abandoned one does not.
    EXPECT_TRUE(t.call([] {}));
    EXPECT_FALSE(ran);
}

TEST(VrrpThread, AThrowingFunctionIsNothingAndTheThreadGoesOn) {
    VrrpThread t;
    auto r = t.call([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_FALSE(r);
    EXPECT_EQ(t.call([] { return 2; }).value_or(0), 2);
}

TEST(VrrpThread, AfterStopCallsRunOnTheCaller) {
    VrrpThread t;
    t.stop();
    EXPECT_TRUE(t.here());
    auto id = t.call([] { return std::this_thread::get_id(); });
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, std::this_thread::get_id());
}

}  // namespace
}  // namespace lvsd::daemon
