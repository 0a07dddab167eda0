#include "daemon/override_plan.hpp"

#include <set>

#include <fmt/format.h>

#include "daemon/desired.hpp"

namespace lvsd::daemon {

namespace {

std::set<RealServerKey> keys_of(const config::Config& config) {
    auto all = every_real_server(config);
    return {all.begin(), all.end()};
}

Drain new_drain(std::optional<uint32_t> timeout_s, OverrideClock::time_point now, bool balancer) {
    Drain d;
    if (timeout_s) d.deadline = now + std::chrono::seconds(*timeout_s);
    d.balancer = balancer;
    return d;
}

void drop_empty(Overrides& o) { std::erase_if(o.real_servers, [](const auto& e) { return e.second.empty(); }); }

}  // namespace

std::string real_server_name(const RealServerKey& k) {
    return fmt::format("{} in {}", ctl::format_real(k.real), ctl::format_service(k.service));
}

std::vector<RealServerKey> every_real_server(const config::Config& config) {
    std::vector<RealServerKey> out;
    for (const auto& vs : config.virtual_servers)
        for (const auto& rs : vs.real_servers) out.push_back({service_key(vs), destination_key(rs)});
    return out;
}

std::vector<RealServerKey> drained_with_the_balancer(const config::Config& config) {
    std::vector<RealServerKey> out;
    for (const auto& vs : config.virtual_servers)
        if (!vs.announce)
            for (const auto& rs : vs.real_servers) out.push_back({service_key(vs), destination_key(rs)});
    return out;
}

Result<std::vector<RealServerKey>> resolve(const config::Config& config, const ctl::RealServerRef& ref) {
    std::vector<RealServerKey> out;
    bool service_found = false;
    for (const auto& vs : config.virtual_servers) {
        const auto service = service_key(vs);
        if (ref.service && *ref.service != service) continue;
        service_found = true;
        for (const auto& rs : vs.real_servers)
            if (destination_key(rs) == ref.real) out.push_back({service, ref.real});
    }
    if (ref.service && !service_found)
        return make_error(0, "no virtual service {} in the configuration", ctl::format_service(*ref.service));
    if (out.empty() && ref.service)
        return make_error(0, "virtual service {} has no real server {}", ctl::format_service(*ref.service),
                          ctl::format_real(ref.real));
    if (out.empty()) return make_error(0, "no virtual service has a real server {}", ctl::format_real(ref.real));
    return out;
}

Result<OverrideChange> apply_request(const Overrides& current, const config::Config& config,
                                     const ctl::Request& request, OverrideClock::time_point now) {
    OverrideChange change{current, {}};
    Overrides& o = change.next;
    auto targets = [&](const ctl::DrainTarget& t) -> Result<std::vector<RealServerKey>> {
        if (std::holds_alternative<ctl::Balancer>(t)) return drained_with_the_balancer(config);
        return resolve(config, std::get<ctl::RealServerRef>(t));
    };
    if (const auto* d = std::get_if<ctl::DrainRequest>(&request)) {
        auto keys = targets(d->target);
        if (!keys) return keys.error();
        const bool balancer = std::holds_alternative<ctl::Balancer>(d->target);
        if (balancer) o.balancer_drain = new_drain(d->timeout_s, now, true);
        for (const auto& k : *keys) {
            auto& drain = o.real_servers[k].drain;
            if (!drain) {
                drain = new_drain(d->timeout_s, now, balancer);
            } else if (d->timeout_s) {
                drain->deadline = now + std::chrono::seconds(*d->timeout_s);
            }
            // Named on its own, a real server's drain is the operator's, not the balancer's.
            if (!balancer) drain->balancer = false;
        }
        change.concerned = std::move(*keys);
    } else if (const auto* u = std::get_if<ctl::UndrainRequest>(&request)) {
        if (std::holds_alternative<ctl::Balancer>(u->target)) {
            o.balancer_drain.reset();
            for (auto& [k, ov] : o.real_servers)
                if (ov.drain && ov.drain->balancer) {
                    ov.drain.reset();
                    change.concerned.push_back(k);
                }
        } else {
            auto keys = targets(u->target);
            if (!keys) return keys.error();
            for (const auto& k : *keys)
                if (auto it = o.real_servers.find(k); it != o.real_servers.end()) it->second.drain.reset();
            change.concerned = std::move(*keys);
        }
    } else if (const auto* x = std::get_if<ctl::DisableRequest>(&request)) {
        auto keys = resolve(config, x->target);
        if (!keys) return keys.error();
        for (const auto& k : *keys) o.real_servers[k].disabled = x->disable;
        change.concerned = std::move(*keys);
    } else if (const auto* w = std::get_if<ctl::WeightRequest>(&request)) {
        auto keys = resolve(config, w->target);
        if (!keys) return keys.error();
        for (const auto& k : *keys) o.real_servers[k].weight = w->weight;
        change.concerned = std::move(*keys);
    } else {
        return make_error(0, "not a real-server request: {}", ctl::format_request(request));
    }
    drop_empty(o);
    return change;
}

std::vector<std::string> advance_drains(Overrides& o, const ObservedLookup& observe, OverrideClock::time_point now) {
    std::vector<std::string> log;
    for (auto& [k, ov] : o.real_servers) {
        if (!ov.drain || ov.drain->done) continue;
        const auto seen = observe(k);
        std::string why;
        if (!seen.in_table)
            why = "not in the IPVS table";
        else if (seen.active && *seen.active == 0)
            why = "no active connections left";
        else if (ov.drain->deadline && now >= *ov.drain->deadline)
            why = seen.active ? fmt::format("--timeout reached with {} active connection{} left", *seen.active,
                                            *seen.active == 1 ? "" : "s")
                              : "--timeout reached";
        if (why.empty()) continue;
        ov.drain->done = true;
        log.push_back(fmt::format("real server {} drained: {}", real_server_name(k), why));
    }
    return log;
}

std::optional<OverrideClock::time_point> next_deadline(const Overrides& o) {
    std::optional<OverrideClock::time_point> next;
    for (const auto& [k, ov] : o.real_servers)
        if (ov.drain && !ov.drain->done && ov.drain->deadline && (!next || *ov.drain->deadline < *next))
            next = ov.drain->deadline;
    return next;
}

bool draining(const Overrides& o) {
    for (const auto& [k, ov] : o.real_servers)
        if (ov.drain && !ov.drain->done) return true;
    return false;
}

std::vector<std::string> fit_to_config(Overrides& o, const config::Config* previous, const config::Config& next) {
    std::vector<std::string> log;
    const auto now_there = keys_of(next);
    for (auto it = o.real_servers.begin(); it != o.real_servers.end();) {
        if (now_there.contains(it->first)) {
            ++it;
            continue;
        }
        log.push_back(fmt::format("override of real server {} dropped: the configuration no longer has it",
                                  real_server_name(it->first)));
        it = o.real_servers.erase(it);
    }
    if (o.balancer_drain) {
        const auto before = previous ? keys_of(*previous) : std::set<RealServerKey>{};
        for (const auto& k : drained_with_the_balancer(next)) {
            if (before.contains(k)) continue;
            auto& drain = o.real_servers[k].drain;
            if (drain) continue;
            drain = o.balancer_drain;  // a deadline already passed ends it on the next poll
            log.push_back(fmt::format("real server {} drained with the balancer (drain --balancer is on)", real_server_name(k)));
        }
    }
    return log;
}

std::string describe(const RealServerOverride& o, OverrideClock::time_point now) {
    std::vector<std::string> parts;
    if (o.drain) {
        if (o.drain->done) {
            parts.push_back("drained");
        } else if (o.drain->deadline) {
            const auto left = std::chrono::ceil<std::chrono::seconds>(*o.drain->deadline - now).count();
            parts.push_back(fmt::format("draining (timeout in {} s)", std::max<int64_t>(left, 0)));
        } else {
            parts.push_back("draining");
        }
        if (o.drain->balancer) parts.back() += " with the balancer";
    }
    if (o.disabled) parts.push_back("disabled");
    if (o.weight) parts.push_back(fmt::format("weight {} set by hand", *o.weight));
    return fmt::format("{}", fmt::join(parts, ", "));
}

OverrideStatus override_status(const RealServerOverride& o, OverrideClock::time_point now) {
    OverrideStatus out;
    if (o.drain) {
        out.drain = o.drain->done ? "drained" : "draining";
        if (!o.drain->done && o.drain->deadline)
            out.drain_timeout_s =
                std::max<int64_t>(std::chrono::ceil<std::chrono::seconds>(*o.drain->deadline - now).count(), 0);
        out.drain_balancer = o.drain->balancer;
    }
    out.disabled = o.disabled;
    out.weight = o.weight;
    return out;
}

}  // namespace lvsd::daemon
