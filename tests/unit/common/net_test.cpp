#include "common/net.hpp"

#include <gtest/gtest.h>

using namespace lvsd;

TEST(ParseAddress, AcceptsBothFamiliesAndRejectsJunk) {
    EXPECT_TRUE(parse_address("192.0.2.1")->is_v4());
    EXPECT_TRUE(parse_address("2001:db8::1")->is_v6());
    EXPECT_FALSE(parse_address(""));
    EXPECT_FALSE(parse_address("192.0.2.256"));
    EXPECT_FALSE(parse_address(" 192.0.2.1"));
    EXPECT_FALSE(parse_address("fe80::1%eth0"));
}

TEST(ParsePrefix, DefaultsToHostLengthAndChecksRange) {
    EXPECT_EQ(parse_prefix("192.0.2.10")->length, 32);
    EXPECT_EQ(parse_prefix("2001:db8::10")->length, 128);
    EXPECT_EQ(parse_prefix("192.0.2.10/24")->length, 24);
    EXPECT_EQ(parse_prefix("192.0.2.10", 24)->length, 24);
    EXPECT_FALSE(parse_prefix("192.0.2.10/33"));
    EXPECT_TRUE(parse_prefix("2001:db8::1/64"));
    EXPECT_FALSE(parse_prefix("2001:db8::1/129"));
    EXPECT_FALSE(parse_prefix("192.0.2.10/"));
    EXPECT_FALSE(parse_prefix("192.0.2.10/2x"));
}

TEST(FormatEndpoint, BracketsV6) {
    EXPECT_EQ(format_endpoint(*parse_address("192.0.2.1"), 8080), "192.0.2.1:8080");
    EXPECT_EQ(format_endpoint(*parse_address("2001:db8::1"), 80), "[2001:db8::1]:80");
}
