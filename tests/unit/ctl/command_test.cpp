// lvsctl's command line: every usage error is an error value (lvsctl exits kUsageError).
#include <gtest/gtest.h>

#include "ctl/command.hpp"
#include "ctl/control.hpp"

using namespace lvsd::ctl;
using Args = std::vector<std::string>;

namespace {

std::string error_of(const Args& a) {
    auto r = parse_command(a);
    EXPECT_FALSE(r.ok()) << "accepted: " << ::testing::PrintToString(a);
    return r ? "" : r.error().message;
}

}  // namespace

TEST(LvsctlCommand, ParsesEveryCommand) {
    auto s = parse_command({"status"});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, Command::Kind::Status);
    EXPECT_EQ(s->socket_path, kDefaultSocketPath);
    auto j = parse_command({"-s", "/tmp/x.sock", "status", "--json"});
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->kind, Command::Kind::StatusJson);
    EXPECT_EQ(j->socket_path, "/tmp/x.sock");
    EXPECT_EQ(parse_command({"reload", "--socket", "/a"})->kind, Command::Kind::Reload);
    auto eq = parse_command({"--socket=/run/x.sock", "status"});
    ASSERT_TRUE(eq.ok());
    EXPECT_EQ(eq->socket_path, "/run/x.sock");
    EXPECT_EQ(error_of({"--socket=", "status"}), "--socket= needs a socket path");
    EXPECT_EQ(parse_command({"--version"})->kind, Command::Kind::Version);
    EXPECT_EQ(parse_command({"status", "-v"})->kind, Command::Kind::Version);
    EXPECT_EQ(parse_command({"status", "--help"})->kind, Command::Kind::Help);
    auto up = parse_command({"realserver", "up", "--vip", "192.0.2.10", "--vip", "2001:db8::10"});
    ASSERT_TRUE(up.ok()) << up.error().message;
    EXPECT_EQ(up->kind, Command::Kind::RealserverUp);
    EXPECT_EQ(up->vips.size(), 2u);
    EXPECT_EQ(parse_command({"realserver", "down", "--vip", "192.0.2.10"})->kind, Command::Kind::RealserverDown);
}

TEST(LvsctlCommand, UsageErrorsSayWhat) {
    EXPECT_EQ(error_of({}), "no command (see lvsctl --help)");
    EXPECT_EQ(error_of({"stats"}), "unknown command \"stats\" (did you mean \"status\"?) (see lvsctl --help)");
    EXPECT_EQ(error_of({"status", "--yaml"}), "status: unexpected \"--yaml\" (see lvsctl --help)");
    EXPECT_EQ(error_of({"status", "-s"}), "-s needs a socket path");
    EXPECT_EQ(error_of({"realserver", "sideways"}), "usage: lvsctl realserver up|down --vip ADDR [--vip ADDR...]");
    EXPECT_EQ(error_of({"realserver", "up"}), "realserver up: name at least one --vip ADDRESS");
    EXPECT_EQ(error_of({"realserver", "up", "--vip"}), "realserver up: --vip needs an address");
    EXPECT_EQ(error_of({"realserver", "up", "192.0.2.1"}), "realserver up: expected --vip ADDRESS, got \"192.0.2.1\"");
    EXPECT_EQ(error_of({"realserver", "down", "--vip", "nope"}), "realserver down: \"nope\" is not an IP address");
    EXPECT_EQ(error_of({"realserver", "up", "--vip", "192.0.2.1", "--vip", "192.0.2.1"}),
              "realserver up: --vip 192.0.2.1 is given twice");
}

TEST(LvsctlCommand, DaemonVerbsSendTheDaemonsOwnRequestLine) {
    auto d = parse_command({"drain", "192.0.2.10:80/tcp", "198.51.100.5:8080", "--wait", "--timeout", "30"});
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->kind, Command::Kind::Request);
    EXPECT_EQ(d->request, "drain 192.0.2.10:80/tcp 198.51.100.5:8080 --timeout 30");
    EXPECT_TRUE(d->wait);
    auto b = parse_command({"-s", "/tmp/x.sock", "undrain", "--balancer"});
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->request, "undrain --balancer");
    EXPECT_FALSE(b->wait);
    EXPECT_EQ(b->socket_path, "/tmp/x.sock");
    EXPECT_EQ(parse_command({"weight", "--clear", "198.51.100.5:8080"})->request, "weight --clear 198.51.100.5:8080");
    EXPECT_EQ(parse_command({"failover", "--clear", "VI_1"})->request, "failover --clear VI_1");
    EXPECT_EQ(error_of({"disable", "198.51.100.5:8080", "--wait"}), "disable: --wait applies to drain only");
    EXPECT_EQ(error_of({"weight", "198.51.100.5:8080", "x"}),
              "weight: \"x\" is not a weight from 0 to 65535 (see lvsctl --help)");
    EXPECT_EQ(error_of({"drain"}),
              "drain: name a real server as ADDRESS:PORT (lvsctl status shows them) (see lvsctl --help)");
}

TEST(LvsctlCommand, RefusesWhatTheDaemonRefusesAsAVip) {
    EXPECT_EQ(error_of({"realserver", "up", "--vip", "127.0.0.5"}),
              "realserver up: --vip 127.0.0.5: 127.0.0.5 is a loopback address (lo answers for it already); a VIP "
              "must be a unicast address");
    EXPECT_NE(error_of({"realserver", "up", "--vip", "::1"}).find("loopback"), std::string::npos);
    EXPECT_NE(error_of({"realserver", "up", "--vip", "0.0.0.0"}).find("unspecified"), std::string::npos);
    EXPECT_NE(error_of({"realserver", "down", "--vip", "::"}).find("unspecified"), std::string::npos);
    EXPECT_NE(error_of({"realserver", "up", "--vip", "224.0.0.18"}).find("multicast"), std::string::npos);
    EXPECT_NE(error_of({"realserver", "up", "--vip", "ff02::12"}).find("multicast"), std::string::npos);
}

TEST(LvsctlCommand, UsageNamesTheExitStatuses) {
    EXPECT_NE(usage().find("2 a usage error"), std::string::npos) << usage();
}
