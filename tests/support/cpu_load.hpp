// CPU starvation for the VRRP timing test and bench/vrrp_failover (issue 16): every CPU
// saturated by normal-priority work, the way a busy balancer host is.
//   - busy loops, `per_cpu` for every online CPU (4 by default): plain CPU hogs;
//   - stress-ng's context-switch stressor (--switch) and cache thrasher (--cache), one of
//     each per CPU: they keep the run queues long and the caches cold.
// Every process is a lvsd::testing::Process (its own process group, ended by pid when the
// CpuLoad goes out of scope, also when a test assertion fails), and each also ends itself
// `lifetime` later should the test process die without running its destructors.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "support/netns_lab.hpp"

namespace lvsd::testing {

class CpuLoad {
public:
    // Throws LabError when a load process cannot start (stress-ng missing: scripts/setup).
    explicit CpuLoad(std::chrono::seconds lifetime, unsigned per_cpu = 4, bool stress_ng = true);
    ~CpuLoad();  // stop()
    CpuLoad(const CpuLoad&) = delete;
    CpuLoad& operator=(const CpuLoad&) = delete;

    // Ends every load process (SIGTERM to its group, then SIGKILL) and waits for it.
    void stop();
    // What runs, for messages: "8 busy loops, stress-ng --switch 2 --cache 2".
    const std::string& what() const { return what_; }
    // The online CPUs counted.
    static unsigned cpus();

private:
    std::vector<Process> procs_;
    std::string what_;
};

}  // namespace lvsd::testing
