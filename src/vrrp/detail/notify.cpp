#include "vrrp/detail/notify.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/process.hpp"

namespace lvsd::vrrp::detail {

void run_script(boost::asio::io_context& io, std::vector<std::string> argv, std::chrono::milliseconds timeout) {
    if (argv.empty()) return;
    run_process(io, argv, timeout, [what = fmt::format("'{}'", fmt::join(argv, " "))](const ProcessResult& r) {
        if (!r.succeeded()) spdlog::warn("notify script {}: {}", what, describe(r));
    });
}

}  // namespace lvsd::vrrp::detail
