// What a reload checks against the host for VRRP, with FILE:LINE at the setting that
// names the missing thing: a pure function of the config and a host::View.
#include <net/if.h>

#include <gtest/gtest.h>

#include "daemon/vrrp_plane.hpp"

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

std::shared_ptr<const config::Config> parse(const std::string& text) {
    auto r = config::load_string(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : config::to_string(r.diagnostics().front()));
    return r.config();
}

host::View host_with_eth0() {
    host::View v;
    v.apply(host::LinkChange{host::Link{2, "eth0", IFF_UP | IFF_RUNNING}});
    v.apply(host::AddressChange{
        host::Address{2, {boost::asio::ip::make_address("192.0.2.2"), 24}, "eth0", 0, 0}});
    return v;
}

}  // namespace

TEST(VrrpHostProblems, NoneWhenTheHostHasWhatTheConfigNames) {
    auto c = parse(R"(vrrp_instances = ( { name = "VI_1"; interface = "eth0"; virtual_router_id = 51;
        unicast_src_ip = "192.0.2.2"; unicast_peer = [ "192.0.2.3" ];
        virtual_ipaddress = [ "192.0.2.10/24" ]; } );
)");
    EXPECT_TRUE(vrrp_host_problems(*c, host_with_eth0()).empty());
}

TEST(VrrpHostProblems, EachMissingThingAtItsLine) {
    auto c = parse(R"(vrrp_instances = ( {
    name = "VI_1";
    interface = "eth9";
    virtual_router_id = 51;
    virtual_ipaddress = [ "192.0.2.10/24" ];
  }, {
    name = "VI_2";
    interface = "eth0";
    virtual_router_id = 52;
    unicast_src_ip = "192.0.2.7";
    unicast_peer = [ "192.0.2.3" ];
    virtual_ipaddress = [ "192.0.2.11/24",
                          "192.0.2.12/24 dev eth8"
                        ];
  } );
)");
    auto p = vrrp_host_problems(*c, host_with_eth0());
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0], "test.conf:3: vrrp_instance VI_1: interface eth9 does not exist");
    EXPECT_EQ(p[1], "test.conf:10: vrrp_instance VI_2: unicast_src_ip 192.0.2.7 is not an address of eth0");
    EXPECT_EQ(p[2], "test.conf:13: vrrp_instance VI_2: interface eth8 of VIP 192.0.2.12/24 does not exist");
}

TEST(VrrpHostProblems, ADownLinkOrAMissingTrackedInterfaceIsNotAProblem) {
    auto c = parse(R"(vrrp_instances = ( { name = "VI_1"; interface = "eth0"; virtual_router_id = 51;
        track_interface = [ "bond0" ];
        virtual_ipaddress = [ "192.0.2.10/24" ]; } );
)");
    host::View v;
    v.apply(host::LinkChange{host::Link{2, "eth0", 0}});
    EXPECT_TRUE(vrrp_host_problems(*c, v).empty());
}
