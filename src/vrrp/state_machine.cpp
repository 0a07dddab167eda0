// The transitions, state by state, in the order of RFC 5798 §6.4 (RFC 3768 §6.4 is the
// same machine with the v2 skew and no interval learning). Each `case` names the RFC
// line it implements, so that a reader can check the table line by line:
//
// state      | event                         | actions                                  | next
// -----------+-------------------------------+------------------------------------------+--------
// Initialize | Startup, priority 255         | SendAdvert, AddVips, SendGarp, ArmAdvert | Master   §6.4.1
// Initialize | Startup, otherwise (or hold)  | ArmMasterDown(MDI)                       | Backup   §6.4.1
// Initialize | Startup, a link down          | —                                        | Fault    (keepalived)
// Backup     | Shutdown                      | CancelTimer                              | Initialize §6.4.2
// Backup     | MasterDownTimer               | SendAdvert, AddVips, SendGarp, ArmAdvert | Master   §6.4.2
// Backup     | Advert priority 0             | ArmMasterDown(Skew_Time)                 | Backup   §6.4.2
// Backup     | Advert, !preempt or prio >= us| learn interval (v3), ArmMasterDown(MDI)  | Backup   §6.4.2
// Backup     | Advert, preempt, prio < us    | discard (preempt_delay: keep waiting)    | Backup   §6.4.2
// Master     | AdvertTimer                   | SendAdvert, ArmAdvert                    | Master   §6.4.3
// Master     | Shutdown                      | CancelTimer, SendAdvert(0), RemoveVips   | Initialize §6.4.3
// Master     | Advert priority 0             | SendAdvert, ArmAdvert                    | Master   §6.4.3
// Master     | Advert, prio > us, or = and   | CancelTimer, SendAdvert (not RFC: below),| Backup   §6.4.3
//            |   sender's address greater    |   RemoveVips, learn interval (v3),       |
//            |                               |   ArmMasterDown(MDI)                     |
// Master     | Advert, otherwise             | SendAdvert, SendGarp, ArmAdvert          | Master
//            |                               |   (keepalived; the RFC discards: below)  |
// any        | LinkDown / SyncFault          | Master: SendAdvert(0), RemoveVips; stop  | Fault    (keepalived)
// Fault      | LinkUp / SyncBackup, no fault | ArmMasterDown(MDI)                       | Backup   (keepalived)
// Backup     | SyncMaster                    | as MasterDownTimer                       | Master   (sync group)
// Master     | SyncBackup                    | SendAdvert(0), RemoveVips, ArmMasterDown | Backup   (sync group)
// Master     | Yield                         | SendAdvert(0), ArmAdvert; yielding       | Master   (lvsctl failover/hold)
// Master     | AdvertTimer, yielding         | SendAdvert(0), ArmAdvert                 | Master   (lvsctl failover)
// Master     | AdvertTimer, yielding, hold,  | SendAdvert(0), RemoveVips, ArmMasterDown | Backup   (lvsctl hold)
//            |   past yield_until            |                                          |
// Master     | AdvertTimer, hold, !yielding  | as Yield                                 | Master   (lvsctl hold)
// Master     | Advert prio > 0, yielding     | CancelTimer, RemoveVips, ArmMasterDown   | Backup   (lvsctl failover/hold)
// Master     | Advert priority 0, yielding   | — (no reply: two yielding masters)       | Master
// Master     | Resume                        | SendAdvert, ArmAdvert; not yielding      | Master   (--clear)
// Backup     | MasterDownTimer, hold         | ArmMasterDown(MDI)                       | Backup   (lvsctl hold)
// Backup     | SyncMaster, hold              | —                                        | Backup   (lvsctl hold)
// Fault      | SyncMaster, hold, no fault    | ArmMasterDown(MDI)                       | Backup   (lvsctl hold)
#include "vrrp/state_machine.hpp"

#include <algorithm>

namespace lvsd::vrrp {
namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

Duration to_duration(Centiseconds c) { return std::chrono::duration_cast<Duration>(c); }

// Which interval the backup times the master with: v3 learns it from the master's
// advert (RFC 5798 §6.4.2); v2 requires both sides to agree (RFC 3768 §7.1), so it is ours.
Centiseconds learned_interval(const Params& p, Centiseconds advertised) {
    return p.version == 3 ? advertised : p.advert_int;
}

struct Builder {
    const Params& p;
    TimePoint now;
    Step out;

    void send(uint8_t priority) { out.actions.push_back(action::SendAdvert{priority}); }
    void arm_advert() { out.actions.push_back(action::ArmAdvertTimer{now + to_duration(p.advert_int)}); }
    void arm_master_down(Duration in) { out.actions.push_back(action::ArmMasterDownTimer{now + in}); }
    void notify(State s) { out.actions.push_back(action::Notify{s}); }

    void become_master() {
        // §6.4.1 / §6.4.2 "transition to the Master state": advertise at once so that
        // other backups hold back, then announce the addresses' new home.
        send(p.priority);
        out.actions.push_back(action::AddVips{});
        out.actions.push_back(action::SendGarp{});
        arm_advert();
        out.next.state = State::Master;
        out.next.preempt_at.reset();
        stop_yielding();
        notify(State::Master);
    }

    void become_backup(Centiseconds master_interval) {
        out.next.master_adver_interval = master_interval;
        arm_master_down(master_down_interval(p, master_interval));
        out.next.state = State::Backup;
        stop_yielding();
        notify(State::Backup);
    }

    // Master -> Backup without leaving the election: priority 0 tells the peer to take
    // over after its Skew_Time (RFC 5798 §6.4.2) instead of Master_Down_Interval.
    void step_down() {
        send(kStopPriority);
        out.actions.push_back(action::RemoveVips{});
        become_backup(p.advert_int);
    }

    // Make before break: ask for a taker, keep the VIPs until one is heard.
    void start_yield() {
        send(kStopPriority);
        arm_advert();
        out.next.yielding = true;
        out.next.yield_until = now + master_down_interval(p, p.advert_int);
    }

    void stop_yielding() {
        out.next.yielding = false;
        out.next.yield_until.reset();
    }

    void become_fault() {
        if (out.next.state == State::Master) {
            // Tell the peer to take over now rather than after Master_Down_Interval.
            send(kStopPriority);
            out.actions.push_back(action::RemoveVips{});
        }
        out.actions.push_back(action::CancelTimer{});
        out.next.state = State::Fault;
        out.next.preempt_at.reset();
        stop_yielding();
        notify(State::Fault);
    }
};

Step initialize(Builder b, const Event& e) {
    std::visit(Overloaded{
                   [&](const event::Startup&) {
                       if (b.out.next.link_fault || b.out.next.group_fault) {
                           b.become_fault();
                       } else if (b.p.priority == kOwnerPriority && !b.p.hold) {
                           b.become_master();
                       } else {
                           b.become_backup(b.p.advert_int);
                       }
                   },
                   [&](const event::LinkDown&) { b.out.next.link_fault = true; },
                   [&](const event::LinkUp&) { b.out.next.link_fault = false; },
                   [&](const auto&) {},
               },
               e);
    return std::move(b.out);
}

Step backup(Builder b, const Event& e) {
    auto& next = b.out.next;
    std::visit(
        Overloaded{
            [&](const event::Shutdown&) {
                b.out.actions.push_back(action::CancelTimer{});
                next.state = State::Initialize;
                next.preempt_at.reset();
                b.notify(State::Initialize);
            },
            [&](const event::MasterDownTimer&) {
                // Held: the master is silent, but the operator said never; keep timing it,
                // so that a release without a master takes over one interval later.
                if (b.p.hold) b.arm_master_down(master_down_interval(b.p, next.master_adver_interval));
                else b.become_master();
            },
            [&](const event::SyncMaster&) {
                if (!b.p.hold) b.become_master();
            },
            [&](const event::AdvertReceived& a) {
                if (a.priority == kStopPriority) {
                    // §6.4.2: the master is leaving; take over after Skew_Time, so the
                    // highest-priority backup goes first.
                    b.arm_master_down(skew_time(b.p, next.master_adver_interval));
                    return;
                }
                const bool lower = a.priority < b.p.priority;
                if (!b.p.preempt || !lower) {
                    next.master_adver_interval = learned_interval(b.p, a.max_advert_int);
                    next.preempt_at.reset();
                    b.arm_master_down(master_down_interval(b.p, next.master_adver_interval));
                    return;
                }
                // Preempt and the master's priority is lower than ours.
                if (b.p.preempt_delay == Duration::zero()) return;  // §6.4.2: discard
                // preempt_delay (keepalived): keep the lower master for that long after
                // first seeing it, then let the master-down timer take over; if the
                // master dies meanwhile, take over as after any silent master.
                if (!next.preempt_at) next.preempt_at = b.now + b.p.preempt_delay;
                if (b.now >= *next.preempt_at) return;  // delay over: discard
                next.master_adver_interval = learned_interval(b.p, a.max_advert_int);
                const auto mdi = master_down_interval(b.p, next.master_adver_interval);
                b.out.actions.push_back(action::ArmMasterDownTimer{std::min(*next.preempt_at, b.now + mdi)});
            },
            [&](const event::LinkDown&) {
                next.link_fault = true;
                b.become_fault();
            },
            [&](const event::SyncFault&) {
                next.group_fault = true;
                b.become_fault();
            },
            [&](const auto&) {},  // Startup, AdvertTimer (stale), LinkUp, SyncBackup
        },
        e);
    return std::move(b.out);
}

Step master(Builder b, const Event& e) {
    auto& next = b.out.next;
    std::visit(Overloaded{
                   [&](const event::AdvertTimer&) {
                       if (next.yielding) {
                           // Held: nobody took over within Master_Down_Interval; leave anyway.
                           if (b.p.hold && next.yield_until && b.now >= *next.yield_until) return b.step_down();
                           b.send(kStopPriority);
                           b.arm_advert();
                           return;
                       }
                       // Held while Master (set without a Yield): hand over from now.
                       if (b.p.hold) return b.start_yield();
                       b.send(b.p.priority);
                       b.arm_advert();
                   },
                   [&](const event::Yield&) {
                       if (!next.yielding) b.start_yield();
                   },
                   [&](const event::Resume&) {
                       b.stop_yielding();
                       b.send(b.p.priority);
                       b.arm_advert();
                   },
                   [&](const event::Shutdown&) {
                       b.out.actions.push_back(action::CancelTimer{});
                       b.send(kStopPriority);
                       b.out.actions.push_back(action::RemoveVips{});
                       next.state = State::Initialize;
                       b.notify(State::Initialize);
                   },
                   [&](const event::AdvertReceived& a) {
                       if (a.priority == kStopPriority) {
                           // Two masters handing over: a reply would start a ping-pong.
                           if (next.yielding) return;
                           // §6.4.3: another master left; restate that we are master.
                           b.send(b.p.priority);
                           b.arm_advert();
                           return;
                       }
                       if (next.yielding) {
                           // The taker we asked for: the VIPs are its now.
                           b.out.actions.push_back(action::CancelTimer{});
                           b.out.actions.push_back(action::RemoveVips{});
                           b.become_backup(learned_interval(b.p, a.max_advert_int));
                           return;
                       }
                       if (a.priority > b.p.priority || (a.priority == b.p.priority && wins_tie(a.src, b.p.primary))) {
                           b.out.actions.push_back(action::CancelTimer{});
                           // Not in the RFC: one last advert of ours, so that the winner,
                           // who may never have heard us (a partition that just healed),
                           // learns that we held the addresses and announces them again.
                           b.send(b.p.priority);
                           b.out.actions.push_back(action::RemoveVips{});
                           b.become_backup(learned_interval(b.p, a.max_advert_int));
                           return;
                       }
                       // The RFC discards this advert; keepalived answers at once so that
                       // the other router (a backup that preempted, or a master after a
                       // partition heals) sees our higher priority within one packet
                       // instead of one interval. We do the same to interoperate. The
                       // addresses are announced again too: while partitioned, the other
                       // side claimed them on the segment (keepalived's
                       // garp_lower_prio_repeat).
                       b.send(b.p.priority);
                       b.out.actions.push_back(action::SendGarp{});
                       b.arm_advert();
                   },
                   [&](const event::LinkDown&) {
                       next.link_fault = true;
                       b.become_fault();
                   },
                   [&](const event::SyncFault&) {
                       next.group_fault = true;
                       b.become_fault();
                   },
                   [&](const event::SyncBackup&) {
                       // A sibling lost the election: follow it and tell our peer to take
                       // over now (priority 0) so that the group moves as one.
                       b.step_down();
                   },
                   [&](const auto&) {},  // Startup, MasterDownTimer (stale), LinkUp, SyncMaster
               },
               e);
    return std::move(b.out);
}

Step fault(Builder b, const Event& e) {
    auto& next = b.out.next;
    auto leave_if_clear = [&] {
        if (!next.link_fault && !next.group_fault) b.become_backup(b.p.advert_int);
    };
    std::visit(Overloaded{
                   [&](const event::LinkUp&) {
                       next.link_fault = false;
                       leave_if_clear();
                   },
                   [&](const event::LinkDown&) { next.link_fault = true; },
                   [&](const event::SyncBackup&) {
                       next.group_fault = false;
                       leave_if_clear();
                   },
                   [&](const event::SyncMaster&) {
                       next.group_fault = false;
                       if (next.link_fault) return;
                       if (b.p.hold) b.become_backup(b.p.advert_int);
                       else b.become_master();
                   },
                   [&](const event::SyncFault&) { next.group_fault = true; },
                   [&](const event::Shutdown&) {
                       next.state = State::Initialize;
                       b.notify(State::Initialize);
                   },
                   [&](const auto&) {},  // adverts and timers mean nothing in Fault
               },
               e);
    return std::move(b.out);
}

}  // namespace

std::string_view to_string(State s) {
    switch (s) {
        case State::Initialize: return "INIT";
        case State::Backup: return "BACKUP";
        case State::Master: return "MASTER";
        case State::Fault: return "FAULT";
    }
    return "UNKNOWN";
}

Duration skew_time(const Params& p, Centiseconds master_adver_interval) {
    const int64_t weight = 256 - p.priority;
    if (p.version == 2) return Duration(weight * 1'000'000 / 256);
    return Duration(weight * to_duration(master_adver_interval).count() / 256);
}

Duration master_down_interval(const Params& p, Centiseconds master_adver_interval) {
    return 3 * to_duration(master_adver_interval) + skew_time(p, master_adver_interval);
}

bool wins_tie(const IpAddress& sender, const IpAddress& ours) {
    if (sender.is_v4() && ours.is_v4()) return sender.to_v4().to_bytes() > ours.to_v4().to_bytes();
    if (sender.is_v6() && ours.is_v6()) return sender.to_v6().to_bytes() > ours.to_v6().to_bytes();
    return false;
}

Step step(const Params& p, const Snapshot& s, const Event& e, TimePoint now) {
    Builder b{p, now, Step{s, {}}};
    switch (s.state) {
        case State::Initialize: return initialize(std::move(b), e);
        case State::Backup: return backup(std::move(b), e);
        case State::Master: return master(std::move(b), e);
        case State::Fault: return fault(std::move(b), e);
    }
    return std::move(b.out);
}

}  // namespace lvsd::vrrp
