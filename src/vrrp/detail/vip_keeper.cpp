#include "vrrp/detail/vip_keeper.hpp"

#include <spdlog/spdlog.h>

namespace lvsd::vrrp::detail {

using namespace std::chrono_literals;

VipKeeper::VipKeeper(boost::asio::io_context& io, std::string owner)
    : owner_(std::move(owner)), timer_(io) {}

VipKeeper::~VipKeeper() { *alive_ = false; }

Result<void> VipKeeper::open() { return writer_.open(); }

void VipKeeper::warn_limited(const std::string& message) {
    // A socket error repeats with every announcement: one line per 10 s is enough.
    const auto now = std::chrono::steady_clock::now();
    if (now - error_logged_ < 10s) return;
    error_logged_ = now;
    spdlog::warn("{}: {}", owner_, message);
}

void VipKeeper::carry_out(const VipOp& op, bool repair) {
    auto r = op.kind == VipOp::Kind::Add ? writer_.add(op.ifindex, op.dev, op.prefix, op.label)
                                         : writer_.remove(op.ifindex, op.dev, op.prefix);
    if (!r) {
        spdlog::error("{}: {}", owner_, r.error().message);
        return;
    }
    if (!repair) return;
    ++repairs_;
    spdlog::warn("{}: VIP {} on {} changed behind lvsd's back ({}): {}", owner_, op.prefix, op.dev, op.why,
                 op.kind == VipOp::Kind::Add ? "added again" : "removed");
}

void VipKeeper::reconcile(const InstanceConfig& c, const HostFacts& facts, const host::View& view, bool master,
                          bool own) {
    const auto ops = vip_plan(c, facts, view, master);
    if (own) {
        // Settled at once when there is nothing to change; else once the view shows it.
        settled_ = ops.empty();
    } else if (ops.empty()) {
        settled_ = true;
        return;
    }
    const bool repair = !own && settled_;
    for (const auto& op : ops) carry_out(op, repair);
    if (repair && master) {
        // A VIP that came back: tell the segment once more where it lives.
        for (const auto& op : ops) {
            if (op.kind != VipOp::Kind::Add) continue;
            if (auto* a = announcer(op.dev, op.ifindex, op.prefix.address.is_v4()))
                if (a->announce(op.prefix.address)) ++garps_sent_;
        }
    }
}

void VipKeeper::clear_leftovers(const InstanceConfig& c, const HostFacts& facts, const host::View& view) {
    const auto ops = vip_plan(c, facts, view, false);
    for (const auto& op : ops) {
        spdlog::info("{}: removing VIP {} from {}, left by an earlier run", owner_, op.prefix, op.dev);
        carry_out(op, false);
    }
    settled_ = ops.empty();
}

Announcer* VipKeeper::announcer(const std::string& dev, int ifindex, bool v4) {
    auto& slot = announcers_[dev];
    if (!slot.second || slot.first != ifindex) {
        // A new interface index (the link was re-created): the packet sockets are bound
        // to the old one.
        auto a = std::make_unique<Announcer>();
        if (auto r = a->open(ifindex, dev, v4, !v4); !r) {
            warn_limited(r.error().message);
            announcers_.erase(dev);
            return nullptr;
        }
        slot = {ifindex, std::move(a)};
    }
    return slot.second.get();
}

void VipKeeper::announce(const InstanceConfig& c, const HostFacts& facts, TimePoint now, Duration min_gap) {
    if (started_ != TimePoint{} && now - started_ < min_gap && !plan_.empty()) return;
    started_ = now;
    stop_announcing();
    targets_.clear();
    for (const auto& v : c.virtual_ipaddress) {
        const std::string& dev = vip_device(c, v);
        if (auto it = facts.vip_devices.find(dev); it != facts.vip_devices.end())
            targets_.push_back({dev, it->second, v.prefix.address});
    }
    for (int round = 0; round < 2; ++round) {
        if (round == 1 && c.garp_master_delay <= 0ms) break;
        const TimePoint base = now + (round == 1 ? Duration(c.garp_master_delay) : Duration(0));
        for (unsigned k = 0; k < c.garp_master_repeat; ++k) plan_.push_back(base + k * c.garp_interval);
    }
    refresh_ = c.garp_master_refresh;
    refresh_repeat_ = std::max(1u, c.garp_master_refresh_repeat);
    gap_ = c.garp_interval;
    // The first announcement goes out now, not after a trip through the loop: until it
    // does, the segment still sends to the old master.
    run_due(now);
}

void VipKeeper::run_due(TimePoint due) {
    // Everything due goes out in one go (garp_interval 0 means back to back).
    while (!plan_.empty() && plan_.front() <= due) {
        plan_.pop_front();
        announce_all();
    }
    // Then a refresh burst of garp_master_refresh_repeat every garp_master_refresh.
    if (plan_.empty() && refresh_ > 0ms)
        for (unsigned k = 0; k < refresh_repeat_; ++k) plan_.push_back(due + refresh_ + k * gap_);
    next_round();
}

void VipKeeper::stop_announcing() {
    plan_.clear();
    timer_.cancel();
}

void VipKeeper::next_round() {
    if (plan_.empty()) return;
    timer_.expires_at(plan_.front());
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!*alive || ec || plan_.empty()) return;
        run_due(plan_.front());
    });
}

void VipKeeper::announce_all() {
    for (const auto& t : targets_) {
        auto* a = announcer(t.dev, t.ifindex, t.address.is_v4());
        if (!a) continue;
        if (auto r = a->announce(t.address); !r) {
            warn_limited(r.error().message);
        } else {
            ++garps_sent_;
        }
    }
}

}  // namespace lvsd::vrrp::detail
