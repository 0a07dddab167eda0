// The VIPs of one instance as desired state on the host: vip_plan (host_facts.hpp)
// says what differs, the keeper carries it out over rtnetlink and announces the VIPs
// (gratuitous ARP / unsolicited NA: garp_master_repeat at garp_interval, the same again
// after garp_master_delay, then one every garp_master_refresh).
//
// A difference the instance did not cause itself is a repair: once the host has shown
// the wanted state since lvsd's own last change, any later difference (a VIP deleted by
// hand, a label changed, an address equal to a VIP added on a backup) was made behind
// lvsd's back; it is repaired at once, logged in one line and counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/addresses.hpp"
#include "host/view.hpp"
#include "vrrp/detail/garp.hpp"
#include "vrrp/host_facts.hpp"
#include "vrrp/state_machine.hpp"

namespace lvsd::vrrp::detail {

class VipKeeper {
public:
    VipKeeper(boost::asio::io_context& io, std::string owner);
    ~VipKeeper();
    VipKeeper(const VipKeeper&) = delete;
    VipKeeper& operator=(const VipKeeper&) = delete;

    Result<void> open();

    // Makes the host hold the VIPs as `master` wants. `own` is true when the state
    // machine asked for the change (becoming master, leaving it), false when the host
    // view changed: then a difference after a settled state is a repair.
    void reconcile(const InstanceConfig& c, const HostFacts& facts, const host::View& view, bool master, bool own);
    // Removes VIPs left by an earlier run (kill -9) at start, without calling it a repair.
    void clear_leftovers(const InstanceConfig& c, const HostFacts& facts, const host::View& view);

    // Gratuitous ARP / NA rounds for every VIP, starting now; at most one burst per
    // `min_gap` (a peer that keeps sending lower-priority adverts must not cause a storm).
    void announce(const InstanceConfig& c, const HostFacts& facts, TimePoint now, Duration min_gap);
    void stop_announcing();

    uint64_t repairs() const { return repairs_; }
    uint64_t garps_sent() const { return garps_sent_; }

private:
    void carry_out(const VipOp& op, bool repair);
    void announce_all();
    void next_round();
    void run_due(TimePoint due);
    void warn_limited(const std::string& message);
    Announcer* announcer(const std::string& dev, int ifindex, bool v4);

    std::string owner_;
    host::AddressWriter writer_;
    bool settled_ = false;  // the host showed the wanted state since our own last change
    uint64_t repairs_ = 0;
    uint64_t garps_sent_ = 0;
    std::chrono::steady_clock::time_point error_logged_{};

    // Announcing: the VIPs and their interfaces of the current round, and the plan.
    struct Target {
        std::string dev;
        int ifindex;
        IpAddress address;
    };
    std::vector<Target> targets_;
    std::map<std::string, std::pair<int, std::unique_ptr<Announcer>>> announcers_;  // dev -> (ifindex, socket)
    boost::asio::steady_timer timer_;
    std::deque<TimePoint> plan_;
    TimePoint started_{};
    std::chrono::milliseconds refresh_{0};
    unsigned refresh_repeat_ = 1;
    std::chrono::milliseconds gap_{0};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lvsd::vrrp::detail
