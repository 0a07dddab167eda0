#include "daemon/vrrp_plane.hpp"

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& instance_body) {
    auto r = config::load_string("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\";\n" +
                                     instance_body + "\n} );\n",
                                 "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

}  // namespace

TEST(VrrpMapping, KeepalivedKeysReachTheEngine) {
    auto c = parse(R"(virtual_router_id = 51; priority = 150; advert_int = 0.5; version = 3;
        nopreempt = true; preempt_delay = 2;
        unicast_src_ip = "192.0.2.2"; unicast_peer = [ "192.0.2.3" ];
        virtual_ipaddress = [ "192.0.2.10/24 dev eth1 label eth1:vip" ];
        track_interface = [ "eth2" ];
        track_arp_target = { targets = [ "192.0.2.1" ]; interval = 0.5; fall = 4; };
        garp_master_repeat = 3; garp_master_delay = 2; garp_master_refresh = 60;)");
    auto m = instance_config(c->vrrp_instances.at(0));
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->name, "VI_1");
    EXPECT_EQ(m->interface, "eth0");
    EXPECT_EQ(m->virtual_router_id, 51);
    EXPECT_EQ(m->priority, 150);
    EXPECT_EQ(m->advert_int, std::chrono::milliseconds(500));
    EXPECT_EQ(m->version, 3);
    EXPECT_TRUE(m->nopreempt);
    EXPECT_EQ(m->preempt_delay, std::chrono::milliseconds(2000));
    EXPECT_EQ(m->unicast_src_ip, parse_address("192.0.2.2"));
    ASSERT_EQ(m->unicast_peer.size(), 1u);
    ASSERT_EQ(m->virtual_ipaddress.size(), 1u);
    EXPECT_EQ(m->virtual_ipaddress[0].prefix, *parse_prefix("192.0.2.10/24"));
    EXPECT_EQ(m->virtual_ipaddress[0].dev, "eth1");
    EXPECT_EQ(m->virtual_ipaddress[0].label, "eth1:vip");
    EXPECT_EQ(m->track_interface, (std::vector<vrrp::TrackedInterface>{{"eth2", 0}}));
    EXPECT_EQ(m->track_arp_fall, 4u);
    EXPECT_EQ(m->track_arp_interval, std::chrono::milliseconds(500));
    EXPECT_EQ(m->garp_master_repeat, 3u);
    EXPECT_EQ(m->garp_master_delay, std::chrono::milliseconds(2000));
    EXPECT_EQ(m->garp_master_refresh, std::chrono::milliseconds(60000));
}

TEST(VrrpMapping, V2PasswordAndNotifyArgv) {
    auto c = parse(R"(virtual_router_id = 7; advert_int = 1;
        authentication = { auth_type = "PASS"; auth_pass = "s3cret"; };
        virtual_ipaddress = [ "192.0.2.10/24" ];
        notify_master = "/bin/true master now";)");
    auto m = instance_config(c->vrrp_instances.at(0));
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->version, 2);
    EXPECT_EQ(m->auth_pass, "s3cret");
    EXPECT_EQ(m->notify_master, (std::vector<std::string>{"/bin/true", "master", "now"}));
    EXPECT_TRUE(m->notify_backup.empty());
}

TEST(VrrpMapping, TrackersAndGarpRefreshBurstsReachTheEngine) {
    auto r = config::load_string(R"(vrrp_scripts = ( { name = "chk"; script = "/bin/true"; weight = -30; },
                   { name = "chk2"; script = "/bin/true"; weight = 5; } );
vrrp_instances = ( { name = "VI_1"; interface = "eth0";
        virtual_router_id = 7;
        virtual_ipaddress = [ "192.0.2.10/24" ];
        track_interface = ( { interface = "eth2"; weight = -20; } );
        track_script = ( "chk", { name = "chk2"; weight = 7; } );
        track_arp_target = { targets = [ "192.0.2.1" ]; weight = -10; };
        garp_master_refresh = 60; garp_master_refresh_repeat = 3; } );
)", "test.conf");
    ASSERT_TRUE(r.ok()) << config::to_string(r.diagnostics().front());
    auto m = instance_config(r.config()->vrrp_instances.at(0), r.config()->vrrp_scripts);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->track_interface, (std::vector<vrrp::TrackedInterface>{{"eth2", -20}}));
    EXPECT_EQ(m->track_script, (std::vector<vrrp::TrackedScript>{{"chk", -30}, {"chk2", 7}}));
    EXPECT_EQ(m->track_arp_weight, -10);
    EXPECT_EQ(m->garp_master_refresh_repeat, 3u);
    auto s = script_config(r.config()->vrrp_scripts.at(0));
    EXPECT_EQ(s.argv, (std::vector<std::string>{"/bin/true"}));
    EXPECT_EQ(s.timeout, std::chrono::milliseconds(1000));  // the interval, as keepalived
}
