// IPv6 use_vmac across implementations: lvsd in a and Debian's keepalived 2.2.7 in b with
// the same instance (VRID 51, VRRPv3, VIP 2001:db8::10/64, use_vmac). Each hears the
// other's adverts, sent from the macvlan with a link-local source, and a takeover in
// either direction leaves the client with the same virtual MAC for the VIP.
#include <signal.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vmac6.hpp"

using namespace lvsd::testing;
using namespace lvsd::testing::vmac6;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class Vmac6Interop : public Vmac6Test {
protected:
    void SetUp() override {
        Vmac6Test::SetUp();
        run_dir_ = "/run/" + lab_.prefix() + "ka";
        run({"mkdir", "-p", "-m", "0755", run_dir_});
    }
    void TearDown() override {
        if (ka_.pid() > 0) ka_.stop();
        Vmac6Test::TearDown();
        run({"rm", "-rf", run_dir_});
    }
    void start_lvsd(int priority) {
        VrrpConf c = v6(conf_a());
        c.priority = priority;
        write("a", render("a", c));
        a_ = lab_.spawn("a", {kLvsd, "-f", conf_path("a")});
    }
    // keepalived in b: the same instance, written the way keepalived users write it.
    void start_keepalived(int priority) {
        const std::string conf = run_dir_ + "/keepalived.conf";
        std::ofstream(conf) << "global_defs {\n  router_id lvt_b\n}\n"
                            << "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n"
                            << "  priority " << priority << "\n  version 3\n  advert_int 0.1\n  use_vmac\n"
                            << "  virtual_ipaddress {\n    " << kVip << "/64\n  }\n}\n";
        ka_ = lab_.spawn("b", {"keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", run_dir_ + "/ka.pid", "-r",
                               run_dir_ + "/vrrp.pid"});
    }
    bool keepalived_says(const std::string& what, std::size_t from = 0) const {
        return ka_.output().find(what, from) != std::string::npos;
    }
    // The client reaches the VIP at the virtual MAC, and the last unsolicited NA for it
    // carries that MAC.
    void expect_virtual_mac_since(std::size_t mark) {
        EXPECT_THAT(client_sees(), HasSubstr(std::string("lladdr ") + kMac));
        ASSERT_TRUE(wait_until([&] { return !adverts_for_vip(seen(mark), false).empty(); }, 2s)) << seen(mark);
        for (const auto& na : adverts_for_vip(seen(mark), false)) {
            EXPECT_EQ(ether_source(na), kMac) << na;
            EXPECT_THAT(na, HasSubstr(std::string("destination link-address option (2), length 8 (1): ") + kMac))
                << na;
        }
    }

    std::string run_dir_;
    Process ka_;
};

}  // namespace

TEST_F(Vmac6Interop, LvsdMasterHandsOverToKeepalived) {
    ASSERT_NO_FATAL_FAILURE(capture());
    start_lvsd(150);
    start_keepalived(100);
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip6("a"); }, 15s)) << status("a") << a_.output();
    ASSERT_TRUE(wait_until([&] { return keepalived_says("Entering BACKUP STATE") && !has_vip6("b"); }, 10s))
        << ka_.output();
    // keepalived made its macvlan the same way: the virtual MAC and its own link-local.
    EXPECT_THAT(lab_.exec("b", {"ip", "link", "show", kVmac}).output, HasSubstr(kMac));
    EXPECT_EQ(link_locals("b", kVmac), link_locals("b", "eth0")) << addrs("b", kVmac);
    // It hears lvsd's adverts (from a's link-local on a's macvlan) and stays backup.
    const auto quiet = ka_.output().size();
    wait_until([] { return false; }, 1s);  // a second of adverts
    EXPECT_FALSE(keepalived_says("Entering MASTER STATE", quiet)) << ka_.output();
    EXPECT_TRUE(has_vip6("a"));
    // Every advert on the wire is from one router's own link-local, lvsd's from the
    // virtual MAC. (keepalived may have advertised too while both started.)
    const auto from_a = bare(link_locals("a", "eth0").at(0)), from_b = bare(link_locals("b", "eth0").at(0));
    std::size_t lvsd_adverts = 0;
    for (const auto& p : vrrp_adverts(dump_.output())) {
        if (ip6_source(p) != from_a) {
            EXPECT_EQ(ip6_source(p), from_b) << p;
            continue;
        }
        ++lvsd_adverts;
        EXPECT_EQ(ether_source(p), kMac) << p;
    }
    EXPECT_GE(lvsd_adverts, 5u) << dump_.output();

    const auto mark = dump_.output().size();
    ASSERT_EQ(::kill(a_.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return has_vip6("b") && keepalived_says("Entering MASTER STATE", quiet); }, 5s))
        << ka_.output();
    ASSERT_TRUE(wait_until([&] { return !a_.running(); }, 5s));
    EXPECT_NE(lab_.exec("a", {"ip", "link", "show", kVmac}).status, 0) << "lvsd left its macvlan";
    ASSERT_NO_FATAL_FAILURE(expect_virtual_mac_since(mark));
}

TEST_F(Vmac6Interop, KeepalivedMasterHandsOverToLvsd) {
    ASSERT_NO_FATAL_FAILURE(capture());
    start_keepalived(150);
    ASSERT_TRUE(wait_until([&] { return keepalived_says("Entering MASTER STATE") && has_vip6("b"); }, 15s))
        << ka_.output();
    start_lvsd(100);
    // lvsd hears keepalived's adverts on its macvlan and stays backup without the VIP.
    ASSERT_TRUE(wait_until([&] { return state("a") == "BACKUP" && counter("a", "adverts_received") >= 5; }, 10s))
        << status("a") << a_.output();
    EXPECT_FALSE(has_vip6("a"));
    EXPECT_THAT(a_.output(), Not(HasSubstr("-> MASTER"))) << a_.output();
    const auto from_b = bare(link_locals("b", "eth0").at(0));
    bool saw_keepalived = false;
    for (const auto& p : vrrp_adverts(dump_.output())) {
        if (ip6_source(p) != from_b) continue;
        saw_keepalived = true;
        EXPECT_EQ(ether_source(p), kMac) << p;
    }
    EXPECT_TRUE(saw_keepalived) << dump_.output();

    const auto mark = dump_.output().size();
    ka_.stop();  // SIGTERM: keepalived sends priority 0 and removes its VIP and macvlan
    ASSERT_TRUE(wait_until([&] { return state("a") == "MASTER" && has_vip6("a"); }, 5s)) << status("a") << a_.output();
    EXPECT_FALSE(has_vip6("b"));
    ASSERT_NO_FATAL_FAILURE(expect_virtual_mac_since(mark));
    ASSERT_TRUE(wait_until([&] { return vrrp_adverts(seen(mark)).size() >= 3; }, 2s)) << seen(mark);
    const auto from_a = bare(link_locals("a", "eth0").at(0));
    for (const auto& p : vrrp_adverts(seen(mark))) {
        if (ip6_source(p) != from_b) {
            EXPECT_EQ(ip6_source(p), from_a) << p;
        }
    }
}
