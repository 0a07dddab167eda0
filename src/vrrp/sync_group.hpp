// Sync groups (keepalived's vrrp_sync_group): the instances of a group change state
// together, so that e.g. a front and a back VIP always sit on the same balancer.
// Pure, like the state machine it drives.
#pragma once

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "vrrp/state_machine.hpp"

namespace lvsd::vrrp {

// The rule. After member `changed` reached its current state, which events the others
// get:
//   changed is Fault             -> every sibling not in Fault: SyncFault
//   changed is Backup or Master  -> if a sibling's own link is down, the group stays in
//                                   Fault: `changed` itself gets SyncFault
//   changed is Backup            -> siblings in Master or Fault: SyncBackup
//   changed is Master            -> siblings in Backup or Fault: SyncMaster
// Siblings already in the target state get nothing, so applying the rule to each member
// that moves always settles.
std::vector<std::pair<std::size_t, Event>> sync_follow(std::span<const Snapshot> members, std::size_t changed);

// Applies `e` to member `member`, then the rule to every member that changed state, until
// the group is settled. Updates `snapshots` in place and returns each member's actions
// in the order they are to be carried out.
std::vector<std::pair<std::size_t, Action>> sync_handle(std::span<const Params> params,
                                                        std::span<Snapshot> snapshots, std::size_t member,
                                                        const Event& e, TimePoint now);

}  // namespace lvsd::vrrp
