#include "vrrp/detail/notify.hpp"

#include <fmt/ranges.h>

#include "common/process.hpp"

namespace lvsd::vrrp::detail {

void run_script(boost::asio::io_context& io, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    if (argv.empty()) return;
    std::string what = fmt::format("notify script '{}'", fmt::join(argv, " "));
    start_process(io.get_executor(), std::move(argv), std::nullopt, timeout, std::move(what));
}

}  // namespace lvsd::vrrp::detail
