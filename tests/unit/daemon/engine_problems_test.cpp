// `lvsd -t` reports every problem the engines have with a file the loader accepted, not
// only the first of each instance (README, Configuration: "for *every* problem found").
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/vrrp_plane.hpp"

using namespace lvsd;

TEST(EngineProblems, EveryUnsupportedFeatureOfOneInstanceIsReported) {
    // An IPv6 instance with two ARP targets, which the VRRP engine probes only for IPv4.
    auto r = config::load_string(R"(vrrp_instances = ( { name = "VI_6"; interface = "eth0";
        virtual_router_id = 61; virtual_ipaddress = [ "2001:db8::10" ];
        track_arp_target = { targets = [ "2001:db8::1", "2001:db8::2" ]; };
    } );
    )",
                                 "six.conf");
    ASSERT_TRUE(r.ok()) << config::to_string(r.diagnostics().front());
    const auto problems = daemon::engine_problems(*r.config());
    ASSERT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
    EXPECT_EQ(problems[0], "six.conf:1: vrrp_instance VI_6: track_arp_target 2001:db8::1: ARP is IPv4 only");
    EXPECT_EQ(problems[1], "six.conf:1: vrrp_instance VI_6: track_arp_target 2001:db8::2: ARP is IPv4 only");
    // The engine itself still refuses the instance, with the first of them.
    auto c = daemon::instance_config(r.config()->vrrp_instances.at(0));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message, problems[0]);
}

TEST(EngineProblems, AValidInstanceHasNone) {
    auto r = config::load_string(R"(vrrp_instances = ( { name = "VI_1"; interface = "eth0";
        virtual_router_id = 51; virtual_ipaddress = [ "192.0.2.10" ]; } );)",
                                 "ok.conf");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(daemon::engine_problems(*r.config()).empty());
}
