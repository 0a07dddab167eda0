#include "daemon/realtime.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace lvsd::daemon {

RttimeLimits rttime_limits(std::chrono::microseconds budget, uint64_t current_hard) {
    const auto soft = static_cast<uint64_t>(std::max<int64_t>(budget.count(), 1));
    const uint64_t hard = std::min(soft + 1000000, current_hard);
    return {std::min(soft, hard), hard};
}

SchedulingPlan plan_scheduling(const config::VrrpScheduling& want, const SchedulingStatus& now,
                               uint64_t current_hard) {
    SchedulingPlan p;
    const bool rt = want.rt_priority > 0 && !now.demoted;
    p.policy = rt ? SCHED_RR : SCHED_OTHER;
    p.priority = rt ? want.rt_priority : 0;
    const bool is_rt = now.policy == "SCHED_RR";
    p.set_policy = rt != is_rt || (rt && now.priority != want.rt_priority);
    // The budget is set before the policy, so that the thread never runs in real time
    // without one.
    p.set_rlimit = rt;
    p.limits = rttime_limits(want.rlimit_rttime, current_hard);
    p.lock_memory = want.no_swap && !now.memory_locked;
    p.unlock_memory = !want.no_swap && now.memory_locked;
    return p;
}

std::string describe(const SchedulingStatus& s) {
    std::string out = s.policy == "SCHED_RR" ? fmt::format("SCHED_RR priority {}", s.priority) : "SCHED_OTHER";
    if (s.demoted)
        out += fmt::format(" (demoted: it ran over vrrp_rlimit_rttime {} us without sleeping)", s.rlimit_rttime_us);
    else if (!s.problem.empty())
        out += fmt::format(" ({})", s.problem);
    else if (s.wanted_priority == 0 && s.policy != "SCHED_RR")
        out += " (vrrp_rt_priority 0)";
    if (s.memory_locked) out += ", memory locked";
    return out;
}

Result<void> set_thread_policy(pthread_t thread, int policy, int priority) {
    sched_param p{};
    p.sched_priority = priority;
    const int flags = policy == SCHED_RR ? SCHED_RESET_ON_FORK : 0;
    if (int e = ::pthread_setschedparam(thread, policy | flags, &p); e != 0)
        return make_error(e, "pthread_setschedparam({} priority {}): {}",
                          policy == SCHED_RR ? "SCHED_RR" : "SCHED_OTHER", priority, std::strerror(e));
    return {};
}

Result<void> set_rttime_limit(const RttimeLimits& l) {
    rlimit r{};
    r.rlim_cur = l.soft_us;
    r.rlim_max = l.hard_us;
    if (::setrlimit(RLIMIT_RTTIME, &r) != 0)
        return make_error(errno, "setrlimit(RLIMIT_RTTIME, {} us): {}", l.soft_us, std::strerror(errno));
    return {};
}

uint64_t current_rttime_hard_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_RTTIME, &r) != 0 || r.rlim_max == RLIM_INFINITY) return UINT64_MAX;
    return r.rlim_max;
}

Result<void> lock_memory(bool lock) {
    if (lock ? ::mlockall(MCL_CURRENT | MCL_FUTURE) != 0 : ::munlockall() != 0)
        return make_error(errno, "{}: {}", lock ? "mlockall" : "munlockall", std::strerror(errno));
    return {};
}

namespace {

std::atomic<pid_t> g_tid{0};
std::atomic<int> g_event_fd{-1};
std::atomic<bool> g_demoted{false};
static_assert(std::atomic<pid_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

void on_sigxcpu(int) {
    const int saved = errno;
    if (pid_t tid = g_tid.load(); tid > 0) {
        sched_param p{};
        // The raw call: sched_setscheduler(2) on a thread id changes that thread alone.
        if (::syscall(SYS_sched_setscheduler, tid, SCHED_OTHER, &p) == 0) g_demoted.store(true);
    }
    if (int fd = g_event_fd.load(); fd >= 0) {
        const uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
    }
    errno = saved;
}

}  // namespace

Result<void> install_sigxcpu_handler(pid_t tid, int event_fd) {
    g_tid.store(tid);
    g_event_fd.store(event_fd);
    struct sigaction sa {};
    sa.sa_handler = on_sigxcpu;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(SIGXCPU, &sa, nullptr) != 0)
        return make_error(errno, "sigaction(SIGXCPU): {}", std::strerror(errno));
    return {};
}

void forget_sigxcpu_target() {
    g_tid.store(0);
    g_event_fd.store(-1);
}

bool sigxcpu_demoted() { return g_demoted.load(); }

}  // namespace lvsd::daemon
