// Server pools in the desired table: keepalived's quorum with hysteresis as a pure
// function, the sorry server replacing the real servers while the quorum is down, and a
// virtual_server_group's services (every member with the same real servers; a reload
// that adds a member adds exactly that service).
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "daemon/desired.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& text) {
    auto r = config::load_string(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

HealthLookup down(std::set<std::string> addresses) {
    return [addresses](const config::VirtualServer&, const config::RealServer& rs) {
        return !addresses.contains(rs.address.to_string());
    };
}

ipvs::ServiceKey tcp(const char* a, uint16_t port) {
    return ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address(a), port);
}

ipvs::DestinationKey dest(const char* a, uint16_t port) { return {*parse_address(a), port}; }

std::string grouped(const std::string& entries) {
    return R"(virtual_server_groups = ( { name = "WEB"; entries = [ )" + entries + R"( ]; } );
virtual_servers = ( { group = "WEB"; lb_algo = "wrr"; lb_kind = "DR"; quorum = 4; hysteresis = 1;
    sorry_server = { address = "192.0.2.99"; };
    real_servers = (
        { address = "192.0.2.21"; weight = 3; TCP_CHECK = { connect_timeout = 1; }; },
        { address = "192.0.2.22"; weight = 2; TCP_CHECK = { connect_timeout = 1; }; }
    ); } );
)";
}

}  // namespace

TEST(QuorumState, NewServiceIsUpAtQuorumWithoutTheBand) {
    EXPECT_EQ(quorum_state(4, 4, 1, std::nullopt), Quorum::Up);
    EXPECT_EQ(quorum_state(3, 4, 1, std::nullopt), Quorum::Down);
    EXPECT_EQ(quorum_state(0, 1, 0, std::nullopt), Quorum::Down);
    EXPECT_EQ(quorum_state(1, 1, 0, std::nullopt), Quorum::Up);
}

TEST(QuorumState, UpStaysUpDownToQuorumMinusHysteresis) {
    // quorum 10, hysteresis 2: an up service stays up at 8 and 9, goes down at 7.
    EXPECT_EQ(quorum_state(12, 10, 2, Quorum::Up), Quorum::Up);
    EXPECT_EQ(quorum_state(9, 10, 2, Quorum::Up), Quorum::Up);
    EXPECT_EQ(quorum_state(8, 10, 2, Quorum::Up), Quorum::Up);
    EXPECT_EQ(quorum_state(7, 10, 2, Quorum::Up), Quorum::Down);
    EXPECT_EQ(quorum_state(0, 10, 2, Quorum::Up), Quorum::Down);
}

TEST(QuorumState, DownComesBackOnlyAtQuorumPlusHysteresis) {
    EXPECT_EQ(quorum_state(8, 10, 2, Quorum::Down), Quorum::Down);
    EXPECT_EQ(quorum_state(10, 10, 2, Quorum::Down), Quorum::Down);
    EXPECT_EQ(quorum_state(11, 10, 2, Quorum::Down), Quorum::Down);
    EXPECT_EQ(quorum_state(12, 10, 2, Quorum::Down), Quorum::Up);
}

TEST(QuorumState, WithoutHysteresisTheEdgeIsQuorum) {
    EXPECT_EQ(quorum_state(1, 2, 0, Quorum::Up), Quorum::Down);
    EXPECT_EQ(quorum_state(2, 2, 0, Quorum::Up), Quorum::Up);
    EXPECT_EQ(quorum_state(1, 2, 0, Quorum::Down), Quorum::Down);
    EXPECT_EQ(quorum_state(2, 2, 0, Quorum::Down), Quorum::Up);
}

TEST(QuorumState, HysteresisAtOrAboveQuorumMeansDownOnlyWhenNothingIsUp) {
    // keepalived: a service loses its quorum when no weight is left, whatever the band.
    EXPECT_EQ(quorum_state(1, 2, 5, Quorum::Up), Quorum::Up);
    EXPECT_EQ(quorum_state(0, 2, 5, Quorum::Up), Quorum::Down);
    EXPECT_EQ(quorum_state(6, 2, 5, Quorum::Down), Quorum::Down);
    EXPECT_EQ(quorum_state(7, 2, 5, Quorum::Down), Quorum::Up);
    // No overflow at the top of the range.
    EXPECT_EQ(quorum_state(uint64_t{0xffffffff} * 2, 0xffffffff, 0xffffffff, Quorum::Down), Quorum::Up);
}

TEST(WeightUp, SumsTheUpRealServersAndUncheckedOnes) {
    auto c = parse(R"(virtual_servers = ( { address = "192.0.2.10"; port = 80; real_servers = (
        { address = "192.0.2.21"; weight = 3; TCP_CHECK = { }; },
        { address = "192.0.2.22"; weight = 5; TCP_CHECK = { }; },
        { address = "192.0.2.23"; weight = 7; } ); } );)");
    ASSERT_TRUE(c);
    EXPECT_EQ(weight_up(c->virtual_servers[0], down({})), 15u);
    EXPECT_EQ(weight_up(c->virtual_servers[0], down({"192.0.2.22"})), 10u);
    EXPECT_EQ(weight_up(c->virtual_servers[0], down({"192.0.2.21", "192.0.2.22"})), 7u);
}

TEST(DesiredPools, EveryGroupMemberIsAServiceWithTheSameDestinations) {
    auto c = parse(grouped(R"("192.0.2.10 80", "192.0.2.11-12 80", "fwmark 7")"));
    ASSERT_TRUE(c);
    auto t = desired_table(*c, down({}));
    ASSERT_EQ(t.size(), 4u);
    for (auto key : {tcp("192.0.2.10", 80), tcp("192.0.2.11", 80), tcp("192.0.2.12", 80),
                     ipvs::ServiceKey::mark(7, Family::V4)}) {
        ASSERT_TRUE(t.contains(key)) << fmt::format("{}", key);
        const auto& vs = t.at(key);
        EXPECT_EQ(vs.service.scheduler, "wrr");
        ASSERT_EQ(vs.destinations.size(), 2u) << fmt::format("{}", key);
        EXPECT_EQ(vs.destinations.at(dest("192.0.2.21", 80)).weight, 3u);
        EXPECT_EQ(vs.destinations.at(dest("192.0.2.22", 80)).weight, 2u);
    }
}

TEST(DesiredPools, SorryServerReplacesEveryRealServerWhileTheQuorumIsDown) {
    auto c = parse(grouped(R"("192.0.2.10 80", "192.0.2.11 80")"));
    ASSERT_TRUE(c);
    // 192.0.2.21 alone weighs 3 < quorum 4: without a previous state, down.
    auto t = desired_table(*c, down({"192.0.2.22"}));
    for (const auto& [key, vs] : t) {
        ASSERT_EQ(vs.destinations.size(), 1u) << fmt::format("{}", key);
        EXPECT_EQ(vs.destinations.begin()->first, dest("192.0.2.99", 80));
        EXPECT_EQ(vs.destinations.begin()->second.weight, 1u);
    }
    // The caller's hysteresis state decides: still up at 3 (>= 4 - 1), the real servers stay.
    auto kept = desired_table(*c, down({"192.0.2.22"}), [](const auto&) { return true; });
    for (const auto& [key, vs] : kept) {
        ASSERT_EQ(vs.destinations.size(), 1u) << fmt::format("{}", key);
        EXPECT_EQ(vs.destinations.begin()->first, dest("192.0.2.21", 80));
    }
    // Down under inhibit_on_failure: the real servers stay with weight 0 beside the sorry server.
    auto text = grouped(R"("192.0.2.10 80")");
    text.replace(text.find("quorum = 4;"), 11, "quorum = 4; inhibit_on_failure = true;");
    auto ci = parse(text);
    ASSERT_TRUE(ci);
    auto ti = desired_table(*ci, down({}), [](const auto&) { return false; });
    const auto& vs = ti.at(tcp("192.0.2.10", 80));
    ASSERT_EQ(vs.destinations.size(), 3u);
    EXPECT_EQ(vs.destinations.at(dest("192.0.2.21", 80)).weight, 0u);
    EXPECT_EQ(vs.destinations.at(dest("192.0.2.22", 80)).weight, 0u);
    EXPECT_EQ(vs.destinations.at(dest("192.0.2.99", 80)).weight, 1u);
}

TEST(DesiredPools, UpRealServersOfWeightZeroDoNotMakeTheQuorum) {
    auto c = parse(R"(virtual_servers = ( { address = "192.0.2.10"; port = 80;
        sorry_server = { address = "192.0.2.99"; };
        real_servers = ( { address = "192.0.2.21"; weight = 0; } ); } );)");
    ASSERT_TRUE(c);
    auto t = desired_table(*c, down({}));
    EXPECT_TRUE(t.at(tcp("192.0.2.10", 80)).destinations.contains(dest("192.0.2.99", 80)));
    EXPECT_FALSE(t.at(tcp("192.0.2.10", 80)).destinations.contains(dest("192.0.2.21", 80)));
}

TEST(DesiredPools, ReloadAddingAGroupEntryAddsExactlyThatService) {
    auto before = parse(grouped(R"("192.0.2.10 80", "fwmark 7")"));
    auto after = parse(grouped(R"("192.0.2.10 80", "fwmark 7", "192.0.2.13 80")"));
    ASSERT_TRUE(before && after);
    auto kernel = desired_table(*before, down({}));
    std::set<ipvs::ServiceKey> owned;
    for (auto& [key, vs] : kernel) owned.insert(key);
    auto ops = ipvs::diff(desired_table(*after, down({})), kernel, owned);
    // One service add and its two real servers; nothing else touched.
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_EQ(ops[0].kind, ipvs::OpKind::AddService);
    EXPECT_EQ(ops[0].service.key, tcp("192.0.2.13", 80));
    for (std::size_t i = 1; i < ops.size(); ++i) {
        EXPECT_EQ(ops[i].kind, ipvs::OpKind::AddDestination);
        EXPECT_EQ(ops[i].service.key, tcp("192.0.2.13", 80));
    }
    // And taking it out again deletes exactly that (owned) service.
    std::set<ipvs::ServiceKey> owned_after = owned;
    owned_after.insert(tcp("192.0.2.13", 80));
    auto back = ipvs::diff(kernel, desired_table(*after, down({})), owned_after);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].kind, ipvs::OpKind::DeleteService);
    EXPECT_EQ(back[0].service.key, tcp("192.0.2.13", 80));
}
