// A VRRPv2 instance without addresses, as keepalived allows ("at least one is sensible";
// cloud setups whose notify scripts move the provider's floating address: 5 files of the
// keepalived corpus): lvsd and Debian's keepalived elect over adverts with an address
// count of 0, the master runs its notify_master, and each takes over when the other
// stops. Both directions. (VRRPv3 needs an address: keepalived and lvsd refuse it.)
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;

namespace {

class ViplessInterop : public PairTest {
protected:
    void SetUp() override {
        PairTest::SetUp();
        dir_ = "/run/" + lab_.prefix() + "vipless";
        run({"mkdir", "-p", "-m", "0755", dir_});
        notify_ = dir_ + "/notify";
        std::ofstream(notify_) << "#!/bin/sh\necho \"$@\" >> " << dir_ << "/notified\n";
        ::chmod(notify_.c_str(), 0755);
    }
    void TearDown() override {
        if (ka_.pid() > 0) ka_.stop();
        PairTest::TearDown();
        run({"rm", "-rf", dir_});
    }

    void start_lvsd(int priority) {
        VrrpConf c;
        c.priority = priority;
        c.vips.clear();
        c.instance_extra = "    notify_master = \"" + notify_ + " lvsd-master\";\n";
        std::string text = render("a", c);
        // No virtual_ipaddress at all, as in the keepalived files, and VRRPv2.
        auto cut = [&](const std::string& from, const std::string& to) {
            const auto at = text.find(from);
            ASSERT_NE(at, std::string::npos) << text;
            text.replace(at, from.size(), to);
        };
        cut("    virtual_ipaddress = [\n    ];\n", "");
        cut("    version = 3;\n    advert_int = 0.1;\n", "    version = 2;\n    advert_int = 1;\n");
        write("a", text);
        a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    }
    void start_keepalived(int priority) {
        const std::string conf = dir_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_b\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n"
                            << "  priority " << priority << "\n  version 2\n  advert_int 1\n}\n";
        ka_ = lab_.spawn("b", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", dir_ + "/ka.pid", "-r",
                               dir_ + "/vrrp.pid"});
    }
    bool keepalived_says(const std::string& what, std::size_t from = 0) const {
        return ka_.output().find(what, from) != std::string::npos;
    }
    bool notified() const { return std::ifstream(dir_ + "/notified").good(); }

    std::string dir_, notify_;
    Process ka_;
};

}  // namespace

TEST_F(ViplessInterop, LvsdMasterWithoutAddressesHandsOverToKeepalived) {
    start_lvsd(150);
    start_keepalived(100);
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && keepalived_says("Entering BACKUP STATE"); }, 15s))
        << status("a") << ka_.output();
    EXPECT_TRUE(wait_until([&] { return notified(); }, 5s)) << "notify_master did not run";
    const auto mark = ka_.output().size();
    a_.stop();  // lvsd's priority-0 advert hands over at once
    EXPECT_TRUE(wait_until([&] { return keepalived_says("Entering MASTER STATE", mark); }, 6s)) << ka_.output();
}

TEST_F(ViplessInterop, KeepalivedMasterWithoutAddressesHandsOverToLvsd) {
    start_keepalived(150);
    ASSERT_TRUE(wait_until([&] { return keepalived_says("Entering MASTER STATE"); }, 15s)) << ka_.output();
    start_lvsd(100);
    ASSERT_TRUE(wait_until([&] { return state("a") == "BACKUP"; }, 15s)) << status("a");
    // lvsd stays backup: keepalived's count-0 adverts are accepted, not dropped.
    std::this_thread::sleep_for(4s);  // longer than Master_Down_Interval (3 x 1 s + skew)
    EXPECT_EQ(state("a"), "BACKUP") << status("a") << ka_.output();
    EXPECT_FALSE(notified());
    ka_.stop();
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER"; }, 6s)) << status("a");
    EXPECT_TRUE(wait_until([&] { return notified(); }, 5s)) << "notify_master did not run";
}
