// The judge: rise/fall hysteresis and retry pacing, driven with plain values.
#include "healthcheck/judge.hpp"

#include <gtest/gtest.h>

using namespace lvsd::healthcheck;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0{};

JudgeRules rules(unsigned rise, unsigned fall, InitialState initial = InitialState::DownUntilFirstSuccess) {
    return JudgeRules{rise, fall, initial, 10s, 2s};
}

}  // namespace

TEST(Judge, DefaultIsDownUntilTheFirstSuccess) {
    HealthTracker t(rules(3, 3));
    EXPECT_EQ(t.health(), Health::Down);
    EXPECT_FALSE(t.judged());
    // Failures before the first success change nothing and are probed at delay_loop.
    auto s = t.observe(false, "connect refused", t0);
    EXPECT_FALSE(s.transition);
    EXPECT_EQ(s.next_probe, t0 + 10s);
    EXPECT_TRUE(t.judged());
    // The first success alone is enough, whatever rise says.
    s = t.observe(true, "connected", t0 + 10s);
    ASSERT_TRUE(s.transition);
    EXPECT_EQ(s.transition->to, Health::Up);
    EXPECT_EQ(s.transition->needed, 1u);
    EXPECT_EQ(fmt::format("{}", *s.transition), "UP: connected (1/1 success)");
    // After that, rise applies to every recovery.
    for (int i = 0; i < 3; ++i) t.observe(false, "connect refused", t0);
    ASSERT_EQ(t.health(), Health::Down);
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);
    auto up = t.observe(true, "ok", t0);
    ASSERT_TRUE(up.transition);
    EXPECT_EQ(fmt::format("{}", *up.transition), "UP: ok (3/3 successes)");
}

TEST(Judge, InitialDownNeedsRiseSuccesses) {
    HealthTracker t(rules(2, 1, InitialState::Down));
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);
    EXPECT_EQ(t.health(), Health::Down);
    EXPECT_TRUE(t.observe(true, "ok", t0).transition);
    EXPECT_EQ(t.health(), Health::Up);
}

TEST(Judge, InitialUpNeedsFallFailures) {
    HealthTracker t(rules(1, 2, InitialState::Up));
    EXPECT_EQ(t.health(), Health::Up);
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);  // already up: no transition
    EXPECT_FALSE(t.observe(false, "refused", t0).transition);
    auto s = t.observe(false, "refused", t0);
    ASSERT_TRUE(s.transition);
    EXPECT_EQ(s.transition->from, Health::Up);
    EXPECT_EQ(s.transition->to, Health::Down);
}

TEST(Judge, FallCountsExactlyAndRetriesSoonerUntilDown) {
    HealthTracker t(rules(1, 3));
    t.observe(true, "ok", t0);
    ASSERT_EQ(t.health(), Health::Up);

    auto s1 = t.observe(false, "connect refused", t0 + 1s);
    EXPECT_FALSE(s1.transition);
    EXPECT_EQ(s1.next_probe, t0 + 1s + 2s);  // delay_before_retry
    auto s2 = t.observe(false, "connect refused", t0 + 3s);
    EXPECT_FALSE(s2.transition);
    EXPECT_EQ(s2.next_probe, t0 + 5s);
    auto s3 = t.observe(false, "connect refused", t0 + 5s);
    ASSERT_TRUE(s3.transition);
    EXPECT_EQ(fmt::format("{}", *s3.transition), "DOWN: connect refused (3/3 failures)");
    EXPECT_EQ(s3.transition->at, t0 + 5s);
    // Down: back to the normal pace, and no repeated transition.
    EXPECT_EQ(s3.next_probe, t0 + 15s);
    auto s4 = t.observe(false, "connect refused", t0 + 15s);
    EXPECT_FALSE(s4.transition);
    EXPECT_EQ(s4.next_probe, t0 + 25s);
}

TEST(Judge, ASuccessResetsTheFailureCountAndViceVersa) {
    HealthTracker t(rules(2, 2));
    t.observe(true, "ok", t0);
    t.observe(false, "x", t0);
    EXPECT_EQ(t.failures(), 1u);
    auto s = t.observe(true, "ok", t0);
    EXPECT_EQ(s.next_probe, t0 + 10s);
    EXPECT_EQ(t.failures(), 0u);
    EXPECT_FALSE(t.observe(false, "x", t0).transition);  // 1/2 again, not 2/2
    EXPECT_EQ(t.health(), Health::Up);
    EXPECT_TRUE(t.observe(false, "x", t0).transition);
    // Flapping recovery: ok, fail, ok never reaches rise=2.
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);
    EXPECT_FALSE(t.observe(false, "x", t0).transition);
    EXPECT_FALSE(t.observe(true, "ok", t0).transition);
    EXPECT_EQ(t.health(), Health::Down);
    EXPECT_TRUE(t.observe(true, "ok", t0).transition);
}

TEST(Judge, InheritedHealthOverridesTheInitialState) {
    HealthTracker up(rules(3, 3), Health::Up);
    EXPECT_TRUE(up.judged());
    EXPECT_EQ(up.health(), Health::Up);
    EXPECT_FALSE(up.observe(true, "ok", t0).transition);
    // An inherited down target needs the full rise: no first-success shortcut.
    HealthTracker down(rules(2, 3), Health::Down);
    EXPECT_FALSE(down.observe(true, "ok", t0).transition);
    EXPECT_TRUE(down.observe(true, "ok", t0).transition);
}

TEST(Judge, RulesComeFromTheSpec) {
    CheckSpec s;
    s.rise = 4;
    s.fall = 5;
    s.delay_loop = 7s;
    s.delay_before_retry = 3s;
    s.initial = InitialState::Up;
    auto r = judge_rules(s);
    EXPECT_EQ(r.rise, 4u);
    EXPECT_EQ(r.fall, 5u);
    EXPECT_EQ(r.delay_loop, 7s);
    EXPECT_EQ(r.delay_before_retry, 3s);
    EXPECT_EQ(r.initial, InitialState::Up);
}

// Issue #11: a reload that changes only the rules keeps the tracker: verdict and counts.
TEST(Judge, NewRulesKeepTheVerdictAndTheCounts) {
    HealthTracker t(rules(1, 5, InitialState::Up));
    t.observe(false, "refused", t0);
    t.observe(false, "refused", t0 + 1s);
    ASSERT_EQ(t.health(), Health::Up);
    ASSERT_EQ(t.failures(), 2u);

    // fall lowered to 2 under 2 failures already seen: no verdict without a probe ...
    t.set_rules(rules(1, 2, InitialState::Up));
    EXPECT_EQ(t.health(), Health::Up);
    EXPECT_EQ(t.failures(), 2u);
    EXPECT_TRUE(t.judged());
    EXPECT_EQ(t.rules().fall, 2u);
    // ... the next failure decides, counted on from the old ones.
    auto s = t.observe(false, "refused", t0 + 2s);
    ASSERT_TRUE(s.transition);
    EXPECT_EQ(fmt::format("{}", *s.transition), "DOWN: refused (3/2 failures)");

    // rise raised under successes already seen: the missing ones are still needed.
    HealthTracker r(rules(2, 1, InitialState::Down));
    EXPECT_FALSE(r.observe(true, "ok", t0).transition);
    r.set_rules(rules(3, 1, InitialState::Down));
    EXPECT_EQ(r.successes(), 1u);
    EXPECT_FALSE(r.observe(true, "ok", t0).transition);
    EXPECT_TRUE(r.observe(true, "ok", t0).transition);
}

TEST(Judge, ADownTargetStaysDownWhenTheRulesChange) {
    HealthTracker t(rules(1, 1, InitialState::Up));
    ASSERT_TRUE(t.observe(false, "connect timeout after 500ms", t0).transition);
    for (auto initial : {InitialState::Up, InitialState::Down, InitialState::DownUntilFirstSuccess}) {
        t.set_rules(rules(1, 3, initial));
        EXPECT_EQ(t.health(), Health::Down);
        EXPECT_FALSE(t.observe(false, "connect timeout after 800ms", t0).transition);
    }
    // And a down target with alpha that has never succeeded keeps its first-success rule.
    HealthTracker a(rules(3, 1));
    a.observe(false, "refused", t0);
    a.set_rules(rules(4, 1));
    EXPECT_TRUE(a.observe(true, "ok", t0).transition);
}

TEST(Judge, BeforeTheFirstResultTheNewInitialStateApplies) {
    HealthTracker t(rules(2, 2, InitialState::Up));
    t.set_rules(rules(2, 2, InitialState::DownUntilFirstSuccess));
    EXPECT_FALSE(t.judged());
    EXPECT_EQ(t.health(), Health::Down);
    EXPECT_TRUE(t.observe(true, "ok", t0).transition);  // the first success alone
    HealthTracker d(rules(2, 2, InitialState::Down));
    d.set_rules(rules(2, 2, InitialState::Up));
    EXPECT_EQ(d.health(), Health::Up);
}

TEST(Judge, TheNextProbeFollowsTheCurrentRules) {
    HealthTracker t(rules(1, 3, InitialState::Up));
    t.observe(true, "ok", t0);
    EXPECT_EQ(t.next_probe_after(t0), t0 + 10s);
    t.set_rules(JudgeRules{1, 3, InitialState::Up, 4s, 500ms});
    EXPECT_EQ(t.next_probe_after(t0), t0 + 4s);
    // A suspected failure (up, not yet `fall`) is retried after delay_before_retry.
    auto s = t.observe(false, "refused", t0 + 4s);
    EXPECT_EQ(s.next_probe, t0 + 4s + 500ms);
    EXPECT_EQ(t.next_probe_after(t0 + 4s), s.next_probe);
    t.set_rules(JudgeRules{1, 3, InitialState::Up, 4s, 200ms});
    EXPECT_EQ(t.next_probe_after(t0 + 4s), t0 + 4s + 200ms);
}
