// vip_repair: how long the master's VIP stays missing (or wrongly labelled) after someone
// changes it behind the daemon's back, lvsd vs keepalived.
//
// Topology (a fresh lab per implementation and case, documentation addresses only):
//   a:eth0 192.0.2.2/24 ── veth ── sw:ap
// A lone VRRPv3 instance in a (VRID 51, priority 150, advert 0.1 s) becomes master after
// 3 x advert + skew and adds the VIP 192.0.2.10/24 to eth0. Then, N times:
//   deleted:     the VIP is deleted over rtnetlink (what `ip addr del` does); timed from
//                the kernel's acknowledgement of the deletion to the RTM_NEWADDR of the VIP;
//   relabelled:  (config `label eth0:vip`) the VIP is deleted and added again with label
//                eth0:other in one netlink datagram (what `ip -batch` does, without the
//                process start); timed from the acknowledgement of the add to the
//                RTM_NEWADDR of the VIP with label eth0:vip.
// The program watches with its own rtnetlink socket subscribed to RTNLGRP_IPV4_IFADDR in
// the namespace (opened by a thread that joined it), on the steady clock. A run whose VIP
// is not back within 5 s counts as "not restored" (the VIP is then put back by hand).
// Between runs: 300 ms after the repair, so runs are independent.
//
// Needs root. Usage: vip_repair [runs per case, default 20] [-v: daemons' logs on stderr]
// Prints one line per figure: median, p90 and max per implementation and case, the counts,
// and the ratio of medians lvsd / keepalived.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "host/rtnl_decode.hpp"
#include "support/netns_lab.hpp"

namespace lt = lvsd::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const char* kVip = "192.0.2.10";
const char* kWantLabel = "eth0:vip";
const char* kOtherLabel = "eth0:other";
const char* kBehind = "behind lvsd's back";
constexpr auto kGiveUp = 5s;
constexpr auto kBetween = 300ms;

bool verbose = false;

// ---- rtnetlink, raw: a request socket (acks, dumps) and a monitor socket (notifications),
// both opened inside the namespace.

struct NlSockets {
    int req = -1;
    int mon = -1;
    int ifindex = 0;  // of eth0 in the namespace
    ~NlSockets() {
        if (req >= 0) ::close(req);
        if (mon >= 0) ::close(mon);
    }
};

// A netlink socket keeps the namespace it was created in: open both from a thread that
// joined the namespace, then use them from here.
bool open_sockets(const std::string& netns, NlSockets& s) {
    bool ok = false;
    std::thread([&] {
        int nsfd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) < 0) return;
        ::close(nsfd);
        s.req = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        s.mon = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (s.req < 0 || s.mon < 0) return;
        sockaddr_nl sa{};
        sa.nl_family = AF_NETLINK;
        if (::bind(s.req, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return;
        int group = RTNLGRP_IPV4_IFADDR;
        int buf = 1 << 20;
        ::setsockopt(s.mon, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        if (::bind(s.mon, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return;
        if (::setsockopt(s.mon, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) return;
        s.ifindex = static_cast<int>(if_nametoindex("eth0"));
        ok = s.ifindex > 0;
    }).join();
    return ok;
}

class Msg {
public:
    Msg(uint16_t type, uint16_t flags, uint32_t seq) {
        nlmsghdr h{};
        h.nlmsg_type = type;
        h.nlmsg_flags = flags;
        h.nlmsg_seq = seq;
        put(&h, sizeof h);
    }
    void put(const void* p, std::size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        buf_.insert(buf_.end(), b, b + n);
        buf_.resize(NLMSG_ALIGN(buf_.size()));
        len();
    }
    void attr(uint16_t type, const void* p, std::size_t n) {
        rtattr a{};
        a.rta_type = type;
        a.rta_len = static_cast<uint16_t>(RTA_LENGTH(n));
        const auto at = buf_.size();
        buf_.resize(at + RTA_SPACE(n));
        std::memcpy(buf_.data() + at, &a, sizeof a);
        std::memcpy(buf_.data() + at + RTA_LENGTH(0), p, n);
        len();
    }
    const std::vector<uint8_t>& bytes() const { return buf_; }

private:
    void len() {
        const auto n = static_cast<uint32_t>(buf_.size());
        std::memcpy(buf_.data() + offsetof(nlmsghdr, nlmsg_len), &n, sizeof n);
    }
    std::vector<uint8_t> buf_;
};

Msg address_msg(bool add, int ifindex, const std::string& label, uint32_t seq) {
    Msg m(add ? RTM_NEWADDR : RTM_DELADDR,
          NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0), seq);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = 24;
    ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    ifa.ifa_index = static_cast<uint32_t>(ifindex);
    m.put(&ifa, sizeof ifa);
    in_addr a{};
    inet_pton(AF_INET, kVip, &a);
    m.attr(IFA_LOCAL, &a, sizeof a);
    m.attr(IFA_ADDRESS, &a, sizeof a);
    if (add && !label.empty()) m.attr(IFA_LABEL, label.c_str(), label.size() + 1);
    return m;
}

// Sends the messages in one datagram (the kernel handles them in order, back to back) and
// returns each one's acknowledgement (0 or a negative errno), in order; empty on a socket
// error.
std::vector<int> transact(int fd, const std::vector<Msg>& msgs, uint32_t first_seq) {
    std::vector<uint8_t> out;
    for (auto& m : msgs) out.insert(out.end(), m.bytes().begin(), m.bytes().end());
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    if (::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return {};
    std::vector<int> acks(msgs.size(), 1);
    std::size_t got = 0;
    alignas(nlmsghdr) uint8_t buf[8192];
    while (got < msgs.size()) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) return {};
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first_seq || h->nlmsg_seq >= first_seq + msgs.size())
                continue;
            auto& slot = acks[h->nlmsg_seq - first_seq];
            if (slot == 1) ++got;
            slot = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        }
    }
    return acks;
}

// The VIP's label on eth0 now (a dump), nullopt when absent.
std::optional<std::string> vip_label(const NlSockets& s, uint32_t& seq) {
    Msg m(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, ++seq);
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_INET;
    m.put(&ifa, sizeof ifa);
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    if (::sendto(s.req, m.bytes().data(), m.bytes().size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        return std::nullopt;
    const auto vip = lvsd::parse_address(kVip);
    std::optional<std::string> label;
    static std::vector<std::byte> buf(1 << 16);
    for (;;) {
        const ssize_t n = ::recv(s.req, buf.data(), buf.size(), 0);
        if (n <= 0) return std::nullopt;
        const auto d = lvsd::host::decode(std::span(buf.data(), static_cast<std::size_t>(n)));
        for (auto& c : d.changes)
            if (auto* a = std::get_if<lvsd::host::AddressChange>(&c))
                if (a->address.ifindex == s.ifindex && a->address.prefix.address == *vip) label = a->address.label;
        if (d.done || d.error) return label;
    }
}

void drain(int fd) {
    uint8_t buf[65536];
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
}

// Waits on the monitor socket for the VIP added again (with label `want` when not empty);
// the time it was read, or nullopt after `deadline`.
std::optional<Clock::time_point> wait_restored(const NlSockets& s, const std::string& want, Clock::time_point deadline) {
    const auto vip = lvsd::parse_address(kVip);
    static std::vector<std::byte> buf(1 << 20);
    for (;;) {
        const auto now = Clock::now();
        if (now >= deadline) return std::nullopt;
        pollfd p{s.mon, POLLIN, 0};
        const int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
        if (::poll(&p, 1, ms) <= 0) continue;
        const ssize_t n = ::recv(s.mon, buf.data(), buf.size(), MSG_DONTWAIT);
        const auto t = Clock::now();
        if (n < 0) {
            if (errno == ENOBUFS) std::cerr << "vip_repair: notifications lost (ENOBUFS)\n";
            continue;
        }
        const auto d = lvsd::host::decode(std::span(buf.data(), static_cast<std::size_t>(n)));
        for (auto& c : d.changes)
            if (auto* a = std::get_if<lvsd::host::AddressChange>(&c))
                if (!a->removed && a->address.ifindex == s.ifindex && a->address.prefix.address == *vip &&
                    (want.empty() || a->address.label == want))
                    return t;
    }
}

// ---- the daemons

struct Daemon {
    lt::Process proc;
    std::string dir;
};

std::string make_dir() {
    char tmpl[] = "/tmp/lvt-bench-vip-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    return d;
}

Daemon start_lvsd(lt::Lab& lab, bool labelled) {
    Daemon d{{}, make_dir()};
    std::ofstream(d.dir + "/lvsd.conf") << fmt::format(
        "global_defs = {{ control_socket = \"{}/lvsd.sock\"; }};\n"
        "vrrp_instances = ( {{\n    name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; priority = 150;\n"
        "    version = 3; advert_int = 0.1;\n    virtual_ipaddress = [ \"{}/24{}\" ];\n}} );\n",
        d.dir, kVip, labelled ? fmt::format(" dev eth0 label {}", kWantLabel) : "");
    d.proc = lab.spawn("a", {kLvsd, "-f", d.dir + "/lvsd.conf"});
    return d;
}

Daemon start_keepalived(lt::Lab& lab, bool labelled) {
    Daemon d{{}, make_dir()};
    std::ofstream(d.dir + "/keepalived.conf") << fmt::format(
        "global_defs {{\n  router_id bench_vip\n  vrrp_version 3\n  enable_script_security\n}}\n"
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 150\n"
        "  advert_int 0.1\n  virtual_ipaddress {{\n    {}/24 dev eth0{}\n  }}\n}}\n",
        kVip, labelled ? fmt::format(" label {}", kWantLabel) : "");
    d.proc = lab.spawn("a", {"keepalived", "-n", "-l", "-D", "--vrrp", "-f", d.dir + "/keepalived.conf", "-p",
                             d.dir + "/ka.pid", "-r", d.dir + "/vrrp.pid", "-c", d.dir + "/chk.pid"});
    return d;
}

struct Outcome {
    std::vector<double> ms;  // one per restored run
    int not_restored = 0;
    int aborted = 0;         // runs that could not be staged (the change itself failed)
    std::size_t log_lines = 0;  // lvsd: lines with "behind lvsd's back"
    bool started = false;
};

// One implementation, one case: `runs` changes, each timed.
Outcome measure(bool keepalived, bool relabel, int runs) {
    Outcome r;
    lt::Lab lab;
    lab.netns("a");
    lab.netns("sw");
    lab.veth("a", "eth0", "sw", "ap");
    lab.address("a", "eth0", "192.0.2.2/24");
    NlSockets s;
    if (!open_sockets(lab.netns_name("a"), s)) {
        std::cerr << "vip_repair: no rtnetlink sockets in the namespace\n";
        return r;
    }
    Daemon d = keepalived ? start_keepalived(lab, relabel) : start_lvsd(lab, relabel);
    uint32_t seq = 1000;
    const std::string want = relabel ? kWantLabel : "";
    auto in_place = [&] {
        auto l = vip_label(s, seq);
        return l && (want.empty() || *l == want);
    };
    // Master: the VIP is there, as configured.
    if (!lt::wait_until(in_place, 15s, 10ms)) {
        std::cerr << fmt::format("vip_repair: {} never added the VIP\n", keepalived ? "keepalived" : "lvsd")
                  << d.proc.output();
        d.proc.stop(1s);
        lt::run({"rm", "-rf", d.dir});
        return r;
    }
    r.started = true;
    lt::wait_until([] { return false; }, 500ms);  // settled: a few adverts, the GARPs sent
    for (int i = 0; i < runs; ++i) {
        if (!d.proc.running()) {
            std::cerr << "vip_repair: the daemon exited\n" << d.proc.output();
            break;
        }
        drain(s.mon);
        Clock::time_point t0;
        bool staged = false;
        // Should the daemon's repair of the deletion win the race with our add (it would
        // need to run between two messages of one datagram), the add fails: again.
        for (int attempt = 0; attempt < 5 && !staged; ++attempt) {
            std::vector<Msg> msgs{address_msg(false, s.ifindex, "", seq + 1)};
            if (relabel) msgs.push_back(address_msg(true, s.ifindex, kOtherLabel, seq + 2));
            const auto acks = transact(s.req, msgs, seq + 1);
            seq += 2;
            t0 = Clock::now();
            staged = !acks.empty() && std::all_of(acks.begin(), acks.end(), [](int e) { return e == 0; });
            if (!staged) {
                std::cerr << fmt::format("vip_repair: change not made (acks {}), again\n",
                                         acks.empty() ? "none" : std::to_string(acks.back()));
                lt::wait_until(in_place, kGiveUp, 5ms);
                drain(s.mon);
            }
        }
        if (!staged) {
            ++r.aborted;
            continue;
        }
        if (auto t1 = wait_restored(s, want, t0 + kGiveUp)) {
            r.ms.push_back(Ms(*t1 - t0).count());
        } else {
            ++r.not_restored;
            // Put it back by hand, as configured, so that the next run starts from the same place.
            std::vector<Msg> fix{address_msg(false, s.ifindex, "", seq + 1),
                                 address_msg(true, s.ifindex, relabel ? kWantLabel : "", seq + 2)};
            transact(s.req, fix, seq + 1);
            seq += 2;
            if (!lt::wait_until(in_place, 2s, 10ms)) std::cerr << "vip_repair: could not put the VIP back by hand\n";
            lt::wait_until([] { return false; }, 500ms);
        }
        lt::wait_until([] { return false; }, kBetween);
    }
    const auto out = d.proc.output();
    for (auto p = out.find(kBehind); p != std::string::npos; p = out.find(kBehind, p + 1)) ++r.log_lines;
    if (verbose) std::cerr << "---- " << (keepalived ? "keepalived" : "lvsd") << "\n" << out;
    d.proc.stop(2s);
    lt::run({"rm", "-rf", d.dir});
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest rank.
double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::cerr << "vip_repair: needs root (network namespaces)\n";
        return 2;
    }
    int runs = argc > 1 ? std::atoi(argv[1]) : 20;
    if (runs < 1) runs = 1;
    verbose = argc > 2 && std::string(argv[2]) == "-v";
    bool lvsd_ok = true;
    for (bool relabel : {false, true}) {
        const char* what = relabel ? "relabelled (del + add with label eth0:other; until label eth0:vip is back)"
                                   : "deleted (until the VIP is back)";
        const char* key = relabel ? "relabelled" : "deleted";
        double med[2] = {0, 0};
        for (bool ka : {false, true}) {
            const char* who = ka ? "keepalived" : "lvsd";
            const Outcome r = measure(ka, relabel, runs);
            if (!r.started) {
                std::cout << fmt::format("vip_repair {} {}: never became master with the VIP", key, who) << std::endl;
                if (!ka) lvsd_ok = false;
                continue;
            }
            std::string counts = fmt::format("{} of {} runs restored, {} not restored within 5 s", r.ms.size(), runs,
                                             r.not_restored);
            if (r.aborted) counts += fmt::format(", {} not staged", r.aborted);
            if (!ka) counts += fmt::format("; {} log lines \"{}\"", r.log_lines, kBehind);
            if (r.ms.empty()) {
                std::cout << fmt::format("vip_repair {} {}: {}: not restored within 5 s in any run ({})", key, who, what,
                                         counts)
                          << std::endl;
                if (!ka) lvsd_ok = false;
                continue;
            }
            med[ka] = median(r.ms);
            if (!ka && r.not_restored) lvsd_ok = false;
            std::cout << fmt::format("vip_repair {} {}: {}: median {:.2f} ms, p90 {:.2f} ms, max {:.2f} ms ({})", key,
                                     who, what, med[ka], percentile(r.ms, 90),
                                     *std::max_element(r.ms.begin(), r.ms.end()), counts)
                      << std::endl;
        }
        if (med[0] > 0 && med[1] > 0)
            std::cout << fmt::format("vip_repair {} ratio lvsd/keepalived (medians): {:.3f}", key, med[0] / med[1])
                      << std::endl;
        else
            std::cout << fmt::format("vip_repair {} ratio lvsd/keepalived: none (a side has no restored run)", key)
                      << std::endl;
    }
    return lvsd_ok ? 0 : 1;
}
