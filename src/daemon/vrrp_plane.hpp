// The VRRP half of the daemon: one vrrp::Instance per configured vrrp_instance, tied
// together by their sync groups. Reloads are applied in place where the instance's
// identity (interface, VRID, version, family) is unchanged, so the VIP never moves
// because of a reload (keepalived's users lose it when a reload outlasts three adverts).
//
// Two threads (vrrp_thread.hpp): the instances, their sync groups and the host view they
// follow belong to the VRRP thread; the trackers (scripts, files, processes) and the
// callers of every public method to the main thread. Each public method carries its
// instance work over with thread_.call(); a new one does the same:
//     return thread_.call([&] { return instances_.at(name)->something(); }).value_or(...);
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "daemon/overrides.hpp"
#include "daemon/status.hpp"
#include "daemon/vrrp_overrides.hpp"
#include "daemon/vrrp_thread.hpp"
#include "host/monitor.hpp"
#include "vrrp/instance.hpp"
#include "vrrp/tracked_files.hpp"
#include "vrrp/tracked_processes.hpp"
#include "vrrp/tracked_scripts.hpp"

namespace lvsd::daemon {

struct VrrpInstanceMetrics;

// The instance as the VRRP engine takes it. Pure; errors name the instance, the key and
// the config line for what the engine does not support yet.
// `scripts` are the config's vrrp_scripts: a track_script without a weight of its own
// takes its script's.
Result<vrrp::InstanceConfig> instance_config(const config::VrrpInstance& in,
                                             const std::vector<config::VrrpScript>& scripts = {},
                                             const std::vector<config::VrrpTrackFile>& files = {},
                                             const std::vector<config::VrrpTrackProcess>& processes = {});
// Every problem instance_config() would refuse `in` for, not only the first (for
// `lvsd -t`, which reports each), as `FILE:LINE: message`; empty when it has none.
std::vector<std::string> instance_problems(const config::VrrpInstance& in,
                                           const std::vector<config::VrrpScript>& scripts = {},
                                           const std::vector<config::VrrpTrackFile>& files = {},
                                           const std::vector<config::VrrpTrackProcess>& processes = {});

// The runner's view of a vrrp_scripts entry: the argv (run through setpriv as `user`),
// the timeout (the interval when not set, as keepalived).
vrrp::ScriptConfig script_config(const config::VrrpScript& s);

// Every problem `config`'s instances have with the host as it is now (a missing
// interface, a VIP's missing interface, a unicast_src_ip that is not on its interface),
// as `FILE:LINE: message` at the setting that names it. Pure.
std::vector<std::string> vrrp_host_problems(const config::Config& config, const host::View& view);

class VrrpPlane {
public:
    // `host` runs on `thread`'s io_context; `main` is the caller's (trackers, notify
    // commands, transitions).
    VrrpPlane(VrrpThread& thread, boost::asio::io_context& main, host::Monitor& host);
    ~VrrpPlane();

    using Groups = std::map<std::string, std::vector<std::string>>;  // group -> members
    // A reload's VRRP part, checked against the host and with the sockets of every
    // instance that must (re)start already open, but nothing changed yet.
    struct Prepared {
        ~Prepared();  // unused fresh instances go on the VRRP thread
        VrrpThread* thread = nullptr;
        std::map<std::string, vrrp::InstanceConfig> configs;
        Groups groups;
        bool restart_all = false;  // the sync groups changed: every instance starts anew
        // Instances that start: new ones, and replacements of those whose identity changed.
        std::map<std::string, std::unique_ptr<vrrp::Instance>> fresh;
        std::vector<config::VrrpSyncGroup> group_configs;
        std::vector<vrrp::ScriptConfig> scripts;
        std::vector<vrrp::TrackFileConfig> files;
        std::vector<vrrp::TrackProcessConfig> processes;
    };
    // Checks `config` (settings, then the host) and prepares what must start. A problem
    // at any step changes nothing: the running instances go on as they were. The error
    // is `FILE:LINE: message`, one line per problem.
    Result<std::unique_ptr<Prepared>> prepare(const config::Config& config);
    // Carries a prepared change out: stops what leaves, reconfigures what stays, starts
    // what is new. An instance is stopped only once its replacement has its sockets.
    // Returns what could not start all the same (logged too): at lvsd's start the caller
    // gives up then; on a reload there is nothing left to roll back to.
    std::vector<std::string> commit(std::unique_ptr<Prepared> prepared);
    // prepare() then commit().
    Result<void> apply(const config::Config& config);
    // Stops every instance: a master sends priority 0 (RFC 5798 §6.4.3) so that the
    // backup takes over at once, and removes its VIPs.
    void stop();

    // Called after every transition of every instance, with the instance's name: the
    // connection sync follows one instance's state this way. Survives restarts.
    void on_transition(std::function<void(const std::string&, vrrp::State)> f);
    // The instance's state, or nothing when no such instance runs.
    std::optional<vrrp::State> state(const std::string& instance) const;

    // ---- operator overrides (lvsctl failover / hold): vrrp_overrides.hpp decides, the
    // instances carry it out (vrrp/override.hpp). Each runs on the VRRP engine's thread.

    // Carries out `r` on the running instances at once. The answer has one line per
    // instance named, with the state it is in now; the error is the refusal (nothing
    // changed then).
    Result<std::string> request_override(const VrrpOverrideRequest& r);
    const VrrpOverrides& overrides() const { return overrides_; }
    // The daemon's store of operator overrides (the state file): its failover and hold
    // entries are read now, applied by the next commit() before any instance starts (a
    // held instance never becomes master on its way up), and every change is written
    // back. Without a store (tests) overrides live in memory only.
    void keep_overrides_in(OverrideStore& store);
    // `lvsctl drain --balancer` (on) and `undrain --balancer` (off): every instance
    // without an override of its own fails over (per_instance()). The daemon's store
    // keeps the balancer drain; keep_overrides_in() reads it back.
    void set_balancer_drained(bool on);

    std::string status_text() const;
    // `lvsctl status --json`'s part: every instance.
    std::vector<VrrpInstanceStatus> status() const;
    // Every instance's state, priorities and counters for the metrics endpoint.
    std::vector<VrrpInstanceMetrics> metrics() const;

private:
    // The trackers' verdicts at a commit, carried to the VRRP thread.
    struct Verdicts {
        std::map<std::string, bool> scripts, processes;
        std::map<std::string, long> files;
    };
    // On the VRRP thread:
    std::vector<std::string> commit_instances(Prepared& p, const Verdicts& known);
    void stop_instances();
    // Every running instance gets the override per_instance() gives it now.
    void apply_overrides();
    // After a reload: drops what no longer applies (logged); the main thread writes the
    // store after the commit (store_dirty_).
    void reconcile_overrides(const VrrpTopology& next);
    static VrrpTopology topology_of(const Prepared& p);
    std::map<std::string, InstanceOverride> effective_overrides() const {
        return per_instance(overrides_, topology_, balancer_drained_);
    }
    std::string override_text(const std::string& instance) const;
    std::string status_text_here() const;
    std::unique_ptr<vrrp::Instance> make(const std::string& name, const vrrp::InstanceConfig& c);

    VrrpThread& thread_;
    boost::asio::io_context& io_;    // the VRRP thread's
    boost::asio::io_context& main_;  // the caller's
    // The main thread's:
    vrrp::TrackedScripts scripts_;
    vrrp::TrackedFiles files_;
    vrrp::TrackedProcesses processes_;
    // The VRRP thread's:
    host::Monitor& host_;
    std::map<std::string, std::unique_ptr<vrrp::Instance>> instances_;
    std::vector<std::unique_ptr<vrrp::SyncGroup>> groups_;
    Groups group_members_;
    std::function<void(const std::string&, vrrp::State)> on_transition_;
    VrrpTopology topology_;  // of the running configuration
    VrrpOverrides overrides_;
    std::optional<VrrpOverrideClock::time_point> balancer_drained_;  // since when
    OverrideStore* store_ = nullptr;  // the main thread's
    bool store_dirty_ = false;        // a reload dropped overrides: the store is behind
    void save_dropped_overrides();    // on the main thread, after a commit
};

}  // namespace lvsd::daemon
