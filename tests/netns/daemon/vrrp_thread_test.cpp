// The VRRP thread's scheduling as lvsctl shows it (issue 16): SCHED_RR 10 by default, as
// configured after a reload, and, without CAP_SYS_NICE, one warning and normal priority.
#include <signal.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

std::string config(const std::string& socket, const std::string& global) {
    return "global_defs = { control_socket = \"" + socket + "\"; " + global + R"( };
vrrp_instances = ( {
    name = "VI_1"; interface = "eth0"; virtual_router_id = 51; priority = 150;
    version = 3; advert_int = 0.1; virtual_ipaddress = [ "192.0.2.10/24" ];
} );
)";
}

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

class VrrpThreadStatus : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("lb");
        lab_.netns("peer");
        lab_.veth("lb", "eth0", "peer", "eth0");
        lab_.address("lb", "eth0", "192.0.2.2/24");
        dir_ = "/tmp/" + lab_.prefix() + "sched";
        run({"mkdir", "-p", dir_});
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }
    std::string status(bool json = false) {
        std::vector<std::string> argv{kLvsctl, "-s", dir_ + "/lb.sock", "status"};
        if (json) argv.push_back("--json");
        return lab_.exec("lb", argv).output;
    }
    bool master() { return status(true).find(R"("state":"MASTER")") != std::string::npos; }
    void write(const std::string& global) { std::ofstream(dir_ + "/lb.conf") << config(dir_ + "/lb.sock", global); }

    Lab lab_;
    std::string dir_;
};

}  // namespace

TEST_F(VrrpThreadStatus, RealTimeByDefaultAndAsConfiguredAfterAReload) {
    write("");
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", dir_ + "/lb.conf"});
    ASSERT_TRUE(wait_until([&] { return master(); }, 10s)) << lvsd.output();
    EXPECT_NE(status().find("\nVRRP thread: SCHED_RR priority 10\n"), std::string::npos) << status();
    EXPECT_NE(status(true).find(R"("vrrp_thread":{"policy":"SCHED_RR","priority":10,"wanted_priority":10,)"
                                R"("demoted":false,"rlimit_rttime_us":10000,"memory_locked":false,"problem":null})"),
              std::string::npos)
        << status(true);

    write("vrrp_rt_priority = 20; vrrp_rlimit_rttime = 20000; vrrp_no_swap = true;");
    ASSERT_EQ(::kill(lvsd.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return status().find("generation 2") != std::string::npos; }, 10s)) << lvsd.output();
    EXPECT_NE(status().find("\nVRRP thread: SCHED_RR priority 20, memory locked\n"), std::string::npos) << status();
    EXPECT_NE(status(true).find(R"("rlimit_rttime_us":20000,"memory_locked":true)"), std::string::npos) << status(true);

    write("vrrp_rt_priority = 0;");
    ASSERT_EQ(::kill(lvsd.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return status().find("generation 3") != std::string::npos; }, 10s)) << lvsd.output();
    EXPECT_NE(status().find("\nVRRP thread: SCHED_OTHER (vrrp_rt_priority 0)\n"), std::string::npos) << status();
    EXPECT_TRUE(master()) << lvsd.output();
}

TEST_F(VrrpThreadStatus, WithoutCapSysNiceOneWarningAndNormalPriority) {
    write("");
    // util-linux's setpriv: lvsd runs as root, but CAP_SYS_NICE is out of its bounding set.
    auto lvsd = lab_.spawn("lb", {"setpriv", "--bounding-set=-sys_nice", "--", kLvsd, "-f", dir_ + "/lb.conf"});
    ASSERT_TRUE(wait_until([&] { return master(); }, 10s)) << lvsd.output();
    const std::string s = status();
    EXPECT_NE(s.find("\nVRRP thread: SCHED_OTHER (pthread_setschedparam(SCHED_RR priority 10): Operation not "
                     "permitted)\n"),
              std::string::npos)
        << s;
    EXPECT_NE(status(true).find(R"("policy":"SCHED_OTHER","priority":0,"wanted_priority":10,"demoted":false,)"),
              std::string::npos)
        << status(true);
    // A reload tries again and, refused the same way, does not repeat the warning.
    ASSERT_EQ(::kill(lvsd.pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return status().find("generation 2") != std::string::npos; }, 10s)) << lvsd.output();
    EXPECT_EQ(count(lvsd.output(), "cannot run at SCHED_RR priority 10"), 1) << lvsd.output();
    EXPECT_TRUE(master()) << lvsd.output();
}
