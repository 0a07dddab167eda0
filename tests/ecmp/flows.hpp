// The traffic of the ECMP scenario (scenario.hpp), carried by threads of the test process
// that entered a namespace with setns(2): under the VM's emulated CPU a process per
// connection (curl, a shell loop) would cost more than the events being measured.
//
// - HttpServer: a real server's HTTP/1.1 service on 0.0.0.0:8080 in its namespace
//   (keep-alive; every response names the server in `X-Server`). The health checks of
//   the balancers (TCP_CHECK) connect to it like any client.
// - FlowPool: hundreds of long-lived TCP connections from the client namespace to the
//   VIP, each from its own source port, each sending a request every `period` on the same
//   connection and reading the answer. Whatever ends a connection is counted against the
//   phase it happened in: a reset (ECONNRESET, EPIPE), an answer that did not come within
//   `stall` (retransmissions that never got through), a close by the server, a failed
//   connect. A broken flow is opened again (a new source port), so the pool stays full.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lvsd::ecmp {

using Clock = std::chrono::steady_clock;

class HttpServer {
public:
    // Listens on 0.0.0.0:`port` inside namespace `netns` (full name, /run/netns/<name>);
    // throws std::runtime_error when it cannot.
    HttpServer(const std::string& netns, std::string name, int port);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    long requests() const { return requests_; }

private:
    void serve();

    std::string name_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;  // eventfd: ends serve()
    std::atomic<long> requests_{0};
    std::thread thread_;
};

// What happened to the flows during one phase.
struct FlowStats {
    std::string phase;
    long answers = 0;         // responses read in full
    long resets = 0;          // ECONNRESET / EPIPE on an established flow
    long stalls = 0;          // no answer within `stall` (the flow is then given up)
    long closed = 0;          // the server closed an established flow
    long connect_failed = 0;  // refused, reset or timed out while connecting
    long switched = 0;        // an answer on a flow came from another real server than before
    long opened = 0;          // connections opened (the initial ones and replacements)
    std::map<std::string, long> by_server;  // answers per real server (X-Server)
    std::string first_error;                 // the first broken flow, for messages
    long broken() const { return resets + stalls + closed + connect_failed + switched; }
};

class FlowPool {
public:
    // Opens `count` connections from namespace `netns` to vip:port; each sends a request
    // every `period` (the first ones spread over one period).
    FlowPool(const std::string& netns, const std::string& vip, int port, int count,
             std::chrono::milliseconds period, std::chrono::milliseconds stall);
    ~FlowPool();
    FlowPool(const FlowPool&) = delete;
    FlowPool& operator=(const FlowPool&) = delete;

    // Ends the current phase and starts counting `name`.
    void phase(const std::string& name);
    FlowStats current() const;
    std::vector<FlowStats> phases() const;  // all, the current one last
    // Established flows that have had an answer since they were opened.
    int answering() const;
    int count() const { return count_; }
    // Flows answered since `since` at least once each (all of them: the pool carries data).
    int answered_since(Clock::time_point since) const;

private:
    struct Flow;
    void run(std::string netns);

    std::string vip_;
    int port_, count_;
    std::chrono::milliseconds period_, stall_;
    int stop_fd_ = -1;
    mutable std::mutex mu_;
    std::vector<FlowStats> phases_;
    std::vector<Clock::time_point> last_answer_;  // per flow slot
    std::vector<bool> answering_;
    std::string start_error_;
    std::thread thread_;
};

}  // namespace lvsd::ecmp
