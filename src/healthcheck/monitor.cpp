#include "healthcheck/monitor.hpp"

#include <algorithm>
#include <map>
#include <random>
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
    Entry(const asio::any_io_executor& ex, std::string k, CheckSpec s, std::optional<Health> inherited)
        : key(std::move(k)), spec(std::move(s)), tracker(judge_rules(spec), inherited), timer(ex) {}

    std::string key;
    CheckSpec spec;
    HealthTracker tracker;
    unsigned users = 1;
    uint64_t probes = 0;
    std::optional<ProbeResult> last;
    Clock::time_point last_probe{};
    Clock::time_point next_probe{};
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
        const auto spread = e->spec.warmup.value_or(e->spec.delay_loop);
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
        e->timer.expires_at(at);
        e->timer.async_wait([self = shared_from_this(), e](const boost::system::error_code& ec) {
            if (!ec && !e->stopped) self->launch(e);
        });
    }

    void launch(const std::shared_ptr<Entry>& e) {
        probe_started(e->next_probe);
        // TCP_CHECK's half-open probe is a plain asynchronous operation: no coroutine
        // to spawn for the commonest check (it is a third of its CPU at 10,000 checks/s).
        if (e->spec.type == CheckType::Tcp && e->spec.tcp_method == TcpMethod::HalfOpen) {
            if (!half_open) {
                half_open = &asio::use_service<detail::SynProber>(asio::query(executor, asio::execution::context));
                half_open->hold();  // until the Monitor goes
            }
            if (half_open->usable(executor, family_of(e->spec.address))) {
                half_open->async_probe(e->spec, [self = shared_from_this(), e](ProbeResult r) {
                    self->completed(e, std::move(r));
                });
                return;
            }
        }
        // The handler owns the entry, whose spec the probe reads until it completes.
        asio::co_spawn(executor, probe(e->spec),
                       [self = shared_from_this(), e](std::exception_ptr p, ProbeResult r) {
                           if (p) r = ProbeResult{false, unexpected(p)};
                           self->completed(e, std::move(r));
                       });
    }

    void completed(const std::shared_ptr<Entry>& e, ProbeResult&& r) {
        --stats.in_flight;
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
            return now + std::max<Clock::duration>(e.spec.delay_before_retry, std::chrono::milliseconds(100));
        }
        ++(r.ok ? stats.probes_ok : stats.probes_failed);
        auto step = e.tracker.observe(r.ok, r.reason, now);
        ++e.probes;
        e.last = std::move(r);
        e.last_probe = now;
        if (step.transition && listener) {
            // A copy: the listener may update() or even destroy the Monitor.
            auto l = listener;
            l(HealthEvent{e.key, e.spec, std::move(*step.transition)});
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
                            e.spec,
                            e.tracker.health(),
                            e.tracker.judged(),
                            e.tracker.successes(),
                            e.tracker.failures(),
                            e.users,
                            e.probes,
                            e.last,
                            e.last_probe};
    }

    std::shared_ptr<Entry> make_entry(std::string key, const CheckSpec& spec, std::optional<Health> inherited) {
        auto e = std::make_shared<Entry>(executor, std::move(key), spec, inherited);
        entries.emplace(e->key, e);
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
    auto e = impl_->make_entry(std::move(key), spec, std::nullopt);
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

    // Checks that go away, indexed by what they probe, so that a replacement with
    // new rules inherits the health instead of starting over.
    std::map<std::string, std::shared_ptr<Entry>> leaving;
    for (auto it = impl_->entries.begin(); it != impl_->entries.end();) {
        if (wanted.count(it->first)) {
            ++it;
            continue;
        }
        impl_->stop(*it->second);
        leaving.emplace(probe_identity(it->second->spec), it->second);
        it = impl_->entries.erase(it);
    }

    for (auto& [key, want] : wanted) {
        auto& [spec, users] = want;
        if (auto it = impl_->entries.find(key); it != impl_->entries.end()) {
            it->second->users = users;
            it->second->spec.warmup = spec->warmup;
            continue;
        }
        std::optional<Health> inherited;
        if (auto old = leaving.find(probe_identity(*spec));
            old != leaving.end() && old->second->tracker.judged())
            inherited = old->second->tracker.health();
        auto e = impl_->make_entry(key, *spec, inherited);
        e->users = users;
        impl_->start(e);
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
