#include "daemon/vrrp_thread.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/buffer.hpp>

namespace lvsd::daemon {

struct VrrpThread::Watch {
    explicit Watch(boost::asio::io_context& main, int fd) : sd(main, fd) {}
    boost::asio::posix::stream_descriptor sd;
    uint64_t count = 0;
};

VrrpThread::VrrpThread() {
    std::promise<pid_t> started;
    auto tid = started.get_future();
    thread_ = std::thread([this, &started] {
        started.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
        auto work = boost::asio::make_work_guard(io_);
        for (;;) {
            try {
                io_.run();
                return;
            } catch (const std::exception& e) {
                // The main loop's rule too: a handler that throws is a bug; the loop goes on.
                spdlog::critical("VRRP thread: {}", e.what());
            }
        }
    });
    id_ = thread_.get_id();
    tid_ = tid.get();
}

VrrpThread::~VrrpThread() { stop(); }

bool VrrpThread::here() const { return !thread_.joinable() || std::this_thread::get_id() == id_; }

void VrrpThread::stop_watching() {
    if (!watch_) return;
    forget_sigxcpu_target();
    watch_->sd.close();
    watch_.reset();
}

void VrrpThread::stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
    // A main loop that still runs finds the descriptor closed (its handler sees an error).
    if (watch_) {
        forget_sigxcpu_target();
        watch_->sd.close();
    }
}

SchedulingStatus VrrpThread::scheduling() const {
    std::lock_guard l(mu_);
    return status_;
}

void VrrpThread::schedule(const config::VrrpScheduling& want, boost::asio::io_context& main) {
    if (!watch_) watch_sigxcpu(main);
    SchedulingStatus s = scheduling();
    s.wanted_priority = want.rt_priority;
    const SchedulingPlan plan = plan_scheduling(want, s, current_rttime_hard_limit());
    std::string problem;
    std::string problem_memory;  // vrrp_no_swap could not lock: shown, the thread runs on
    if (plan.lock_memory || plan.unlock_memory) {
        if (auto r = lock_memory(plan.lock_memory); !r) {
            spdlog::warn("vrrp_no_swap: {}: lvsd's memory is not locked (lvsd needs CAP_IPC_LOCK, or a "
                         "RLIMIT_MEMLOCK as large as its memory)",
                         r.error().message);
            problem_memory = fmt::format("vrrp_no_swap: {}", r.error().message);
        } else {
            s.memory_locked = plan.lock_memory;
            spdlog::info("vrrp_no_swap: lvsd's memory is {}", s.memory_locked ? "locked (mlockall)" : "unlocked");
        }
    }
    if (plan.set_rlimit) {
        if (auto r = set_rttime_limit(plan.limits); !r) {
            // Without its budget the thread must not run in real time.
            problem = r.error().message;
        } else {
            s.rlimit_rttime_us = plan.limits.soft_us;
        }
    }
    if (plan.set_policy || !problem.empty()) {
        const int policy = problem.empty() ? plan.policy : SCHED_OTHER;
        const int priority = problem.empty() ? plan.priority : 0;
        if (auto r = set_thread_policy(thread_.native_handle(), policy, priority); !r) {
            if (problem.empty()) problem = r.error().message;
        } else {
            s.policy = policy == SCHED_RR ? "SCHED_RR" : "SCHED_OTHER";
            s.priority = priority;
        }
    }
    if (!problem.empty() && want.rt_priority > 0) {
        if (problem != s.problem)
            spdlog::warn("VRRP thread: cannot run at SCHED_RR priority {}: {}; it runs at normal priority, so a busy "
                         "machine can delay adverts into false takeovers (lvsd needs CAP_SYS_NICE and, on a kernel "
                         "with CONFIG_RT_GROUP_SCHED, a real-time budget for its cgroup; vrrp_rt_priority = 0 asks "
                         "for normal priority)",
                         want.rt_priority, problem);
        s.problem = problem;
    } else if (want.rt_priority == 0 || s.policy == "SCHED_RR") {
        s.problem.clear();
    }
    if (plan.set_policy && s.problem.empty()) spdlog::info("VRRP thread: {}", describe(s));
    if (!problem_memory.empty()) s.problem = s.problem.empty() ? problem_memory : s.problem + "; " + problem_memory;
    std::lock_guard l(mu_);
    status_ = s;
}

void VrrpThread::watch_sigxcpu(boost::asio::io_context& main) {
    const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        spdlog::error("VRRP thread: eventfd: {}: SIGXCPU would go unreported", std::strerror(errno));
        return;
    }
    watch_ = std::make_unique<Watch>(main, fd);
    if (auto r = install_sigxcpu_handler(tid_, fd); !r) spdlog::error("VRRP thread: {}", r.error().message);
    on_sigxcpu();
}

// Waits for the SIGXCPU handler's word on the main loop. The handler has demoted the
// thread already; here it is logged and shown.
void VrrpThread::on_sigxcpu() {
    watch_->sd.async_read_some(boost::asio::buffer(&watch_->count, sizeof watch_->count),
                               [this](const boost::system::error_code& ec, std::size_t) {
                                   if (ec) return;
                                   {
                                       std::lock_guard l(mu_);
                                       if (sigxcpu_demoted() && !status_.demoted) {
                                           status_.demoted = true;
                                           status_.policy = "SCHED_OTHER";
                                           status_.priority = 0;
                                           spdlog::error(
                                               "VRRP thread: SIGXCPU: it ran over vrrp_rlimit_rttime ({} us) without "
                                               "sleeping; it runs at normal priority from now on (until lvsd "
                                               "restarts), so VRRP timing is no longer protected from load. This is "
                                               "a bug in lvsd: please report it with the log above",
                                               status_.rlimit_rttime_us);
                                       } else if (!status_.demoted) {
                                           spdlog::error("SIGXCPU received, but the VRRP thread could not be demoted");
                                       }
                                   }
                                   on_sigxcpu();
                               });
}

}  // namespace lvsd::daemon
