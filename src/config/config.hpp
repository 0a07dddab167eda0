// The lvsd configuration: libconfig syntax in, one immutable, fully validated snapshot
// out (DESIGN.md: "Config (immutable snapshot, replaced whole on SIGHUP)").
//
// Every default is already applied and every cross-reference already checked when a
// Config exists, so consumers never re-validate: a VrrpInstance has its version and
// family decided, a RealServer carries its effective lb_kind and inhibit_on_failure, a
// HealthCheck its effective port and delay_loop. Key names and defaults follow
// keepalived where keepalived has the concept; the README's configuration reference lists them all.
//
// The sections' types have headers of their own: basics.hpp (locations, diagnostics,
// enumerations, commands), vrrp_sections.hpp and lvs_sections.hpp; this one has the
// whole Config, global_defs, and loading.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/basics.hpp"
#include "config/lvs_sections.hpp"
#include "config/vrrp_sections.hpp"

namespace lvsd::config {

struct SyncDaemon {  // global_defs.lvs_sync_daemon: IPVS connection sync
    std::string interface;
    std::string instance;  // the VRRP instance whose state starts master/backup sync
    uint8_t syncid = 0;
    Location where;
};

// keepalived's global VRRP defaults: they apply to every instance (and script) that does
// not set the key itself.
struct VrrpDefaults {
    std::optional<uint8_t> version;                      // vrrp_version (IPv4 instances)
    std::optional<Duration> garp_interval;               // vrrp_garp_interval (IPv4 instances)
    std::optional<Duration> gna_interval;                // vrrp_gna_interval (IPv6 instances)
    std::optional<Duration> garp_master_delay;           // vrrp_garp_master_delay
    std::optional<uint32_t> garp_master_repeat;          // vrrp_garp_master_repeat
    std::optional<Duration> garp_master_refresh;         // vrrp_garp_master_refresh
    std::optional<uint32_t> garp_master_refresh_repeat;  // vrrp_garp_master_refresh_repeat
    std::string script_user;                             // script_user: vrrp_scripts' default user
    std::string script_group;
};

// The VRRP engine's thread (keepalived's vrrp_rt_priority, vrrp_rlimit_rttime and
// vrrp_no_swap): it runs the instances' adverts, timers and VIPs apart from health checks,
// IPVS and the control socket, so that a machine busy with normal-priority work does not
// delay an advert into a false takeover.
struct VrrpScheduling {
    // 0: normal scheduling (SCHED_OTHER); 1..99: SCHED_RR at that priority (sched(7)).
    // 10 by default: above every normal task, below the kernel's IRQ threads (50).
    int rt_priority = 10;
    // RLIMIT_RTTIME (setrlimit(2)): CPU time the real-time thread may use without
    // sleeping before the kernel sends SIGXCPU; lvsd then drops the thread to normal
    // scheduling (logged, lvsctl status). 1 ms..10 s.
    std::chrono::microseconds rlimit_rttime{10000};
    bool no_swap = false;  // mlockall(MCL_CURRENT | MCL_FUTURE) at start
    friend bool operator==(const VrrpScheduling&, const VrrpScheduling&) = default;
};

// Scale-out (DESIGN.md): an announced VIP is a host route (/32, /128) that lvsd keeps in
// its own kernel routing table, marked with its own route protocol number, while the VIP's
// services are healthy; BIRD learns that table (`protocol kernel { kernel table N; learn; }`
// filtered on `krt_source`) and announces it over BGP. global_defs keys announce_table,
// announce_protocol, announce_interface, bird_socket.
struct Announce {
    uint32_t table = 100;          // 1..0xfffffffe except 253-255 (default, main, local)
    uint8_t protocol = 250;        // rtm_protocol (rtnetlink(7)); not 0-4 (the kernel's own)
    std::string interface = "lo";  // announced VIPs are local addresses here, always
    std::string bird_socket = "/run/bird/bird.ctl";  // read only, to show what BIRD exports
    Location where;
};

struct Global {
    std::string router_id;  // empty: the host name
    LogLevel log_level = LogLevel::Info;
    std::string control_socket = "/run/lvsd/lvsd.sock";
    Duration reconcile_interval = std::chrono::seconds(10);
    std::optional<Endpoint> metrics_listen;
    Location metrics_listen_where;  // the key's line, for errors binding it
    std::optional<SyncDaemon> lvs_sync_daemon;
    VrrpDefaults vrrp;
    VrrpScheduling vrrp_scheduling;
    Announce announce;
    Location where;
};

struct Config {
    std::string source;  // the file name (or the name given to load_string)
    Global global;
    std::vector<VrrpScript> vrrp_scripts;
    std::vector<VrrpTrackFile> vrrp_track_files;
    std::vector<VrrpTrackProcess> vrrp_track_processes;
    std::vector<VrrpInstance> vrrp_instances;
    std::vector<VrrpSyncGroup> vrrp_sync_groups;
    std::vector<VirtualServerGroup> virtual_server_groups;
    // A virtual server naming a group appears once per member of the group.
    std::vector<VirtualServer> virtual_servers;
};

// Either a valid Config or every problem found (at least one).
class LoadResult {
public:
    explicit LoadResult(std::shared_ptr<const Config> c) : config_(std::move(c)) {}
    explicit LoadResult(std::vector<Diagnostic> d) : diagnostics_(std::move(d)) {}

    bool ok() const { return config_ != nullptr; }
    explicit operator bool() const { return ok(); }
    const std::shared_ptr<const Config>& config() const& { return config_; }
    const std::vector<Diagnostic>& diagnostics() const& { return diagnostics_; }
    // On a temporary (`load_file(p).diagnostics()` in a range-for) return by value, so
    // that nothing dangles.
    std::shared_ptr<const Config> config() && { return std::move(config_); }
    std::vector<Diagnostic> diagnostics() && { return std::move(diagnostics_); }

private:
    std::shared_ptr<const Config> config_;
    std::vector<Diagnostic> diagnostics_;
};

// Reads and validates a file; @include paths are relative to the file's directory.
LoadResult load_file(const std::string& path);
// Validates text; `name` stands for the file name in diagnostics.
LoadResult load_string(std::string_view text, const std::string& name);

struct LoadOptions {
    // false: check a file written for another host (lvsd --from-keepalived validates its
    // translation here, before it runs where the scripts are). Skips what depends on this
    // machine: whether commands exist and pass script security, users and groups exist,
    // ssl_ca exists. Everything else is checked the same.
    bool host_checks = true;
};
LoadResult load_string(std::string_view text, const std::string& name, LoadOptions options);

// What lvsd derives from a config, laid out for an operator (VRRP instances with their
// addresses and timers; IPVS services as ipvsadm -Ln shows them, with each real
// server's check). Pure: the same Config always gives the same text.
std::string format_plan(const Config& config);

}  // namespace lvsd::config
