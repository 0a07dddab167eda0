// Server pools (issue #12): virtual_server_groups and their expansion into one service
// per member, quorum/hysteresis, and the quorum_up/quorum_down and notify_up/notify_down
// commands, each rule with its FILE:LINE message.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "load_helpers.hpp"
#include "config/detail/text.hpp"

using namespace lvsd;
using namespace lvsd::config;
using namespace lvsd::config::test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

detail::GroupEntry entry(std::string_view text) {
    auto r = detail::parse_group_entry(text);
    if (auto* why = std::get_if<std::string>(&r)) ADD_FAILURE() << text << ": " << *why;
    return std::holds_alternative<detail::GroupEntry>(r) ? std::get<detail::GroupEntry>(r) : detail::GroupEntry{};
}

std::string entry_error(std::string_view text) {
    auto r = detail::parse_group_entry(text);
    if (auto* why = std::get_if<std::string>(&r)) return *why;
    ADD_FAILURE() << text << " was accepted";
    return {};
}

std::vector<std::string> names(const Config& c) {
    std::vector<std::string> out;
    for (auto& vs : c.virtual_servers) out.push_back(service_name(vs));
    return out;
}

const char* kWebGroup = R"(virtual_server_groups = ( { name = "WEB"; entries = [
    "192.0.2.10 80",
    "192.0.2.20-22 8080",
    "fwmark 7"
  ]; } );
)";

}  // namespace

TEST(GroupEntry, OneAddressAndPort) {
    auto e = entry("192.0.2.10 80");
    EXPECT_EQ(e.fwmark, 0u);
    EXPECT_EQ(e.port, 80);
    ASSERT_EQ(e.addresses.size(), 1u);
    EXPECT_EQ(e.addresses[0].to_string(), "192.0.2.10");
}

TEST(GroupEntry, Ipv4RangeOverTheLastOctetIncludesBothEnds) {
    auto e = entry("192.0.2.10-20   443");
    ASSERT_EQ(e.addresses.size(), 11u);
    EXPECT_EQ(e.addresses.front().to_string(), "192.0.2.10");
    EXPECT_EQ(e.addresses.back().to_string(), "192.0.2.20");
    EXPECT_EQ(e.port, 443);
    EXPECT_EQ(entry("192.0.2.7-7 80").addresses.size(), 1u);
}

TEST(GroupEntry, Ipv6RangeIsHexadecimal) {
    auto e = entry("2001:db8::a-f 80");
    ASSERT_EQ(e.addresses.size(), 6u);
    EXPECT_EQ(e.addresses.front().to_string(), "2001:db8::a");
    EXPECT_EQ(e.addresses.back().to_string(), "2001:db8::f");
}

TEST(GroupEntry, FwmarkWithAndWithoutFamily) {
    auto e = entry("fwmark 7");
    EXPECT_EQ(e.fwmark, 7u);
    EXPECT_FALSE(e.family.has_value());
    EXPECT_TRUE(e.addresses.empty());
    EXPECT_EQ(entry("fwmark 9 inet6").family, Family::V6);
}

TEST(GroupEntry, BadEntriesSayWhy) {
    EXPECT_THAT(entry_error(""), HasSubstr("empty entry"));
    EXPECT_THAT(entry_error("192.0.2.10"), HasSubstr("is not \"ADDRESS PORT\""));
    EXPECT_THAT(entry_error("192.0.2.10 http"), HasSubstr("port 'http' is not a number in 0..65535"));
    EXPECT_THAT(entry_error("192.0.2.10 65536"), HasSubstr("port '65536'"));
    EXPECT_THAT(entry_error("192.0.2.300 80"), HasSubstr("'192.0.2.300' is not an IPv4 or IPv6 address"));
    EXPECT_THAT(entry_error("224.0.0.1 80"), HasSubstr("must be a unicast address"));
    EXPECT_THAT(entry_error("192.0.2.20-10 80"), HasSubstr("ends below its start"));
    EXPECT_THAT(entry_error("192.0.2.1-256 80"), HasSubstr("range end '256'"));
    EXPECT_THAT(entry_error("2001:db8::1-1ff 80"), HasSubstr("has 511 addresses, more than 256"));
    EXPECT_THAT(entry_error("fwmark 0"), HasSubstr("fwmark '0' is not a number"));
    EXPECT_THAT(entry_error("fwmark 7 ipx"), HasSubstr("'ipx' is not inet or inet6"));
}

TEST(VirtualServerGroups, EveryMemberBecomesAServiceWithTheSameRealServers) {
    auto c = valid(std::string(kWebGroup) + R"(virtual_servers = ( { group = "WEB"; lb_algo = "wrr"; lb_kind = "NAT";
        real_servers = ( { address = "198.51.100.1"; port = 8080; weight = 3; },
                         { address = "198.51.100.2"; port = 8080; } ); } );)");
    ASSERT_TRUE(c);
    EXPECT_THAT(names(*c), ElementsAre("TCP 192.0.2.10:80", "TCP 192.0.2.20:8080", "TCP 192.0.2.21:8080",
                                       "TCP 192.0.2.22:8080", "FWM 7"));
    for (auto& vs : c->virtual_servers) {
        EXPECT_EQ(vs.group, "WEB");
        EXPECT_EQ(pool_name(vs), "group \"WEB\"");
        EXPECT_EQ(vs.lb_algo, "wrr");
        ASSERT_EQ(vs.real_servers.size(), 2u);
        EXPECT_EQ(vs.real_servers[0].weight, 3u);
        EXPECT_EQ(vs.real_servers[1].address.to_string(), "198.51.100.2");
    }
    EXPECT_EQ(c->virtual_servers.back().family, Family::V4);
    ASSERT_EQ(c->virtual_server_groups.size(), 1u);
    EXPECT_EQ(c->virtual_server_groups[0].members.size(), 5u);
    EXPECT_EQ(c->virtual_server_groups[0].members[1].where.line, 3);
}

TEST(VirtualServerGroups, ProtocolAppliesToAddressMembersAndAPlainServiceIsItsOwnPool) {
    auto c = valid(R"(virtual_server_groups = ( { name = "DNS"; entries = [ "192.0.2.53-54 53" ]; } );
virtual_servers = ( { group = "DNS"; protocol = "UDP"; real_servers = ( { address = "192.0.2.99"; } ); },
                    { address = "192.0.2.53"; port = 53; real_servers = ( { address = "192.0.2.98"; } ); } );)");
    ASSERT_TRUE(c);
    EXPECT_THAT(names(*c), ElementsAre("UDP 192.0.2.53:53", "UDP 192.0.2.54:53", "TCP 192.0.2.53:53"));
    // The group's common port is the real servers' default.
    EXPECT_EQ(c->virtual_servers[0].real_servers[0].port, 53);
    EXPECT_EQ(pool_name(c->virtual_servers[2]), "TCP 192.0.2.53:53");
}

TEST(VirtualServerGroups, FwmarkOnlyGroupTakesTheRealServersFamily) {
    auto c = valid(R"(virtual_server_groups = ( { name = "M"; entries = [ "fwmark 1", "fwmark 2" ]; } );
virtual_servers = ( { group = "M"; real_servers = ( { address = "2001:db8::5"; } ); } );)");
    ASSERT_TRUE(c);
    EXPECT_THAT(names(*c), ElementsAre("FWM 1 IPv6", "FWM 2 IPv6"));
}

TEST(VirtualServerGroups, ProblemsAtTheirLines) {
    EXPECT_THAT(problems(R"(virtual_server_groups = ( { name = "WEB"; entries = [ "192.0.2.10 80" ]; } );
virtual_servers = ( {
  group = "WBE";
} );)"),
                ElementsAre("t.conf:3: virtual server group \"WBE\": group \"WBE\" is not a virtual_server_group; did you mean 'WEB'?"));
    EXPECT_THAT(problems(R"(virtual_server_groups = ( { name = "WEB"; entries = [
  "192.0.2.10 80",
  "192.0.2.11 http"
]; } );)"),
                ElementsAre("t.conf:3: virtual server group \"WEB\": entry \"192.0.2.11 http\": port 'http' is not a number in 0..65535"));
    EXPECT_THAT(problems(R"(virtual_server_groups = ( { name = "WEB"; entries = [
  "192.0.2.10-12 80",
  "192.0.2.12 80"
]; } );)"),
                ElementsAre("t.conf:3: virtual server group \"WEB\": entry \"192.0.2.12 80\": 192.0.2.12:80 is already in the group (line 2)"));
    EXPECT_THAT(problems(R"(virtual_server_groups = ( { name = "WEB"; entries = [
  "192.0.2.10 80",
  "2001:db8::1 80"
]; } );)"),
                ElementsAre("t.conf:3: virtual server group \"WEB\": entry \"2001:db8::1 80\" is IPv6 but the group's entries are IPv4 (line 2); one family per group"));
    one_problem(std::string(kWebGroup) + "virtual_servers = ( { group = \"WEB\"; address = \"192.0.2.1\"; } );",
                "address does not apply to a virtual server with a group");
    one_problem("virtual_server_groups = ( { name = \"E\"; entries = [ ]; } );", "entries is empty");
    one_problem("virtual_server_groups = ( { name = \"E\"; } );", "missing required key 'entries'");
    one_problem("virtual_server_groups = ( { name = \"E\"; entries = [ 80 ]; } );", "an entry must be a string");
    one_problem("virtual_server_group = { };", "virtual_server_groups = ( { name = \"G\"");
}

TEST(VirtualServerGroups, AMemberAlsoWrittenAsAServiceIsDefinedTwice) {
    auto p = problems(std::string(kWebGroup) + R"(virtual_servers = ( { group = "WEB"; real_servers = ( { address = "192.0.2.99"; port = 80; } ); },
  { address = "192.0.2.21"; port = 8080; } );)");
    ASSERT_EQ(p.size(), 1u) << joined(p);
    EXPECT_THAT(p[0], HasSubstr("virtual server TCP 192.0.2.21:8080 is defined twice"));
}

TEST(VirtualServerGroups, PortZeroMemberNeedsPersistence) {
    one_problem(R"(virtual_server_groups = ( { name = "ALL"; entries = [ "192.0.2.10 0" ]; } );
virtual_servers = ( { group = "ALL"; real_servers = ( { address = "192.0.2.99"; } ); } );)",
                "t.conf:1: virtual server group \"ALL\": 192.0.2.10:0 (port 0, all ports) needs persistence_timeout");
    valid(R"(virtual_server_groups = ( { name = "ALL"; entries = [ "192.0.2.10 0" ]; } );
virtual_servers = ( { group = "ALL"; persistence_timeout = 300; real_servers = ( { address = "192.0.2.99"; } ); } );)");
}

TEST(VirtualServerGroups, PlanNamesTheGroup) {
    auto c = valid(std::string(kWebGroup) + R"(virtual_servers = ( { group = "WEB"; quorum = 4; hysteresis = 1;
        real_servers = ( { address = "192.0.2.99"; port = 80; } ); } );)");
    ASSERT_TRUE(c);
    auto plan = format_plan(*c);
    EXPECT_THAT(plan, HasSubstr("IPVS: 5 virtual services"));
    EXPECT_THAT(plan, HasSubstr("TCP  192.0.2.21:8080 wlc  (group WEB)"));
    EXPECT_THAT(plan, HasSubstr("FWM  7 wlc  (group WEB)"));
    EXPECT_THAT(plan, HasSubstr("quorum 4: down when the up real servers' weights sum below 3, up again at 5 (one quorum for group WEB)"));
}

TEST(Quorum, DefaultsAndRanges) {
    auto c = valid("virtual_servers = ( { address = \"192.0.2.10\"; port = 80; } );");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->virtual_servers[0].quorum, 1u);
    EXPECT_EQ(c->virtual_servers[0].hysteresis, 0u);
    EXPECT_FALSE(c->virtual_servers[0].quorum_up);
    one_problem("virtual_servers = ( { address = \"192.0.2.10\"; port = 80;\n quorum = 0; } );",
                "t.conf:2: virtual server TCP 192.0.2.10:80: quorum = 0 is out of range 1..4294967295");
    one_problem("virtual_servers = ( { address = \"192.0.2.10\"; port = 80; hysteresis = -1; } );",
                "hysteresis = -1 is out of range 0..4294967295");
    one_problem("virtual_servers = ( { address = \"192.0.2.10\"; port = 80; quorum = \"2\"; } );",
                "quorum must be an integer");
}

class PoolCommands : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / ("lvsd-config-pools-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        script_ = (dir_ / "pool.sh").string();
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
        ::chmod(script_.c_str(), 0755);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string service(std::string_view vs_extra, std::string_view rs_extra) const {
        return fmt::format("virtual_servers = ( {{ address = \"192.0.2.10\"; port = 80; {}\n"
                           "real_servers = ( {{ address = \"192.0.2.21\"; {} }} ); }} );",
                           vs_extra, rs_extra);
    }
    std::filesystem::path dir_;
    std::string script_;
};

TEST_F(PoolCommands, AreReadAsCommands) {
    auto c = valid(service(fmt::format("quorum_up = \"{} up 'the pool'\"; quorum_down = \"{} down\";", script_, script_),
                           fmt::format("notify_up = \"{} rs up\"; notify_down = \"{}\";", script_, script_)));
    ASSERT_TRUE(c);
    const auto& vs = c->virtual_servers[0];
    ASSERT_TRUE(vs.quorum_up && vs.quorum_down);
    EXPECT_THAT(vs.quorum_up->argv, ElementsAre(script_, "up", "the pool"));
    EXPECT_THAT(vs.quorum_down->argv, ElementsAre(script_, "down"));
    const auto& rs = vs.real_servers[0];
    ASSERT_TRUE(rs.notify_up && rs.notify_down);
    EXPECT_THAT(rs.notify_up->argv, ElementsAre(script_, "rs", "up"));
    EXPECT_THAT(rs.notify_down->argv, ElementsAre(script_));
    auto plan = format_plan(*c);
    EXPECT_THAT(plan, HasSubstr(fmt::format("quorum_up: {} up 'the pool'", script_)));
    EXPECT_THAT(plan, HasSubstr(fmt::format("notify_up: {} rs up", script_)));
}

TEST_F(PoolCommands, SameSecurityRulesAsNotifyScripts) {
    one_problem(service("", "notify_up = \"pool.sh\";"), "notify_up: 'pool.sh' is not an absolute path");
    ASSERT_EQ(::chmod(script_.c_str(), 0775), 0);
    one_problem(service("", fmt::format("notify_down = \"{}\";", script_)),
                fmt::format("notify_down: '{}' is writable by group or others (mode 0775) but would run as root", script_));
    one_problem(service(fmt::format("quorum_down = \"{}\";", script_), ""),
                fmt::format("t.conf:1: virtual server TCP 192.0.2.10:80: quorum_down: '{}' is writable by group", script_));
    ASSERT_EQ(::chmod(script_.c_str(), 0644), 0);
    one_problem(service(fmt::format("quorum_up = \"{}\";", script_), ""), "is not executable (mode 0644)");
}
