// Announced VIPs (issue #14): global_defs announce_* and bird_socket, the virtual server's
// `announce`, and the rules of an announced service, each with its FILE:LINE message.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "load_helpers.hpp"

using namespace lvsd;
using namespace lvsd::config;
using namespace lvsd::config::test;
using ::testing::HasSubstr;

namespace {

std::string global(std::string_view keys) { return "global_defs = {\n" + std::string(keys) + "\n};\n"; }

// One announced service on 192.0.2.10:80 with `extra` in it (line 2) and a real server
// with `rs_extra` (line 4).
std::string service(std::string_view extra, std::string_view rs_extra = "") {
    return "virtual_servers = ( { address = \"192.0.2.10\"; port = 80; announce = true;\n" + std::string(extra) +
           "\n  real_servers = (\n    { address = \"198.51.100.1\"; " + std::string(rs_extra) + " } ); } );\n";
}

}  // namespace

TEST(ConfigAnnounce, GlobalDefaults) {
    auto c = valid("global_defs = { router_id = \"lb1\"; };\n");
    EXPECT_EQ(c->global.announce.table, 100u);
    EXPECT_EQ(c->global.announce.protocol, 250);
    EXPECT_EQ(c->global.announce.interface, "lo");
    EXPECT_EQ(c->global.announce.bird_socket, "/run/bird/bird.ctl");
}

TEST(ConfigAnnounce, GlobalKeysAreRead) {
    auto c = valid(global("announce_table = 4294967294L; announce_protocol = 5; announce_interface = \"dummy0\";\n"
                          "bird_socket = \"/run/bird/lvsd.ctl\";"));
    EXPECT_EQ(c->global.announce.table, 0xfffffffeu);
    EXPECT_EQ(c->global.announce.protocol, 5);
    EXPECT_EQ(c->global.announce.interface, "dummy0");
    EXPECT_EQ(c->global.announce.bird_socket, "/run/bird/lvsd.ctl");
    EXPECT_EQ(valid(global("announce_table = 1; announce_protocol = 255;"))->global.announce.table, 1u);
}

TEST(ConfigAnnounce, TableOutOfRangeOrTheKernelsOwn) {
    one_problem(global("announce_table = 0;"), "t.conf:2: global_defs: announce_table = 0 is out of range 1..4294967294");
    one_problem(global("announce_table = 4294967295L;"), "t.conf:2: global_defs: announce_table = 4294967295 is out of range");
    one_problem(global("announce_table = 253;"), "t.conf:2: global_defs: announce_table = 253 is the kernel's default table");
    one_problem(global("announce_table = 254;"), "announce_table = 254 is the kernel's main table");
    one_problem(global("announce_table = 255;"), "announce_table = 255 is the kernel's local table");
}

TEST(ConfigAnnounce, ProtocolNotTheKernelsNorBirds) {
    for (int p : {0, 1, 2, 3, 4, 256})
        one_problem(global("announce_protocol = " + std::to_string(p) + ";"), "is out of range 5..255");
    one_problem(global("announce_protocol = 12;"), "t.conf:2: global_defs: announce_protocol = 12 is BIRD's own (RTPROT_BIRD)");
}

TEST(ConfigAnnounce, InterfaceAndSocketAreChecked) {
    one_problem(global("announce_interface = \"a/b\";"), "t.conf:2: global_defs: announce_interface = \"a/b\" is not a valid interface name");
    one_problem(global("bird_socket = \"bird.ctl\";"), "t.conf:2: global_defs: bird_socket = \"bird.ctl\" must be an absolute path");
    one_problem(global("bird_socket = \"/" + std::string(120, 'x') + "\";"), "a unix socket path has at most 107");
}

TEST(ConfigAnnounce, AnnouncedServiceGetsMhWithPortAndInhibit) {
    auto c = valid(service(""));
    const auto& vs = c->virtual_servers.at(0);
    EXPECT_TRUE(vs.announce);
    EXPECT_EQ(vs.lb_algo, "mh");
    EXPECT_TRUE(vs.mh_port);
    EXPECT_FALSE(vs.mh_fallback);
    EXPECT_TRUE(vs.inhibit_on_failure);
    EXPECT_TRUE(vs.real_servers.at(0).inhibit_on_failure);
    // Written as the defaults, or with mh-fallback: accepted.
    auto d = valid(service("lb_algo = \"mh\"; mh-port = true; mh-fallback = true; inhibit_on_failure = true;",
                           "inhibit_on_failure = true;"));
    EXPECT_TRUE(d->virtual_servers.at(0).mh_fallback);
    // Not announced: as before.
    auto n = valid("virtual_servers = ( { address = \"192.0.2.10\"; port = 80; real_servers = ( { address = \"198.51.100.1\"; } ); } );");
    EXPECT_FALSE(n->virtual_servers.at(0).announce);
    EXPECT_EQ(n->virtual_servers.at(0).lb_algo, "wlc");
    EXPECT_FALSE(n->virtual_servers.at(0).inhibit_on_failure);
}

TEST(ConfigAnnounce, AnnouncedServiceRefusesWhatBreaksEcmp) {
    one_problem(service("persistence_timeout = 300;"), "t.conf:2: virtual server TCP 192.0.2.10:80: persistence_timeout cannot be used on an announced service");
    one_problem(service("lb_algo = \"wlc\";"), "t.conf:2: virtual server TCP 192.0.2.10:80: lb_algo \"wlc\" cannot be announced");
    one_problem(service("lb_algo = \"sh\";"), "only \"mh\" does");
    one_problem(service("mh-port = false;"), "t.conf:2: virtual server TCP 192.0.2.10:80: mh-port = false cannot be announced");
    one_problem(service("inhibit_on_failure = false;"), "t.conf:2: virtual server TCP 192.0.2.10:80: inhibit_on_failure = false cannot be announced");
    one_problem(service("", "inhibit_on_failure = false;"), "t.conf:4: real server 198.51.100.1:80 of virtual server TCP 192.0.2.10:80: inhibit_on_failure = false cannot be announced");
    // persistence_timeout = 0 is no persistence: fine.
    valid(service("persistence_timeout = 0;"));
}

TEST(ConfigAnnounce, NatCannotBeAnnouncedDrAndTunCan) {
    one_problem(service("lb_kind = \"NAT\";"), "t.conf:2: virtual server TCP 192.0.2.10:80: lb_kind NAT cannot be announced");
    one_problem(service("", "lb_kind = \"NAT\";"), "t.conf:4: real server 198.51.100.1:80 of virtual server TCP 192.0.2.10:80: lb_kind NAT cannot be announced");
    valid(service("lb_kind = \"DR\";"));
    valid(service("lb_kind = \"TUN\";"));
    valid(service("", "lb_kind = \"TUN\";"));
}

TEST(ConfigAnnounce, AnUnknownLbAlgoIsOneProblemNotTwo) {
    // The scheduler's own error only: no second one about the default it fell back to.
    one_problem(service("lb_algo = \"MH\";"), "t.conf:2: virtual server TCP 192.0.2.10:80: lb_algo");
    EXPECT_THAT(problems(service("lb_algo = \"MH\";")).front(), ::testing::Not(HasSubstr("cannot be announced")));
}

TEST(ConfigAnnounce, FwmarkServiceCannotBeAnnounced) {
    one_problem("virtual_servers = ( { fwmark = 7; announce = true;\n  real_servers = ( { address = \"198.51.100.1\"; port = 80; } ); } );",
                "t.conf:1: virtual server FWM 7: announce = true needs an address to announce");
    one_problem("virtual_server_groups = ( { name = \"g\"; entries = ( \"fwmark 7\" ); } );\n"
                "virtual_servers = ( { group = \"g\"; announce = true;\n"
                "  real_servers = ( { address = \"198.51.100.1\"; port = 80; } ); } );",
                "t.conf:2: virtual server group \"g\" (FWM 7): announce = true needs an address");
}

TEST(ConfigAnnounce, AllServicesOfAVipAgree) {
    one_problem("virtual_servers = (\n"
                "  { address = \"192.0.2.10\"; port = 80; announce = true; real_servers = ( { address = \"198.51.100.1\"; } ); },\n"
                "  { address = \"192.0.2.10\"; port = 443; real_servers = ( { address = \"198.51.100.1\"; } ); } );",
                "t.conf:3: virtual server TCP 192.0.2.10:443: announce = false but virtual server TCP 192.0.2.10:80 (line 2) "
                "on the same address says true");
    auto c = valid("virtual_servers = (\n"
                   "  { address = \"192.0.2.10\"; port = 80; announce = true; real_servers = ( { address = \"198.51.100.1\"; } ); },\n"
                   "  { address = \"192.0.2.10\"; port = 53; protocol = \"UDP\"; announce = true; real_servers = ( { address = \"198.51.100.1\"; } ); },\n"
                   "  { address = \"192.0.2.11\"; port = 80; real_servers = ( { address = \"198.51.100.1\"; } ); } );");
    EXPECT_TRUE(c->virtual_servers.at(1).announce);
    EXPECT_FALSE(c->virtual_servers.at(2).announce);
}

TEST(ConfigAnnounce, AnnouncedVipIsNotAlsoFloatedByVrrp) {
    one_problem("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; priority = 100;\n"
                "  virtual_ipaddress = ( \"192.0.2.10/24\" ); } );\n" +
                    service(""),
                "t.conf:3: virtual server TCP 192.0.2.10:80: 192.0.2.10 is announced but also floated by vrrp instance \"VI_1\"");
    // A VRRP instance floating another address beside announced VIPs is fine.
    valid("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; priority = 100;\n"
          "  virtual_ipaddress = ( \"192.0.2.11/24\" ); } );\n" + service(""));
}

TEST(ConfigAnnounce, Ipv6Vip) {
    auto c = valid("virtual_servers = ( { address = \"2001:db8::10\"; port = 80; announce = true;\n"
                   "  real_servers = ( { address = \"2001:db8:1::1\"; } ); } );");
    EXPECT_TRUE(c->virtual_servers.at(0).announce);
}

TEST(ConfigAnnounce, PlanSaysTheVipIsAnnounced) {
    auto c = valid(global("announce_table = 7;") + service(""));
    const auto plan = format_plan(*c);
    EXPECT_NE(plan.find("TCP  192.0.2.10:80 mh (mh-port)"), std::string::npos) << plan;
    EXPECT_NE(plan.find("  announced: route 192.0.2.10/32 in table 7 (protocol 250, dev lo) while every announced service on "
                        "192.0.2.10 has its quorum and a real server taking new connections"),
              std::string::npos)
        << plan;
    EXPECT_NE(plan.find("  as on every balancer: 192.0.2.10 kept on lo; real servers added to IPVS in address order"),
              std::string::npos)
        << plan;
    EXPECT_NE(plan.find("net.ipv4.vs.sloppy_tcp=1\n"), std::string::npos) << plan;
}
