// lvsctl's command line, parsed by a pure function so that every usage error is
// unit-tested (tests/unit/ctl/command_test.cpp). Exit statuses: 0 done, 1 the command
// failed (no daemon, reload rejected, a netlink or sysctl error), kUsageError for every
// mistake in the command line itself, whichever command it concerns.
#pragma once

#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace lvsd::ctl {

inline constexpr int kUsageError = 2;

struct Command {
    enum class Kind { Help, Version, Status, StatusJson, Reload, RealserverUp, RealserverDown, Request };
    Kind kind = Kind::Help;
    std::string socket_path;       // the control socket (status, reload, Request)
    std::vector<IpAddress> vips;   // realserver: at least one, each refused as the daemon
                                   // refuses a virtual_ipaddress (see vip_problem)
    // Request: any other verb of the control socket (ctl/request.hpp), as its canonical
    // line, parsed by the daemon's own parser; `wait` is drain --wait (lvsctl then polls
    // the drain's progress until it is over).
    std::string request;
    bool wait = false;
};

// Why `a` cannot be a VIP, as src/config refuses it in virtual_ipaddress (unspecified,
// multicast and loopback addresses: lo already answers for 127/8 and ::1, and the others
// cannot be the destination of a client's connection); empty when it can.
std::string vip_problem(const IpAddress& a);

// `args` without the program name. The error message says what is wrong and ends without
// a newline; the caller prints it and exits kUsageError.
Result<Command> parse_command(const std::vector<std::string>& args);

// The text of `lvsctl --help` (the man page test checks every word of it is documented).
std::string usage();

}  // namespace lvsd::ctl
