#include "common/command.hpp"

#include <boost/asio/post.hpp>
#include <fmt/ranges.h>

#include "common/process.hpp"

namespace lvsd {

void run_command(boost::asio::any_io_executor io, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    if (argv.empty()) return;
    std::string what = fmt::format("command '{}'", fmt::join(argv, " "));
    start_process(std::move(io), std::move(argv), std::nullopt, timeout, std::move(what));
}

void post_command(boost::asio::any_io_executor executor, std::vector<std::string> argv,
                  std::chrono::milliseconds timeout) {
    boost::asio::post(executor, [executor, argv = std::move(argv), timeout]() mutable {
        run_command(executor, std::move(argv), timeout);
    });
}

}  // namespace lvsd
