// keepalived's enable_script_security, which lvsd always applies: whether a command
// lvsd would run, or a file it would run, is beyond the reach of anyone but root and the
// user the command runs as.
#include "config/detail/script_security.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "config/detail/text.hpp"

namespace lvsd::config::detail {

namespace {

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

}  // namespace

// The file first, then each directory above it up to /.
std::optional<std::string> unsafe_to_run(const std::string& path, uint32_t uid, std::string_view runs_as,
                                         bool executable) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("'{}': {}", path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) return fmt::format("'{}' is a directory, not an executable file", path);
    if (!S_ISREG(st.st_mode)) return fmt::format("'{}' is not a regular file", path);
    if (executable && (st.st_mode & 0111) == 0)
        return fmt::format("'{}' is not executable (mode {:04o})", path, st.st_mode & 07777);
    if (st.st_uid != 0 && st.st_uid != uid)
        return fmt::format("'{}' is owned by uid {}, who could rewrite what lvsd runs as {}", path, st.st_uid, runs_as);
    if (st.st_mode & 0022)
        return fmt::format("'{}' is writable by group or others (mode {:04o}) but would run as {}", path,
                           st.st_mode & 07777, runs_as);
    for (std::string dir = path;;) {
        const auto slash = dir.rfind('/');
        if (slash == std::string::npos) break;  // a relative path: only its own directories
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        struct stat d {};
        if (::stat(dir.c_str(), &d) != 0) return fmt::format("'{}' is in '{}': {}", path, dir, std::strerror(errno));
        if (d.st_uid != 0 && d.st_uid != uid)
            return fmt::format("'{}' is in '{}', owned by uid {}, who could replace what lvsd runs as {}", path, dir,
                               d.st_uid, runs_as);
        if ((d.st_mode & 0022) && !(d.st_mode & S_ISVTX))
            return fmt::format("'{}' is in '{}', which a user other than root can write to (mode {:04o}, uid {}): "
                               "the script could be replaced",
                               path, dir, d.st_mode & 07777, d.st_uid);
        if (dir == "/") break;
    }
    return std::nullopt;
}

std::optional<std::string> unsafe_command(const std::vector<std::string>& argv, uint32_t uid, std::string_view runs_as) {
    if (argv.empty()) return std::nullopt;
    if (auto why = unsafe_to_run(argv.front(), uid, runs_as)) return why;
    // A shell text that starts with a script's path runs that script: it must be executable.
    if (argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c") {
        auto words = split_command(argv[2]);
        if (words && !words->empty()) {
            const std::string& exe = words->front();
            if (exe.front() == '/' && exe.find_first_of("|&;<>()$`*?[{") == std::string::npos)
                if (auto why = unsafe_to_run(exe, uid, runs_as)) return why;
        }
    }
    for (const auto& f : files_named_in({argv.begin() + 1, argv.end()}))
        if (auto why = unsafe_to_run(f, uid, runs_as, false)) return why;
    return std::nullopt;
}

}  // namespace lvsd::config::detail
