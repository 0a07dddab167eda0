// The one Client behaviour the host can check: this host's kernel has no IPVS, and
// opening must say so in one clear line. (It only asks the genetlink controller for
// the family; everything else about the Client runs in the kernel tier.)
#include <filesystem>

#include <gtest/gtest.h>

#include "ipvs/client.hpp"

using namespace lvsd::ipvs;

TEST(ClientOpen, WithoutIpvsTheErrorSaysModprobe) {
    if (std::filesystem::exists("/proc/net/ip_vs"))
        GTEST_SKIP() << "this kernel has IPVS; tests/kernel/ipvs covers open()";
    auto c = Client::open();
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message, "IPVS is not available in this kernel: modprobe ip_vs");
    EXPECT_EQ(c.error().code, ENOENT);
}
