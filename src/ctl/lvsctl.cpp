// lvsctl: the operator's view into a running lvsd.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctl/control.hpp"
#include "ctl/realserver.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lvsctl [-s SOCKET] COMMAND\n"
    "\n"
    "commands:\n"
    "  status [--json]   VRRP instances and virtual services of the running lvsd\n"
    "  reload            re-read the configuration; says whether it was accepted\n"
    "  realserver up|down --vip ADDR [--vip ADDR...]\n"
    "                    on a DSR real server: put the VIPs on lo and set\n"
    "                    arp_ignore=1, arp_announce=2 (down: remove them, set 0)\n"
    "\n"
    "  -s, --socket PATH control socket (default {})\n";

int realserver_command(const std::vector<std::string>& words) {
    if (words.size() < 2 || (words[1] != "up" && words[1] != "down")) {
        fmt::print(stderr, "lvsctl: usage: lvsctl realserver up|down --vip ADDR [--vip ADDR...]\n");
        return 2;
    }
    std::vector<lvsd::IpAddress> vips;
    for (size_t i = 2; i < words.size(); ++i) {
        if (words[i] != "--vip" || i + 1 >= words.size()) {
            fmt::print(stderr, "lvsctl: realserver: expected --vip ADDRESS, got \"{}\"\n", words[i]);
            return 2;
        }
        auto a = lvsd::parse_address(words[++i]);
        if (!a) {
            fmt::print(stderr, "lvsctl: realserver: \"{}\" is not an IP address\n", words[i]);
            return 2;
        }
        vips.push_back(*a);
    }
    auto r = words[1] == "up" ? lvsd::ctl::realserver_up(vips) : lvsd::ctl::realserver_down(vips);
    if (!r) {
        fmt::print(stderr, "lvsctl: realserver {}: {}\n", words[1], r.error().message);
        return 1;
    }
    fmt::print("{}", *r);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string socket_path = lvsd::ctl::kDefaultSocketPath;
    std::vector<std::string> words;
    for (size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "-s" || args[i] == "--socket") && i + 1 < args.size()) {
            socket_path = args[++i];
        } else if (args[i] == "-h" || args[i] == "--help") {
            fmt::print(kUsage, lvsd::ctl::kDefaultSocketPath);
            return 0;
        } else {
            words.push_back(args[i]);
        }
    }
    if (!words.empty() && words[0] == "realserver") return realserver_command(words);
    std::string request;
    if (words == std::vector<std::string>{"status"}) {
        request = "status";
    } else if (words == std::vector<std::string>{"status", "--json"}) {
        request = "status json";
    } else if (words == std::vector<std::string>{"reload"}) {
        request = "reload";
    } else {
        fmt::print(stderr, kUsage, lvsd::ctl::kDefaultSocketPath);
        return 2;
    }
    auto reply = lvsd::ctl::request(socket_path, request);
    if (!reply) {
        fmt::print(stderr, "lvsctl: {}\n", reply.error().message);
        return 1;
    }
    std::fputs(reply->body.c_str(), reply->ok ? stdout : stderr);
    return reply->ok ? 0 : 1;
}
