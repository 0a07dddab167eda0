// The end-to-end DSR pair scenario (issue 7): two lvsd balancers, a floating VIP, direct
// routing to two real tinyproxy instances on 8080, an origin web server and a client
// that fetches through the VIP the whole time, inside network namespaces on one bridge.
// It drives the events an operator fears (a proxy dies and comes back, the active
// balancer is killed with -9, reloads good and bad, the old master returns, the operator
// fails the master over with `lvsctl failover` and clears it: issue 15), checks what must
// hold after each, and measures the time without a successful request.
//
// One implementation, two drivers: the kernel-tier test tests/kernel/pair (kernel_pair,
// which turns every check into a test expectation) and scripts/demo (pair_demo, which
// narrates it). Both run it in the VM (tests/kernel/vm-run): it needs the kernel's IPVS.
//
//   client .2 ──┐
//   lb1 .11 ────┤  (VIP 192.0.2.10 by VRRP; IPVS DR, wlc, TCP_CHECK on 8080)
//   lb2 .12 ────┤
//   proxy1 .21 ─┼── bridge ── 192.0.2.0/24
//   proxy2 .22 ─┤  (tinyproxy :8080, VIP on lo by `lvsctl realserver up`)
//   origin .30 ─┘  (busybox httpd :80, a small page and a large file)
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace lvsd::pair {

using Seconds = std::chrono::duration<double>;

struct Options {
    std::string lvsd;        // the binaries under test
    std::string lvsctl;
    std::string source_dir;  // reads etc/lvsd.conf and etc/lvsd-backup.conf from here
    std::ostream* out = nullptr;  // narration with timestamps; nullptr: silent
};

// One client request through the VIP (`curl -x http://VIP:8080 http://origin/...`).
struct Request {
    int seq = 0;
    Seconds start{}, end{};   // since the scenario started (steady clock)
    bool ok = false;          // HTTP 200 with the whole page
    int curl_exit = 0;
    int http_code = 0;
    std::string proxy;        // from the Via header: "proxy1", "proxy2" ("" if none)
    std::string error;        // curl's message for a failed request
};

// One thing that must hold.
struct Check {
    std::string step;
    std::string what;
    bool ok = false;
    std::string detail;  // measured values; on failure, what was seen instead
};

// Requests by step (a request belongs to the step during which it started) and the
// longest time without a successful request that overlaps the step.
struct StepStats {
    std::string name;
    Seconds begin{}, end{};
    int requests = 0, ok = 0, failed = 0, proxy1 = 0, proxy2 = 0;
    Seconds gap{};
    std::string bound;  // the configured bound the gap is held to, "" if none
};

struct Report {
    bool completed = false;    // all steps ran (a broken precondition stops it early)
    std::string aborted;       // why it stopped early
    std::vector<Check> checks;
    std::vector<Request> requests;
    std::vector<StepStats> steps;
    std::vector<std::pair<std::string, std::string>> measured;  // figure, value
    bool passed() const;
};

// Runs the whole scenario and removes everything it made (namespaces, processes, files),
// also when a check fails or setup throws. Never throws.
Report run(const Options& options);

// The closing tables: steps with requests, failures and gaps; the figures measured;
// the checks; every failed request.
std::string summary(const Report& report);

}  // namespace lvsd::pair
