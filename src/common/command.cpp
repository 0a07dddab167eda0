#include "common/command.hpp"

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
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

extern char** environ;

namespace lvsd {
namespace {

struct Child : std::enable_shared_from_this<Child> {
    boost::asio::posix::stream_descriptor pidfd;
    boost::asio::steady_timer timer;
    pid_t pid;
    std::string what;
    bool timed_out = false;

    Child(const boost::asio::any_io_executor& io, int fd, pid_t p, std::string w)
        : pidfd(io, fd), timer(io), pid(p), what(std::move(w)) {}

    void watch(std::chrono::milliseconds timeout) {
        timer.expires_after(timeout);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            self->timed_out = true;
            ::kill(self->pid, SIGKILL);
        });
        pidfd.async_wait(boost::asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](const boost::system::error_code&) {
                             int status = 0;
                             ::waitpid(self->pid, &status, 0);
                             self->timer.cancel();
                             if (self->timed_out)
                                 spdlog::warn("command {} killed after its timeout", self->what);
                             else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                                 spdlog::warn("command {} exited with status {}", self->what,
                                              WEXITSTATUS(status));
                             else if (WIFSIGNALED(status))
                                 spdlog::warn("command {} died of signal {}", self->what, WTERMSIG(status));
                         });
    }
};

}  // namespace

void run_command(boost::asio::any_io_executor io, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    if (argv.empty()) return;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::string what = fmt::format("'{}'", fmt::join(argv, " "));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        spdlog::error("command {}: cannot start: {}", what, std::strerror(rc));
        return;
    }
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        // Without a pidfd we cannot wait asynchronously; reap in the background via a
        // detached waiter is not possible either, so wait here (the script started).
        spdlog::warn("command {}: pidfd_open: {}; waiting for it synchronously", what, std::strerror(errno));
        int status = 0;
        ::waitpid(pid, &status, 0);
        return;
    }
    std::make_shared<Child>(io, fd, pid, std::move(what))->watch(timeout);
}

}  // namespace lvsd
