#include "healthcheck/judge.hpp"

#include <limits>

namespace lvsd::healthcheck {

std::string_view to_string(Health h) { return h == Health::Up ? "UP" : "DOWN"; }

JudgeRules judge_rules(const CheckSpec& s) {
    return JudgeRules{s.rise, s.fall, s.initial, s.delay_loop, s.delay_before_retry};
}

HealthTracker::HealthTracker(JudgeRules rules, std::optional<Health> inherited)
    : rules_(rules),
      health_(inherited ? *inherited
                        : (rules.initial == InitialState::Up ? Health::Up : Health::Down)),
      judged_(inherited.has_value()),
      first_success_decides_(!inherited && rules.initial == InitialState::DownUntilFirstSuccess) {}

void HealthTracker::set_rules(const JudgeRules& rules) {
    rules_ = rules;
    if (!judged_) {
        health_ = rules.initial == InitialState::Up ? Health::Up : Health::Down;
        first_success_decides_ = rules.initial == InitialState::DownUntilFirstSuccess;
    } else {
        // Only a target that has never succeeded can still be waiting for its first success.
        first_success_decides_ = first_success_decides_ && rules.initial == InitialState::DownUntilFirstSuccess;
    }
}

Clock::time_point HealthTracker::next_probe_after(Clock::time_point at) const {
    // As observe(): a failure that has not (yet) taken an up target down is retried soon.
    const bool suspect = health_ == Health::Up && failures_ > 0;
    return at + (suspect ? rules_.delay_before_retry : rules_.delay_loop);
}

HealthTracker::Step HealthTracker::observe(bool ok, std::string_view reason, Clock::time_point now) {
    constexpr auto kMax = std::numeric_limits<unsigned>::max();
    Step step;
    judged_ = true;
    if (ok) {
        failures_ = 0;
        if (successes_ < kMax) ++successes_;
        const unsigned needed = first_success_decides_ ? 1 : rules_.rise;
        if (health_ == Health::Down && successes_ >= needed) {
            step.transition = Transition{Health::Down, Health::Up, std::string(reason), successes_,
                                         needed, now};
            health_ = Health::Up;
        }
        first_success_decides_ = false;
        step.next_probe = now + rules_.delay_loop;
        return step;
    }

    successes_ = 0;
    if (failures_ < kMax) ++failures_;
    if (health_ == Health::Up && failures_ >= rules_.fall) {
        step.transition = Transition{Health::Up, Health::Down, std::string(reason), failures_,
                                     rules_.fall, now};
        health_ = Health::Down;
    }
    // keepalived's retry: confirm a suspected failure quickly, but once a target is
    // down it is probed at the normal pace.
    step.next_probe = now + (health_ == Health::Up ? rules_.delay_before_retry : rules_.delay_loop);
    return step;
}

}  // namespace lvsd::healthcheck
