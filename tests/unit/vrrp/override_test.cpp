// Operator overrides (vrrp/override.hpp): `lvsctl failover` and `lvsctl hold` as plain
// decisions: the priority an overridden instance runs with, who may be overridden, and
// the state machine's and the sync group's rows for Yield and hold. Time is passed in.
#include "vrrp/override.hpp"

#include <gtest/gtest.h>

#include "vrrp/priority.hpp"
#include "vrrp/state_machine.hpp"
#include "vrrp/sync_group.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint(2000s);

Params v3(uint8_t prio, bool hold = false) {
    Params p;
    p.version = 3;
    p.priority = prio;
    p.advert_int = Centiseconds(100);
    p.primary = *parse_address("192.0.2.2");
    p.hold = hold;
    return p;
}

Snapshot in(State s) {
    Snapshot x;
    x.state = s;
    x.master_adver_interval = Centiseconds(100);
    return x;
}

Tracker script(const char* name, int weight, bool ok) {
    Tracker t;
    t.kind = Tracker::Kind::Script;
    t.name = name;
    t.weight = weight;
    t.ok = ok;
    return t;
}

event::AdvertReceived advert(uint8_t prio) { return event::AdvertReceived{prio, *parse_address("192.0.2.3"), Centiseconds(100)}; }

template <class A>
int count(const Step& s) {
    int n = 0;
    for (const auto& a : s.actions) n += std::holds_alternative<A>(a);
    return n;
}

template <class A>
const A* first(const Step& s) {
    for (const auto& a : s.actions)
        if (auto p = std::get_if<A>(&a)) return p;
    return nullptr;
}

}  // namespace

// ---- the priority and who may be overridden

TEST(OverridePriority, NoOverrideKeepsTheTrackedPriority) {
    EXPECT_EQ(overridden_priority(150, Override::None, 1), 150);
    EXPECT_EQ(overridden_priority(90, Override::None, 1), 90);
}

TEST(OverridePriority, FailoverAndHoldRunWithFailoverPriorityWhateverTheTrackersAdd) {
    // priority 100 + a script's +50 while it succeeds: still 1 under the override.
    const auto tracked = effective_priority(100, {script("chk", 50, true)});
    ASSERT_EQ(tracked.priority, 150);
    EXPECT_EQ(overridden_priority(tracked.priority, Override::Failover, 1), 1);
    EXPECT_EQ(overridden_priority(tracked.priority, Override::Hold, 1), 1);
    EXPECT_EQ(overridden_priority(tracked.priority, Override::Failover, 20), 20);
}

TEST(OverridePriority, AnOverrideNeverRaisesAPriority) {
    // 100 with a failing -60 script is 40: a failover_priority of 50 must not lift it.
    const auto tracked = effective_priority(100, {script("chk", -60, false)});
    ASSERT_EQ(tracked.priority, 40);
    EXPECT_EQ(overridden_priority(tracked.priority, Override::Failover, 50), 40);
}

TEST(OverridePriority, OwnerIsNeverMovedAndRefused) {
    EXPECT_EQ(overridden_priority(255, Override::Failover, 1), 255);
    const auto why = override_refusal("VI_1", 255, Override::Failover);
    EXPECT_NE(why.find("VI_1"), std::string::npos) << why;
    EXPECT_NE(why.find("address owner (priority 255)"), std::string::npos) << why;
    EXPECT_NE(override_refusal("VI_1", 255, Override::Hold), "");
    // Clearing is always allowed, and so is any override below 255.
    EXPECT_EQ(override_refusal("VI_1", 255, Override::None), "");
    EXPECT_EQ(override_refusal("VI_1", 254, Override::Hold), "");
}

TEST(OverrideWords, RoundTrip) {
    for (Override o : {Override::None, Override::Failover, Override::Hold}) EXPECT_EQ(parse_override(to_string(o)), o);
    EXPECT_EQ(parse_override("drain"), std::nullopt);
    EXPECT_EQ(parse_override(""), std::nullopt);
}

// ---- failover in the state machine

TEST(OverrideMachine, MasterHandsOverMakeBeforeBreak) {
    const auto p = v3(1);  // the caller lowered the priority first
    auto r = step(p, in(State::Master), event::Yield{}, t0);
    // Still Master, the VIPs kept: priority 0 asks the peer to take over after Skew_Time.
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_TRUE(r.next.yielding);
    ASSERT_EQ(count<action::SendAdvert>(r), 1);
    EXPECT_EQ(first<action::SendAdvert>(r)->priority, 0);
    EXPECT_EQ(count<action::RemoveVips>(r), 0);
    EXPECT_EQ(count<action::Notify>(r), 0);
    ASSERT_NE(first<action::ArmAdvertTimer>(r), nullptr);
    EXPECT_EQ(first<action::ArmAdvertTimer>(r)->deadline, t0 + 1s);
    // A second Yield changes nothing; each advert interval repeats the request.
    EXPECT_TRUE(step(p, r.next, event::Yield{}, t0).actions.empty());
    auto again = step(p, r.next, event::AdvertTimer{}, t0 + 1s);
    EXPECT_EQ(again.next.state, State::Master);
    EXPECT_EQ(first<action::SendAdvert>(again)->priority, 0);
    EXPECT_EQ(count<action::RemoveVips>(again), 0);
    // Another yielding master's priority 0 gets no reply (no ping-pong).
    EXPECT_TRUE(step(p, r.next, advert(0), t0).actions.empty());
    // The taker is heard: now the VIPs go, and we time it at our low priority.
    auto taken = step(p, r.next, advert(100), t0 + 600ms);
    EXPECT_EQ(taken.next.state, State::Backup);
    EXPECT_FALSE(taken.next.yielding);
    EXPECT_EQ(count<action::RemoveVips>(taken), 1);
    EXPECT_EQ(count<action::SendAdvert>(taken), 0);
    ASSERT_NE(first<action::ArmMasterDownTimer>(taken), nullptr);
    EXPECT_EQ(first<action::ArmMasterDownTimer>(taken)->deadline,
              t0 + 600ms + master_down_interval(p, Centiseconds(100)));
    EXPECT_EQ(first<action::Notify>(taken)->state, State::Backup);
}

TEST(OverrideMachine, TheTakerWinsWhateverItsPriority) {
    // Even a taker at our own low priority (both failed over) ends the hand-over.
    auto y = step(v3(1), in(State::Master), event::Yield{}, t0).next;
    EXPECT_EQ(step(v3(1), y, advert(1), t0).next.state, State::Backup);
}

TEST(OverrideMachine, FailedOverMasterWithoutTakerKeepsTheVips) {
    auto s = step(v3(1), in(State::Master), event::Yield{}, t0).next;
    for (int i = 1; i <= 10; ++i) {
        auto r = step(v3(1), s, event::AdvertTimer{}, t0 + i * 1s);
        EXPECT_EQ(r.next.state, State::Master);
        EXPECT_EQ(count<action::RemoveVips>(r), 0);
        s = r.next;
    }
}

TEST(OverrideMachine, ClearingWhileHandingOverAdvertisesThePriorityAgain) {
    auto s = step(v3(1), in(State::Master), event::Yield{}, t0).next;
    auto r = step(v3(150), s, event::Resume{}, t0 + 100ms);
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_FALSE(r.next.yielding);
    EXPECT_EQ(first<action::SendAdvert>(r)->priority, 150);
    EXPECT_EQ(count<action::ArmAdvertTimer>(r), 1);
    // Resume means nothing outside Master.
    EXPECT_TRUE(step(v3(150), in(State::Backup), event::Resume{}, t0).actions.empty());
}

TEST(OverrideMachine, YieldOutsideMasterChangesNothing) {
    for (State s : {State::Initialize, State::Backup, State::Fault}) {
        auto r = step(v3(1), in(s), event::Yield{}, t0);
        EXPECT_EQ(r.next, in(s)) << to_string(s);
        EXPECT_TRUE(r.actions.empty()) << to_string(s);
    }
}

TEST(OverrideMachine, FailedOverBackupStaysBackupWhileThePeerAdvertises) {
    auto r = step(v3(1), in(State::Backup), advert(100), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(count<action::ArmMasterDownTimer>(r), 1);
}

TEST(OverrideMachine, FailedOverBackupStillTakesOverWhenThePeerDies) {
    // Availability first: failover is not hold.
    auto r = step(v3(1), in(State::Backup), event::MasterDownTimer{}, t0);
    EXPECT_EQ(r.next.state, State::Master);
    ASSERT_NE(first<action::SendAdvert>(r), nullptr);
    EXPECT_EQ(first<action::SendAdvert>(r)->priority, 1);
    EXPECT_EQ(count<action::AddVips>(r), 1);
}

TEST(OverrideMachine, ClearingRestoresPreemption) {
    // Cleared: the configured 150 again, the peer advertising 100. A preempting backup
    // discards the lower adverts, so its master-down timer runs out and it takes over.
    auto cleared = v3(150);
    auto r = step(cleared, in(State::Backup), advert(100), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_TRUE(r.actions.empty());
    r = step(cleared, r.next, event::MasterDownTimer{}, t0 + 4s);
    EXPECT_EQ(r.next.state, State::Master);
    // With nopreempt it stays backup: each advert re-arms the timer.
    cleared.preempt = false;
    r = step(cleared, in(State::Backup), advert(100), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(count<action::ArmMasterDownTimer>(r), 1);
}

// ---- hold

TEST(OverrideMachine, HeldBackupNeverTakesOverWhenTheMasterFallsSilent) {
    const auto p = v3(1, true);
    auto r = step(p, in(State::Backup), event::MasterDownTimer{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(count<action::SendAdvert>(r), 0);
    EXPECT_EQ(count<action::AddVips>(r), 0);
    EXPECT_EQ(count<action::Notify>(r), 0);
    // It keeps timing the master, so that a release with no master takes over one
    // Master_Down_Interval later.
    ASSERT_NE(first<action::ArmMasterDownTimer>(r), nullptr);
    EXPECT_EQ(first<action::ArmMasterDownTimer>(r)->deadline, t0 + master_down_interval(p, Centiseconds(100)));
    // Released: the next expiry makes it master.
    r = step(v3(100), r.next, event::MasterDownTimer{}, t0 + 4s);
    EXPECT_EQ(r.next.state, State::Master);
}

TEST(OverrideMachine, HeldBackupIgnoresAStoppingMasterToo) {
    const auto p = v3(1, true);
    auto r = step(p, in(State::Backup), advert(0), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    r = step(p, r.next, event::MasterDownTimer{}, t0 + 1s);
    EXPECT_EQ(r.next.state, State::Backup);
}

TEST(OverrideMachine, HeldMasterWithoutTakerLeavesAfterMasterDownInterval) {
    const auto p = v3(1, true);
    auto r = step(p, in(State::Master), event::Yield{}, t0);
    ASSERT_TRUE(r.next.yielding);
    const auto until = t0 + master_down_interval(p, Centiseconds(100));
    EXPECT_EQ(r.next.yield_until, until);
    r = step(p, r.next, event::AdvertTimer{}, t0 + 1s);
    EXPECT_EQ(r.next.state, State::Master);
    r = step(p, r.next, event::AdvertTimer{}, until);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(first<action::SendAdvert>(r)->priority, 0);
    EXPECT_EQ(count<action::RemoveVips>(r), 1);
    // A held Master that was never told (no Yield) starts handing over at its next advert.
    r = step(p, in(State::Master), event::AdvertTimer{}, t0);
    EXPECT_TRUE(r.next.yielding);
    EXPECT_EQ(first<action::SendAdvert>(r)->priority, 0);
}

TEST(OverrideMachine, HeldInstanceLeavesFaultAsBackupEvenWhenItsGroupIsMaster) {
    auto s = in(State::Fault);
    s.group_fault = true;
    auto r = step(v3(1, true), s, event::SyncMaster{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(count<action::AddVips>(r), 0);
    // Failover (not held) follows its group as ever.
    r = step(v3(1), s, event::SyncMaster{}, t0);
    EXPECT_EQ(r.next.state, State::Master);
    // A held Backup ignores SyncMaster.
    r = step(v3(1, true), in(State::Backup), event::SyncMaster{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_TRUE(r.actions.empty());
}

TEST(OverrideMachine, HeldInstanceStillGoesToFaultAndBack) {
    const auto p = v3(1, true);
    auto r = step(p, in(State::Backup), event::LinkDown{}, t0);
    EXPECT_EQ(r.next.state, State::Fault);
    r = step(p, r.next, event::LinkUp{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
}

TEST(OverrideMachine, HoldWinsOverOwnershipAtStartup) {
    // The daemon refuses an owner's hold (override_refusal); the machine is total anyway.
    auto r = step(v3(255, true), Snapshot{}, event::Startup{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
}

// ---- sync groups: the override is on every member

namespace {

struct Group {
    std::vector<Params> params;
    std::vector<Snapshot> snaps;
    Group(std::size_t n, uint8_t prio, bool hold) : params(n, v3(prio, hold)), snaps(n, in(State::Master)) {}
    std::vector<std::pair<std::size_t, Action>> on(std::size_t i, const Event& e) {
        return sync_handle(params, snaps, i, e, t0);
    }
    std::vector<State> states() const {
        std::vector<State> s;
        for (auto& x : snaps) s.push_back(x.state);
        return s;
    }
};

}  // namespace

TEST(OverrideGroup, FailoverHandsTheWholeGroupOverAndItLeavesAsOne) {
    Group g(3, 1, false);
    std::vector<int> zeros(3);
    // The daemon yields every member in turn: each asks its peer once.
    for (std::size_t i = 0; i < 3; ++i)
        for (auto& [m, a] : g.on(i, event::Yield{}))
            if (auto s = std::get_if<action::SendAdvert>(&a)) zeros[m] += s->priority == 0 ? 1 : 100;
    EXPECT_EQ(zeros, (std::vector{1, 1, 1}));
    EXPECT_EQ(g.states(), (std::vector{State::Master, State::Master, State::Master}));
    // The first taker heard takes the whole group to Backup.
    int removed = 0;
    for (auto& [m, a] : g.on(0, advert(100))) removed += std::holds_alternative<action::RemoveVips>(a);
    EXPECT_EQ(g.states(), (std::vector{State::Backup, State::Backup, State::Backup}));
    EXPECT_EQ(removed, 3);
}

TEST(OverrideGroup, FailedOverGroupComesBackAsOneWhenThePeerDies) {
    Group g(2, 1, false);
    g.snaps.assign(2, in(State::Backup));
    g.on(1, event::MasterDownTimer{});
    EXPECT_EQ(g.states(), (std::vector{State::Master, State::Master}));
}

TEST(OverrideGroup, HeldGroupStaysBackupWhenThePeerDies) {
    Group g(2, 1, true);
    g.snaps.assign(2, in(State::Backup));
    g.on(0, event::MasterDownTimer{});
    g.on(1, event::MasterDownTimer{});
    EXPECT_EQ(g.states(), (std::vector{State::Backup, State::Backup}));
}
