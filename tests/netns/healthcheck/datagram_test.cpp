// UDP_CHECK and DNS_CHECK against real peers in a namespace: UDP listeners the test runs
// (one answering, one silent), a closed port (the kernel answers ICMP port unreachable),
// and dnsmasq from Debian started with a configuration of its own.
//
//   cli (this test thread) 192.0.2.1/24 ---- srv 192.0.2.2/24
//                          2001:db8::1/64       2001:db8::2/64
#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>

#include "servers.hpp"
#include "support/netns_lab.hpp"

using namespace lvsd;
using namespace lvsd::hctest;
using namespace lvsd::healthcheck;
using namespace std::chrono_literals;
namespace lt = lvsd::testing;
using asio::ip::udp;

namespace {

const auto kSrv4 = *parse_address("192.0.2.2");
const auto kSrv6 = *parse_address("2001:db8::2");

// Answers every datagram with "pong:" and what it got (or stays silent); counts them.
class UdpPeer {
public:
    UdpPeer(asio::io_context& io, const udp::endpoint& at, bool answer) : sock_(io, at), answer_(answer) { receive(); }
    std::size_t received() const { return received_; }
    const std::string& last() const { return last_; }

private:
    void receive() {
        sock_.async_receive_from(asio::buffer(buf_), from_, [this](boost::system::error_code ec, std::size_t n) {
            if (ec) return;
            ++received_;
            last_.assign(buf_.data(), n);
            if (answer_) {
                reply_ = "pong:" + last_;
                sock_.send_to(asio::buffer(reply_), from_, 0, ec);
            }
            receive();
        });
    }
    udp::socket sock_;
    bool answer_;
    std::array<char, 2048> buf_{};
    udp::endpoint from_;
    std::string last_, reply_;
    std::size_t received_ = 0;
};

class DatagramNetns : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("cli");
        lab_.netns("srv");
        lab_.veth("cli", "eth0", "srv", "eth0");
        lab_.address("cli", "eth0", "192.0.2.1/24");
        lab_.address("cli", "eth0", "2001:db8::1/64");
        lab_.address("srv", "eth0", "192.0.2.2/24");
        lab_.address("srv", "eth0", "2001:db8::2/64");
        in_cli_.emplace(lab_.netns_name("cli"));
    }
    void TearDown() override {
        peers_.clear();
        in_cli_.reset();
    }

    UdpPeer& peer(const IpAddress& a, uint16_t port, bool answer) {
        InNetns in(lab_.netns_name("srv"));
        peers_.push_back(std::make_unique<UdpPeer>(io_, udp::endpoint{a, port}, answer));
        return *peers_.back();
    }

    CheckSpec udp_check(const IpAddress& a, uint16_t port, std::chrono::milliseconds timeout = 300ms) {
        auto s = spec_for(CheckType::Udp, a, port, timeout);
        return s;
    }

    // dnsmasq in srv on port 53 of both addresses: www.example.test has an A record
    // only; example.test is local, so other names in it are NXDOMAIN.
    lt::Process start_dnsmasq() {
        auto p = lab_.spawn("srv", {"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                    "--no-hosts", "--bind-interfaces", "--listen-address=192.0.2.2",
                                    "--listen-address=2001:db8::2", "--except-interface=lo", "--port=53",
                                    "--pid-file=", "--user=root", "--log-facility=-", "--log-queries",
                                    "--local=/example.test/", "--host-record=www.example.test,192.0.2.80"});
        auto ready = [&] {
            auto s = dns(kSrv4, "A", "www.example.test");
            s.connect_timeout = 200ms;
            return run_probe(io_, s).ok;
        };
        EXPECT_TRUE(lt::wait_until(ready, 10s)) << p.output();
        return p;
    }

    CheckSpec dns(const IpAddress& a, std::string type, std::string name) {
        auto s = spec_for(CheckType::Dns, a, 53, 1s);
        s.dns_type = std::move(type);
        s.dns_name = std::move(name);
        return s;
    }

    lt::Lab lab_;
    asio::io_context io_;
    std::vector<std::unique_ptr<UdpPeer>> peers_;
    std::optional<InNetns> in_cli_;
};

}  // namespace

TEST_F(DatagramNetns, UdpAnsweredPassesAtOnceOverV4AndV6WithThePayload) {
    for (const auto& a : {kSrv4, kSrv6}) {
        auto& p = peer(a, 5000, true);
        auto s = udp_check(a, 5000, 2s);
        s.udp_payload = std::string("\x01\x02hello", 7);
        s.require_reply = true;
        auto r = run_probe(io_, s);
        EXPECT_TRUE(r.ok) << a << ": " << r.reason;
        EXPECT_EQ(r.reason, "reply of 12 bytes");
        EXPECT_LT(r.latency, 500ms);
        EXPECT_EQ(p.last(), s.udp_payload);
    }
}

TEST_F(DatagramNetns, AClosedPortFailsAtOnceOnTheIcmpError) {
    for (bool require_reply : {false, true}) {
        auto s = udp_check(kSrv4, 5001, 2s);
        s.require_reply = require_reply;
        auto r = run_probe(io_, s);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.reason, "port unreachable (ICMP)");
        EXPECT_LT(r.latency, 500ms);
    }
    auto r6 = run_probe(io_, udp_check(kSrv6, 5001, 2s));
    EXPECT_FALSE(r6.ok);
    EXPECT_EQ(r6.reason, "port unreachable (ICMP)");
}

TEST_F(DatagramNetns, ASilentListenerPassesOnlyWithoutRequireReply) {
    auto& p = peer(kSrv4, 5002, false);
    auto r = run_probe(io_, udp_check(kSrv4, 5002, 300ms));
    EXPECT_TRUE(r.ok) << r.reason;
    EXPECT_EQ(r.reason, "no ICMP error within 300ms");
    EXPECT_GE(r.latency, 300ms);
    auto s = udp_check(kSrv4, 5002, 300ms);
    s.require_reply = true;
    auto q = run_probe(io_, s);
    EXPECT_FALSE(q.ok);
    EXPECT_EQ(q.reason, "no reply within 300ms");
    EXPECT_EQ(p.received(), 2u);
}

TEST_F(DatagramNetns, DnsCheckAgainstDnsmasq) {
    auto server = start_dnsmasq();
    auto a = run_probe(io_, dns(kSrv4, "A", "www.example.test"));
    EXPECT_TRUE(a.ok) << a.reason;
    EXPECT_EQ(a.reason, "1 A record");
    auto a6 = run_probe(io_, dns(kSrv6, "A", "www.example.test"));
    EXPECT_TRUE(a6.ok) << a6.reason;
    // The name has no AAAA record: NOERROR with an empty answer is a failure.
    auto aaaa = run_probe(io_, dns(kSrv4, "AAAA", "www.example.test"));
    EXPECT_FALSE(aaaa.ok);
    EXPECT_EQ(aaaa.reason, "no AAAA record in the answer");
    auto nx = run_probe(io_, dns(kSrv4, "A", "nope.example.test"));
    EXPECT_FALSE(nx.ok);
    EXPECT_EQ(nx.reason, "NXDOMAIN");
    server = {};  // dnsmasq gone: the port is closed
    auto gone = run_probe(io_, dns(kSrv4, "A", "www.example.test"));
    EXPECT_FALSE(gone.ok);
    EXPECT_EQ(gone.reason, "port unreachable (ICMP)");
}

TEST_F(DatagramNetns, DnsCheckIgnoresAStrayAnswerAndFailsOnSilence) {
    // A UDP peer that answers with its own text: not DNS, so the check waits on and fails
    // at its timeout rather than taking it for an answer.
    peer(kSrv4, 5353, true);
    auto s = dns(kSrv4, "A", "www.example.test");
    s.port = 5353;
    s.connect_timeout = 300ms;
    auto r = run_probe(io_, s);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "no reply within 300ms");
}
