// Private: the IPVS generic-netlink wire encoding (<linux/ip_vs.h>), built and parsed
// with libnl-3. Kept apart from the socket code so that every attribute set round-trips
// in unit tests without a kernel: encode builds an nl_msg, decode parses it back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "ipvs/ipvs.hpp"
#include "ipvs/reconcile.hpp"

namespace lvsd::ipvs::detail {

struct MsgFree {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

// Addresses travel as a 16-byte union nf_inet_addr, IPv4 in its first 4 bytes.
inline constexpr int kAddrLen = 16;

// A genetlink request for `family_id` carrying `command` (IPVS_CMD_*), no attributes yet.
Result<MsgPtr> new_request(int family_id, uint8_t command, int flags = 0);

// Attribute writers. Each returns 0 or a negative libnl error (message too small).
// Full entries carry every setting the kernel requires for NEW/SET; keys only the identity.
int put_service(nl_msg* m, const Service& s);
int put_service_key(nl_msg* m, const ServiceKey& k);
int put_destination(nl_msg* m, const Destination& d);
int put_destination_key(nl_msg* m, const DestinationKey& k);
int put_timeouts(nl_msg* m, const Timeouts& t);
int put_sync_daemon(nl_msg* m, const SyncDaemon& d);
int put_sync_role(nl_msg* m, SyncRole role);
// What the kernel adds to dump replies; tests use these to fabricate replies.
int put_service_status(nl_msg* m, const ServiceStatus& s);
int put_destination_status(nl_msg* m, const DestinationStatus& d);

// The request message for one reconciler operation.
Result<MsgPtr> encode(const Op& op, int family_id);

// One parsed IPVS message: what the kernel sends in dump replies, and what `encode`
// produced. Absent parts stay empty.
struct Message {
    uint8_t command = 0;
    std::optional<ServiceStatus> service;  // settings absent on the wire stay default
    bool service_has_settings = false;     // a full entry (scheduler, flags, ...) was present
    std::optional<DestinationStatus> destination;
    std::optional<SyncDaemon> daemon;
    std::optional<SyncRole> daemon_role;  // a role-only daemon attribute (DEL_DAEMON)
    std::optional<Timeouts> timeouts;
};

// `what` names the message in errors ("service dump reply"). A destination without an
// address-family attribute (older kernels) takes the message's service family, else
// `dest_family`. Without `with_stats` the counters are not read (the reconciler's dump
// does not need them, and they are a third of the decoding work).
Result<Message> decode(const nlmsghdr* nlh, std::string_view what,
                       Family dest_family = Family::V4, bool with_stats = true);

// The inverse of `encode`, for tests and fakes.
Result<Op> decode_op(const nlmsghdr* nlh);

// Flags as the kernel reports them: the persistent flag follows the timeout, hashed
// is internal; `Service::flags` keeps the rest.
uint32_t wire_flags(const Service& s);

}  // namespace lvsd::ipvs::detail
