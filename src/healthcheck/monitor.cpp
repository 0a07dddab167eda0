#include "healthcheck/monitor.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "healthcheck/detail/syn_prober.hpp"

namespace lvsd::healthcheck {

namespace asio = boost::asio;

namespace {

// One distinct check. Between probes it costs this object and one timer entry; a
// coroutine exists only while a probe is in flight (10,000 idle checks are ~10 MB
// less than with a coroutine per check waiting on its timer).
struct Entry {
    Entry(const asio::any_io_executor& ex, std::string k, std::shared_ptr<const CheckSpec> s, HealthTracker t)
        : key(std::move(k)), spec(std::move(s)), tracker(std::move(t)), timer(ex) {}

    std::string key;
    // Replaced whole when a reload changes the check's settings: a probe in flight keeps
    // the spec it started with, alive through its completion handler.
    std::shared_ptr<const CheckSpec> spec;
    HealthTracker tracker;
    unsigned users = 1;
    uint64_t probes = 0;
    std::optional<ProbeResult> last;
    std::optional<uint32_t> dynamic_weight;  // the last weight a MISC_CHECK status set
    Clock::time_point last_probe{};
    Clock::time_point next_probe{};
    uint64_t schedule_generation = 0;  // a timer handler of an older schedule does nothing
    bool in_flight = false;
    bool stopped = false;
    asio::steady_timer timer;
};

}  // namespace

struct Monitor::Impl : std::enable_shared_from_this<Monitor::Impl> {
    asio::any_io_executor executor;
    detail::SynProber* half_open = nullptr;  // the io_context's, once a TCP check ran
    Listener listener;
    std::mt19937_64 rng;
    std::map<std::string_view, std::shared_ptr<Entry>> entries;  // keyed by Entry::key
    MonitorStats stats;
    Clock::time_point next_shortage_warning{};
    uint64_t shortage_since_warning = 0;

    void start(const std::shared_ptr<Entry>& e) {
        const auto spread = e->spec->warmup.value_or(e->spec->delay_loop);
        Clock::duration offset{};
        if (spread.count() > 0) {
            const auto span = std::chrono::duration_cast<Clock::duration>(spread).count();
            offset = Clock::duration(std::uniform_int_distribution<Clock::rep>(0, span - 1)(rng));
        }
        schedule(e, Clock::now() + offset);
    }

    // A probe in flight is not interrupted: it ends by its own deadline (at most
    // connect_timeout), closes its socket, and its result is dropped. (Emitting a
    // cancellation into a co_spawn that may have completed meanwhile is unsafe.)
    void stop(Entry& e) {
        e.stopped = true;
        e.timer.cancel();
    }

    void schedule(const std::shared_ptr<Entry>& e, Clock::time_point at) {
        e->next_probe = at;
        // expires_at() cancels the wait it replaces, unless that wait has already
        // completed and its handler is queued: the generation makes that one a no-op.
        const auto generation = ++e->schedule_generation;
        e->timer.expires_at(at);
        e->timer.async_wait([self = shared_from_this(), e, generation](const boost::system::error_code& ec) {
            if (!ec && !e->stopped && generation == e->schedule_generation) self->launch(e);
        });
    }

    // The check's settings changed (Monitor::update): the next probe is due by the new
    // delay_loop / delay_before_retry counted from the last result, not after whatever
    // the old ones left pending. A probe in flight finishes as it started (its spec is its
    // own) and its completion schedules the next one by the new rules.
    void reschedule(const std::shared_ptr<Entry>& e) {
        if (e->in_flight || e->stopped) return;
        const auto now = Clock::now();
        if (!e->last) {
            // Still waiting for the first probe, spread over the old interval: restart the
            // spread when the new interval is shorter than what is left.
            const auto spread = e->spec->warmup.value_or(e->spec->delay_loop);
            if (e->next_probe > now + spread) start(e);
            return;
        }
        const auto due = e->last->inconclusive ? e->last_probe + retry_after_shortage(*e->spec)
                                               : e->tracker.next_probe_after(e->last_probe);
        schedule(e, std::max(due, now));
    }

    static Clock::duration retry_after_shortage(const CheckSpec& spec) {
        return std::max<Clock::duration>(spec.delay_before_retry, std::chrono::milliseconds(100));
    }

    void launch(const std::shared_ptr<Entry>& e) {
        e->in_flight = true;
        probe_started(e->next_probe);
        // TCP_CHECK's half-open probe is a plain asynchronous operation: no coroutine
        // to spawn for the commonest check (it is a third of its CPU at 10,000 checks/s).
        const auto& spec = e->spec;
        if (spec->type == CheckType::Tcp && spec->tcp_method == TcpMethod::HalfOpen) {
            if (!half_open) {
                half_open = &asio::use_service<detail::SynProber>(asio::query(executor, asio::execution::context));
                half_open->hold();  // until the Monitor goes
            }
            if (half_open->usable(executor, family_of(spec->address))) {
                // The prober takes what it needs from the spec before this returns.
                half_open->async_probe(*spec, [self = shared_from_this(), e](ProbeResult r) {
                    self->completed(e, std::move(r));
                });
                return;
            }
        }
        // The handler owns the spec the probe reads until it completes (the entry may get
        // a new one meanwhile).
        asio::co_spawn(executor, probe(*spec),
                       [self = shared_from_this(), e, spec](std::exception_ptr p, ProbeResult r) {
                           if (p) r = ProbeResult{false, unexpected(p)};
                           self->completed(e, std::move(r));
                       });
    }

    void completed(const std::shared_ptr<Entry>& e, ProbeResult&& r) {
        --stats.in_flight;
        e->in_flight = false;
        if (e->stopped) return;
        schedule(e, judge(*e, std::move(r)));
    }

    // Probes report expected failures as values; anything thrown is a bug, but it
    // still counts as a failed probe rather than a check that silently stops.
    static std::string unexpected(std::exception_ptr p) {
        try {
            std::rethrow_exception(p);
        } catch (const std::exception& err) {
            return fmt::format("probe error: {}", err.what());
        } catch (...) {
            return "probe error";
        }
    }

    // Judges one result, reports a transition, returns when to probe next.
    Clock::time_point judge(Entry& e, ProbeResult&& r) {
        const auto now = Clock::now();
        if (r.inconclusive) {
            // Not the real server's fault: keep the verdict, say so, try again soon.
            ++stats.probes_inconclusive;
            warn_shortage(r.reason, now);
            e.last = std::move(r);
            e.last_probe = now;
            return now + retry_after_shortage(*e.spec);
        }
        ++(r.ok ? stats.probes_ok : stats.probes_failed);
        auto step = e.tracker.observe(r.ok, r.reason, now);
        ++e.probes;
        // keepalived's misc_dynamic: a status 2..255 sets the weight; 0 leaves it as it was.
        const auto weight_before = e.dynamic_weight;
        if (r.ok && r.weight) e.dynamic_weight = r.weight;
        std::string reason = r.reason;
        e.last = std::move(r);
        e.last_probe = now;
        if (!listener) return step.next_probe;
        // A copy: the listener may update() or even destroy the Monitor.
        auto l = listener;
        if (step.transition) {
            l(HealthEvent{e.key, *e.spec, std::move(*step.transition), e.dynamic_weight});
        } else if (e.dynamic_weight != weight_before && e.tracker.health() == Health::Up) {
            const auto h = e.tracker.health();
            l(HealthEvent{e.key, *e.spec, Transition{h, h, std::move(reason), 0, 0, now}, e.dynamic_weight, true});
        }
        return step.next_probe;
    }

    // One log line per 10 s at most, however many checks hit the shortage.
    void warn_shortage(const std::string& reason, Clock::time_point now) {
        ++shortage_since_warning;
        if (now < next_shortage_warning) return;
        spdlog::warn("health checks cannot run: {} ({} probes skipped, verdicts kept)", reason,
                     shortage_since_warning);
        shortage_since_warning = 0;
        next_shortage_warning = now + std::chrono::seconds(10);
    }

    void probe_started(Clock::time_point deadline) {
        const auto now = Clock::now();
        record_lateness(now > deadline ? now - deadline : Clock::duration::zero());
        ++stats.probes_started;
        if (++stats.in_flight > stats.peak_in_flight) stats.peak_in_flight = stats.in_flight;
    }

    void record_lateness(Clock::duration late) {
        using namespace std::chrono_literals;
        const std::size_t bucket = late < 1ms ? 0 : late < 10ms ? 1 : late < 100ms ? 2 : late < 1s ? 3 : 4;
        ++stats.lateness[bucket];
        if (late > stats.max_lateness) stats.max_lateness = late;
    }

    TargetStatus status_of(const Entry& e) const {
        return TargetStatus{e.key,
                            *e.spec,
                            e.tracker.health(),
                            e.tracker.judged(),
                            e.tracker.successes(),
                            e.tracker.failures(),
                            e.users,
                            e.probes,
                            e.last,
                            e.last_probe,
                            e.dynamic_weight};
    }

    std::shared_ptr<Entry> make_entry(std::string key, const CheckSpec& spec) {
        auto e = std::make_shared<Entry>(executor, std::move(key), std::make_shared<const CheckSpec>(spec),
                                         HealthTracker(judge_rules(spec)));
        entries.emplace(e->key, e);
        return e;
    }

    // A reload changed only `e`'s settings: the same entry (verdict, counts, probe count,
    // last result) goes on under its new key with the new spec and rules.
    void take_over(const std::shared_ptr<Entry>& e, std::string key, const CheckSpec& spec) {
        entries.erase(e->key);  // keyed by a view of e->key: out before it changes
        e->key = std::move(key);
        e->spec = std::make_shared<const CheckSpec>(spec);
        e->tracker.set_rules(judge_rules(spec));
        entries.emplace(e->key, e);
        reschedule(e);
    }

    // A new check that probes what `donor` probes, with other settings: it starts with a
    // copy of the donor's verdict and history rather than from `initial`.
    std::shared_ptr<Entry> fork(const Entry& donor, std::string key, const CheckSpec& spec) {
        auto tracker = donor.tracker;
        tracker.set_rules(judge_rules(spec));
        auto e = std::make_shared<Entry>(executor, std::move(key), std::make_shared<const CheckSpec>(spec),
                                         std::move(tracker));
        e->probes = donor.probes;
        e->last = donor.last;
        e->dynamic_weight = donor.dynamic_weight;
        e->last_probe = donor.last_probe;
        entries.emplace(e->key, e);
        if (e->last) {
            reschedule(e);
        } else {
            start(e);
        }
        return e;
    }
};

Monitor::Monitor(asio::any_io_executor executor, Listener listener, std::optional<uint64_t> seed)
    : impl_(std::make_shared<Impl>()) {
    impl_->executor = std::move(executor);
    impl_->listener = std::move(listener);
    impl_->rng.seed(seed ? *seed : std::random_device{}());
}

Monitor::~Monitor() {
    impl_->listener = nullptr;  // no report after the owner is gone
    for (auto& [key, e] : impl_->entries) impl_->stop(*e);
    impl_->entries.clear();
    if (impl_->half_open) impl_->half_open->unhold();
}

Result<std::string> Monitor::add(const CheckSpec& spec) {
    if (auto v = validate(spec); !v) return v.error();
    auto key = check_key(spec);
    if (auto it = impl_->entries.find(key); it != impl_->entries.end()) {
        ++it->second->users;
        return key;
    }
    auto e = impl_->make_entry(std::move(key), spec);
    impl_->start(e);
    return e->key;
}

bool Monitor::remove(const std::string& key) {
    auto it = impl_->entries.find(key);
    if (it == impl_->entries.end()) return false;
    if (--it->second->users == 0) {
        impl_->stop(*it->second);
        impl_->entries.erase(it);
    }
    return true;
}

Result<void> Monitor::update(const std::vector<CheckSpec>& specs) {
    std::map<std::string, std::pair<const CheckSpec*, unsigned>, std::less<>> wanted;
    for (const auto& s : specs) {
        if (auto v = validate(s); !v) return v.error();
        auto [it, fresh] = wanted.try_emplace(check_key(s), &s, 0u);
        ++it->second.second;
    }

    // Every running check by what it probes (in key order within one identity), and
    // which of them are going away.
    std::map<std::string, std::vector<std::shared_ptr<Entry>>> by_identity;
    std::set<const Entry*> leaving;
    for (const auto& [key, e] : impl_->entries) {
        by_identity[probe_identity(*e->spec)].push_back(e);
        if (!wanted.count(key)) leaving.insert(e.get());
    }

    for (auto& [key, want] : wanted) {
        auto& [spec, users] = want;
        if (auto it = impl_->entries.find(key); it != impl_->entries.end()) {
            auto& e = it->second;
            e->users = users;
            if (e->spec->warmup != spec->warmup) {
                auto copy = std::make_shared<CheckSpec>(*e->spec);
                copy->warmup = spec->warmup;
                e->spec = std::move(copy);
            }
            continue;
        }
        // A new key. When a check that goes away probes the same target, only settings
        // changed: that very check goes on under the new key. When several new keys
        // claim one identity, the first (in key order) takes over the first leaving
        // check, the next the next one; a key left without one starts with a copy of the
        // state of the most recently probed check of that identity (leaving or staying:
        // a real server whose settings now differ from the others' that share its check
        // keeps its verdict too). Only a new target starts from `initial`.
        std::shared_ptr<Entry> e;
        if (auto same = by_identity.find(probe_identity(*spec)); same != by_identity.end()) {
            auto& candidates = same->second;
            for (const auto& c : candidates)
                if (leaving.erase(c.get())) {
                    e = c;
                    impl_->take_over(e, key, *spec);
                    break;
                }
            if (!e) {
                const Entry* donor = nullptr;
                for (const auto& c : candidates)
                    if (c->tracker.judged() && (!donor || c->last_probe > donor->last_probe)) donor = c.get();
                if (donor) e = impl_->fork(*donor, key, *spec);
            }
        }
        if (!e) {
            e = impl_->make_entry(key, *spec);
            impl_->start(e);
        }
        e->users = users;
    }

    for (auto it = impl_->entries.begin(); it != impl_->entries.end();) {
        if (!leaving.count(it->second.get())) {
            ++it;
            continue;
        }
        impl_->stop(*it->second);
        it = impl_->entries.erase(it);
    }
    return {};
}

std::optional<TargetStatus> Monitor::status(const std::string& key) const {
    auto it = impl_->entries.find(key);
    if (it == impl_->entries.end()) return std::nullopt;
    return impl_->status_of(*it->second);
}

std::vector<TargetStatus> Monitor::snapshot() const {
    std::vector<TargetStatus> out;
    out.reserve(impl_->entries.size());
    for (const auto& [key, e] : impl_->entries) out.push_back(impl_->status_of(*e));
    return out;
}

const MonitorStats& Monitor::stats() const { return impl_->stats; }

std::size_t Monitor::size() const { return impl_->entries.size(); }

}  // namespace lvsd::healthcheck
