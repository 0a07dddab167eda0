// bench/ipvs_apply: how fast lvsd programs IPVS, against `ipvsadm -R` in the same run.
//
//   ipvs_apply [--services N] [--destinations M] [--big-services N] [--big-destinations M]
//              [--repeat R] [--offline]
//
// Runs as root where IPVS exists (the VM: tests/kernel/vm-run -- build/bench/ipvs_apply).
// It first moves into a new network namespace, whose IPVS table is its own: the host's
// table, if any, is never touched. Prints one line per figure:
//   1. N x M from an empty table (wall time, ops, netlink requests incl. dumps),
//   2. the same load with `ipvsadm -R`, and the ratio,
//   3. a reconcile with no change (must send 0 ops), then one weight change (exactly 1),
//   4. a no-change reconcile over the big table (default 1000 x 30 = 30,000 destinations):
//      wall time, the process's CPU time (user, sys) and the pure diff alone.
#include <fcntl.h>
#include <linux/ip_vs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ipvs/client.hpp"
#include "ipvs/detail/netlink.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double cpu_ms(const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }

// CPU time of this thread: unlike wall time, not inflated by other load on the machine.
double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

[[noreturn]] void die(const std::string& what) {
    fmt::print(stderr, "ipvs_apply: {}\n", what);
    std::exit(1);
}

Table make_table(int services, int destinations) {
    Table t;
    for (int s = 0; s < services; ++s) {
        Service svc;
        auto vip = *parse_address(fmt::format("203.0.113.{}", s % 250 + 1));
        svc.key = ServiceKey::endpoint(Protocol::Tcp, vip, static_cast<uint16_t>(10000 + s / 250));
        svc.scheduler = "wrr";
        // Direct routing cannot change the port (ipvsadm forces the service's): real
        // servers differ by address, up to 250 x 250 per service.
        std::vector<Destination> ds;
        for (int d = 0; d < destinations; ++d) {
            Destination dst;
            dst.key = {*parse_address(fmt::format("198.51.{}.{}", 100 + d / 250, d % 250 + 1)),
                       svc.key.port};
            dst.forwarding = Forwarding::DirectRoute;
            dst.weight = static_cast<uint32_t>(d % 5 + 1);
            ds.push_back(dst);
        }
        put(t, svc, ds);
    }
    return t;
}

std::string ipvsadm_rules(const Table& t) {
    std::string out;
    for (const auto& [key, vs] : t) {
        const std::string svc = format_endpoint(key.address, key.port);
        out += fmt::format("-A -t {} -s {}\n", svc, vs.service.scheduler);
        for (const auto& [dk, d] : vs.destinations)
            out += fmt::format("-a -t {} -r {} -g -w {}\n", svc, format_endpoint(dk.address, dk.port),
                               d.weight);
    }
    return out;
}

// Runs `ipvsadm -R` with `file` as stdin; returns the wall time in ms.
double ipvsadm_restore(const std::string& file) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, file.c_str(), O_RDONLY, 0);
    char arg0[] = "ipvsadm";
    char arg1[] = "-R";
    char* argv[] = {arg0, arg1, nullptr};
    pid_t pid = 0;
    auto t0 = Clock::now();
    if (int e = posix_spawnp(&pid, "ipvsadm", &fa, nullptr, argv, environ); e != 0)
        die(fmt::format("start ipvsadm: {}", std::strerror(e)));
    int status = 0;
    waitpid(pid, &status, 0);
    const double ms = ms_since(t0);
    posix_spawn_file_actions_destroy(&fa);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("ipvsadm -R failed");
    return ms;
}

// Moves into a new network namespace, whose IPVS table is empty and our own, brings
// its lo up (without it the kernel refuses destinations: their address type is not
// unicast), and opens a client there.
std::unique_ptr<Client> fresh_table() {
    if (unshare(CLONE_NEWNET) != 0)
        die(fmt::format("unshare(CLONE_NEWNET): {} (run as root)", std::strerror(errno)));
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) die("read lo flags");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("bring lo up");
    close(s);
    auto c = Client::open();
    if (!c) die(c.error().message);
    return std::move(*c);
}

struct Run {
    double ms = 0;
    std::size_t ops = 0;
    uint64_t requests = 0;
};

Run reconcile(Client& c, Reconciler& r) {
    const uint64_t before = c.requests_sent();
    auto t0 = Clock::now();
    auto rep = r.reconcile();
    Run run{ms_since(t0), 0, c.requests_sent() - before};
    if (!rep) die(rep.error().message);
    if (!rep->ok())
        die(fmt::format("{} ops failed, first: {}", rep->errors.size(), rep->errors.front().message));
    run.ops = rep->ops_sent;
    return run;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int arg_int(int argc, char** argv, const char* name, int fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) {
            int v = std::atoi(argv[i + 1]);
            if (v <= 0) die(fmt::format("{} needs a positive number, got '{}'", name, argv[i + 1]));
            return v;
        }
    return fallback;
}

}  // namespace

// --offline: lvsd's own share of a no-change reconcile, measured natively without a
// kernel (the host has no IPVS, and the VM's emulated CPU inflates user time): the
// kernel's dump replies for the big table are fabricated once with the same encoder the
// unit tests check against the kernel's layout, then decoded into a Table and diffed,
// as Client::dump() and Reconciler::reconcile() do after each recv.
int offline(int services, int destinations, int repeat) {
    const Table big = make_table(services, destinations);
    constexpr int kFamily = 0x20;
    std::vector<std::vector<char>> replies;  // one buffer per dump, as recv would fill
    auto append = [](std::vector<char>& buf, nl_msg* m) {
        const nlmsghdr* h = nlmsg_hdr(m);
        const auto* p = reinterpret_cast<const char*>(h);
        buf.insert(buf.end(), p, p + NLMSG_ALIGN(h->nlmsg_len));
    };
    std::vector<char> svc_buf;
    for (const auto& [key, vs] : big) {
        auto m = detail::new_request(kFamily, IPVS_CMD_NEW_SERVICE, NLM_F_MULTI);
        detail::put_service_status(m->get(), {vs.service, {}});
        append(svc_buf, m->get());
        std::vector<char> dest_buf;
        for (const auto& [dk, d] : vs.destinations) {
            auto dm = detail::new_request(kFamily, IPVS_CMD_NEW_DEST, NLM_F_MULTI);
            DestinationStatus st;
            st.destination = d;
            detail::put_destination_status(dm->get(), st);
            append(dest_buf, dm->get());
        }
        replies.push_back(std::move(dest_buf));
    }
    std::vector<double> decode_ms, diff_ms, cpu;
    for (int i = 0; i < repeat; ++i) {
        const double c0 = thread_cpu_ms();
        auto t0 = Clock::now();
        Table observed;
        std::vector<ServiceKey> keys;
        auto walk = [](const std::vector<char>& buf, auto&& f) {
            auto* h = reinterpret_cast<const nlmsghdr*>(buf.data());
            auto len = static_cast<int>(buf.size());
            for (; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) f(h);
        };
        walk(svc_buf, [&](const nlmsghdr* h) {
            auto msg = detail::decode(h, "dump IPVS services", Family::V4, false);
            if (!msg || !msg->service) die("offline: service decode failed");
            keys.push_back(msg->service->service.key);
            observed[msg->service->service.key].service = msg->service->service;
        });
        for (std::size_t s = 0; s < keys.size(); ++s) {
            auto& vs = observed[keys[s]];
            walk(replies[s], [&](const nlmsghdr* h) {
                auto msg = detail::decode(h, "dump destinations", keys[s].family, false);
                if (!msg || !msg->destination) die("offline: destination decode failed");
                vs.destinations.emplace(msg->destination->destination.key, msg->destination->destination);
            });
        }
        decode_ms.push_back(ms_since(t0));
        auto t1 = Clock::now();
        auto ops = diff(big, observed, {});
        diff_ms.push_back(ms_since(t1));
        cpu.push_back(thread_cpu_ms() - c0);
        if (!ops.empty()) die(fmt::format("offline: {} ops on an unchanged table", ops.size()));
    }
    fmt::print("offline reconcile {}x{} ({} destinations), no change, no kernel: decode {:.1f} ms + diff {:.1f} ms "
               "wall, {:.1f} ms CPU of lvsd's own time (median of {})\n",
               services, destinations, static_cast<std::size_t>(services) * static_cast<std::size_t>(destinations),
               median(decode_ms), median(diff_ms), median(cpu), repeat);
    return 0;
}

int main(int argc, char** argv) {
    const int n = arg_int(argc, argv, "--services", 1000);
    const int m = arg_int(argc, argv, "--destinations", 10);
    const int big_n = arg_int(argc, argv, "--big-services", 1000);
    const int big_m = arg_int(argc, argv, "--big-destinations", 30);
    const int repeat = arg_int(argc, argv, "--repeat", 3);
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--offline") == 0) return offline(big_n, big_m, repeat);

    // Warm-up, so that no measurement pays for loading the scheduler module.
    {
        auto c = fresh_table();
        Reconciler r(*c);
        r.set_desired(make_table(1, 1));
        (void)reconcile(*c, r);
    }

    const Table table = make_table(n, m);
    const std::size_t dests = static_cast<std::size_t>(n) * static_cast<std::size_t>(m);

    // 1 and 2: full loads, alternating lvsd and ipvsadm, each into a fresh namespace (a
    // flushed table is not the same: the kernel parks deleted destinations in a trash
    // list that every later add searches), median of `repeat`.
    char path[] = "/tmp/lvsd-ipvs-apply-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) die(fmt::format("mkstemp: {}", std::strerror(errno)));
    close(fd);
    std::ofstream(path) << ipvsadm_rules(table);

    std::vector<double> lvsd_ms, ipvsadm_ms;
    Run full;
    std::unique_ptr<Client> client;
    for (int i = 0; i < repeat; ++i) {
        client = fresh_table();
        Reconciler r(*client);
        r.set_desired(table);
        full = reconcile(*client, r);
        lvsd_ms.push_back(full.ms);
        client = fresh_table();
        ipvsadm_ms.push_back(ipvsadm_restore(path));
    }
    std::remove(path);
    // ipvsadm's table must be the very table lvsd wants.
    {
        auto loaded = client->dump();
        if (!loaded) die(loaded.error().message);
        auto ops = diff(table, *loaded, {});
        if (!ops.empty())
            die(fmt::format("ipvsadm -R loaded a different table ({} ops, first: {})", ops.size(),
                            ops.front()));
    }

    const double lvsd_full = median(lvsd_ms);
    const double ipvsadm_full = median(ipvsadm_ms);
    fmt::print("apply {}x{} ({} destinations) from empty: lvsd {:.1f} ms, {} ops, {} netlink requests\n",
               n, m, dests, lvsd_full, full.ops, full.requests);
    fmt::print("apply {}x{} from empty: ipvsadm -R {:.1f} ms\n", n, m, ipvsadm_full);
    fmt::print("apply {}x{} from empty: lvsd / ipvsadm -R = {:.2f} (median of {})\n", n, m,
               lvsd_full / ipvsadm_full, repeat);

    // 3: on the loaded table, no change, then one weight.
    Reconciler r(*client);
    r.set_desired(table);
    (void)reconcile(*client, r);  // adopt
    const Run none = reconcile(*client, r);
    fmt::print("reconcile {}x{}, no change: {:.1f} ms, {} ops, {} netlink requests (dumps)\n", n, m,
               none.ms, none.ops, none.requests);
    Table one = table;
    std::next(one.begin(), static_cast<long>(one.size() / 2))->second.destinations.begin()->second.weight += 10;
    r.set_desired(one);
    const Run single = reconcile(*client, r);
    fmt::print("reconcile {}x{}, one weight changed: {:.1f} ms, {} ops, {} netlink requests\n", n, m,
               single.ms, single.ops, single.requests);

    // 4: the big table.
    client = fresh_table();
    const Table big = make_table(big_n, big_m);
    Reconciler rb(*client);
    rb.set_desired(big);
    const Run big_full = reconcile(*client, rb);
    fmt::print("apply {}x{} ({} destinations) from empty: lvsd {:.1f} ms, {} ops\n", big_n, big_m,
               static_cast<std::size_t>(big_n) * static_cast<std::size_t>(big_m), big_full.ms, big_full.ops);
    std::vector<double> walls, users, syss, diffs;
    std::size_t big_ops = 0;
    for (int i = 0; i < repeat; ++i) {
        rusage u0{}, u1{};
        getrusage(RUSAGE_SELF, &u0);
        const Run nochange = reconcile(*client, rb);
        getrusage(RUSAGE_SELF, &u1);
        big_ops += nochange.ops;
        walls.push_back(nochange.ms);
        users.push_back(cpu_ms(u1.ru_utime) - cpu_ms(u0.ru_utime));
        syss.push_back(cpu_ms(u1.ru_stime) - cpu_ms(u0.ru_stime));
        auto t0 = Clock::now();
        auto ops = diff(big, rb.kernel(), rb.owned());
        diffs.push_back(ms_since(t0));
        big_ops += ops.size();
    }
    fmt::print("reconcile {}x{}, no change: wall {:.1f} ms, lvsd user CPU {:.1f} ms, kernel (sys) {:.1f} ms, "
               "pure diff {:.2f} ms, {} ops (median of {})\n",
               big_n, big_m, median(walls), median(users), median(syss), median(diffs), big_ops, repeat);
    if (auto f = client->flush(); !f) die(f.error().message);
    return big_ops == 0 && none.ops == 0 && single.ops == 1 ? 0 : 1;
}
