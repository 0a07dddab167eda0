// lvsctl: the operator's view into a running lvsd.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctl/control.hpp"

namespace {

constexpr const char* kUsage =
    "usage: lvsctl [-s SOCKET] COMMAND\n"
    "\n"
    "commands:\n"
    "  status [--json]   VRRP instances and virtual services of the running lvsd\n"
    "  reload            re-read the configuration; says whether it was accepted\n"
    "\n"
    "  -s, --socket PATH control socket (default {})\n";

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
