// Operator overrides of real servers (issue #15), on plain values: what each verb does to
// the overrides, when a drain is over, what a reload keeps, and the weight a real server
// gets from config x health x override (effective_weight, desired_table).
#include "daemon/override_plan.hpp"

#include <gtest/gtest.h>

#include "daemon/desired.hpp"

using namespace lvsd;
using namespace lvsd::daemon;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& text) {
    auto r = config::load_string(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

// 192.0.2.21 is in both services, 192.0.2.22 only in the first; the second inhibits.
const std::string kTwoServices = R"(
virtual_servers = (
  { address = "192.0.2.10"; port = 8080; protocol = "TCP";
    real_servers = ( { address = "192.0.2.21"; weight = 3; }, { address = "192.0.2.22"; weight = 5; } ); },
  { address = "192.0.2.11"; port = 8080; protocol = "TCP"; inhibit_on_failure = true;
    real_servers = ( { address = "192.0.2.21"; weight = 2; } ); }
);
)";

ipvs::ServiceKey svc(const char* vip) {
    return ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address(vip), 8080);
}
RealServerKey key(const char* vip, const char* rip) { return {svc(vip), {*parse_address(rip), 8080}}; }

ctl::Request req(std::string_view line) {
    auto r = ctl::parse_request(line);
    EXPECT_TRUE(r.ok()) << line;
    return *r;
}

const OverrideClock::time_point t0{1000s};

Overrides apply(const Overrides& o, const config::Config& c, std::string_view line,
                OverrideClock::time_point now = t0) {
    auto r = apply_request(o, c, req(line), now);
    EXPECT_TRUE(r.ok()) << line << ": " << (r ? "" : r.error().message);
    return r ? r->next : o;
}

std::string error_of(const Overrides& o, const config::Config& c, std::string_view line) {
    auto r = apply_request(o, c, req(line), t0);
    EXPECT_FALSE(r.ok()) << line;
    return r ? "" : r.error().message;
}

}  // namespace

TEST(EffectiveWeight, ConfigHealthOverride) {
    RealServerOverride none, drain, drained, disabled, weight, drain_and_weight;
    drain.drain = Drain{};
    drained.drain = Drain{std::nullopt, true, false};
    disabled.disabled = true;
    weight.weight = 9;
    drain_and_weight.drain = Drain{};
    drain_and_weight.weight = 9;
    // up, configured weight 3, no inhibit
    EXPECT_EQ(effective_weight(true, 3, false, nullptr), 3u);
    EXPECT_EQ(effective_weight(true, 3, false, &none), 3u);
    EXPECT_EQ(effective_weight(true, 3, false, &drain), 0u);  // in the table, nothing new
    EXPECT_EQ(effective_weight(true, 3, false, &drained), std::nullopt);
    EXPECT_EQ(effective_weight(true, 3, false, &disabled), std::nullopt);
    EXPECT_EQ(effective_weight(true, 3, false, &weight), 9u);
    EXPECT_EQ(effective_weight(true, 3, false, &drain_and_weight), 0u);  // the drain wins
    // inhibit_on_failure keeps what leaves at weight 0
    EXPECT_EQ(effective_weight(true, 3, true, &drained), 0u);
    EXPECT_EQ(effective_weight(true, 3, true, &disabled), 0u);
    // down: the override does not bring it in
    EXPECT_EQ(effective_weight(false, 3, false, &weight), std::nullopt);
    EXPECT_EQ(effective_weight(false, 3, true, &weight), 0u);
    EXPECT_EQ(effective_weight(false, 3, false, &drain), std::nullopt);
}

TEST(EffectiveWeight, DesiredTableFollowsTheOverrides) {
    auto c = parse(kTwoServices);
    Overrides o = apply({}, *c, "drain 192.0.2.10:8080/tcp 192.0.2.21:8080");
    o = apply(o, *c, "disable 192.0.2.11:8080/tcp 192.0.2.21:8080");
    o = apply(o, *c, "weight 192.0.2.22:8080 7");
    auto t = desired_table(
        *c, [](const auto&, const auto&) { return true; }, {}, {},
        [&](const config::VirtualServer& vs, const config::RealServer& rs) -> const RealServerOverride* {
            auto it = o.real_servers.find({service_key(vs), destination_key(rs)});
            return it == o.real_servers.end() ? nullptr : &it->second;
        });
    const auto& first = t.at(svc("192.0.2.10")).destinations;
    EXPECT_EQ(first.at({*parse_address("192.0.2.21"), 8080}).weight, 0u);
    EXPECT_EQ(first.at({*parse_address("192.0.2.22"), 8080}).weight, 7u);
    // disabled in an inhibit_on_failure service: kept at weight 0
    EXPECT_EQ(t.at(svc("192.0.2.11")).destinations.at({*parse_address("192.0.2.21"), 8080}).weight, 0u);
}

TEST(OverridePlan, ARealServerWithoutServiceIsEveryServiceThatHasIt) {
    auto c = parse(kTwoServices);
    auto r = apply_request({}, *c, req("drain 192.0.2.21:8080 --timeout 30"), t0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->concerned, (std::vector<RealServerKey>{key("192.0.2.10", "192.0.2.21"), key("192.0.2.11", "192.0.2.21")}));
    ASSERT_EQ(r->next.real_servers.size(), 2u);
    EXPECT_EQ(r->next.real_servers.at(key("192.0.2.11", "192.0.2.21")).drain, (Drain{t0 + 30s, false, false}));
}

TEST(OverridePlan, UnknownServiceOrServerChangesNothing) {
    auto c = parse(kTwoServices);
    EXPECT_EQ(error_of({}, *c, "drain 192.0.2.99:80/tcp 192.0.2.21:8080"),
              "no virtual service 192.0.2.99:80/tcp in the configuration");
    EXPECT_EQ(error_of({}, *c, "disable 192.0.2.11:8080/tcp 192.0.2.22:8080"),
              "virtual service 192.0.2.11:8080/tcp has no real server 192.0.2.22:8080");
    EXPECT_EQ(error_of({}, *c, "weight 192.0.2.23:8080 1"), "no virtual service has a real server 192.0.2.23:8080");
    EXPECT_EQ(error_of({}, *c, "drain 192.0.2.21:80"), "no virtual service has a real server 192.0.2.21:80");
}

TEST(OverridePlan, ClearingRemovesTheEntry) {
    auto c = parse(kTwoServices);
    Overrides o = apply({}, *c, "weight 192.0.2.22:8080 0");
    EXPECT_EQ(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).weight, 0u);
    o = apply(o, *c, "disable 192.0.2.22:8080");
    o = apply(o, *c, "weight --clear 192.0.2.22:8080");
    EXPECT_TRUE(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).disabled);
    o = apply(o, *c, "enable 192.0.2.22:8080");
    EXPECT_TRUE(o.empty());
    o = apply(o, *c, "drain 192.0.2.22:8080");
    o = apply(o, *c, "undrain 192.0.2.22:8080");
    EXPECT_TRUE(o.empty());
    // Clearing what is not there is no error: the state asked for is there.
    EXPECT_TRUE(apply(o, *c, "enable 192.0.2.21:8080").empty());
}

TEST(OverridePlan, DrainingAgainMovesOnlyTheDeadline) {
    auto c = parse(kTwoServices);
    Overrides o = apply({}, *c, "drain 192.0.2.22:8080 --timeout 60");
    o.real_servers.begin()->second.drain->done = true;
    o = apply(o, *c, "drain 192.0.2.22:8080 --timeout 5", t0 + 10s);
    EXPECT_EQ(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).drain, (Drain{t0 + 15s, true, false}));
    o = apply(o, *c, "drain 192.0.2.22:8080", t0 + 20s);  // no timeout: the deadline stays
    EXPECT_EQ(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).drain->deadline, t0 + 15s);
}

TEST(OverridePlan, BalancerDrainAndUndrain) {
    auto c = parse(kTwoServices);
    Overrides o = apply({}, *c, "drain 192.0.2.10:8080/tcp 192.0.2.22:8080");  // the operator's own
    o = apply(o, *c, "drain --balancer --timeout 100");
    ASSERT_TRUE(o.balancer_drain);
    EXPECT_EQ(o.balancer_drain->deadline, t0 + 100s);
    EXPECT_EQ(o.real_servers.size(), 3u);
    EXPECT_TRUE(o.real_servers.at(key("192.0.2.10", "192.0.2.21")).drain->balancer);
    EXPECT_FALSE(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).drain->balancer);
    EXPECT_EQ(o.real_servers.at(key("192.0.2.10", "192.0.2.22")).drain->deadline, t0 + 100s);
    o = apply(o, *c, "undrain --balancer");
    EXPECT_FALSE(o.balancer_drain);
    ASSERT_EQ(o.real_servers.size(), 1u);  // the operator's own drain stays
    EXPECT_TRUE(o.real_servers.contains(key("192.0.2.10", "192.0.2.22")));
}

// An announced service's balancer leaves the ECMP set by withdrawing its route: its real
// servers keep their weights (the other balancers schedule the same flows with the same
// mh table) and the drain does not wait on their connections. A reload under the drain
// does not drain an announced service's new real server either.
TEST(OverridePlan, ABalancerDrainLeavesAnnouncedServicesRealServersAlone) {
    const std::string announced = R"(
virtual_servers = (
  { address = "192.0.2.10"; port = 8080; protocol = "TCP";
    real_servers = ( { address = "192.0.2.21"; } ); },
  { address = "192.0.2.11"; port = 8080; protocol = "TCP"; announce = true;
    real_servers = ( { address = "192.0.2.21"; }, { address = "192.0.2.22"; } ); }
);
)";
    auto c = parse(announced);
    EXPECT_EQ(every_real_server(*c).size(), 3u);
    EXPECT_EQ(drained_with_the_balancer(*c), (std::vector<RealServerKey>{key("192.0.2.10", "192.0.2.21")}));
    Overrides o = apply({}, *c, "drain --balancer");
    ASSERT_TRUE(o.balancer_drain);
    EXPECT_EQ(o.real_servers.size(), 1u);
    EXPECT_TRUE(o.real_servers.contains(key("192.0.2.10", "192.0.2.21")));
    auto grown = parse(R"(
virtual_servers = (
  { address = "192.0.2.10"; port = 8080; protocol = "TCP";
    real_servers = ( { address = "192.0.2.21"; } ); },
  { address = "192.0.2.11"; port = 8080; protocol = "TCP"; announce = true;
    real_servers = ( { address = "192.0.2.21"; }, { address = "192.0.2.22"; }, { address = "192.0.2.23"; } ); }
);
)");
    fit_to_config(o, c.get(), *grown);
    EXPECT_EQ(o.real_servers.size(), 1u);
}

TEST(OverridePlan, ADrainEndsAtZeroConnectionsOutOfTheTableOrAtItsDeadline) {
    auto c = parse(kTwoServices);
    Overrides o = apply({}, *c, "drain --balancer --timeout 60");
    std::map<RealServerKey, Observed> seen{{key("192.0.2.10", "192.0.2.21"), {true, 4}},
                                           {key("192.0.2.10", "192.0.2.22"), {true, 0}},
                                           {key("192.0.2.11", "192.0.2.21"), {false, std::nullopt}}};
    auto observe = [&](const RealServerKey& k) { return seen.at(k); };
    EXPECT_TRUE(draining(o));
    EXPECT_EQ(next_deadline(o), t0 + 60s);
    auto log = advance_drains(o, observe, t0 + 1s);
    EXPECT_EQ(log, (std::vector<std::string>{
                       "real server 192.0.2.22:8080 in 192.0.2.10:8080/tcp drained: no active connections left",
                       "real server 192.0.2.21:8080 in 192.0.2.11:8080/tcp drained: not in the IPVS table"}));
    EXPECT_FALSE(o.real_servers.at(key("192.0.2.10", "192.0.2.21")).drain->done);
    EXPECT_TRUE(advance_drains(o, observe, t0 + 59s).empty());
    seen[key("192.0.2.10", "192.0.2.21")].active.reset();  // a failed read waits, it never ends a drain
    EXPECT_TRUE(advance_drains(o, observe, t0 + 30s).empty());
    seen[key("192.0.2.10", "192.0.2.21")].active = 4;
    log = advance_drains(o, observe, t0 + 60s);
    EXPECT_EQ(log, (std::vector<std::string>{"real server 192.0.2.21:8080 in 192.0.2.10:8080/tcp drained: "
                                             "--timeout reached with 4 active connections left"}));
    EXPECT_FALSE(draining(o));
    EXPECT_FALSE(next_deadline(o));
    EXPECT_TRUE(advance_drains(o, observe, t0 + 61s).empty());  // done stays done
}

TEST(OverridePlan, AReloadDropsWhatItRemovesAndDrainsWhatItAddsUnderABalancerDrain) {
    auto before = parse(kTwoServices);
    Overrides o = apply({}, *before, "weight 192.0.2.22:8080 4");
    o = apply(o, *before, "disable 192.0.2.11:8080/tcp 192.0.2.21:8080");
    auto after = parse(R"(
virtual_servers = (
  { address = "192.0.2.10"; port = 8080; protocol = "TCP";
    real_servers = ( { address = "192.0.2.21"; }, { address = "192.0.2.23"; } ); }
);
)");
    auto log = fit_to_config(o, before.get(), *after);
    EXPECT_EQ(log, (std::vector<std::string>{
                       "override of real server 192.0.2.22:8080 in 192.0.2.10:8080/tcp dropped: the configuration "
                       "no longer has it",
                       "override of real server 192.0.2.21:8080 in 192.0.2.11:8080/tcp dropped: the configuration "
                       "no longer has it"}));
    EXPECT_TRUE(o.empty());

    o = apply({}, *before, "drain --balancer");
    log = fit_to_config(o, before.get(), *after);
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log.back(),
              "real server 192.0.2.23:8080 in 192.0.2.10:8080/tcp drained with the balancer (drain --balancer is on)");
    EXPECT_TRUE(o.real_servers.at(key("192.0.2.10", "192.0.2.23")).drain->balancer);
    // Undrained by hand during the balancer drain: a reload that keeps it does not drain it again.
    o = apply(o, *after, "undrain 192.0.2.10:8080/tcp 192.0.2.21:8080");
    EXPECT_TRUE(fit_to_config(o, after.get(), *after).empty());
    EXPECT_FALSE(o.real_servers.contains(key("192.0.2.10", "192.0.2.21")));
}

TEST(OverridePlan, DescribedAsStatusShowsThem) {
    RealServerOverride o;
    o.drain = Drain{t0 + 90s, false, true};
    o.weight = 4;
    EXPECT_EQ(describe(o, t0 + 500ms), "draining (timeout in 90 s) with the balancer, weight 4 set by hand");
    o.drain->done = true;
    o.disabled = true;
    EXPECT_EQ(describe(o, t0), "drained with the balancer, disabled, weight 4 set by hand");
    auto s = override_status(o, t0);
    EXPECT_EQ(s.drain, "drained");
    EXPECT_FALSE(s.drain_timeout_s);
    EXPECT_TRUE(s.drain_balancer && s.disabled);
    EXPECT_EQ(s.weight, 4u);
}
