// The ownership file round-trips every kind of service key and names bad lines.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "daemon/ownership_file.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

TEST(OwnershipFile, LivesNextToTheControlSocket) {
    EXPECT_EQ(ownership_file_for("/run/lvsd/lvsd.sock"), "/run/lvsd/lvsd.owned");
    EXPECT_EQ(ownership_file_for("/tmp/x/ctl"), "/tmp/x/ctl.owned");
}

TEST(OwnershipFile, RoundTripsAndReportsBadLines) {
    const std::string path = "/tmp/lvsd-ownership-test-" + std::to_string(::getpid());
    std::set<ipvs::ServiceKey> owned{
        ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address("192.0.2.10"), 8080),
        ipvs::ServiceKey::endpoint(ipvs::Protocol::Udp, *parse_address("2001:db8::10"), 53),
        ipvs::ServiceKey::mark(7, Family::V6)};
    ASSERT_TRUE(write_ownership(path, owned));
    auto back = read_ownership(path);
    EXPECT_EQ(back.owned, owned);
    EXPECT_TRUE(back.problems.empty());

    std::ofstream(path, std::ios::app) << "garbage here\n";
    back = read_ownership(path);
    EXPECT_EQ(back.owned, owned);
    ASSERT_EQ(back.problems.size(), 1u);
    EXPECT_EQ(back.problems[0], path + ":5: not an IPVS service: \"garbage here\"");
    std::remove(path.c_str());

    EXPECT_TRUE(read_ownership(path).owned.empty());  // missing: nothing owned yet
    EXPECT_FALSE(write_ownership("/nonexistent-dir/x.owned", owned));
}
