#include "healthcheck/monitor.hpp"

#include <map>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace lvsd::healthcheck {

namespace asio = boost::asio;

namespace {

struct Entry {
    Entry(std::string k, CheckSpec s, std::optional<Health> inherited)
        : key(std::move(k)), spec(std::move(s)), tracker(judge_rules(spec), inherited) {}

    std::string key;
    CheckSpec spec;
    HealthTracker tracker;
    unsigned users = 1;
    uint64_t probes = 0;
    std::optional<ProbeResult> last;
    Clock::time_point last_probe{};
    bool stopped = false;
    asio::cancellation_signal cancel;
};

}  // namespace

struct Monitor::Impl {
    asio::any_io_executor executor;
    Listener listener;
    std::mt19937_64 rng;
    std::map<std::string, std::shared_ptr<Entry>> entries;
    MonitorStats stats;
    bool stopped = false;

    void start(const std::shared_ptr<Impl>& self, const std::shared_ptr<Entry>& e);
    void stop(Entry& e) {
        e.stopped = true;
        e.cancel.emit(asio::cancellation_type::terminal);
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
};

namespace {

// One check's life: wait for its time, probe, judge, report, repeat. The coroutine
// holds the entry and the monitor state, so removing a check or destroying the
// Monitor only needs to cancel it.
asio::awaitable<void> run_check(std::shared_ptr<Monitor::Impl> m, std::shared_ptr<Entry> e,
                                Clock::time_point first) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    Clock::time_point next = first;
    while (!e->stopped) {
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || e->stopped) co_return;
        auto& stats = m->stats;
        const auto started = Clock::now();
        m->record_lateness(started > next ? started - next : Clock::duration::zero());
        ++stats.probes_started;
        if (++stats.in_flight > stats.peak_in_flight) stats.peak_in_flight = stats.in_flight;
        ProbeResult r = co_await probe(e->spec);
        --stats.in_flight;
        if (e->stopped) co_return;
        ++(r.ok ? stats.probes_ok : stats.probes_failed);

        const auto now = Clock::now();
        auto step = e->tracker.observe(r.ok, r.reason, now);
        ++e->probes;
        e->last = std::move(r);
        e->last_probe = now;
        next = step.next_probe;
        if (step.transition && m->listener) {
            // A copy: the listener may update() or even destroy the Monitor.
            auto listener = m->listener;
            listener(HealthEvent{e->key, e->spec, std::move(*step.transition)});
        }
    }
}

}  // namespace

void Monitor::Impl::start(const std::shared_ptr<Impl>& self, const std::shared_ptr<Entry>& e) {
    const auto spread = e->spec.warmup.value_or(e->spec.delay_loop);
    Clock::duration offset{};
    if (spread.count() > 0) {
        const auto span = std::chrono::duration_cast<Clock::duration>(spread).count();
        offset = Clock::duration(std::uniform_int_distribution<Clock::rep>(0, span - 1)(rng));
    }
    asio::co_spawn(executor, run_check(self, e, Clock::now() + offset),
                   // The handler owns the entry too: the cancellation signal it is bound to
                   // must outlive the coroutine frame, which co_spawn destroys first.
                   asio::bind_cancellation_slot(e->cancel.slot(), [e, key = e->key](std::exception_ptr p) {
                       if (!p) return;
                       try {
                           std::rethrow_exception(p);
                       } catch (const boost::system::system_error& err) {
                           if (err.code() == asio::error::operation_aborted) return;
                           spdlog::error("health check {} stopped: {}", key, err.what());
                       } catch (const std::exception& err) {
                           spdlog::error("health check {} stopped: {}", key, err.what());
                       }
                   }));
}

Monitor::Monitor(asio::any_io_executor executor, Listener listener, std::optional<uint64_t> seed)
    : impl_(std::make_shared<Impl>()) {
    impl_->executor = std::move(executor);
    impl_->listener = std::move(listener);
    impl_->rng.seed(seed ? *seed : std::random_device{}());
}

Monitor::~Monitor() {
    impl_->stopped = true;
    impl_->listener = nullptr;  // no report after the owner is gone
    for (auto& [key, e] : impl_->entries) impl_->stop(*e);
    impl_->entries.clear();
}

Result<std::string> Monitor::add(const CheckSpec& spec) {
    if (auto v = validate(spec); !v) return v.error();
    auto key = check_key(spec);
    if (auto it = impl_->entries.find(key); it != impl_->entries.end()) {
        ++it->second->users;
        return key;
    }
    auto e = std::make_shared<Entry>(key, spec, std::nullopt);
    impl_->entries.emplace(key, e);
    impl_->start(impl_, e);
    return key;
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
    std::map<std::string, std::pair<const CheckSpec*, unsigned>> wanted;
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
        auto e = std::make_shared<Entry>(key, *spec, inherited);
        e->users = users;
        impl_->entries.emplace(key, e);
        impl_->start(impl_, e);
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
