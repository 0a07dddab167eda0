// ecmp: the scale-out figures of issue 14, from the ECMP scenario (tests/ecmp/scenario.hpp:
// client - router (BIRD, merge paths, L4 multipath hash) - lb1..lb3 (lvsd + BIRD, BGP
// with BFD) - three DR real servers, hundreds of long-lived flows through the VIP).
//
// Prints:
// - the time from lvsd's verdict on the last failed health check of a balancer's real
//   servers (its "quorum lost" log line) to the router's FIB without that balancer's next
//   hop (`ip -ts monitor route` in the router), median and max over RUNS runs;
// - the time from kill -9 of a balancer's BIRD to the router's FIB change, against the
//   BFD detection time (interval x multiplier);
// - flows reset during a drain, when a balancer is added, when a balancer's BIRD crashes,
//   and in the negative control (sloppy_tcp=0 on the other balancers), out of how many.
//
// Needs IPVS: run it in the VM,
//   tests/kernel/vm-run --timeout 1200 -- build/bench/ecmp [RUNS] [FLOWS]
// (defaults 10 and 300). Exit status: 0 when every check of the scenario held.
#include <algorithm>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "ecmp/scenario.hpp"

int main(int argc, char** argv) {
    lvsd::ecmp::Options o;
    o.lvsd = LVSD_BINARY_DIR "/lvsd";
    o.lvsctl = LVSD_BINARY_DIR "/lvsctl";
    o.source_dir = LVSD_SOURCE_DIR;
    o.withdraw_runs = 10;
    try {
        if (argc > 1) o.withdraw_runs = std::stoi(argv[1]);
        if (argc > 2) o.flows = std::stoi(argv[2]);
        if (argc > 3 || o.withdraw_runs < 1 || o.flows < 1) throw std::invalid_argument("range");
    } catch (const std::exception&) {
        std::cerr << "usage: ecmp [RUNS >= 1] [FLOWS >= 1]\n";
        return 2;
    }
    if (std::getenv("ECMP_VERBOSE")) o.out = &std::cerr;
    const auto report = lvsd::ecmp::run(o);

    std::cout << fmt::format("ecmp: 3 balancers (lvsd + BIRD 2, BGP with BFD {} ms x {} = {} ms detection), "
                             "{} flows, 1 request/flow every {} ms\n\n",
                             o.bfd_interval.count(), o.bfd_multiplier, o.bfd_interval.count() * o.bfd_multiplier,
                             o.flows, o.period.count());
    auto w = report.withdraw_s;
    std::sort(w.begin(), w.end());
    if (!w.empty())
        std::cout << fmt::format("{:<70} median {:.3f} s, max {:.3f} s, min {:.3f} s over {} runs\n",
                                 "last failed health check (quorum lost) -> router's FIB change", w[w.size() / 2],
                                 w.back(), w.front(), w.size());
    for (const auto& [what, value] : report.measured) std::cout << fmt::format("{:<70} {}\n", what, value);
    std::cout << lvsd::ecmp::summary(report);
    return report.passed() ? 0 : 1;
}
