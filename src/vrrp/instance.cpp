#include "vrrp/instance.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <deque>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "vrrp/arp_track.hpp"
#include "vrrp/detail/garp.hpp"
#include "vrrp/detail/notify.hpp"
#include "vrrp/detail/rtnl.hpp"
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

Family vip_family(const InstanceConfig& c) { return family_of(c.virtual_ipaddress.front().prefix.address); }

bool is_vip(const InstanceConfig& c, const IpAddress& a) {
    for (auto& v : c.virtual_ipaddress)
        if (v.prefix.address == a) return true;
    return false;
}

IpAddress from_sockaddr(const sockaddr* sa) {
    if (sa->sa_family == AF_INET) {
        auto* s = reinterpret_cast<const sockaddr_in*>(sa);
        return boost::asio::ip::address_v4(ntohl(s->sin_addr.s_addr));
    }
    auto* s = reinterpret_cast<const sockaddr_in6*>(sa);
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &s->sin6_addr, 16);
    return boost::asio::ip::address_v6(b);
}

// The address adverts go out from: unicast_src_ip, else the interface's first IPv4
// address that is not a VIP, or its IPv6 link-local address (RFC 5798 §5.1.2.1).
Result<IpAddress> primary_address(const InstanceConfig& c) {
    const Family fam = vip_family(c);
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) < 0)
        return make_error(errno, "VRRP instance {}: list addresses of {}: {}", c.name, c.interface,
                          std::strerror(errno));
    std::optional<IpAddress> found;
    for (auto* i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || c.interface != i->ifa_name) continue;
        const int want = fam == Family::V4 ? AF_INET : AF_INET6;
        if (i->ifa_addr->sa_family != want) continue;
        auto a = from_sockaddr(i->ifa_addr);
        if (c.unicast_src_ip) {
            if (a == *c.unicast_src_ip) found = a;
            continue;
        }
        if (fam == Family::V6 && !a.to_v6().is_link_local()) continue;
        if (is_vip(c, a)) continue;
        found = a;
    }
    ::freeifaddrs(list);
    if (!found && c.unicast_src_ip)
        return make_error(EADDRNOTAVAIL, "VRRP instance {}: unicast_src_ip {} is not an address of {}", c.name,
                          *c.unicast_src_ip, c.interface);
    if (!found)
        return make_error(EADDRNOTAVAIL, "VRRP instance {}: interface {} has no {} address to send adverts from",
                          c.name, c.interface, fam == Family::V4 ? "IPv4" : "IPv6 link-local");
    return *found;
}

std::string_view notify_word(State s) {
    switch (s) {
        case State::Master: return "MASTER";
        case State::Backup: return "BACKUP";
        case State::Fault: return "FAULT";
        case State::Initialize: return "STOP";
    }
    return "UNKNOWN";
}

}  // namespace

Result<void> validate(const InstanceConfig& c) {
    const std::string where = fmt::format("vrrp_instance {}", c.name.empty() ? "(unnamed)" : c.name);
    if (c.name.empty()) return make_error(0, "vrrp_instance: the instance needs a name");
    if (c.interface.empty() || c.interface.size() >= IFNAMSIZ)
        return make_error(0, "{}: interface '{}' is not a valid interface name", where, c.interface);
    if (c.virtual_router_id == 0) return make_error(0, "{}: virtual_router_id must be 1..255", where);
    if (c.priority == 0) return make_error(0, "{}: priority must be 1..255 (0 is reserved for stopping)", where);
    if (c.version != 2 && c.version != 3) return make_error(0, "{}: version {} (2 or 3)", where, c.version);
    const auto ms = c.advert_int.count();
    if (c.version == 3 && (ms < 10 || ms > 40950 || ms % 10 != 0))
        return make_error(0, "{}: advert_int {} ms: VRRPv3 carries 10 ms steps from 0.01 to 40.95 s", where, ms);
    if (c.version == 2 && (ms < 1000 || ms > 255000 || ms % 1000 != 0))
        return make_error(0, "{}: advert_int {} ms: VRRPv2 carries whole seconds from 1 to 255", where, ms);
    if (c.virtual_ipaddress.empty()) return make_error(0, "{}: virtual_ipaddress is empty", where);
    if (c.virtual_ipaddress.size() > 255)
        return make_error(0, "{}: {} virtual_ipaddress entries, an advert carries at most 255", where,
                          c.virtual_ipaddress.size());
    const Family fam = vip_family(c);
    for (auto& v : c.virtual_ipaddress) {
        if (family_of(v.prefix.address) != fam)
            return make_error(0, "{}: virtual_ipaddress {} mixes IPv4 and IPv6; use one instance per family", where,
                              v.prefix);
        if (!v.label.empty() && (fam != Family::V4 || v.label.size() >= IFNAMSIZ))
            return make_error(0, "{}: label '{}' of {}: labels are IPv4 only and at most 15 bytes", where, v.label,
                              v.prefix);
        if (!v.dev.empty() && v.dev.size() >= IFNAMSIZ)
            return make_error(0, "{}: dev '{}' of {} is not a valid interface name", where, v.dev, v.prefix);
    }
    if (c.version == 2 && fam == Family::V6)
        return make_error(0, "{}: VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6", where);
    if (!c.auth_pass.empty() && c.version != 2)
        return make_error(0, "{}: auth_pass is VRRPv2 only (RFC 5798 removed authentication)", where);
    if (c.auth_pass.size() > kV2AuthLength)
        return make_error(0, "{}: auth_pass is longer than 8 bytes", where);
    if (c.unicast_src_ip && family_of(*c.unicast_src_ip) != fam)
        return make_error(0, "{}: unicast_src_ip {} is not of the family of the VIPs", where, *c.unicast_src_ip);
    for (auto& p : c.unicast_peer)
        if (family_of(p) != fam)
            return make_error(0, "{}: unicast_peer {} is not of the family of the VIPs", where, p);
    if (c.preempt_delay < 0ms || c.preempt_delay > 1000s)
        return make_error(0, "{}: preempt_delay must be 0..1000 s", where);
    if (c.garp_interval < 0ms || c.garp_master_delay < 0ms || c.garp_master_refresh < 0ms)
        return make_error(0, "{}: garp_* intervals must not be negative", where);
    if (c.notify_timeout <= 0ms) return make_error(0, "{}: the notify timeout must be positive", where);
    for (auto& t : c.track_arp_target) {
        if (!t.is_v4()) return make_error(0, "{}: track_arp_target {}: ARP is IPv4 only", where, t);
        if (fam != Family::V4)
            return make_error(0, "{}: track_arp_target {} needs an IPv4 instance to ask from", where, t);
    }
    if (!c.track_arp_target.empty() && (c.track_arp_interval < 10ms || c.track_arp_fall == 0))
        return make_error(0, "{}: track_arp interval must be at least 10 ms and fall at least 1", where);
    for (auto* n : {&c.notify_master, &c.notify_backup, &c.notify_fault, &c.notify_stop, &c.notify})
        if (!n->empty() && (n->front().empty() || n->front()[0] != '/'))
            return make_error(0, "{}: notify script '{}' must be an absolute path", where,
                              n->empty() ? "" : n->front());
    return {};
}

Params params_of(const InstanceConfig& c, const IpAddress& primary) {
    Params p;
    p.version = c.version;
    p.priority = c.priority;
    p.advert_int = std::chrono::duration_cast<Centiseconds>(c.advert_int);
    p.preempt = !c.nopreempt;
    p.preempt_delay = c.preempt_delay;
    p.primary = primary;
    return p;
}

struct Instance::Impl {
    boost::asio::io_context& io;
    InstanceConfig cfg;
    Params params;
    Snapshot snap;
    Counters counters;
    std::function<void(State)> on_transition;
    std::function<void()> on_group_change;  // set by SyncGroup
    TimePoint state_since = Clock::now();
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Family family = Family::V4;
    int ifindex = 0;
    IpAddress primary;
    Expectation expect;
    bool unicast = false;

    boost::asio::posix::stream_descriptor sock;
    boost::asio::steady_timer timer;
    uint64_t timer_gen = 0;
    boost::asio::steady_timer garp_timer;
    std::deque<TimePoint> garp_plan;
    TimePoint garp_started{};

    detail::AddressManager addrs;
    std::map<std::string, detail::Announcer> announcers;  // by interface
    std::map<std::string, int> vip_ifindex;
    detail::LinkMonitor links;
    std::map<std::string, bool> tracked;  // interface -> up
    bool healthy = true;                  // every tracked link up and the ARP targets answer
    ArpTrack arp_track{3};
    boost::asio::posix::stream_descriptor arp_rx;
    boost::asio::steady_timer arp_timer;

    // Rate limits per drop reason, plus one slot (kCount) for send and announce errors.
    static constexpr std::size_t kLogSlots = static_cast<std::size_t>(DropReason::kCount) + 1;
    std::array<TimePoint, kLogSlots> drop_logged{};
    std::array<uint64_t, kLogSlots> drop_quiet{};
    TimePoint last_rx{};
    bool hinted = false;
    bool started = false;

    Impl(boost::asio::io_context& i, InstanceConfig c)
        : io(i), cfg(std::move(c)), sock(i), timer(i), garp_timer(i),
          links(i, [this](int idx, const std::string& name, bool up) { on_link(idx, name, up); }),
          arp_track(cfg.track_arp_fall), arp_rx(i), arp_timer(i) {}

    ~Impl() {
        *alive = false;
        if (sock.is_open()) sock.close();
    }

    // ---- setup

    Result<void> open_socket() {
        const bool v4 = family == Family::V4;
        int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kProtocol);
        if (fd < 0)
            return make_error(errno, "VRRP instance {}: open raw socket for protocol 112: {}", cfg.name,
                              std::strerror(errno));
        sock.assign(fd);
        auto fail = [&](const char* what) {
            return make_error(errno, "VRRP instance {}: {} on {}: {}", cfg.name, what, cfg.interface,
                              std::strerror(errno));
        };
        // Only this interface's packets, and ours leave through it (RFC 5798 §7.1 is per
        // interface).
        if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg.interface.c_str(), cfg.interface.size()) < 0)
            return fail("SO_BINDTODEVICE");
        const int ttl = kRequiredTtl, off = 0, on = 1;
        if (v4) {
            const int tos = 0xc0;  // internetwork control, as keepalived marks adverts
            ip_mreqn mreq{};
            mreq.imr_ifindex = ifindex;
            if (::setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) < 0) return fail("IP_TTL");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) return fail("IP_MULTICAST_TTL");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off) < 0)
                return fail("IP_MULTICAST_LOOP");
            if (::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0) return fail("IP_TOS");
            if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0)
                return fail("IP_MULTICAST_IF");
            if (!unicast) {
                mreq.imr_multiaddr.s_addr = htonl(kGroupV4.to_v4().to_uint());
                if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0)
                    return fail("join 224.0.0.18");
            }
        } else {
            const int tclass = 0xc0;
            const unsigned idx = static_cast<unsigned>(ifindex);
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) < 0)
                return fail("IPV6_UNICAST_HOPS");
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) < 0)
                return fail("IPV6_MULTICAST_HOPS");
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof off) < 0)
                return fail("IPV6_MULTICAST_LOOP");
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass) < 0) return fail("IPV6_TCLASS");
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) < 0)
                return fail("IPV6_MULTICAST_IF");
            // The hop limit and the destination (for the checksum's pseudo-header) come
            // with each packet as ancillary data.
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0)
                return fail("IPV6_RECVHOPLIMIT");
            if (::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0)
                return fail("IPV6_RECVPKTINFO");
            if (!unicast) {
                ipv6_mreq mreq{};
                auto g = kGroupV6.to_v6().to_bytes();
                std::memcpy(&mreq.ipv6mr_multiaddr, g.data(), 16);
                mreq.ipv6mr_interface = idx;
                if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) < 0)
                    return fail("join ff02::12");
            }
        }
        return {};
    }

    Result<void> start() {
        if (auto v = validate(cfg); !v) return v;
        family = vip_family(cfg);
        unicast = !cfg.unicast_peer.empty();
        ifindex = static_cast<int>(::if_nametoindex(cfg.interface.c_str()));
        if (ifindex == 0)
            return make_error(ENODEV, "VRRP instance {}: interface {} does not exist", cfg.name, cfg.interface);
        auto prim = primary_address(cfg);
        if (!prim) return prim.error();
        primary = *prim;
        params = params_of(cfg, primary);
        expect = Expectation{cfg.version,
                             cfg.virtual_router_id,
                             family,
                             cfg.auth_pass.empty() ? AuthType::None : AuthType::SimpleText,
                             cfg.auth_pass,
                             params.advert_int,
                             {primary}};
        if (auto r = open_socket(); !r) return r;
        if (auto r = addrs.open(); !r) return r;
        for (auto& v : cfg.virtual_ipaddress) {
            const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
            if (!vip_ifindex.count(dev)) {
                int idx = static_cast<int>(::if_nametoindex(dev.c_str()));
                if (idx == 0)
                    return make_error(ENODEV, "VRRP instance {}: interface {} of VIP {} does not exist", cfg.name,
                                      dev, v.prefix);
                vip_ifindex[dev] = idx;
                if (auto r = announcers[dev].open(idx, dev, family == Family::V4, family == Family::V6); !r) return r;
            }
        }
        if (!cfg.track_arp_target.empty()) {
            if (!announcers.count(cfg.interface))
                if (auto r = announcers[cfg.interface].open(ifindex, cfg.interface, true, false); !r) return r;
            if (auto r = open_arp_rx(); !r) return r;
        }
        // An earlier run killed with -9 may have left our VIPs behind: we start as
        // backup, so they go (RFC 5798 §6.4.1 only adds them on becoming master).
        remove_vips();
        if (auto r = links.start(); !r) return r;
        tracked[cfg.interface] = false;
        for (auto& t : cfg.track_interface) tracked[t] = false;
        bool all_up = true;
        for (auto& [name, up] : tracked) {
            auto s = detail::query_link(name);
            if (!s) return s.error();
            up = s->up;
            if (!s->exists) spdlog::warn("VRRP instance {}: tracked interface {} does not exist: Fault", cfg.name, name);
            else if (!up) spdlog::warn("VRRP instance {}: tracked interface {} is down: Fault", cfg.name, name);
            all_up = all_up && up;
        }
        wait_readable();
        if (!cfg.track_arp_target.empty()) {
            wait_arp();
            arp_tick(Clock::now(), true);
        }
        healthy = all_up;
        started = true;
        last_rx = Clock::now();
        spdlog::info("VRRP instance {}: VRID {} v{} on {} from {}, priority {}, advert_int {} ms, {}", cfg.name,
                     cfg.virtual_router_id, cfg.version, cfg.interface, primary, cfg.priority, cfg.advert_int.count(),
                     unicast ? fmt::format("unicast to {} peer(s)", cfg.unicast_peer.size()) : std::string("multicast"));
        if (!all_up) dispatch(event::LinkDown{});
        dispatch(event::Startup{});
        return {};
    }

    void stop() {
        if (!started) return;
        started = false;
        dispatch(event::Shutdown{});
        links.stop();
        arp_timer.cancel();
        if (arp_rx.is_open()) arp_rx.close();
        timer.cancel();
        garp_timer.cancel();
        if (sock.is_open()) sock.close();
    }

    Result<void> reconfigure(InstanceConfig next) {
        if (auto v = validate(next); !v) return v;
        if (next.name != cfg.name || next.interface != cfg.interface ||
            next.virtual_router_id != cfg.virtual_router_id || next.version != cfg.version ||
            vip_family(next) != vip_family(cfg) || next.unicast_src_ip != cfg.unicast_src_ip ||
            next.unicast_peer.empty() != cfg.unicast_peer.empty() ||
            next.track_arp_target.empty() != cfg.track_arp_target.empty())
            return make_error(0,
                              "VRRP instance {}: interface, virtual_router_id, version, address family, unicast "
                              "mode or source, or track_arp_target on/off changed: the instance must be restarted",
                              cfg.name);
        if (!started) {
            cfg = std::move(next);
            return {};
        }
        // New VIP devices first: nothing changes if one is missing.
        for (auto& v : next.virtual_ipaddress) {
            const std::string& dev = v.dev.empty() ? next.interface : v.dev;
            if (vip_ifindex.count(dev)) continue;
            int idx = static_cast<int>(::if_nametoindex(dev.c_str()));
            if (idx == 0)
                return make_error(ENODEV, "VRRP instance {}: interface {} of VIP {} does not exist", cfg.name, dev,
                                  v.prefix);
            if (auto r = announcers[dev].open(idx, dev, family == Family::V4, family == Family::V6); !r) return r;
            vip_ifindex[dev] = idx;
        }
        auto key = [&](const InstanceConfig& c, const VirtualAddress& v) {
            return fmt::format("{} {} {}", v.prefix, v.dev.empty() ? c.interface : v.dev, v.label);
        };
        auto contains = [&](const InstanceConfig& c, const std::string& k) {
            for (auto& v : c.virtual_ipaddress)
                if (key(c, v) == k) return true;
            return false;
        };
        const bool master = snap.state == State::Master;
        std::vector<VirtualAddress> added;
        for (auto& v : cfg.virtual_ipaddress) {
            if (contains(next, key(cfg, v)) || !master) continue;
            const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
            if (auto r = addrs.remove(vip_index(v), dev, v.prefix); !r)
                spdlog::error("VRRP instance {}: {}", cfg.name, r.error().message);
        }
        for (auto& v : next.virtual_ipaddress)
            if (!contains(cfg, key(next, v))) added.push_back(v);
        cfg = std::move(next);
        params = params_of(cfg, primary);
        expect.auth_type = cfg.auth_pass.empty() ? AuthType::None : AuthType::SimpleText;
        expect.auth_pass = cfg.auth_pass;
        expect.advert_int = params.advert_int;
        if (master) {
            for (auto& v : added) {
                const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
                if (auto r = addrs.add(vip_index(v), dev, v.prefix, v.label); !r)
                    spdlog::error("VRRP instance {}: {}", cfg.name, r.error().message);
                else if (auto g = announcers[dev].announce(v.prefix.address); !g)
                    log_limited(DropReason::kCount, "VRRP instance {}: {}", cfg.name, g.error().message);
            }
        }
        std::map<std::string, bool> next_tracked;
        next_tracked[cfg.interface] = tracked[cfg.interface];
        for (auto& t : cfg.track_interface) {
            if (auto it = tracked.find(t); it != tracked.end()) {
                next_tracked[t] = it->second;
                continue;
            }
            auto q = detail::query_link(t);
            next_tracked[t] = q && q->up;
        }
        tracked = std::move(next_tracked);
        spdlog::info("VRRP instance {}: reconfigured in state {} (priority {}, advert_int {} ms, {} VIPs)", cfg.name,
                     snap.state, cfg.priority, cfg.advert_int.count(), cfg.virtual_ipaddress.size());
        update_health();
        return {};
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
            spdlog::info("VRRP instance {}: {} -> {}", cfg.name, before, snap.state);
        }
        for (auto& a : r.actions) run(a, now);
        if (snap.state != before && on_transition) on_transition(snap.state);
        if (snap.state != before && on_group_change) on_group_change();
    }

    void run(const Action& a, TimePoint now) {
        std::visit(Overloaded{
                       [&](const action::SendAdvert& s) { send_advert(s.priority); },
                       [&](const action::AddVips&) { add_vips(); },
                       [&](const action::RemoveVips&) {
                           stop_garp();
                           remove_vips();
                       },
                       [&](const action::SendGarp&) { start_garp(now); },
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

    // ---- sending

    void send_advert(uint8_t priority) {
        if (!sock.is_open()) return;
        Advert a;
        a.version = cfg.version;
        a.vrid = cfg.virtual_router_id;
        a.priority = priority;
        a.max_advert_int = params.advert_int;
        a.auth_type = expect.auth_type;
        a.auth_pass = cfg.auth_pass;
        for (auto& v : cfg.virtual_ipaddress) a.addresses.push_back(v.prefix.address);
        std::vector<IpAddress> dsts = cfg.unicast_peer;
        if (!unicast) dsts = {family == Family::V4 ? kGroupV4 : kGroupV6};
        for (auto& dst : dsts) {
            auto bytes = encode(a, primary, dst);
            if (!bytes) {
                spdlog::error("VRRP instance {}: {}", cfg.name, bytes.error().message);
                return;
            }
            if (send_to(*bytes, dst)) ++counters.adverts_sent;
        }
    }

    bool send_to(const std::vector<std::byte>& bytes, const IpAddress& dst) {
        iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))]{};
        sockaddr_in to4{};
        sockaddr_in6 to6{};
        msg.msg_control = control;
        if (dst.is_v4()) {
            to4.sin_family = AF_INET;
            to4.sin_addr.s_addr = htonl(dst.to_v4().to_uint());
            msg.msg_name = &to4;
            msg.msg_namelen = sizeof to4;
            // The source is our primary address even when a VIP on the same subnet
            // would win the kernel's source selection.
            msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
            auto* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
            in_pktinfo pi{};
            pi.ipi_ifindex = ifindex;
            pi.ipi_spec_dst.s_addr = htonl(primary.to_v4().to_uint());
            std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        } else {
            to6.sin6_family = AF_INET6;
            auto b = dst.to_v6().to_bytes();
            std::memcpy(&to6.sin6_addr, b.data(), 16);
            to6.sin6_scope_id = static_cast<uint32_t>(ifindex);
            msg.msg_name = &to6;
            msg.msg_namelen = sizeof to6;
            msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
            auto* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
            in6_pktinfo pi{};
            auto s = primary.to_v6().to_bytes();
            std::memcpy(&pi.ipi6_addr, s.data(), 16);
            pi.ipi6_ifindex = static_cast<unsigned>(ifindex);
            std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
        }
        if (::sendmsg(sock.native_handle(), &msg, 0) < 0) {
            ++counters.send_errors;
            log_limited(DropReason::kCount, "VRRP instance {}: send advert to {} on {}: {}", cfg.name, dst,
                        cfg.interface, std::strerror(errno));
            return false;
        }
        return true;
    }

    // ---- receiving

    void wait_readable() {
        sock.async_wait(boost::asio::posix::descriptor_base::wait_read,
                        [this, alive = alive](const boost::system::error_code& ec) {
                            if (!*alive || ec) return;
                            drain();
                            if (sock.is_open()) wait_readable();
                        });
    }

    void drain() {
        std::array<std::byte, 4096> buf;
        for (int n = 0; n < 256 && sock.is_open(); ++n) {
            sockaddr_storage from{};
            alignas(cmsghdr) char control[256];
            iovec iov{buf.data(), buf.size()};
            msghdr msg{};
            msg.msg_name = &from;
            msg.msg_namelen = sizeof from;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            ssize_t len = ::recvmsg(sock.native_handle(), &msg, MSG_DONTWAIT);
            if (len < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    spdlog::warn("VRRP instance {}: receive on {}: {}", cfg.name, cfg.interface, std::strerror(errno));
                return;
            }
            std::span<const std::byte> packet(buf.data(), static_cast<std::size_t>(len));
            if (family == Family::V4) {
                // A raw IPv4 socket delivers the IP header: TTL and addresses come from it.
                auto ip = split_ipv4(packet);
                if (!ip) {
                    count_drop(Drop{DropReason::TooShort, fmt::format("{} bytes: not an IPv4 packet", len)});
                    continue;
                }
                handle(ip->payload, ip->src, ip->dst, ip->ttl);
            } else {
                int hops = -1;
                std::optional<IpAddress> dst;
                for (auto* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                    if (c->cmsg_level != IPPROTO_IPV6) continue;
                    if (c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
                    if (c->cmsg_type == IPV6_PKTINFO) {
                        in6_pktinfo pi;
                        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
                        boost::asio::ip::address_v6::bytes_type b;
                        std::memcpy(b.data(), &pi.ipi6_addr, 16);
                        dst = boost::asio::ip::address_v6(b);
                    }
                }
                if (hops < 0 || !dst) {
                    count_drop(Drop{DropReason::BadAddress, "IPv6 packet without hop limit or destination"});
                    continue;
                }
                handle(packet, from_sockaddr(reinterpret_cast<sockaddr*>(&from)), *dst, static_cast<uint8_t>(hops));
            }
        }
    }

    void handle(std::span<const std::byte> payload, const IpAddress& src, const IpAddress& dst, uint8_t ttl) {
        auto a = parse(payload, src, dst);
        if (!a) return count_drop(a.error());
        if (auto d = check(a.value(), ttl, src, expect)) return count_drop(*d);
        if (unicast && std::find(cfg.unicast_peer.begin(), cfg.unicast_peer.end(), src) == cfg.unicast_peer.end())
            return count_drop(Drop{DropReason::BadAddress, fmt::format("advert from {}, not a unicast_peer", src)});
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
        log_limited(DropReason::AddressCountMismatch,
                    "VRRP instance {}: {} advertises VIPs {}, ours are {}: the two configs differ", cfg.name, src,
                    fmt::join(theirs, ", "), fmt::join(ours, ", "));
    }

    void count_drop(const Drop& d) {
        ++counters.dropped[static_cast<std::size_t>(d.reason)];
        // Other VRIDs on the same wire, and our own loop, are normal traffic.
        if (d.reason == DropReason::WrongVrid || d.reason == DropReason::OwnAdvert) {
            spdlog::debug("VRRP instance {}: ignored: {}", cfg.name, d.message);
            return;
        }
        log_limited(d.reason, "VRRP instance {}: dropped packet on {} ({}): {}", cfg.name, cfg.interface, d.reason,
                    d.message);
    }

    // At most one line per reason (DropReason::kCount for errors) every kDropLogEvery, with the count of those held back:
    // a flood must not flood the log.
    template <class... Args>
    void log_limited(DropReason r, fmt::format_string<Args...> f, Args&&... args) {
        const auto i = static_cast<std::size_t>(r);  // kCount: the errors slot
        const TimePoint now = Clock::now();
        if (drop_logged[i] != TimePoint{} && now - drop_logged[i] < kDropLogEvery) {
            ++drop_quiet[i];
            return;
        }
        const auto quiet = drop_quiet[i];
        drop_logged[i] = now;
        drop_quiet[i] = 0;
        if (quiet)
            spdlog::warn("{} (and {} more like it not logged)", fmt::format(f, std::forward<Args>(args)...), quiet);
        else
            spdlog::warn(f, std::forward<Args>(args)...);
    }

    void silence_hint() {
        if (unicast || hinted || snap.state != State::Master) return;
        if (Clock::now() - last_rx < kSilenceHint) return;
        hinted = true;
        spdlog::warn(
            "VRRP instance {}: no advert from any peer on {} for {} s while master; if a peer runs, multicast to {} "
            "may be blocked (a bridge without multicast forwarding, a cloud network): consider unicast_peer",
            cfg.name, cfg.interface, kSilenceHint.count(), family == Family::V4 ? "224.0.0.18" : "ff02::12");
    }

    // ---- addresses

    int vip_index(const VirtualAddress& v) { return vip_ifindex[v.dev.empty() ? cfg.interface : v.dev]; }

    void add_vips() {
        for (auto& v : cfg.virtual_ipaddress) {
            const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
            if (auto r = addrs.add(vip_index(v), dev, v.prefix, v.label); !r)
                spdlog::error("VRRP instance {}: {}", cfg.name, r.error().message);
        }
    }

    void remove_vips() {
        for (auto& v : cfg.virtual_ipaddress) {
            const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
            if (auto r = addrs.remove(vip_index(v), dev, v.prefix); !r)
                spdlog::error("VRRP instance {}: {}", cfg.name, r.error().message);
        }
    }

    // ---- gratuitous ARP / NA: garp_master_repeat at garp_interval, the same again
    // after garp_master_delay, then one every garp_master_refresh.

    void start_garp(TimePoint now) {
        // A peer that keeps sending lower-priority adverts (it cannot hear us) must not
        // turn into an ARP storm: one burst per advert interval at most.
        if (garp_started != TimePoint{} && now - garp_started < params.advert_int && !garp_plan.empty()) return;
        garp_started = now;
        stop_garp();
        for (int round = 0; round < 2; ++round) {
            if (round == 1 && cfg.garp_master_delay <= 0ms) break;
            const TimePoint base = now + (round == 1 ? Duration(cfg.garp_master_delay) : Duration(0));
            for (unsigned k = 0; k < cfg.garp_master_repeat; ++k) garp_plan.push_back(base + k * cfg.garp_interval);
        }
        // The first announcement goes out now, not after a trip through the loop: until
        // it does, the segment still sends to the old master.
        while (!garp_plan.empty() && garp_plan.front() <= now) {
            garp_plan.pop_front();
            announce_all();
        }
        if (garp_plan.empty() && cfg.garp_master_refresh > 0ms) garp_plan.push_back(now + cfg.garp_master_refresh);
        next_garp();
    }

    void stop_garp() {
        garp_plan.clear();
        garp_timer.cancel();
    }

    void next_garp() {
        if (garp_plan.empty()) return;
        garp_timer.expires_at(garp_plan.front());
        garp_timer.async_wait([this, alive = alive](const boost::system::error_code& ec) {
            if (!*alive || ec || garp_plan.empty() || snap.state != State::Master) return;
            const TimePoint due = garp_plan.front();
            // Everything due now goes out in one go (garp_interval 0 means back to back).
            while (!garp_plan.empty() && garp_plan.front() <= due) {
                garp_plan.pop_front();
                announce_all();
            }
            if (garp_plan.empty() && cfg.garp_master_refresh > 0ms) garp_plan.push_back(due + cfg.garp_master_refresh);
            next_garp();
        });
    }

    void announce_all() {
        for (auto& v : cfg.virtual_ipaddress) {
            const std::string& dev = v.dev.empty() ? cfg.interface : v.dev;
            if (auto r = announcers[dev].announce(v.prefix.address); !r)
                log_limited(DropReason::kCount, "VRRP instance {}: {}", cfg.name, r.error().message);
            else
                ++counters.garps_sent;
        }
    }

    // ---- links and notify

    void on_link(int /*ifindex*/, const std::string& name, bool up) {
        bool changed = false;
        for (auto& [tname, tup] : tracked) {
            // By name: a tracked interface may not exist yet at start, or be re-created
            // with a new index.
            if (tname != name || tup == up) continue;
            tup = up;
            changed = true;
            spdlog::info("VRRP instance {}: tracked interface {} is {}", cfg.name, tname, up ? "up" : "down");
        }
        if (changed) update_health();
    }

    // One verdict over every tracked link and the ARP targets; the machine hears only
    // its changes.
    void update_health() {
        if (!started) return;
        bool now_ok = arp_track.ok();
        for (auto& [_, u] : tracked) now_ok = now_ok && u;
        if (now_ok == healthy) return;
        healthy = now_ok;
        dispatch(now_ok ? Event{event::LinkUp{}} : Event{event::LinkDown{}});
    }

    // ---- track_arp_target

    Result<void> open_arp_rx() {
        int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        if (fd < 0)
            return make_error(errno, "VRRP instance {}: open ARP socket for track_arp_target on {}: {}", cfg.name,
                              cfg.interface, std::strerror(errno));
        arp_rx.assign(fd);
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_protocol = htons(ETH_P_ARP);
        sll.sll_ifindex = ifindex;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0)
            return make_error(errno, "VRRP instance {}: bind ARP socket to {}: {}", cfg.name, cfg.interface,
                              std::strerror(errno));
        return {};
    }

    void wait_arp() {
        arp_rx.async_wait(boost::asio::posix::descriptor_base::wait_read,
                          [this, alive = alive](const boost::system::error_code& ec) {
                              if (!*alive || ec) return;
                              uint8_t buf[64];
                              ssize_t n;
                              while ((n = ::recv(arp_rx.native_handle(), buf, sizeof buf, MSG_DONTWAIT)) >= 28) {
                                  // A reply (op 2) whose sender is one of the targets.
                                  if (buf[6] != 0 || buf[7] != 2) continue;
                                  const IpAddress sender = boost::asio::ip::address_v4(
                                      {buf[14], buf[15], buf[16], buf[17]});
                                  for (auto& t : cfg.track_arp_target)
                                      if (t == sender) arp_track.reply();
                              }
                              if (arp_rx.is_open()) wait_arp();
                          });
    }

    void arp_tick(TimePoint now, bool first) {
        if (!first && arp_track.close_interval()) {
            if (arp_track.ok())
                spdlog::info("VRRP instance {}: an ARP target answers again", cfg.name);
            else
                spdlog::warn("VRRP instance {}: none of the track_arp_target answered ARP for {} intervals", cfg.name,
                             cfg.track_arp_fall);
            update_health();
        }
        for (auto& t : cfg.track_arp_target)
            if (auto r = announcers[cfg.interface].ask(primary, t); !r)
                log_limited(DropReason::kCount, "VRRP instance {}: {}", cfg.name, r.error().message);
        const TimePoint next = now + cfg.track_arp_interval;
        arp_timer.expires_at(next);
        arp_timer.async_wait([this, alive = alive, next](const boost::system::error_code& ec) {
            if (!*alive || ec) return;
            arp_tick(next, false);
        });
    }

    void notify(State s) {
        std::vector<std::string>* specific = nullptr;
        switch (s) {
            case State::Master: specific = &cfg.notify_master; break;
            case State::Backup: specific = &cfg.notify_backup; break;
            case State::Fault: specific = &cfg.notify_fault; break;
            case State::Initialize: specific = &cfg.notify_stop; break;
        }
        for (auto* argv : {specific, &cfg.notify}) {
            if (argv->empty()) continue;
            auto args = *argv;
            args.insert(args.end(), {"INSTANCE", cfg.name, std::string(notify_word(s)), std::to_string(cfg.priority)});
            detail::run_script(io, std::move(args), cfg.notify_timeout);
        }
    }
};

SyncGroup::SyncGroup(std::string name, std::vector<Instance*> members)
    : name_(std::move(name)), members_(std::move(members)) {
    for (std::size_t i = 0; i < members_.size(); ++i) members_[i]->impl_->on_group_change = [this, i] { follow(i); };
}

void SyncGroup::follow(std::size_t changed) {
    std::vector<Snapshot> snaps;
    for (auto* m : members_) snaps.push_back(m->impl_->snap);
    for (auto& [j, ev] : sync_follow(snaps, changed)) {
        auto& impl = *members_[j]->impl_;
        // A member not started yet (or stopped) takes no part.
        if (!impl.started) continue;
        spdlog::info("VRRP sync group {}: {} follows {} into {}", name_, impl.cfg.name,
                     members_[changed]->impl_->cfg.name, members_[changed]->impl_->snap.state);
        impl.dispatch(ev);
    }
}

Instance::Instance(boost::asio::io_context& io, InstanceConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}
Instance::~Instance() = default;
Result<void> Instance::start() { return impl_->start(); }
void Instance::stop() { impl_->stop(); }
Result<void> Instance::reconfigure(InstanceConfig next) { return impl_->reconfigure(std::move(next)); }
State Instance::state() const { return impl_->snap.state; }
const Counters& Instance::counters() const { return impl_->counters; }
std::chrono::steady_clock::time_point Instance::state_since() const { return impl_->state_since; }
uint8_t Instance::effective_priority() const {
    return impl_->started ? impl_->params.priority : uint8_t{0};
}
const InstanceConfig& Instance::config() const { return impl_->cfg; }
void Instance::on_transition(std::function<void(State)> f) { impl_->on_transition = std::move(f); }

}  // namespace lvsd::vrrp
