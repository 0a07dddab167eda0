// Operator overrides (issue #15, DESIGN.md "Operator overrides"): drain, disable and
// weight of real servers, a whole-balancer drain, and VRRP failover / hold. They are
// state, not config: applied on top of the config, kept across reloads and restarts in
// a file beside the ownership file (/run/lvsd/lvsd.sock -> /run/lvsd/lvsd.overrides),
// until an operator clears them. The model and the file format are pure; only
// write_overrides and read_overrides touch the file system.
//
// Time is the steady clock (CLOCK_MONOTONIC, which counts from boot): a drain deadline
// is written as that clock's seconds, which stay valid across a restart of lvsd, and the
// file is on /run, lost on reboot together with the clock's origin (and the IPVS table).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ipvs/ipvs.hpp"

namespace lvsd::daemon {

using OverrideClock = std::chrono::steady_clock;

// A real server in one virtual service, as the kernel names both.
struct RealServerKey {
    ipvs::ServiceKey service;
    ipvs::DestinationKey real;
    friend bool operator==(const RealServerKey&, const RealServerKey&) = default;
    friend std::strong_ordering operator<=>(const RealServerKey& a, const RealServerKey& b) {
        if (auto c = a.service <=> b.service; c != 0) return c;
        return a.real <=> b.real;
    }
};

struct Drain {
    std::optional<OverrideClock::time_point> deadline;  // unset: until its connections reach 0
    bool done = false;     // connections reached 0 or the deadline passed: out of the table
    bool balancer = false;  // made by `drain --balancer` (undrain --balancer clears it)
    friend bool operator==(const Drain&, const Drain&) = default;
};

struct RealServerOverride {
    std::optional<Drain> drain;
    bool disabled = false;
    std::optional<uint32_t> weight;  // replaces the configured (or dynamic) weight while up
    bool empty() const { return !drain && !disabled && !weight; }
    friend bool operator==(const RealServerOverride&, const RealServerOverride&) = default;
};

// A VRRP override, kept here for the VRRP plane (failover / hold, see ctl/request.hpp).
enum class VrrpOverride : uint8_t { Failover, Hold };

struct Overrides {
    std::map<RealServerKey, RealServerOverride> real_servers;  // no empty entries
    // `drain --balancer` is on: real servers added by a reload are drained too.
    std::optional<Drain> balancer_drain;
    std::map<std::string, VrrpOverride> vrrp_instances;  // by vrrp_instance name
    std::map<std::string, VrrpOverride> vrrp_groups;     // by vrrp_sync_group name
    bool empty() const {
        return real_servers.empty() && !balancer_drain && vrrp_instances.empty() && vrrp_groups.empty();
    }
    friend bool operator==(const Overrides&, const Overrides&) = default;
};

// The file for a control socket path: /run/lvsd/lvsd.sock -> /run/lvsd/lvsd.overrides.
std::string overrides_file_for(const std::string& control_socket);

// The file's text: a comment line, then one line per override, in key order:
//   real SERVICE REAL drain [until=SECONDS] [done] [balancer]
//   real SERVICE REAL disable
//   real SERVICE REAL weight N
//   balancer drain [until=SECONDS]
//   vrrp_instance NAME failover|hold
//   vrrp_sync_group NAME failover|hold
// SERVICE and REAL are spelled as lvsctl takes them (ctl::format_service/format_real);
// SECONDS is the steady clock's, since its epoch.
std::string format_overrides(const Overrides& o);
struct OverridesRead {
    Overrides overrides;
    std::vector<std::string> problems;  // "FILE:LINE: ..." for each line skipped
};
// `name` prefixes the problems. A bad line is reported and skipped, the rest kept.
OverridesRead parse_overrides(std::string_view text, const std::string& name);

// A missing file is no overrides (first start, or after a reboot).
OverridesRead read_overrides(const std::string& path);
// Replaces the file atomically: PATH.new written, fsync'd, renamed over PATH, and the
// directory fsync'd. On any failure (a full disk, say) PATH is left as it was, PATH.new
// is removed, and the error says which step failed.
Result<void> write_overrides(const std::string& path, const Overrides& o);

}  // namespace lvsd::daemon

namespace lvsd::daemon {

// The overrides in memory and in their file, shared by the planes that carry them out
// (the service plane: real servers; the VRRP plane: failover and hold). Single-threaded:
// the io_context's thread only.
class OverrideStore {
public:
    // Reads `path` (empty: kept in memory only, for tests); every problem is logged.
    explicit OverrideStore(std::string path);

    const Overrides& get() const { return overrides_; }
    const std::string& path() const { return path_; }

    // An operator's change: written first, taken only when the file has it. On a write
    // error the overrides stay as they were and the error says why.
    Result<void> commit(Overrides next);
    // A change lvsd makes itself (a drain that ended, a reload that dropped a real
    // server): taken at once, and written; a write error is logged, and the next write
    // carries it.
    void update(Overrides next);

private:
    std::string path_;
    Overrides overrides_;
};

}  // namespace lvsd::daemon
