// Commands lvsd runs (notify commands, tracked scripts), each checked by keepalived's
// script security (script_security.cpp), which lvsd always applies.
#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/script_security.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

namespace {

// A bare program name as keepalived finds it: in the usual system directories.
std::optional<std::string> find_program(const std::string& name) {
    for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        const std::string path = fmt::format("{}/{}", dir, name);
        if (::access(path.c_str(), X_OK) == 0) return path;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Command> Group::command(std::string_view key) {
    auto v = string(key);
    if (!v) return std::nullopt;
    const lc::Setting& at = *find(key);
    auto argv = detail::split_command(*v);
    if (!argv) {
        error(at, fmt::format("{}: unterminated quote in: {}", key, *v));
        return std::nullopt;
    }
    if (argv->empty()) {
        error(at, fmt::format("{} is empty; give the absolute path of an executable", key));
        return std::nullopt;
    }
    const std::string& exe = argv->front();
    if (exe.front() != '/') {
        error(at, fmt::format("{}: '{}' is not an absolute path (lvsd runs notify commands without a shell or PATH)", key, exe));
        return std::nullopt;
    }
    if (auto why = loader_.host_checks() ? unsafe_to_run(exe) : std::nullopt) {
        error(at, fmt::format("{}: {}", key, *why));
        return std::nullopt;
    }
    return Command{std::move(*argv), loader_.where(at)};
}

std::optional<Command> Group::script(std::string_view key, const std::string& run_as) {
    auto v = string(key);
    if (!v) return std::nullopt;
    const lc::Setting& at = *find(key);
    if (v->find_first_not_of(" \t") == std::string::npos) {
        error(at, fmt::format("{} is empty", key));
        return std::nullopt;
    }
    std::vector<std::string> argv;
    if (detail::needs_shell(*v)) {
        argv = {"/bin/sh", "-c", *v};
    } else {
        auto words = detail::split_command(*v);
        if (!words) {
            error(at, fmt::format("{}: unterminated quote in: {}", key, *v));
            return std::nullopt;
        }
        argv = std::move(*words);
        if (argv.front().front() != '/' && loader_.host_checks()) {
            auto found = find_program(argv.front());
            if (!found) {
                error(at, fmt::format("{}: '{}' is not in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin "
                                      "or /bin; give its absolute path",
                                      key, argv.front()));
                return std::nullopt;
            }
            argv.front() = *found;
        }
    }
    // The program, and every file the command names (what a shell or an interpreter
    // runs): keepalived's script security would be moot if `sh /x/check.sh` let a
    // check.sh anyone can rewrite run as root.
    const std::string runs_as = run_as.empty() ? std::string("root") : run_as;
    if (!loader_.host_checks()) return Command{std::move(argv), loader_.where(at)};
    const struct passwd* pw = run_as.empty() ? nullptr : ::getpwnam(run_as.c_str());
    if (auto why = unsafe_command(argv, pw ? pw->pw_uid : 0, runs_as)) {
        error(at, fmt::format("{}: {}", key, *why));
        return std::nullopt;
    }
    return Command{std::move(argv), loader_.where(at)};
}

}  // namespace lvsd::config::detail
