#include "vrrp/sync_group.hpp"

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::vrrp;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint(500s);

struct Group {
    std::vector<Params> params;
    std::vector<Snapshot> snaps;
    explicit Group(std::size_t n) : params(n), snaps(n) {
        for (std::size_t i = 0; i < n; ++i) {
            params[i].priority = 100;
            params[i].primary = *parse_address("192.0.2.2");
        }
    }
    std::vector<std::pair<std::size_t, Action>> on(std::size_t i, const Event& e) {
        return sync_handle(params, snaps, i, e, t0);
    }
    std::vector<State> states() const {
        std::vector<State> s;
        for (auto& x : snaps) s.push_back(x.state);
        return s;
    }
};

using S = State;

}  // namespace

TEST(SyncGroup, OneMemberBecomingMasterTakesTheOthers) {
    Group g(3);
    for (std::size_t i = 0; i < 3; ++i) g.on(i, event::Startup{});
    ASSERT_EQ(g.states(), (std::vector{S::Backup, S::Backup, S::Backup}));
    auto acts = g.on(1, event::MasterDownTimer{});
    EXPECT_EQ(g.states(), (std::vector{S::Master, S::Master, S::Master}));
    int vips = 0;
    for (auto& [i, a] : acts) vips += std::holds_alternative<action::AddVips>(a);
    EXPECT_EQ(vips, 3);
}

TEST(SyncGroup, OneMemberLosingTheElectionTakesTheOthersToBackup) {
    Group g(2);
    g.snaps[0].state = g.snaps[1].state = S::Master;
    auto acts = g.on(0, event::AdvertReceived{200, *parse_address("192.0.2.9"), Centiseconds(100)});
    EXPECT_EQ(g.states(), (std::vector{S::Backup, S::Backup}));
    // The follower tells its peer to take over at once.
    bool zero = false;
    for (auto& [i, a] : acts)
        if (auto s = std::get_if<action::SendAdvert>(&a); s && i == 1) zero = s->priority == 0;
    EXPECT_TRUE(zero);
}

TEST(SyncGroup, FaultHoldsTheWholeGroupUntilEveryLinkIsUp) {
    Group g(2);
    g.snaps[0].state = g.snaps[1].state = S::Master;
    g.on(1, event::LinkDown{});
    EXPECT_EQ(g.states(), (std::vector{S::Fault, S::Fault}));
    EXPECT_TRUE(g.snaps[0].group_fault);
    // A SyncBackup reaching member 0 while member 1's link is still down must not let
    // it out of Fault on its own.
    g.on(0, event::SyncBackup{});
    EXPECT_EQ(g.states(), (std::vector{S::Fault, S::Fault}));
    g.on(1, event::LinkUp{});
    EXPECT_EQ(g.states(), (std::vector{S::Backup, S::Backup}));
}

TEST(SyncGroup, FollowRuleSettles) {
    std::vector<Snapshot> s(3);
    s[0].state = S::Master;
    s[1].state = S::Master;
    s[2].state = S::Backup;
    auto f = sync_follow(s, 0);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].first, 2u);
    EXPECT_TRUE(std::holds_alternative<event::SyncMaster>(f[0].second));
    s[2].state = S::Master;
    EXPECT_TRUE(sync_follow(s, 0).empty());
}

TEST(SyncGroup, SingleInstanceIsJustTheMachine) {
    Group g(1);
    g.on(0, event::Startup{});
    g.on(0, event::MasterDownTimer{});
    EXPECT_EQ(g.states(), std::vector{S::Master});
}
