// Private: vrrp::Instance's state and its two halves, instance.cpp (setup, reconfiguring,
// following the host and the trackers) and instance_loop.cpp (adverts in, the state
// machine's actions out).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "host/monitor.hpp"
#include "vrrp/detail/arp_tracker.hpp"
#include "vrrp/detail/log_limit.hpp"
#include "vrrp/detail/transport.hpp"
#include "vrrp/detail/vip_keeper.hpp"
#include "vrrp/detail/vmac_link_local.hpp"
#include "vrrp/host_facts.hpp"
#include "vrrp/instance.hpp"

namespace lvsd::vrrp {

struct Instance::Impl {
    boost::asio::io_context& io;
    boost::asio::any_io_executor commands;  // where notify commands run (Instance's constructor)
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
    static constexpr std::chrono::seconds kDropLogEvery{10};
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
    // The operator's override (override.hpp) and whether a silent master was logged
    // while held (once per hold).
    Override override_ = Override::None;
    bool hold_logged = false;

    Impl(boost::asio::io_context& i, boost::asio::any_io_executor cmds, host::Monitor& h, InstanceConfig c)
        : io(i), commands(cmds ? cmds : i.get_executor()), host(h), cfg(std::move(c)), owner(fmt::format("VRRP instance {}", cfg.name)),
          transport(
              i, owner,
              [this](std::span<const std::byte> p, const IpAddress& src, const IpAddress& dst, uint8_t ttl,
                     std::span<const std::byte> packet) { handle(p, src, dst, ttl, packet); },
              [this](const Drop& d) { count_drop(d); }),
          vips(i, owner), timer(i), vmac_ll(owner) {}

    ~Impl() { *alive = false; }

    // ---- setup

    Result<void> prepare();
    void refresh_params();
    Result<void> make_vmac();
    Result<void> start();
    void stop();
    Result<void> reconfigure(InstanceConfig next);

    // ---- the host changed: follow the interface by name, re-derive the source, repair VIPs

    void on_host(const host::View& view);

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

    void trackers_changed();
    void update_health();
    Result<void> set_override(Override o);

    // ---- receiving

    void handle(std::span<const std::byte> payload, const IpAddress& src, const IpAddress& dst, uint8_t ttl,
                std::span<const std::byte> packet);
    void warn_if_addresses_differ(const Advert& a, const IpAddress& src);
    void count_drop(const Drop& d);

    template <class... Args>
    void log_limited(DropReason r, fmt::format_string<Args...> f, Args&&... args) {
        limit.warn(static_cast<std::size_t>(r), f, std::forward<Args>(args)...);
    }

    void silence_hint();

    // ---- the loop: events in, actions out

    void dispatch(const Event& e);
    void run(const Action& a, TimePoint now);
    void arm(TimePoint deadline, Event fire);
    void send_advert(uint8_t priority);
    Result<std::vector<std::byte>> seal_ah(std::span<const std::byte> advert, const IpAddress& dst);
    void notify(State s);
};

}  // namespace lvsd::vrrp
