#include "common/command.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/process.hpp"

namespace lvsd {

void run_command(boost::asio::any_io_executor io, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    if (argv.empty()) return;
    run_process(io, argv, timeout, [what = fmt::format("'{}'", fmt::join(argv, " "))](const ProcessResult& r) {
        if (!r.succeeded()) spdlog::warn("command {}: {}", what, describe(r));
    });
}

}  // namespace lvsd
