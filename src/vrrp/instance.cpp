// vrrp::Instance: setting an instance up (sockets, use_vmac, VIP leftovers), reconfiguring
// it, and following the host and the trackers; what it does with adverts and the state
// machine's actions is instance_loop.cpp's.
#include "vrrp/instance.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "host/vmac.hpp"
#include "vrrp/detail/instance_impl.hpp"

namespace lvsd::vrrp {

Result<void> Instance::Impl::prepare() {
    if (prepared) return {};
    if (auto v = validate(cfg); !v) return v;
    if (auto h = check_host(cfg, host.view()); !h.empty()) return make_error(ENODEV, "{}", h.front().message);
    family = instance_family(cfg);
    unicast = !cfg.unicast_peer.empty();
    facts = host_facts(cfg, host.view());
    if (auto r = vips.open(); !r) return r;
    if (auto r = vmac_ll.open(cfg); !r) return r;
    // A use_vmac interface that does not exist yet is made at start(); its socket then.
    if (facts.ifindex)
        if (auto r = transport.open(advert_interface(cfg), facts.ifindex, family, unicast, cfg.auth_ah); !r)
            return r;
    if (!cfg.track_arp_target.empty()) {
        arp = std::make_unique<detail::ArpTracker>(io, owner, cfg.track_arp_target, cfg.track_arp_interval,
                                                   cfg.track_arp_fall, [this](bool) { trackers_changed(); });
        if (auto r = arp->open(cfg.interface, facts.base_ifindex); !r) return r;
        arp->set_source(facts.source);
    }
    prepared = true;
    return {};
}

// The priority (configured, moved by the trackers), the machine's parameters and the
// receive checks, from the config, the trackers and the advert source as they are now.
void Instance::Impl::refresh_params() {
    effective = vrrp::effective_priority(
        cfg.priority, collect_trackers(cfg, host.view(), {&scripts, &files, &processes,
                                                          arp ? std::optional<bool>(arp->ok()) : std::nullopt}));
    params = params_of(cfg, facts.source.value_or(IpAddress{}));
    params.priority = overridden_priority(effective.priority, override_, cfg.failover_priority);
    params.hold = override_ == Override::Hold;
    expect = Expectation{cfg.version,
                         cfg.virtual_router_id,
                         family,
                         auth_type_of(cfg),
                         cfg.auth_pass,
                         params.advert_int,
                         {}};
    if (facts.source) expect.own_addresses = {*facts.source};
    expect.ipv6_unicast = family == Family::V6 && !cfg.unicast_peer.empty();
}

// keepalived's use_vmac: the macvlan with the virtual router MAC, made (or taken as it
// is) now, and the view read again so that everything below sees it.
Result<void> Instance::Impl::make_vmac() {
    if (cfg.use_vmac.empty()) return {};
    vmac_ll.created();  // before the view is read again: the host events it brings are ours
    const bool v6 = family == Family::V6;
    if (auto r = host::create_vmac(cfg.use_vmac, facts.base_ifindex, cfg.interface,
                                   host::virtual_router_mac(cfg.virtual_router_id, v6), v6);
        !r)
        return make_error(r.error().code, "{}: {}", owner, r.error().message);
    if (auto r = host.resync(); !r) return r;
    facts = host_facts(cfg, host.view());
    // Read again once more after writing, so that the next host event does not find
    // the view without the link-local just added.
    if (vmac_ll.keep(cfg, host.view()))
        if (auto r = host.resync(); !r) return r;
    // (A socket opened at prepare() may be on a macvlan that a replaced instance has
    // deleted since: the index tells.)
    if (facts.ifindex && transport.ifindex() != facts.ifindex)
        if (auto r = transport.open(advert_interface(cfg), facts.ifindex, family, unicast, cfg.auth_ah); !r)
            return r;
    return {};
}

Result<void> Instance::Impl::start() {
    if (auto r = prepare(); !r) return r;
    if (auto r = make_vmac(); !r) return r;
    refresh_params();
    // An earlier run killed with -9 may have left our VIPs behind: we start as
    // backup, so they go (RFC 5798 §6.4.1 only adds them on becoming master).
    vips.clear_leftovers(cfg, facts, host.view());
    watching = host.subscribe([this](const host::View& v) { on_host(v); });
    healthy = facts.fault.empty() && effective.fault.empty();
    if (!healthy) spdlog::warn("{}: {}: FAULT", owner, fault_reason());
    started = true;
    last_rx = Clock::now();
    spdlog::info("{}: VRID {} v{} on {} from {}, priority {}, advert_int {} ms, {}", owner, cfg.virtual_router_id,
                 cfg.version, cfg.interface,
                 facts.source ? facts.source->to_string() : std::string("(no source address)"), cfg.priority,
                 cfg.advert_int.count(),
                 unicast ? fmt::format("unicast to {} peer(s)", cfg.unicast_peer.size()) : std::string("multicast"));
    if (!healthy) dispatch(event::LinkDown{});
    dispatch(event::Startup{});
    return {};
}

void Instance::Impl::stop() {
    if (!started) return;
    started = false;
    dispatch(event::Shutdown{});
    watching.reset();
    arp.reset();
    ++timer_gen;
    timer.cancel();
    vips.stop_announcing();
    transport.close();
    if (!cfg.use_vmac.empty())
        if (auto r = host::delete_vmac(cfg.use_vmac); !r) spdlog::warn("{}: {}", owner, r.error().message);
}

Result<void> Instance::Impl::reconfigure(InstanceConfig next) {
    if (auto v = validate(next); !v) return v;
    if (!reconfigurable(cfg, next))
        return make_error(0,
                          "{}: interface, virtual_router_id, version, address family, unicast mode or source, "
                          "or track_arp_target on/off changed: the instance must be restarted",
                          owner);
    if (!started) {
        cfg = std::move(next);
        return {};
    }
    // Checked against the host before anything changes (the caller did it too).
    if (auto h = check_host(next, host.view()); !h.empty()) return make_error(ENODEV, "{}", h.front().message);
    const bool master = snap.state == State::Master;
    // VIPs that leave the config go first, while the old config still names them.
    if (InstanceConfig leaving = vips_leaving(cfg, next); master && !leaving.virtual_ipaddress.empty())
        vips.reconcile(leaving, host_facts(leaving, host.view()), host.view(), false, true);
    cfg = std::move(next);
    if (auto why = override_refusal(cfg.name, cfg.priority, override_); !why.empty()) {
        spdlog::warn("{}: the operator's {} is dropped: {}", owner, to_string(override_), why);
        override_ = Override::None;
    }
    facts = host_facts(cfg, host.view());
    refresh_params();
    if (arp) arp->reconfigure(cfg.track_arp_target, cfg.track_arp_interval, cfg.track_arp_fall);
    if (master) {
        vips.reconcile(cfg, facts, host.view(), true, true);
        vips.announce(cfg, facts, Clock::now(), Duration(0));
    }
    spdlog::info("{}: reconfigured in state {} (priority {}, advert_int {} ms, {} VIPs)", owner, snap.state,
                 cfg.priority, cfg.advert_int.count(), cfg.virtual_ipaddress.size());
    update_health();
    return {};
}

void Instance::Impl::on_host(const host::View& view) {
    if (!started) return;
    HostFacts next = host_facts(cfg, view);
    const std::string& sender = advert_interface(cfg);
    if (next.ifindex != transport.ifindex()) {
        if (next.ifindex == 0) {
            spdlog::warn("{}: interface {} is gone", owner, sender);
            transport.close();
        } else {
            spdlog::info("{}: interface {} is there (index {}): listening on it", owner, sender, next.ifindex);
            if (auto r = transport.open(sender, next.ifindex, family, unicast, cfg.auth_ah); !r)
                spdlog::error("{}", r.error().message);
        }
    }
    if (arp && next.base_ifindex != facts.base_ifindex) {
        if (next.base_ifindex == 0) arp->close();
        else if (auto r = arp->open(cfg.interface, next.base_ifindex); !r) spdlog::error("{}", r.error().message);
    }
    // Our virtual MAC interface deleted behind our back while its base is there: made
    // again (after this notification, so that the view is not re-read inside it).
    if (!cfg.use_vmac.empty() && next.base_ifindex && !view.link(cfg.use_vmac) && !vmac_pending) {
        vmac_pending = true;
        spdlog::warn("{}: virtual MAC interface {} was removed behind lvsd's back: creating it again", owner,
                     cfg.use_vmac);
        boost::asio::post(io, [this, keep = alive] {
            if (!*keep || !started) return;
            vmac_pending = false;
            if (auto r = make_vmac(); !r) spdlog::error("{}", r.error().message);
        });
    }
    if (!vmac_pending) vmac_ll.keep(cfg, view);
    if (next.source != facts.source)
        spdlog::info("{}: advert source {} -> {}", owner,
                     facts.source ? facts.source->to_string() : std::string("none"),
                     next.source ? next.source->to_string() : std::string("none"));
    if (next.fault != facts.fault && !next.fault.empty()) spdlog::warn("{}: {}: FAULT", owner, next.fault);
    facts = std::move(next);
    if (arp) arp->set_source(facts.source);
    trackers_changed();
    vips.reconcile(cfg, facts, view, snap.state == State::Master, false);
    counters.vip_repairs = vips.repairs();
}

// A tracker changed: the priority is computed again, and FAULT follows the verdict.
void Instance::Impl::trackers_changed() {
    if (!started) return;
    const uint8_t before = params.priority;
    const std::string fault_before = effective.fault;
    refresh_params();
    if (params.priority != before) {
        spdlog::info("{}: effective priority {} -> {}", owner, before, params.priority);
        // A master tells its peers at once rather than at its next advert (not while it
        // hands over: then it advertises 0 until a taker is heard).
        if (snap.state == State::Master && !snap.yielding) send_advert(params.priority);
    }
    if (!effective.fault.empty() && effective.fault != fault_before)
        spdlog::warn("{}: {}: FAULT", owner, effective.fault);
    update_health();
}

Result<void> Instance::Impl::set_override(Override o) {
    if (auto why = override_refusal(cfg.name, cfg.priority, o); !why.empty()) return make_error(EPERM, "{}", why);
    if (o == override_) return {};
    const Override before = override_;
    override_ = o;
    hold_logged = false;
    if (!started) return {};
    const uint8_t priority_before = params.priority;
    refresh_params();
    spdlog::info("{}: operator {} -> {}: priority {} -> {}{}", owner, to_string(before), to_string(o),
                 priority_before, params.priority,
                 o == Override::Hold      ? ", never master until cleared"
                 : o == Override::Failover ? ", master again only if no other is heard"
                                           : "");
    // A Master hands over (or, cleared, advertises its priority again at once).
    dispatch(o != Override::None ? Event{event::Yield{}} : Event{event::Resume{}});
    return {};
}

// One verdict over the host facts and the trackers; the machine hears only its
// changes.
void Instance::Impl::update_health() {
    if (!started) return;
    const bool now_ok = facts.fault.empty() && effective.fault.empty();
    if (now_ok == healthy) return;
    healthy = now_ok;
    if (now_ok) spdlog::info("{}: the host allows it to act again", owner);
    dispatch(now_ok ? Event{event::LinkUp{}} : Event{event::LinkDown{}});
}

Instance::Instance(boost::asio::io_context& io, host::Monitor& host, InstanceConfig config,
                   boost::asio::any_io_executor commands)
    : impl_(std::make_unique<Impl>(io, std::move(commands), host, std::move(config))) {}
Instance::~Instance() = default;
Result<void> Instance::prepare() { return impl_->prepare(); }
Result<void> Instance::start() { return impl_->start(); }
void Instance::stop() { impl_->stop(); }
Result<void> Instance::reconfigure(InstanceConfig next) { return impl_->reconfigure(std::move(next)); }
State Instance::state() const { return impl_->snap.state; }
const Counters& Instance::counters() const { return impl_->counters; }
const std::string& Instance::fault() const { return impl_->fault_reason(); }
const std::vector<Contribution>& Instance::contributions() const { return impl_->effective.contributions; }
void Instance::script_result(const std::string& name, bool ok) {
    impl_->report(impl_->cfg.track_script, impl_->scripts, name, ok);
}
void Instance::process_result(const std::string& name, bool ok) {
    impl_->report(impl_->cfg.track_process, impl_->processes, name, ok);
}
void Instance::file_value(const std::string& name, long value) {
    impl_->report(impl_->cfg.track_file, impl_->files, name, value);
}

Result<void> Instance::set_override(Override o) { return impl_->set_override(o); }
Override Instance::operator_override() const { return impl_->override_; }
bool Instance::handing_over() const { return impl_->snap.yielding; }
std::optional<IpAddress> Instance::source() const { return impl_->facts.source; }
std::chrono::steady_clock::time_point Instance::state_since() const { return impl_->state_since; }
uint8_t Instance::effective_priority() const { return impl_->started ? impl_->params.priority : uint8_t{0}; }
const InstanceConfig& Instance::config() const { return impl_->cfg; }
void Instance::on_transition(std::function<void(State)> f) { impl_->on_transition = std::move(f); }
// For SyncGroup (a friend): its view of a member.
const Snapshot& Instance::snapshot() const { return impl_->snap; }
bool Instance::running() const { return impl_->started; }
void Instance::follow(const Event& e) { impl_->dispatch(e); }
void Instance::on_group_change(std::function<void()> f) { impl_->on_group_change = std::move(f); }
boost::asio::any_io_executor Instance::executor() const { return impl_->commands; }

}  // namespace lvsd::vrrp
