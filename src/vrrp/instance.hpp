// One VRRP instance: the thin shell around the pure state machine. It feeds vrrp::step
// the events (adverts from the transport, its timer, the host's changes) and carries out
// the actions through its parts: the transport (raw socket, detail/transport.hpp), the
// VIPs as desired state on the host (detail/vip_keeper.hpp), track_arp_target
// (detail/arp_tracker.hpp) and notify scripts (common/command.hpp, on the executor given
// for commands). What the host allows
// (interface, advert source, faults) is host_facts.hpp's pure answer to the host::View,
// re-read on every change: nothing caches an interface index or an address.
// Single-threaded: everything runs on the io_context given to it, except notify commands.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "vrrp/codec.hpp"
#include "vrrp/override.hpp"
#include "vrrp/priority.hpp"
#include "vrrp/state_machine.hpp"

#include <boost/asio/any_io_executor.hpp>

namespace boost::asio {
class io_context;
}

namespace lvsd::host {
class Monitor;
}

namespace lvsd::vrrp {

// A `virtual_ipaddress` entry: `192.0.2.10/24 dev eth1 label eth1:vip` in keepalived.
struct VirtualAddress {
    Prefix prefix;
    std::string dev;    // empty: the instance's interface
    std::string label;  // IPv4 only, at most 15 bytes (IFNAMSIZ - 1)
};

// A tracked interface or script and its weight (priority.hpp says what a weight does).
struct TrackedInterface {
    std::string name;
    int weight = 0;  // 0: down or gone = FAULT
    friend bool operator==(const TrackedInterface&, const TrackedInterface&) = default;
};
struct TrackedScript {
    std::string name;  // a TrackedScripts name; the daemon reports its verdicts
    int weight = 0;    // 0: failing = FAULT
    friend bool operator==(const TrackedScript&, const TrackedScript&) = default;
};

struct TrackedFile {
    std::string name;  // a TrackedFiles name; the daemon reports its values
    int weight = 1;    // the value is multiplied by it; 0: a value other than 0 = FAULT
    friend bool operator==(const TrackedFile&, const TrackedFile&) = default;
};

// One vrrp_instance. Field names are keepalived's configuration keys; the config
// module maps its structs onto this one.
struct InstanceConfig {
    std::string name;                           // the vrrp_instance's name
    std::string interface;
    uint8_t virtual_router_id = 0;              // 1..255
    uint8_t priority = 100;                     // 1..255; 255 = address owner
    // What it runs with while the operator overrides it (override.hpp): 1..254, below
    // `priority`.
    uint8_t failover_priority = kDefaultFailoverPriority;
    std::chrono::milliseconds advert_int{1000}; // v3: 10 ms steps up to 40.95 s; v2: whole seconds
    uint8_t version = 3;                        // 2 or 3
    bool nopreempt = false;
    std::chrono::milliseconds preempt_delay{0};
    std::optional<IpAddress> unicast_src_ip;    // with unicast_peer: unicast mode
    std::vector<IpAddress> unicast_peer;
    std::vector<VirtualAddress> virtual_ipaddress;  // may be empty (keepalived allows it; notify does the work)
    Family family = Family::V4;  // of the adverts when there is no VIP (else the VIPs' family)
    std::vector<TrackedInterface> track_interface;  // the own interface always counts (down = Fault)
    std::vector<TrackedScript> track_script;
    std::vector<TrackedFile> track_file;
    std::vector<TrackedScript> track_process;  // by vrrp_track_processes name; weights as scripts
    // Gateway tracking by ARP (IPv4 instances): none of these answering an ARP request
    // for track_arp_fall intervals in a row -> Fault (a switch that fails, link still up).
    std::vector<IpAddress> track_arp_target;
    std::chrono::milliseconds track_arp_interval{1000};
    unsigned track_arp_fall = 3;
    int track_arp_weight = 0;                   // 0: no answer = Fault; else added then
    unsigned garp_master_repeat = 5;            // GARP/NA per address on becoming master
    std::chrono::milliseconds garp_interval{0}; // between those repeats
    std::chrono::milliseconds garp_master_delay{5000};   // second round after this (0: none)
    std::chrono::milliseconds garp_master_refresh{0};    // then a burst every this (0: never)
    unsigned garp_master_refresh_repeat = 1;             // packets per address in that burst
    std::string auth_pass;                      // v2 only: auth_type PASS, at most 8 bytes
    // v2 over IPv4 only: auth_type AH (ah.hpp), auth_pass (1..8 bytes) keys HMAC-MD5-96 and
    // the adverts travel inside an IP Authentication Header (protocol 51), not protocol 112.
    bool auth_ah = false;
    // keepalived's use_vmac: the name of a macvlan lvsd creates on `interface` with the
    // virtual router MAC (empty: none); the VIPs live on it, and adverts too unless
    // vmac_xmit_base (then they use `interface`). The MAC is 00:00:5e:00:01:VRID for IPv4,
    // 00:00:5e:00:02:VRID for IPv6 (RFC 5798 §7.3); host/vmac.hpp says what else is set.
    std::string use_vmac;
    bool vmac_xmit_base = false;
    // keepalived's dont_track_primary: `interface` (and the use_vmac interface) being down
    // is not a fault; the instance keeps its state and tries its adverts all the same.
    // Everything else still is: the interface missing, no source address, a VIP's `dev`
    // missing, and every tracker (host_facts.hpp).
    bool dont_track_primary = false;
    // Each an argv (program and arguments, no shell). lvsd appends the instance name,
    // the state (MASTER, BACKUP, FAULT, STOP) and the priority, as keepalived's `notify`.
    std::vector<std::string> notify_master, notify_backup, notify_fault, notify_stop, notify;
    std::chrono::milliseconds notify_timeout{10000};  // then the script is killed
};

// The instance's address family (RFC 5798 §7.1): its VIPs', or `family` without VIPs.
inline Family instance_family(const InstanceConfig& c) {
    return c.virtual_ipaddress.empty() ? c.family : family_of(c.virtual_ipaddress.front().prefix.address);
}

// Checks what can be checked without the system (ranges, families, combinations).
// Each message names the instance and the key; problems() gives every one (for
// `lvsd -t`), validate() the first.
std::vector<std::string> problems(const InstanceConfig& c);
Result<void> validate(const InstanceConfig& c);

// The pure state-machine parameters for a config (after validate).
Params params_of(const InstanceConfig& c, const IpAddress& primary);

// The advert an instance sends with `priority` (RFC 5798 §5.2 / RFC 3768 §5.3): its VRID,
// version, interval, authentication (v2) and every VIP.
Advert advert_of(const InstanceConfig& c, uint8_t priority);

// The notify commands for entering `s` (the specific notify_* and the generic notify),
// with keepalived's arguments appended: INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority>.
std::vector<std::vector<std::string>> notify_commands(const InstanceConfig& c, State s);

// The v2 authentication type of an instance: none, PASS, or AH (auth_ah).
inline AuthType auth_type_of(const InstanceConfig& c) {
    return c.auth_ah ? AuthType::IpAh : c.auth_pass.empty() ? AuthType::None : AuthType::SimpleText;
}

// Whether a running instance can take `to` in place (Instance::reconfigure): the same
// name, interface, VRID, version, family, unicast mode and source, track_arp on/off, and
// AH on/off (AH adverts use another socket).
bool reconfigurable(const InstanceConfig& from, const InstanceConfig& to);

struct Counters {
    std::array<uint64_t, static_cast<std::size_t>(DropReason::kCount)> dropped{};
    uint64_t adverts_received = 0;  // accepted
    uint64_t adverts_sent = 0;
    uint64_t send_errors = 0;
    uint64_t garps_sent = 0;
    uint64_t transitions = 0;
    uint64_t vip_repairs = 0;  // VIP differences made behind lvsd's back and repaired

    uint64_t drops() const {
        uint64_t n = 0;
        for (auto d : dropped) n += d;
        return n;
    }
};

class Instance {
public:
    // `host` is the process's view of links and addresses; it must outlive the instance.
    // Notify commands are started on `commands` (default: `io`); the daemon passes its
    // main loop, so that children are forked and reaped off the real-time VRRP thread.
    Instance(boost::asio::io_context& io, host::Monitor& host, InstanceConfig config,
             boost::asio::any_io_executor commands = {});
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    // Checks the config against the host (check_host in host_facts.hpp) and opens the
    // sockets, changing nothing on the host and sending nothing: a reload prepares every
    // new instance before it stops an old one. The error says what failed and where.
    Result<void> prepare();
    // prepare() when not done yet; then removes VIPs left over from an earlier run,
    // follows the host view and starts the machine (as backup, or in FAULT when the
    // host does not allow it to act).
    Result<void> start();
    // Graceful stop (RFC 5798 §6.4.3 Shutdown): a master sends priority 0 and releases
    // its VIPs. Synchronous; afterwards only running notify scripts keep the loop busy.
    void stop();
    // Applies a changed config without leaving the current state (SIGHUP): priority,
    // advert_int, preempt settings, VIPs (a master adds and announces new ones and
    // removes dropped ones; the others stay), unicast peers, tracked interfaces, garp_*,
    // notify_*. Fails, changing nothing, when the instance's identity differs (name,
    // interface, VRID, version, family, unicast on/off or source, track_arp on/off; see
    // reconfigurable()): the caller then stops this instance and starts a new one. A new
    // VIP's interface must exist (check_host): the caller checks before changing anything.
    Result<void> reconfigure(InstanceConfig next);

    State state() const;
    // When the instance entered its current state (for `lvsctl status`'s "master since").
    std::chrono::steady_clock::time_point state_since() const;
    // The priority it advertises now (0 once stopped): the configured one moved by the
    // trackers (priority.hpp).
    uint8_t effective_priority() const;
    // Each tracker's part in it, in the order of the config (interfaces, scripts, ARP).
    const std::vector<Contribution>& contributions() const;
    // A tracked script's verdict (from the daemon's TrackedScripts). Unknown names are
    // ignored; a script not reported yet counts as succeeding.
    void script_result(const std::string& name, bool ok);
    // A tracked file's value (from the daemon's TrackedFiles); not reported yet: 0.
    void file_value(const std::string& name, long value);
    // A tracked process's verdict (within its quorum), from the daemon's TrackedProcesses.
    void process_result(const std::string& name, bool ok);
    const Counters& counters() const;
    // Why the instance is in FAULT ("" when the host allows it to act; a sync-group
    // sibling's fault is the sibling's).
    const std::string& fault() const;
    // The operator's override (override.hpp), in force at once: a Master hands over
    // (event::Yield: priority 0, VIPs kept until the taker is heard); clearing it restores
    // the tracked priority (a Master advertises it at once). Refused, changing nothing, for an address owner.
    // Kept across start(), stop() and reconfigure(); a reconfigure() that makes the
    // instance an address owner drops it (logged).
    Result<void> set_override(Override o);
    Override operator_override() const;
    // A Master handing over (event::Yield): advertising priority 0, VIPs kept until the
    // taker is heard.
    bool handing_over() const;
    // The address adverts go out from now; none when there is no usable one.
    std::optional<IpAddress> source() const;
    const InstanceConfig& config() const;
    // Called after each transition, with the new state.
    void on_transition(std::function<void(State)> f);

private:
    friend class SyncGroup;
    const Snapshot& snapshot() const;
    bool running() const;
    void follow(const Event& e);
    void on_group_change(std::function<void()> f);
    boost::asio::any_io_executor executor() const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// keepalived's vrrp_sync_group: the members change state together (all master, all
// backup, or all in fault), by the rule in sync_group.hpp. The members must outlive the
// group and be started after it is made.
// The group's own notify commands (keepalived's sync-group notify_*): run when every
// member has reached the same state, with `GROUP <name> <MASTER|BACKUP|FAULT|STOP>`
// appended.
struct GroupNotify {
    std::vector<std::string> master, backup, fault, stop, any;
    std::chrono::milliseconds timeout{10000};
};

// The group's notify commands for `s`, with GROUP <name> <state> appended.
std::vector<std::vector<std::string>> group_notify_commands(const GroupNotify& n, const std::string& group, State s);

class SyncGroup {
public:
    SyncGroup(std::string name, std::vector<Instance*> members, GroupNotify notify = {});
    const std::string& name() const { return name_; }

private:
    void follow(std::size_t changed);

    std::string name_;
    std::vector<Instance*> members_;
    GroupNotify notify_;
    std::optional<State> announced_;  // the state the group's notify last ran for
};

}  // namespace lvsd::vrrp
