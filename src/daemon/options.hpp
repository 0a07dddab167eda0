// lvsd's command line (DESIGN.md "Interfaces"). Parsing is pure so it is unit-tested.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <spdlog/common.h>

#include "common/result.hpp"

namespace lvsd::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/lvsd/lvsd.conf";

struct Options {
    std::string config_path = kDefaultConfigPath;
    bool test_only = false;      // -t: validate and exit
    bool dump_plan = false;      // --plan: validate, print the derived plan, exit
    // --from-keepalived FILE: print FILE (a keepalived.conf) translated into lvsd's
    // configuration and exit; --host NAME picks keepalived's @NAME conditional lines.
    std::string from_keepalived;
    std::string host_name;
    bool help = false;
    bool version = false;
    std::optional<spdlog::level::level_enum> log_level;  // unset: the config's, else info
};

Result<Options> parse_options(const std::vector<std::string>& args);

std::string usage();

}  // namespace lvsd::daemon
