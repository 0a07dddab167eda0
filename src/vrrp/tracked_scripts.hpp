// keepalived's vrrp_script: each script runs every `interval` (never two runs of one
// script at a time; the process group is killed at `timeout`), its exit status is judged
// with rise/fall (ScriptVerdict in priority.hpp), and every change of verdict is
// reported once; the instances that track the script take it into their effective
// priority. One runner per script, however many instances track it. Single-threaded, on
// the io_context it is given.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace lvsd::vrrp {

struct ScriptConfig {
    std::string name;
    std::vector<std::string> argv;  // argv[0] absolute
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds timeout{1000};
    unsigned rise = 1;
    unsigned fall = 1;
    bool init_fail = false;
    friend bool operator==(const ScriptConfig&, const ScriptConfig&) = default;
};

struct ScriptStatus {
    bool ok = true;
    uint64_t runs = 0;
    uint64_t failures = 0;      // runs that failed (exit status, timeout, could not start)
    std::string last;           // "exited with status 1", ...
};

class TrackedScripts {
public:
    explicit TrackedScripts(boost::asio::io_context& io);
    ~TrackedScripts();
    TrackedScripts(const TrackedScripts&) = delete;
    TrackedScripts& operator=(const TrackedScripts&) = delete;

    // Makes the running set exactly `scripts` (start and reload). A script whose command
    // is unchanged keeps its verdict and schedule; new rules apply from its next result.
    void apply(const std::vector<ScriptConfig>& scripts);
    void stop();

    // Called with the script's name and new verdict on every change.
    void on_change(std::function<void(const std::string&, bool)> listener);
    std::optional<bool> ok(const std::string& name) const;
    std::optional<ScriptStatus> status(const std::string& name) const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace lvsd::vrrp
