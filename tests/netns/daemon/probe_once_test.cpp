// A real server in three virtual services is probed once per interval: one check, whose
// verdict every service follows (issue #15; keepalived #2111, #2358). The service plane
// runs for real (config -> monitor -> desired table -> reconciler) against an in-memory
// IPVS backend (the host kernel has no IPVS); the probes go over a veth into a namespace,
// where a packet socket counts the SYNs on the wire.
//
//   cli (this test thread)          srv
//   eth0 192.0.2.1/24  -----------  eth0 192.0.2.2/24, listener :8080, SYN counter
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "../healthcheck/servers.hpp"
#include "daemon/service_plane.hpp"
#include "support/netns_lab.hpp"
#include "support/memory_ipvs.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace std::chrono_literals;

namespace {

// TCP SYNs (without ACK) to `port` seen on the namespace's links: a packet socket made
// inside the namespace, read without blocking.
class SynCounter {
public:
    SynCounter(const std::string& netns, uint16_t port) : port_(port) {
        InNetns in(netns);
        fd_ = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP));
    }
    ~SynCounter() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return fd_ >= 0; }
    // Reads what arrived since the last call; returns the total so far.
    size_t count() {
        unsigned char buf[2048];
        sockaddr_ll from{};
        for (;;) {
            socklen_t len = sizeof from;
            ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) break;
            if (from.sll_pkttype == PACKET_OUTGOING) continue;  // count each SYN once, as it arrives
            if (n < static_cast<ssize_t>(sizeof(iphdr))) continue;
            const auto* ip = reinterpret_cast<const iphdr*>(buf);
            const size_t ihl = ip->ihl * 4u;
            if (ip->protocol != IPPROTO_TCP || n < static_cast<ssize_t>(ihl + sizeof(tcphdr))) continue;
            const auto* tcp = reinterpret_cast<const tcphdr*>(buf + ihl);
            if (ntohs(tcp->dest) == port_ && tcp->syn && !tcp->ack) ++syns_;
        }
        return syns_;
    }

private:
    int fd_ = -1;
    uint16_t port_;
    size_t syns_ = 0;
};

}  // namespace

TEST(ProbeOnce, ARealServerInThreeServicesIsProbedOncePerInterval) {
    ASSERT_EQ(::getuid(), 0u) << "the netns tier runs as root";
    lvsd::testing::Lab lab;
    lab.netns("cli");
    lab.netns("srv");
    lab.veth("cli", "eth0", "srv", "eth0");
    lab.address("cli", "eth0", "192.0.2.1/24");
    lab.address("srv", "eth0", "192.0.2.2/24");

    boost::asio::io_context io;
    std::optional<TestServer> server;
    {
        InNetns in(lab.netns_name("srv"));
        // TCP_CHECK probes half-open by default (SYN, SYN-ACK, RST): the listener only answers.
        server.emplace(io, tcp::endpoint{*parse_address("192.0.2.2"), 8080}, Behavior::CloseAtOnce);
    }
    SynCounter syns(lab.netns_name("srv"), 8080);
    ASSERT_TRUE(syns.ok()) << std::strerror(errno);

    // Three services with the same real server and the same TCP_CHECK: one check.
    const char* text = R"(
virtual_servers = (
  { address = "192.0.2.10"; port = 8080; delay_loop = 0.5;
    real_servers = ( { address = "192.0.2.2"; port = 8080; TCP_CHECK = { connect_timeout = 1; }; } ); },
  { address = "192.0.2.11"; port = 8080; delay_loop = 0.5;
    real_servers = ( { address = "192.0.2.2"; port = 8080; TCP_CHECK = { connect_timeout = 1; }; } ); },
  { address = "192.0.2.12"; port = 8080; delay_loop = 0.5;
    real_servers = ( { address = "192.0.2.2"; port = 8080; TCP_CHECK = { connect_timeout = 1; }; } ); }
);
)";
    auto config = config::load_string(text, "test.conf");
    ASSERT_TRUE(config.ok()) << config::to_string(config.diagnostics().front());
    ipvs::Table table;
    InNetns in_cli(lab.netns_name("cli"));
    daemon::ServicePlane plane(io.get_executor(), std::make_unique<lvsd::testing::MemoryIpvs>(table));
    ASSERT_TRUE(plane.apply(config.config()));

    const auto start = std::chrono::steady_clock::now();
    io.run_for(4s);
    const double intervals = std::chrono::duration<double>(std::chrono::steady_clock::now() - start) / 0.5s;
    const size_t seen = syns.count();
    const auto status = plane.status();
    ASSERT_EQ(status.virtual_services.size(), 3u);
    const uint64_t probes = status.virtual_services[0].real_servers.at(0).probes.value_or(0);
    std::cout << "SYNs on the wire " << seen << ", probes " << probes << ", intervals " << intervals
              << "\n";
    // Every service shows the same, single check's count.
    for (const auto& vs : status.virtual_services) EXPECT_EQ(vs.real_servers.at(0).probes, probes) << vs.service;
    // One SYN per probe (a probe still in flight at the end may not be judged yet) ...
    EXPECT_GE(probes, 4u);
    EXPECT_LE(seen, probes + 1);
    EXPECT_GE(seen, probes);
    // ... and one probe per interval, not three: three checks would send 3 x intervals.
    EXPECT_LE(static_cast<double>(seen), intervals + 2);
    const auto text_status = plane.status_text();
    EXPECT_NE(text_status.find("(check shared by 3)"), std::string::npos) << text_status;
    for (const auto& [key, vs] : table) EXPECT_EQ(vs.destinations.size(), 1u);
    EXPECT_EQ(table.size(), 3u);
}
