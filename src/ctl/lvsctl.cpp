// lvsctl: the operator's view into a running lvsd, and the real-server side of DSR.
// Exit statuses as command.hpp says: 0 done, 1 failed, kUsageError for a usage error.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "ctl/command.hpp"
#include "ctl/control.hpp"
#include "ctl/realserver.hpp"
#include "ctl/request.hpp"

namespace {

// drain --wait: the progress of the drain just started, once a second, until no real
// server it named is draining (and, for the balancer, no announced route is exported). One line per change, so that a log of it reads well.
int wait_for_drain(const lvsd::ctl::Command& c) {
    auto drain = lvsd::ctl::parse_request(std::string_view(c.request));
    if (!drain || !std::holds_alternative<lvsd::ctl::DrainRequest>(*drain)) return 1;
    const std::string progress =
        lvsd::ctl::format_request(lvsd::ctl::ProgressRequest{std::get<lvsd::ctl::DrainRequest>(*drain).target});
    std::string last;
    for (;;) {
        auto reply = lvsd::ctl::request(c.socket_path, progress);
        if (!reply) {
            fmt::print(stderr, "lvsctl: {}\n", reply.error().message);
            return 1;
        }
        if (!reply->ok) {
            std::fputs(reply->body.c_str(), stderr);
            return 1;
        }
        const std::string line = reply->body.substr(0, reply->body.find('\n'));
        auto p = lvsd::ctl::parse_progress(line);
        if (!p) {
            fmt::print(stderr, "lvsctl: unexpected progress reply from lvsd: \"{}\"\n", line);
            return 1;
        }
        if (p->draining == 0 && p->routes == 0) {
            fmt::print("drained\n");
            return 0;
        }
        if (line != last) fmt::print("{}\n", line);
        std::fflush(stdout);
        last = line;
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

}  // namespace

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
        case Command::Kind::Version:
            fmt::print("lvsctl {}\n", LVSD_VERSION);
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
        case Command::Kind::Request: {
            auto reply = lvsd::ctl::request(c.socket_path, c.request);
            if (!reply) {
                fmt::print(stderr, "lvsctl: {}\n", reply.error().message);
                return 1;
            }
            std::fputs(reply->body.c_str(), reply->ok ? stdout : stderr);
            if (!reply->ok) return 1;
            std::fflush(stdout);
            return c.wait ? wait_for_drain(c) : 0;
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
