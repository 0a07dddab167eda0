#include "daemon/desired.hpp"

#include <set>

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& text) {
    auto r = config::load_string(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

const std::string kTwoProxies = R"(
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "wlc"; lb_kind = "DR";
    real_servers = (
        { address = "192.0.2.21"; weight = 3; TCP_CHECK = { connect_timeout = 1; }; },
        { address = "192.0.2.22"; weight = 5; TCP_CHECK = { connect_timeout = 1; }; }
    );
} );
)";

// Health by real-server address; absent = up.
HealthLookup down(std::set<std::string> addresses) {
    return [addresses](const config::VirtualServer&, const config::RealServer& rs) {
        return !addresses.contains(rs.address.to_string());
    };
}

const ipvs::VirtualService& only_service(const ipvs::Table& t) {
    EXPECT_EQ(t.size(), 1u);
    return t.begin()->second;
}

ipvs::DestinationKey dest(const char* a, uint16_t port) {
    return {*parse_address(a), port};
}

}  // namespace

TEST(DesiredTable, AllUpGivesEveryRealServerItsWeight) {
    auto c = parse(kTwoProxies);
    auto t = desired_table(*c, down({}));
    const auto& vs = only_service(t);
    EXPECT_EQ(vs.service.key,
              ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address("192.0.2.10"), 8080));
    EXPECT_EQ(vs.service.scheduler, "wlc");
    ASSERT_EQ(vs.destinations.size(), 2u);
    const auto& d21 = vs.destinations.at(dest("192.0.2.21", 8080));
    EXPECT_EQ(d21.weight, 3u);
    EXPECT_EQ(d21.forwarding, ipvs::Forwarding::DirectRoute);
    EXPECT_EQ(vs.destinations.at(dest("192.0.2.22", 8080)).weight, 5u);
}

TEST(DesiredTable, DownRealServerLeavesOrIsInhibited) {
    auto c = parse(kTwoProxies);
    auto t = desired_table(*c, down({"192.0.2.21"}));
    const auto& vs = only_service(t);
    EXPECT_EQ(vs.destinations.size(), 1u);
    EXPECT_TRUE(vs.destinations.contains(dest("192.0.2.22", 8080)));

    std::string inhibited = kTwoProxies;
    inhibited.replace(inhibited.find("lb_kind = \"DR\";"), 15,
                      "lb_kind = \"DR\"; inhibit_on_failure = true;");
    auto ci = parse(inhibited);
    auto ti = desired_table(*ci, down({"192.0.2.21"}));
    EXPECT_EQ(only_service(ti).destinations.at(dest("192.0.2.21", 8080)).weight, 0u);
    EXPECT_EQ(only_service(ti).destinations.at(dest("192.0.2.22", 8080)).weight, 5u);
}

TEST(DesiredTable, SorryServerStandsInOnlyWhileAllAreDown) {
    std::string text = kTwoProxies;
    text.replace(text.find("lb_kind = \"DR\";"), 15,
                 "lb_kind = \"DR\"; sorry_server = { address = \"192.0.2.99\"; };");
    auto c = parse(text);
    auto all_down = desired_table(*c, down({"192.0.2.21", "192.0.2.22"}));
    const auto& vs = only_service(all_down);
    ASSERT_EQ(vs.destinations.size(), 1u);
    EXPECT_EQ(vs.destinations.begin()->first, dest("192.0.2.99", 8080));
    EXPECT_EQ(vs.destinations.begin()->second.weight, 1u);

    auto one_back = desired_table(*c, down({"192.0.2.21"}));
    EXPECT_FALSE(only_service(one_back).destinations.contains(dest("192.0.2.99", 8080)));
    EXPECT_EQ(only_service(one_back).destinations.size(), 1u);
}

TEST(DesiredTable, UncheckedRealServersAreAlwaysUp) {
    auto c = parse(R"(virtual_servers = ( { address = "192.0.2.10"; port = 53; protocol = "UDP";
        lb_algo = "rr"; lb_kind = "NAT"; ops = true;
        real_servers = ( { address = "198.51.100.1"; port = 5353; } ); } );)");
    bool asked = false;
    auto t = desired_table(*c, [&](const auto&, const auto&) {
        asked = true;
        return false;
    });
    EXPECT_FALSE(asked);
    const auto& vs = only_service(t);
    EXPECT_EQ(vs.service.key.protocol, ipvs::Protocol::Udp);
    EXPECT_EQ(vs.service.flags & ipvs::flag::kOnePacket, ipvs::flag::kOnePacket);
    EXPECT_EQ(vs.destinations.at(dest("198.51.100.1", 5353)).forwarding, ipvs::Forwarding::Nat);
}

TEST(DesiredTable, FwmarkIpv6PersistenceAndSchedulerFlags) {
    auto c = parse(R"(virtual_servers = (
        { fwmark = 7; ip_family = "inet6"; lb_algo = "sh"; sh-port = true; sh-fallback = true;
          persistence_timeout = 300; persistence_granularity = 64;
          real_servers = ( { address = "2001:db8::21"; port = 0; } ); },
        { address = "2001:db8::10"; port = 443; persistence_timeout = 60;
          real_servers = ( { address = "2001:db8::22"; } ); } );)");
    auto t = desired_table(*c, down({}));
    ASSERT_EQ(t.size(), 2u);
    const auto& fw = t.at(ipvs::ServiceKey::mark(7, Family::V6));
    EXPECT_EQ(fw.service.scheduler, "sh");
    EXPECT_EQ(fw.service.flags, ipvs::flag::kShPort | ipvs::flag::kShFallback);
    EXPECT_EQ(fw.service.persistence_timeout, 300u);
    EXPECT_EQ(fw.service.persistence_prefix, std::optional<uint8_t>(64));
    const auto& v6 = t.at(
        ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address("2001:db8::10"), 443));
    // Host granularity is the kernel's default: left unset so a dump compares equal.
    EXPECT_FALSE(v6.service.persistence_prefix);
    EXPECT_TRUE(v6.destinations.contains(dest("2001:db8::22", 443)));
}

TEST(CombineChecks, UpOnlyWhileEveryCheckIsUpWithTheLowestDynamicWeight) {
    EXPECT_TRUE(combine_checks({}).up);  // no check: always up
    EXPECT_TRUE(combine_checks({{true, {}}}).up);
    EXPECT_FALSE(combine_checks({{false, {}}}).up);
    EXPECT_FALSE(combine_checks({{true, {}}, {false, {}}, {true, {}}}).up);
    EXPECT_TRUE(combine_checks({{true, {}}, {true, {}}}).up);
    EXPECT_EQ(combine_checks({{true, {}}, {true, {}}}).weight, std::nullopt);
    EXPECT_EQ(combine_checks({{true, 7u}, {true, {}}}).weight, 7u);
    EXPECT_EQ(combine_checks({{true, 7u}, {true, 3u}}).weight, 3u);
}

TEST(DesiredTable, ADynamicWeightReplacesTheConfiguredOneWhileUp) {
    auto c = parse(kTwoProxies);
    auto weight = [](const config::VirtualServer&, const config::RealServer& rs) -> std::optional<uint32_t> {
        if (rs.address.to_string() == "192.0.2.21") return 42u;
        return std::nullopt;
    };
    auto t = desired_table(*c, down({}), {}, weight);
    EXPECT_EQ(only_service(t).destinations.at(dest("192.0.2.21", 8080)).weight, 42u);
    EXPECT_EQ(only_service(t).destinations.at(dest("192.0.2.22", 8080)).weight, 5u);  // configured
    // Down: out of the table, whatever the weight.
    auto d = desired_table(*c, down({"192.0.2.21"}), {}, weight);
    EXPECT_FALSE(only_service(d).destinations.contains(dest("192.0.2.21", 8080)));
}
