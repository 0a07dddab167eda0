// The overrides file (daemon/overrides.hpp): every kind of override round-trips, a bad
// line is reported as FILE:LINE and skipped while the rest is kept, and a failed write
// (a full disk) keeps the old file.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "daemon/overrides.hpp"

using namespace lvsd;
using namespace lvsd::daemon;
using namespace std::chrono_literals;

namespace {

RealServerKey key(const char* vip, uint16_t vport, const char* rip, uint16_t rport) {
    return {ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address(vip), vport),
            {*parse_address(rip), rport}};
}

Overrides sample() {
    Overrides o;
    o.real_servers[key("192.0.2.10", 80, "198.51.100.5", 8080)].drain =
        Drain{OverrideClock::time_point(12345s), false, false};
    o.real_servers[key("192.0.2.10", 80, "198.51.100.6", 8080)].disabled = true;
    auto& both = o.real_servers[key("192.0.2.10", 80, "198.51.100.7", 8080)];
    both.weight = 7;
    both.drain = Drain{std::nullopt, true, true};
    o.real_servers[{ipvs::ServiceKey::mark(7, Family::V6), {*parse_address("2001:db8::5"), 0}}].weight = 0;
    o.balancer_drain = Drain{OverrideClock::time_point(99s), false, true};
    o.vrrp_instances["VI_1"] = VrrpOverride::Failover;
    o.vrrp_groups["G1"] = VrrpOverride::Hold;
    return o;
}

std::string slurp(const std::string& path) {
    std::ostringstream s;
    s << std::ifstream(path).rdbuf();
    return s.str();
}

}  // namespace

TEST(OverridesFile, LivesNextToTheControlSocket) {
    EXPECT_EQ(overrides_file_for("/run/lvsd/lvsd.sock"), "/run/lvsd/lvsd.overrides");
}

TEST(OverridesFile, TextIsOneLinePerOverride) {
    EXPECT_EQ(format_overrides(sample()),
              "# Operator overrides (lvsctl drain, disable, weight, failover, hold); read back at start. Written by "
              "lvsd.\n"
              "balancer drain until=99\n"
              "real 192.0.2.10:80/tcp 198.51.100.5:8080 drain until=12345\n"
              "real 192.0.2.10:80/tcp 198.51.100.6:8080 disable\n"
              "real 192.0.2.10:80/tcp 198.51.100.7:8080 drain done balancer\n"
              "real 192.0.2.10:80/tcp 198.51.100.7:8080 weight 7\n"
              "real fwmark:7/ipv6 [2001:db8::5]:0 weight 0\n"
              "vrrp_instance VI_1 failover\n"
              "vrrp_sync_group G1 hold\n");
    auto back = parse_overrides(format_overrides(sample()), "f");
    EXPECT_TRUE(back.problems.empty());
    EXPECT_EQ(back.overrides, sample());
    EXPECT_EQ(format_overrides({}), format_overrides(parse_overrides("", "f").overrides));
}

TEST(OverridesFile, BadLinesAreReportedAndSkipped) {
    auto r = parse_overrides(
        "real 192.0.2.10:80/tcp 198.51.100.5:8080 disable\n"
        "real 192.0.2.10:80 198.51.100.5:8080 disable\n"
        "real 192.0.2.10:80/tcp 198.51.100.5 disable\n"
        "real 192.0.2.10:80/tcp 198.51.100.6:8080 weight 70000\n"
        "real 192.0.2.10:80/tcp 198.51.100.6:8080 drain until=soon\n"
        "real 192.0.2.10:80/tcp 198.51.100.6:8080 sideways\n"
        "\n"
        "# a comment\n"
        "balancer drain done\n"
        "vrrp_instance VI_1 maybe\n"
        "gibberish\n"
        "real 192.0.2.10:80/tcp 198.51.100.6:8080 weight 3\n",
        "/run/lvsd/lvsd.overrides");
    EXPECT_EQ(r.problems, (std::vector<std::string>{
                              "/run/lvsd/lvsd.overrides:2: \"192.0.2.10:80\" is not a virtual service",
                              "/run/lvsd/lvsd.overrides:3: \"198.51.100.5\" is not a real server",
                              "/run/lvsd/lvsd.overrides:4: \"70000\" is not a weight from 0 to 65535",
                              "/run/lvsd/lvsd.overrides:5: \"until=soon\" is not until=SECONDS",
                              "/run/lvsd/lvsd.overrides:6: expected drain, disable or weight N after the real "
                              "server, got \"sideways\"",
                              "/run/lvsd/lvsd.overrides:9: unexpected \"done\"",
                              "/run/lvsd/lvsd.overrides:10: expected: vrrp_instance NAME failover|hold",
                              "/run/lvsd/lvsd.overrides:11: unknown override \"gibberish\"",
                          }));
    ASSERT_EQ(r.overrides.real_servers.size(), 2u);
    EXPECT_TRUE(r.overrides.real_servers.at(key("192.0.2.10", 80, "198.51.100.5", 8080)).disabled);
    EXPECT_EQ(r.overrides.real_servers.at(key("192.0.2.10", 80, "198.51.100.6", 8080)).weight, 3u);
    EXPECT_FALSE(r.overrides.balancer_drain);
    EXPECT_TRUE(parse_overrides(std::string(600, 'x'), "f").problems.at(0).starts_with("f:1: line of 600 bytes"));
}

TEST(OverridesFile, WriteReplacesAtomicallyAndReadsBack) {
    const std::string path = "/tmp/lvsd-overrides-test-" + std::to_string(::getpid());
    ASSERT_TRUE(write_overrides(path, sample()));
    auto back = read_overrides(path);
    EXPECT_TRUE(back.problems.empty());
    EXPECT_EQ(back.overrides, sample());
    EXPECT_NE(::access((path + ".new").c_str(), F_OK), 0);
    ASSERT_TRUE(write_overrides(path, {}));
    EXPECT_TRUE(read_overrides(path).overrides.empty());
    std::remove(path.c_str());
    auto missing = read_overrides(path);
    EXPECT_TRUE(missing.overrides.empty());
    EXPECT_TRUE(missing.problems.empty());
    auto bad_dir = write_overrides("/nonexistent-dir/x.overrides", sample());
    ASSERT_FALSE(bad_dir);
    EXPECT_EQ(bad_dir.error().message, "create /nonexistent-dir/x.overrides.new: No such file or directory");
}

// A disk that fills up while the file is written (RLIMIT_FSIZE makes write() fail with
// EFBIG as a full disk fails it with ENOSPC): the error says which step failed, the old
// file is kept whole and the temporary file is gone. In a child, so the limit stays there.
TEST(OverridesFile, AFailedWriteKeepsTheOldFile) {
    const std::string path = "/tmp/lvsd-overrides-full-" + std::to_string(::getpid());
    Overrides small;
    small.vrrp_instances["VI_1"] = VrrpOverride::Hold;
    ASSERT_TRUE(write_overrides(path, small));
    const std::string before = slurp(path);
    Overrides big = sample();
    for (int i = 0; i < 50; ++i) big.vrrp_instances["VI_" + std::to_string(100 + i)] = VrrpOverride::Failover;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit limit{static_cast<rlim_t>(before.size() + 10), static_cast<rlim_t>(before.size() + 10)};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        auto r = write_overrides(path, big);
        const bool said_why = !r && r.error().message.starts_with("write " + path + ".new: File too large");
        ::_exit(said_why ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the write did not fail as expected";
    EXPECT_EQ(slurp(path), before);
    EXPECT_NE(::access((path + ".new").c_str(), F_OK), 0);
    EXPECT_EQ(read_overrides(path).overrides, small);
    std::remove(path.c_str());
}
