#include "common/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace lvsd {

namespace asio = boost::asio;

namespace {

// posix_spawn for lvsd's own user (vfork-cheap, the common case); fork + setgid/setuid
// when the command runs as another user, since posix_spawn cannot change credentials.
// Either way the child leads a new process group, so that a timeout kills the whole
// tree, and starts with default signal dispositions and an empty mask.
Result<pid_t> spawn(std::vector<std::string>& argv, const std::optional<RunAs>& run_as) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (!run_as) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        pid_t pid = 0;
        const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) return make_error(rc, "cannot start '{}': {}", argv[0], std::strerror(rc));
        return pid;
    }
    const pid_t pid = ::fork();
    if (pid < 0) return make_error(errno, "cannot start '{}': fork: {}", argv[0], std::strerror(errno));
    if (pid == 0) {
        // The child: async-signal-safe calls only.
        ::setpgid(0, 0);
        const int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0 && null != 0) ::dup2(null, 0), ::close(null);
        const gid_t gid = run_as->gid;
        if (::setgroups(1, &gid) != 0 || ::setgid(run_as->gid) != 0 || ::setuid(run_as->uid) != 0) ::_exit(126);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    // Also from the parent: the child's own setpgid may not have run yet when a timeout
    // kills the group.
    ::setpgid(pid, pid);
    return pid;
}

void reap(pid_t pid, int& status) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

}  // namespace

std::string to_string(const ProcessExit& e) {
    switch (e.how) {
        case ProcessExit::How::Exited: return fmt::format("exit {}", e.code);
        case ProcessExit::How::Signaled: return fmt::format("killed by signal {}", e.code);
        case ProcessExit::How::TimedOut: return "timed out";
        case ProcessExit::How::NotStarted: return e.error;
    }
    return "?";
}

asio::awaitable<ProcessExit> run_process(std::vector<std::string> argv, std::optional<RunAs> run_as,
                                         std::chrono::milliseconds timeout) {
    ProcessExit out;
    if (argv.empty()) {
        out.error = "empty command";
        co_return out;
    }
    auto pid = spawn(argv, run_as);
    if (!pid) {
        out.error = pid.error().message;
        out.code = pid.error().code;
        co_return out;
    }
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0));
    if (fd < 0) {
        // Linux < 5.3: nothing to wait on asynchronously. Kill it rather than block the loop.
        out.code = errno;
        out.error = fmt::format("pidfd_open: {}", std::strerror(out.code));
        ::kill(-*pid, SIGKILL);
        int status = 0;
        reap(*pid, status);
        co_return out;
    }
    auto executor = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor pidfd(executor, fd);
    asio::steady_timer timer(executor);
    auto timed_out = std::make_shared<bool>(false);
    timer.expires_after(timeout);
    const pid_t group = *pid;
    // The child is not reaped before this timer is cancelled, so the group id cannot have
    // been reused when it fires.
    timer.async_wait([timed_out, group](const boost::system::error_code& ec) {
        if (ec) return;
        // On a busy loop the timeout can be handled after the exit it raced: a child that
        // has already exited (the pidfd's completion just has not run yet) did not time
        // out. WNOWAIT leaves it to be reaped below.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(group), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == group)
            return;
        *timed_out = true;
        ::kill(-group, SIGKILL);
    });
    co_await pidfd.async_wait(asio::posix::descriptor_base::wait_read, asio::as_tuple(asio::use_awaitable));
    timer.cancel();
    int status = 0;
    reap(*pid, status);
    if (*timed_out) {
        out.how = ProcessExit::How::TimedOut;
    } else if (WIFEXITED(status)) {
        out.how = ProcessExit::How::Exited;
        out.code = WEXITSTATUS(status);
    } else {
        out.how = ProcessExit::How::Signaled;
        out.code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    co_return out;
}

void start_process(asio::any_io_executor executor, std::vector<std::string> argv, std::optional<RunAs> run_as,
                   std::chrono::milliseconds timeout, std::string what) {
    asio::co_spawn(
        executor,
        [](std::vector<std::string> argv, std::optional<RunAs> run_as, std::chrono::milliseconds timeout,
           std::string what) -> asio::awaitable<void> {
            const auto e = co_await run_process(std::move(argv), run_as, timeout);
            switch (e.how) {
                case ProcessExit::How::Exited:
                    if (e.code != 0) spdlog::warn("{} exited with status {}", what, e.code);
                    break;
                case ProcessExit::How::Signaled: spdlog::warn("{} died of signal {}", what, e.code); break;
                case ProcessExit::How::TimedOut: spdlog::warn("{} killed after its timeout", what); break;
                case ProcessExit::How::NotStarted: spdlog::error("{}: {}", what, e.error); break;
            }
        }(std::move(argv), run_as, timeout, std::move(what)),
        asio::detached);
}

std::string describe(const ProcessResult& r) {
    if (!r.started) return fmt::format("cannot start: {}", r.error);
    if (r.timed_out) return "killed after its timeout";
    if (r.signal) return fmt::format("died of signal {}", r.signal);
    return fmt::format("exited with status {}", r.exit_code);
}

void run_process(asio::any_io_executor executor, const std::vector<std::string>& argv,
                 std::chrono::milliseconds timeout, std::function<void(const ProcessResult&)> done) {
    asio::co_spawn(executor, run_process(argv, std::nullopt, timeout),
                   [done = std::move(done)](std::exception_ptr, ProcessExit e) {
                       ProcessResult r;
                       r.started = e.how != ProcessExit::How::NotStarted;
                       r.timed_out = e.how == ProcessExit::How::TimedOut;
                       if (e.how == ProcessExit::How::Exited) r.exit_code = e.code;
                       if (e.how == ProcessExit::How::Signaled) r.signal = e.code;
                       r.error = e.error;
                       if (done) done(r);
                   });
}

}  // namespace lvsd
