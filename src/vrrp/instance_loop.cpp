// vrrp::Instance's loop: adverts in (checked, counted, logged within limits), events to
// the state machine, its actions out (adverts, VIPs, GARPs, timers, notify commands).
#include <algorithm>
#include <variant>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/command.hpp"
#include "vrrp/ah.hpp"
#include "vrrp/detail/instance_impl.hpp"

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
constexpr auto kSilenceHint = 60s;

}  // namespace

void Instance::Impl::handle(std::span<const std::byte> payload, const IpAddress& src, const IpAddress& dst, uint8_t ttl,
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
void Instance::Impl::warn_if_addresses_differ(const Advert& a, const IpAddress& src) {
    if (a.priority == kStopPriority) return;
    std::vector<IpAddress> ours, theirs = a.addresses;
    for (auto& v : cfg.virtual_ipaddress) ours.push_back(v.prefix.address);
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    if (ours == theirs) return;
    log_limited(DropReason::AddressCountMismatch, "{}: {} advertises VIPs {}, ours are {}: the two configs differ",
                owner, src, fmt::join(theirs, ", "), fmt::join(ours, ", "));
}

void Instance::Impl::count_drop(const Drop& d) {
    ++counters.dropped[static_cast<std::size_t>(d.reason)];
    // Other VRIDs on the same wire, and our own loop, are normal traffic.
    if (d.reason == DropReason::WrongVrid || d.reason == DropReason::OwnAdvert) {
        spdlog::debug("{}: ignored: {}", owner, d.message);
        return;
    }
    log_limited(d.reason, "{}: dropped packet on {} ({}): {}", owner, cfg.interface, d.reason, d.message);
}

void Instance::Impl::silence_hint() {
    if (unicast || hinted || snap.state != State::Master) return;
    if (Clock::now() - last_rx < kSilenceHint) return;
    hinted = true;
    spdlog::warn(
        "{}: no advert from any peer on {} for {} s while master; if a peer runs, multicast to {} may be blocked "
        "(a bridge without multicast forwarding, a cloud network): consider unicast_peer",
        owner, cfg.interface, kSilenceHint.count(), family == Family::V4 ? "224.0.0.18" : "ff02::12");
}

void Instance::Impl::dispatch(const Event& e) {
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

void Instance::Impl::run(const Action& a, TimePoint now) {
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

void Instance::Impl::arm(TimePoint deadline, Event fire) {
    // One timer; the generation makes a completion that was already queued when
    // the timer was re-armed harmless.
    const uint64_t gen = ++timer_gen;
    timer.expires_at(deadline);
    timer.async_wait([this, alive = alive, gen, fire](const boost::system::error_code& ec) {
        if (!*alive || ec || gen != timer_gen) return;
        if (std::holds_alternative<event::AdvertTimer>(fire)) silence_hint();
        if (std::holds_alternative<event::MasterDownTimer>(fire) && params.hold && !hold_logged) {
            hold_logged = true;
            spdlog::warn("{}: no master heard for Master_Down_Interval, but the operator holds this instance in "
                         "BACKUP: no VRRP router holds its VIPs (clearing the hold lets it take over: lvsctl "
                         "hold --clear, see lvsctl status)",
                         owner);
        }
        dispatch(fire);
    });
}

void Instance::Impl::send_advert(uint8_t priority) {
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
Result<std::vector<std::byte>> Instance::Impl::seal_ah(std::span<const std::byte> advert, const IpAddress& dst) {
    if (!unicast || dst == cfg.unicast_peer.front()) {
        ah_counter = ah::next_sequence(ah_counter);
        if (++ip_id == 0) ip_id = 1;
    }
    return ah::seal(advert, {*facts.source, dst, ip_id, ah_counter, unicast}, cfg.auth_pass);
}

void Instance::Impl::notify(State s) {
    // On the commands' loop (the daemon's main thread), never on this one.
    for (auto& argv : notify_commands(cfg, s)) post_command(commands, std::move(argv), cfg.notify_timeout);
}

}  // namespace lvsd::vrrp
