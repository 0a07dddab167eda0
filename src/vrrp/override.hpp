// Operator overrides on a VRRP instance, the decisions only (pure): `lvsctl failover`
// hands mastership to the peer without stopping, `lvsctl hold` keeps an instance out of
// mastership for maintenance. Both are operator state, not configuration: the daemon
// keeps them (and a reload does not touch them) until the operator clears them.
//
//   failover  the instance runs with the lower of its tracked priority and its
//             `failover_priority` (default 1), whatever its trackers add. A Master hands
//             over make before break (state_machine.hpp, event::Yield): it advertises
//             priority 0 (RFC 5798 §6.4.3 / RFC 3768 §6.4.3, as on shutdown: a backup
//             takes over after its Skew_Time) once every Advertisement_Interval, keeps
//             its VIPs until it hears the new master, then is Backup. Availability first:
//             without a taker it keeps the VIPs; and a failed-over Backup that hears no
//             master for Master_Down_Interval (the peer died) becomes Master again, at
//             that low priority, until a preempting peer is back.
//   hold      the same, and it never becomes Master, not even when the peer dies
//             (state_machine.hpp, Params::hold); a held Master without a taker leaves
//             (removing its VIPs) after Master_Down_Interval all the same.
//   clearing  the configured priority, moved by the trackers, comes back; a Backup that
//             preempts (no `nopreempt`) then takes mastership back as RFC 5798 §6.4.2
//             says (adverts of a lower priority are discarded, Master_Down_Interval later
//             it is Master).
//
// Faults still apply: a tracker with weight 0 or a missing interface puts an overridden
// instance in FAULT, and it leaves FAULT as Backup. An address owner (priority 255) is
// refused: RFC 5798 §6.4.1 makes it Master whenever it runs, and its peers expect that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lvsd::vrrp {

enum class Override : uint8_t { None, Failover, Hold };

// "none", "failover", "hold": the words of lvsctl, the state file and the metrics.
std::string_view to_string(Override o);
std::optional<Override> parse_override(std::string_view word);

inline constexpr uint8_t kDefaultFailoverPriority = 1;

// The priority an instance runs with under `o`: `tracked` (effective_priority() of
// priority.hpp) without an override, else the lower of `tracked` and `failover_priority`
// (1..254): an override never raises a priority. An owner (255) is never moved.
uint8_t overridden_priority(uint8_t tracked, Override o, uint8_t failover_priority);

// Why `o` cannot be put on instance `name` with configured priority `priority`; "" when
// it can. The text is the operator's answer ("vrrp instance VI_1 is the address owner...").
std::string override_refusal(std::string_view name, uint8_t priority, Override o);

}  // namespace lvsd::vrrp
