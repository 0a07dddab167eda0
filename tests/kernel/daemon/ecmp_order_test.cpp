// Connection-safe ECMP on the IPVS side (issue 14), in the real kernel: three balancers
// (lvsd each, in its own namespace) on one bridge with a client and three DR real
// servers (busybox httpd on the VIP, which sits on their lo with the usual ARP settings).
// The client's route to the VIP is switched between balancers (`ip route replace VIP/32
// via LBx`), standing in for the routers' ECMP. Checked:
// - mh: the same 5-tuple (fixed source address and port) reaches the same real server
//   through every balancer although their configs list the real servers in different
//   orders and one balancer gets one of them later by a reload (one that sorts first);
// - negative control: ipvsadm re-inserting a destination on one balancer with lvsd
//   stopped makes some 5-tuples go elsewhere there; lvsd restores the canonical order at
//   start, and again (periodic reconcile) when it is running, and a connection whose
//   destination the repair deletes and re-adds keeps carrying data (the kernel's trash);
// - announced services: lvsd sets net.ipv4.vs.sloppy_tcp/sloppy_sctp, repairs them, leaves
//   them set when it stops, and a connection moved mid-flow to another balancer goes on;
//   with sloppy_tcp=0 there the moved connection is reset (negative control).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;
using namespace std::chrono_literals;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";
constexpr const char* kVip = "192.0.2.10";
constexpr const char* kClient = "203.0.113.1";
const std::vector<std::string> kBalancers = {"lb1", "lb2", "lb3"};
const std::map<std::string, std::string> kLbAddress = {
    {"lb1", "203.0.113.11"}, {"lb2", "203.0.113.12"}, {"lb3", "203.0.113.13"}};
const std::vector<std::string> kServers = {"rs1", "rs2", "rs3"};
const std::map<std::string, std::string> kRsAddress = {
    {"rs1", "203.0.113.21"}, {"rs2", "203.0.113.22"}, {"rs3", "203.0.113.23"}};

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

sockaddr_in v4(const std::string& addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    return sa;
}

bool wait_fd(int fd, short events, int timeout_ms = 3000) {
    pollfd p{fd, events, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

// A socket made in another namespace (it stays there after the thread returns).
template <class F>
auto in_netns(const std::string& full_name, F&& fn) {
    InNamespace in(full_name);
    return fn();
}

// A TCP connection from the client's fixed address and `port` to VIP:vport, or an error
// text. Retries a connect that finds the previous socket of the same 4-tuple still in
// LAST_ACK for a moment.
std::pair<Fd, std::string> connect_from(const std::string& cl_ns, uint16_t port, uint16_t vport) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        Fd s = in_netns(cl_ns, [] { return Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)); });
        int one = 1;
        setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        auto src = v4(kClient, port);
        if (bind(s.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
            return {Fd(), std::string("bind: ") + std::strerror(errno)};
        auto dst = v4(kVip, vport);
        int c = connect(s.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
        if (c != 0 && errno == EADDRNOTAVAIL) {
            std::this_thread::sleep_for(100ms);
            continue;
        }
        if (c != 0 && errno != EINPROGRESS) return {Fd(), std::string("connect: ") + std::strerror(errno)};
        if (!wait_fd(s.fd, POLLOUT)) return {Fd(), "connect: timed out"};
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return {Fd(), std::string("connect: ") + std::strerror(err)};
        return {std::move(s), ""};
    }
    return {Fd(), "connect: 4-tuple still busy"};
}

// Reads until EOF (or `until` is seen) within 3 s; "<reset>" on ECONNRESET.
std::string read_all(int fd, const std::string& until = {}) {
    std::string out;
    char buf[512];
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!wait_fd(fd, POLLIN, 200)) continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) return errno == ECONNRESET ? "<reset>" : std::string("<") + std::strerror(errno) + ">";
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
}

// Which real server answers GET /id for this source port (through the balancer the
// client's route points at), or an error text in <>.
std::string served_by(const std::string& cl_ns, uint16_t port) {
    auto [s, err] = connect_from(cl_ns, port, 80);
    if (!err.empty()) return "<" + err + ">";
    const std::string req = "GET /id HTTP/1.0\r\nHost: vip\r\n\r\n";
    if (send(s.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return "<send>";
    std::string reply = read_all(s.fd);
    auto body = reply.find("\r\n\r\n");
    if (body == std::string::npos) return "<reply: " + reply + ">";
    std::string id = reply.substr(body + 4);
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    return id;
}

std::string config(const std::string& socket, const std::vector<std::string>& servers, bool announce) {
    std::string rs;
    for (const auto& name : servers)
        rs += (rs.empty() ? "" : ", ") + std::string("{ address = \"") + kRsAddress.at(name) + "\"; weight = 1; }";
    std::string out = "global_defs = { control_socket = \"" + socket + "\"; reconcile_interval = 1; };\n" +
                      "virtual_servers = (\n";
    for (int port : {80, 8080}) {
        out += std::string(port == 80 ? "" : ",\n") + "  { address = \"" + kVip + "\"; port = " + std::to_string(port) +
               "; protocol = \"TCP\"; lb_algo = \"mh\"; mh-port = true; lb_kind = \"DR\"; inhibit_on_failure = true;" +
               (announce ? " announce = true;" : "") + "\n    real_servers = ( " + rs + " ); }";
    }
    return out + "\n);\n";
}

class EcmpBalancers : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = "/tmp/" + lab_.prefix() + "ecmp";
        ::mkdir(dir_.c_str(), 0700);
        lab_.netns("fab");
        lab_.bridge("fab", "br0");
        int port = 0;
        auto attach = [&](const std::string& ns, const std::string& address) {
            lab_.netns(ns);
            const std::string p = "p" + std::to_string(port++);
            lab_.veth(ns, "eth0", "fab", p);
            lab_.enslave("fab", p, "br0");
            lab_.address(ns, "eth0", address + "/24");
        };
        attach("cl", kClient);
        lab_.sysctl("cl", "net.ipv4.conf.all.rp_filter", "0");
        lab_.sysctl("cl", "net.ipv4.conf.eth0.rp_filter", "0");
        for (const auto& lb : kBalancers) {
            attach(lb, kLbAddress.at(lb));
            lab_.address(lb, "lo", std::string(kVip) + "/32");
        }
        for (const auto& rs : kServers) {
            attach(rs, kRsAddress.at(rs));
            lab_.sysctl(rs, "net.ipv4.conf.all.arp_ignore", "1");
            lab_.sysctl(rs, "net.ipv4.conf.all.arp_announce", "2");
            lab_.address(rs, "lo", std::string(kVip) + "/32");
            const std::string www = dir_ + "/www-" + rs;
            ::mkdir(www.c_str(), 0755);
            std::ofstream(www + "/id") << rs << "\n";
            httpd_.push_back(lab_.spawn(rs, {"busybox", "httpd", "-f", "-p", std::string(kVip) + ":80", "-h", www}));
            listeners_[rs] = in_netns(lab_.netns_name(rs), [] {
                Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
                int one = 1;
                setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                auto sa = v4(kVip, 8080);
                if (bind(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(s.fd, 16) != 0)
                    throw LabError(std::string("listen on the VIP:8080: ") + std::strerror(errno));
                return s;
            });
        }
    }

    void TearDown() override {
        for (auto& [_, p] : lvsd_) p.stop();
        for (auto& p : httpd_) p.stop();
        run({"rm", "-rf", dir_});
    }

    std::string conf(const std::string& lb) const { return dir_ + "/" + lb + ".conf"; }
    std::string ctl_socket(const std::string& lb) const { return dir_ + "/" + lb + ".sock"; }

    void write_config(const std::string& lb, const std::vector<std::string>& servers, bool announce) {
        std::ofstream(conf(lb)) << config(ctl_socket(lb), servers, announce);
    }
    void start(const std::string& lb) {
        lvsd_[lb] = lab_.spawn(lb, {kLvsd, "-f", conf(lb)});
        ASSERT_TRUE(wait_until([&] {
            return lab_.exec(lb, {kLvsctl, "-s", ctl_socket(lb), "status"}).output.find("generation 1") !=
                   std::string::npos;
        }, 30s)) << lvsd_[lb].output();
    }
    void stop(const std::string& lb) {
        ::kill(lvsd_[lb].pid(), SIGTERM);
        ASSERT_TRUE(wait_until([&] { return !lvsd_[lb].running(); }, 10s));
    }
    void via(const std::string& lb) { lab_.ip("cl", "route replace " + std::string(kVip) + "/32 via " + kLbAddress.at(lb)); }

    // The real servers of VIP:port in the kernel's list order (`ipvsadm -Ln --nosort`:
    // ipvsadm sorts them otherwise).
    std::vector<std::string> kernel_order(const std::string& lb, int port) {
        std::istringstream in(lab_.exec(lb, {"ipvsadm", "-Ln", "--nosort", "-t", std::string(kVip) + ":" + std::to_string(port)}).output);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) {
            std::istringstream t(line);
            std::string arrow, endpoint;
            if (t >> arrow >> endpoint && arrow == "->" && endpoint.find(':') != std::string::npos &&
                endpoint.rfind("RemoteAddress", 0) != 0)
                out.push_back(endpoint.substr(0, endpoint.find(':')));
        }
        return out;
    }
    // The canonical order as the kernel lists it: added in key order, listed newest first.
    static std::vector<std::string> canonical() { return {"203.0.113.23", "203.0.113.22", "203.0.113.21"}; }

    // Which real server each source port reaches through `lb`.
    std::vector<std::string> spread(const std::string& lb, uint16_t first, int n) {
        via(lb);
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) out.push_back(served_by(lab_.netns_name("cl"), static_cast<uint16_t>(first + i)));
        return out;
    }

    // Opens a connection to VIP:8080 from `port` through the current route; returns the
    // client's end, the real server's accepted end and that server's name.
    struct Held {
        Fd client, server;
        std::string rs;
    };
    Held hold(uint16_t port) {
        Held h;
        auto [c, err] = connect_from(lab_.netns_name("cl"), port, 8080);
        EXPECT_TRUE(err.empty()) << err;
        h.client = std::move(c);
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        while (h.rs.empty() && std::chrono::steady_clock::now() < deadline)
            for (auto& [rs, l] : listeners_)
                if (wait_fd(l.fd, POLLIN, 50)) {
                    h.server = Fd(accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
                    h.rs = rs;
                    break;
                }
        EXPECT_FALSE(h.rs.empty()) << "no real server accepted the connection";
        return h;
    }
    // Data both ways on a held connection: "" when it went through, else what happened.
    static std::string exchange(Held& h, const std::string& tag) {
        const std::string up = "up-" + tag, down = "down-" + tag;
        if (send(h.client.fd, up.data(), up.size(), MSG_NOSIGNAL) < 0) return std::string("client send: ") + std::strerror(errno);
        auto got = read_all(h.server.fd, up);
        if (got.find(up) == std::string::npos) {
            auto client_side = read_all(h.client.fd, "x");
            return "server got '" + got + "', client saw '" + client_side + "'";
        }
        if (send(h.server.fd, down.data(), down.size(), MSG_NOSIGNAL) < 0) return std::string("server send: ") + std::strerror(errno);
        got = read_all(h.client.fd, down);
        if (got.find(down) == std::string::npos) return "client got '" + got + "'";
        return "";
    }

    std::string sysctl(const std::string& lb, const std::string& name) {
        auto r = lab_.exec(lb, {"cat", "/proc/sys/net/ipv4/vs/" + name});
        return r.ok() ? r.output.substr(0, r.output.find('\n')) : "<" + r.output + ">";
    }

    Lab lab_;
    std::string dir_;
    std::vector<Process> httpd_;
    std::map<std::string, Fd> listeners_;
    std::map<std::string, Process> lvsd_;
};

int differences(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    int n = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) n += a[i] != b[i];
    return n;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

constexpr int kTuples = 32;

}  // namespace

TEST_F(EcmpBalancers, SameFiveTupleSameRealServerOnEveryBalancer) {
    // Three orders of the same real servers; lb3 gets rs1 (which sorts first) later.
    write_config("lb1", {"rs1", "rs2", "rs3"}, false);
    write_config("lb2", {"rs3", "rs1", "rs2"}, false);
    write_config("lb3", {"rs3", "rs2"}, false);
    for (const auto& lb : kBalancers) ASSERT_NO_FATAL_FAILURE(start(lb));
    write_config("lb3", {"rs2", "rs1", "rs3"}, false);
    auto reload = lab_.exec("lb3", {kLvsctl, "-s", ctl_socket("lb3"), "reload"});
    ASSERT_EQ(reload.status, 0) << reload.output;
    for (const auto& lb : kBalancers)
        for (int port : {80, 8080})
            EXPECT_TRUE(wait_until([&] { return kernel_order(lb, port) == canonical(); }, 5s))
                << lb << ":" << port << ": " << joined(kernel_order(lb, port)) << "\n" << lvsd_[lb].output();
    // The reload's reorder: rs2 and rs3 deleted and re-added after rs1, per service.
    EXPECT_NE(lvsd_["lb3"].output().find("IPVS reconcile (configuration applied): 10 operations sent, 0 failed"),
              std::string::npos)
        << lvsd_["lb3"].output();

    const auto one = spread("lb1", 40000, kTuples), two = spread("lb2", 40000, kTuples),
               three = spread("lb3", 40000, kTuples);
    EXPECT_EQ(one, two);
    EXPECT_EQ(one, three);
    std::set<std::string> used(one.begin(), one.end());
    for (const auto& id : used) EXPECT_TRUE(id == "rs1" || id == "rs2" || id == "rs3") << joined(one);
    EXPECT_EQ(used.size(), 3u) << "the 5-tuples do not spread over the real servers: " << joined(one);
    std::printf("%d 5-tuples through lb1, lb2, lb3: %d and %d differ from lb1; real servers used: %zu\n", kTuples,
                differences(one, two), differences(one, three), used.size());

    // Negative control: lvsd stopped on lb1, ipvsadm re-inserts rs2 and rs1 (the order
    // reversed: rs3, rs2, rs1).
    ASSERT_NO_FATAL_FAILURE(stop("lb1"));
    const std::string svc = std::string(kVip) + ":80", rs1 = kRsAddress.at("rs1") + ":80",
                      rs2 = kRsAddress.at("rs2") + ":80";
    for (const auto& rs : {rs1, rs2}) ASSERT_TRUE(lab_.exec("lb1", {"ipvsadm", "-d", "-t", svc, "-r", rs}).ok());
    for (const auto& rs : {rs2, rs1})
        ASSERT_TRUE(lab_.exec("lb1", {"ipvsadm", "-a", "-t", svc, "-r", rs, "-g", "-w", "1"}).ok());
    ASSERT_EQ(kernel_order("lb1", 80), (std::vector<std::string>{"203.0.113.21", "203.0.113.22", "203.0.113.23"}));
    // The order changes only the slots the real servers contend for (a few percent of
    // the Maglev table with three): batches of 64 source ports until one differs.
    int moved = 0, tried = 0;
    while (moved == 0 && tried < 256) {
        const auto broken = spread("lb1", static_cast<uint16_t>(41000 + tried), 64),
                   reference = spread("lb2", static_cast<uint16_t>(41000 + tried), 64);
        moved += differences(broken, reference);
        tried += 64;
    }
    EXPECT_GT(moved, 0) << "another insertion order moved none of " << tried
                        << " 5-tuples: the order check could not fail";
    std::printf("negative control: with the order reversed by ipvsadm on lb1, %d of %d 5-tuples reach another real "
                "server there than through lb2\n", moved, tried);

    // lvsd started again: the order is repaired at start.
    ASSERT_NO_FATAL_FAILURE(start("lb1"));
    EXPECT_EQ(kernel_order("lb1", 80), canonical()) << lvsd_["lb1"].output();
    EXPECT_EQ(spread("lb1", 42000, kTuples), spread("lb2", 42000, kTuples));

    // With lvsd running: a held connection whose destination the repair deletes and
    // re-adds (every one: rs1 re-inserted goes last, so all three move) keeps flowing.
    via("lb1");
    Held h = hold(45000);
    ASSERT_FALSE(h.rs.empty());
    ASSERT_EQ(exchange(h, "before"), "");
    const std::string svc8080 = std::string(kVip) + ":8080", rs1_8080 = kRsAddress.at("rs1") + ":8080";
    // One shell, so that a periodic reconcile rarely falls between the two (when it does,
    // lvsd adds rs1 itself and the re-add fails with EEXIST: the order is wrong either way).
    lab_.sh("lb1", "ipvsadm -d -t " + svc8080 + " -r " + rs1_8080 + "; ipvsadm -a -t " + svc8080 + " -r " + rs1_8080 +
                       " -g -w 1");
    const auto changed = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_until([&] { return kernel_order("lb1", 8080) == canonical(); }, 10s))
        << joined(kernel_order("lb1", 8080)) << "\n" << lvsd_["lb1"].output();
    const auto repaired_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - changed).count();
    EXPECT_NE(lvsd_["lb1"].output().find("IPVS reconcile (periodic): "), std::string::npos) << lvsd_["lb1"].output();
    EXPECT_EQ(exchange(h, "after"), "") << "the connection to " << h.rs << " did not survive the reorder";
    // The re-added destination is the one the connection was on (taken back from the
    // trash): its active connection is counted again; a new object would show 0.
    const std::string table = lab_.exec("lb1", {"ipvsadm", "-Ln", "--nosort", "-t", svc8080}).output;
    std::istringstream lines(table);
    std::string active;
    for (std::string line; std::getline(lines, line);) {
        std::istringstream t(line);
        std::string arrow, endpoint, forward, weight, conns;
        if (t >> arrow >> endpoint >> forward >> weight >> conns && endpoint == kRsAddress.at(h.rs) + ":8080")
            active = conns;
    }
    EXPECT_EQ(active, "1") << table;
    std::printf("ipvsadm reorder on lb1 repaired by lvsd's periodic reconcile within %lld ms (reconcile_interval 1 "
                "s); the connection held to %s carried data both ways after its destination was deleted and re-added\n",
                static_cast<long long>(repaired_ms), h.rs.c_str());
}

TEST_F(EcmpBalancers, AnnouncedServicesScheduleAFlowThatMovesMidConnection) {
    for (const auto& lb : kBalancers) write_config(lb, {"rs1", "rs2", "rs3"}, true);
    const auto t0 = std::chrono::steady_clock::now();
    auto ms_since = [](std::chrono::steady_clock::time_point t) {
        return static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count());
    };
    for (const auto& lb : kBalancers) ASSERT_NO_FATAL_FAILURE(start(lb));
    std::printf("three lvsd started in %lld ms\n", ms_since(t0));
    for (const auto& lb : kBalancers)
        for (auto name : {"sloppy_tcp", "sloppy_sctp"})
            EXPECT_TRUE(wait_until([&] { return sysctl(lb, name) == "1"; }, 5s))
                << lb << " " << name << " = " << sysctl(lb, name) << "\n" << lvsd_[lb].output();
    EXPECT_NE(lvsd_["lb1"].output().find("net.ipv4.vs.sloppy_tcp=1 (was 0)"), std::string::npos)
        << lvsd_["lb1"].output();

    // Changed behind lvsd's back: set again on the next reconcile.
    lab_.sysctl("lb1", "net.ipv4.vs.sloppy_tcp", "0");
    const auto t1 = std::chrono::steady_clock::now();
    EXPECT_TRUE(wait_until([&] { return sysctl("lb1", "sloppy_tcp") == "1"; }, 5s)) << lvsd_["lb1"].output();
    std::printf("sloppy_tcp=0 behind lvsd's back: 1 again after %lld ms (reconcile_interval 1 s)\n", ms_since(t1));
    EXPECT_NE(lvsd_["lb1"].output().find("changed behind lvsd's back"), std::string::npos) << lvsd_["lb1"].output();

    // A connection through lb1 moves to lb2 in the middle: lb2 schedules it (sloppy_tcp)
    // to the same real server (mh), and it goes on.
    const auto t2 = std::chrono::steady_clock::now();
    via("lb1");
    Held h = hold(46000);
    ASSERT_FALSE(h.rs.empty());
    ASSERT_EQ(exchange(h, "on-lb1"), "");
    via("lb2");
    EXPECT_EQ(exchange(h, "on-lb2"), "") << "the connection to " << h.rs << " did not survive the move to lb2";

    // lvsd stopped on lb3 leaves the sysctls set; with sloppy_tcp=0 there (the negative
    // control) a connection moved to lb3 is reset by lb3's own stack.
    std::printf("move to lb2 checked in %lld ms\n", ms_since(t2));
    const auto t3 = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(stop("lb3"));
    std::printf("lb3's lvsd stopped in %lld ms\n", ms_since(t3));
    EXPECT_EQ(sysctl("lb3", "sloppy_tcp"), "1");
    lab_.sysctl("lb3", "net.ipv4.vs.sloppy_tcp", "0");
    via("lb1");
    Held g = hold(46001);
    ASSERT_FALSE(g.rs.empty());
    ASSERT_EQ(exchange(g, "on-lb1"), "");
    via("lb3");
    const std::string up = "up-on-lb3";
    ASSERT_GE(send(g.client.fd, up.data(), up.size(), MSG_NOSIGNAL), 0);
    EXPECT_EQ(read_all(g.client.fd, "x"), "<reset>") << "with sloppy_tcp=0 the moved connection was not reset";
    EXPECT_EQ(read_all(g.server.fd, up).find(up), std::string::npos);
    std::printf("mid-connection move lb1 -> lb2 with sloppy_tcp=1: the connection to %s went on; lb1 -> lb3 with "
                "sloppy_tcp=0: reset\n", h.rs.c_str());
}
