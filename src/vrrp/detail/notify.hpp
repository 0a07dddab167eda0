// Runs notify scripts: argv directly (no shell), never blocking the loop, killed after
// a timeout (common/process.hpp does the work, shared with MISC_CHECK).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace lvsd::vrrp::detail {

// Starts argv[0] with the given arguments; logs (never throws) when it cannot start,
// exits non-zero or overruns `timeout` (then it is killed with SIGKILL).
void run_script(boost::asio::io_context& io, std::vector<std::string> argv, std::chrono::milliseconds timeout);

}  // namespace lvsd::vrrp::detail
