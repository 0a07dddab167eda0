// track_arp_target on the wire: every interval an ARP request to each target from the
// advert source, replies counted by a packet socket, and the pure ArpTrack verdict
// (arp_track.hpp). Bound to the interface's index of the moment: open() again when
// the interface is re-created.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::vrrp::detail {

class ArpTracker {
public:
    // `changed` is called with the new verdict when it changes (true: a target answers).
    ArpTracker(boost::asio::io_context& io, std::string owner, std::vector<IpAddress> targets,
               std::chrono::milliseconds interval, unsigned fall, std::function<void(bool)> changed);
    ~ArpTracker();
    ArpTracker(const ArpTracker&) = delete;
    ArpTracker& operator=(const ArpTracker&) = delete;

    // (Re)binds to the interface and starts asking; asks from `source` (none: only
    // listens, which counts as silence).
    Result<void> open(const std::string& ifname, int ifindex);
    void close();
    void set_source(std::optional<IpAddress> source);
    // Takes new targets, interval and fall at the next interval (reload).
    void reconfigure(std::vector<IpAddress> targets, std::chrono::milliseconds interval, unsigned fall);
    bool ok() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp::detail
