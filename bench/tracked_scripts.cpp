// tracked_scripts: what N tracked scripts cost the daemon that runs them, lvsd vs keepalived.
//
// Setup (a fresh lab per implementation, documentation addresses only):
//   a:eth0 192.0.2.2/24 ── veth ── sw:ap
// One VRRPv3 instance (VRID 51, priority 150, advert 1 s, VIP 192.0.2.10/24) tracks N
// scripts chk0..chkN-1, each `/bin/true` every 1 s with weight -1: lvsd with `vrrp_scripts`
// and `track_script`, keepalived 2.2.7 with N `vrrp_script` blocks, `track_script`,
// `enable_script_security` and `script_user root`. Each daemon runs alone, a lone master,
// in its own network namespace and in a PID namespace of its own
// (`unshare --pid --fork`, the daemon is its PID 1).
//
// After the VIP is up and a warm-up, a window of whole seconds is measured:
//   CPU:  utime+stime from /proc/PID/stat of every process of the daemon (lvsd: one;
//         keepalived -D: the parent and its VRRP child, which runs the scripts), i.e. the
//         daemon's own CPU, all threads, without its children. "Including the scripts"
//         adds cutime+cstime of the same processes: the CPU of the children they reaped
//         in the window (each /bin/true, from the fork to its exit).
//   runs: the number of processes created in the daemon's PID namespace, from
//         /proc/sys/kernel/ns_last_pid read inside it (through `nsenter --pid`, whose
//         `cat` is itself the one process added by each read) at the start and at every
//         second (so a wrap at pid_max is seen), minus the readers. Nothing but script
//         runs creates processes there (checked against lvsd's own per-script "runs"
//         counter in `lvsctl status --json`, which is lvsd's figure). This costs the
//         daemons nothing, unlike a script that leaves a trace, and is the same for both.
// Both counts are taken at the same phase at both ends of the window (all scripts run
// at the same instant each second), so a window of W s holds W bursts.
//
// Needs root. Usage: tracked_scripts [scripts, default 1000] [window s, default 20]
//                    [warm-up s, default 5] [-v: the daemons' logs on stderr]
// Prints one line per figure: runs and runs/s against N/s, daemon CPU per run, CPU
// including the scripts per run, and the ratios lvsd / keepalived. Exits 1 when lvsd
// failed to measure, counted a failed run, or ran fewer than 99 % of the expected runs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Sec = std::chrono::duration<double>;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
const char* kVip = "192.0.2.10";
bool verbose = false;

std::string make_dir() {
    char tmpl[] = "/tmp/lvt-bench-tsk-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    return d;
}

void write_lvsd_conf(const std::string& dir, int n) {
    std::ofstream f(dir + "/lvsd.conf");
    f << fmt::format("global_defs = {{ control_socket = \"{}/lvsd.sock\"; }};\n", dir);
    f << "vrrp_scripts = (\n";
    for (int i = 0; i < n; ++i)
        f << fmt::format("  {{ name = \"chk{}\"; script = \"/bin/true\"; interval = 1; weight = -1; }}{}\n", i,
                         i + 1 < n ? "," : "");
    f << ");\n";
    f << fmt::format(
        "vrrp_instances = ( {{\n  name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; priority = 150;\n"
        "  version = 3; advert_int = 1;\n  virtual_ipaddress = [ \"{}/24\" ];\n  track_script = [ ",
        kVip);
    for (int i = 0; i < n; ++i) f << fmt::format("{}\"chk{}\"", i ? ", " : "", i);
    f << " ];\n} );\n";
}

void write_keepalived_conf(const std::string& dir, int n) {
    std::ofstream f(dir + "/keepalived.conf");
    f << "global_defs {\n  router_id bench_tsk\n  vrrp_version 3\n  enable_script_security\n  script_user root\n}\n";
    for (int i = 0; i < n; ++i)
        f << fmt::format("vrrp_script chk{} {{\n  script \"/bin/true\"\n  interval 1\n  weight -1\n}}\n", i);
    f << fmt::format(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n"
        "  advert_int 1\n  virtual_ipaddress {{\n    {}/24 dev eth0\n  }}\n  track_script {{\n",
        kVip);
    for (int i = 0; i < n; ++i) f << fmt::format("    chk{}\n", i);
    f << "  }\n}\n";
}

// /proc/PID/stat after the command: field 4 ppid, 14-17 utime stime cutime cstime (ticks).
struct Stat {
    std::string comm;
    pid_t ppid = 0;
    long long utime = 0, stime = 0, cutime = 0, cstime = 0;
};

std::optional<Stat> read_stat(pid_t pid) {
    std::ifstream f(fmt::format("/proc/{}/stat", pid));
    std::string s;
    if (!std::getline(f, s)) return std::nullopt;
    const auto open = s.find('('), close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos) return std::nullopt;
    Stat st;
    st.comm = s.substr(open + 1, close - open - 1);
    std::istringstream in(s.substr(close + 2));
    std::vector<std::string> f3;  // fields 3..
    for (std::string w; in >> w;) f3.push_back(w);
    if (f3.size() < 15) return std::nullopt;
    st.ppid = std::stoi(f3[1]);
    st.utime = std::stoll(f3[11]);
    st.stime = std::stoll(f3[12]);
    st.cutime = std::stoll(f3[13]);
    st.cstime = std::stoll(f3[14]);
    return st;
}

// The daemon (the child of `unshare`) and its descendants with the same name (keepalived's
// VRRP child; also, for a moment, a script not yet exec'd: see the caller).
std::vector<pid_t> daemon_tree(pid_t daemon) {
    const auto root = read_stat(daemon);
    if (!root) return {};
    std::map<pid_t, Stat> all;
    for (const auto& e : fs::directory_iterator("/proc")) {
        const auto name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        if (auto st = read_stat(std::stoi(name))) all.emplace(std::stoi(name), *st);
    }
    std::vector<pid_t> tree{daemon};
    for (std::size_t i = 0; i < tree.size(); ++i)
        for (const auto& [pid, st] : all)
            if (st.ppid == tree[i] && st.comm == root->comm) tree.push_back(pid);
    return tree;
}

pid_t child_of(pid_t parent) {
    std::ifstream f(fmt::format("/proc/{}/task/{}/children", parent, parent));
    pid_t c = 0;
    return (f >> c) ? c : 0;
}

struct Cpu {
    double own_s = 0;       // utime + stime
    double children_s = 0;  // cutime + cstime
};

Cpu read_cpu(const std::vector<pid_t>& pids) {
    static const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    Cpu c;
    for (pid_t p : pids)
        if (auto st = read_stat(p)) {
            c.own_s += static_cast<double>(st->utime + st->stime) / hz;
            c.children_s += static_cast<double>(st->cutime + st->cstime) / hz;
        }
    return c;
}

// ns_last_pid of the daemon's PID namespace, read by a process inside it (the reader's own
// PID, unless something else was created between its start and its read).
std::optional<long> ns_last_pid(pid_t daemon) {
    auto r = lt::run({"nsenter", "-t", std::to_string(daemon), "--pid", "--", "cat", "/proc/sys/kernel/ns_last_pid"},
                     {}, 5s);
    if (!r.ok()) return std::nullopt;
    try {
        return std::stol(r.output);
    } catch (...) {
        return std::nullopt;
    }
}

long pid_max() {
    std::ifstream f("/proc/sys/kernel/pid_max");
    long v = 32768;
    f >> v;
    return v;
}

// Processes created between two reads a -> b (b's reader included). Past pid_max the
// kernel goes on from RESERVED_PIDS (300).
long created(long a, long b) { return b >= a ? b - a : (pid_max() - a) + (b - 300); }

// lvsd's counters summed over all script trackers: runs, failures.
std::optional<std::pair<long long, long long>> lvsd_runs(const std::string& dir) {
    auto r = lt::run({kLvsctl, "-s", dir + "/lvsd.sock", "status", "--json"}, {}, 10s);
    if (!r.ok()) return std::nullopt;
    long long runs = 0, failures = 0;
    auto sum = [&](const std::string& key, long long& into) {
        for (auto p = r.output.find(key); p != std::string::npos; p = r.output.find(key, p + 1))
            into += std::atoll(r.output.c_str() + p + key.size());
    };
    sum("\"runs\":", runs);
    sum("\"failures\":", failures);
    return std::make_pair(runs, failures);
}

bool vip_present(lt::Lab& lab) {
    auto r = lab.exec("a", {"ip", "-4", "-o", "addr", "show", "dev", "eth0"}, 5s);
    return r.ok() && r.output.find(std::string(kVip) + "/24") != std::string::npos;
}

struct Outcome {
    bool ok = false;
    std::string why;
    double window_s = 0;
    long forks = 0;               // processes created in the namespace in the window
    long long counted_runs = -1;  // lvsd's own counter
    long long failures = -1;      // lvsd's own counter
    Cpu cpu;
    std::size_t processes = 0;
    std::size_t warnings = 0;  // keepalived: "already running ... skipping run", timeouts, failures
};

Outcome measure(bool keepalived, int n, int window, int warmup) {
    Outcome o;
    lt::Lab lab;
    lab.netns("a");
    lab.netns("sw");
    lab.veth("a", "eth0", "sw", "ap");
    lab.address("a", "eth0", "192.0.2.2/24");
    const std::string dir = make_dir();
    std::vector<std::string> argv{"unshare", "--pid", "--fork", "--kill-child", "--"};
    if (keepalived) {
        write_keepalived_conf(dir, n);
        for (std::string a : {"keepalived", "-n", "-l", "-D", "--vrrp", "-f"}) argv.push_back(a);
        for (std::string a : {dir + "/keepalived.conf", std::string("-p"), dir + "/ka.pid", std::string("-r"),
                              dir + "/vrrp.pid", std::string("-c"), dir + "/chk.pid"})
            argv.push_back(a);
    } else {
        write_lvsd_conf(dir, n);
        argv.insert(argv.end(), {kLvsd, "-f", dir + "/lvsd.conf"});
    }
    lt::Process proc = lab.spawn("a", argv);
    auto finish = [&](std::string why) {
        o.why = std::move(why);
        const auto out = proc.output();
        if (keepalived)
            for (const char* w : {"already running", "timed out", "failed", "Failed"})
                for (auto p = out.find(w); p != std::string::npos; p = out.find(w, p + 1)) ++o.warnings;
        if (verbose || !o.why.empty())
            std::cerr << "---- " << (keepalived ? "keepalived" : "lvsd") << (o.why.empty() ? "" : ": " + o.why)
                      << "\n"
                      << out.substr(out.size() > 20000 ? out.size() - 20000 : 0);
        proc.stop(5s);
        lt::run({"rm", "-rf", dir});
        return o;
    };
    pid_t daemon = 0;
    lt::wait_until([&] { return (daemon = child_of(proc.pid())) > 0; }, 10s, 10ms);
    if (!daemon) return finish("the daemon did not start");
    if (!lt::wait_until([&] { return vip_present(lab) || !proc.running(); }, 60s, 100ms) || !proc.running())
        return finish("never became master with the VIP");
    std::this_thread::sleep_for(std::chrono::seconds(warmup));
    // A script between fork and exec still carries the daemon's name: keep only the
    // processes that are there in two snapshots half a second apart.
    std::vector<pid_t> pids;
    {
        const auto first = daemon_tree(daemon);
        std::this_thread::sleep_for(500ms);
        for (pid_t p : daemon_tree(daemon))
            if (std::find(first.begin(), first.end(), p) != first.end()) pids.push_back(p);
    }
    o.processes = pids.size();
    if (pids.empty()) return finish("the daemon's processes are gone");

    // Start: counters first, then the CPU; at the end the CPU first, then the counters, so
    // that the readings' own work (lvsctl's status) falls outside the CPU window.
    const auto t0 = Clock::now();
    auto last = ns_last_pid(daemon);
    std::optional<std::pair<long long, long long>> runs0;
    if (!keepalived) runs0 = lvsd_runs(dir);
    const Cpu cpu0 = read_cpu(pids);
    if (!last || (!keepalived && !runs0)) return finish("cannot read the counters");
    for (int k = 1; k <= window; ++k) {
        std::this_thread::sleep_until(t0 + std::chrono::seconds(k));
        Cpu cpu1;
        if (k == window) cpu1 = read_cpu(pids);
        const auto now = ns_last_pid(daemon);
        if (!now) return finish("cannot read ns_last_pid");
        o.forks += created(*last, *now) - 1;  // the reader itself
        last = now;
        if (k == window) {
            o.window_s = Sec(Clock::now() - t0).count();
            o.cpu.own_s = cpu1.own_s - cpu0.own_s;
            o.cpu.children_s = cpu1.children_s - cpu0.children_s;
        }
    }
    if (!keepalived) {
        auto runs1 = lvsd_runs(dir);
        if (!runs1) return finish("cannot read lvsd's counters");
        o.counted_runs = runs1->first - runs0->first;
        o.failures = runs1->second - runs0->second;
    }
    if (!proc.running()) return finish("the daemon exited during the window");
    if (!vip_present(lab)) return finish("the VIP is gone at the end");
    o.ok = true;
    return finish("");
}

}  // namespace

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::cerr << "tracked_scripts: needs root (network and PID namespaces)\n";
        return 2;
    }
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "-v")
            verbose = true;
        else
            args.emplace_back(argv[i]);
    }
    const int n = std::max(1, args.size() > 0 ? std::atoi(args[0].c_str()) : 1000);
    const int window = std::max(1, args.size() > 1 ? std::atoi(args[1].c_str()) : 20);
    const int warmup = std::max(0, args.size() > 2 ? std::atoi(args[2].c_str()) : 5);

    double per_run[2] = {0, 0}, total_per_run[2] = {0, 0};
    bool lvsd_ok = true;
    for (bool ka : {false, true}) {
        const char* who = ka ? "keepalived" : "lvsd";
        const Outcome o = measure(ka, n, window, warmup);
        if (!o.ok) {
            std::cout << fmt::format("tracked_scripts {}: {}", who, o.why) << std::endl;
            if (!ka) lvsd_ok = false;
            continue;
        }
        // lvsd: its own counter of finished runs; keepalived: processes created.
        const double runs = ka ? static_cast<double>(o.forks) : static_cast<double>(o.counted_runs);
        std::string check =
            ka ? fmt::format("processes created in its PID namespace; {} log lines about skipped or failed runs", o.warnings)
               : fmt::format("lvsd's runs counter, {} failed; processes created in its PID namespace: {}", o.failures,
                             o.forks);
        std::cout << fmt::format("tracked_scripts {}: {} scripts at 1 s, {:.2f} s window after {} s warm-up: {:.0f} runs, "
                                 "{:.1f} runs/s (expected {}/s, {:.1f} %) ({})",
                                 who, n, o.window_s, warmup, runs, runs / o.window_s, n,
                                 100.0 * runs / o.window_s / n, check)
                  << std::endl;
        if (runs <= 0) {
            if (!ka) lvsd_ok = false;
            continue;
        }
        per_run[ka] = o.cpu.own_s * 1000 / runs;
        total_per_run[ka] = (o.cpu.own_s + o.cpu.children_s) * 1000 / runs;
        std::cout << fmt::format("tracked_scripts {} daemon CPU ({} process{}, utime+stime): {:.0f} ms in the window, "
                                 "{:.1f} % of a core, {:.4f} ms per script run",
                                 who, o.processes, o.processes == 1 ? "" : "es", o.cpu.own_s * 1000,
                                 100.0 * o.cpu.own_s / o.window_s, per_run[ka])
                  << std::endl;
        std::cout << fmt::format("tracked_scripts {} CPU including the scripts (+ cutime+cstime of the reaped "
                                 "children): {:.0f} ms, {:.1f} % of a core, {:.4f} ms per script run",
                                 who, (o.cpu.own_s + o.cpu.children_s) * 1000,
                                 100.0 * (o.cpu.own_s + o.cpu.children_s) / o.window_s, total_per_run[ka])
                  << std::endl;
        if (!ka && (o.failures != 0 || o.counted_runs < static_cast<long long>(0.99 * n * window))) lvsd_ok = false;
    }
    if (per_run[0] > 0 && per_run[1] > 0) {
        std::cout << fmt::format("tracked_scripts ratio lvsd/keepalived, daemon CPU per script run: {:.3f} (target <= 1.0)",
                                 per_run[0] / per_run[1])
                  << std::endl;
        std::cout << fmt::format("tracked_scripts ratio lvsd/keepalived, CPU per script run including the scripts: {:.3f}",
                                 total_per_run[0] / total_per_run[1])
                  << std::endl;
    } else {
        std::cout << "tracked_scripts ratio lvsd/keepalived: none (a side has no figure)" << std::endl;
    }
    return lvsd_ok ? 0 : 1;
}
