// The small value types every part of the configuration uses (config.hpp has the whole):
// where a setting was written, a problem found, the enumerations, endpoints and commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace lvsd::config {

using Duration = std::chrono::milliseconds;

// Where a group (or a key) was written; `file` differs from Config::source for settings
// that came from an @include.
struct Location {
    std::string file;
    int line = 0;
};

// One problem found in a configuration. to_string() gives `FILE:LINE: message`.
struct Diagnostic {
    std::string file;
    int line = 0;
    std::string message;
};
std::string to_string(const Diagnostic& d);

enum class LogLevel : uint8_t { Trace, Debug, Info, Warn, Error, Critical, Off };
enum class VrrpState : uint8_t { Backup, Master };
enum class Protocol : uint8_t { Tcp, Udp, Sctp };
// keepalived's lb_kind names: DR (direct routing, ipvsadm -g), NAT (-m), TUN (-i).
enum class Forwarding : uint8_t { DirectRouting, Nat, Tunnel };

std::string_view to_string(LogLevel);
std::string_view to_string(VrrpState);   // "MASTER", "BACKUP"
std::string_view to_string(Protocol);    // "TCP", "UDP", "SCTP"
std::string_view to_string(Forwarding);  // "DR", "NAT", "TUN"

struct Endpoint {
    IpAddress address;
    uint16_t port = 0;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// A notify command, split into argv like a shell would split it (quotes group words;
// no variables, no globbing). argv[0] is an absolute path to an executable file.
struct Command {
    std::vector<std::string> argv;
    Location where;
};

// keepalived's notify_* scripts. `notify` runs on every transition with the arguments
// keepalived passes: "INSTANCE"|"GROUP", name, state, priority.
struct Notify {
    std::optional<Command> master, backup, fault, stop, any;
};


}  // namespace lvsd::config

// Log formatting for the config types that appear in log lines.
template <>
struct fmt::formatter<lvsd::config::Diagnostic> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const lvsd::config::Diagnostic& d, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(lvsd::config::to_string(d), ctx);
    }
};

#define LVSD_CONFIG_ENUM_FORMATTER(T)                                                           \
    template <>                                                                                 \
    struct fmt::formatter<lvsd::config::T> : fmt::formatter<std::string_view> {                 \
        template <class Ctx>                                                                    \
        auto format(lvsd::config::T v, Ctx& ctx) const {                                        \
            return fmt::formatter<std::string_view>::format(lvsd::config::to_string(v), ctx);   \
        }                                                                                       \
    };
LVSD_CONFIG_ENUM_FORMATTER(LogLevel)
LVSD_CONFIG_ENUM_FORMATTER(VrrpState)
LVSD_CONFIG_ENUM_FORMATTER(Protocol)
LVSD_CONFIG_ENUM_FORMATTER(Forwarding)
#undef LVSD_CONFIG_ENUM_FORMATTER
