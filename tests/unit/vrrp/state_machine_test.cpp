// One test per row of the transition table in src/vrrp/state_machine.cpp (RFC 5798 §6.4,
// RFC 3768 §6.4, keepalived's Fault). Time is passed in; nothing sleeps.
#include "vrrp/state_machine.hpp"

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::vrrp;
using namespace std::chrono_literals;

namespace {

IpAddress ip(const char* s) { return *parse_address(s); }

const TimePoint t0 = TimePoint(1000s);  // any monotonic origin

Params v3(uint8_t prio) {
    Params p;
    p.version = 3;
    p.priority = prio;
    p.advert_int = Centiseconds(100);
    p.primary = ip("192.0.2.2");
    return p;
}

Snapshot in(State s, Centiseconds learned = Centiseconds(100)) {
    Snapshot x;
    x.state = s;
    x.master_adver_interval = learned;
    return x;
}

event::AdvertReceived advert(uint8_t prio, const char* src = "192.0.2.1", Centiseconds iv = Centiseconds(100)) {
    return event::AdvertReceived{prio, ip(src), iv};
}

template <class A>
int count(const Step& s) {
    int n = 0;
    for (const auto& a : s.actions) n += std::holds_alternative<A>(a);
    return n;
}

template <class A>
const A& only(const Step& s) {
    EXPECT_EQ(count<A>(s), 1);
    for (const auto& a : s.actions)
        if (auto p = std::get_if<A>(&a)) return *p;
    static A none{};
    return none;
}

void expect_became_master(const Step& r, const Params& p, TimePoint now) {
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, p.priority);
    EXPECT_EQ(count<action::AddVips>(r), 1);
    EXPECT_EQ(count<action::SendGarp>(r), 1);
    EXPECT_EQ(only<action::ArmAdvertTimer>(r).deadline, now + p.advert_int);
    EXPECT_EQ(only<action::Notify>(r).state, State::Master);
    // The advert goes out before the addresses are claimed.
    EXPECT_TRUE(std::holds_alternative<action::SendAdvert>(r.actions.front()));
}

}  // namespace

// ---- timing formulas (RFC 5798 §6.1, RFC 3768 §6.1)

TEST(Timing, V3SkewScalesWithMasterAdverInterval) {
    // (256-100) * 1 s / 256 = 609.375 ms; MDI = 3 s + skew.
    EXPECT_EQ(skew_time(v3(100), Centiseconds(100)), 609375us);
    EXPECT_EQ(master_down_interval(v3(100), Centiseconds(100)), 3609375us);
    // 30 ms adverts at priority 200: skew 56*30/256 ms = 6.5625 ms.
    EXPECT_EQ(skew_time(v3(200), Centiseconds(3)), 6562us);
    EXPECT_EQ(skew_time(v3(255), Centiseconds(100)), 3906us);
}

TEST(Timing, V2SkewIsInSecondsRegardlessOfInterval) {
    auto p = v3(100);
    p.version = 2;
    EXPECT_EQ(skew_time(p, Centiseconds(300)), 609375us);
    EXPECT_EQ(master_down_interval(p, Centiseconds(100)), 3609375us);
}

TEST(Timing, TieBreakComparesAddressesAsUnsignedIntegers) {
    EXPECT_TRUE(wins_tie(ip("192.0.2.10"), ip("192.0.2.9")));
    EXPECT_FALSE(wins_tie(ip("192.0.2.9"), ip("192.0.2.10")));
    EXPECT_TRUE(wins_tie(ip("fe80::ff:fe00:b"), ip("fe80::ff:fe00:a")));
    EXPECT_FALSE(wins_tie(ip("192.0.2.9"), ip("192.0.2.9")));
}

// ---- Initialize (§6.4.1)

TEST(Initialize, OwnerStartsAsMaster) {
    auto p = v3(255);
    auto r = step(p, Snapshot{}, event::Startup{}, t0);
    expect_became_master(r, p, t0);
}

TEST(Initialize, OthersStartAsBackupWithMasterDownTimer) {
    auto p = v3(100);
    auto r = step(p, Snapshot{}, event::Startup{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(r.next.master_adver_interval, p.advert_int);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 3609375us);
    EXPECT_EQ(only<action::Notify>(r).state, State::Backup);
    EXPECT_EQ(count<action::SendAdvert>(r), 0);
    EXPECT_EQ(count<action::AddVips>(r), 0);
}

TEST(Initialize, StartupWithTrackedLinkDownIsFault) {
    auto p = v3(255);
    auto s = step(p, Snapshot{}, event::LinkDown{}, t0).next;
    EXPECT_EQ(s.state, State::Initialize);
    auto r = step(p, s, event::Startup{}, t0);
    EXPECT_EQ(r.next.state, State::Fault);
    EXPECT_EQ(count<action::SendAdvert>(r), 0);
    EXPECT_EQ(only<action::Notify>(r).state, State::Fault);
}

TEST(Initialize, IgnoresAdvertsAndTimers) {
    auto p = v3(100);
    for (Event e : {Event{advert(200)}, Event{event::MasterDownTimer{}}, Event{event::AdvertTimer{}}}) {
        auto r = step(p, Snapshot{}, e, t0);
        EXPECT_EQ(r.next, Snapshot{});
        EXPECT_TRUE(r.actions.empty());
    }
}

// ---- Backup (§6.4.2)

TEST(Backup, ShutdownCancelsTimerAndStops) {
    auto r = step(v3(100), in(State::Backup), event::Shutdown{}, t0);
    EXPECT_EQ(r.next.state, State::Initialize);
    EXPECT_EQ(count<action::CancelTimer>(r), 1);
    EXPECT_EQ(count<action::SendAdvert>(r), 0);
    EXPECT_EQ(only<action::Notify>(r).state, State::Initialize);
}

TEST(Backup, MasterDownTimerMakesMaster) {
    auto p = v3(100);
    expect_became_master(step(p, in(State::Backup), event::MasterDownTimer{}, t0), p, t0);
}

TEST(Backup, PriorityZeroAdvertTakesOverAfterSkewTime) {
    auto p = v3(100);
    auto r = step(p, in(State::Backup), advert(0), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 609375us);
}

TEST(Backup, HigherAdvertResetsMasterDownAndLearnsInterval) {
    auto p = v3(100);
    auto r = step(p, in(State::Backup), advert(150, "192.0.2.1", Centiseconds(3)), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(r.next.master_adver_interval, Centiseconds(3));
    // 3 * 30 ms + (156 * 30 ms / 256) = 90 ms + 18.28125 ms
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 108281us);
}

TEST(Backup, V2DoesNotLearnTheInterval) {
    auto p = v3(100);
    p.version = 2;
    auto r = step(p, in(State::Backup), advert(150, "192.0.2.1", Centiseconds(300)), t0);
    EXPECT_EQ(r.next.master_adver_interval, Centiseconds(100));
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 3609375us);
}

TEST(Backup, EqualPriorityAdvertIsAccepted) {
    auto r = step(v3(100), in(State::Backup), advert(100), t0);
    EXPECT_EQ(count<action::ArmMasterDownTimer>(r), 1);
}

TEST(Backup, LowerAdvertIsDiscardedWhenPreempting) {
    auto r = step(v3(100), in(State::Backup), advert(50), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_TRUE(r.actions.empty()) << "the running master-down timer must keep running";
}

TEST(Backup, NopreemptAcceptsLowerAdvert) {
    auto p = v3(100);
    p.preempt = false;
    auto r = step(p, in(State::Backup), advert(50), t0);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 3609375us);
}

TEST(Backup, PreemptDelayHoldsTheLowerMasterThenPreempts) {
    auto p = v3(100);
    p.preempt_delay = 10s;
    auto r = step(p, in(State::Backup), advert(50), t0);
    ASSERT_TRUE(r.next.preempt_at);
    EXPECT_EQ(*r.next.preempt_at, t0 + 10s);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 3609375us);
    // Later adverts keep the delay anchored at the first sighting...
    auto r2 = step(p, r.next, advert(50), t0 + 8s);
    EXPECT_EQ(*r2.next.preempt_at, t0 + 10s);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r2).deadline, t0 + 10s);
    // ... and once it is over they are discarded, so the timer armed for t0+10s fires.
    auto r3 = step(p, r2.next, advert(50), t0 + 10s);
    EXPECT_TRUE(r3.actions.empty());
    expect_became_master(step(p, r3.next, event::MasterDownTimer{}, t0 + 10s), p, t0 + 10s);
}

TEST(Backup, HigherAdvertClearsPreemptDelay) {
    auto p = v3(100);
    p.preempt_delay = 10s;
    auto s = step(p, in(State::Backup), advert(50), t0).next;
    auto r = step(p, s, advert(150), t0 + 1s);
    EXPECT_FALSE(r.next.preempt_at);
}

TEST(Backup, LinkDownIsFault) {
    auto r = step(v3(100), in(State::Backup), event::LinkDown{}, t0);
    EXPECT_EQ(r.next.state, State::Fault);
    EXPECT_TRUE(r.next.link_fault);
    EXPECT_EQ(count<action::CancelTimer>(r), 1);
    EXPECT_EQ(count<action::SendAdvert>(r), 0);
    EXPECT_EQ(count<action::RemoveVips>(r), 0);
}

TEST(Backup, StaleAdvertTimerIsIgnored) {
    auto r = step(v3(100), in(State::Backup), event::AdvertTimer{}, t0);
    EXPECT_TRUE(r.actions.empty());
}

// ---- Master (§6.4.3)

TEST(Master, AdvertTimerSendsAndRearms) {
    auto p = v3(100);
    auto r = step(p, in(State::Master), event::AdvertTimer{}, t0);
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 100);
    EXPECT_EQ(only<action::ArmAdvertTimer>(r).deadline, t0 + 1s);
}

TEST(Master, ShutdownSendsPriorityZeroAndReleasesVips) {
    auto r = step(v3(100), in(State::Master), event::Shutdown{}, t0);
    EXPECT_EQ(r.next.state, State::Initialize);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 0);
    EXPECT_EQ(count<action::RemoveVips>(r), 1);
    EXPECT_EQ(count<action::CancelTimer>(r), 1);
    EXPECT_EQ(only<action::Notify>(r).state, State::Initialize);
}

TEST(Master, PriorityZeroAdvertIsAnsweredAtOnce) {
    auto r = step(v3(100), in(State::Master), advert(0), t0);
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 100);
    EXPECT_EQ(only<action::ArmAdvertTimer>(r).deadline, t0 + 1s);
}

TEST(Master, HigherAdvertMakesBackup) {
    auto p = v3(100);
    auto r = step(p, in(State::Master), advert(150, "192.0.2.1", Centiseconds(50)), t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(count<action::RemoveVips>(r), 1);
    // One last advert at our priority: the new master answers it with gratuitous ARP,
    // which matters when it never heard us before (a healed partition).
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 100);
    EXPECT_EQ(r.next.master_adver_interval, Centiseconds(50));
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + master_down_interval(p, Centiseconds(50)));
    EXPECT_EQ(only<action::Notify>(r).state, State::Backup);
}

TEST(Master, EqualPriorityFromGreaterAddressMakesBackup) {
    auto r = step(v3(100), in(State::Master), advert(100, "192.0.2.3"), t0);
    EXPECT_EQ(r.next.state, State::Backup);
}

TEST(Master, EqualPriorityFromSmallerAddressIsAnswered) {
    auto r = step(v3(100), in(State::Master), advert(100, "192.0.2.1"), t0);
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 100);
}

TEST(Master, LowerAdvertIsAnsweredAtOnceLikeKeepalived) {
    auto r = step(v3(100), in(State::Master), advert(50), t0);
    EXPECT_EQ(r.next.state, State::Master);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 100);
    EXPECT_EQ(only<action::ArmAdvertTimer>(r).deadline, t0 + 1s);
    EXPECT_EQ(count<action::RemoveVips>(r), 0);
    // After a partition heals the segment may point at the other router: re-announce.
    EXPECT_EQ(count<action::SendGarp>(r), 1);
}

TEST(Master, LinkDownAdvertisesZeroAndReleasesVips) {
    auto r = step(v3(100), in(State::Master), event::LinkDown{}, t0);
    EXPECT_EQ(r.next.state, State::Fault);
    EXPECT_EQ(only<action::SendAdvert>(r).priority, 0);
    EXPECT_EQ(count<action::RemoveVips>(r), 1);
    EXPECT_EQ(only<action::Notify>(r).state, State::Fault);
}

TEST(Master, StaleMasterDownTimerIsIgnored) {
    auto r = step(v3(100), in(State::Master), event::MasterDownTimer{}, t0);
    EXPECT_TRUE(r.actions.empty());
    EXPECT_EQ(r.next.state, State::Master);
}

// ---- Fault (keepalived)

TEST(Fault, LinkUpReturnsToBackup) {
    auto p = v3(100);
    auto s = in(State::Fault);
    s.link_fault = true;
    auto r = step(p, s, event::LinkUp{}, t0);
    EXPECT_EQ(r.next.state, State::Backup);
    EXPECT_EQ(only<action::ArmMasterDownTimer>(r).deadline, t0 + 3609375us);
    EXPECT_EQ(only<action::Notify>(r).state, State::Backup);
}

TEST(Fault, IgnoresAdvertsAndTimers) {
    auto s = in(State::Fault);
    s.link_fault = true;
    for (Event e : {Event{advert(200)}, Event{advert(0)}, Event{event::MasterDownTimer{}}}) {
        auto r = step(v3(100), s, e, t0);
        EXPECT_EQ(r.next, s);
        EXPECT_TRUE(r.actions.empty());
    }
}

TEST(Fault, StaysWhileTheGroupHoldsIt) {
    auto s = in(State::Fault);
    s.link_fault = true;
    s.group_fault = true;
    auto r = step(v3(100), s, event::LinkUp{}, t0);
    EXPECT_EQ(r.next.state, State::Fault);
    EXPECT_FALSE(r.next.link_fault);
    EXPECT_EQ(step(v3(100), r.next, event::SyncBackup{}, t0).next.state, State::Backup);
}

// ---- whole exchanges

TEST(Scenario, PairElectsHigherPriorityAndFailsOver) {
    auto a = v3(200);
    a.primary = ip("192.0.2.1");
    auto b = v3(100);
    Snapshot sa, sb;
    auto ra = step(a, sa, event::Startup{}, t0);
    auto rb = step(b, sb, event::Startup{}, t0);
    sa = ra.next;
    sb = rb.next;
    // A's master-down fires first: its skew is shorter.
    auto fire_a = only<action::ArmMasterDownTimer>(ra).deadline;
    auto fire_b = only<action::ArmMasterDownTimer>(rb).deadline;
    ASSERT_LT(fire_a, fire_b);
    sa = step(a, sa, event::MasterDownTimer{}, fire_a).next;
    ASSERT_EQ(sa.state, State::Master);
    auto r = step(b, sb, event::AdvertReceived{200, a.primary, a.advert_int}, fire_a);
    sb = r.next;
    auto deadline = only<action::ArmMasterDownTimer>(r).deadline;
    EXPECT_EQ(deadline, fire_a + master_down_interval(b, a.advert_int));
    // A dies silently: B takes over at the deadline, 3 x advert + skew after the last advert.
    EXPECT_EQ(step(b, sb, event::MasterDownTimer{}, deadline).next.state, State::Master);
}
