// `lvsctl status --json`: the daemon's status as plain values, and the one function that
// writes them as JSON (nlohmann-json, in status.cpp only). README "lvsctl" documents the
// object; fields are only ever added, never renamed, and keep their order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/realtime.hpp"

namespace lvsd::daemon {

struct TrackerStatus {
    struct Script {  // a track_script's runner
        uint64_t runs = 0;
        uint64_t failures = 0;
        std::string last;  // "exited with status 1", ...
    };
    std::string tracker;  // "script chk_haproxy", "interface eth1", ...
    int delta = 0;
    bool fault = false;
    std::optional<Script> script;
};

struct VrrpInstanceStatus {
    std::string name;
    std::string state;  // "MASTER", ...
    std::string interface;
    unsigned virtual_router_id = 0;
    unsigned priority = 0;
    uint64_t adverts_sent = 0;
    uint64_t adverts_received = 0;
    uint64_t transitions = 0;
    std::vector<std::pair<std::string, uint64_t>> dropped;  // reasons with drops, in order
    unsigned effective_priority = 0;
    uint64_t vip_repairs = 0;
    std::optional<std::string> source;  // the advert source address; unset: none
    std::string fault;                  // empty: the host lets it act
    std::vector<TrackerStatus> trackers;
    int64_t state_since_s = 0;
    // The operator's failover or hold (vrrp/override.hpp); unset: none.
    struct Override {
        std::string kind;                  // "failover", "hold"
        int64_t since_s = 0;               // seconds since it was set
        std::optional<std::string> group;  // the sync group it is on; unset: on the instance
    };
    std::optional<Override> override_;
};

struct ProbeStatus {
    bool ok = false;
    std::string reason;
    int64_t latency_us = 0;
};

// An operator's override of a real server (lvsctl drain, disable, weight; issue #15).
struct OverrideStatus {
    std::optional<std::string> drain;  // "draining", "drained"; unset: none
    std::optional<int64_t> drain_timeout_s;  // seconds left of a running drain's --timeout
    bool drain_balancer = false;             // made by drain --balancer
    bool disabled = false;
    std::optional<uint32_t> weight;
};

struct RealServerStatus {
    std::string address;
    unsigned port = 0;
    bool healthy = true;
    bool checked = false;
    std::optional<uint32_t> weight;  // unset: not in the kernel table
    std::optional<ProbeStatus> last_probe;
    std::optional<uint64_t> active_connections;  // the kernel's; unset with weight
    std::optional<uint64_t> inactive_connections;
    std::optional<uint64_t> probes;  // unset: no check
    std::optional<OverrideStatus> override_state;  // unset: none
};

struct VirtualServiceStatus {
    std::string service;  // "TCP 192.0.2.10:8080", "FWM 7"
    std::string scheduler;
    bool in_kernel = false;
    std::optional<std::string> group;  // the virtual_server_groups entry; unset: none
    bool quorum = true;
    std::vector<RealServerStatus> real_servers;
};

struct ServicePlaneStatus {
    uint64_t reconciles = 0;
    uint64_t ops_sent = 0;
    uint64_t ops_failed = 0;
    std::vector<VirtualServiceStatus> virtual_services;
    bool balancer_drained = false;  // as DaemonStatus's, kept here too: fields are never removed
};

struct SyncStatus {
    std::optional<std::string> role;  // unset: no sync daemon runs
    std::string interface;
    unsigned syncid = 0;
    std::string instance;
};

// Announced VIPs (issue #14): each VIP's state in lvsd's routing table and why.
struct AnnouncedVipStatus {
    std::string vip;
    std::string state;  // "announced" or "withdrawn" (as the plan wants it)
    std::string why;
    bool route = false;  // the host route is in the table (as of the last reconcile)
    bool address = false;  // the VIP is an address of announce_interface
};
struct AnnounceStatus {
    uint32_t table = 0;
    unsigned protocol = 0;
    std::string interface;
    bool drained = false;
    std::string problem;  // the last netlink error, "" when the last reconcile worked
    uint64_t repairs = 0;  // routes and addresses put back after a change behind lvsd's back
    std::vector<AnnouncedVipStatus> vips;
};

struct DaemonStatus {
    std::string version;
    std::string config;  // the file's path
    uint64_t generation = 1;
    int64_t uptime_s = 0;
    bool balancer_drained = false;  // lvsctl drain --balancer is on (VRRP-only balancers too)
    std::vector<VrrpInstanceStatus> vrrp;
    std::optional<ServicePlaneStatus> ipvs;  // unset: no virtual services
    std::optional<SyncStatus> sync;          // unset: no lvs_sync_daemon
    std::optional<AnnounceStatus> announce;  // unset: no announced VIP
    SchedulingStatus vrrp_thread;            // how the VRRP thread is scheduled
};

// One JSON object on one line, ending in a newline. Unset values are null; bytes that are
// not UTF-8 (a path, say) are written as U+FFFD.
std::string render_status_json(const DaemonStatus& s);
// The object's "ipvs" part alone, on one line without a newline.
std::string render_status_json(const ServicePlaneStatus& s);

}  // namespace lvsd::daemon
