// The VRRP state machine (RFC 5798 §6.4, RFC 3768 §6.4), pure: the adapter feeds it
// events with the current monotonic time and carries out the actions it returns. The
// machine never reads a clock, never sends, never sleeps; its tests pass time in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "common/net.hpp"
#include "vrrp/codec.hpp"

namespace lvsd::vrrp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::microseconds;

// Initialize, Backup and Master are the RFC's; Fault is keepalived's: a tracked
// interface is down (or a sync-group sibling is in Fault), so the instance holds no VIP
// and does not take part in the election.
enum class State : uint8_t { Initialize, Backup, Master, Fault };
std::string_view to_string(State s);

inline constexpr uint8_t kOwnerPriority = 255;  // RFC 5798 §6.1: the address owner
inline constexpr uint8_t kStopPriority = 0;     // "stop participating", RFC 5798 §6.1

// Configuration the machine needs (RFC 5798 §6.1 "Parameters Per Virtual Router").
struct Params {
    uint8_t version = 3;
    uint8_t priority = 100;              // 1..255
    Centiseconds advert_int{100};        // Advertisement_Interval
    bool preempt = true;                 // keepalived's `nopreempt` sets false
    Duration preempt_delay{0};           // keepalived's `preempt_delay`
    IpAddress primary;                   // our primary address: the tie-breaker (§6.4.3)
    // The operator holds the instance in Backup (`lvsctl hold`, override.hpp): it never
    // becomes Master, not even when the master falls silent or a sync-group sibling
    // becomes Master. Not in the RFCs.
    bool hold = false;
};

// What the machine remembers between steps.
struct Snapshot {
    State state = State::Initialize;
    Centiseconds master_adver_interval{0};  // v3: learned from the master (§6.4.2)
    std::optional<TimePoint> preempt_at;    // preempt_delay running: preempt no earlier
    bool link_fault = false;                // a tracked interface of ours is down
    bool group_fault = false;               // a sync-group sibling holds the group in Fault
    // A Master handing over (event::Yield): it advertises priority 0 and keeps its VIPs
    // until another master is heard, so that no client meets a VIP that nobody holds.
    bool yielding = false;
    std::optional<TimePoint> yield_until;  // held (Params::hold): leave by then regardless

    friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

namespace event {
struct Startup {};
struct Shutdown {};
struct AdvertReceived {  // already checked (codec::parse + codec::check)
    uint8_t priority = 0;
    IpAddress src;
    Centiseconds max_advert_int{100};
};
struct MasterDownTimer {};
struct AdvertTimer {};
struct LinkDown {};  // all tracked interfaces considered: at least one is down
struct LinkUp {};    // every tracked interface is up again
// Sent by the sync-group rule (sync_group.hpp) to make a sibling follow.
struct SyncMaster {};
struct SyncBackup {};
struct SyncFault {};
// The operator hands mastership over (`lvsctl failover` or `lvsctl hold`, override.hpp),
// make before break: a Master advertises priority 0 (RFC 5798 §6.4.3 / RFC 3768 §6.4.3,
// so a backup takes over after its Skew_Time) at once and at every Advertisement_Interval,
// keeps its VIPs meanwhile and becomes Backup (removing them) when it hears the new
// master. Nothing in the other states. The caller has lowered the priority in Params.
// Without a taker a failed-over Master goes on like that (availability first); a held one
// (Params::hold) leaves after Master_Down_Interval all the same.
struct Yield {};
// The override is cleared: a Master advertises its priority (restored in Params) at once
// and stops handing over. Nothing in the other states.
struct Resume {};
}  // namespace event

using Event = std::variant<event::Startup, event::Shutdown, event::AdvertReceived, event::MasterDownTimer,
                           event::AdvertTimer, event::LinkDown, event::LinkUp, event::SyncMaster,
                           event::SyncBackup, event::SyncFault, event::Yield,
                           event::Resume>;

namespace action {
struct SendAdvert {
    uint8_t priority = 0;
    friend bool operator==(const SendAdvert&, const SendAdvert&) = default;
};
struct AddVips {
    friend bool operator==(const AddVips&, const AddVips&) = default;
};
struct RemoveVips {
    friend bool operator==(const RemoveVips&, const RemoveVips&) = default;
};
struct SendGarp {  // gratuitous ARP / unsolicited NA; repeats are the adapter's job
    friend bool operator==(const SendGarp&, const SendGarp&) = default;
};
// There is one timer per instance: arming either kind replaces whatever was armed.
struct ArmAdvertTimer {
    TimePoint deadline;
    friend bool operator==(const ArmAdvertTimer&, const ArmAdvertTimer&) = default;
};
struct ArmMasterDownTimer {
    TimePoint deadline;
    friend bool operator==(const ArmMasterDownTimer&, const ArmMasterDownTimer&) = default;
};
struct CancelTimer {
    friend bool operator==(const CancelTimer&, const CancelTimer&) = default;
};
// Run the notify scripts for the new state. Initialize here means "stopped"
// (keepalived's notify_stop).
struct Notify {
    State state;
    friend bool operator==(const Notify&, const Notify&) = default;
};
}  // namespace action

using Action = std::variant<action::SendAdvert, action::AddVips, action::RemoveVips, action::SendGarp,
                            action::ArmAdvertTimer, action::ArmMasterDownTimer, action::CancelTimer,
                            action::Notify>;

struct Step {
    Snapshot next;
    std::vector<Action> actions;
};

Step step(const Params& p, const Snapshot& s, const Event& e, TimePoint now);

// RFC 5798 §6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256;
// RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds.
Duration skew_time(const Params& p, Centiseconds master_adver_interval);
// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
Duration master_down_interval(const Params& p, Centiseconds master_adver_interval);

// RFC 5798 §6.4.3: on equal priority the sender with the greater primary address wins,
// comparing the addresses as unsigned integers in network byte order.
bool wins_tie(const IpAddress& sender, const IpAddress& ours);

}  // namespace lvsd::vrrp

template <>
struct fmt::formatter<lvsd::vrrp::State> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(lvsd::vrrp::State s, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::vrrp::to_string(s), ctx);
    }
};
