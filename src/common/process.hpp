// Child processes for notify commands, tracked scripts and script checks: argv run
// directly (no shell unless argv[0] is one), stdin from /dev/null, in a process group of
// its own; the exit is watched through a pidfd, so the loop never blocks and no SIGCHLD
// handler is needed; at the timeout the whole group is killed (SIGKILL), so a script's
// own children cannot outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace lvsd {

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

// Starts `argv` (argv[0] an absolute path) and calls `done` on the io_context's thread
// when it has ended, been killed at `timeout`, or could not be started. `done` may be
// empty. The io_context must outlive the process.
void run_process(boost::asio::any_io_executor io, const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 std::function<void(const ProcessResult&)> done);

}  // namespace lvsd
