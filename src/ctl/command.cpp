#include "ctl/command.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ctl/control.hpp"
#include "ctl/request.hpp"

namespace lvsd::ctl {

std::string vip_problem(const IpAddress& a) {
    if (a.is_unspecified()) return fmt::format("{} is the unspecified address", a);
    if (a.is_multicast()) return fmt::format("{} is a multicast address", a);
    if (a.is_loopback()) return fmt::format("{} is a loopback address (lo answers for it already)", a);
    return {};
}

namespace {

Result<Command> parse_realserver(const std::vector<std::string>& words, Command c) {
    if (words.size() < 2 || (words[1] != "up" && words[1] != "down"))
        return make_error(0, "usage: lvsctl realserver up|down --vip ADDR [--vip ADDR...]");
    c.kind = words[1] == "up" ? Command::Kind::RealserverUp : Command::Kind::RealserverDown;
    for (size_t i = 2; i < words.size(); ++i) {
        if (words[i] != "--vip")
            return make_error(0, "realserver {}: expected --vip ADDRESS, got \"{}\"", words[1], words[i]);
        if (i + 1 >= words.size()) return make_error(0, "realserver {}: --vip needs an address", words[1]);
        auto a = parse_address(words[++i]);
        if (!a) return make_error(0, "realserver {}: \"{}\" is not an IP address", words[1], words[i]);
        if (auto why = vip_problem(*a); !why.empty())
            return make_error(0, "realserver {}: --vip {}: {}; a VIP must be a unicast address", words[1], words[i], why);
        for (const auto& v : c.vips)
            if (v == *a) return make_error(0, "realserver {}: --vip {} is given twice", words[1], *a);
        c.vips.push_back(*a);
    }
    if (c.vips.empty()) return make_error(0, "realserver {}: name at least one --vip ADDRESS", words[1]);
    return c;
}

}  // namespace

Result<Command> parse_command(const std::vector<std::string>& args) {
    Command c;
    c.socket_path = kDefaultSocketPath;
    std::vector<std::string> words;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "-s" || a == "--socket") {
            if (i + 1 >= args.size() || args[i + 1].empty()) return make_error(0, "{} needs a socket path", a);
            c.socket_path = args[++i];
        } else if (a.starts_with("--socket=")) {
            c.socket_path = a.substr(a.find('=') + 1);
            if (c.socket_path.empty()) return make_error(0, "--socket= needs a socket path");
        } else if (a == "-h" || a == "--help") {
            c.kind = Command::Kind::Help;
            return c;
        } else if (a == "-v" || a == "--version") {
            c.kind = Command::Kind::Version;
            return c;
        } else {
            words.push_back(a);
        }
    }
    if (words.empty()) return make_error(0, "no command (see lvsctl --help)");
    if (words[0] == "realserver") return parse_realserver(words, std::move(c));
    if (words[0] != "status" && words[0] != "reload") {
        // --wait is lvsctl's own: the daemon answers at once, lvsctl then polls.
        if (auto it = std::find(words.begin(), words.end(), "--wait"); it != words.end()) {
            if (words[0] != "drain") return make_error(0, "{}: --wait applies to drain only", words[0]);
            words.erase(it);
            c.wait = true;
        }
        auto request = parse_request(words);
        if (!request) return make_error(0, "{} (see lvsctl --help)", request.error().message);
        c.kind = Command::Kind::Request;
        c.request = format_request(*request);
        return c;
    }
    if (words == std::vector<std::string>{"status"}) c.kind = Command::Kind::Status;
    else if (words == std::vector<std::string>{"status", "--json"}) c.kind = Command::Kind::StatusJson;
    else if (words == std::vector<std::string>{"reload"}) c.kind = Command::Kind::Reload;
    else return make_error(0, "{}: unexpected \"{}\" (see lvsctl --help)", words[0], words.back());
    return c;
}

std::string usage() {
    return fmt::format(
        "usage: lvsctl [-s SOCKET] COMMAND\n"
        "\n"
        "commands:\n"
        "  status [--json]   VRRP instances and virtual services of the running lvsd\n"
        "  reload            re-read the configuration; says whether it was accepted\n"
        "  drain [SERVICE] REAL [--timeout SECONDS] [--wait]\n"
        "                    weight 0 now (new connections go elsewhere, existing ones\n"
        "                    continue); out of the table once its active connections\n"
        "                    reach 0 or after --timeout; --wait shows the progress\n"
        "                    until then\n"
        "  drain --balancer [--timeout SECONDS] [--wait]\n"
        "                    host maintenance: drain every real server of every\n"
        "                    VRRP-floated service, every VRRP instance fails over,\n"
        "                    and announced VIPs withdraw their routes (existing\n"
        "                    flows keep being forwarded); --wait also waits until\n"
        "                    BIRD no longer exports them\n"
        "  undrain [SERVICE] REAL | undrain --balancer\n"
        "                    end a drain: back in the table as its health says\n"
        "  progress [SERVICE] REAL | progress --balancer\n"
        "                    how many drains run and the active connections left\n"
        "  disable [SERVICE] REAL\n"
        "                    out of the table now (health is still checked)\n"
        "  enable [SERVICE] REAL\n"
        "                    end a disable\n"
        "  weight [SERVICE] REAL WEIGHT | weight --clear [SERVICE] REAL\n"
        "                    replace the configured weight (0-{}) until cleared\n"
        "  failover [--clear] INSTANCE | failover [--clear] --group GROUP\n"
        "                    a master hands its VIPs over to the peer until cleared\n"
        "  hold [--clear] INSTANCE | hold [--clear] --group GROUP\n"
        "                    keep an instance (or a sync group) backup until cleared\n"
        "  realserver up|down --vip ADDR [--vip ADDR...]\n"
        "                    on a DSR real server: put the VIPs on lo and set\n"
        "                    arp_ignore=1, arp_announce=2 (down: remove them; the\n"
        "                    sysctls go back to 0 once no IPv4 VIP is left on lo)\n"
        "\n"
        "  SERVICE           VIP:PORT/tcp|udp|sctp or fwmark:N[/ipv6], as in status;\n"
        "                    without it, REAL in every virtual service it belongs to\n"
        "  REAL              ADDRESS:PORT or [IPV6]:PORT, as in status\n"
        "  -s, --socket PATH control socket (default {})\n"
        "  -h, --help        this text\n"
        "  -v, --version     lvsctl's version\n"
        "\n"
        "Overrides stay until cleared, across reloads and restarts of lvsd.\n"
        "exit status: 0 done, 1 the command failed, {} a usage error\n",
        kMaxWeight, kDefaultSocketPath, kUsageError);
}

}  // namespace lvsd::ctl
