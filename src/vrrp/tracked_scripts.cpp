#include "vrrp/tracked_scripts.hpp"

#include <boost/asio/steady_timer.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/process.hpp"
#include "vrrp/priority.hpp"

namespace lvsd::vrrp {

struct TrackedScripts::Impl : std::enable_shared_from_this<Impl> {
    struct Runner {
        ScriptConfig config;
        ScriptVerdict verdict;
        ScriptStatus status;
        boost::asio::steady_timer timer;
        bool running = false;
        bool stopped = false;
        Runner(boost::asio::io_context& io, ScriptConfig c)
            : config(std::move(c)), verdict(config.rise, config.fall, config.init_fail), timer(io) {
            status.ok = verdict.ok();
        }
    };

    boost::asio::io_context& io;
    std::map<std::string, std::shared_ptr<Runner>> runners;
    std::function<void(const std::string&, bool)> listener;

    explicit Impl(boost::asio::io_context& i) : io(i) {}

    void schedule(const std::shared_ptr<Runner>& r, std::chrono::steady_clock::time_point at) {
        r->timer.expires_at(at);
        r->timer.async_wait([self = shared_from_this(), r, at](const boost::system::error_code& ec) {
            if (ec || r->stopped) return;
            self->run(r);
            self->schedule(r, at + r->config.interval);
        });
    }

    void run(const std::shared_ptr<Runner>& r) {
        // A run still going (a slow script) is not joined by a second one: the tick is
        // skipped, and its timeout ends it.
        if (r->running) return;
        r->running = true;
        run_process(io.get_executor(), r->config.argv, r->config.timeout, [self = shared_from_this(), r](const ProcessResult& p) {
            r->running = false;
            if (r->stopped) return;
            ++r->status.runs;
            if (!p.succeeded()) ++r->status.failures;
            const std::string last = describe(p);
            if (!p.succeeded() && last != r->status.last)
                spdlog::debug("vrrp script {}: {}", r->config.name, last);
            r->status.last = last;
            if (!r->verdict.observe(p.succeeded())) return;
            r->status.ok = r->verdict.ok();
            if (r->status.ok)
                spdlog::info("vrrp script {}: succeeds again ({} in a row)", r->config.name, r->config.rise);
            else
                spdlog::warn("vrrp script {}: failed ({} in a row, last: {})", r->config.name, r->config.fall, last);
            if (self->listener) self->listener(r->config.name, r->status.ok);
        });
    }
};

TrackedScripts::TrackedScripts(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}
TrackedScripts::~TrackedScripts() { stop(); }

void TrackedScripts::apply(const std::vector<ScriptConfig>& scripts) {
    auto& runners = impl_->runners;
    std::map<std::string, std::shared_ptr<Impl::Runner>> next;
    // New scripts start spread over their interval rather than all at once: a thousand
    // spawns in one burst keep the loop busy long enough to make the next tick find
    // runs not yet reaped (and skip them). The first one starts now.
    std::size_t fresh = 0, fresh_total = 0;
    for (const auto& c : scripts)
        if (auto it = runners.find(c.name); it == runners.end() || it->second->config.argv != c.argv) ++fresh_total;
    for (const auto& c : scripts) {
        auto it = runners.find(c.name);
        if (it != runners.end() && it->second->config.argv == c.argv) {
            auto& r = it->second;
            const bool new_interval = r->config.interval != c.interval;
            r->config = c;
            r->verdict.set_rules(c.rise, c.fall);
            if (new_interval) impl_->schedule(r, std::chrono::steady_clock::now() + c.interval);
            next.emplace(c.name, r);
            continue;
        }
        auto r = std::make_shared<Impl::Runner>(impl_->io, c);
        const auto phase = c.interval * static_cast<long>(fresh++) / static_cast<long>(fresh_total);
        impl_->schedule(r, std::chrono::steady_clock::now() + phase);
        next.emplace(c.name, r);
    }
    for (auto& [name, r] : runners)
        if (!next.count(name) || next.at(name) != r) {
            r->stopped = true;
            r->timer.cancel();
        }
    runners = std::move(next);
}

void TrackedScripts::stop() {
    for (auto& [name, r] : impl_->runners) {
        r->stopped = true;
        r->timer.cancel();
    }
    impl_->runners.clear();
}

void TrackedScripts::on_change(std::function<void(const std::string&, bool)> listener) {
    impl_->listener = std::move(listener);
}

std::optional<bool> TrackedScripts::ok(const std::string& name) const {
    auto it = impl_->runners.find(name);
    if (it == impl_->runners.end()) return std::nullopt;
    return it->second->status.ok;
}

std::optional<ScriptStatus> TrackedScripts::status(const std::string& name) const {
    auto it = impl_->runners.find(name);
    if (it == impl_->runners.end()) return std::nullopt;
    return it->second->status;
}

}  // namespace lvsd::vrrp
