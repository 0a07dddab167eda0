// Gateway tracking by ARP (track_arp_target): a switch can fail with the link still up,
// so the master also asks the gateway(s) by ARP every interval. When none of the
// targets has answered for `fall` intervals in a row the instance goes to Fault; one
// answer brings it back. Pure: the adapter sends, listens and calls close_interval().
#pragma once

#include <cstdint>

namespace lvsd::vrrp {

class ArpTrack {
public:
    explicit ArpTrack(unsigned fall) : fall_(fall == 0 ? 1 : fall) {}

    // A reply from one of the targets arrived during the current interval.
    void reply() { answered_ = true; }
    // The interval is over. Returns true when the verdict (ok()) changed.
    bool close_interval() {
        const bool before = ok_;
        if (answered_) {
            silent_ = 0;
            ok_ = true;
        } else if (++silent_ >= fall_) {
            ok_ = false;
        }
        answered_ = false;
        return ok_ != before;
    }
    bool ok() const { return ok_; }
    // A reload's new fall: counts from the silent intervals seen so far.
    void set_fall(unsigned fall) { fall_ = fall == 0 ? 1 : fall; }

private:
    unsigned fall_;
    unsigned silent_ = 0;
    bool answered_ = false;
    bool ok_ = true;  // innocent until `fall` silent intervals prove otherwise
};

}  // namespace lvsd::vrrp
