#include "netns_lab.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lvsd::testing {

namespace {

constexpr std::string_view kPrefix = "lvt-";
constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& argv) { return fmt::format("{}", fmt::join(argv, " ")); }

std::vector<std::string> with_netns(const std::vector<std::string>& argv, const std::string& netns) {
    if (netns.empty()) return argv;
    std::vector<std::string> full{"ip", "netns", "exec", netns};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

int decode_status(int wstatus) {
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return -1;
}

// Forks a child in its own process group with stdout and stderr on `out_fd`, stdin on
// /dev/null, and execs argv. Everything the child needs is prepared before fork().
pid_t fork_exec(const std::vector<std::string>& argv, int out_fd) {
    if (argv.empty()) throw LabError("cannot run an empty command");
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) throw LabError(fmt::format("fork for '{}' failed: {}", join(argv), std::strerror(errno)));
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(cargv[0], cargv.data());
        static constexpr char msg[] = "exec failed: command not found or not executable\n";
        [[maybe_unused]] auto n = write(2, msg, sizeof msg - 1);
        _exit(127);
    }
    setpgid(pid, pid);  // also here, so the group exists before we might signal it
    return pid;
}

bool alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

std::string to_base36(unsigned long v) {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s;
    do {
        s.insert(s.begin(), digits[v % 36]);
        v /= 36;
    } while (v);
    return s;
}

// The owner pid encoded in a lab name, or -1 when the name is not a lab name.
// Namespaces: "lvt-<pid decimal>-..."; links: "lvt-<pid base36>-...".
pid_t owner_pid(std::string_view name, int base) {
    if (!name.starts_with(kPrefix)) return -1;
    name.remove_prefix(kPrefix.size());
    auto dash = name.find('-');
    if (dash == 0 || dash == std::string_view::npos) return -1;
    std::string digits(name.substr(0, dash));
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(digits.c_str(), &end, base);
    if (errno || *end || v <= 0) return -1;
    return static_cast<pid_t>(v);
}

std::vector<std::string> list_dir(const char* path) {
    std::vector<std::string> names;
    if (DIR* d = opendir(path)) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(std::move(n));
        }
        closedir(d);
    }
    return names;
}

std::string netns_path(const std::string& netns) { return "/run/netns/" + netns; }

// The processes whose network namespace is `netns` (what `ip netns pids` prints, without
// starting a process: under the VM's emulated CPU every exec counts).
std::vector<pid_t> netns_pids(const std::string& netns) {
    std::vector<pid_t> pids;
    struct stat ns{};
    if (stat(netns_path(netns).c_str(), &ns) != 0) return pids;
    for (const auto& entry : list_dir("/proc")) {
        if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
        struct stat st{};
        if (stat(("/proc/" + entry + "/ns/net").c_str(), &st) != 0) continue;  // gone or zombie
        if (st.st_dev == ns.st_dev && st.st_ino == ns.st_ino) pids.push_back(std::stoi(entry));
    }
    return pids;
}

// What `ip netns delete` does: detach the bind mount that keeps the namespace alive, then
// remove the name.
bool delete_netns(const std::string& netns, std::string& why) {
    const auto path = netns_path(netns);
    if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
        why = fmt::format("umount {}: {}", path, std::strerror(errno));
        return false;
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        why = fmt::format("unlink {}: {}", path, std::strerror(errno));
        return false;
    }
    return true;
}

// Inside a fresh namespace: lo up, and IPv6 duplicate address detection off so that
// addresses, link-local ones included (VRRPv3 over IPv6 sends from fe80::), are usable
// the moment they exist; interfaces made later in the namespace inherit "default". Done
// in a forked child that joins the namespace, instead of two `ip netns exec` runs.
void prepare_netns(const std::string& netns) {
    const auto path = netns_path(netns);
    pid_t pid = fork();
    if (pid < 0) throw LabError(fmt::format("fork to prepare namespace {}: {}", netns, std::strerror(errno)));
    if (pid == 0) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(1);
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq ifr{};
        std::memcpy(ifr.ifr_name, "lo", 3);
        if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) _exit(2);
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) _exit(2);
        for (const char* knob : {"/proc/sys/net/ipv6/conf/all/accept_dad", "/proc/sys/net/ipv6/conf/default/accept_dad"}) {
            int k = open(knob, O_WRONLY | O_CLOEXEC);
            if (k < 0) {
                if (errno == ENOENT) continue;  // IPv6 disabled: nothing to detect
                _exit(3);
            }
            if (write(k, "0", 1) != 1) _exit(3);
            close(k);
        }
        _exit(0);
    }
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    const int rc = decode_status(wstatus);
    static constexpr const char* what[] = {"", "cannot join it", "cannot bring lo up", "cannot turn IPv6 DAD off"};
    if (rc != 0)
        throw LabError(fmt::format("preparing namespace {} failed: {}", netns,
                                   rc >= 1 && rc <= 3 ? what[rc] : "child died"));
}

// Kills every process inside `netns` and waits (bounded) until none is left, so that the
// namespace really goes away when its name is deleted.
void kill_netns_processes(const std::string& netns) {
    for (int round = 0; round < 2; ++round) {
        auto pids = netns_pids(netns);
        if (pids.empty()) return;
        for (pid_t p : pids) kill(p, round == 0 ? SIGTERM : SIGKILL);
        wait_until([&] { return netns_pids(netns).empty(); }, round == 0 ? 1s : 3s, 20ms);
    }
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string w; in >> w;) out.push_back(std::move(w));
    return out;
}

std::atomic<unsigned> lab_counter{0};

}  // namespace

RunResult run(const std::vector<std::string>& argv_in, const std::string& netns,
              std::chrono::milliseconds timeout) {
    auto argv = with_netns(argv_in, netns);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw LabError(fmt::format("pipe for '{}': {}", join(argv), std::strerror(errno)));
    pid_t pid;
    try {
        pid = fork_exec(argv, fds[1]);
    } catch (...) {
        close(fds[0]);
        close(fds[1]);
        throw;
    }
    close(fds[1]);

    RunResult result;
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            result.timed_out = true;
            kill(-pid, SIGKILL);
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int n = poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) continue;  // deadline check above
        ssize_t got = read(fds[0], buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;  // EOF: every writer (the command and its children) is done
        result.output.append(buf, static_cast<std::size_t>(got));
    }
    close(fds[0]);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    result.status = decode_status(wstatus);
    if (std::getenv("LVSD_LAB_TRACE")) {  // where a slow test spends its time
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - (deadline - timeout));
        fmt::print(stderr, "[lab] {} ms, status {}: {}\n", took.count(), result.status, join(argv));
    }
    if (result.timed_out) {
        result.output += fmt::format("\n[lab: '{}' killed after {} ms]\n", join(argv), timeout.count());
    }
    return result;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(interval);
    }
}

bool wait_for_output(Process& p, std::string_view marker, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds quiet) {
    const bool seen =
        wait_until([&] { return p.output().find(marker) != std::string::npos || !p.running(); }, timeout);
    std::size_t size = p.output().size();
    auto grew = Clock::now();
    wait_until([&] {
        if (const std::size_t now = p.output().size(); now != size) {
            size = now;
            grew = Clock::now();
        }
        return !p.running() || Clock::now() - grew >= quiet;
    }, timeout, 50ms);
    return seen && p.output().find(marker) != std::string::npos;
}

// --- Process -------------------------------------------------------------------------------

Process spawn(const std::vector<std::string>& argv_in, const std::string& netns) {
    auto argv = with_netns(argv_in, netns);
    char tmpl[] = "/tmp/lvt-proc-XXXXXX";
    int fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd < 0) throw LabError(fmt::format("cannot create an output file for '{}': {}", join(argv), std::strerror(errno)));
    Process p;
    p.name_ = join(argv);
    p.log_path_ = tmpl;
    try {
        p.pid_ = fork_exec(argv, fd);
    } catch (...) {
        close(fd);
        unlink(tmpl);
        p.log_path_.clear();
        throw;
    }
    close(fd);
    return p;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(other.status_),
      reaped_(other.reaped_),
      name_(std::move(other.name_)),
      log_path_(std::exchange(other.log_path_, {})) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        stop();
        if (!log_path_.empty()) unlink(log_path_.c_str());
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
        reaped_ = other.reaped_;
        name_ = std::move(other.name_);
        log_path_ = std::exchange(other.log_path_, {});
    }
    return *this;
}

Process::~Process() {
    stop();
    if (!log_path_.empty()) unlink(log_path_.c_str());
}

// The leader is only reaped in stop(): while it is a zombie its pid, and so the process
// group id, cannot be reused, which makes kill(-pid) safe up to that point.
bool Process::exited() {
    if (pid_ <= 0) return true;
    if (status_ >= 0) return true;
    siginfo_t info{};
    int r;
    do {
        r = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        status_ = 255;  // not our child (cannot happen: we forked it)
        return true;
    }
    if (info.si_pid != pid_) return false;
    status_ = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    return true;
}

void Process::reap() {
    if (pid_ <= 0 || reaped_) return;
    int wstatus = 0;
    pid_t r;
    do {
        r = waitpid(pid_, &wstatus, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid_ && status_ < 0) status_ = decode_status(wstatus);
    reaped_ = true;
}

bool Process::running() { return !exited(); }

std::string Process::output() const {
    if (log_path_.empty()) return {};
    std::ifstream in(log_path_, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

RunResult Process::stop(std::chrono::milliseconds grace) {
    if (pid_ > 0 && !reaped_) {
        if (!exited()) {
            kill(-pid_, SIGTERM);
            wait_until([&] { return exited(); }, grace, 10ms);
        }
        // Children that outlived the leader, or a leader that ignored SIGTERM.
        kill(-pid_, SIGKILL);
        reap();
    }
    return RunResult{status_, false, output()};
}

// --- Lab -----------------------------------------------------------------------------------

Lab::Lab() {
    remove_stale();
    const auto pid = static_cast<unsigned long>(getpid());
    prefix_ = fmt::format("{}{}-{}-", kPrefix, pid, lab_counter++);
    if_prefix_ = fmt::format("{}{}-", kPrefix, to_base36(pid));
}

Lab::~Lab() {
    try {
        teardown();
    } catch (...) {
        // A destructor must not throw; teardown() reports through its return value.
    }
}

std::vector<std::string> Lab::lab_namespaces() {
    std::vector<std::string> out;
    for (auto& n : list_dir("/run/netns"))
        if (n.starts_with(kPrefix)) out.push_back(n);
    return out;
}

std::vector<std::string> Lab::lab_links() {
    std::vector<std::string> out;
    for (auto& n : list_dir("/sys/class/net"))
        if (n.starts_with(kPrefix)) out.push_back(n);
    return out;
}

void Lab::remove_stale() {
    for (const auto& ns : lab_namespaces()) {
        const pid_t owner = owner_pid(ns, 10);
        if (owner < 0 || alive(owner)) continue;
        kill_netns_processes(ns);
        std::string why;
        delete_netns(ns, why);  // best effort
    }
    for (const auto& link : lab_links()) {
        const pid_t owner = owner_pid(link, 36);
        if (owner < 0 || alive(owner)) continue;
        run({"ip", "link", "delete", link}, {}, 10s);
    }
}

const std::string& Lab::netns(const std::string& name) {
    if (name.empty()) throw LabError("netns: a namespace needs a name");
    if (namespaces_.contains(name)) throw LabError(fmt::format("netns: '{}' already exists in this lab", name));
    std::string full = prefix_ + name;
    auto r = run({"ip", "netns", "add", full});
    if (!r.ok()) throw LabError(fmt::format("ip netns add {} failed ({}): {}", full, r.status, r.output));
    auto& stored = namespaces_.emplace(name, full).first->second;
    prepare_netns(full);
    return stored;
}

const std::string& Lab::netns_name(const std::string& name) const {
    static const std::string current;
    if (name.empty()) return current;
    auto it = namespaces_.find(name);
    if (it == namespaces_.end()) throw LabError(fmt::format("no namespace '{}' in this lab (create it with netns())", name));
    return it->second;
}

std::string Lab::current_if(const std::string& name) const {
    std::string full = if_prefix_ + name;
    if (name.empty() || full.size() > kIfNameMax)
        throw LabError(fmt::format("interface name '{}' for the current namespace: '{}' must be 1..{} characters",
                                   name, full, kIfNameMax));
    return full;
}

void Lab::veth(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
               const std::string& if_b) {
    auto end = [&](const std::string& ns, const std::string& ifname) {
        if (ifname.empty() || ifname.size() > kIfNameMax)
            throw LabError(fmt::format("veth: interface name '{}' must be 1..{} characters", ifname, kIfNameMax));
        return ns.empty() ? current_if(ifname) : ifname;
    };
    const std::string a = end(ns_a, if_a), b = end(ns_b, if_b);
    // Created directly in the target namespaces: nothing appears in the current one
    // unless asked for.
    std::vector<std::string> cmd{"ip", "link", "add", "name", a};
    if (!ns_a.empty()) cmd.insert(cmd.end(), {"netns", netns_name(ns_a)});
    cmd.insert(cmd.end(), {"type", "veth", "peer", "name", b});
    if (!ns_b.empty()) cmd.insert(cmd.end(), {"netns", netns_name(ns_b)});
    auto r = run(cmd);
    if (!r.ok()) throw LabError(fmt::format("veth {}:{} <-> {}:{}: '{}' failed ({}): {}", ns_a, a, ns_b, b, join(cmd), r.status, r.output));
    if (ns_a.empty()) current_links_.push_back(a);
    if (ns_b.empty()) current_links_.push_back(b);
    set_up(ns_a, a);
    set_up(ns_b, b);
}

void Lab::set_up(const std::string& ns, const std::string& ifname) {
    if (up_.contains({ns, ifname})) return;
    ip(ns, fmt::format("link set {} up", ifname));
    up_.insert({ns, ifname});
}

void Lab::bridge(const std::string& ns, const std::string& br) {
    const std::string name = ns.empty() ? current_if(br) : br;
    ip(ns, fmt::format("link add name {} type bridge stp_state 0 forward_delay 0 mcast_snooping 0", name));
    if (ns.empty()) current_links_.push_back(name);
    set_up(ns, name);
}

void Lab::enslave(const std::string& ns, const std::string& ifname, const std::string& br) {
    const std::string i = ns.empty() ? current_if(ifname) : ifname;
    const std::string b = ns.empty() ? current_if(br) : br;
    ip(ns, fmt::format("link set {} master {}", i, b));
    set_up(ns, i);
}

void Lab::address(const std::string& ns, const std::string& ifname, const std::string& cidr) {
    const std::string i = ns.empty() ? current_if(ifname) : ifname;
    const bool v6 = cidr.find(':') != std::string::npos;
    ip(ns, fmt::format("{}address add {} dev {}{}", v6 ? "-6 " : "", cidr, i, v6 ? " nodad" : ""));
    set_up(ns, i);  // once: an interface the lab already brought up costs no extra run
}

void Lab::route(const std::string& ns, const std::string& route) {
    const bool v6 = route.find(':') != std::string::npos;
    ip(ns, fmt::format("{}route add {}", v6 ? "-6 " : "", route));
}

void Lab::sysctl(const std::string& ns, const std::string& key, const std::string& value) {
    must(ns, {"sysctl", "-q", "-w", key + "=" + value});
}

std::string Lab::ip(const std::string& ns, const std::string& args) {
    // `ip -n NS` switches namespace itself: one process instead of `ip netns exec NS ip`,
    // which counts under the VM's emulated CPU.
    std::vector<std::string> argv{"ip"};
    if (!ns.empty()) argv.insert(argv.end(), {"-n", netns_name(ns)});
    for (auto& a : split(args)) {
        // A link the test sets down is no longer known to be up (see set_up()).
        if (a == "down") std::erase_if(up_, [&](const auto& e) { return e.first == ns; });
        argv.push_back(std::move(a));
    }
    auto r = run(argv);
    if (!r.ok())
        throw LabError(fmt::format("'{}' failed (status {}{}): {}", join(argv), r.status,
                                   r.timed_out ? ", timed out" : "", r.output));
    return r.output;
}

RunResult Lab::exec(const std::string& ns, const std::vector<std::string>& argv,
                    std::chrono::milliseconds timeout) const {
    return run(argv, netns_name(ns), timeout);
}

RunResult Lab::sh(const std::string& ns, const std::string& script, std::chrono::milliseconds timeout) const {
    return exec(ns, {"sh", "-c", script}, timeout);
}

std::string Lab::must(const std::string& ns, const std::vector<std::string>& argv) const {
    auto r = exec(ns, argv);
    if (!r.ok())
        throw LabError(fmt::format("'{}' in namespace '{}' failed (status {}{}): {}", join(argv),
                                   ns.empty() ? "(current)" : netns_name(ns), r.status,
                                   r.timed_out ? ", timed out" : "", r.output));
    return r.output;
}

Process Lab::spawn(const std::string& ns, const std::vector<std::string>& argv) const {
    return lvsd::testing::spawn(argv, netns_name(ns));
}

std::vector<std::string> Lab::teardown() {
    std::vector<std::string> problems;
    for (const auto& [name, full] : namespaces_) kill_netns_processes(full);
    for (const auto& link : current_links_) {
        // The peer of a veth may have taken it along already.
        if (access(("/sys/class/net/" + link).c_str(), F_OK) != 0) continue;
        auto r = run({"ip", "link", "delete", link}, {}, 10s);
        if (!r.ok()) problems.push_back(fmt::format("ip link delete {}: {}", link, r.output));
    }
    current_links_.clear();
    for (const auto& [name, full] : namespaces_) {
        std::string why;
        if (!delete_netns(full, why)) problems.push_back(fmt::format("deleting namespace {}: {}", full, why));
    }
    namespaces_.clear();
    up_.clear();
    return problems;
}

InNamespace::InNamespace(const std::string& name) : home_(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
    const int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (home_ < 0 || fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) ::close(fd);
        if (home_ >= 0) ::close(home_);
        throw LabError("cannot enter network namespace " + name + ": " + why);
    }
    ::close(fd);
}

InNamespace::~InNamespace() {
    if (::setns(home_, CLONE_NEWNET) != 0) std::abort();
    ::close(home_);
}

}  // namespace lvsd::testing
