// `lvsctl failover` / `lvsctl hold` as the daemon decides them (daemon/vrrp_overrides.hpp):
// plain values in, overrides or a refusal out.
#include "daemon/vrrp_overrides.hpp"

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::daemon;
using namespace std::chrono_literals;
using vrrp::Override;

namespace {

const VrrpOverrideClock::time_point t0 = VrrpOverrideClock::time_point(100s);

VrrpTopology topology() {
    VrrpTopology t;
    t.priorities = {{"VI_1", 150}, {"FRONT", 150}, {"BACK", 150}, {"OWNER", 255}, {"G_OWNER", 255}, {"G_OTHER", 100}};
    t.groups = {{"G", {"FRONT", "BACK"}}, {"GO", {"G_OWNER", "G_OTHER"}}};
    return t;
}

VrrpOverrideRequest req(const std::string& name, Override verb, bool clear = false, bool group = false) {
    return VrrpOverrideRequest{{group, name}, verb, clear};
}

std::string refusal(const Result<VrrpOverrides>& r) { return r ? std::string("(accepted)") : r.error().message; }

}  // namespace

TEST(VrrpOverrides, FailoverOfAnInstanceIsKeptWithItsTime) {
    auto r = apply_request({}, req("VI_1", Override::Failover), topology(), t0);
    ASSERT_TRUE(r) << refusal(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(r->at({false, "VI_1"}), (VrrpOverrideEntry{Override::Failover, t0}));
    // Asked again later: the same override, still since t0.
    auto again = apply_request(*r, req("VI_1", Override::Failover), topology(), t0 + 60s);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *r);
    // Hold replaces it, from now.
    auto hold = apply_request(*r, req("VI_1", Override::Hold), topology(), t0 + 60s);
    ASSERT_TRUE(hold);
    EXPECT_EQ(hold->at({false, "VI_1"}), (VrrpOverrideEntry{Override::Hold, t0 + 60s}));
}

TEST(VrrpOverrides, UnknownNamesAreRefusedEvenWhenClearing) {
    for (bool clear : {false, true}) {
        auto r = apply_request({}, req("VI_9", Override::Failover, clear), topology(), t0);
        EXPECT_EQ(refusal(r), "no vrrp instance named \"VI_9\" in the running configuration");
        r = apply_request({}, req("G9", Override::Hold, clear, true), topology(), t0);
        EXPECT_EQ(refusal(r), "no vrrp sync group named \"G9\" in the running configuration");
    }
}

TEST(VrrpOverrides, AGroupMemberIsRefusedNamingItsGroup) {
    auto r = apply_request({}, req("FRONT", Override::Failover), topology(), t0);
    EXPECT_NE(refusal(r).find("sync group G"), std::string::npos) << refusal(r);
    EXPECT_NE(refusal(r).find("--group G"), std::string::npos) << refusal(r);
}

TEST(VrrpOverrides, AGroupOverrideCoversEveryMember) {
    auto r = apply_request({}, req("G", Override::Hold, false, true), topology(), t0);
    ASSERT_TRUE(r) << refusal(r);
    const auto each = per_instance(*r, topology());
    EXPECT_EQ(each.at("FRONT"), (InstanceOverride{Override::Hold, t0, "G"}));
    EXPECT_EQ(each.at("BACK"), (InstanceOverride{Override::Hold, t0, "G"}));
    EXPECT_EQ(each.at("VI_1").kind, Override::None);
    EXPECT_EQ(instances_of({true, "G"}, topology()), (std::vector<std::string>{"FRONT", "BACK"}));
    // Clearing one member is refused, naming the group's verb.
    auto one = apply_request(*r, req("FRONT", Override::Hold, true), topology(), t0);
    EXPECT_NE(refusal(one).find("lvsctl hold --clear --group G"), std::string::npos) << refusal(one);
    auto all = apply_request(*r, req("G", Override::Hold, true, true), topology(), t0);
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->empty());
}

TEST(VrrpOverrides, AddressOwnersAreRefusedAloneAndInAGroup) {
    auto r = apply_request({}, req("OWNER", Override::Failover), topology(), t0);
    EXPECT_NE(refusal(r).find("address owner (priority 255)"), std::string::npos) << refusal(r);
    r = apply_request({}, req("GO", Override::Hold, false, true), topology(), t0);
    EXPECT_NE(refusal(r).find("sync group GO: vrrp instance G_OWNER is the address owner"), std::string::npos)
        << refusal(r);
}

TEST(VrrpOverrides, ClearingNothingSucceedsAndClearingTheOtherVerbIsRefused) {
    auto r = apply_request({}, req("VI_1", Override::Failover, true), topology(), t0);
    ASSERT_TRUE(r) << refusal(r);
    EXPECT_TRUE(r->empty());
    auto held = *apply_request({}, req("VI_1", Override::Hold), topology(), t0);
    auto wrong = apply_request(held, req("VI_1", Override::Failover, true), topology(), t0);
    EXPECT_EQ(refusal(wrong), "vrrp instance VI_1 is under hold, not failover: lvsctl hold --clear VI_1");
    auto right = apply_request(held, req("VI_1", Override::Hold, true), topology(), t0);
    ASSERT_TRUE(right);
    EXPECT_TRUE(right->empty());
}

TEST(VrrpOverrides, AReloadKeepsWhatStillAppliesAndSaysWhyTheRestGoes) {
    VrrpOverrides now;
    now[{false, "VI_1"}] = {Override::Failover, t0};
    now[{false, "GONE"}] = {Override::Hold, t0};
    now[{true, "G"}] = {Override::Hold, t0};
    now[{false, "SOLO"}] = {Override::Hold, t0};
    now[{true, "OLDGROUP"}] = {Override::Failover, t0};
    auto t = topology();
    t.priorities["SOLO"] = 100;
    t.groups["NEWGROUP"] = {"SOLO"};   // SOLO joined a group
    t.priorities["VI_1"] = 255;        // VI_1 became the address owner
    auto after = after_reload(now, t);
    ASSERT_EQ(after.kept.size(), 1u);
    EXPECT_TRUE(after.kept.contains({true, "G"}));
    ASSERT_EQ(after.dropped.size(), 4u);
    auto said = [&](const std::string& what) {
        for (const auto& d : after.dropped)
            if (d.find(what) != std::string::npos) return true;
        return false;
    };
    EXPECT_TRUE(said("vrrp instance GONE: the operator's hold is dropped: the instance is no longer in the configuration"));
    EXPECT_TRUE(said("vrrp sync group OLDGROUP: the operator's failover is dropped: the group is no longer"));
    EXPECT_TRUE(said("vrrp instance SOLO: the operator's hold is dropped: vrrp instance SOLO is in sync group NEWGROUP"));
    EXPECT_TRUE(said("vrrp instance VI_1: the operator's failover is dropped: vrrp instance VI_1 is the address owner"));
}

TEST(VrrpOverrides, PerInstanceListsEveryInstance) {
    VrrpOverrides now;
    now[{false, "VI_1"}] = {Override::Failover, t0};
    auto each = per_instance(now, topology());
    EXPECT_EQ(each.size(), topology().priorities.size());
    EXPECT_EQ(each.at("VI_1"), (InstanceOverride{Override::Failover, t0, ""}));
    EXPECT_EQ(each.at("OWNER").kind, Override::None);
}

// `drain --balancer`: every instance fails over but the address owners (they cannot hand
// their addresses over) and those the operator overrode himself (his hold stays a hold).
TEST(VrrpOverrides, ABalancerDrainFailsOverEveryInstanceButOwnersAndExplicitOverrides) {
    auto held = apply_request({}, req("VI_1", Override::Hold), topology(), t0);
    ASSERT_TRUE(held) << refusal(held);
    const auto drained_at = t0 + 10s;
    auto each = per_instance(*held, topology(), drained_at);
    EXPECT_EQ(each.at("VI_1"), (InstanceOverride{Override::Hold, t0, {}, false}));
    EXPECT_EQ(each.at("FRONT"), (InstanceOverride{Override::Failover, drained_at, {}, true}));
    EXPECT_EQ(each.at("BACK"), (InstanceOverride{Override::Failover, drained_at, {}, true}));
    EXPECT_EQ(each.at("G_OTHER"), (InstanceOverride{Override::Failover, drained_at, {}, true}));
    EXPECT_EQ(each.at("OWNER").kind, Override::None);
    EXPECT_EQ(each.at("G_OWNER").kind, Override::None);
    // Undrained: only the operator's own override is left.
    auto after = per_instance(*held, topology());
    EXPECT_EQ(after.at("FRONT").kind, Override::None);
    EXPECT_EQ(after.at("VI_1").kind, Override::Hold);
}
