// keepalived's dont_track_primary ("ignore VRRP interface faults") in a real pair: a
// (priority 150) and b (100, an lvsd without the flag) on one bridge. a's eth0 goes down
// and comes back. The same script runs with keepalived 2.2.7 as a, so that lvsd's a is
// held to what keepalived does (measured by hand first, see host_facts.hpp):
//   - with the flag, a stays MASTER and keeps the VIP while its link is down (its adverts
//     fail); b, hearing nothing, becomes MASTER too; when the link is back b hears a's
//     higher priority and gives the VIP back; a never changed state;
//   - without it, a goes to FAULT and gives the VIP up (lvsd as before; the FAULT side is
//     also covered by host_follow_test.cpp).
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host_follow.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::hostfollow;

namespace {

class DontTrackPrimary : public PairTest {
protected:
    void TearDown() override {
        if (ka_.pid() > 0) {
            auto r = ka_.stop();
            if (HasFailure()) std::cout << "---- keepalived (status " << r.status << ")\n" << tail(r.output, 40);
        }
        PairTest::TearDown();
    }

    static VrrpConf flagged() {
        auto c = conf_a();
        c.instance_extra = "    dont_track_primary = true;\n";
        return c;
    }

    // keepalived in a: the instance that lvsd's conf_a() renders, with dont_track_primary.
    void start_keepalived_a() {
        const std::string conf = dir_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_a\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  dont_track_primary\n"
                            << "  virtual_router_id 51\n  priority 150\n  version 3\n  advert_int 0.1\n"
                            << "  virtual_ipaddress {\n    192.0.2.10/24\n  }\n}\n";
        ka_ = lab_.spawn("a", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", dir_ + "/ka.pid", "-r",
                               dir_ + "/vrrp.pid"});
    }

    // The part of the scenario both implementations of a go through. `a_acts` says ""
    // when a is MASTER with the VIP, else what is wrong (lvsd: its status too).
    void link_down_and_up(const std::function<std::string()>& a_acts, const std::function<std::string()>& a_log) {
        lab_.ip("a", "link set eth0 down");
        // b hears nothing any more (3 x 0.1 s + skew) and takes over ...
        ASSERT_TRUE(wait_until([&] { return state("b") == "MASTER" && has_vip("b"); }, 5s))
            << status("b") << a_log();
        // ... while a goes on as master, its VIP on the down link.
        EXPECT_EQ(hold_for(1500ms, a_acts), "") << addrs("a") << a_log();

        const auto t0 = Clock::now();
        lab_.ip("a", "link set eth0 up");
        ASSERT_TRUE(wait_until([&] { return state("b") == "BACKUP" && !has_vip_anywhere("b"); }, 5s))
            << status("b") << a_log();
        measure("up_to_b_backup_ms", ms_since(t0));
        EXPECT_EQ(hold_for(1s, [&]() -> std::string {
                      if (auto bad = a_acts(); !bad.empty()) return bad;
                      if (auto s = state("b"); s != "BACKUP") return "b is " + s;
                      if (has_vip_anywhere("b")) return "b holds the VIP too";
                      return {};
                  }),
                  "")
            << a_log();
    }

    Process ka_;
};

}  // namespace

TEST_F(DontTrackPrimary, LvsdMasterKeepsStateAndVipWhileItsLinkIsDown) {
    ASSERT_NO_FATAL_FAILURE(start_pair(flagged(), conf_b()));
    const long transitions = counter("a", "transitions");
    auto a_acts = [&]() -> std::string {
        const auto i = inst("a");
        if (auto s = field(i, "state").value_or("?"); s != "MASTER") return "a is " + s + ": " + i;
        if (auto f = field(i, "fault").value_or("<absent>"); !f.empty()) return "a has a fault: " + f;
        if (!has_vip("a")) return "a has no VIP";
        return {};
    };
    ASSERT_NO_FATAL_FAILURE(link_down_and_up(a_acts, [&] { return a_.output(); }));
    EXPECT_EQ(counter("a", "transitions"), transitions) << "a must never have left MASTER: " << inst("a");
    EXPECT_EQ(a_.output().find("FAULT"), std::string::npos) << a_.output();
    // It went on trying its adverts on the down link, as keepalived does (the kernel refuses them).
    EXPECT_NE(a_.output().find("send advert to 224.0.0.18 on eth0"), std::string::npos) << a_.output();
}

TEST_F(DontTrackPrimary, KeepalivedMasterDoesTheSame) {
    start_keepalived_a();
    write("b", render("b", conf_b()));
    b_ = lab_.spawn("b", {kLvsd, "-f", conf_path("b")});
    ASSERT_TRUE(wait_until([&] { return has_vip("a") && state("b") == "BACKUP" && counter("b", "adverts_received") >= 3; },
                           15s))
        << ka_.output() << status("b");
    // keepalived removes its VIPs whenever it leaves MASTER: the VIP is its state here.
    auto a_acts = [&]() -> std::string { return has_vip("a") ? "" : "a has no VIP"; };
    ASSERT_NO_FATAL_FAILURE(link_down_and_up(a_acts, [&] { return ka_.output(); }));
    EXPECT_EQ(ka_.output().find("FAULT"), std::string::npos) << ka_.output();
    EXPECT_NE(ka_.output().find("send advert error"), std::string::npos)
        << "keepalived tried its adverts on the down link: " << ka_.output();
}

TEST_F(DontTrackPrimary, WithoutItTheMasterGoesToFault) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    lab_.ip("a", "link set eth0 down");
    ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT" && !has_vip_anywhere("a"); }, 5s))
        << status("a") << a_.output();
    EXPECT_EQ(fld("a", "fault"), "interface eth0 is down");
    ASSERT_TRUE(wait_until([&] { return state("b") == "MASTER" && has_vip("b"); }, 5s)) << status("b");
    lab_.ip("a", "link set eth0 up");
    EXPECT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a") && !has_vip_anywhere("b"); }, 10s))
        << status("a") << status("b");
}

// A reload turns the flag on or off in place (no restart of the instance): the verdict
// over the host is made again at once.
TEST_F(DontTrackPrimary, AReloadTurnsItOnAndOff) {
    ASSERT_NO_FATAL_FAILURE(start_pair(conf_a(), conf_b()));
    lab_.ip("a", "link set eth0 down");
    ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT"; }, 5s)) << status("a") << a_.output();

    write("a", render("a", flagged()));
    auto r = lvsctl("a", {"reload"});
    ASSERT_TRUE(r.ok()) << r.output;
    // Out of FAULT through a normal election; it hears no one on its down link.
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip("a"); }, 5s)) << status("a") << a_.output();
    EXPECT_EQ(fld("a", "fault"), "");

    write("a", render("a", conf_a()));
    r = lvsctl("a", {"reload"});
    ASSERT_TRUE(r.ok()) << r.output;
    ASSERT_TRUE(wait_until([&] { return state("a") == "FAULT" && !has_vip_anywhere("a"); }, 5s))
        << status("a") << a_.output();
    EXPECT_EQ(fld("a", "fault"), "interface eth0 is down");
}
