#include "common/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

extern char** environ;

namespace lvsd {
namespace {

struct Child : std::enable_shared_from_this<Child> {
    boost::asio::posix::stream_descriptor pidfd;
    boost::asio::steady_timer timer;
    pid_t pid;
    std::function<void(const ProcessResult&)> done;
    bool timed_out = false;

    Child(const boost::asio::any_io_executor& io, int fd, pid_t p, std::function<void(const ProcessResult&)> d)
        : pidfd(io, fd), timer(io), pid(p), done(std::move(d)) {}

    void watch(std::chrono::milliseconds timeout) {
        timer.expires_after(timeout);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            // On a busy loop the timeout can be handled after the exit it raced: a child
            // that has already exited (its pidfd handler just has not run yet) did not
            // time out. WNOWAIT leaves it for that handler to reap.
            siginfo_t info{};
            if (::waitid(P_PID, static_cast<id_t>(self->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                info.si_pid == self->pid)
                return;
            self->timed_out = true;
            // The group: a shell's children (sleep, curl) die with it.
            ::kill(-self->pid, SIGKILL);
        });
        pidfd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](const boost::system::error_code&) {
                             int status = 0;
                             ::waitpid(self->pid, &status, 0);
                             self->timer.cancel();
                             ProcessResult r;
                             r.started = true;
                             r.timed_out = self->timed_out;
                             if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
                             if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
                             if (self->done) self->done(r);
                         });
    }
};

}  // namespace

std::string describe(const ProcessResult& r) {
    if (!r.started) return fmt::format("cannot start: {}", r.error);
    if (r.timed_out) return "killed after its timeout";
    if (r.signal) return fmt::format("died of signal {}", r.signal);
    return fmt::format("exited with status {}", r.exit_code);
}

void run_process(boost::asio::any_io_executor io, const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 std::function<void(const ProcessResult&)> done) {
    auto fail = [&](std::string why) {
        ProcessResult r;
        r.error = std::move(why);
        if (done) done(r);
    };
    if (argv.empty()) return fail("empty command");
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, copy[0].c_str(), &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return fail(std::strerror(rc));
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        // pidfd_open exists since Linux 5.3; without it the exit cannot be awaited on the
        // loop. Wait here rather than leave a zombie (the script did start).
        const int err = errno;
        int status = 0;
        ::waitpid(pid, &status, 0);
        ProcessResult r;
        r.started = true;
        r.error = fmt::format("pidfd_open: {}", std::strerror(err));
        if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
        if (done) done(r);
        return;
    }
    std::make_shared<Child>(io, fd, pid, std::move(done))->watch(timeout);
}

}  // namespace lvsd
