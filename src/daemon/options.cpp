#include "daemon/options.hpp"

#include <fmt/format.h>

namespace lvsd::daemon {

namespace {

std::optional<spdlog::level::level_enum> parse_level(const std::string& s) {
    static constexpr std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warning", spdlog::level::warn},
        {"warn", spdlog::level::warn},   {"error", spdlog::level::err},
        {"critical", spdlog::level::critical},
    };
    for (auto [name, level] : kLevels)
        if (s == name) return level;
    return std::nullopt;
}

}  // namespace

Result<Options> parse_options(const std::vector<std::string>& args) {
    Options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto next_value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        if (a == "-f" || a == "--config") {
            auto v = next_value();
            if (!v || v->empty()) return make_error(0, "option {} needs a file name", a);
            o.config_path = *v;
        } else if (a.starts_with("--config=")) {
            o.config_path = a.substr(9);
            if (o.config_path.empty()) return make_error(0, "option --config needs a file name");
        } else if (a == "-t" || a == "--test") {
            o.test_only = true;
        } else if (a == "--plan") {
            o.dump_plan = true;
        } else if (a == "--from-keepalived" || a == "--host") {
            auto v = next_value();
            if (!v || v->empty()) return make_error(0, "option {} needs {}", a, a == "--host" ? "a name" : "a file name");
            (a == "--host" ? o.host_name : o.from_keepalived) = *v;
        } else if (a == "-l" || a == "--log-level" || a.starts_with("--log-level=")) {
            std::optional<std::string> v =
                a.starts_with("--log-level=") ? std::optional(a.substr(12)) : next_value();
            if (!v) return make_error(0, "option {} needs a level", a);
            auto level = parse_level(*v);
            if (!level)
                return make_error(0,
                                  "unknown log level \"{}\" (use trace, debug, info, warning, "
                                  "error or critical)",
                                  *v);
            o.log_level = level;
        } else if (a == "-h" || a == "--help") {
            o.help = true;
        } else if (a == "-v" || a == "--version") {
            o.version = true;
        } else {
            return make_error(0, "unknown argument \"{}\" (see lvsd --help)", a);
        }
    }
    return o;
}

std::string usage() {
    return fmt::format(
        "usage: lvsd [-f FILE] [-t | --plan] [--log-level LEVEL]\n"
        "       lvsd --from-keepalived FILE [--host NAME]\n"
        "\n"
        "  -f, --config FILE    configuration file (default {})\n"
        "  -t, --test           check the configuration, print FILE:LINE: message for\n"
        "                       each problem, exit 0 when valid and 1 otherwise\n"
        "      --plan           check the configuration and print what lvsd derives from it\n"
        "  -l, --log-level L    trace, debug, info, warning, error or critical\n"
        "      --from-keepalived FILE\n"
        "                       print FILE, a keepalived.conf, translated into an lvsd\n"
        "                       configuration; problems go to stderr as FILE:LINE: message;\n"
        "                       exit 1 when the meaning would change\n"
        "      --host NAME      the name keepalived's @NAME lines are kept for (default:\n"
        "                       this host's name)\n"
        "  -h, --help           this text\n"
        "  -v, --version        print the version\n"
        "\n"
        "lvsd runs in the foreground. SIGHUP re-reads the configuration; SIGTERM and\n"
        "SIGINT stop it (a VRRP master first hands over with a priority-0 advert).\n",
        kDefaultConfigPath);
}

}  // namespace lvsd::daemon
