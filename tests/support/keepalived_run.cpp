// Running keepalived for its reading (keepalived_reading.hpp): the namespace, the private
// overlay root, the run itself, and the log facts that are not part of the dump.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "support/keepalived_reading.hpp"
#include "support/netns_lab.hpp"

namespace lvsd::testing::keepalived {

namespace fs = std::filesystem;

namespace {

// Builds the private root and execs a command in it. Runs under `unshare -m` (a mount
// namespace of its own, propagation private), so every mount below vanishes with the
// process and nothing is written to the host: the overlay's upper layer is a tmpfs.
//   $1 mount point (an empty directory)  $2 netns  $3 binds  $4 scripts  $5 users
//   $6... the command
// /run is a fresh tmpfs with only /run/netns bound in, so that nothing the command writes
// under /run reaches the host. Each bind "SRC:DST" shows the host directory SRC at DST in
// the root: the overlay of / shows only the root file system, not what is mounted below
// it, and a directory bound in is how a socket or a log made inside is seen outside.
constexpr const char* kRootScript = R"sh(set -eu
T=$1 ns=$2 binds=$3 scripts=$4 users=$5; shift 5
mount -t tmpfs lvsd-ka-reading "$T"
mkdir "$T/up" "$T/work" "$T/root"
mount -t overlay lvsd-ka-reading -o "lowerdir=/,upperdir=$T/up,workdir=$T/work" "$T/root"
for m in proc sys dev; do mount --rbind "/$m" "$T/root/$m"; done
mount -t tmpfs lvsd-ka-reading "$T/root/run"
mkdir -p "$T/root/run/netns" "$T/root/lvsd-ka-reading"
mount --rbind /run/netns "$T/root/run/netns"
for b in $binds; do
  mkdir -p "$T/root${b#*:}"
  mount --rbind "${b%%:*}" "$T/root${b#*:}"
done
for s in $scripts; do
  mkdir -p "$T/root${s%/*}"
  printf '#!/bin/sh\nexit 0\n' > "$T/root$s"
  chmod 755 "$T/root$s"
done
uid=61000
for u in $users; do
  uid=$((uid + 1))
  echo "$u:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >> "$T/root/etc/passwd"
  echo "$u:x:$uid:" >> "$T/root/etc/group"
done
exec chroot "$T/root" ip netns exec "$ns" "$@"
)sh";

std::string words(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        if (s.find_first_of(" \t\n'\"$`\\") != std::string::npos)
            throw std::invalid_argument(fmt::format("keepalived reading: unsupported name '{}' (blank or quote)", s));
        out += (out.empty() ? "" : " ") + s;
    }
    return out;
}

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

PrivateRoot::PrivateRoot(const std::string& netns, const std::vector<std::string>& binds, const HostSetup& setup,
                         const std::vector<std::string>& command) {
    for (const auto& b : binds)
        if (b.find(':') == std::string::npos || b.front() != '/')
            throw std::invalid_argument("private root: a bind is SRC:DST with absolute paths: " + b);
    char tmpl[] = "/tmp/lvsd-ka-reading-XXXXXX";
    if (!mkdtemp(tmpl)) throw LabError(fmt::format("private root: mkdtemp: {}", std::strerror(errno)));
    mnt_ = tmpl;
    std::vector<std::string> argv{"unshare", "-m", "--propagation", "private", "sh", "-c", kRootScript,
                                  "lvsd-ka-reading", mnt_, netns, words(binds), words(setup.scripts),
                                  words(setup.users)};
    argv.insert(argv.end(), command.begin(), command.end());
    try {
        process_ = spawn(argv);
    } catch (...) {
        rmdir(mnt_.c_str());
        throw;
    }
}

PrivateRoot::~PrivateRoot() { stop(); }

RunResult PrivateRoot::stop(std::chrono::milliseconds grace) {
    // unshare, sh, chroot and ip exec one another: the process group is the command's,
    // and the private mounts go when its last process does; the mount point is then an
    // empty directory of the host.
    auto r = process_.stop(grace);
    if (!mnt_.empty()) rmdir(mnt_.c_str());
    mnt_.clear();
    return r;
}

bool HostSetup::merge(const HostSetup& more) {
    bool added = false;
    auto add = [&](std::vector<std::string>& to, const std::vector<std::string>& from) {
        for (const auto& x : from)
            if (std::find(to.begin(), to.end(), x) == to.end()) {
                to.push_back(x);
                added = true;
            }
    };
    add(interfaces, more.interfaces);
    add(scripts, more.scripts);
    add(users, more.users);
    return added;
}

boost::json::object to_json(const HostSetup& setup) {
    auto arr = [](const std::vector<std::string>& v) {
        boost::json::array a;
        for (const auto& s : v) a.emplace_back(s);
        return a;
    };
    return {{"interfaces", arr(setup.interfaces)}, {"scripts", arr(setup.scripts)}, {"users", arr(setup.users)}};
}

HostSetup host_setup_from(const boost::json::value& reading) {
    HostSetup s;
    const auto* obj = reading.if_object();
    const auto* host = obj ? obj->if_contains("host") : nullptr;
    if (!host || !host->is_object()) return s;
    auto strings = [&](const char* key, std::vector<std::string>& out) {
        if (const auto* a = host->as_object().if_contains(key); a && a->is_array())
            for (const auto& x : a->as_array())
                if (x.is_string()) out.emplace_back(x.as_string());
    };
    strings("interfaces", s.interfaces);
    strings("scripts", s.scripts);
    strings("users", s.users);
    return s;
}

RunOutput run(const std::string& conf, Part part, const std::string& config_id, const HostSetup& setup,
              std::chrono::milliseconds timeout) {
    if (conf.empty() || conf.front() != '/') throw std::invalid_argument("keepalived reading: conf must be absolute: " + conf);
    Lab lab;
    const std::string& ns = lab.netns("ka");
    int peer = 0;
    for (const auto& ifname : setup.interfaces) {
        // veth because the host has no dummy module; the peer stays in the namespace.
        lab.ip("ka", fmt::format("link add {} type veth peer name lvsd-kp{}", ifname, peer++));
        lab.ip("ka", fmt::format("link set {} up", ifname));
    }
    const std::string dir = fs::path(conf).parent_path().string();
    std::vector<std::string> cmd{"keepalived", part == Part::vrrp ? "-P" : "-C", "-n", "-l", "-D", "-d", "-R", "-G"};
    if (!config_id.empty()) {
        cmd.push_back("-i");
        cmd.push_back(config_id);
    }
    for (const char* a : {"-f", conf.c_str(), "-p", "/lvsd-ka-reading/keepalived.pid", "-r",
                          "/lvsd-ka-reading/vrrp.pid", "-c", "/lvsd-ka-reading/checkers.pid"})
        cmd.emplace_back(a);

    RunOutput out;
    {
        PrivateRoot root(ns, {dir + ":" + dir}, setup, cmd);
        Process& p = root.process();
        // The child dumps in one go, before its event loop runs; a SIGTERM that arrives
        // once the dump has begun is handled after it. Without a child (nothing to run,
        // or a refused file) the parent says so or exits.
        const bool settled = wait_until(
            [&] {
                if (!p.running()) return true;
                const std::string o = p.output();
                return contains(o, "------< Global definitions >------") || contains(o, "has no configuration to run");
            },
            timeout, 20ms);
        out.timed_out = !settled;
        // Stop the child first, by the pid the parent logged: keepalived's console lines
        // are several writes each, so a parent told to stop now could log "Stopping" into
        // the middle of a dump line. The child ends once its dump is out; the parent
        // (-R: no respawn) then ends by itself, after it.
        static const std::regex child(R"(Starting (?:VRRP|Healthcheck) child process, pid=([0-9]+))");
        std::smatch m;
        const std::string o = p.output();
        if (settled && p.running() && contains(o, "------< Global definitions >------") &&
            std::regex_search(o, m, child)) {
            const pid_t pid = static_cast<pid_t>(std::stol(m[1].str()));
            if (pid > 1 && ::kill(pid, SIGTERM) == 0) wait_until([&] { return !p.running(); }, 20s, 20ms);
        }
        auto r = root.stop(10s);
        out.output = std::move(r.output);
        out.status = r.status;
    }
    // Debugging: LVSD_KA_READING_LOGS=DIR keeps each run's log as DIR/NAME[@ID].{P,C}.log.
    if (const char* logs = std::getenv("LVSD_KA_READING_LOGS"); logs && *logs) {
        std::ofstream(fmt::format("{}/{}{}{}.{}.log", logs, fs::path(conf).stem().string(), config_id.empty() ? "" : "@",
                                  config_id, part == Part::vrrp ? "P" : "C"))
            << out.output;
    }
    return out;
}

// ---- log facts --------------------------------------------------------------------------

std::vector<std::string> log_lines(std::string_view output) {
    static const std::regex stamp(R"(^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}: )");
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < output.size()) {
        auto end = output.find('\n', pos);
        if (end == std::string_view::npos) end = output.size();
        std::string line(output.substr(pos, end - pos));
        lines.push_back(std::regex_replace(line, stamp, "", std::regex_constants::format_first_only));
        pos = end + 1;
    }
    return lines;
}

HostSetup missing(const std::vector<std::string>& lines) {
    static const std::regex iface(R"(WARNING - interface (\S+) for .* doesn't exist)");
    static const std::regex tracked(R"(tracked interface (\S+) doesn't exist)");
    // With dynamic_interfaces keepalived accepts the file but waits for the interface.
    static const std::regex later(R"(specifies interface (\S+) which doesn't currently exist)");
    static const std::regex script(R"(^Script (/\S+) cannot be accessed - No such file or directory)");
    static const std::regex user(R"(^Script user '([a-z_][a-z0-9_-]*)' does not exist)");
    HostSetup s;
    std::smatch m;
    // keepalived_script, keepalived's default script user, is missing on every stock
    // Debian host and keepalived then runs scripts as root; it is created only where the
    // file depends on it (enable_script_security without script_user, or script_user
    // keepalived_script): keepalived then says it cannot set the user and drops scripts.
    bool default_missing = false, default_needed = false;
    for (const auto& line : lines) {
        if (line == "Script user 'keepalived_script' does not exist") default_missing = true;
        if (line.find("Unable to set default user") != std::string::npos ||
            line.find("Error setting global script uid/gid") != std::string::npos)
            default_needed = true;
        if (std::regex_search(line, m, iface) || std::regex_search(line, m, tracked) ||
            std::regex_search(line, m, later))
            s.merge({{m[1].str()}, {}, {}});
        else if (std::regex_search(line, m, script))
            s.merge({{}, {m[1].str()}, {}});
        else if (std::regex_search(line, m, user) && m[1].str() != "keepalived_script")
            s.merge({{}, {}, {m[1].str()}});
    }
    if (default_missing && default_needed) s.merge({{}, {}, {"keepalived_script"}});
    return s;
}

std::vector<std::string> children(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& line : lines) {
        if (line.starts_with("Starting VRRP child process") && std::find(out.begin(), out.end(), "vrrp") == out.end())
            out.push_back("vrrp");
        if (line.starts_with("Starting Healthcheck child process") &&
            std::find(out.begin(), out.end(), "checker") == out.end())
            out.push_back("checker");
    }
    return out;
}

boost::json::array messages(const std::vector<std::vector<std::string>>& logs, const std::string& conf,
                            const std::string& dir) {
    static const std::regex diag(R"(^\((?:(.*): )?Line ([0-9]+)\) (.*)$)");
    struct Msg {
        std::string file;
        long line;
        std::string text;
    };
    std::vector<Msg> all;
    std::set<std::tuple<std::string, long, std::string>> seen;
    std::smatch m;
    for (const auto& lines : logs)
        for (const auto& l : lines) {
            if (!std::regex_match(l, m, diag)) continue;
            std::string file = m[1].str();
            if (file == conf) file.clear();
            else if (!file.empty()) file = fs::path(file).lexically_relative(dir).string();
            Msg msg{file, std::stol(m[2].str()), m[3].str()};
            if (seen.insert({msg.file, msg.line, msg.text}).second) all.push_back(std::move(msg));
        }
    std::stable_sort(all.begin(), all.end(),
                     [](const Msg& a, const Msg& b) { return std::tie(a.file, a.line) < std::tie(b.file, b.line); });
    boost::json::array out;
    for (const auto& msg : all) {
        boost::json::object o{{"line", msg.line}, {"text", msg.text}};
        if (!msg.file.empty()) o["file"] = msg.file;
        out.push_back(std::move(o));
    }
    return out;
}

std::string rejection(const std::vector<std::string>& lines) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (contains(lines[i], "exited with permanent error CONFIG")) {
            for (std::size_t j = i; j-- > 0;)
                if (!lines[j].empty() && !lines[j].starts_with("Stopped") && !lines[j].starts_with("CPU usage"))
                    return lines[j];
            return lines[i];
        }
    return {};
}

std::vector<Case> corpus(const std::string& corpus_dir) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(corpus_dir))
        if (e.path().extension() == ".conf") files.push_back(fs::absolute(e.path()).lexically_normal().string());
    std::sort(files.begin(), files.end());
    static const std::regex at(R"(^\s*@\^?(\S+)\s)");
    std::vector<Case> cases;
    for (const auto& f : files) {
        const std::string stem = fs::path(f).stem().string();
        std::set<std::string> ids;
        std::ifstream in(f);
        std::string line;
        std::smatch m;
        while (std::getline(in, line))
            if (std::regex_search(line, m, at)) ids.insert(m[1].str());
        if (ids.empty()) cases.push_back({f, "", stem + ".json"});
        for (const auto& id : ids) cases.push_back({f, id, stem + "@" + id + ".json"});
    }
    return cases;
}

}  // namespace lvsd::testing::keepalived
