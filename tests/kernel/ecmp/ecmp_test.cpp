// Kernel tier (in the VM): three balancers behind ECMP, each announcing the VIP through
// BIRD, under hundreds of long-lived flows -- the scenario of tests/ecmp/scenario.hpp
// (shared with bench/ecmp). Every check of the scenario is an expectation here; the
// narration and the summary go to stdout for ctest's --output-on-failure.
#include <iostream>

#include <gtest/gtest.h>

#include "ecmp/scenario.hpp"

TEST(ecmp, ThreeBalancersBehindEcmpKeepEveryFlow) {
    lvsd::ecmp::Options o;
    o.lvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
    o.lvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
    o.source_dir = LVSD_SOURCE_DIR;
    o.out = &std::cout;
    const auto report = lvsd::ecmp::run(o);
    std::cout << lvsd::ecmp::summary(report) << std::flush;
    EXPECT_TRUE(report.completed) << "stopped early: " << report.aborted;
    ASSERT_FALSE(report.checks.empty());
    for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << "[" << c.step << "] " << c.what << ": " << c.detail;
}
