// The announce plan (issue #14): which VIPs are announced and why, adoption after a
// restart, and the route diff, with plain values.
#include <gtest/gtest.h>

#include "announce/plan.hpp"

using namespace lvsd;
using namespace lvsd::announce;

namespace {

IpAddress ip(const char* s) { return *parse_address(s); }
const IpAddress kA = ip("192.0.2.10");
const IpAddress kB = ip("2001:db8::10");

Vip vip(IpAddress a, std::vector<std::optional<bool>> quorums) {
    Vip v{a, {}};
    int port = 80;
    for (auto q : quorums) v.services.push_back({fmt::format("TCP {}:{}", a.to_string(), port++), q});
    return v;
}

}  // namespace

TEST(AnnouncePlan, AnnouncedWhileEveryServiceHasItsQuorum) {
    auto p = plan({{vip(kA, {true, true}), vip(kB, {true})}, false, {}});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kA, kB}));
    ASSERT_EQ(p.decisions.size(), 2u);
    EXPECT_EQ(p.decisions[0].state, State::Announced);
    EXPECT_EQ(p.decisions[0].why, "every service has its quorum");
    EXPECT_EQ(p.decisions[1].why, "its service has its quorum");
}

TEST(AnnouncePlan, OneServiceWithoutQuorumWithdrawsTheVip) {
    auto p = plan({{vip(kA, {true, false}), vip(kB, {true})}, false, {}});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kB}));
    EXPECT_EQ(p.decisions[0].state, State::Withdrawn);
    EXPECT_EQ(p.decisions[0].why, "quorum lost: TCP 192.0.2.10:81");
}

TEST(AnnouncePlan, AServiceThatTakesNoNewConnectionWithdrawsTheVip) {
    auto a = vip(kA, {true, true});
    a.services[1].takes_new_connections = false;
    auto p = plan({{a, vip(kB, {true})}, false, {kA, kB}});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kB}));
    EXPECT_EQ(p.decisions[0].why,
              "no real server takes new connections (disabled, draining or weight 0: lvsctl status): TCP 192.0.2.10:81");
    // Also while another service waits for its first verdict: the route would draw flows
    // that IPVS has nowhere to send.
    a.services[0].quorum = std::nullopt;
    EXPECT_TRUE(plan({{a}, false, {kA}}).desired.empty());
    // Before its first verdict a service's table may be empty (checks that start down,
    // alpha): an adopted route stays.
    auto b = vip(kA, {std::nullopt});
    b.services[0].takes_new_connections = false;
    EXPECT_EQ(plan({{b}, false, {kA}}).desired, (std::set<IpAddress>{kA}));
    // A lost quorum says so first.
    a.services[0].quorum = false;
    EXPECT_EQ(plan({{a}, false, {kA}}).decisions[0].why, "quorum lost: TCP 192.0.2.10:80");
}

TEST(AnnouncePlan, DrainWithdrawsEverything) {
    auto p = plan({{vip(kA, {true}), vip(kB, {true})}, true, {kA}});
    EXPECT_TRUE(p.desired.empty());
    for (auto& d : p.decisions) {
        EXPECT_EQ(d.state, State::Withdrawn);
        EXPECT_NE(d.why.find("balancer drained"), std::string::npos) << d.why;
    }
}

TEST(AnnouncePlan, NoFirstVerdictNoAnnouncement) {
    auto p = plan({{vip(kA, {std::nullopt, true})}, false, {}});
    EXPECT_TRUE(p.desired.empty());
    EXPECT_EQ(p.decisions[0].why, "waiting for the first health verdict of TCP 192.0.2.10:80");
    // A known failure withdraws although another service has no verdict yet.
    EXPECT_EQ(plan({{vip(kA, {std::nullopt, false})}, false, {}}).decisions[0].why, "quorum lost: TCP 192.0.2.10:81");
}

TEST(AnnouncePlan, AdoptedRouteStaysUntilEveryFirstVerdict) {
    const std::vector<Vip> unknown = {vip(kA, {std::nullopt, std::nullopt}), vip(kB, {std::nullopt})};
    // Found at start: kA (ours, still announced), 203.0.113.1 (no longer in the config).
    auto found = adopt({kA, ip("203.0.113.1")}, unknown);
    EXPECT_EQ(found, (std::set<IpAddress>{kA}));
    auto p = plan({unknown, false, found});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kA}));  // kept: no flap
    EXPECT_EQ(p.decisions[0].state, State::Announced);
    EXPECT_EQ(p.decisions[0].why, "kept announced until the first health verdict of TCP 192.0.2.10:80, TCP 192.0.2.10:81");
    EXPECT_EQ(p.decisions[1].state, State::Withdrawn);  // kB was not there: it waits
    // One verdict in: still kept.
    p = plan({{vip(kA, {true, std::nullopt})}, false, p.desired});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kA}));
    // Every verdict in: the verdict rules.
    p = plan({{vip(kA, {true, true})}, false, p.desired});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kA}));
    EXPECT_EQ(p.decisions[0].why, "every service has its quorum");
    // A reload adds a service to the announced VIP: no withdraw while it waits for its verdict.
    p = plan({{vip(kA, {true, true, std::nullopt})}, false, p.desired});
    EXPECT_EQ(p.desired, (std::set<IpAddress>{kA}));
    // Once withdrawn, an unknown verdict keeps it withdrawn.
    p = plan({{vip(kA, {false, true})}, false, p.desired});
    EXPECT_TRUE(p.desired.empty());
    p = plan({{vip(kA, {std::nullopt, true})}, false, p.desired});
    EXPECT_TRUE(p.desired.empty());
}

TEST(AnnouncePlan, AdoptedRouteOfAFailedServiceGoesAtOnce) {
    auto p = plan({{vip(kA, {false, std::nullopt})}, false, {kA}});
    EXPECT_TRUE(p.desired.empty());
    EXPECT_EQ(p.decisions[0].why, "quorum lost: TCP 192.0.2.10:80");
}

TEST(AnnouncePlan, DiffAddsMissingAndDeletesStrays) {
    EXPECT_TRUE(diff({kA, kB}, {kA, kB}).empty());
    const auto stray = ip("203.0.113.1");
    auto ops = diff({kA, kB}, {kB, stray});
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0], (RouteOp{OpKind::Add, kA}));
    EXPECT_EQ(ops[1], (RouteOp{OpKind::Delete, stray}));
    EXPECT_EQ(diff({}, {kA}), (std::vector<RouteOp>{{OpKind::Delete, kA}}));
}
