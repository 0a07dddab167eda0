// The service plane's half of the operator overrides (issue #15): the verbs, the drain
// poll and the state lines of the replies. What each verb does is override_plan's
// (pure); what a real server's weight becomes is desired.hpp's effective_weight().
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/override_plan.hpp"
#include "daemon/service_plane.hpp"
#include "ipvs/client.hpp"

namespace lvsd::daemon {

namespace {

// How often a running drain reads its real servers' connection counts.
constexpr std::chrono::seconds kDrainPoll{1};

}  // namespace

void ServicePlane::keep_overrides_in(OverrideStore& store) {
    overrides_ = &store;
    if (config_) {
        fit_overrides(nullptr);
        rebuild_desired();
        reconcile("overrides");
        poll_drains();
    }
}

const RealServerOverride* ServicePlane::override_of(const config::VirtualServer& vs,
                                                    const config::RealServer& rs) const {
    if (!overrides_) return nullptr;
    const auto& all = overrides_->get().real_servers;
    auto it = all.find({service_key(vs), destination_key(rs)});
    return it == all.end() ? nullptr : &it->second;
}

void ServicePlane::fit_overrides(const config::Config* previous) {
    if (!overrides_ || !config_) return;
    Overrides o = overrides_->get();
    for (const auto& line : fit_to_config(o, previous, *config_)) spdlog::info("{}", line);
    overrides_->update(std::move(o));
}

std::map<RealServerKey, uint64_t> ServicePlane::draining_connections() const {
    std::map<RealServerKey, uint64_t> out;
    if (!stats_ || !overrides_) return out;
    std::set<ipvs::ServiceKey> services;
    for (const auto& [k, ov] : overrides_->get().real_servers)
        if (ov.drain && !ov.drain->done) services.insert(k.service);
    for (const auto& service : services) {
        if (!reconciler_.kernel().contains(service)) continue;
        auto dests = stats_->destinations(service);
        if (!dests) {
            spdlog::warn("drain: cannot read the connections of {}: {}", ctl::format_service(service),
                         dests.error().message);
            continue;
        }
        for (const auto& d : *dests) out[{service, d.destination.key}] = d.active_connections;
    }
    return out;
}

Observed ServicePlane::observe(const RealServerKey& key, const std::map<RealServerKey, uint64_t>& active) const {
    Observed seen;
    const auto& kernel = reconciler_.kernel();
    if (auto s = kernel.find(key.service); s != kernel.end())
        seen.in_table = s->second.destinations.contains(key.real);
    if (auto it = active.find(key); it != active.end()) seen.active = it->second;
    return seen;
}

void ServicePlane::poll_drains() {
    drain_poll_.cancel();
    if (!overrides_ || !config_ || !draining(overrides_->get())) return;
    Overrides o = overrides_->get();
    const auto active = draining_connections();
    const auto log = advance_drains(o, [&](const RealServerKey& k) { return observe(k, active); },
                                    OverrideClock::now());
    if (!log.empty()) {
        for (const auto& line : log) spdlog::info("{}", line);
        overrides_->update(std::move(o));
        rebuild_desired();
        reconcile("drain over");
        if (quorum_listener_) quorum_listener_();
    }
    if (!draining(overrides_->get())) return;
    auto at = OverrideClock::now() + kDrainPoll;
    if (auto deadline = next_deadline(overrides_->get()); deadline && *deadline < at) at = *deadline;
    drain_poll_.expires_at(at);
    drain_poll_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) poll_drains();
    });
}

std::string ServicePlane::state_line(const RealServerKey& key) const {
    for (const auto& vs : config_->virtual_servers) {
        if (service_key(vs) != key.service) continue;
        for (const auto& rs : vs.real_servers) {
            if (destination_key(rs) != key.real) continue;
            const auto v = view(vs, rs);
            const auto* o = override_of(vs, rs);
            const auto what = o ? describe(*o, OverrideClock::now()) : std::string();
            return fmt::format("{}: {}, {}, {}", real_server_name(key),
                               rs.checks.empty() ? "up (no check)" : v.healthy ? "up" : "down",
                               what.empty() ? "no override" : what,
                               v.weight ? fmt::format("weight {} in the kernel", *v.weight) : "not in the kernel table");
        }
    }
    return real_server_name(key) + ": not in the configuration";
}

ctl::Reply ServicePlane::progress(const ctl::DrainTarget& target) {
    poll_drains();  // the newest counts, and a drain just over ends now
    std::vector<RealServerKey> keys;
    if (std::holds_alternative<ctl::Balancer>(target)) {
        keys = drained_with_the_balancer(*config_);
    } else {
        auto resolved = resolve(*config_, std::get<ctl::RealServerRef>(target));
        if (!resolved) return {false, resolved.error().message + "\n"};
        keys = std::move(*resolved);
    }
    const auto active = draining_connections();
    ctl::DrainProgress p;
    std::string lines;
    for (const auto& k : keys) {
        auto it = overrides_->get().real_servers.find(k);
        if (it == overrides_->get().real_servers.end() || !it->second.drain || it->second.drain->done) continue;
        ++p.draining;
        const auto seen = observe(k, active);
        p.connections += seen.active.value_or(0);
        lines += fmt::format("{}: {} active connection{} left\n", real_server_name(k),
                             seen.active ? std::to_string(*seen.active) : "?", seen.active == 1u ? "" : "s");
    }
    return {true, ctl::format_progress(p) + "\n" + lines};
}

ctl::Reply ServicePlane::on_request(const ctl::Request& request) {
    if (!overrides_ || !config_) return {false, "operator overrides are not kept by this lvsd\n"};
    if (const auto* p = std::get_if<ctl::ProgressRequest>(&request)) return progress(p->target);
    auto change = apply_request(overrides_->get(), *config_, request, OverrideClock::now());
    if (!change) return {false, change.error().message + "\n"};
    if (auto r = overrides_->commit(std::move(change->next)); !r) {
        spdlog::error("lvsctl {}: {}", ctl::format_request(request), r.error().message);
        return {false, r.error().message + "\n"};
    }
    spdlog::info("lvsctl {}", ctl::format_request(request));
    rebuild_desired();
    reconcile(ctl::format_request(request));
    if (quorum_listener_) quorum_listener_();
    poll_drains();
    std::string out;
    if (const auto* d = std::get_if<ctl::DrainRequest>(&request); d && std::holds_alternative<ctl::Balancer>(d->target))
        out += fmt::format("balancer drained: {} real server{}\n", change->concerned.size(),
                           change->concerned.size() == 1 ? "" : "s");
    for (const auto& k : change->concerned) out += state_line(k) + "\n";
    if (change->concerned.empty()) out += "nothing to change\n";
    return {true, out};
}

}  // namespace lvsd::daemon
