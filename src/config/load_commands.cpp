// Commands lvsd runs (notify commands, tracked scripts) and keepalived's script security,
// which lvsd always applies.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "config/detail/loader.hpp"
#include "config/detail/text.hpp"

namespace lvsd::config::detail {

namespace {

// Why lvsd must not run `path` as root, or nothing. keepalived's enable_script_security
// rules, always on: the file and every directory on its path are writable only by root
// (a directory writable by others counts only without its sticky bit, as /tmp has).
// `file` is a program to execute (`executable`) or a file a program reads (a script given
// to a shell or an interpreter); `runs_as` names whom lvsd runs the command as.
std::optional<std::string> unsafe_to_run(const std::string& path, bool executable = true,
                                         std::string_view runs_as = "root") {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("'{}': {}", path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fmt::format("'{}' is a directory, not an executable file", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("'{}' is not a regular file", path);
    if (executable && (st.st_mode & 0111) == 0)
        return fmt::format("'{}' is not executable (mode {:04o})", path, st.st_mode & 07777);
    if (st.st_mode & 0022)
        return fmt::format("'{}' is writable by group or others (mode {:04o}) but would run as {}", path,
                           st.st_mode & 07777, runs_as);
    if (st.st_uid != 0 && (st.st_mode & 0200))
        return fmt::format("'{}' is owned and writable by uid {} but would run as {}", path, st.st_uid, runs_as);
    for (std::string dir = path.substr(0, path.rfind('/')); !dir.empty(); dir = dir.substr(0, dir.rfind('/'))) {
        struct stat d {};
        if (::stat(dir.c_str(), &d) != 0) break;
        const bool others_write = (d.st_mode & 0022) && !(d.st_mode & S_ISVTX);
        if (others_write || (d.st_uid != 0 && (d.st_mode & 0200) && !(d.st_mode & S_ISVTX)))
            return fmt::format("'{}' is in '{}', which a user other than root can write to (mode {:04o}, uid {}): "
                               "the script could be replaced",
                               path, dir, d.st_mode & 07777, d.st_uid);
    }
    return std::nullopt;
}

// Every absolute path in a command (argv after the program, or a shell text's words) that
// names an existing file: what the command will read and run (`sh /x/check.sh`, `a && /x/b`).
std::vector<std::string> files_named_in(const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (const auto& w : words) {
        std::string token;
        for (std::size_t i = 0; i <= w.size(); ++i) {
            const char ch = i < w.size() ? w[i] : ' ';
            if (std::string_view(" \t\n|&;<>()`'\"$").find(ch) == std::string_view::npos) {
                token += ch;
                continue;
            }
            struct stat st {};
            if (!token.empty() && token.front() == '/' && ::stat(token.c_str(), &st) == 0 && S_ISREG(st.st_mode))
                out.push_back(token);
            token.clear();
        }
    }
    return out;
}

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
    if (auto why = unsafe_to_run(argv.front(), true, runs_as)) {
        error(at, fmt::format("{}: {}", key, *why));
        return std::nullopt;
    }
    for (const auto& f : files_named_in({argv.begin() + 1, argv.end()}))
        if (auto why = unsafe_to_run(f, false, runs_as)) {
            error(at, fmt::format("{}: {}", key, *why));
            return std::nullopt;
        }
    return Command{std::move(argv), loader_.where(at)};
}

}  // namespace lvsd::config::detail
