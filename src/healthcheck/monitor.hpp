// The monitor: runs every check on one io_context (one timer per distinct check, a
// coroutine only while its probe is in flight, no threads), feeds results to the
// judge and reports transitions. It never touches IPVS: the daemon maps transitions
// onto the desired table.
//
//   Monitor mon(io.get_executor(), [&](const HealthEvent& e) {
//       spdlog::info("{} {}", label_of(e.key), e);  // "... 192.0.2.21:8080 DOWN: connect refused (3/3 failures)"
//       desired.set_health(e.key, e.transition.to);
//   });
//   mon.update(specs_from(config));   // at start and on every SIGHUP: a check whose target
//                                     // is unchanged keeps its verdict and history
//   mon.status(key)->health;          // the current verdict (also before any transition)
//   mon.snapshot();                   // for lvsctl status
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <fmt/format.h>

#include "common/result.hpp"
#include "healthcheck/check.hpp"
#include "healthcheck/judge.hpp"
#include "healthcheck/probe.hpp"

namespace lvsd::healthcheck {

// A verdict change of one check. `key` is check_key(spec) (the check's current spec:
// settings changed by a reload included); every real server whose spec has that key
// shares it.
struct HealthEvent {
    std::string key;
    CheckSpec spec;
    Transition transition;
    // MISC_CHECK with misc_dynamic: the weight its last status 2..255 set (kept through
    // later 0 statuses, as keepalived keeps it).
    std::optional<uint32_t> weight{};
    // Not a verdict change: an up check's dynamic weight changed (transition.from ==
    // transition.to == Up, its reason the deciding result's).
    bool weight_only = false;
};

// One check as lvsctl shows it.
struct TargetStatus {
    std::string key;
    CheckSpec spec;
    Health health = Health::Down;
    bool judged = false;         // false until the first probe result
    unsigned successes = 0;      // consecutive
    unsigned failures = 0;       // consecutive
    unsigned users = 0;          // how many add() calls share this check
    uint64_t probes = 0;         // judged probe results (inconclusive ones not counted)
    std::optional<ProbeResult> last;  // the last result, inconclusive or not
    Clock::time_point last_probe{};   // when `last` came in (steady clock)
    std::optional<uint32_t> dynamic_weight{};  // see HealthEvent::weight
    // successes, failures, probes, last and last_probe all survive a reload that changes
    // only the check's settings (see Monitor::update).
};

struct MonitorStats {
    uint64_t probes_started = 0;
    uint64_t probes_ok = 0;
    uint64_t probes_failed = 0;
    uint64_t probes_inconclusive = 0;  // not judged: a local shortage (see ProbeResult)
    uint64_t in_flight = 0;
    uint64_t peak_in_flight = 0;
    // How late probes started against their schedule: <1ms, <10ms, <100ms, <1s, more.
    std::array<uint64_t, 5> lateness{};
    Clock::duration max_lateness{};
};

// Single-threaded: call it from the thread that runs the io_context, which must
// outlive the Monitor. The listener runs on that thread, once per transition.
class Monitor {
public:
    using Listener = std::function<void(const HealthEvent&)>;

    // `seed` drives the start jitter (fixed in tests, random by default).
    Monitor(boost::asio::any_io_executor executor, Listener listener,
            std::optional<uint64_t> seed = std::nullopt);
    // Stops every check. A probe in flight ends by its own deadline and closes its
    // socket as the io_context runs on (or when the io_context is destroyed).
    ~Monitor();
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    // Starts the check, or joins the running one with the same key (probed once,
    // verdict shared). Returns the key, or why the spec is invalid.
    Result<std::string> add(const CheckSpec& spec);
    // Drops one user of the check; the last one stops it (a probe in flight still
    // runs to its deadline, its result unreported). False for an unknown key.
    bool remove(const std::string& key);
    // Hitless reload: makes the running set exactly `specs` (specs with the same
    // check_key are users of one check). All specs are validated first: on any error
    // nothing changes. Then:
    // - an unchanged check keeps its state and schedule;
    // - a check whose settings changed but whose probe_identity did not (see check.hpp)
    //   is the same check under its new key: verdict, consecutive counts, probe count and
    //   last result go on, and the new rules judge the next result (HealthTracker::
    //   set_rules). Its next probe is due by the new delay_loop / delay_before_retry
    //   counted from its last result (at once if that is past); a probe in flight
    //   finishes with the settings it started with;
    // - when several new keys share one probe identity, each takes over one going-away
    //   check of that identity (in key order), and a key left without one starts with a
    //   copy of the state of the most recently probed check of that identity, going away
    //   or staying;
    // - only a check with a new probe identity starts afresh, as its `initial` says.
    Result<void> update(const std::vector<CheckSpec>& specs);

    std::optional<TargetStatus> status(const std::string& key) const;
    std::vector<TargetStatus> snapshot() const;  // sorted by key
    const MonitorStats& stats() const;
    std::size_t size() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::healthcheck

// `192.0.2.21:8080 DOWN: connect refused (3/3 failures)`
template <>
struct fmt::formatter<lvsd::healthcheck::HealthEvent> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::healthcheck::HealthEvent& e, Ctx& ctx) const {
        const auto target = lvsd::format_endpoint(e.spec.address, e.spec.effective_port());
        if (e.weight_only)
            return fmt::formatter<std::string_view>::format(
                fmt::format("{} weight {}: {}", target, e.weight ? std::to_string(*e.weight) : "as configured",
                            e.transition.reason),
                ctx);
        return fmt::formatter<std::string_view>::format(fmt::format("{} {}", target, e.transition), ctx);
    }
};
