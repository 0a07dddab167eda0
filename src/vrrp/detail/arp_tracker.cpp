#include "vrrp/detail/arp_tracker.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "vrrp/arp_track.hpp"
#include "vrrp/detail/garp.hpp"

namespace lvsd::vrrp::detail {

struct ArpTracker::Impl {
    std::string owner;
    std::vector<IpAddress> targets;
    std::chrono::milliseconds interval;
    unsigned fall;
    std::function<void(bool)> changed;
    ArpTrack track;
    boost::asio::posix::stream_descriptor rx;
    boost::asio::steady_timer timer;
    std::unique_ptr<Announcer> asker;
    std::optional<IpAddress> source;
    std::chrono::steady_clock::time_point error_logged{};
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    Impl(boost::asio::io_context& io, std::string o, std::vector<IpAddress> t, std::chrono::milliseconds i,
         unsigned f, std::function<void(bool)> c)
        : owner(std::move(o)), targets(std::move(t)), interval(i), fall(f), changed(std::move(c)), track(f), rx(io),
          timer(io) {}

    void wait() {
        rx.async_wait(boost::asio::posix::descriptor_base::wait_read,
                      [this, alive = alive](const boost::system::error_code& ec) {
                          if (!*alive || ec) return;
                          uint8_t buf[64];
                          ssize_t n;
                          while ((n = ::recv(rx.native_handle(), buf, sizeof buf, MSG_DONTWAIT)) >= 28) {
                              // A reply (op 2) whose sender is one of the targets.
                              if (buf[6] != 0 || buf[7] != 2) continue;
                              const IpAddress sender = boost::asio::ip::address_v4({buf[14], buf[15], buf[16], buf[17]});
                              for (auto& t : targets)
                                  if (t == sender) track.reply();
                          }
                          if (*alive && rx.is_open()) wait();
                      });
    }

    void tick(std::chrono::steady_clock::time_point now, bool first) {
        if (!first && track.close_interval()) {
            if (track.ok())
                spdlog::info("{}: an ARP target answers again", owner);
            else
                spdlog::warn("{}: none of the track_arp_target answered ARP for {} intervals", owner, fall);
            changed(track.ok());
        }
        if (source && asker)
            for (auto& t : targets)
                if (auto r = asker->ask(*source, t); !r && now - error_logged > std::chrono::seconds(10)) {
                    error_logged = now;
                    spdlog::warn("{}: {}", owner, r.error().message);
                }
        const auto next = now + interval;
        timer.expires_at(next);
        timer.async_wait([this, alive = alive, next](const boost::system::error_code& ec) {
            if (!*alive || ec) return;
            tick(next, false);
        });
    }
};

ArpTracker::ArpTracker(boost::asio::io_context& io, std::string owner, std::vector<IpAddress> targets,
                       std::chrono::milliseconds interval, unsigned fall, std::function<void(bool)> changed)
    : impl_(std::make_shared<Impl>(io, std::move(owner), std::move(targets), interval, fall, std::move(changed))) {}

ArpTracker::~ArpTracker() { close(); }

Result<void> ArpTracker::open(const std::string& ifname, int ifindex) {
    close();
    auto& i = *impl_;
    i.alive = std::make_shared<bool>(true);
    int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
    if (fd < 0)
        return make_error(errno, "{}: open ARP socket for track_arp_target on {}: {}", i.owner, ifname,
                          std::strerror(errno));
    i.rx.assign(fd);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ARP);
    sll.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
        auto e = make_error(errno, "{}: bind ARP socket to {}: {}", i.owner, ifname, std::strerror(errno));
        close();
        return e;
    }
    i.asker = std::make_unique<Announcer>();
    if (auto r = i.asker->open(ifindex, ifname, true, false); !r) {
        close();
        return r;
    }
    i.wait();
    i.tick(std::chrono::steady_clock::now(), true);
    return {};
}

void ArpTracker::close() {
    auto& i = *impl_;
    *i.alive = false;
    i.timer.cancel();
    if (i.rx.is_open()) i.rx.close();
    i.asker.reset();
}

void ArpTracker::set_source(std::optional<IpAddress> source) { impl_->source = source; }

void ArpTracker::reconfigure(std::vector<IpAddress> targets, std::chrono::milliseconds interval, unsigned fall) {
    impl_->targets = std::move(targets);
    impl_->interval = interval;
    impl_->fall = fall;
    impl_->track.set_fall(fall);
}

bool ArpTracker::ok() const { return impl_->track.ok(); }

}  // namespace lvsd::vrrp::detail
