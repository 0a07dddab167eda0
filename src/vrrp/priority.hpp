// Effective priority (keepalived's rule): the configured priority moved by every tracker
// of the instance: tracked interfaces, tracked scripts, the ARP targets, tracked files.
// A tracker with a positive weight adds it while it is well; one with a negative weight
// adds it (subtracts) while it fails; one with weight 0 puts the instance in FAULT while
// it fails. The result is clamped to 1..254; an address owner (255) is never moved.
// Pure, and the one place that computes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lvsd::vrrp {

struct Tracker {
    enum class Kind : uint8_t { Interface, Script, ArpTarget, File, Process } kind = Kind::Script;
    std::string name;
    int weight = 0;  // -253..253 (File: a multiplier, -254..254)
    bool ok = true;  // the interface is up, the script succeeds, a target answers
    std::string failure = "failed";  // what is wrong when !ok, for the FAULT reason
    // File only: the number the file holds (keepalived's track_file); `ok` is ignored.
    std::optional<long> value;
    friend bool operator==(const Tracker&, const Tracker&) = default;
};

struct Contribution {
    std::string what;  // "script chk_haproxy", "interface eth1", "arp targets", "file /run/x"
    int delta = 0;     // added to the priority (before clamping)
    bool fault = false;
    friend bool operator==(const Contribution&, const Contribution&) = default;
};

struct EffectivePriority {
    uint8_t priority = 0;
    std::string fault;  // the first tracker that puts the instance in FAULT ("" if none)
    std::vector<Contribution> contributions;  // one per tracker, in order
};

// `base` is the configured priority, 1..255.
EffectivePriority effective_priority(uint8_t base, const std::vector<Tracker>& trackers);

std::string_view to_string(Tracker::Kind kind);

// rise/fall for a tracked script: `rise` successes in a row make it succeed, `fall`
// failures in a row make it fail.
class ScriptVerdict {
public:
    ScriptVerdict(unsigned rise, unsigned fall, bool init_fail)
        : rise_(rise ? rise : 1), fall_(fall ? fall : 1), ok_(!init_fail) {}
    // Returns true when ok() changed.
    bool observe(bool success);
    bool ok() const { return ok_; }
    void set_rules(unsigned rise, unsigned fall) {
        rise_ = rise ? rise : 1;
        fall_ = fall ? fall : 1;
    }

private:
    unsigned rise_, fall_;
    bool ok_;
    unsigned successes_ = 0, failures_ = 0;
};

}  // namespace lvsd::vrrp
