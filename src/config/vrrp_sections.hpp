// The VRRP sections of the configuration (config.hpp has the whole): vrrp_instances and
// their virtual addresses, vrrp_sync_groups, and what instances track (vrrp_scripts,
// vrrp_track_files, vrrp_track_processes, interfaces, ARP targets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "config/basics.hpp"

namespace lvsd::config {

struct VirtualAddress {
    Prefix prefix;      // `/32` or `/128` when written without a length
    std::string dev;    // empty: the instance's interface
    std::string label;  // IPv4 only; empty: none
    Location where;
};

struct TrackInterface {
    std::string name;
    int weight = 0;  // 0: interface down = FAULT; otherwise added to the priority while down
    Location where;
};

// The instance goes to FAULT when none of `targets` answers ARP (IPv4) or neighbour
// solicitation (IPv6) for `fall` consecutive probes `interval` apart.
struct TrackArpTarget {
    std::vector<IpAddress> targets;
    Duration interval = std::chrono::seconds(1);
    uint32_t fall = 3;
    int weight = 0;  // 0: no target answering = FAULT; otherwise added to the priority then
    Location where;
};

// keepalived's vrrp_script: a command run every `interval`; its exit status (0: success)
// judged with rise/fall moves the priority of the instances that track it by `weight`
// (positive: added while it succeeds; negative: added while it fails; 0: FAULT while it
// fails).
struct VrrpScript {
    std::string name;
    Command script;  // argv; {"/bin/sh", "-c", text} when the text needs a shell
    std::string text;  // as written, for logs and --plan
    Duration interval = std::chrono::seconds(1);
    Duration timeout{0};  // 0: the interval (keepalived's default)
    int weight = 0;       // -253..253
    uint32_t rise = 1;
    uint32_t fall = 1;
    std::string user;   // run as this user (empty: root)
    std::string group;  // and group (empty: the user's)
    bool init_fail = false;  // failed until its first success (else succeeded until it fails)
    Location where;
};

// keepalived's vrrp_track_file: a file holding a number; a tracking instance adds
// number × weight to its priority (weight 0: FAULT while the number is not 0).
struct VrrpTrackFile {
    std::string name;
    std::string file;  // absolute path
    int weight = 1;    // -254..254, keepalived's default 1
    std::optional<long> init_file;  // written when the file is missing at start
    bool init_overwrite = false;    // written at start even when it exists
    Location where;
};

struct TrackFile {
    std::string name;           // a vrrp_track_files name
    std::optional<int> weight;  // overrides the file's weight
    Location where;
};

// keepalived's vrrp_track_process: while quorum..quorum_max processes match, the process
// is up (weights as for scripts: positive added while up, negative while down, 0 = FAULT
// while down).
struct VrrpTrackProcess {
    std::string name;
    std::string process;            // the name (comm or argv[0]'s base name; with a '/', argv[0])
    std::vector<std::string> args;  // parameters after it, for param_match
    std::string param_match;        // "" (none), "exact", "initial", "partial"
    int weight = 0;
    uint32_t quorum = 1;
    std::optional<uint32_t> quorum_max;
    Duration delay{0};
    Location where;
};

struct TrackProcess {
    std::string name;
    std::optional<int> weight;
    Location where;
};

struct TrackScript {
    std::string name;           // a vrrp_scripts name
    std::optional<int> weight;  // overrides the script's weight for this instance
    Location where;
};

struct VrrpInstance {
    std::string name;
    VrrpState state = VrrpState::Backup;  // initial state hint (RFC 5798 §6.4.1)
    std::string interface;
    uint8_t virtual_router_id = 0;
    uint8_t priority = 100;  // 255: address owner
    // What the instance runs with while the operator fails it over or holds it
    // (`lvsctl failover` / `lvsctl hold`, vrrp/override.hpp): 1..254, below `priority`.
    uint8_t failover_priority = 1;
    Duration advert_int = std::chrono::seconds(1);
    uint8_t version = 2;              // 2 (RFC 3768) or 3 (RFC 5798); IPv6 is always 3
    Family family = Family::V4;       // of the virtual addresses (one family per instance)
    bool nopreempt = false;
    Duration preempt_delay{0};
    std::optional<IpAddress> unicast_src_ip;
    std::vector<IpAddress> unicast_peer;  // empty: multicast to 224.0.0.18 / ff02::12
    std::vector<VirtualAddress> virtual_ipaddress;  // at least one
    std::vector<TrackInterface> track_interface;
    std::vector<TrackScript> track_script;
    std::vector<TrackFile> track_file;
    std::vector<TrackProcess> track_process;
    std::optional<TrackArpTarget> track_arp_target;
    Duration garp_master_delay = std::chrono::seconds(5);
    uint32_t garp_master_repeat = 5;
    Duration garp_interval{0};
    Duration garp_master_refresh{0};  // 0: no periodic refresh
    uint32_t garp_master_refresh_repeat = 1;
    std::optional<std::string> auth_pass;  // VRRPv2 simple-text authentication, or the AH key
    bool auth_ah = false;                  // auth_type AH (IPv4 only): auth_pass keys HMAC-MD5-96
    Notify notify;
    Location where;
    std::string use_vmac;           // keepalived's use_vmac: the macvlan's name ("" = none)
    bool vmac_xmit_base = false;    // adverts on `interface`, not on the macvlan
    bool dont_track_primary = false;  // `interface` down is not a FAULT (keepalived's keyword)
    Location interface_where;       // of the `interface` setting
    Location unicast_src_ip_where;  // of `unicast_src_ip`, when set
};

struct VrrpSyncGroup {
    std::string name;
    std::vector<std::string> group;  // instance names, each known and in one group only
    Notify notify;
    std::vector<TrackScript> track_script;  // tracked by every member (keepalived)
    Location where;
};
}  // namespace lvsd::config
