#include "support/cpu_load.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace lvsd::testing {

unsigned CpuLoad::cpus() {
    const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

CpuLoad::CpuLoad(std::chrono::seconds lifetime, unsigned per_cpu, bool stress_ng) {
    const unsigned n = cpus();
    // coreutils' timeout is the backstop: it kills the loop even if nobody else does.
    const std::string limit = std::to_string(lifetime.count());
    try {
        for (unsigned i = 0; i < per_cpu * n; ++i)
            procs_.push_back(spawn({"timeout", "-s", "KILL", limit, "sh", "-c", "while :; do :; done"}));
        what_ = fmt::format("{} busy loops", per_cpu * n);
        if (stress_ng) {
            procs_.push_back(spawn({"stress-ng", "--switch", std::to_string(n), "--cache", std::to_string(n),
                                    "--timeout", limit + "s", "--quiet"}));
            what_ += fmt::format(", stress-ng --switch {} --cache {}", n, n);
        }
    } catch (...) {
        stop();
        throw;
    }
}

CpuLoad::~CpuLoad() { stop(); }

void CpuLoad::stop() {
    for (auto& p : procs_) p.stop(std::chrono::milliseconds(2000));
    procs_.clear();
}

}  // namespace lvsd::testing
