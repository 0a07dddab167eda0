// The VRRP engine's thread: its own io_context, run by one thread that may be real time
// (realtime.hpp). It carries only bounded work: adverts in and out, the state machines,
// their timers, VIPs and gratuitous ARP/NA, and the host's rtnetlink view that they
// follow. Everything else (config loading, health checks, IPVS, the control socket,
// metrics, notify scripts and tracked scripts' children) stays on the main thread.
//
// Crossing between the two goes through this interface and nothing else:
// - main -> VRRP: call() runs a function on the VRRP thread and waits for its result
//   (status, metrics, reloads, stop); post() queues one without waiting.
// - VRRP -> main: only posts to the main io_context (transitions for the connection
//   sync, notify commands); the VRRP thread never waits for the main thread, so the two
//   cannot deadlock and a busy main thread never delays an advert.
// A new VrrpPlane method needs no plumbing of its own: wrap its body in call().
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/result.hpp"
#include "config/config.hpp"
#include "daemon/realtime.hpp"

namespace lvsd::daemon {

class VrrpThread {
public:
    // How long call() waits for the VRRP thread to take the function up. It does so
    // within an advert interval unless it is stuck; a function it has begun is always
    // waited for (its work is bounded).
    static constexpr std::chrono::milliseconds kCallTimeout{5000};

    // Starts the thread (normal scheduling until schedule()).
    VrrpThread();
    ~VrrpThread();  // stop()
    VrrpThread(const VrrpThread&) = delete;
    VrrpThread& operator=(const VrrpThread&) = delete;

    boost::asio::io_context& io() { return io_; }
    // On the VRRP thread now (or it has stopped: then the caller is the only one).
    bool here() const;

    template <class F>
    void post(F&& f) {
        boost::asio::post(io_, std::forward<F>(f));
    }

    // Runs `f` on the VRRP thread and returns its result; nothing when the thread did not
    // take `f` up within `timeout` (then `f` never runs) or `f` threw (logged). Runs `f`
    // at once when called on the VRRP thread, or once the thread has stopped. `f` may
    // capture the caller's locals by reference.
    template <class F>
    auto call(F&& f, std::chrono::milliseconds timeout = kCallTimeout) {
        using R = std::invoke_result_t<F&>;
        using V = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
        auto invoke = [&f]() -> std::optional<V> {
            try {
                if constexpr (std::is_void_v<R>) {
                    f();
                    return std::monostate{};
                } else {
                    return std::optional<V>(f());
                }
            } catch (const std::exception& e) {
                spdlog::error("VRRP thread: {}", e.what());
                return std::nullopt;
            }
        };
        if (here()) return invoke();
        struct Shared {
            std::mutex mu;
            std::condition_variable cv;
            enum class Stage { Queued, Running, Done, Abandoned } stage = Stage::Queued;
            std::optional<V> result;
        };
        auto sh = std::make_shared<Shared>();
        boost::asio::post(io_, [sh, &invoke] {
            {
                std::lock_guard l(sh->mu);
                if (sh->stage == Shared::Stage::Abandoned) return;
                sh->stage = Shared::Stage::Running;
            }
            auto r = invoke();
            std::lock_guard l(sh->mu);
            sh->result = std::move(r);
            sh->stage = Shared::Stage::Done;
            sh->cv.notify_all();
        });
        std::unique_lock l(sh->mu);
        if (!sh->cv.wait_for(l, timeout, [&] { return sh->stage != Shared::Stage::Queued; })) {
            sh->stage = Shared::Stage::Abandoned;
            spdlog::error("VRRP thread: no answer within {} ms", timeout.count());
            return std::optional<V>{};
        }
        sh->cv.wait(l, [&] { return sh->stage == Shared::Stage::Done; });
        return std::move(sh->result);
    }

    // Applies global_defs' vrrp_rt_priority, vrrp_rlimit_rttime and vrrp_no_swap (start
    // and every reload), from the main thread; SIGXCPU is then watched on `main`. What
    // cannot be had (no CAP_SYS_NICE, a cgroup without a real-time budget) is one warning,
    // and the thread runs at normal priority.
    void schedule(const config::VrrpScheduling& want, boost::asio::io_context& main);
    // How it runs now (thread-safe).
    SchedulingStatus scheduling() const;

    // Stops watching for SIGXCPU on the main loop (so that it can run out of work).
    void stop_watching();
    // Stops the loop and joins the thread; what is still queued is dropped.
    void stop();

private:
    void watch_sigxcpu(boost::asio::io_context& main);
    void on_sigxcpu();

    boost::asio::io_context io_;
    std::thread thread_;
    std::thread::id id_;
    pid_t tid_ = 0;  // for the SIGXCPU handler
    mutable std::mutex mu_;
    SchedulingStatus status_;
    struct Watch;
    std::unique_ptr<Watch> watch_;  // the SIGXCPU eventfd on the main loop
};

}  // namespace lvsd::daemon
