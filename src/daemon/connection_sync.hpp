// IPVS connection synchronisation between the two balancers (global_defs.lvs_sync_daemon):
// the kernel's sync daemon runs as master on the balancer whose named VRRP instance is
// MASTER, multicasting its connection table, and as backup on the other, which loads
// those connections into its own table. After a takeover the new master then knows
// where every established connection goes, so a download started before the failover
// goes on to the same real server (without it, IPVS only schedules on SYN and the
// connection dies with an RST from the new master's stack).
//
// The decision is pure (`plan_sync`); ConnectionSync only carries it out over genetlink.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "daemon/status.hpp"
#include "ipvs/ipvs.hpp"
#include "vrrp/state_machine.hpp"

namespace lvsd::ipvs {
class Client;
}

namespace lvsd::daemon {

// The sync daemon the configuration asks for while the instance is in `state`: master
// only while MASTER; in BACKUP, FAULT and INIT the balancer receives (backup), so it is
// ready for the next takeover. One role at a time, as keepalived does.
ipvs::SyncDaemon wanted_sync_daemon(const config::SyncDaemon& config, vrrp::State state);

struct SyncStep {
    enum class Kind { Start, Stop } kind;
    ipvs::SyncDaemon daemon;  // for Stop only the role counts

    friend bool operator==(const SyncStep&, const SyncStep&) = default;
};

// Steps that turn the running daemons into `wanted` (nothing wanted: stop them all).
// A running daemon of the wanted role but another interface or sync id is stopped and
// started again; stops come first, since the kernel refuses a second daemon per role.
std::vector<SyncStep> plan_sync(const std::vector<ipvs::SyncDaemon>& running,
                                const std::optional<ipvs::SyncDaemon>& wanted);

class ConnectionSync {
public:
    ConnectionSync();
    ~ConnectionSync();

    // The checks of apply() that can fail, without changing anything: the interface
    // exists and IPVS can be reached (FILE:LINE errors). A reload runs this first.
    Result<void> prepare(const std::optional<config::SyncDaemon>& config);
    // Takes the configuration (start and reload) and the instance's current state.
    // Not configured: stops the daemons lvsd started earlier and leaves any other alone.
    // Fails with FILE:LINE when the interface does not exist or IPVS is missing.
    Result<void> apply(const std::optional<config::SyncDaemon>& config, vrrp::State state);
    // The named instance changed state: switch the daemon's role. Errors are logged.
    void on_state(vrrp::State state);
    // Graceful stop of lvsd, or the setting removed: stops the daemon lvsd runs and
    // stops following the instance.
    void stop();

    const std::optional<config::SyncDaemon>& config() const { return config_; }
    std::string status_text() const;
    // `lvsctl status --json`'s part; unset when not configured.
    std::optional<SyncStatus> status() const;

private:
    Result<void> converge(vrrp::State state);

    std::unique_ptr<ipvs::Client> client_;
    std::optional<config::SyncDaemon> config_;
    std::optional<ipvs::SyncDaemon> running_;  // what lvsd last started
};

}  // namespace lvsd::daemon
