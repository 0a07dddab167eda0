// Runs notify commands (VRRP notify scripts, a virtual server's quorum_up/quorum_down, a
// real server's notify_up/notify_down): argv directly (no shell), never blocking the
// loop, killed after a timeout. The exit is watched through a pidfd, so no SIGCHLD
// handler is needed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace lvsd {

// Starts argv[0] with the given arguments; logs (never throws) when it cannot start,
// exits non-zero or overruns `timeout` (then it is killed with SIGKILL).
void run_command(boost::asio::any_io_executor executor, std::vector<std::string> argv, std::chrono::milliseconds timeout);

// run_command() on `executor`'s thread, from any thread: the VRRP thread hands its notify
// commands to the main loop this way (forking and reaping children is no work for a
// real-time thread).
void post_command(boost::asio::any_io_executor executor, std::vector<std::string> argv,
                  std::chrono::milliseconds timeout);

}  // namespace lvsd
