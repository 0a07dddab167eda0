// Child processes for notify commands and MISC_CHECK: argv run directly (no shell, no
// PATH), stdin from /dev/null, in a process group of its own, watched through a pidfd so
// that the one-threaded loop never blocks and no SIGCHLD handler is needed. At the
// timeout the whole group is killed (a script's own children go with it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <fmt/format.h>

#include "common/result.hpp"

namespace lvsd {

// Whom the child runs as; unset: lvsd's own user (root in production).
struct RunAs {
    uid_t uid = 0;
    gid_t gid = 0;
    friend bool operator==(const RunAs&, const RunAs&) = default;
};

// How a child ended.
struct ProcessExit {
    enum class How : uint8_t { Exited, Signaled, TimedOut, NotStarted };
    How how = How::NotStarted;
    int code = 0;       // Exited: the exit status; Signaled: the signal; NotStarted: errno
    std::string error;  // NotStarted: why
};

// Runs argv to its end or `timeout`, whichever comes first (then SIGKILL to its process
// group). Never throws for the child's failures: they are in the ProcessExit.
boost::asio::awaitable<ProcessExit> run_process(std::vector<std::string> argv,
                                                std::optional<RunAs> run_as,
                                                std::chrono::milliseconds timeout);

// The same without waiting: the exit is logged (non-zero status, signal, timeout), with
// `what` naming the command ("notify script '/usr/local/bin/x MASTER'").
void start_process(boost::asio::any_io_executor executor, std::vector<std::string> argv,
                   std::optional<RunAs> run_as, std::chrono::milliseconds timeout, std::string what);

std::string to_string(const ProcessExit& e);  // "exit 1", "killed by signal 9", ...

// For callers without a coroutine (tracked scripts): the same run, the result handed to
// `done` on the executor. `done` may be empty.
struct ProcessResult {
    bool started = false;    // false: it could not be started (`error` says why)
    bool timed_out = false;  // killed at its timeout
    int exit_code = -1;      // 0..255 when it exited, else -1
    int signal = 0;          // the signal that ended it, else 0
    std::string error;

    bool succeeded() const { return started && !timed_out && exit_code == 0; }
};
// "exited with status 1", "killed after its timeout", "died of signal 9", "cannot start: …".
std::string describe(const ProcessResult& r);
void run_process(boost::asio::any_io_executor executor, const std::vector<std::string>& argv,
                 std::chrono::milliseconds timeout, std::function<void(const ProcessResult&)> done);

}  // namespace lvsd
