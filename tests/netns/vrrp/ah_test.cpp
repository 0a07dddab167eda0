// VRRPv2 with auth_type AH on the wire (IP protocol 51, vrrp/ah.hpp): an lvsd pair
// elects, fails over on kill -9 (timed), takes back after a restart (whose sequence
// counter starts again at 0) and hands over on SIGTERM; a mismatched auth_pass, with
// lvsd and with keepalived, is rejected and counted; a third host's replayed, forged,
// short and non-VRRP AH packets are counted under their reasons and change nothing.
// (Interop with keepalived when the keys match: keepalived_interop_test.cpp, "ah" cases.)
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "vrrp/ah.hpp"
#include "vrrp/codec.hpp"
#include "vrrp_lab.hpp"

using namespace vrrp_lab;
namespace vr = lvsd::vrrp;

namespace {

constexpr int kAdvertMs = 1000;  // VRRPv2: whole seconds

RouterSpec ah_router(const std::string& ns, int prio, const std::string& key = "lvt-key") {
    RouterSpec s{ns, prio, {"--auth-pass", key, "--auth-ah"}, kAdvertMs};
    s.version = 2;
    return s;
}

Ms master_down(int prio) { return Ms(3 * kAdvertMs + (256 - prio) * kAdvertMs / 256); }

lvsd::IpAddress ip(const char* s) { return *lvsd::parse_address(s); }

long drops(const std::map<std::string, long>& c) {
    long n = 0;
    for (auto& [k, v] : c)
        if (k != "received" && k != "sent" && k != "garps" && k != "transitions" && k != "send_errors" &&
            k != "vip_repairs")
            n += v;
    return n;
}

// Whole IPv4 packets from namespace `netns` to 224.0.0.18, with our own IP header
// (IP_HDRINCL: the source is forged as the master's), `repeat` times each.
int send_raw_from(const std::string& netns, const std::vector<std::vector<std::byte>>& packets, int repeat) {
    pid_t pid = fork();
    if (pid == 0) {
        int nsfd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) < 0) _exit(10);
        int fd = ::socket(AF_INET, SOCK_RAW, vr::ah::kProtocol);
        const int on = 1;
        if (fd < 0 || ::setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof on) < 0) _exit(11);
        if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "eth0", 4) < 0) _exit(12);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(0xe0000012);
        for (int r = 0; r < repeat; ++r)
            for (auto& p : packets) {
                if (::sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) _exit(14);
                std::this_thread::sleep_for(200us);  // paced: every packet must reach the counters
            }
        _exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The advert `a` (192.0.2.1, priority 200) sent as its n-th: sequence number and IP ID n.
std::vector<std::byte> as_sent_by_a(uint8_t prio, uint32_t n, const std::string& key) {
    vr::Advert adv{2, 51, prio, vr::Centiseconds(100), vr::AuthType::IpAh, "", {ip("192.0.2.100")}};
    auto v = vr::encode(adv, ip("192.0.2.1"), ip("224.0.0.18"));
    EXPECT_TRUE(v);
    auto p = vr::ah::seal(*v, {ip("192.0.2.1"), ip("224.0.0.18"), static_cast<uint16_t>(n), n, false}, key);
    EXPECT_TRUE(p);
    return *p;
}

}  // namespace

TEST(VrrpAh, LvsdPairElectsFailsOverTakesBackAndHandsOver) {
    lt::Lab lab;
    build_segment(lab);
    auto b = start_router(lab, ah_router("b", 100));
    auto a = start_router(lab, ah_router("a", 200));
    ASSERT_TRUE(a.wait_state("MASTER", 8s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("BACKUP", 1s)) << b.proc.output();

    // On the wire: AH around VRRPv2, SPI = a's address (as tcpdump decodes it).
    auto wire = lab.exec("c", {"timeout", "5", "tcpdump", "-c", "1", "-nn", "-l", "-i", "eth0", "ip proto 51"});
    EXPECT_NE(wire.output.find("AH(spi=0xc0000201"), std::string::npos) << wire.output;
    EXPECT_NE(wire.output.find("authtype ah"), std::string::npos) << wire.output;
    auto cb = b.counters();
    EXPECT_GE(cb["received"], 2) << b.proc.output();
    EXPECT_EQ(drops(cb), 0) << b.proc.output();
    EXPECT_EQ(b.last_state(), "BACKUP");
    EXPECT_TRUE(has_address(lab, "a", kVip));
    EXPECT_FALSE(has_address(lab, "b", kVip));

    // kill -9: b takes over within its master-down interval.
    auto t0 = SteadyClock::now();
    a.kill9();
    lab.ip("a", "link set eth0 down");
    ASSERT_TRUE(b.wait_state("MASTER", master_down(100) + 1s)) << b.proc.output();
    auto gap = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    EXPECT_LE(gap, master_down(100) + 300ms) << "takeover took " << gap.count() << " ms";
    RecordProperty("kill9_takeover_ms", static_cast<int>(gap.count()));
    std::cout << "AH lvsd pair: kill -9 takeover " << gap.count() << " ms (master-down "
              << master_down(100).count() << " ms)\n";

    // a comes back: a fresh process, its sequence counter at 0. It follows b's count as
    // backup, then preempts above it; b accepts.
    a.proc.stop();
    lab.ip("a", "link set eth0 up");
    lab.ip("a", "addr flush dev eth0");
    lab.address("a", "eth0", "192.0.2.1/24");
    auto a2 = start_router(lab, ah_router("a", 200));
    ASSERT_TRUE(a2.wait_state("MASTER", 8s)) << a2.proc.output();
    EXPECT_TRUE(b.wait_state("BACKUP", 2s)) << b.proc.output();
    EXPECT_TRUE(lt::wait_until([&] { return !has_address(lab, "b", kVip); }, 1s));
    EXPECT_EQ(drops(a2.counters()), 0) << a2.proc.output();
    EXPECT_EQ(drops(b.counters()), 0) << b.proc.output();

    // SIGTERM: priority 0 inside AH; b takes over within its skew time.
    t0 = SteadyClock::now();
    a2.term();
    ASSERT_TRUE(b.wait_state("MASTER", 3s)) << b.proc.output();
    gap = std::chrono::duration_cast<Ms>(SteadyClock::now() - t0);
    const auto skew = Ms((256 - 100) * kAdvertMs / 256);
    EXPECT_LE(gap, skew + 150ms) << "handover took " << gap.count() << " ms";
    RecordProperty("graceful_handover_ms", static_cast<int>(gap.count()));
    std::cout << "AH lvsd pair: SIGTERM handover " << gap.count() << " ms (skew " << skew.count() << " ms)\n";
}

TEST(VrrpAh, MismatchedAuthPassIsRejectedAndCounted) {
    lt::Lab lab;
    build_segment(lab);
    auto a = start_router(lab, ah_router("a", 200, "key-one"));
    auto b = start_router(lab, ah_router("b", 100, "key-two"));
    // Neither accepts the other: both become master (a split brain the operator sees in
    // the bad_auth counters and the log).
    ASSERT_TRUE(a.wait_state("MASTER", 8s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("MASTER", 8s)) << b.proc.output();
    lt::wait_until([] { return false; }, 2s);
    for (auto* r : {&a, &b}) {
        auto c = r->counters();
        EXPECT_GE(c["bad_auth"], 2) << r->proc.output();
        EXPECT_EQ(c["received"], 0) << r->proc.output();
    }
    EXPECT_NE(b.proc.output().find("ICV"), std::string::npos) << "the log says why";
}

TEST(VrrpAh, KeepalivedWithAnotherAuthPassIsRejectedBothWays) {
    lt::Lab lab;
    build_segment(lab);
    auto ka = start_keepalived(lab, "a",
                               "  interface eth0\n  state BACKUP\n  virtual_router_id 51\n  priority 200\n"
                               "  version 2\n  advert_int 1\n  authentication {\n    auth_type AH\n"
                               "    auth_pass ka-key\n  }\n  virtual_ipaddress {\n    " + kVip + "/24\n  }\n");
    struct Cleanup {
        std::string dir;
        ~Cleanup() { remove_dir(dir); }
    } cleanup{ka.dir};
    auto lv = start_router(lab, ah_router("b", 100, "lv-key"));
    ASSERT_TRUE(lt::wait_until([&] { return ka.log().find("Entering MASTER STATE") != std::string::npos; }, 8s))
        << ka.log();
    ASSERT_TRUE(lv.wait_state("MASTER", 8s)) << "lvsd does not accept keepalived's adverts\n" << lv.proc.output();
    lt::wait_until([] { return false; }, 2s);
    // keepalived 2.2.7 as master restarts its advert timer on every advert it rejects (seen
    // on the wire, and between two keepalived with different keys alike): with ours every
    // second it falls silent. So lvsd has seen keepalived's adverts until it became master.
    auto c = lv.counters();
    EXPECT_GE(c["bad_auth"], 1) << lv.proc.output();
    EXPECT_EQ(c["received"], 0) << lv.proc.output();
    EXPECT_NE(ka.log().find("IPSEC-AH : invalid IPSEC HMAC-MD5"), std::string::npos)
        << "keepalived rejects ours\n" << ka.log();
}

TEST(VrrpAh, ReplayedForgedShortAndForeignAhPacketsAreCountedAndChangeNothing) {
    lt::Lab lab;
    build_segment(lab);
    auto a = start_router(lab, ah_router("a", 200));
    auto b = start_router(lab, ah_router("b", 100));
    ASSERT_TRUE(a.wait_state("MASTER", 8s)) << a.proc.output();
    ASSERT_TRUE(b.wait_state("BACKUP", 1s)) << b.proc.output();
    lt::wait_until([] { return false; }, 2500ms);  // b has followed a's count past 2
    const int tb = b.transitions();
    auto before = b.counters();

    // a's first advert again, byte for byte (sequence 1, IP ID 1), with priority 0 it would
    // make b master at once if replays were accepted: sealed as a sealed its own.
    const auto replay = as_sent_by_a(200, 1, "lvt-key");
    const auto stop_replay = as_sent_by_a(0, 2, "lvt-key");
    auto forged = as_sent_by_a(0, 1000000, "lvt-key");
    forged[5] ^= std::byte{0x01};  // the IP ID changed after sealing: the ICV no longer matches
    const auto wrong_key = as_sent_by_a(0, 1000001, "not-it");
    auto short_one = as_sent_by_a(200, 1000002, "lvt-key");
    short_one.resize(20 + 24 + 4);  // the kernel fixes the IP total length to match
    auto foreign = as_sent_by_a(200, 1000003, "lvt-key");
    foreign[20] = std::byte{6};  // AH around TCP: someone's IPsec, not VRRP

    const int n = 20;
    ASSERT_EQ(send_raw_from(lab.netns_name("c"), {replay, stop_replay, forged, wrong_key, short_one, foreign}, n), 0);
    lt::wait_until([] { return false; }, 500ms);

    EXPECT_EQ(b.last_state(), "BACKUP") << b.proc.output();
    EXPECT_EQ(b.transitions(), tb) << b.proc.output();
    auto after = b.counters();
    auto delta = [&](const std::string& k) { return after[k] - before[k]; };
    EXPECT_EQ(delta("bad_auth"), 4 * n) << "replays, a changed byte, another key";
    EXPECT_EQ(delta("too_short"), n);
    EXPECT_EQ(delta("bad_address"), n) << "AH around another protocol";
    EXPECT_EQ(a.last_state(), "MASTER");
    // Control: a good packet with a fresh sequence number is accepted: priority 0 makes b
    // master after its skew time. b's first advert then carries its counter (2000001) to
    // a, whose answer (a master hearing a lower priority) counts above it: b yields again.
    // keepalived's shared counter heals a jump the same way.
    const auto mark = b.proc.output().size();
    ASSERT_EQ(send_raw_from(lab.netns_name("c"), {as_sent_by_a(0, 2000000, "lvt-key")}, 1), 0);
    EXPECT_TRUE(lt::wait_until([&] { return b.proc.output().find("STATE b MASTER", mark) != std::string::npos; }, 2s))
        << "a fresh priority-0 advert makes b master\n" << b.proc.output();
    EXPECT_TRUE(b.wait_state("BACKUP", 2s)) << b.proc.output();
    EXPECT_EQ(a.last_state(), "MASTER") << a.proc.output();
}
