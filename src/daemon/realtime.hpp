// The VRRP thread's scheduling (global_defs vrrp_rt_priority, vrrp_rlimit_rttime,
// vrrp_no_swap, as keepalived's keys for its VRRP process): what to ask the kernel for is
// decided here by pure functions; the few calls that ask it are beside them.
//
// Why: on a machine saturated by normal-priority work (health checks, a busy proxy, a
// build) a SCHED_OTHER thread can wait tens of milliseconds for a CPU, and at advert_int
// 0.01 that is a false takeover. SCHED_RR (sched(7)) runs the VRRP thread before every
// normal task. RLIMIT_RTTIME (setrlimit(2)) keeps it from ever spinning the machine: past
// the budget without sleeping the kernel sends SIGXCPU, and lvsd drops the thread to
// SCHED_OTHER for good (logged; `lvsctl status` and the metrics say so).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"

namespace lvsd::daemon {

// How the VRRP thread runs now: `lvsctl status` and the metrics show it.
struct SchedulingStatus {
    std::string policy = "SCHED_OTHER";  // "SCHED_RR" or "SCHED_OTHER"
    int priority = 0;                    // 1..99 under SCHED_RR, else 0
    int wanted_priority = 0;             // vrrp_rt_priority (0: normal scheduling wanted)
    bool demoted = false;                // SIGXCPU: it ran past vrrp_rlimit_rttime; until restart
    uint64_t rlimit_rttime_us = 0;       // the budget in force (0: none set)
    bool memory_locked = false;          // vrrp_no_swap took effect
    std::string problem;                 // why it does not run as configured; "" when it does
    friend bool operator==(const SchedulingStatus&, const SchedulingStatus&) = default;
};

// RLIMIT_RTTIME for a budget, in microseconds. The soft limit is the budget: SIGXCPU, and
// lvsd demotes the thread. The hard limit a second later makes the kernel SIGKILL lvsd
// should that demotion ever fail: systemd restarts a killed lvsd, a spinning one it would
// not notice. A hard limit is never raised above `current_hard` (the one in force: raising
// it needs CAP_SYS_RESOURCE, which the unit does not grant), nor the soft one above it.
struct RttimeLimits {
    uint64_t soft_us = 0;
    uint64_t hard_us = 0;
    friend bool operator==(const RttimeLimits&, const RttimeLimits&) = default;
};
RttimeLimits rttime_limits(std::chrono::microseconds budget, uint64_t current_hard = UINT64_MAX);

// What a start or reload asks of the thread, given how it runs now: a thread demoted by
// SIGXCPU stays demoted (it hit its budget: a bug to report, not to retry); otherwise
// SCHED_RR at vrrp_rt_priority, or SCHED_OTHER for 0.
struct SchedulingPlan {
    int policy = 0;    // SCHED_RR or SCHED_OTHER
    int priority = 0;  // sched_priority
    bool set_policy = false;   // differs from how it runs now
    bool set_rlimit = false;   // real time wanted: RLIMIT_RTTIME is (re)set to `limits`
    RttimeLimits limits;
    bool lock_memory = false;    // mlockall now
    bool unlock_memory = false;  // munlockall now
};
SchedulingPlan plan_scheduling(const config::VrrpScheduling& want, const SchedulingStatus& now,
                               uint64_t current_hard = UINT64_MAX);

// "SCHED_RR priority 10", "SCHED_OTHER (demoted by SIGXCPU ...)": for logs and status.
std::string describe(const SchedulingStatus& s);

// ---- the calls (thin): each returns the errno and what failed.

// The policy of `thread` (SCHED_RR gets SCHED_RESET_ON_FORK: a child it might start
// never inherits real time).
Result<void> set_thread_policy(pthread_t thread, int policy, int priority);
Result<void> set_rttime_limit(const RttimeLimits& l);
// The hard RLIMIT_RTTIME in force, in microseconds (UINT64_MAX: none).
uint64_t current_rttime_hard_limit();
Result<void> lock_memory(bool lock);

// SIGXCPU: a handler (async-signal-safe: two system calls and an atomic) that drops the
// thread `tid` to SCHED_OTHER at once and writes 1 to `event_fd`, so that the main loop
// logs it. Installed once; later calls change the thread and the descriptor.
Result<void> install_sigxcpu_handler(pid_t tid, int event_fd);
// The handler forgets the thread and the descriptor (they are about to go); it stays
// installed, so that a late SIGXCPU does not end lvsd.
void forget_sigxcpu_target();
// Whether the handler has demoted a thread since the process started.
bool sigxcpu_demoted();

}  // namespace lvsd::daemon
