// What the pair scenario watches, without starting a process per look (under the VM's
// emulated CPU every exec costs a large fraction of a second, more than the gaps being
// measured): threads that enter a namespace with setns(2) and read the kernel directly.
//
// - Watcher: one thread per balancer namespace, polling every 50 ms: does eth0 hold the
//   VIP (getifaddrs, i.e. rtnetlink), the IPVS table (/proc/thread-self/net/ip_vs,
//   counters left out) and the number of connections IPVS scheduled there
//   (/proc/thread-self/net/ip_vs_stats). Every poll is kept with its time.
// - ClientLoop: one curl process in the client namespace fetching a URL range through
//   the VIP at a fixed rate, one transfer (and one TCP connection) per request; its
//   per-transfer -w line is read from a pipe and stamped when it arrives.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pair/scenario.hpp"

namespace lvsd::pair {

using Clock = std::chrono::steady_clock;

// An IPVS table as the kernel holds it, without counters: service -> real server -> weight.
struct Table {
    struct Dest {
        std::string forward;  // Route, Masq, Tunnel
        int weight = 0;
        bool operator==(const Dest&) const = default;
    };
    std::map<std::string, std::string> scheduler;                  // "TCP 192.0.2.10:8080" -> "wlc"
    std::map<std::string, std::map<std::string, Dest>> dests;     // service -> "192.0.2.21:8080" -> dest
    bool operator==(const Table&) const = default;
    // The weight of `dest` in `service`; nullopt when it is not in the table.
    std::optional<int> weight(const std::string& service, const std::string& dest) const;
    std::string str() const;  // one line, for messages
};

// Parses /proc/net/ip_vs (IPv4 services); exposed for the scenario's cross-checks.
Table parse_ip_vs(const std::string& text);

struct LbView {
    bool vip = false;       // the VIP is on eth0
    Table table;
    uint64_t conns = 0;     // connections IPVS scheduled in this namespace so far
    std::string error;      // a read that failed
};

struct Observation {
    Clock::time_point t;
    std::array<LbView, 2> lb;  // lb1, lb2
};

class Watcher {
public:
    // `netns`: full names of the lb1 and lb2 namespaces (/run/netns/<name>).
    Watcher(std::array<std::string, 2> netns, std::string vip, std::string ifname);
    ~Watcher();
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    Observation latest() const;
    // The first observation at or after `since` for which `pred` holds, if any yet.
    std::optional<Observation> first(Clock::time_point since,
                                     const std::function<bool(const Observation&)>& pred) const;
    // Whether `pred` held for every observation in [from, to].
    bool always(Clock::time_point from, Clock::time_point to,
                const std::function<bool(const Observation&)>& pred) const;

private:
    void poll(int index, std::string netns);

    std::string vip_, ifname_;
    mutable std::mutex mu_;
    Observation current_;
    std::vector<Observation> history_;
    bool stop_ = false;
    std::condition_variable stop_cv_;
    std::vector<std::thread> threads_;
};

// Runs `fn` on a short-lived thread inside namespace `netns` (full name) and returns
// its result; throws std::runtime_error when the namespace cannot be entered.
bool in_netns(const std::string& netns, const std::function<bool()>& fn);
// A TCP connect from namespace `netns` to addr:port within `timeout`.
bool tcp_open(const std::string& netns, const std::string& addr, int port, std::chrono::milliseconds timeout);

class ClientLoop {
public:
    // Starts `ip netns exec <netns> curl <args>`; curl's stderr must carry only the
    // per-transfer line "exitcode|http_code|time_total|size_download|via|errormsg".
    ClientLoop(const std::string& netns, const std::vector<std::string>& curl_args, Clock::time_point t0,
               long expected_size);
    ~ClientLoop();
    ClientLoop(const ClientLoop&) = delete;
    ClientLoop& operator=(const ClientLoop&) = delete;

    std::vector<Request> requests() const;  // completed so far, in order
    std::size_t count() const;
    void stop();  // ends curl; requests() then holds every completed request
    std::string unparsed() const;  // lines that did not parse (none expected)

private:
    void read_loop(int fd);

    Clock::time_point t0_;
    long expected_size_;
    pid_t pid_ = -1;
    mutable std::mutex mu_;
    std::vector<Request> requests_;
    std::string unparsed_;
    std::thread reader_;
};

}  // namespace lvsd::pair
