// The judge: pure rise/fall hysteresis per target. No clock is read here; the caller
// passes `now` and gets back the verdict and when to probe next.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "healthcheck/check.hpp"

namespace lvsd::healthcheck {

enum class Health : uint8_t { Down, Up };

struct JudgeRules {
    unsigned rise = 1;
    unsigned fall = 1;
    InitialState initial = InitialState::DownUntilFirstSuccess;
    milliseconds delay_loop{60000};
    milliseconds delay_before_retry{1000};
};

JudgeRules judge_rules(const CheckSpec& spec);

// A change of verdict, decided by `count` consecutive results out of `needed`
// (rise or fall); `reason` is the deciding probe's.
struct Transition {
    Health from = Health::Down;
    Health to = Health::Down;
    std::string reason;
    unsigned count = 0;
    unsigned needed = 0;
    Clock::time_point at{};
};

class HealthTracker {
public:
    // `inherited`: a verdict already known for the target (it overrides rules.initial,
    // and counts as judged). A reload that changes only a running check's settings
    // keeps the tracker itself and calls set_rules().
    explicit HealthTracker(JudgeRules rules, std::optional<Health> inherited = std::nullopt);

    struct Step {
        std::optional<Transition> transition;
        Clock::time_point next_probe;
    };

    // One probe result. Returns a transition when the verdict changes, and the time
    // of the next probe: delay_before_retry after a failure that has not (yet) taken
    // an up target down, delay_loop otherwise.
    Step observe(bool ok, std::string_view reason, Clock::time_point now);

    // New rules for a running check (a reload that changed only its settings). The
    // verdict and the consecutive counts stay: a reload brings evidence of nothing, so it
    // never changes a verdict by itself. The next result is judged by the new rules with
    // the counts it continues: an up target with 2 failures and `fall` lowered from 5 to
    // 2 goes down at the next failure (due after delay_before_retry), one with `fall`
    // raised from 2 to 5 needs 3 more. Before the first result (nothing judged yet) the
    // new rules' initial state applies as if the check had started with them.
    void set_rules(const JudgeRules& rules);

    // When the next probe is due after a (judged) result at `at`, by the current rules:
    // what observe() returned then, had these been the rules. Used to reschedule a check
    // whose delay_loop or delay_before_retry changed.
    Clock::time_point next_probe_after(Clock::time_point at) const;

    Health health() const { return health_; }
    // False until the first probe result (the initial state still stands).
    bool judged() const { return judged_; }
    unsigned successes() const { return successes_; }
    unsigned failures() const { return failures_; }
    const JudgeRules& rules() const { return rules_; }

private:
    JudgeRules rules_;
    Health health_;
    bool judged_ = false;
    bool first_success_decides_;
    unsigned successes_ = 0;
    unsigned failures_ = 0;
};

std::string_view to_string(Health h);

}  // namespace lvsd::healthcheck

template <>
struct fmt::formatter<lvsd::healthcheck::Health> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::healthcheck::Health h, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::healthcheck::to_string(h), ctx);
    }
};

// `DOWN: connect refused (3/3 failures)`; the caller puts the target in front.
template <>
struct fmt::formatter<lvsd::healthcheck::Transition> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::healthcheck::Transition& t, Ctx& ctx) const {
        const bool up = t.to == lvsd::healthcheck::Health::Up;
        const char* noun = up ? (t.count == 1 ? "success" : "successes")
                              : (t.count == 1 ? "failure" : "failures");
        return fmt::formatter<std::string_view>::format(
            fmt::format("{}: {} ({}/{} {})", t.to, t.reason, t.count, t.needed, noun), ctx);
    }
};
