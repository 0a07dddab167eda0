// Real traffic through virtual services programmed by the Client, between namespaces:
// - NAT: a weight edit by the reconciler must keep the destination (its connection
//   counters and the open connection), because it is an edit in place, not a delete
//   and re-add;
// - direct routing (the reference deployment): client -> VIP on the balancer -> proxy
//   on 8080 that holds the VIP on lo and answers the client directly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/ranges.h>

#include "fixture.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;
using namespace std::chrono_literals;

namespace {

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
};

sockaddr_in v4(const char* addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sa.sin_addr);
    return sa;
}

bool wait_fd(int fd, short events, int timeout_ms = 5000) {
    pollfd p{fd, events, 0};
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

std::string recv_some(int fd) {
    if (!wait_fd(fd, POLLIN)) return "<timeout>";
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "<closed>";
}

// Conns column of `ipvsadm -Ln --stats` for one destination line.
uint64_t ipvsadm_conns(const std::string& stats, const std::string& endpoint) {
    std::istringstream in(stats);
    for (std::string line; std::getline(in, line);) {
        auto t = split(line);
        if (t.size() >= 3 && t[0] == "->" && t[1] == endpoint) return std::stoull(t[2]);
    }
    return ~uint64_t{0};
}

}  // namespace

TEST_F(IpvsKernel, WeightEditKeepsCountersAndTheOpenConnection) {
    const std::string cl = lab_.netns("cl");
    const std::string rs = lab_.netns("rs");
    lab_.veth("lb", "c0", "cl", "eth0");
    lab_.veth("lb", "r0", "rs", "eth0");
    lab_.address("lb", "c0", "203.0.113.10/24");  // the VIP's side
    lab_.address("cl", "eth0", "203.0.113.1/24");
    lab_.address("lb", "r0", "198.51.100.254/24");
    lab_.address("rs", "eth0", "198.51.100.1/24");
    lab_.route("rs", "default via 198.51.100.254");
    lab_.sysctl("lb", "net.ipv4.ip_forward", "1");

    Table want;
    put(want, tcp_service("203.0.113.10", 8080, "wlc"), {dest("198.51.100.1", 8080, 1, Forwarding::Nat)});
    Reconciler r(*client_);
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok() && rep->ok());

    Fd listener = in_netns(rs, [] {
        Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        auto sa = v4("0.0.0.0", 8080);
        if (bind(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(s.fd, 4) != 0)
            throw lt::LabError(std::string("listen in rs: ") + std::strerror(errno));
        return s;
    });
    Fd client = in_netns(cl, [] { return Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)); });
    auto vip = v4("203.0.113.10", 8080);
    int c = connect(client.fd, reinterpret_cast<sockaddr*>(&vip), sizeof vip);
    ASSERT_TRUE(c == 0 || errno == EINPROGRESS) << std::strerror(errno);
    ASSERT_TRUE(wait_fd(listener.fd, POLLIN)) << "no connection reached the real server through the VIP";
    Fd server(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(server.fd, 0);
    ASSERT_TRUE(wait_fd(client.fd, POLLOUT));
    ASSERT_EQ(send(client.fd, "ping", 4, 0), 4);
    EXPECT_EQ(recv_some(server.fd), "ping");

    const auto key = want.begin()->first;
    // The kernel folds its per-CPU counters into the reported ones from a periodic
    // estimator (every 2 s), so the first connection shows up with a delay.
    Result<std::vector<DestinationStatus>> before = make_error(0, "not read yet");
    EXPECT_TRUE(lt::wait_until(
        [&] {
            before = client_->destinations(key);
            return before.ok() && before->size() == 1 && before->front().stats.connections == 1;
        },
        15s, 200ms))
        << "the destination's connection counter never reached 1";
    ASSERT_TRUE(before.ok()) << before.error().message;
    ASSERT_EQ(before->size(), 1u);
    EXPECT_EQ(before->front().active_connections, 1u);
    EXPECT_EQ(before->front().stats.connections, 1u);
    EXPECT_GT(before->front().stats.packets_in, 0u);
    EXPECT_EQ(ipvsadm_conns(ipvsadm({"-Ln", "--stats"}), "198.51.100.1:8080"), 1u);

    // The change: one weight. One op, an edit.
    want.begin()->second.destinations.begin()->second.weight = 5;
    r.set_desired(want);
    const uint64_t sent = client_->requests_sent();
    rep = r.reconcile();
    ASSERT_TRUE(rep.ok() && rep->ok());
    EXPECT_EQ(rep->ops_sent, 1u);
    EXPECT_EQ(client_->requests_sent() - sent, 1u + 1u + 1u);  // two dumps and the edit

    auto after = client_->destinations(key);
    ASSERT_TRUE(after.ok());
    ASSERT_EQ(after->size(), 1u);
    EXPECT_EQ(after->front().destination.weight, 5u);
    EXPECT_EQ(after->front().active_connections, 1u);
    EXPECT_EQ(after->front().stats.connections, 1u);
    EXPECT_GE(after->front().stats.packets_in, before->front().stats.packets_in);
    EXPECT_EQ(ipvsadm_conns(ipvsadm({"-Ln", "--stats"}), "198.51.100.1:8080"), 1u);

    // And the connection still carries data both ways through the VIP.
    ASSERT_EQ(send(server.fd, "pong", 4, 0), 4);
    EXPECT_EQ(recv_some(client.fd), "pong");
    ASSERT_EQ(send(client.fd, "more", 4, 0), 4);
    EXPECT_EQ(recv_some(server.fd), "more");
}

TEST_F(IpvsKernel, DirectRoutingToAProxyOn8080) {
    // One L2 segment (a bridge): client .1, balancer .2 with the VIP .10, real server .3
    // with the VIP on lo and the usual LVS-DR ARP settings, so that only the balancer
    // answers ARP for the VIP.
    const std::string cl = lab_.netns("cl");
    const std::string rs = lab_.netns("rs");
    lab_.netns("sw");
    lab_.bridge("sw", "br0");
    lab_.veth("lb", "eth0", "sw", "p0");
    lab_.veth("cl", "eth0", "sw", "p1");
    lab_.veth("rs", "eth0", "sw", "p2");
    for (auto p : {"p0", "p1", "p2"}) lab_.enslave("sw", p, "br0");
    lab_.address("lb", "eth0", "203.0.113.2/24");
    lab_.address("lb", "eth0", "203.0.113.10/32");
    lab_.address("cl", "eth0", "203.0.113.1/24");
    lab_.sysctl("rs", "net.ipv4.conf.all.arp_ignore", "1");
    lab_.sysctl("rs", "net.ipv4.conf.all.arp_announce", "2");
    lab_.address("rs", "eth0", "203.0.113.3/24");
    lab_.address("rs", "lo", "203.0.113.10/32");

    Table want;
    put(want, tcp_service("203.0.113.10", 8080, "wlc"), {dest("203.0.113.3", 8080, 1, Forwarding::DirectRoute)});
    Reconciler r(*client_);
    r.set_desired(want);
    auto rep = r.reconcile();
    ASSERT_TRUE(rep.ok() && rep->ok());

    Fd listener = in_netns(rs, [] {
        Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        auto sa = v4("203.0.113.10", 8080);  // the proxy listens on the VIP itself
        if (bind(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(s.fd, 4) != 0)
            throw lt::LabError(std::string("listen in rs: ") + std::strerror(errno));
        return s;
    });
    Fd client = in_netns(cl, [] { return Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)); });
    auto vip = v4("203.0.113.10", 8080);
    int c = connect(client.fd, reinterpret_cast<sockaddr*>(&vip), sizeof vip);
    ASSERT_TRUE(c == 0 || errno == EINPROGRESS) << std::strerror(errno);
    ASSERT_TRUE(wait_fd(listener.fd, POLLIN)) << "no connection reached the proxy through the VIP";
    Fd server(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(server.fd, 0);
    ASSERT_TRUE(wait_fd(client.fd, POLLOUT));
    ASSERT_EQ(send(client.fd, "GET /", 5, 0), 5);
    EXPECT_EQ(recv_some(server.fd), "GET /");
    ASSERT_EQ(send(server.fd, "200", 3, 0), 3);  // straight back to the client, not via lb
    EXPECT_EQ(recv_some(client.fd), "200");

    const auto key = want.begin()->first;
    EXPECT_TRUE(lt::wait_until(
        [&] {
            auto ds = client_->destinations(key);
            return ds.ok() && ds->size() == 1 && ds->front().stats.connections == 1;
        },
        15s, 200ms))
        << "the balancer never counted the connection: " << ipvsadm({"-Ln", "--stats"});
}
