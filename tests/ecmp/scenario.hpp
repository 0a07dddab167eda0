// The scale-out scenario (issue 14): three active balancers behind one router that
// spreads flows over them by ECMP, each balancer announcing the VIP through BIRD (BGP with
// BFD) while its service is healthy, and real servers answering by direct routing.
// Hundreds of long-lived connections carry data through the VIP the whole time; the
// scenario drains, fails, crashes and restarts balancers under them and counts the
// connections reset.
//
//   client 203.0.113.2 ── router 203.0.113.1 / 198.51.100.254 (BIRD: etc/bird-router-example.conf,
//                           │  BGP+BFD to lb1..3, merge paths; fib_multipath_hash_policy=1)
//                        fabric bridge 198.51.100.0/24
//        ┌──────────┬──────┴────┬──────────┬──────────┬──────────┐
//   lb1 .1     lb2 .2      lb3 .3      rs1 .21    rs2 .22    rs3 .23
//   lvsd + BIRD (etc/bird-lvsd.conf) each:  HTTP on 8080 (DR: VIP on lo,
//   VIP 192.0.2.10/32 in table 100, proto   arp_ignore=1, arp_announce=2)
//   250 while the service has its quorum;
//   IPVS mh + mh-port, sloppy_tcp=1
//
// One implementation, two drivers: the kernel-tier test tests/kernel/ecmp (every check an
// expectation) and bench/ecmp (the figures, with more withdrawal runs). Both run in the VM
// (tests/kernel/vm-run): the data path needs the kernel's IPVS.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ecmp/flows.hpp"

namespace lvsd::ecmp {

struct Options {
    std::string lvsd, lvsctl, source_dir;
    std::ostream* out = nullptr;  // narration with timestamps; nullptr: silent
    int flows = 300;              // long-lived connections through the VIP
    std::chrono::milliseconds period{1000};  // each flow sends a request this often
    int withdraw_runs = 1;        // times one balancer loses all its real servers and recovers
    // BFD on every BGP session (router and balancers alike), in place of the shipped
    // files' 100 ms x 3. Detection time is interval x multiplier (RFC 5880 §6.8.4);
    // 200 ms x 5 holds under the VM's TCG.
    std::chrono::milliseconds bfd_interval{200};
    int bfd_multiplier = 5;
};

struct Check {
    std::string step, what;
    bool ok = false;
    std::string detail;
};

struct Report {
    bool completed = false;
    std::string aborted;
    std::vector<Check> checks;
    std::vector<FlowStats> phases;                              // the flows, per step
    std::vector<std::pair<std::string, std::string>> measured;  // figure, value
    std::vector<double> withdraw_s;  // quorum lost (lvsd's log) -> router's FIB without the next hop
    bool passed() const;
};

// Runs the whole scenario and removes everything it made; never throws.
Report run(const Options& options);
// The closing tables: flows per step, figures, failed checks.
std::string summary(const Report& report);

}  // namespace lvsd::ecmp
