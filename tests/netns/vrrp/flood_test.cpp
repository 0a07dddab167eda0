// A third host floods the segment with malformed and wrong-TTL adverts for the pair's
// VRID, each carrying priority 254 (which would win if accepted). Nothing may change
// state; every packet must be counted under its reason. A final well-formed advert
// proves that the same path does act on a valid packet.
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "vrrp/codec.hpp"
#include "vrrp_lab.hpp"

using namespace vrrp_lab;
namespace vr = lvsd::vrrp;

namespace {

struct Packet {
    std::vector<std::byte> bytes;
    int ttl = 255;
};

lvsd::IpAddress ip(const char* s) { return *lvsd::parse_address(s); }

std::vector<std::byte> advert(uint8_t version, uint8_t vrid, uint8_t prio) {
    vr::Advert a{version, vrid, prio, vr::Centiseconds(100), vr::AuthType::None, "", {ip("192.0.2.100")}};
    auto b = vr::encode(a, ip("192.0.2.3"), ip("224.0.0.18"));
    EXPECT_TRUE(b);
    return *b;
}

// Sends the packets from namespace `netns` (a forked child joins it), `repeat` times each.
int send_from(const std::string& netns, const std::vector<Packet>& packets, int repeat) {
    pid_t pid = fork();
    if (pid == 0) {
        int nsfd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) < 0) _exit(10);
        int fd = ::socket(AF_INET, SOCK_RAW, vr::kProtocol);
        if (fd < 0) _exit(11);
        if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 4) < 0) _exit(12);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(0xe0000012);  // 224.0.0.18
        for (int r = 0; r < repeat; ++r) {
            for (auto& p : packets) {
                if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &p.ttl, sizeof p.ttl) < 0) _exit(13);
                if (::sendto(fd, p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
                    _exit(14);
                // Paced so that the receivers' socket buffers never overflow: every
                // packet must reach the counters.
                std::this_thread::sleep_for(200us);
            }
        }
        _exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(VrrpFlood, MalformedAndWrongTtlPacketsAreCountedAndChangeNothing) {
    lt::Lab lab;
    build_segment(lab);
    auto a = start_router(lab, {"a", 200});
    auto b = start_router(lab, {"b", 100});
    ASSERT_TRUE(a.wait_state("MASTER", 3s));
    ASSERT_TRUE(b.wait_state("BACKUP", 3s));
    const int ta = a.transitions(), tb = b.transitions();
    auto before_a = a.counters();
    auto before_b = b.counters();

    std::vector<Packet> flood;
    auto good = advert(3, 51, 254);
    flood.push_back({good, 64});  // bad_ttl: one router hop away, RFC 5798 §7.1
    auto badsum = good;
    badsum[7] ^= std::byte{0x5a};
    flood.push_back({badsum});  // bad_checksum
    auto badver = good;
    badver[0] = std::byte{0x41};
    flood.push_back({badver});  // bad_version
    flood.push_back({advert(2, 51, 254)});  // bad_version: v2 to a v3 instance
    auto badtype = good;
    badtype[0] = std::byte{0x32};
    flood.push_back({badtype});  // bad_type
    flood.push_back({std::vector<std::byte>(good.begin(), good.begin() + 5)});  // too_short
    auto longer = good;
    longer.insert(longer.end(), 4, std::byte{0});
    flood.push_back({longer});  // bad_length
    auto nocount = good;
    nocount[3] = std::byte{0};
    flood.push_back({nocount});  // bad_length: claims no address (keepalived's form without VIPs) but carries one
    flood.push_back({advert(3, 52, 254)});  // wrong_vrid: another router, not an error

    const int n = 50;
    ASSERT_EQ(send_from(lab.netns_name("c"), flood, n), 0);
    lt::wait_until([] { return false; }, 300ms);

    EXPECT_EQ(a.last_state(), "MASTER");
    EXPECT_EQ(b.last_state(), "BACKUP");
    EXPECT_EQ(a.transitions(), ta) << a.proc.output();
    EXPECT_EQ(b.transitions(), tb) << b.proc.output();
    for (auto* r : {&a, &b}) {
        auto after = r->counters();
        auto& before = r == &a ? before_a : before_b;
        SCOPED_TRACE(r->name);
        auto delta = [&](const std::string& k) { return after[k] - before[k]; };
        EXPECT_EQ(delta("bad_ttl"), n);
        EXPECT_EQ(delta("bad_checksum"), n);
        EXPECT_EQ(delta("bad_version"), 2 * n);
        EXPECT_EQ(delta("bad_type"), n);
        EXPECT_EQ(delta("too_short"), n);
        EXPECT_EQ(delta("bad_length"), 2 * n);
        EXPECT_EQ(delta("wrong_vrid"), n);
    }
    // The log is rate-limited: a handful of lines for 450 bad packets, not hundreds.
    auto out = a.proc.output();
    int lines = 0;
    for (std::size_t at = 0; (at = out.find("dropped packet", at)) != std::string::npos; ++at) ++lines;
    EXPECT_LE(lines, 10) << out;
    EXPECT_GE(lines, 5) << "each reason is logged at least once";

    // Control: the same advert with TTL 255 is accepted and a yields to priority 254.
    ASSERT_EQ(send_from(lab.netns_name("c"), {{good}}, 1), 0);
    EXPECT_TRUE(a.wait_state("BACKUP", 1s)) << a.proc.output();
}
