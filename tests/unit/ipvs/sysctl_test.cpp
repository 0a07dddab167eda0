// net.ipv4.vs.sloppy_tcp / sloppy_sctp for announced services (issue 14): the pure plan,
// and the reader/writer against files in a scratch directory standing in for
// /proc/sys/net/ipv4/vs (the real files are written in the kernel tier).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "ipvs/sysctl.hpp"

using namespace lvsd::ipvs;

TEST(PlanSloppy, SetsBothWhileAnAnnouncedServiceExists) {
    const auto plan = plan_sloppy(true, {{"sloppy_tcp", 0}, {"sloppy_sctp", 0}});
    const std::vector<SysctlWrite> expected = {{"sloppy_tcp", 1, 0}, {"sloppy_sctp", 1, 0}};
    EXPECT_EQ(plan, expected);
}

TEST(PlanSloppy, NothingWhenAlreadySet) {
    EXPECT_TRUE(plan_sloppy(true, {{"sloppy_tcp", 1}, {"sloppy_sctp", 1}}).empty());
}

TEST(PlanSloppy, RepairsOnlyWhatChanged) {
    const auto plan = plan_sloppy(true, {{"sloppy_tcp", 0}, {"sloppy_sctp", 1}});
    EXPECT_EQ(plan, (std::vector<SysctlWrite>{{"sloppy_tcp", 1, 0}}));
}

TEST(PlanSloppy, NeverWritesWithoutAnnouncedServicesNorSetsBackToZero) {
    EXPECT_TRUE(plan_sloppy(false, {{"sloppy_tcp", 0}, {"sloppy_sctp", 0}}).empty());
    EXPECT_TRUE(plan_sloppy(false, {{"sloppy_tcp", 1}, {"sloppy_sctp", 1}}).empty());
}

TEST(PlanSloppy, UnreadableIsNotWritten) {
    // ip_vs not loaded yet: /proc/sys/net/ipv4/vs does not exist.
    EXPECT_TRUE(plan_sloppy(true, {{"sloppy_tcp", std::nullopt}, {"sloppy_sctp", std::nullopt}}).empty());
}

TEST(IpvsSysctls, ReadsWritesAndReportsWhatItChanged) {
    const auto dir = std::filesystem::temp_directory_path() / ("lvsd-sysctl-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "sloppy_tcp") << "0\n";
    std::ofstream(dir / "sloppy_sctp") << "1\n";
    IpvsSysctls s(dir.string());
    auto w = s.keep_sloppy(true);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(*w, (std::vector<SysctlWrite>{{"sloppy_tcp", 1, 0}}));
    EXPECT_EQ(s.read("sloppy_tcp").value, 1);
    w = s.keep_sloppy(true);
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE(w->empty());

    IpvsSysctls missing((dir / "absent").string());
    EXPECT_FALSE(missing.read("sloppy_tcp").value);
    auto none = missing.keep_sloppy(true);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
    auto bad = missing.write("sloppy_tcp", 1);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find((dir / "absent" / "sloppy_tcp").string()), std::string::npos)
        << bad.error().message;
    std::filesystem::remove_all(dir);
}
