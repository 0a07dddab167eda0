// Kernel tier (in the VM): the whole DSR pair under traffic, end to end -- the scenario of
// tests/pair/scenario.hpp (shared with scripts/demo). Every check of the scenario is an
// expectation here; the narration and the summary go to stdout for ctest's
// --output-on-failure.
#include <iostream>

#include <gtest/gtest.h>

#include "pair/scenario.hpp"

TEST(pair, DsrPairFailoverAndReloadUnderTraffic) {
    const lvsd::pair::Options o{std::string(LVSD_BINARY_DIR) + "/lvsd", std::string(LVSD_BINARY_DIR) + "/lvsctl",
                                LVSD_SOURCE_DIR, &std::cout};
    const auto report = lvsd::pair::run(o);
    std::cout << lvsd::pair::summary(report) << std::flush;
    EXPECT_TRUE(report.completed) << "stopped early: " << report.aborted;
    ASSERT_FALSE(report.checks.empty());
    for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << "[" << c.step << "] " << c.what << ": " << c.detail;
    EXPECT_FALSE(report.requests.empty());
}
