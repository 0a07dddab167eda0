// A wall-clock step must never cause a VRRP transition (every timer is steady_clock).
// CLOCK_REALTIME is stepped an hour forward and back while a pair runs, so this test runs
// only inside the kernel-tier VM (tests/kernel/vm-run): it refuses to touch any other
// machine's clock.
#include <time.h>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <fstream>

#include "netns/vrrp/vrrp_lab.hpp"

using namespace vrrp_lab;

namespace {

bool inside_test_vm() {
    char host[64] = {};
    ::gethostname(host, sizeof host - 1);
    std::ifstream cmdline("/proc/cmdline");
    std::string line;
    std::getline(cmdline, line);
    // All three: the VM's hostname, its init, and its control share (tests/kernel/vm-init).
    return std::string(host) == "lvsd-vm" && line.find("rdinit=/init") != std::string::npos &&
           ::access("/run/lvsd-vm/params", R_OK) == 0;
}

void step_realtime(long seconds) {
    timespec now{};
    ASSERT_EQ(::clock_gettime(CLOCK_REALTIME, &now), 0);
    now.tv_sec += seconds;
    ASSERT_EQ(::clock_settime(CLOCK_REALTIME, &now), 0) << "clock_settime: " << std::strerror(errno);
}

}  // namespace

TEST(VrrpClock, WallClockStepsCauseNoTransition) {
    if (!inside_test_vm()) GTEST_SKIP() << "steps CLOCK_REALTIME: runs only inside tests/kernel/vm-run";
    lt::Lab lab;
    build_segment(lab, {"a", "b"});
    // 500 ms adverts: the VM is emulated (TCG), so leave room for its scheduling jitter.
    auto a = start_router(lab, {"a", 200, {}, 500});
    auto b = start_router(lab, {"b", 100, {}, 500});
    ASSERT_TRUE(a.wait_state("MASTER", 10s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("BACKUP", 10s)) << b.proc.output();
    lt::wait_until([] { return false; }, 2s);
    const int ta = a.transitions(), tb = b.transitions();

    struct Restore {
        long offset = 0;
        ~Restore() {
            timespec now{};
            if (offset != 0 && ::clock_gettime(CLOCK_REALTIME, &now) == 0) {
                now.tv_sec -= offset;
                ::clock_settime(CLOCK_REALTIME, &now);
            }
        }
    } restore;
    step_realtime(3600);
    restore.offset = 3600;
    lt::wait_until([] { return false; }, 3s);
    step_realtime(-3600);
    restore.offset = 0;
    step_realtime(-3600);
    restore.offset = -3600;
    lt::wait_until([] { return false; }, 3s);
    step_realtime(3600);
    restore.offset = 0;
    lt::wait_until([] { return false; }, 2s);

    EXPECT_EQ(a.transitions(), ta) << a.proc.output();
    EXPECT_EQ(b.transitions(), tb) << b.proc.output();
    EXPECT_EQ(a.last_state(), "MASTER");
    EXPECT_EQ(b.last_state(), "BACKUP");
    auto cb = b.counters();
    EXPECT_GE(cb["received"], 10) << "b kept hearing a through the steps\n" << b.proc.output();
}
