// pair_demo: runs the DSR pair scenario (scenario.hpp) with narration on stdout and ends
// with the summary tables. Needs root and IPVS, i.e. the VM:
//   tests/kernel/vm-run -- build/tests/pair/pair_demo
// Exit status: 0 when every check passed, 1 otherwise, 2 on bad arguments.
#include <iostream>
#include <string>

#include "pair/scenario.hpp"

int main(int argc, char** argv) {
    lvsd::pair::Options o{LVSD_BINARY_DIR "/lvsd", LVSD_BINARY_DIR "/lvsctl", LVSD_SOURCE_DIR, &std::cout};
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--lvsd" || a == "--lvsctl" || a == "--source-dir") && i + 1 < argc) {
            (a == "--lvsd" ? o.lvsd : a == "--lvsctl" ? o.lvsctl : o.source_dir) = argv[++i];
        } else {
            std::cerr << "usage: pair_demo [--lvsd PATH] [--lvsctl PATH] [--source-dir DIR]\n"
                      << "pair_demo: unexpected argument '" << a << "'\n";
            return 2;
        }
    }
    const auto report = lvsd::pair::run(o);
    std::cout << lvsd::pair::summary(report) << std::flush;
    return report.passed() ? 0 : 1;
}
