// keepalived's vrrp_track_process: how many processes match a name (and optionally
// parameters); the process is "up" while that count is within quorum..quorum_max.
//
// How lvsd sees processes: a walk of /proc every `interval` finds new ones, and a pidfd
// per matching process reports its exit the moment it happens. The kernel's process
// connector (what keepalived uses) reports every fork and exec on the host as a
// multicast netlink message: on a busy host that is thousands of messages per second to
// filter, and the socket drops them under load (ENOBUFS), after which a full /proc walk
// is needed anyway. What failover needs fast is the exit of a tracked process; pidfds
// give exactly that, for exactly those processes, and the walk bounds how late a new
// process is noticed (one interval). Single-threaded, on the io_context it is given.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace lvsd::vrrp {

enum class ParamMatch : uint8_t {
    None,     // the name only
    Exact,    // the arguments after the name are exactly these
    Initial,  // the arguments start with these
    Partial,  // these appear somewhere, in order and together, in the arguments
};

struct ProcessPattern {
    std::string name;               // matched against comm (15 bytes) and basename(argv[0]); with a '/', argv[0]
    std::vector<std::string> args;  // for param_match
    ParamMatch match = ParamMatch::None;
    friend bool operator==(const ProcessPattern&, const ProcessPattern&) = default;
};

// Pure: does a process with this comm and argv match?
bool process_matches(const ProcessPattern& p, const std::string& comm, const std::vector<std::string>& argv);

struct TrackProcessConfig {
    std::string name;
    ProcessPattern pattern;
    unsigned quorum = 1;
    std::optional<unsigned> quorum_max;
    std::chrono::milliseconds delay{0};  // the count must stay out of (or back in) range this long
    std::chrono::milliseconds interval{1000};
    friend bool operator==(const TrackProcessConfig&, const TrackProcessConfig&) = default;
};

class TrackedProcesses {
public:
    explicit TrackedProcesses(boost::asio::io_context& io);
    ~TrackedProcesses();
    TrackedProcesses(const TrackedProcesses&) = delete;
    TrackedProcesses& operator=(const TrackedProcesses&) = delete;

    // Makes the tracked set exactly `processes` and counts them now.
    void apply(const std::vector<TrackProcessConfig>& processes);
    void stop();
    void on_change(std::function<void(const std::string&, bool)> listener);
    std::optional<bool> ok(const std::string& name) const;
    std::optional<unsigned> count(const std::string& name) const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp
