// healthcheck_capacity: how many real servers one lvsd health-check loop keeps up with.
//
// N TCP listeners on distinct loopback addresses (127.10.0.1, 127.10.0.2, ...), served
// by one child process, each checked with TCP_CHECK every interval for the duration.
// Prints checks/s achieved, how many checks started on time, the checker's CPU use
// (its own process only, not the listeners') and its peak RSS.
//
//   healthcheck_capacity [--servers N] [--duration SECONDS] [--interval-ms MS]
//                        [--timeout-ms MS] [--port PORT]
//
// Loopback only; nothing on the host is changed (the fd limit is raised for this
// process and its child alone).
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

struct Options {
    unsigned servers = 10000;
    unsigned duration_s = 30;
    unsigned interval_ms = 1000;
    unsigned timeout_ms = 1000;
    uint16_t port = 8080;
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
        if (a == "--servers") o.servers = static_cast<unsigned>(value());
        else if (a == "--duration") o.duration_s = static_cast<unsigned>(value());
        else if (a == "--interval-ms") o.interval_ms = static_cast<unsigned>(value());
        else if (a == "--timeout-ms") o.timeout_ms = static_cast<unsigned>(value());
        else if (a == "--port") o.port = static_cast<uint16_t>(value());
        else die(fmt::format("unknown option '{}' (--servers --duration --interval-ms --timeout-ms --port)", a));
    }
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
            }
        }
    }
}

struct Cpu {
    double user = 0, sys = 0;
};

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

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    raise_fd_limit(static_cast<rlim_t>(o.servers) + 4096);

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) die("pipe failed");
    pid_t child = fork();
    if (child < 0) die(fmt::format("fork: {}", std::strerror(errno)));
    if (child == 0) {
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

    boost::asio::io_context io;
    Monitor monitor(io.get_executor(), nullptr);
    for (unsigned i = 0; i < o.servers; ++i) {
        CheckSpec s;
        s.type = CheckType::Tcp;
        in_addr a{server_address(i)};
        s.address = boost::asio::ip::address_v4(ntohl(a.s_addr));
        s.port = o.port;
        s.delay_loop = milliseconds(o.interval_ms);
        s.connect_timeout = milliseconds(o.timeout_ms);
        s.initial = InitialState::DownUntilFirstSuccess;
        if (auto k = monitor.add(s); !k) die(k.error().message);
    }

    const auto wall0 = Clock::now();
    const Cpu cpu0 = cpu_seconds();
    // io.run() as the daemon runs it (run_for polls in one-handler steps), stopped by a timer.
    boost::asio::steady_timer stop(io, std::chrono::seconds(o.duration_s));
    stop.async_wait([&](boost::system::error_code) { io.stop(); });
    io.run();
    const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
    const Cpu cpu1 = cpu_seconds();
    const double user = cpu1.user - cpu0.user, sys = cpu1.sys - cpu0.sys;

    const auto& st = monitor.stats();
    std::size_t up = 0;
    for (const auto& t : monitor.snapshot()) up += t.health == Health::Up;
    const uint64_t started = st.probes_started;
    const double on10 = started ? 100.0 * (st.lateness[0] + st.lateness[1]) / started : 0;
    const double on100 = started ? 100.0 * (st.lateness[0] + st.lateness[1] + st.lateness[2]) / started : 0;

    fmt::print("healthcheck_capacity: {} servers, TCP_CHECK every {} ms, {} s\n", o.servers, o.interval_ms,
               o.duration_s);
    fmt::print("checks/s: {:.1f} (ideal {:.1f})\n", started / wall, o.servers * 1000.0 / o.interval_ms);
    fmt::print("checks started: {} ok: {} failed: {}\n", started, st.probes_ok, st.probes_failed);
    fmt::print("on time (<10 ms late): {:.3f} %\n", on10);
    fmt::print("on time (<100 ms late): {:.3f} %\n", on100);
    fmt::print("max lateness: {:.1f} ms\n", std::chrono::duration<double, std::milli>(st.max_lateness).count());
    fmt::print("peak probes in flight: {}\n", st.peak_in_flight);
    fmt::print("servers up at the end: {} of {}\n", up, o.servers);
    fmt::print("lvsd checker CPU: {:.1f} % of one core (user {:.1f} %, system {:.1f} %)\n",
               100.0 * (user + sys) / wall, 100.0 * user / wall, 100.0 * sys / wall);
    fmt::print("lvsd checker CPU per check: {:.1f} us\n", started ? 1e6 * (user + sys) / started : 0.0);
    fmt::print("lvsd checker peak RSS: {:.1f} MB\n", peak_rss_kb() / 1024.0);
    fmt::print("keepalived comparison: not run (keepalived's checker needs IPVS: VM tier)\n");

    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return 0;
}
