#include "vrrp/instance.hpp"

#include <algorithm>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/command.hpp"
#include "host/monitor.hpp"
#include "host/vmac.hpp"
#include "vrrp/ah.hpp"
#include "vrrp/detail/arp_tracker.hpp"
#include "vrrp/detail/log_limit.hpp"
#include "vrrp/detail/transport.hpp"
#include "vrrp/detail/vip_keeper.hpp"
#include "vrrp/detail/vmac_link_local.hpp"
#include "vrrp/host_facts.hpp"
#include "vrrp/sync_group.hpp"

namespace lvsd::vrrp {
namespace {

using namespace std::chrono_literals;

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

const IpAddress kGroupV4 = boost::asio::ip::make_address("224.0.0.18");  // RFC 5798 §5.1.1.2
const IpAddress kGroupV6 = boost::asio::ip::make_address("ff02::12");    // RFC 5798 §5.1.2.2
constexpr auto kDropLogEvery = 10s;
constexpr auto kSilenceHint = 60s;

}  // namespace

struct Instance::Impl {
    boost::asio::io_context& io;
    host::Monitor& host;
    InstanceConfig cfg;
    const std::string owner;  // "VRRP instance NAME", the prefix of every log line
    Params params;
    Snapshot snap;
    Counters counters;
    std::function<void(State)> on_transition;
    std::function<void()> on_group_change;  // set by SyncGroup
    TimePoint state_since = Clock::now();
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Family family = Family::V4;
    bool unicast = false;
    HostFacts facts;  // as of the last host change
    EffectivePriority effective;  // as of the last tracker change
    std::map<std::string, bool> scripts;  // tracked script -> succeeds
    std::map<std::string, long> files;    // tracked file -> its value
    std::map<std::string, bool> processes;  // tracked process -> within its quorum
    Expectation expect;

    detail::Transport transport;
    detail::VipKeeper vips;
    std::unique_ptr<detail::ArpTracker> arp;
    host::Monitor::Subscription watching;
    boost::asio::steady_timer timer;
    uint64_t timer_gen = 0;
    bool healthy = true;  // the host allows it to act and the ARP targets answer

    // Rate limits per drop reason, plus one slot (kCount) for send errors.
    detail::LogLimit<static_cast<std::size_t>(DropReason::kCount) + 1> limit{kDropLogEvery};
    TimePoint last_rx{};
    bool hinted = false;
    bool prepared = false;
    bool vmac_pending = false;  // a re-creation of the use_vmac interface is queued
    detail::VmacLinkLocal vmac_ll;  // IPv6 use_vmac: the macvlan's link-local address
    bool started = false;
    // auth_type AH (ah.hpp): keepalived's one counter for sent and accepted sequence
    // numbers, and the IP ID of our packets (the ICV covers it; never 0).
    uint32_t ah_counter = 0;
    uint16_t ip_id = 0;

    Impl(boost::asio::io_context& i, host::Monitor& h, InstanceConfig c)
        : io(i), host(h), cfg(std::move(c)), owner(fmt::format("VRRP instance {}", cfg.name)),
          transport(
              i, owner,
              [this](std::span<const std::byte> p, const IpAddress& src, const IpAddress& dst, uint8_t ttl,
                     std::span<const std::byte> packet) { handle(p, src, dst, ttl, packet); },
              [this](const Drop& d) { count_drop(d); }),
          vips(i, owner), timer(i), vmac_ll(owner) {}

    ~Impl() { *alive = false; }

    // ---- setup

    Result<void> prepare() {
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
    void refresh_params() {
        effective = vrrp::effective_priority(
            cfg.priority, collect_trackers(cfg, host.view(), {&scripts, &files, &processes,
                                                              arp ? std::optional<bool>(arp->ok()) : std::nullopt}));
        params = params_of(cfg, facts.source.value_or(IpAddress{}));
        params.priority = effective.priority;
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
    Result<void> make_vmac() {
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

    Result<void> start() {
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

    void stop() {
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

    Result<void> reconfigure(InstanceConfig next) {
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

    // ---- the host changed: follow the interface by name, re-derive the source, repair VIPs

    void on_host(const host::View& view) {
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

    // A tracker's news from the daemon: names this instance does not track are ignored.
    template <class Refs, class V>
    void report(const Refs& refs, std::map<std::string, V>& known, const std::string& name, V value) {
        if (std::none_of(refs.begin(), refs.end(), [&](const auto& t) { return t.name == name; })) return;
        auto [it, fresh] = known.try_emplace(name, value);
        if (!fresh && it->second == value) return;
        it->second = value;
        trackers_changed();
    }

    const std::string& fault_reason() const { return facts.fault.empty() ? effective.fault : facts.fault; }

    // A tracker changed: the priority is computed again, and FAULT follows the verdict.
    void trackers_changed() {
        if (!started) return;
        const uint8_t before = params.priority;
        const std::string fault_before = effective.fault;
        refresh_params();
        if (params.priority != before) {
            spdlog::info("{}: effective priority {} -> {}", owner, before, params.priority);
            // A master tells its peers at once rather than at its next advert.
            if (snap.state == State::Master) send_advert(params.priority);
        }
        if (!effective.fault.empty() && effective.fault != fault_before)
            spdlog::warn("{}: {}: FAULT", owner, effective.fault);
        update_health();
    }

    // One verdict over the host facts and the trackers; the machine hears only its
    // changes.
    void update_health() {
        if (!started) return;
        const bool now_ok = facts.fault.empty() && effective.fault.empty();
        if (now_ok == healthy) return;
        healthy = now_ok;
        if (now_ok) spdlog::info("{}: the host allows it to act again", owner);
        dispatch(now_ok ? Event{event::LinkUp{}} : Event{event::LinkDown{}});
    }

    // ---- receiving

    void handle(std::span<const std::byte> payload, const IpAddress& src, const IpAddress& dst, uint8_t ttl,
                std::span<const std::byte> packet) {
        if (cfg.auth_ah) {  // the VRRP part is inside the AH header
            auto o = ah::open(packet);
            if (auto* d = std::get_if<Drop>(&o)) return count_drop(*d);
            payload = std::get<ah::Opened>(o).vrrp;
        }
        auto a = parse(payload, src, dst);
        if (!a) return count_drop(a.error());
        if (auto d = check(a.value(), ttl, src, expect)) return count_drop(*d);
        if (unicast && std::find(cfg.unicast_peer.begin(), cfg.unicast_peer.end(), src) == cfg.unicast_peer.end())
            return count_drop(Drop{DropReason::BadAddress, fmt::format("advert from {}, not a unicast_peer", src)});
        // Last, once the advert is ours (other VRIDs have their own keys): ICV, SPI, replay.
        if (cfg.auth_ah) {
            auto r = ah::authenticate(packet, cfg.auth_pass, unicast, ah_counter);
            if (auto* d = std::get_if<Drop>(&r)) return count_drop(*d);
            ah_counter = std::get<uint32_t>(r);
        }
        ++counters.adverts_received;
        warn_if_addresses_differ(a.value(), src);
        last_rx = Clock::now();
        hinted = false;
        dispatch(event::AdvertReceived{a->priority, src, a->max_advert_int});
    }

    // RFC 5798 §7.1 lets a receiver check that the advertised addresses are its own; like
    // keepalived without vrrp_strict we accept the advert (dropping it would start a
    // second master) but say so: the two configs have drifted apart.
    void warn_if_addresses_differ(const Advert& a, const IpAddress& src) {
        if (a.priority == kStopPriority) return;
        std::vector<IpAddress> ours, theirs = a.addresses;
        for (auto& v : cfg.virtual_ipaddress) ours.push_back(v.prefix.address);
        std::sort(ours.begin(), ours.end());
        std::sort(theirs.begin(), theirs.end());
        if (ours == theirs) return;
        log_limited(DropReason::AddressCountMismatch, "{}: {} advertises VIPs {}, ours are {}: the two configs differ",
                    owner, src, fmt::join(theirs, ", "), fmt::join(ours, ", "));
    }

    void count_drop(const Drop& d) {
        ++counters.dropped[static_cast<std::size_t>(d.reason)];
        // Other VRIDs on the same wire, and our own loop, are normal traffic.
        if (d.reason == DropReason::WrongVrid || d.reason == DropReason::OwnAdvert) {
            spdlog::debug("{}: ignored: {}", owner, d.message);
            return;
        }
        log_limited(d.reason, "{}: dropped packet on {} ({}): {}", owner, cfg.interface, d.reason, d.message);
    }

    template <class... Args>
    void log_limited(DropReason r, fmt::format_string<Args...> f, Args&&... args) {
        limit.warn(static_cast<std::size_t>(r), f, std::forward<Args>(args)...);
    }

    void silence_hint() {
        if (unicast || hinted || snap.state != State::Master) return;
        if (Clock::now() - last_rx < kSilenceHint) return;
        hinted = true;
        spdlog::warn(
            "{}: no advert from any peer on {} for {} s while master; if a peer runs, multicast to {} may be blocked "
            "(a bridge without multicast forwarding, a cloud network): consider unicast_peer",
            owner, cfg.interface, kSilenceHint.count(), family == Family::V4 ? "224.0.0.18" : "ff02::12");
    }

    // ---- the loop: events in, actions out

    void dispatch(const Event& e) {
        const TimePoint now = Clock::now();
        const State before = snap.state;
        auto r = step(params, snap, e, now);
        snap = r.next;
        if (snap.state != before) {
            ++counters.transitions;
            state_since = now;
            spdlog::info("{}: {} -> {}", owner, before, snap.state);
        }
        for (auto& a : r.actions) run(a, now);
        counters.vip_repairs = vips.repairs();
        counters.garps_sent = vips.garps_sent();
        if (snap.state != before && on_transition) on_transition(snap.state);
        if (snap.state != before && on_group_change) on_group_change();
    }

    void run(const Action& a, TimePoint now) {
        std::visit(Overloaded{
                       [&](const action::SendAdvert& s) { send_advert(s.priority); },
                       [&](const action::AddVips&) { vips.reconcile(cfg, facts, host.view(), true, true); },
                       [&](const action::RemoveVips&) {
                           vips.stop_announcing();
                           vips.reconcile(cfg, facts, host.view(), false, true);
                       },
                       [&](const action::SendGarp&) { vips.announce(cfg, facts, now, params.advert_int); },
                       [&](const action::ArmAdvertTimer& t) { arm(t.deadline, event::AdvertTimer{}); },
                       [&](const action::ArmMasterDownTimer& t) { arm(t.deadline, event::MasterDownTimer{}); },
                       [&](const action::CancelTimer&) {
                           ++timer_gen;
                           timer.cancel();
                       },
                       [&](const action::Notify& n) { notify(n.state); },
                   },
                   a);
    }

    void arm(TimePoint deadline, Event fire) {
        // One timer; the generation makes a completion that was already queued when
        // the timer was re-armed harmless.
        const uint64_t gen = ++timer_gen;
        timer.expires_at(deadline);
        timer.async_wait([this, alive = alive, gen, fire](const boost::system::error_code& ec) {
            if (!*alive || ec || gen != timer_gen) return;
            if (std::holds_alternative<event::AdvertTimer>(fire)) silence_hint();
            dispatch(fire);
        });
    }

    void send_advert(uint8_t priority) {
        // Without a socket or a source (interface or address gone) nothing can be sent;
        // the instance is in FAULT then, or about to be.
        if (!transport.is_open() || !facts.source) return;
        const Advert a = advert_of(cfg, priority);
        std::vector<IpAddress> dsts = cfg.unicast_peer;
        if (!unicast) dsts = {family == Family::V4 ? kGroupV4 : kGroupV6};
        for (auto& dst : dsts) {
            auto bytes = encode(a, *facts.source, dst);
            if (bytes && cfg.auth_ah) bytes = seal_ah(*bytes, dst);
            if (!bytes) {
                spdlog::error("{}: {}", owner, bytes.error().message);
                return;
            }
            if (auto r = transport.send(*bytes, *facts.source, dst); !r) {
                ++counters.send_errors;
                log_limited(DropReason::kCount, "{}", r.error().message);
            } else {
                ++counters.adverts_sent;
            }
        }
    }

    // keepalived advances the sequence number and the IP ID once per advert, not per peer.
    Result<std::vector<std::byte>> seal_ah(std::span<const std::byte> advert, const IpAddress& dst) {
        if (!unicast || dst == cfg.unicast_peer.front()) {
            ah_counter = ah::next_sequence(ah_counter);
            if (++ip_id == 0) ip_id = 1;
        }
        return ah::seal(advert, {*facts.source, dst, ip_id, ah_counter, unicast}, cfg.auth_pass);
    }

    void notify(State s) {
        for (auto& argv : notify_commands(cfg, s)) run_command(io.get_executor(), std::move(argv), cfg.notify_timeout);
    }
};

Instance::Instance(boost::asio::io_context& io, host::Monitor& host, InstanceConfig config)
    : impl_(std::make_unique<Impl>(io, host, std::move(config))) {}
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
boost::asio::any_io_executor Instance::executor() const { return impl_->io.get_executor(); }

}  // namespace lvsd::vrrp
