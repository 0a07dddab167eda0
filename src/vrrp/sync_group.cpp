#include "vrrp/sync_group.hpp"

#include <deque>

#include <spdlog/spdlog.h>

#include "common/command.hpp"
#include "vrrp/instance.hpp"

namespace lvsd::vrrp {

std::vector<std::pair<std::size_t, Event>> sync_follow(std::span<const Snapshot> members, std::size_t changed) {
    std::vector<std::pair<std::size_t, Event>> out;
    const State s = members[changed].state;
    if (s == State::Initialize) return out;
    if (s == State::Fault) {
        for (std::size_t j = 0; j < members.size(); ++j)
            if (j != changed && members[j].state != State::Fault && members[j].state != State::Initialize)
                out.emplace_back(j, event::SyncFault{});
        return out;
    }
    for (std::size_t j = 0; j < members.size(); ++j) {
        if (j != changed && members[j].link_fault) {
            out.emplace_back(changed, event::SyncFault{});
            return out;
        }
    }
    for (std::size_t j = 0; j < members.size(); ++j) {
        if (j == changed) continue;
        const State o = members[j].state;
        if (s == State::Backup && (o == State::Master || o == State::Fault)) out.emplace_back(j, event::SyncBackup{});
        if (s == State::Master && (o == State::Backup || o == State::Fault)) out.emplace_back(j, event::SyncMaster{});
    }
    return out;
}

std::vector<std::pair<std::size_t, Action>> sync_handle(std::span<const Params> params,
                                                        std::span<Snapshot> snapshots, std::size_t member,
                                                        const Event& e, TimePoint now) {
    std::vector<std::pair<std::size_t, Action>> out;
    std::deque<std::pair<std::size_t, Event>> queue{{member, e}};
    // Each forced event moves a member toward the state of the one that moved; a bound
    // keeps a logic error from looping forever.
    for (std::size_t guard = 0; !queue.empty() && guard < 16 * snapshots.size() + 16; ++guard) {
        auto [i, ev] = queue.front();
        queue.pop_front();
        const State before = snapshots[i].state;
        auto r = step(params[i], snapshots[i], ev, now);
        snapshots[i] = r.next;
        for (auto& a : r.actions) out.emplace_back(i, std::move(a));
        if (snapshots.size() > 1 && snapshots[i].state != before)
            for (auto& f : sync_follow(snapshots, i)) queue.push_back(std::move(f));
    }
    return out;
}

SyncGroup::SyncGroup(std::string name, std::vector<Instance*> members, GroupNotify notify)
    : name_(std::move(name)), members_(std::move(members)), notify_(std::move(notify)) {
    for (std::size_t i = 0; i < members_.size(); ++i) members_[i]->on_group_change([this, i] { follow(i); });
}

void SyncGroup::follow(std::size_t changed) {
    std::vector<Snapshot> snaps;
    for (auto* m : members_) snaps.push_back(m->snapshot());
    for (auto& [j, ev] : sync_follow(snaps, changed)) {
        Instance& member = *members_[j];
        // A member not started yet (or stopped) takes no part.
        if (!member.running()) continue;
        spdlog::info("VRRP sync group {}: {} follows {} into {}", name_, member.config().name,
                     members_[changed]->config().name, members_[changed]->snapshot().state);
        member.follow(ev);
    }
    // The group's notify runs once all members agree (a member's own notify runs per
    // member as always).
    const State s = members_.front()->snapshot().state;
    for (auto* m : members_)
        if (m->snapshot().state != s) return;
    if (announced_ == s) return;
    announced_ = s;
    for (auto& argv : group_notify_commands(notify_, name_, s))
        post_command(members_.front()->executor(), std::move(argv), notify_.timeout);
}

}  // namespace lvsd::vrrp
