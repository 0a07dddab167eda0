#include "daemon/options.hpp"

#include <gtest/gtest.h>

using namespace lvsd::daemon;

TEST(ParseOptions, DefaultsToTheInstalledConfig) {
    auto o = parse_options({});
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->config_path, "/etc/lvsd/lvsd.conf");
    EXPECT_FALSE(o->test_only);
    EXPECT_FALSE(o->log_level);
}

TEST(ParseOptions, TestModeWithFile) {
    auto o = parse_options({"-t", "-f", "/tmp/x.conf"});
    ASSERT_TRUE(o.ok());
    EXPECT_TRUE(o->test_only);
    EXPECT_EQ(o->config_path, "/tmp/x.conf");
    auto long_form = parse_options({"--test", "--config=/tmp/y.conf"});
    ASSERT_TRUE(long_form.ok());
    EXPECT_EQ(long_form->config_path, "/tmp/y.conf");
}

TEST(ParseOptions, LogLevels) {
    EXPECT_EQ(*parse_options({"--log-level", "debug"})->log_level, spdlog::level::debug);
    EXPECT_EQ(*parse_options({"--log-level=warning"})->log_level, spdlog::level::warn);
    auto bad = parse_options({"--log-level", "loud"});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("unknown log level \"loud\""), std::string::npos);
}

TEST(ParseOptions, ErrorsNameTheArgument) {
    auto missing = parse_options({"-f"});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message, "option -f needs a file name");
    auto unknown = parse_options({"--frobnicate"});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().message, "unknown argument \"--frobnicate\" (see lvsd --help)");
}
