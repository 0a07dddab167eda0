// healthcheck_capacity: how many real servers one lvsd health-check loop keeps up with.
//
// N TCP listeners on distinct loopback addresses (127.10.0.1, 127.10.0.2, ...), served
// by one child process, each checked with TCP_CHECK every interval for the duration.
// Prints checks/s achieved, how many checks started on time, the checker's CPU use
// (its own process only, not the listeners') and its peak RSS. Figures cover --duration
// seconds after a 2 s warm-up (max lateness and peak in flight: the whole run).
//
//   healthcheck_capacity [--servers N] [--duration SECONDS] [--interval-ms MS]
//                        [--timeout-ms MS] [--port PORT] [--ssl [--no-tickets]] [--keepalived]
//
// --ssl checks with SSL_GET instead (GET / expecting 200, certificate not verified, as
// keepalived does by default; --timeout-ms defaults to 3000 there): the listeners are
// Debian's nginx (nginx-light), started with a throwaway P-256 certificate in a temp
// directory, one `listen ADDR:PORT ssl` per server; its access log counts the requests.
// nginx issues session tickets (its default), which lvsd's SSL_GET resumes; --no-tickets
// turns them and its session cache off, so that every check is a full handshake.
//
// --keepalived then runs keepalived's checker (Debian's package, `keepalived -C`) on the
// same listeners with the same TCP_CHECK (or SSL_GET) settings for the same duration and
// prints its CPU, RSS and the ratios. keepalived's checker exits without IPVS, so run
// that mode where ip_vs exists:
//   tests/kernel/vm-run -- build/bench/healthcheck_capacity --servers 1000 --keepalived
//
// Loopback only; nothing on the host is changed (the fd limit is raised for this
// process and its child alone).
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "healthcheck/monitor.hpp"

using namespace lvsd;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

// Both checkers run this long before their figures are taken (see main).
constexpr std::chrono::seconds kWarmup{2};

struct Options {
    unsigned servers = 10000;
    unsigned duration_s = 30;
    unsigned interval_ms = 1000;
    unsigned timeout_ms = 0;  // 0: 1000 for TCP_CHECK, 3000 for SSL_GET
    uint16_t port = 0;        // 0: 8080 for TCP_CHECK, 8443 for SSL_GET
    bool ssl = false;
    bool keepalived = false;
    bool no_tickets = false;  // --ssl: nginx refuses TLS session resumption
    const char* check_name() const { return ssl ? "SSL_GET" : "TCP_CHECK"; }
};

[[noreturn]] void die(const std::string& msg) {
    fmt::print(stderr, "healthcheck_capacity: {}\n", msg);
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> unsigned long {
            if (i + 1 >= argc) die(fmt::format("{} needs a value", a));
            char* end = nullptr;
            errno = 0;
            unsigned long v = std::strtoul(argv[++i], &end, 10);
            if (errno || *end || v == 0) die(fmt::format("{}: '{}' is not a positive number", a, argv[i]));
            return v;
        };
        if (a == "--keepalived") o.keepalived = true;
        else if (a == "--ssl") o.ssl = true;
        else if (a == "--no-tickets") o.no_tickets = true;
        else if (a == "--servers") o.servers = static_cast<unsigned>(value());
        else if (a == "--duration") o.duration_s = static_cast<unsigned>(value());
        else if (a == "--interval-ms") o.interval_ms = static_cast<unsigned>(value());
        else if (a == "--timeout-ms") o.timeout_ms = static_cast<unsigned>(value());
        else if (a == "--port") o.port = static_cast<uint16_t>(value());
        else die(fmt::format("unknown option '{}' (--servers --duration --interval-ms --timeout-ms --port --ssl --no-tickets --keepalived)", a));
    }
    if (!o.timeout_ms) o.timeout_ms = o.ssl ? 3000 : 1000;
    if (!o.port) o.port = o.ssl ? 8443 : 8080;
    if (o.servers > 16'000'000) die("--servers: at most 16000000 loopback addresses");
    return o;
}

// 127.10.0.1 + i: the whole of 127/8 is local on Linux, no address needs adding.
in_addr_t server_address(unsigned i) { return htonl((127u << 24 | 10u << 16) + i + 1); }

void raise_fd_limit(rlim_t want) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= want) return;
    rlimit up{want, std::max(rl.rlim_max, want)};
    if (setrlimit(RLIMIT_NOFILE, &up) != 0)
        die(fmt::format("cannot raise RLIMIT_NOFILE to {}: {} (run as root or lower --servers)", want,
                        std::strerror(errno)));
}

// Connections the listener child accepted, in memory shared with the parent: the
// count of checks a peer checker really made.
std::atomic<uint64_t>* g_accepted = nullptr;

// The child: N listeners, accept and close, on one epoll. Writes one byte to `ready`
// once every listener is bound, then serves until killed.
[[noreturn]] void serve(const Options& o, int ready) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (unsigned i = 0; i < o.servers; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(o.port);
        sa.sin_addr.s_addr = server_address(i);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 64) != 0) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a);
            die(fmt::format("listener {}:{}: {}", a, o.port, std::strerror(errno)));
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    char c = 1;
    if (write(ready, &c, 1) != 1) die("cannot signal readiness");
    close(ready);
    std::vector<epoll_event> evs(1024);
    for (;;) {
        int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
        for (int k = 0; k < n; ++k) {
            for (;;) {
                int c2 = accept4(evs[k].data.fd, nullptr, nullptr, SOCK_CLOEXEC);
                if (c2 < 0) break;
                close(c2);
                g_accepted->fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
}

// The TCP_CHECK listeners: serve() in a child, returned once it is ready.
pid_t start_listeners(const Options& o) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) die("pipe failed");
    pid_t child = fork();
    if (child < 0) die(fmt::format("fork: {}", std::strerror(errno)));
    if (child == 0) {
        // The listeners go with the checker, also when it crashes.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(pipefd[0]);
        serve(o, pipefd[1]);
    }
    close(pipefd[1]);
    char c;
    if (read(pipefd[0], &c, 1) != 1) {
        waitpid(child, nullptr, 0);
        die("the listener process failed to start");
    }
    close(pipefd[0]);
    return child;
}

double load_average() {
    double l = -1;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &l) != 1) l = -1;
        std::fclose(f);
    }
    return l;
}

struct Cpu {
    double user = 0, sys = 0;
};

long minor_faults() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

Cpu cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return {ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6};
}

long peak_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

std::string address_text(unsigned i) {
    in_addr a{server_address(i)};
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::string read_file(const std::string& path) {
    std::string out;
    if (FILE* f = std::fopen(path.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        std::fclose(f);
    }
    return out;
}

struct ProcessCpu {
    double user = -1, sys = -1;  // seconds
    long minflt = 0;
    double total() const { return user + sys; }
};

// minflt, utime and stime of a process (fields 10, 14 and 15 of /proc/PID/stat).
ProcessCpu process_cpu(pid_t pid) {
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) return {};
    unsigned long minflt = 0, utime = 0, stime = 0;
    // After ") " come state (field 3) ... minflt is field 10, utime 14, stime 15.
    if (std::sscanf(stat.c_str() + close_paren + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %*u %*u %*u %lu %lu",
                    &minflt, &utime, &stime) != 3)
        return {};
    const auto tck = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {static_cast<double>(utime) / tck, static_cast<double>(stime) / tck, static_cast<long>(minflt)};
}

long process_peak_rss_kb(pid_t pid) {
    auto status = read_file(fmt::format("/proc/{}/status", pid));
    auto at = status.find("VmHWM:");
    return at == std::string::npos ? -1 : std::strtol(status.c_str() + at + 6, nullptr, 10);
}

// --ssl: requests nginx answered, from its access log (one "x\n" per request);
// otherwise the connections the listener child accepted.
std::string g_access_log;

uint64_t served() {
    if (g_access_log.empty()) return g_accepted->load();
    struct stat st{};
    return stat(g_access_log.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) / 2 : 0;
}

void write_file(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) die(fmt::format("cannot write {}", path));
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

// --ssl: Debian's nginx in `dir` with a fresh certificate, one TLS listener per server,
// GET / answered 200. Returns its master's pid once every listener is bound.
pid_t start_nginx(const Options& o, const std::string& dir) {
    if (std::system(fmt::format("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                                "-days 1 -subj /CN=lvsd-bench -keyout {0}/key.pem -out {0}/cert.pem "
                                ">/dev/null 2>&1",
                                dir)
                        .c_str()) != 0)
        die("openssl req failed: cannot make the test certificate");
    g_access_log = dir + "/access.log";
    std::string conf = fmt::format(
        "daemon off;\nworker_processes {};\nworker_rlimit_nofile {};\npid {}/nginx.pid;\n"
        "error_log {}/error.log error;\nevents {{\n  worker_connections 16384;\n}}\nhttp {{\n"
        "  log_format counted \"x\";\n  access_log {} counted;\n  keepalive_timeout 0;\n"
        "  ssl_certificate {}/cert.pem;\n  ssl_certificate_key {}/key.pem;\n{}  server {{\n",
        sysconf(_SC_NPROCESSORS_ONLN), o.servers + 4096, dir, dir, g_access_log, dir, dir,
        o.no_tickets ? "  ssl_session_tickets off;\n  ssl_session_cache off;\n" : "");
    for (unsigned i = 0; i < o.servers; ++i) conf += fmt::format("    listen {}:{} ssl;\n", address_text(i), o.port);
    conf += "    location / {\n      return 200 \"ok\\n\";\n    }\n  }\n}\n";
    write_file(dir + "/nginx.conf", conf);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        const std::string conf_path = dir + "/nginx.conf", error_log = dir + "/error.log";
        execlp("nginx", "nginx", "-p", dir.c_str(), "-e", error_log.c_str(), "-c", conf_path.c_str(),
               static_cast<char*>(nullptr));
        _exit(127);
    }
    // nginx writes its pid file after binding every listener.
    for (int i = 0; i < 400; ++i) {
        if (access((dir + "/nginx.pid").c_str(), F_OK) == 0) return pid;
        if (waitpid(pid, nullptr, WNOHANG) == pid)
            die(fmt::format("nginx exited at startup (is nginx-light installed? see scripts/setup): {}",
                            read_file(dir + "/error.log")));
        usleep(50'000);
    }
    die("nginx did not start within 20 s");
}

struct PeerFigures {
    double cpu_percent = -1;
    double user_percent = 0, sys_percent = 0;
    double minflt_per_check = 0;
    long peak_rss_kb = -1;
    double checks_per_s = 0;  // connections the listeners accepted from it (--ssl: requests answered)
    double cpu_us_per_check = 0;
    long up = 0;  // real servers in its IPVS service at the end: those its checks find up
};

// keepalived's checker on the same listeners: one virtual service (a documentation
// address, never reached) with every listener as a real server under TCP_CHECK.
PeerFigures run_keepalived(const Options& o) {
    if (access("/proc/net/ip_vs", F_OK) != 0 && std::system("modprobe -q ip_vs 2>/dev/null") != 0) {
        fmt::print("keepalived comparison: not run: no ip_vs in this kernel (use tests/kernel/vm-run)\n");
        return {};
    }
    char tmpl[] = "/tmp/lvsd-hc-bench-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp failed");
    const std::string dir = tmpl;
    const std::string conf = dir + "/keepalived.conf";
    {
        std::string text = "global_defs {\n  router_id lvsd_bench\n}\n";
        text += fmt::format("virtual_server 203.0.113.1 {} {{\n  delay_loop {}\n  lb_algo rr\n  lb_kind DR\n"
                            "  protocol TCP\n",
                            o.port, o.interval_ms / 1000.0);
        const char* url = o.ssl ? "      url {\n        path /\n        status_code 200\n      }\n" : "";
        for (unsigned i = 0; i < o.servers; ++i)
            text += fmt::format("  real_server {} {} {{\n    weight 1\n    {} {{\n{}      connect_timeout {}\n"
                                "    }}\n  }}\n",
                                address_text(i), o.port, o.check_name(), url, o.timeout_ms / 1000.0);
        text += "}\n";
        write_file(conf, text);
    }
    const std::string pidfile = dir + "/keepalived.pid", checkers = dir + "/checkers.pid";
    pid_t parent = fork();
    if (parent == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("keepalived", "keepalived", "--dont-fork", "--check", "--log-console", "-f", conf.c_str(), "-p",
               pidfile.c_str(), "-c", checkers.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    pid_t checker = 0;
    for (int i = 0; i < 200 && checker <= 0; ++i) {
        usleep(50'000);
        checker = static_cast<pid_t>(std::atol(read_file(checkers).c_str()));
        if (waitpid(parent, nullptr, WNOHANG) == parent) die("keepalived exited at startup (is ip_vs available?)");
    }
    if (checker <= 0) die("keepalived's checker did not start within 10 s");
    // Let it load its configuration into IPVS and spread its first checks.
    sleep(static_cast<unsigned>(std::chrono::duration_cast<std::chrono::seconds>(kWarmup).count()));
    const auto wall0 = Clock::now();
    const ProcessCpu cpu0 = process_cpu(checker);
    const uint64_t served0 = served();
    sleep(o.duration_s);
    const ProcessCpu cpu1 = process_cpu(checker);
    const uint64_t checks = served() - served0;
    // The real servers it has in IPVS (lb_kind DR: "Route" lines): those its checks find up.
    long up = 0;
    const auto ipvs = read_file("/proc/net/ip_vs");
    for (std::size_t at = ipvs.find(" Route "); at != std::string::npos; at = ipvs.find(" Route ", at + 1)) ++up;
    if (cpu0.user < 0 || cpu1.user < 0) {
        kill(parent, SIGKILL);
        waitpid(parent, nullptr, 0);
        die("keepalived's checker process went away during the run");
    }
    const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
    const double cpu = cpu1.total() - cpu0.total();
    PeerFigures out{100.0 * cpu / wall,
                    100.0 * (cpu1.user - cpu0.user) / wall,
                    100.0 * (cpu1.sys - cpu0.sys) / wall,
                    checks ? static_cast<double>(cpu1.minflt - cpu0.minflt) / static_cast<double>(checks) : 0.0,
                    process_peak_rss_kb(checker),
                    checks / wall,
                    checks ? 1e6 * cpu / static_cast<double>(checks) : 0.0,
                    up};
    kill(parent, SIGTERM);
    for (int i = 0; i < 100 && waitpid(parent, nullptr, WNOHANG) != parent; ++i) usleep(100'000);
    kill(parent, SIGKILL);
    waitpid(parent, nullptr, WNOHANG);
    std::remove(conf.c_str());
    std::remove(pidfile.c_str());
    std::remove(checkers.c_str());
    rmdir(dir.c_str());
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    raise_fd_limit(static_cast<rlim_t>(o.servers) + 4096);

    void* shared = mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap failed");
    g_accepted = new (shared) std::atomic<uint64_t>(0);

    char ssl_dir[] = "/tmp/lvsd-hc-ssl-XXXXXX";
    if (o.ssl && !mkdtemp(ssl_dir)) die("mkdtemp failed");
    const pid_t child = o.ssl ? start_nginx(o, ssl_dir) : start_listeners(o);

    boost::asio::io_context io;
    Monitor monitor(io.get_executor(), nullptr);
    for (unsigned i = 0; i < o.servers; ++i) {
        CheckSpec s;
        s.type = o.ssl ? CheckType::Ssl : CheckType::Tcp;
        s.status_code = {StatusRange{200, 200}};  // SSL_GET: GET / (the default path) must answer 200
        in_addr a{server_address(i)};
        s.address = boost::asio::ip::address_v4(ntohl(a.s_addr));
        s.port = o.port;
        s.delay_loop = milliseconds(o.interval_ms);
        s.connect_timeout = milliseconds(o.timeout_ms);
        s.initial = InitialState::DownUntilFirstSuccess;
        if (auto k = monitor.add(s); !k) die(k.error().message);
    }

    const double load0 = load_average();
    // The figures are taken after a warm-up of kWarmup, as for keepalived below: the
    // one-time costs (the TLS context, OpenSSL's first algorithm fetches, faulting in the
    // libraries' pages) are no part of the cost per check, and keepalived's are not counted.
    auto wall0 = Clock::now();
    Cpu cpu0{};
    uint64_t served0 = 0;
    long minflt0 = 0;
    MonitorStats st0{};
    boost::asio::steady_timer warm(io, kWarmup);
    warm.async_wait([&](boost::system::error_code) {
        wall0 = Clock::now();
        cpu0 = cpu_seconds();
        served0 = served();
        minflt0 = minor_faults();
        st0 = monitor.stats();
    });
    // io.run() as the daemon runs it (run_for polls in one-handler steps), stopped by a timer.
    boost::asio::steady_timer stop(io, kWarmup + std::chrono::seconds(o.duration_s));
    stop.async_wait([&](boost::system::error_code) { io.stop(); });
    io.run();
    const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
    const Cpu cpu1 = cpu_seconds();
    const uint64_t served_lvsd = served() - served0;
    const double user = cpu1.user - cpu0.user, sys = cpu1.sys - cpu0.sys;
    const long minflt = minor_faults() - minflt0;

    MonitorStats st = monitor.stats();
    st.probes_started -= st0.probes_started;
    st.probes_ok -= st0.probes_ok;
    st.probes_failed -= st0.probes_failed;
    st.probes_inconclusive -= st0.probes_inconclusive;
    for (std::size_t i = 0; i < st.lateness.size(); ++i) st.lateness[i] -= st0.lateness[i];
    std::size_t up = 0;
    for (const auto& t : monitor.snapshot()) up += t.health == Health::Up;
    const uint64_t started = st.probes_started;
    const double on10 = started ? 100.0 * (st.lateness[0] + st.lateness[1]) / started : 0;
    const double on100 = started ? 100.0 * (st.lateness[0] + st.lateness[1] + st.lateness[2]) / started : 0;

    fmt::print("healthcheck_capacity: {} servers, {}{} every {} ms (timeout {} ms), {} s\n", o.servers,
               o.check_name(), o.no_tickets ? " (server without session resumption)" : "", o.interval_ms,
               o.timeout_ms, o.duration_s);
    // On a shared builder the other load decides how soon loopback packets are
    // processed (softirq work spills to ksoftirqd); print it next to the figures.
    fmt::print("host load average (1 min) before/after: {:.2f} / {:.2f}\n", load0, load_average());
    fmt::print("checks/s: {:.1f} (ideal {:.1f})\n", started / wall, o.servers * 1000.0 / o.interval_ms);
    fmt::print("checks started: {} ok: {} failed: {} inconclusive: {}\n", started, st.probes_ok,
               st.probes_failed, st.probes_inconclusive);
    fmt::print("on time (<10 ms late): {:.3f} %\n", on10);
    fmt::print("on time (<100 ms late): {:.3f} %\n", on100);
    if (o.ssl)
        fmt::print("requests nginx answered lvsd: {} ({:.1f}/s; lvsd CPU per request answered: {:.1f} us)\n",
                   served_lvsd, served_lvsd / wall, served_lvsd ? 1e6 * (user + sys) / served_lvsd : 0.0);
    fmt::print("max lateness: {:.1f} ms\n", std::chrono::duration<double, std::milli>(st.max_lateness).count());
    fmt::print("peak probes in flight: {}\n", st.peak_in_flight);
    fmt::print("servers up at the end: {} of {}\n", up, o.servers);
    fmt::print("lvsd checker CPU: {:.1f} % of one core (user {:.1f} %, system {:.1f} %)\n",
               100.0 * (user + sys) / wall, 100.0 * user / wall, 100.0 * sys / wall);
    fmt::print("lvsd checker CPU per check: {:.1f} us\n", started ? 1e6 * (user + sys) / started : 0.0);
    const uint64_t counted = o.ssl ? served_lvsd : started;
    fmt::print("lvsd checker minor page faults per check: {:.1f}\n",
               counted ? static_cast<double>(minflt) / static_cast<double>(counted) : 0.0);
    fmt::print("lvsd checker peak RSS: {:.1f} MB\n", peak_rss_kb() / 1024.0);
    const double lvsd_cpu = 100.0 * (user + sys) / wall;
    if (!o.keepalived) {
        fmt::print("keepalived comparison: not run (add --keepalived, where ip_vs exists: tests/kernel/vm-run)\n");
    } else {
        auto k = run_keepalived(o);
        if (k.cpu_percent >= 0) {
            fmt::print("keepalived checks/s: {:.1f}{}\n", k.checks_per_s,
                       o.ssl ? " (requests nginx answered it)" : "");
            fmt::print("keepalived servers up (in IPVS) at the end: {} of {}\n", k.up, o.servers);
            fmt::print("keepalived checker CPU: {:.1f} % of one core (user {:.1f} %, system {:.1f} %)\n",
                       k.cpu_percent, k.user_percent, k.sys_percent);
            fmt::print("keepalived checker minor page faults per check: {:.1f}\n", k.minflt_per_check);
            fmt::print("keepalived checker CPU per check: {:.1f} us\n", k.cpu_us_per_check);
            fmt::print("keepalived checker peak RSS: {:.1f} MB\n", k.peak_rss_kb / 1024.0);
            if (k.cpu_percent > 0) fmt::print("CPU ratio lvsd/keepalived: {:.2f}\n", lvsd_cpu / k.cpu_percent);
            // A peer that falls behind does less work for its CPU: the ratio above then
            // flatters it, and only the per-check ratio compares like with like.
            if (k.checks_per_s < 0.9 * o.servers * 1000.0 / o.interval_ms)
                fmt::print("note: keepalived kept up with {:.0f} % of the {:.0f} checks/s asked (lvsd {:.0f} %): "
                           "compare CPU per check\n",
                           100.0 * k.checks_per_s / (o.servers * 1000.0 / o.interval_ms),
                           o.servers * 1000.0 / o.interval_ms,
                           100.0 * started / wall / (o.servers * 1000.0 / o.interval_ms));
            // keepalived's checks are counted at the listeners (--ssl: requests answered),
            // so lvsd's are counted there too: a probe that failed does not count as a check.
            const uint64_t lvsd_checks = o.ssl ? served_lvsd : started;
            if (k.cpu_us_per_check > 0 && lvsd_checks)
                fmt::print("CPU per check ratio lvsd/keepalived: {:.2f}{}\n",
                           1e6 * (user + sys) / static_cast<double>(lvsd_checks) / k.cpu_us_per_check,
                           o.ssl ? " (per request answered, both)" : "");
            if (k.peak_rss_kb > 0)
                fmt::print("RSS ratio lvsd/keepalived: {:.2f}\n",
                           static_cast<double>(peak_rss_kb()) / static_cast<double>(k.peak_rss_kb));
        }
    }

    // nginx: SIGTERM is its fast shutdown (the master takes its workers along).
    kill(child, o.ssl ? SIGTERM : SIGKILL);
    waitpid(child, nullptr, 0);
    if (o.ssl) std::filesystem::remove_all(ssl_dir);
    return 0;
}
