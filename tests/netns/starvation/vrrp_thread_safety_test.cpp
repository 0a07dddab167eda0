// The real-time VRRP thread can never spin the machine (issue 16): a function that spins
// on it past vrrp_rlimit_rttime is stopped by the kernel's SIGXCPU, and lvsd's handler
// drops the thread to SCHED_OTHER at once; the main loop then logs it and the status
// says "demoted". Real: RLIMIT_RTTIME, SCHED_RR and the signal, as root (this tier).
#include <sched.h>

#include <atomic>
#include <chrono>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "daemon/vrrp_thread.hpp"

using namespace std::chrono_literals;

TEST(VrrpThreadSafety, ASpinningRealTimeThreadIsDemotedBySigxcpu) {
    boost::asio::io_context main;
    lvsd::daemon::VrrpThread thread;
    lvsd::config::VrrpScheduling want;
    want.rt_priority = 10;
    want.rlimit_rttime = 5000us;
    thread.schedule(want, main);
    ASSERT_EQ(thread.scheduling().policy, "SCHED_RR") << thread.scheduling().problem;
    ASSERT_EQ(thread.scheduling().rlimit_rttime_us, 5000u);
    ASSERT_FALSE(thread.scheduling().demoted);

    // A bug's stand-in: it never sleeps. It looks at its own policy as it spins and stops
    // once demoted (or after 3 s, which a working handler never lets happen).
    std::atomic<bool> saw_demotion{false};
    std::atomic<bool> done{false};
    thread.post([&] {
        const auto end = std::chrono::steady_clock::now() + 3s;
        while (std::chrono::steady_clock::now() < end) {
            // The kernel's word (glibc's pthread_getschedparam answers from its own cache,
            // which the handler's raw system call does not update).
            if ((::sched_getscheduler(0) & ~SCHED_RESET_ON_FORK) == SCHED_OTHER) {
                saw_demotion = true;
                break;
            }
        }
        done = true;
    });
    // The main loop hears of it through the handler's eventfd.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!(done && thread.scheduling().demoted) && std::chrono::steady_clock::now() < deadline)
        main.run_one_for(50ms);
    EXPECT_TRUE(saw_demotion) << "the spinning thread was never dropped to SCHED_OTHER";
    const auto s = thread.scheduling();
    EXPECT_TRUE(s.demoted);
    EXPECT_EQ(s.policy, "SCHED_OTHER");
    EXPECT_EQ(s.priority, 0);
    // A reload does not make it real time again.
    thread.schedule(want, main);
    EXPECT_EQ(thread.scheduling().policy, "SCHED_OTHER");
    EXPECT_TRUE(thread.scheduling().demoted);
    // And the thread still works.
    EXPECT_EQ(thread.call([] { return 3; }).value_or(0), 3);
    thread.stop_watching();
    thread.stop();
}
