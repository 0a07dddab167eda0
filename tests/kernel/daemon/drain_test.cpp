// Operator overrides against the real kernel's IPVS (in the VM), issue #15:
// - drain a real server while tens of long-lived connections (each from its own source
//   port, carrying data) run through it: none of them is reset, no new connection reaches
//   it, and it leaves the table when the last of them closes;
// - the --timeout path: a drain ends with a connection still open, which goes on working;
// - disable / enable; a weight override that survives a SIGHUP and a restart of lvsd.
//
//   cl 192.0.2.1 ─┐
//   lb 192.0.2.2 ─┤ br0 (sw)     lb: lvsd, VIP 192.0.2.10 (TCP 8080, rr, DR)
//   rs1 192.0.2.3 ┤              rs1, rs2: the VIP on lo (DR), an echo server on 8080
//   rs2 192.0.2.4 ┘              that counts the connections it accepts for the VIP
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
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
const std::string kService = "192.0.2.10:8080/tcp";

// A socket made in the named network namespace (it stays there).
int socket_in(const std::string& netns, int type) {
    InNamespace in(netns);
    return ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
}

sockaddr_in endpoint(const char* address, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, address, &a.sin_addr);
    return a;
}

// An echo server on 0.0.0.0:8080 in a namespace, on its own thread; counts the
// connections accepted for the VIP (the health checks come to the real address).
class EchoServer {
public:
    explicit EchoServer(const std::string& netns) {
        listener_ = socket_in(netns, SOCK_STREAM);
        int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        auto any = endpoint("0.0.0.0", 8080);
        if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
            ::listen(listener_, 128) != 0)
            throw std::runtime_error(std::string("echo server in ") + netns + ": " + std::strerror(errno));
        thread_ = std::thread([this] { loop(); });
    }
    ~EchoServer() {
        stop_ = true;
        thread_.join();
        for (auto& p : fds_) ::close(p.fd);
    }
    size_t vip_accepted() const { return vip_accepted_; }

private:
    void loop() {
        fds_.push_back({listener_, POLLIN, 0});
        char buf[4096];
        while (!stop_) {
            if (::poll(fds_.data(), fds_.size(), 100) <= 0) continue;
            for (size_t i = 0; i < fds_.size(); ++i) {
                if (!(fds_[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                if (fds_[i].fd == listener_) {
                    sockaddr_in local{};
                    socklen_t len = sizeof local;
                    int c = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                    if (c < 0) continue;
                    ::getsockname(c, reinterpret_cast<sockaddr*>(&local), &len);
                    char text[INET_ADDRSTRLEN] = "";
                    ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
                    if (std::string(text) == kVip) ++vip_accepted_;
                    fds_.push_back({c, POLLIN, 0});
                    continue;
                }
                ssize_t n = ::read(fds_[i].fd, buf, sizeof buf);
                if (n <= 0 || ::write(fds_[i].fd, buf, static_cast<size_t>(n)) != n) {
                    ::close(fds_[i].fd);
                    fds_[i].fd = -1;
                }
            }
            std::erase_if(fds_, [](const pollfd& p) { return p.fd < 0; });
        }
    }

    int listener_ = -1;
    std::vector<pollfd> fds_;
    std::atomic<bool> stop_{false};
    std::atomic<size_t> vip_accepted_{0};
    std::thread thread_;
};

// One client connection through the VIP, made in "cl"; every exchange sends a line and
// expects it back. Any error (a reset above all) is recorded.
class Client {
public:
    explicit Client(const std::string& netns) {
        fd_ = socket_in(netns, SOCK_STREAM);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        auto vip = endpoint(kVip, 8080);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&vip), sizeof vip) != 0)
            error_ = std::string("connect: ") + std::strerror(errno);
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool exchange(const std::string& line) {
        if (!error_.empty()) return false;
        if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
            error_ = std::string("send: ") + std::strerror(errno);
            return false;
        }
        std::string got;
        char buf[256];
        while (got.size() < line.size()) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                error_ = n == 0 ? "closed by the peer" : std::string("recv: ") + std::strerror(errno);
                return false;
            }
            got.append(buf, static_cast<size_t>(n));
        }
        if (got != line) error_ = "echoed \"" + got + "\"";
        return error_.empty();
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    const std::string& error() const { return error_; }

private:
    int fd_ = -1;
    std::string error_;
};

std::string config(const std::string& socket, bool inhibit = false) {
    return R"(global_defs = { control_socket = ")" + socket + R"("; reconcile_interval = 3600; };
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "rr"; lb_kind = "DR";
    delay_loop = 0.5; inhibit_on_failure = )" + (inhibit ? "true" : "false") + R"(;
    real_servers = (
        { address = "192.0.2.3"; weight = 1; TCP_CHECK = { connect_timeout = 1; }; },
        { address = "192.0.2.4"; weight = 1; TCP_CHECK = { connect_timeout = 1; }; }
    );
} );
)";
}

class DrainInKernel : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        for (const char* ns : {"lb", "cl", "rs1", "rs2"}) {
            lab_.netns(ns);
            lab_.veth(ns, "eth0", "sw", std::string(ns) + "0");
            lab_.enslave("sw", std::string(ns) + "0", "br0");
        }
        lab_.address("lb", "eth0", "192.0.2.2/24");
        lab_.address("lb", "eth0", "192.0.2.10/32");
        lab_.address("cl", "eth0", "192.0.2.1/24");
        const char* real[] = {"192.0.2.3/24", "192.0.2.4/24"};
        for (int i = 0; i < 2; ++i) {
            const std::string ns = i == 0 ? "rs1" : "rs2";
            lab_.sysctl(ns, "net.ipv4.conf.all.arp_ignore", "1");
            lab_.sysctl(ns, "net.ipv4.conf.all.arp_announce", "2");
            lab_.address(ns, "eth0", real[i]);
            lab_.address(ns, "lo", "192.0.2.10/32");
        }
        dir_ = "/tmp/" + lab_.prefix() + "drain";
        ::mkdir(dir_.c_str(), 0700);
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        rs1_.emplace(lab_.netns_name("rs1"));
        rs2_.emplace(lab_.netns_name("rs2"));
    }
    void TearDown() override {
        rs1_.reset();
        rs2_.reset();
        run({"rm", "-rf", dir_});
    }

    Process start(bool inhibit = false) {
        std::ofstream(conf_) << config(socket_, inhibit);
        auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});
        EXPECT_TRUE(wait_until([&] { return in_table("192.0.2.3:8080") && in_table("192.0.2.4:8080"); }, 30s))
            << table() << lvsd.output();
        return lvsd;
    }
    RunResult lvsctl(std::vector<std::string> args) {
        args.insert(args.begin(), {kLvsctl, "-s", socket_});
        return lab_.exec("lb", args);
    }
    std::string table() { return lab_.exec("lb", {"ipvsadm", "-Ln"}).output; }
    bool in_table(const std::string& real) { return table().find(real) != std::string::npos; }
    // The weight column of a real server's line in ipvsadm -Ln; "" when it is not there.
    std::string weight(const std::string& real) {
        std::istringstream in(table());
        for (std::string line; std::getline(in, line);) {
            std::istringstream w(line);
            std::string arrow, ep, fwd, wt;
            if (w >> arrow >> ep >> fwd >> wt && arrow == "->" && ep == real) return wt;
        }
        return "";
    }
    std::string active(const std::string& real) {
        std::istringstream in(table());
        for (std::string line; std::getline(in, line);) {
            std::istringstream w(line);
            std::string arrow, ep, fwd, wt, act;
            if (w >> arrow >> ep >> fwd >> wt >> act && arrow == "->" && ep == real) return act;
        }
        return "";
    }

    Lab lab_;
    std::string dir_, conf_, socket_;
    std::optional<EchoServer> rs1_, rs2_;
};

}  // namespace

TEST_F(DrainInKernel, NoConnectionIsResetNoNewOneArrivesAndTheServerLeavesWhenTheLastCloses) {
    auto lvsd = start();
    // 40 long-lived connections, each from its own source port: rr gives each real server 20.
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 40; ++i) {
        clients.push_back(std::make_unique<Client>(lab_.netns_name("cl")));
        ASSERT_TRUE(clients.back()->exchange("hello " + std::to_string(i) + "\n")) << clients.back()->error();
    }
    const size_t on_rs1 = rs1_->vip_accepted();
    ASSERT_EQ(on_rs1, 20u);
    ASSERT_EQ(active("192.0.2.3:8080"), "20") << table();

    auto drain = lvsctl({"drain", kService, "192.0.2.3:8080"});
    ASSERT_EQ(drain.status, 0) << drain.output << lvsd.output();
    EXPECT_NE(drain.output.find("192.0.2.3:8080 in 192.0.2.10:8080/tcp: up, draining, weight 0 in the kernel"),
              std::string::npos)
        << drain.output;
    EXPECT_EQ(weight("192.0.2.3:8080"), "0") << table();
    auto status = lvsctl({"status"}).output;
    EXPECT_NE(status.find("override: draining"), std::string::npos) << status;
    auto progress = lvsctl({"progress", "192.0.2.3:8080"});
    EXPECT_EQ(progress.status, 0);
    EXPECT_NE(progress.output.find("draining 1 real server, 20 active connections left"), std::string::npos)
        << progress.output;

    // Every old connection goes on carrying data; 20 new ones all go to rs2.
    std::vector<std::unique_ptr<Client>> fresh;
    for (int i = 0; i < 20; ++i) {
        fresh.push_back(std::make_unique<Client>(lab_.netns_name("cl")));
        EXPECT_TRUE(fresh.back()->exchange("new\n")) << fresh.back()->error();
    }
    EXPECT_EQ(rs1_->vip_accepted(), on_rs1) << "a new connection reached the draining real server";
    for (int round = 0; round < 3; ++round)
        for (size_t i = 0; i < clients.size(); ++i)
            EXPECT_TRUE(clients[i]->exchange("data " + std::to_string(round) + "\n")) << i << ": "
                                                                                     << clients[i]->error();
    fresh.clear();

    // --wait in the background while the connections close, one by one: it ends with
    // "drained" once the last one is gone.
    auto waiter = lab_.spawn("lb", {kLvsctl, "-s", socket_, "drain", kService, "192.0.2.3:8080", "--wait"});
    for (size_t i = 0; i < clients.size(); ++i) {
        EXPECT_TRUE(clients[i]->exchange("bye\n")) << i << ": " << clients[i]->error();
        clients[i]->close();
    }
    EXPECT_TRUE(wait_until([&] { return !in_table("192.0.2.3:8080"); }, 30s)) << table() << lvsd.output();
    EXPECT_TRUE(wait_until([&] { return !waiter.running(); }, 10s)) << waiter.output();
    EXPECT_EQ(waiter.status(), 0) << waiter.output();
    EXPECT_NE(waiter.output().find("drained\n"), std::string::npos) << waiter.output();
    EXPECT_NE(lvsd.output().find("drained: no active connections left"), std::string::npos) << lvsd.output();
    EXPECT_NE(lvsctl({"status"}).output.find("override: drained"), std::string::npos);

    // undrain: back in the table as its health says.
    ASSERT_EQ(lvsctl({"undrain", "192.0.2.3:8080"}).status, 0);
    EXPECT_TRUE(wait_until([&] { return weight("192.0.2.3:8080") == "1"; }, 10s)) << table();
    // Mistakes are exit 1 (the daemon's) or 2 (the command line's), and change nothing.
    auto unknown = lvsctl({"drain", "192.0.2.99:8080"});
    EXPECT_EQ(unknown.status, 1);
    EXPECT_NE(unknown.output.find("no virtual service has a real server 192.0.2.99:8080"), std::string::npos)
        << unknown.output;
    EXPECT_EQ(lvsctl({"drain", "192.0.2.3"}).status, 2);
}

TEST_F(DrainInKernel, TimeoutEndsTheDrainWithConnectionsLeft) {
    auto lvsd = start();
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<Client>(lab_.netns_name("cl")));
        ASSERT_TRUE(clients.back()->exchange("hello\n")) << clients.back()->error();
    }
    ASSERT_EQ(rs2_->vip_accepted(), 2u);
    auto drain = lvsctl({"drain", "192.0.2.4:8080", "--timeout", "3", "--wait"});
    EXPECT_EQ(drain.status, 0) << drain.output << lvsd.output();
    EXPECT_NE(drain.output.find("draining 1 real server, 2 active connections left"), std::string::npos)
        << drain.output;
    EXPECT_NE(drain.output.find("drained"), std::string::npos) << drain.output;
    EXPECT_FALSE(in_table("192.0.2.4:8080")) << table();
    EXPECT_NE(lvsd.output().find("drained: --timeout reached with 2 active connections left"), std::string::npos)
        << lvsd.output();
    // rs1's connections go on; rs2's stall, as documented: IPVS drops the packets of a
    // connection whose real server has left the table (expire_nodest_conn=0).
    int working = 0;
    for (auto& c : clients) working += c->exchange("still here\n");
    EXPECT_EQ(working, 2);
}

TEST_F(DrainInKernel, DisableEnableAndAWeightThatSurvivesReloadAndRestart) {
    auto lvsd = start(true);  // inhibit_on_failure: disabled means weight 0
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 2; ++i) {
        clients.push_back(std::make_unique<Client>(lab_.netns_name("cl")));
        ASSERT_TRUE(clients.back()->exchange("hello\n")) << clients.back()->error();
    }
    ASSERT_EQ(rs2_->vip_accepted(), 1u);
    ASSERT_EQ(lvsctl({"disable", "192.0.2.4:8080"}).status, 0);
    EXPECT_EQ(weight("192.0.2.4:8080"), "0") << table();
    // Inhibited, not removed: its connection goes on; a new one goes to rs1.
    for (auto& c : clients) EXPECT_TRUE(c->exchange("on\n")) << c->error();
    Client late(lab_.netns_name("cl"));
    EXPECT_TRUE(late.exchange("late\n")) << late.error();
    EXPECT_EQ(rs2_->vip_accepted(), 1u);
    auto status = lvsctl({"status"}).output;
    EXPECT_NE(status.find("override: disabled"), std::string::npos) << status;
    ASSERT_EQ(lvsctl({"enable", "192.0.2.4:8080"}).status, 0);
    EXPECT_EQ(weight("192.0.2.4:8080"), "1") << table();

    auto set = lvsctl({"weight", kService, "192.0.2.4:8080", "7"});
    ASSERT_EQ(set.status, 0) << set.output;
    EXPECT_NE(set.output.find("weight 7 set by hand, weight 7 in the kernel"), std::string::npos) << set.output;
    EXPECT_EQ(weight("192.0.2.4:8080"), "7");
    ::kill(lvsd.pid(), SIGHUP);
    EXPECT_TRUE(wait_until([&] { return lvsctl({"status"}).output.find("generation 2") != std::string::npos; }, 10s));
    EXPECT_EQ(weight("192.0.2.4:8080"), "7") << table();

    ::kill(lvsd.pid(), SIGTERM);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 10s));
    // While lvsd is down, someone sets the weight back: the restart puts the override back.
    lab_.exec("lb", {"ipvsadm", "-e", "-t", "192.0.2.10:8080", "-r", "192.0.2.4:8080", "-g", "-w", "1"});
    auto again = start(true);
    EXPECT_TRUE(wait_until([&] { return weight("192.0.2.4:8080") == "7"; }, 10s)) << table() << again.output();
    auto json = lvsctl({"status", "--json"}).output;
    EXPECT_NE(json.find(R"("override":{"drain":null,"drain_timeout_s":null,"drain_balancer":false,"disabled":false,"weight":7})"),
              std::string::npos)
        << json;
    ASSERT_EQ(lvsctl({"weight", "--clear", "192.0.2.4:8080"}).status, 0);
    EXPECT_EQ(weight("192.0.2.4:8080"), "1") << table();
}
