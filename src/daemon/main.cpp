// lvsd: entry point. Startup failures the operator can cause end here in one clear
// message and exit 1; nothing below main throws past it.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "config/keepalived_translate.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"
#include "daemon/options.hpp"
#include "daemon/system.hpp"

using namespace lvsd::daemon;

namespace {

spdlog::level::level_enum to_spdlog(lvsd::config::LogLevel level) {
    using L = lvsd::config::LogLevel;
    switch (level) {
        case L::Trace: return spdlog::level::trace;
        case L::Debug: return spdlog::level::debug;
        case L::Info: return spdlog::level::info;
        case L::Warn: return spdlog::level::warn;
        case L::Error: return spdlog::level::err;
        case L::Critical: return spdlog::level::critical;
        case L::Off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

}  // namespace

int main(int argc, char** argv) {
    auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
    if (!options) {
        fmt::print(stderr, "lvsd: {}\n", options.error().message);
        return 2;
    }
    if (options->help) {
        fmt::print("{}", usage());
        return 0;
    }
    if (options->version) {
        fmt::print("lvsd {}\n", LVSD_VERSION);
        return 0;
    }

    if (!options->from_keepalived.empty()) {
        // Migration: the translation on stdout, every problem on stderr (DESIGN.md).
        namespace ka = lvsd::config::keepalived;
        const auto t = ka::translate_file(options->from_keepalived, {.host_name = options->host_name});
        for (const auto& w : t.warnings)
            fmt::print(stderr, "{}: warning: {}\n", w.line > 0 ? fmt::format("{}:{}", w.file, w.line) : w.file, w.message);
        for (const auto& e : t.errors) fmt::print(stderr, "{}\n", lvsd::config::to_string(e));
        if (!t.ok()) {
            fmt::print(stderr, "lvsd: {} was not translated: {} problem{} above change what it does\n",
                       options->from_keepalived, t.errors.size(), t.errors.size() == 1 ? "" : "s");
            return 1;
        }
        fmt::print("{}", t.text);
        return 0;
    }

    auto loaded = load_config(options->config_path);
    if (!loaded.config) {
        for (const auto& p : loaded.problems) fmt::print(stderr, "{}\n", p);
        if (!options->test_only && !options->dump_plan)
            fmt::print(stderr, "lvsd: not starting: {} has {} problem{}\n",
                       options->config_path, loaded.problems.size(),
                       loaded.problems.size() == 1 ? "" : "s");
        return 1;
    }
    if (options->test_only) {
        fmt::print(stderr, "{}: configuration is valid\n", options->config_path);
        for (const auto& n : run_time_notes(*loaded.config)) fmt::print(stderr, "{}\n", n);
        return 0;
    }
    if (options->dump_plan) {
        fmt::print("{}", lvsd::config::format_plan(*loaded.config));
        return 0;
    }

    if (!has_network_privileges()) {
        fmt::print(stderr,
                   "lvsd: needs root or CAP_NET_ADMIN and CAP_NET_RAW to program IPVS, "
                   "addresses and VRRP sockets\n");
        return 1;
    }

    setup_logging(options->log_level.value_or(to_spdlog(loaded.config->global.log_level)));
    try {
        std::string socket_path = loaded.config->global.control_socket;
        Daemon daemon(options->config_path, std::move(socket_path), std::move(loaded.config));
        return daemon.run();
    } catch (const std::exception& e) {
        spdlog::critical("fatal: {}", e.what());
        return 1;
    }
}
