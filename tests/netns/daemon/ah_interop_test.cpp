// VRRPv2 `auth_type = "AH"` through the whole daemon (config file -> loader -> VRRP plane):
// lvsd in a and Debian's keepalived in b on one VRID. With the same key they elect and hand
// the VIP over both ways; with another key each rejects the other's adverts, and lvsd's
// `lvsctl status` counts them under bad_auth.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;

namespace {

class AhInterop : public PairTest {
protected:
    void TearDown() override {
        if (ka_.pid() > 0) ka_.stop();
        PairTest::TearDown();
    }

    void start_lvsd(int priority, const std::string& key) {
        VrrpConf c;
        c.priority = priority;
        c.instance_extra = "    authentication = {\n        auth_type = \"AH\";\n        auth_pass = \"" + key + "\";\n    };\n";
        std::string text = render("a", c);
        const std::string v3 = "    version = 3;\n    advert_int = 0.1;\n";
        const auto at = text.find(v3);
        ASSERT_NE(at, std::string::npos) << text;
        text.replace(at, v3.size(), "    version = 2;\n    advert_int = 1;\n");
        write("a", text);
        a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    }
    void start_keepalived(int priority, const std::string& key) {
        const std::string conf = dir_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_b\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n"
                            << "  priority " << priority << "\n  version 2\n  advert_int 1\n"
                            << "  authentication {\n    auth_type AH\n    auth_pass " << key << "\n  }\n"
                            << "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n";
        ka_ = lab_.spawn("b", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", dir_ + "/ka.pid", "-r",
                               dir_ + "/vrrp.pid"});
    }
    bool keepalived_says(const std::string& what, std::size_t from = 0) const {
        return ka_.output().find(what, from) != std::string::npos;
    }

    Process ka_;
};

}  // namespace

TEST_F(AhInterop, SameKeyElectsAndHandsOverBothWays) {
    ASSERT_NO_FATAL_FAILURE(start_lvsd(150, "lvt-ah"));
    start_keepalived(100, "lvt-ah");
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a"); }, 15s)) << status("a");
    // keepalived accepts lvsd's AH adverts: it stays backup well past its master-down interval.
    wait_until([] { return false; }, 4s);
    EXPECT_FALSE(keepalived_says("Entering MASTER STATE")) << ka_.output();
    EXPECT_FALSE(keepalived_says("IPSEC-AH : invalid")) << ka_.output();
    EXPECT_FALSE(has_vip("b"));

    // lvsd stops (priority 0 inside AH): keepalived takes over within its skew time.
    const auto t0 = Clock::now();
    a_.stop();
    ASSERT_TRUE(wait_until([&] { return has_vip("b"); }, 3s)) << ka_.output();
    measure("lvsd_stop_to_keepalived_vip", ms_since(t0));

    // lvsd comes back with the higher priority: it learns keepalived's sequence number as
    // backup, preempts above it, and keepalived yields.
    ASSERT_NO_FATAL_FAILURE(start_lvsd(150, "lvt-ah"));
    const auto t1 = Clock::now();
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 10s))
        << status("a") << ka_.output();
    measure("lvsd_restart_to_preempt", ms_since(t1));
    EXPECT_GE(counter("a", "adverts_received"), 1) << status("a");
    EXPECT_EQ(fld("a", "bad_auth"), "<absent>") << "status lists a drop reason once it counts\n" << status("a");
    EXPECT_FALSE(keepalived_says("IPSEC-AH : invalid")) << ka_.output();
    EXPECT_FALSE(keepalived_says("already processed")) << ka_.output();
}

TEST_F(AhInterop, AnotherKeyIsRejectedAndCountedInStatus) {
    start_keepalived(200, "ka-key");
    ASSERT_TRUE(wait_until([&] { return keepalived_says("Entering MASTER STATE"); }, 8s)) << ka_.output();
    ASSERT_NO_FATAL_FAILURE(start_lvsd(100, "lv-key"));
    // lvsd does not accept keepalived's adverts: it becomes master too.
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER"; }, 10s)) << status("a");
    EXPECT_GE(counter("a", "bad_auth"), 1) << status("a");
    EXPECT_EQ(counter("a", "adverts_received"), 0) << status("a");
    EXPECT_TRUE(wait_until([&] { return keepalived_says("IPSEC-AH : invalid IPSEC HMAC-MD5"); }, 3s)) << ka_.output();
}
