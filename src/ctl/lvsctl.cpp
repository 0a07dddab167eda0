// lvsctl: the operator's view into a running lvsd, and the real-server side of DSR.
// Exit statuses as command.hpp says: 0 done, 1 failed, kUsageError for a usage error.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctl/command.hpp"
#include "ctl/control.hpp"
#include "ctl/realserver.hpp"

int main(int argc, char** argv) {
    using lvsd::ctl::Command;
    auto command = lvsd::ctl::parse_command(std::vector<std::string>(argv + 1, argv + argc));
    if (!command) {
        fmt::print(stderr, "lvsctl: {}\n", command.error().message);
        return lvsd::ctl::kUsageError;
    }
    const Command& c = *command;
    switch (c.kind) {
        case Command::Kind::Help:
            fmt::print("{}", lvsd::ctl::usage());
            return 0;
        case Command::Kind::RealserverUp:
        case Command::Kind::RealserverDown: {
            const bool up = c.kind == Command::Kind::RealserverUp;
            auto r = up ? lvsd::ctl::realserver_up(c.vips) : lvsd::ctl::realserver_down(c.vips);
            if (!r) {
                fmt::print(stderr, "lvsctl: realserver {}: {}\n", up ? "up" : "down", r.error().message);
                return 1;
            }
            fmt::print("{}", *r);
            return 0;
        }
        case Command::Kind::Status:
        case Command::Kind::StatusJson:
        case Command::Kind::Reload:
            break;
    }
    const char* request = c.kind == Command::Kind::Status ? "status"
                          : c.kind == Command::Kind::StatusJson ? "status json"
                                                                : "reload";
    auto reply = lvsd::ctl::request(c.socket_path, request);
    if (!reply) {
        fmt::print(stderr, "lvsctl: {}\n", reply.error().message);
        return 1;
    }
    std::fputs(reply->body.c_str(), reply->ok ? stdout : stderr);
    return reply->ok ? 0 : 1;
}
