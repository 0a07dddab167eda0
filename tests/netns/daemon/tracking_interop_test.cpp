// Tracked scripts across implementations: lvsd and Debian's keepalived as a VRRPv3 pair on
// one VRID, each tracking a script with weight -60 (keepalived's vrrp_script with the same
// settings): when the master's script fails, the other implementation takes the VIP, and
// it comes back when the script recovers. Both directions.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;

namespace {

class TrackingInterop : public PairTest {
protected:
    void SetUp() override {
        PairTest::SetUp();
        // keepalived's enable_script_security wants a root-only path: not under /tmp.
        scripts_ = "/run/" + lab_.prefix() + "scripts";
        run({"mkdir", "-p", "-m", "0755", scripts_});
    }
    void TearDown() override {
        if (ka_.pid() > 0) ka_.stop();
        PairTest::TearDown();
        run({"rm", "-rf", scripts_});
    }

    std::string make_check(const std::string& node) {
        const std::string path = scripts_ + "/" + node + "-check";
        std::ofstream(path) << "#!/bin/sh\ntest ! -e " << scripts_ << "/" << node << ".fail\n";
        ::chmod(path.c_str(), 0755);
        return path;
    }
    void fail(const std::string& node) { std::ofstream(scripts_ + "/" + node + ".fail") << "x\n"; }
    void recover(const std::string& node) { ::unlink((scripts_ + "/" + node + ".fail").c_str()); }

    // lvsd in a.
    void start_lvsd(int priority) {
        VrrpConf c;
        c.priority = priority;
        c.top_extra = "vrrp_scripts = ( {\n    name = \"chk\";\n    script = \"" + make_check("a") +
                      "\";\n    interval = 1;\n    weight = -60;\n    fall = 2;\n    rise = 2;\n} );\n";
        c.instance_extra = "    track_script = [ \"chk\" ];\n";
        write("a", render("a", c));
        a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    }
    // keepalived in b, the same instance and script.
    void start_keepalived(int priority) {
        const std::string conf = scripts_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_b\n  enable_script_security\n  script_user root\n}\n"
                            << "vrrp_script chk {\n  script \"" << make_check("b")
                            << "\"\n  interval 1\n  weight -60\n  fall 2\n  rise 2\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n"
                            << "  priority " << priority << "\n  version 3\n  advert_int 0.1\n"
                            << "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n  track_script {\n    chk\n  }\n}\n";
        ka_ = lab_.spawn("b", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", scripts_ + "/ka.pid", "-r",
                               scripts_ + "/vrrp.pid"});
    }
    bool keepalived_says(const std::string& what, std::size_t from = 0) const {
        return ka_.output().find(what, from) != std::string::npos;
    }

    std::string scripts_;
    Process ka_;
};

}  // namespace

TEST_F(TrackingInterop, LvsdMasterHandsOverToKeepalivedWhenItsScriptFails) {
    start_lvsd(150);
    start_keepalived(100);
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 15s))
        << status("a") << ka_.output();
    fail("a");  // 150 - 60 = 90 < 100
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && !has_vip("a"); }, 10s)) << status("a") << ka_.output();
    EXPECT_EQ(counter("a", "effective_priority"), 90);
    EXPECT_EQ(state("a"), "BACKUP");
    recover("a");
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && !has_vip("b"); }, 10s)) << status("a") << ka_.output();
    EXPECT_TRUE(keepalived_says("Entering BACKUP STATE")) << ka_.output();
}

TEST_F(TrackingInterop, KeepalivedMasterHandsOverToLvsdWhenItsScriptFails) {
    start_keepalived(150);
    start_lvsd(100);
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && state("a") == "BACKUP"; }, 15s)) << status("a") << ka_.output();
    const auto mark = ka_.output().size();
    fail("b");  // keepalived: 150 - 60 = 90 < 100
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip("b"); }, 10s))
        << status("a") << ka_.output();
    EXPECT_TRUE(keepalived_says("Entering BACKUP STATE", mark)) << ka_.output();
    recover("b");
    ASSERT_TRUE(wait_until([&] { return has_vip("b") && state("a") == "BACKUP" && !has_vip("a"); }, 10s))
        << status("a") << ka_.output();
}
