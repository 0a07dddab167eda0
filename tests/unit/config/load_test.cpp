// Config loading: the reference files, defaults, and each validation rule at its
// boundaries. The broken-file fixtures (fixtures_test.cpp) pin exact FILE:LINE output;
// these tests pin the rules one by one.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "load_helpers.hpp"

using namespace lvsd;
using namespace lvsd::config;
using namespace lvsd::config::test;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// A valid one-line instance with `extra` settings appended.
// (A list, not an array, holds the VIPs: libconfig arrays cannot mix strings and groups.)
std::string instance(std::string_view extra, std::string_view vips = "\"192.0.2.10/24\"") {
    const bool own_vrid = extra.find("virtual_router_id") != std::string_view::npos;
    return fmt::format("vrrp_instances = ( {{ name = \"VI_1\"; interface = \"eth0\"; {}"
                       "virtual_ipaddress = ( {} ); {} }} );\n",
                       own_vrid ? "" : "virtual_router_id = 51; ", vips, extra);
}

// A valid one-line service with `extra` service settings and one real server with `rs`.
std::string service(std::string_view extra, std::string_view rs = "") {
    return fmt::format("virtual_servers = ( {{ address = \"192.0.2.10\"; port = 8080; {} "
                       "real_servers = ( {{ address = \"192.0.2.21\"; {} }} ); }} );\n",
                       extra, rs);
}

const std::string kSource = LVSD_SOURCE_DIR;

// ----------------------------------------------------------------------------------

TEST(ReferenceConfig, Lb1IsTheClassicDeployment) {
    auto r = load_file(kSource + "/etc/lvsd.conf");
    ASSERT_TRUE(r.ok()) << joined([&] {
        std::vector<std::string> v;
        for (auto& d : r.diagnostics()) v.push_back(to_string(d));
        return v;
    }());
    const Config& c = *r.config();
    EXPECT_EQ(c.global.router_id, "lb1");
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& vi = c.vrrp_instances[0];
    EXPECT_EQ(vi.name, "VI_1");
    EXPECT_EQ(vi.interface, "eth0");
    EXPECT_EQ(vi.virtual_router_id, 51);
    EXPECT_EQ(vi.priority, 150);
    EXPECT_EQ(vi.state, VrrpState::Master);
    EXPECT_EQ(vi.version, 2);
    EXPECT_EQ(vi.advert_int, 1s);
    EXPECT_FALSE(vi.nopreempt);
    ASSERT_EQ(vi.virtual_ipaddress.size(), 1u);
    EXPECT_EQ(vi.virtual_ipaddress[0].prefix, *parse_prefix("192.168.100.10/24"));
    EXPECT_TRUE(vi.unicast_peer.empty());

    ASSERT_EQ(c.virtual_servers.size(), 1u);
    const VirtualServer& vs = c.virtual_servers[0];
    EXPECT_EQ(service_name(vs), "TCP 192.168.100.10:8080");
    EXPECT_EQ(vs.lb_algo, "wlc");
    EXPECT_EQ(vs.lb_kind, Forwarding::DirectRouting);
    EXPECT_EQ(vs.persistence_timeout, 0u);
    ASSERT_EQ(vs.real_servers.size(), 2u);
    const char* expected[] = {"192.168.100.21", "192.168.100.22"};
    for (std::size_t i = 0; i < 2; ++i) {
        const RealServer& rs = vs.real_servers[i];
        EXPECT_EQ(rs.address, *parse_address(expected[i]));
        EXPECT_EQ(rs.port, 8080);
        EXPECT_EQ(rs.weight, 1u);
        EXPECT_EQ(rs.lb_kind, Forwarding::DirectRouting);
        ASSERT_EQ(rs.checks.size(), 1u);
        EXPECT_TRUE(std::holds_alternative<TcpProbe>(rs.checks.at(0).probe));
        EXPECT_EQ(rs.checks.at(0).connect_ip, rs.address);
        EXPECT_EQ(rs.checks.at(0).connect_port, 8080);
        EXPECT_EQ(rs.checks.at(0).connect_timeout, 3s);
        EXPECT_EQ(rs.checks.at(0).delay_loop, 5s);
        EXPECT_EQ(rs.checks.at(0).fall, 3u);  // retry = 2: two more attempts after the first failure
        EXPECT_EQ(rs.checks.at(0).rise, 1u);
    }
}

TEST(ReferenceConfig, Lb2DiffersOnlyInRouterIdStateAndPriority) {
    auto a = load_file(kSource + "/etc/lvsd.conf");
    auto b = load_file(kSource + "/etc/lvsd-backup.conf");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(b.ok()) << (b.diagnostics().empty() ? "" : to_string(b.diagnostics()[0]));
    const VrrpInstance& vb = b.config()->vrrp_instances.at(0);
    EXPECT_EQ(b.config()->global.router_id, "lb2");
    EXPECT_EQ(vb.state, VrrpState::Backup);
    EXPECT_EQ(vb.priority, 100);
    const VrrpInstance& va = a.config()->vrrp_instances.at(0);
    EXPECT_EQ(vb.virtual_router_id, va.virtual_router_id);
    EXPECT_EQ(vb.interface, va.interface);
    EXPECT_EQ(vb.version, va.version);
    EXPECT_EQ(vb.advert_int, va.advert_int);
    EXPECT_EQ(vb.virtual_ipaddress[0].prefix, va.virtual_ipaddress[0].prefix);
    // The IPVS side is identical: compare what the plans print for it.
    auto ipvs = [](const Config& c) {
        auto plan = format_plan(c);
        return plan.substr(plan.find("\nIPVS"));
    };
    EXPECT_EQ(ipvs(*a.config()), ipvs(*b.config()));
}

TEST(Diagnostic, PrintsFileLineMessage) {
    EXPECT_EQ(to_string(Diagnostic{"/etc/lvsd/lvsd.conf", 12, "bad"}), "/etc/lvsd/lvsd.conf:12: bad");
    EXPECT_EQ(to_string(Diagnostic{"x.conf", 0, "cannot read"}), "x.conf: cannot read");
    EXPECT_EQ(fmt::format("{}", Diagnostic{"x.conf", 3, "bad"}), "x.conf:3: bad");
}

TEST(Format, EnumsReadAsInTheConfig) {
    EXPECT_EQ(fmt::format("{} {} {} {}", Forwarding::DirectRouting, Forwarding::Nat, Forwarding::Tunnel, Protocol::Sctp), "DR NAT TUN SCTP");
    EXPECT_EQ(fmt::format("{} {} {}", VrrpState::Master, VrrpState::Backup, LogLevel::Warn), "MASTER BACKUP warn");
}

TEST(Load, ResultHoldsAnImmutableSharedConfig) {
    static_assert(std::is_same_v<decltype(std::declval<const LoadResult&>().config()), const std::shared_ptr<const Config>&>);
    auto r = load_string("", "empty.conf");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.diagnostics().empty());
    EXPECT_EQ(r.config()->source, "empty.conf");
    EXPECT_EQ(r.config()->global.control_socket, "/run/lvsd/lvsd.sock");
    EXPECT_EQ(r.config()->global.reconcile_interval, 10s);
}

TEST(Load, MissingFileIsOneProblemNamingTheFile) {
    auto r = load_file("/nonexistent/lvsd.conf");
    ASSERT_EQ(r.diagnostics().size(), 1u);
    EXPECT_EQ(to_string(r.diagnostics()[0]), "/nonexistent/lvsd.conf: cannot read the configuration: No such file or directory");
}

// Inputs fuzz_config_load found that make libconfig 1.5 leak (fuzz/lsan.supp says which
// and why): each is one syntax error at its line, and under the sanitize tier the leak is
// the library's suppressed one, never lvsd's.
TEST(Load, SyntaxErrorsThatLeakInsideLibconfigAreOneProblemAtTheirLine) {
    for (const auto* text : {"a = \"x\nb = \"y\";\nc = \"z\";\n", "a = 1;\nb = 1\"\";\n"}) {
        auto p = problems(text);
        ASSERT_EQ(p.size(), 1u) << text << joined(p);
        EXPECT_THAT(p[0], HasSubstr("t.conf:")) << text;
        EXPECT_THAT(p[0], HasSubstr("syntax error")) << text;
    }
    EXPECT_THAT(problems("a = 1;\nb = 1\"\";\n")[0], HasSubstr("t.conf:2:"));
}

TEST(Load, ReportsEveryProblemSortedByLine) {
    auto p = problems(
        "virtual_servers = ( {\n"
        "  address = \"192.0.2.10\";\n"
        "  port = 8080;\n"
        "  lb_algo = \"fast\";\n"                         // 4
        "  real_servers = ( { address = \"192.0.2.21\"; weight = -1; } );\n"  // 5
        "} );\n"
        "vrrp_instances = ( {\n"
        "  name = \"VI_1\"; interface = \"eth0\";\n"
        "  virtual_router_id = 0;\n"                      // 9
        "  virtual_ipaddress = [ \"192.0.2.10/24\" ];\n"
        "} );\n"
        "global_defs = { log_level = \"verbose\"; };\n");  // 12
    ASSERT_EQ(p.size(), 4u) << joined(p);
    EXPECT_THAT(p[0], HasSubstr("t.conf:4: virtual server TCP 192.0.2.10:8080: lb_algo = \"fast\""));
    EXPECT_THAT(p[1], HasSubstr("t.conf:5: real server 192.0.2.21:8080 of virtual server TCP 192.0.2.10:8080: weight = -1"));
    EXPECT_THAT(p[2], HasSubstr("t.conf:9: vrrp instance \"VI_1\": virtual_router_id = 0 is out of range 1..255"));
    EXPECT_THAT(p[3], HasSubstr("t.conf:12: global_defs: log_level = \"verbose\""));
}

TEST(Load, IncludedFilesReportTheirOwnNameAndLine) {
    const auto dir = std::filesystem::path(::testing::TempDir()) / ("lvsd-config-include-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "main.conf") << "# main\n@include \"services.conf\"\n";
    std::ofstream(dir / "services.conf") << "\nvirtual_servers = ( { address = \"192.0.2.10\"; port = 99999; },\n"
                                            "{ fwmark = 4294967297; } );\n";
    auto r = load_file((dir / "main.conf").string());
    ASSERT_EQ(r.diagnostics().size(), 2u);
    const std::string services = (dir / "services.conf").string();
    EXPECT_EQ(to_string(r.diagnostics()[0]), services + ":2: virtual server TCP 192.0.2.10: port = 99999 is out of range 0..65535");
    EXPECT_THAT(to_string(r.diagnostics()[1]), HasSubstr(services + ":3: integer 4294967297 does not fit in 32 bits"));
    std::filesystem::remove_all(dir);
}

TEST(Load, AnIncludeOfAnythingButARegularFileIsRefusedBeforeLibconfigReadsIt) {
    // /dev/zero would never end; a directory or a FIFO is no configuration either.
    const auto dir = std::filesystem::path(::testing::TempDir()) / ("lvsd-config-include-special-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "sub");
    std::ofstream(dir / "main.conf") << "# main\n@include \"/dev/zero\"\n  @include \"sub\"\n";
    auto r = load_file((dir / "main.conf").string());
    ASSERT_EQ(r.diagnostics().size(), 2u);
    const std::string main = (dir / "main.conf").string();
    EXPECT_EQ(to_string(r.diagnostics()[0]), main + ":2: @include \"/dev/zero\": /dev/zero is not a regular file");
    EXPECT_EQ(to_string(r.diagnostics()[1]), main + ":3: @include \"sub\": " + (dir / "sub").string() + " is not a regular file");
    std::filesystem::remove_all(dir);
}

// ----------------------------------------------------------------------------------

TEST(UnknownKey, SuggestsTheNearestKeyOfThatSection) {
    one_problem(instance("prority = 150;"), "unknown key 'prority'; did you mean 'priority'?");
    one_problem(instance("advert_intt = 1;"), "did you mean 'advert_int'?");
    one_problem(service("delayloop = 5;"), "did you mean 'delay_loop'?");
    one_problem(service("", "wieght = 2;"), "did you mean 'weight'?");
    one_problem(service("", "TCP_CHECK = { conect_timeout = 3; };"), "did you mean 'connect_timeout'?");
    one_problem("global_defs = { router_di = \"x\"; };", "did you mean 'router_id'?");
    one_problem("virtual_severs = ();", "did you mean 'virtual_servers'?");
    one_problem("virtual_server = ();", "lvsd takes a list: virtual_servers = (");
}

TEST(UnknownKey, FarOffNamesGetNoSuggestionAndKeepalivedNamesGetAHint) {
    auto p = problems(instance("smtp_alert = true;"));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_THAT(p[0], HasSubstr("unknown key 'smtp_alert'"));
    EXPECT_THAT(p[0], ::testing::Not(HasSubstr("did you mean")));
    one_problem(service("lvs_method = \"DR\";"), "lvsd calls the forwarding method 'lb_kind'");
    one_problem(service("", "BFD_CHECK = { };"), "lvsd has no BFD_CHECK");
    one_problem("global = { };", "the section is called 'global_defs'");
    // A key valid elsewhere is unknown here (priority belongs to vrrp instances).
    one_problem(service("priority = 100;"), "unknown key 'priority'");
}

TEST(WrongType, NamesExpectedAndFound) {
    one_problem(instance("priority = \"100\";"), "priority must be an integer, not a string (\"100\")");
    one_problem(instance("priority = 100.0;"), "priority must be an integer, not a number (100)");
    one_problem(instance("nopreempt = \"yes\";"), "nopreempt must be true or false");
    one_problem(instance("unicast_peer = \"192.0.2.2\";"), "unicast_peer must be an array [ ... ] or a list ( ... )");
    one_problem(service("lb_algo = 1;"), "lb_algo must be a string, not an integer (1)");
    one_problem(service("", "TCP_CHECK = true;"), "TCP_CHECK must be a group { ... }");
    one_problem("vrrp_instances = { };", "vrrp_instances must be a list of groups");
    one_problem("virtual_servers = ( \"192.0.2.10\" );", "virtual_servers[0] must be a group { ... }, not a string");
}

struct RangeCase {
    std::string text;
    std::string what;
};

TEST(OutOfRange, EachBoundIsCheckedWithTheRangeInTheMessage) {
    const std::vector<RangeCase> cases = {
        {instance("virtual_router_id = 0;"), "virtual_router_id = 0 is out of range 1..255"},
        {"vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 256; virtual_ipaddress = [ \"192.0.2.10\" ]; } );",
         "virtual_router_id = 256 is out of range 1..255"},
        {instance("priority = 0;"), "priority = 0 is out of range 1..255"},
        {instance("priority = 256;"), "priority = 256 is out of range 1..255"},
        {instance("preempt_delay = 1001;"), "preempt_delay = 1001 is out of range 0..1000 seconds"},
        {instance("garp_master_repeat = 0;"), "garp_master_repeat = 0 is out of range 1..255"},
        {instance("garp_master_delay = -1;"), "garp_master_delay = -1 is out of range 0..3600 seconds"},
        {instance("track_interface = ( { interface = \"eth1\"; weight = 254; } );"), "weight = 254 is out of range -253..253"},
        {service("", "weight = -1;"), "weight = -1 is out of range 0..65535"},
        {service("", "weight = 65536;"), "weight = 65536 is out of range 0..65535"},
        {service("", "port = 0;"), "port = 0 is out of range 1..65535"},
        {service("", "port = 65536;"), "port = 65536 is out of range 1..65535"},
        {service("", "lb_kind = \"NAT\"; uthreshold = 10; lthreshold = 20;"), "lthreshold 20 is above uthreshold 10"},
        {service("", "lthreshold = 20;"), "lthreshold needs uthreshold"},
        {service("delay_loop = 0.05;"), "delay_loop = 0.05 is out of range 0.1..86400 seconds"},
        {service("persistence_timeout = -1;"), "persistence_timeout = -1 is out of range 0..2678400"},
        {service("", "TCP_CHECK = { connect_timeout = 0; };"), "connect_timeout = 0 is out of range 0.001..3600 seconds"},
        {service("", "TCP_CHECK = { connect_timeout = 0.0005; };"), "connect_timeout = 0.0005 is out of range"},
        {service("", "TCP_CHECK = { connect_port = 0; };"), "connect_port = 0 is out of range 1..65535"},
        {service("", "TCP_CHECK = { rise = 0; };"), "rise = 0 is out of range 1..100"},
        {service("", "TCP_CHECK = { fall = 101; };"), "fall = 101 is out of range 1..100"},
        {service("", "TCP_CHECK = { delay_loop = 0.01; };"), "delay_loop = 0.01 is out of range 0.1..86400 seconds"},
        {service("", "TCP_CHECK = { delay_before_retry = 1.0005; };"), "delay_before_retry = 1.0005 is finer than a millisecond"},
        {"global_defs = { reconcile_interval = 3601; };", "reconcile_interval = 3601 is out of range 1..3600 seconds"},
        {"virtual_servers = ( { fwmark = 0; } );", "fwmark = 0 is out of range 1..4294967295"},
    };
    for (auto& c : cases) one_problem(c.text, c.what);
}

TEST(OutOfRange, BoundsThemselvesAreAccepted) {
    valid(instance("virtual_router_id = 1; priority = 255;"));
    valid(instance("virtual_router_id = 255; priority = 1; advert_int = 255;"));
    valid(instance("version = 3; advert_int = 0.01;"));
    valid(instance("version = 3; advert_int = 40.95;"));
    valid(service("", "weight = 0;"));
    valid(service("", "weight = 65535; TCP_CHECK = { connect_port = 65535; connect_timeout = 0.001; };"));
    valid("virtual_servers = ( { fwmark = 4294967295L; } );");
}

TEST(OutOfRange, AllVirtualAddressesFitInOneAdvertisement) {
    auto vips = [](int n) {
        std::string v;
        for (int i = 1; i <= n; ++i) v += fmt::format("{}\"2001:db8::{:x}/64\"", i > 1 ? ", " : "", i);
        return v;
    };
    EXPECT_EQ(valid(instance("", vips(90)))->vrrp_instances[0].virtual_ipaddress.size(), 90u);
    one_problem(instance("", vips(91)), "91 virtual addresses do not fit in one advertisement (at most 90 IPv6)");
}

TEST(OutOfRange, IntegersTooWideForLibconfigAreReportedOnce) {
    // libconfig 1.5 would read 4294967297 as 1, a valid weight: it must not pass.
    auto p = problems(service("", "weight = 4294967297;"));
    ASSERT_EQ(p.size(), 1u) << joined(p);
    EXPECT_THAT(p[0], HasSubstr("t.conf:1: integer 4294967297 does not fit in 32 bits"));
    // Another value on the same line is still checked.
    auto q = problems(service("", "weight = 4294967297; port = 70000;"));
    ASSERT_EQ(q.size(), 2u) << joined(q);
    EXPECT_THAT(q[1], HasSubstr("port = 70000 is out of range 1..65535"));
}

// ----------------------------------------------------------------------------------

TEST(Address, VirtualAddressForms) {
    auto c = valid(instance("", "\"192.0.2.10\", \"192.0.2.11/24 dev eth1 label eth1:vip\", "
                                "{ address = \"192.0.2.12/25\"; dev = \"eth2\"; label = \"eth2\"; }"));
    const auto& v = c->vrrp_instances[0].virtual_ipaddress;
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0].prefix.length, 32);  // keepalived's default: a host address
    EXPECT_EQ(v[0].dev, "");
    EXPECT_EQ(v[1].prefix, *parse_prefix("192.0.2.11/24"));
    EXPECT_EQ(v[1].dev, "eth1");
    EXPECT_EQ(v[1].label, "eth1:vip");
    EXPECT_EQ(v[2].prefix.length, 25);
    EXPECT_EQ(v[2].dev, "eth2");
}

TEST(Address, BadAddressesAndPrefixes) {
    one_problem(instance("", "\"192.0.2.256/24\""), "virtual_ipaddress \"192.0.2.256/24\" is not an address");
    one_problem(instance("", "\"192.0.2.10/33\""), "the prefix length must be 0..32");
    one_problem(instance("", "\"2001:db8::10/129\""), "the prefix length must be 0..128");
    one_problem(instance("", "\"0.0.0.0/0\""), "is an unspecified address");
    one_problem(instance("", "\"127.0.0.2/8\""), "is a loopback address");
    one_problem(instance("", "\"192.0.2.10/24 label eth1:x\""), "label \"eth1:x\" must be the device name or start with \"eth0:\"");
    one_problem(instance("", "\"192.0.2.10/24 label eth0:a-very-long\""), "at most 15 characters");
    one_problem(instance("", "{ address = \"2001:db8::1/64\"; label = \"eth0:6\"; }"), "IPv6 addresses have no label");
    one_problem(instance("", "\"192.0.2.10/24 dev eth/0\""), "dev \"eth/0\" is not a valid interface name");
    one_problem(instance("", "\"192.0.2.10/24 scope host\""), "expected ADDRESS[/LEN] [dev IFNAME] [label LABEL]");
    one_problem(instance("unicast_peer = [ \"192.0.2.999\" ];"), "unicast_peer \"192.0.2.999\" is not an IPv4 or IPv6 address");
    one_problem(instance("unicast_src_ip = \"lb1\";"), "unicast_src_ip = \"lb1\" is not an IPv4 or IPv6 address");
}

TEST(Address, InterfaceNamesFollowTheKernelRules) {
    one_problem(instance("").replace(instance("").find("\"eth0\""), 6, "\"eth0:1\""), "interface = \"eth0:1\" is not a valid interface name");
    one_problem(instance("").replace(instance("").find("\"eth0\""), 6, "\"a-name-over-15chars\""), "is not a valid interface name");
    valid(instance("").replace(instance("").find("\"eth0\""), 6, "\"bond0.100\""));
}

// ----------------------------------------------------------------------------------

TEST(Family, InstanceFamilyComesFromItsAddressesAndDecidesTheVersion) {
    auto v4 = valid(instance(""));
    EXPECT_EQ(v4->vrrp_instances[0].family, Family::V4);
    EXPECT_EQ(v4->vrrp_instances[0].version, 2);  // keepalived's default, for interop
    auto v6 = valid(instance("", "\"2001:db8::10/64\""));
    EXPECT_EQ(v6->vrrp_instances[0].family, Family::V6);
    EXPECT_EQ(v6->vrrp_instances[0].version, 3);  // IPv6 exists only in VRRPv3
    auto v3 = valid(instance("version = 3;"));
    EXPECT_EQ(v3->vrrp_instances[0].version, 3);
}

TEST(Family, MixedOrMismatchedFamiliesAreRejected) {
    one_problem(instance("", "\"192.0.2.10/24\", \"2001:db8::10/64\""),
                "virtual_ipaddress 2001:db8::10/64 is IPv6 but the instance is IPv4 (from 192.0.2.10/24)");
    one_problem(instance("version = 2;", "\"2001:db8::10/64\""), "version = 2 cannot carry IPv6 addresses");
    one_problem(instance("unicast_src_ip = \"192.0.2.1\"; unicast_peer = [ \"2001:db8::2\" ];"),
                "unicast_peer 2001:db8::2 is IPv6 but unicast_src_ip 192.0.2.1 is IPv4");
    one_problem(instance("unicast_peer = [ \"2001:db8::2\" ];"), "unicast_peer 2001:db8::2 is IPv6 but the instance's addresses are IPv4");
    one_problem(instance("unicast_src_ip = \"2001:db8::1\";"), "unicast_src_ip 2001:db8::1 is IPv6 but the instance's addresses are IPv4");
    one_problem(instance("track_arp_target = { targets = [ \"2001:db8::1\" ]; };"), "targets: 2001:db8::1 is IPv6 but the instance is IPv4");
    one_problem(service("", "TCP_CHECK = { bindto = \"2001:db8::1\"; };"), "bindto 2001:db8::1 is IPv6 but the check connects to 192.0.2.21");
}

TEST(Family, UnicastPeersAreUniqueAndNotOurselves) {
    auto c = valid(instance("unicast_src_ip = \"192.0.2.1\"; unicast_peer = [ \"192.0.2.2\", \"192.0.2.3\" ];"));
    EXPECT_EQ(c->vrrp_instances[0].unicast_src_ip, *parse_address("192.0.2.1"));
    EXPECT_EQ(c->vrrp_instances[0].unicast_peer.size(), 2u);
    one_problem(instance("unicast_peer = [ \"192.0.2.2\", \"192.0.2.2\" ];"), "unicast_peer 192.0.2.2 is listed twice");
    one_problem(instance("unicast_src_ip = \"192.0.2.1\"; unicast_peer = [ \"192.0.2.1\" ];"), "is this host's own unicast_src_ip");
}

TEST(Family, ABrokenServiceAddressIsReportedOnceNotAgainForEachRealServer) {
    one_problem("virtual_servers = ( { address = \"2001:db8::1::10\"; port = 80; real_servers = ( { address = \"2001:db8::21\"; } ); } );",
                "address = \"2001:db8::1::10\" is not an IPv4 or IPv6 address");
}

TEST(Family, RealServersMatchTheServiceExceptOverTunnels) {
    one_problem("virtual_servers = ( { address = \"2001:db8::10\"; port = 80; real_servers = ( { address = \"192.0.2.21\"; } ); } );",
                "address 192.0.2.21 is IPv4 but the service is IPv6; only TUN forwards across families");
    valid("virtual_servers = ( { address = \"2001:db8::10\"; port = 80; lb_kind = \"TUN\"; real_servers = ( { address = \"192.0.2.21\"; } ); } );");
}

// ----------------------------------------------------------------------------------

TEST(Duplicates, VridIsUniquePerInterfaceAndFamily) {
    const std::string two_on_eth0 =
        "vrrp_instances = (\n"
        "  { name = \"A\"; interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10\" ]; },\n"
        "  { name = \"B\"; interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.11\" ]; }\n"
        ");\n";
    auto p = problems(two_on_eth0);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], "t.conf:3: vrrp instance \"B\": virtual_router_id 51 on eth0 (IPv4) is already used by instance \"A\" (line 2)");
    std::string other_iface = two_on_eth0;
    other_iface.replace(other_iface.rfind("eth0"), 4, "eth1");
    valid(other_iface);
    std::string other_family = two_on_eth0;
    other_family.replace(other_family.find("192.0.2.11"), 10, "2001:db8::11");
    valid(other_family);
}

TEST(Duplicates, InstancesNamesAndAddresses) {
    one_problem("vrrp_instances = (\n"
                "  { name = \"A\"; interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10\" ]; },\n"
                "  { name = \"A\"; interface = \"eth1\"; virtual_router_id = 52; virtual_ipaddress = [ \"192.0.2.11\" ]; }\n"
                ");\n",
                "t.conf:3: vrrp instance \"A\" is defined twice (first at line 2)");
    one_problem("vrrp_instances = (\n"
                "  { name = \"A\"; interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10/24\" ]; },\n"
                "  { name = \"B\"; interface = \"eth1\"; virtual_router_id = 52; virtual_ipaddress = [ \"192.0.2.10/32\" ]; }\n"
                ");\n",
                "t.conf:3: vrrp instance \"B\": virtual_ipaddress 192.0.2.10 is also floated by instance \"A\" (line 2)");
    one_problem(instance("", "\"192.0.2.10/24\", \"192.0.2.10/32\""), "virtual_ipaddress 192.0.2.10 is listed twice");
}

TEST(Duplicates, ServicesAndRealServers) {
    // The default port of a real server is the service's, so these two are the same.
    one_problem(service("", "port = 8080; }, { address = \"192.0.2.21\";"), "real server 192.0.2.21:8080 is listed twice");
    const std::string vs = "{ address = \"192.0.2.10\"; port = 8080; }";
    one_problem("virtual_servers = ( " + vs + ",\n" + vs + " );", "t.conf:2: virtual server TCP 192.0.2.10:8080 is defined twice (first at line 1)");
    // The protocol is part of the key; so is the family of a fwmark service.
    valid("virtual_servers = ( { address = \"192.0.2.10\"; port = 53; protocol = \"TCP\"; }, "
          "{ address = \"192.0.2.10\"; port = 53; protocol = \"UDP\"; } );");
    one_problem("virtual_servers = ( { fwmark = 7; }, { fwmark = 7; } );", "virtual server FWM 7 is defined twice");
    valid("virtual_servers = ( { fwmark = 7; }, { fwmark = 7; ip_family = \"inet6\"; } );");
}

// ----------------------------------------------------------------------------------

TEST(AdvertInt, LegalValuesDependOnTheVersion) {
    EXPECT_EQ(valid(instance("advert_int = 3;"))->vrrp_instances[0].advert_int, 3s);
    EXPECT_EQ(valid(instance("version = 3; advert_int = 0.25;"))->vrrp_instances[0].advert_int, 250ms);
    EXPECT_EQ(valid(instance("advert_int = 0.5;", "\"2001:db8::1/64\""))->vrrp_instances[0].advert_int, 500ms);
    one_problem(instance("advert_int = 1.5;"), "advert_int = 1.5 is not valid for VRRPv2: whole seconds 1..255");
    one_problem(instance("advert_int = 0;"), "not valid for VRRPv2");
    one_problem(instance("advert_int = 256;"), "not valid for VRRPv2");
    one_problem(instance("version = 3; advert_int = 0.015;"), "advert_int = 0.015 is not valid for VRRPv3: a multiple of 0.01 s");
    one_problem(instance("version = 3; advert_int = 0.001;"), "not valid for VRRPv3");
    one_problem(instance("version = 3; advert_int = 40.96;"), "not valid for VRRPv3");
    one_problem(instance("version = 4;"), "version = 4 is out of range 2..3");
}

TEST(Scheduler, EveryKernelSchedulerIsAcceptedAndTyposAreNot) {
    for (const char* s : {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"})
        EXPECT_EQ(valid(service(fmt::format("lb_algo = \"{}\";", s)))->virtual_servers[0].lb_algo, s);
    one_problem(service("lb_algo = \"wcl\";"), "did you mean 'wlc'?");
    one_problem(service("lb_algo = \"WLC\";"), "did you mean 'wlc'?");
    one_problem(service("lb_kind = \"DSR\";"), "lb_kind = \"DSR\" is not one of: DR, NAT, TUN; did you mean 'DR'?");
    one_problem(service("lb_kind = \"MASQ\";"), "is not one of: DR, NAT, TUN");
    one_problem(service("protocol = \"ICMP\";"), "protocol = \"ICMP\" is not one of: TCP, UDP, SCTP");
}

TEST(Service, IpvsRules) {
    // Only NAT rewrites the port.
    one_problem(service("", "port = 80;"), "port 80 differs from the service's port 8080, but DR cannot change the destination port");
    one_problem(service("lb_kind = \"TUN\";", "port = 80;"), "but TUN cannot change the destination port");
    EXPECT_EQ(valid(service("lb_kind = \"NAT\";", "port = 80;"))->virtual_servers[0].real_servers[0].port, 80);
    valid(service("", "lb_kind = \"NAT\"; port = 80;"));  // a NAT real server in a DR service
    // One-packet scheduling is for UDP and excludes persistence.
    valid(service("protocol = \"UDP\"; ops = true;"));
    one_problem(service("ops = true;"), "ops (one-packet scheduling) applies to UDP services only");
    one_problem(service("protocol = \"UDP\"; ops = true; persistence_timeout = 60;"), "ops cannot be combined with persistence_timeout");
    // Scheduler flags belong to their scheduler.
    auto sh = valid(service("lb_algo = \"sh\"; sh-port = true; sh-fallback = true;"));
    EXPECT_TRUE(sh->virtual_servers[0].sh_port);
    EXPECT_TRUE(sh->virtual_servers[0].sh_fallback);
    one_problem(service("lb_algo = \"sh\"; mh-port = true;"), "mh-port applies to lb_algo \"mh\" only, not \"sh\"");
    // Persistence granularity: a netmask for IPv4, a prefix length for either family.
    EXPECT_EQ(valid(service("persistence_timeout = 300; persistence_granularity = \"255.255.255.0\";"))
                  ->virtual_servers[0].persistence_granularity, 24);
    EXPECT_EQ(valid(service("persistence_timeout = 300;"))->virtual_servers[0].persistence_granularity, 32);
    EXPECT_EQ(valid(service("persistence_timeout = 300; persistence_granularity = 16;"))->virtual_servers[0].persistence_granularity, 16);
    one_problem(service("persistence_timeout = 300; persistence_granularity = \"255.0.255.0\";"), "is not a contiguous IPv4 netmask");
    one_problem(service("persistence_granularity = 24;"), "persistence_granularity needs persistence_timeout");
    // Port 0 means all ports, which IPVS only allows for persistent services.
    one_problem(service("").replace(service("").find("8080"), 4, "0"), "port 0 (all ports) needs persistence_timeout");
    valid(service("persistence_timeout = 60;").replace(service("").find("8080"), 4, "0"));
}

TEST(Service, FwmarkServices) {
    auto c = valid("virtual_servers = ( { fwmark = 7; lb_kind = \"DR\"; real_servers = ( { address = \"2001:db8::21\"; "
                   "TCP_CHECK = { connect_port = 443; }; } ); } );");
    const VirtualServer& vs = c->virtual_servers[0];
    EXPECT_EQ(vs.fwmark, 7u);
    EXPECT_EQ(vs.family, Family::V6);  // from the real servers, as keepalived does
    EXPECT_EQ(service_name(vs), "FWM 7 IPv6");
    EXPECT_EQ(vs.real_servers[0].port, 0);
    EXPECT_EQ(vs.real_servers[0].checks.at(0).connect_port, 443);
    one_problem("virtual_servers = ( { fwmark = 7; address = \"192.0.2.10\"; } );", "address does not apply to a fwmark service");
    one_problem("virtual_servers = ( { fwmark = 7; real_servers = ( { address = \"192.0.2.21\"; TCP_CHECK = { }; } ); } );",
                "the real server has no port (fwmark or all-ports service), so the check needs connect_port");
    one_problem(service("ip_family = \"inet6\";"), "ip_family only applies to fwmark services");
}

TEST(Service, SorryServer) {
    auto c = valid(service("sorry_server = { address = \"192.0.2.99\"; };"));
    ASSERT_TRUE(c->virtual_servers[0].sorry_server);
    EXPECT_EQ(c->virtual_servers[0].sorry_server->port, 8080);
    one_problem(service("sorry_server = { address = \"192.0.2.99\"; port = 80; };"), "DR cannot change the destination port");
    one_problem(service("sorry_server = { port = 8080; };"), "missing required key 'address'");
}

// ----------------------------------------------------------------------------------

TEST(MissingKey, RequiredKeysAreNamed) {
    one_problem("vrrp_instances = ( { interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10\" ]; } );",
                "vrrp_instances[0]: missing required key 'name'");
    one_problem("vrrp_instances = ( { name = \"VI_1\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10\" ]; } );",
                "vrrp instance \"VI_1\": missing required key 'interface'");
    one_problem("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_ipaddress = [ \"192.0.2.10\" ]; } );",
                "missing required key 'virtual_router_id'");
    one_problem("virtual_servers = ( { address = \"192.0.2.10\"; } );", "missing required key 'port'");
    one_problem("virtual_servers = ( { port = 80; } );", "missing required key 'address' (or fwmark)");
    one_problem(service("", "").replace(service("", "").find("address = \"192.0.2.21\";"), 23, ""), "missing required key 'address'");
    one_problem(service("", "PROXY_CHECK = { };"), "missing required key 'url'");
    one_problem(instance("authentication = { auth_type = \"PASS\"; };"), "missing required key 'auth_pass'");
    one_problem("global_defs = { lvs_sync_daemon = { interface = \"eth1\"; }; };", "missing required key 'instance'");
    one_problem("vrrp_sync_groups = ( { name = \"G\"; } );", "missing required key 'group'");
}

// ----------------------------------------------------------------------------------

class Notify : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / ("lvsd-config-notify-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        script_ = (dir_ / "notify.sh").string();
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
    std::string script_;
};

TEST_F(Notify, CommandMustBeAnAbsolutePathToAnExecutableFile) {
    ASSERT_EQ(::chmod(script_.c_str(), 0644), 0);
    one_problem(instance(fmt::format("notify_master = \"{} master\";", script_)),
                fmt::format("notify_master: '{}' is not executable (mode 0644)", script_));
    ASSERT_EQ(::chmod(script_.c_str(), 0777), 0);
    one_problem(instance(fmt::format("notify_master = \"{}\";", script_)),
                fmt::format("notify_master: '{}' is writable by group or others (mode 0777) but would run as root", script_));
    ASSERT_EQ(::chmod(script_.c_str(), 0755), 0);
    auto c = valid(instance(fmt::format("notify_master = \"{} master 'two words'\";", script_)));
    ASSERT_TRUE(c->vrrp_instances[0].notify.master);
    EXPECT_EQ(c->vrrp_instances[0].notify.master->argv, (std::vector<std::string>{script_, "master", "two words"}));
    EXPECT_EQ(c->vrrp_instances[0].notify.master->where.line, 1);

    one_problem(instance("notify = \"notify.sh\";"), "notify: 'notify.sh' is not an absolute path");
    one_problem(instance(fmt::format("notify_fault = \"{}/missing\";", dir_.string())), "No such file or directory");
    one_problem(instance(fmt::format("notify_stop = \"{}\";", dir_.string())), "is a directory, not an executable file");
    one_problem(instance("notify_backup = \"\";"), "notify_backup is empty");
    one_problem(instance("notify_backup = \"/bin/true 'x\";"), "unterminated quote");
    one_problem(instance("notify_backup = \"/dev/null\";"), "'/dev/null' is not a regular file");
    // Sync groups take the same commands.
    one_problem(instance("") + "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_1\" ]; notify_master = \"x\"; } );",
                "vrrp sync group \"G\": notify_master: 'x' is not an absolute path");
}

// ----------------------------------------------------------------------------------

TEST(SyncGroup, MembersMustExistAndBelongToOneGroup) {
    const std::string two =
        "vrrp_instances = (\n"
        "  { name = \"VI_WEB\"; interface = \"eth0\"; virtual_router_id = 51; virtual_ipaddress = [ \"192.0.2.10\" ]; },\n"
        "  { name = \"VI_DB\"; interface = \"eth1\"; virtual_router_id = 52; virtual_ipaddress = [ \"198.51.100.10\" ]; }\n"
        ");\n";
    auto c = valid(two + "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_WEB\", \"VI_DB\" ]; } );");
    EXPECT_EQ(c->vrrp_sync_groups[0].group, (std::vector<std::string>{"VI_WEB", "VI_DB"}));
    one_problem(two + "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_WEB\", \"VI_BD\" ]; } );",
                "\"VI_BD\" is not a vrrp instance; did you mean 'VI_DB'?");
    one_problem(two + "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_WEB\", \"VI_WEB\" ]; } );", "group lists \"VI_WEB\" twice");
    one_problem(two + "vrrp_sync_groups = ( { name = \"G\"; group = [ ]; } );", "group is empty");
    one_problem(two + "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_WEB\" ]; }, { name = \"H\"; group = [ \"VI_WEB\" ]; } );",
                "instance \"VI_WEB\" is already in sync group \"G\"");
    // A member whose own definition is broken is reported once, at the instance.
    one_problem("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 0; virtual_ipaddress = [ \"192.0.2.10\" ]; } );\n"
                "vrrp_sync_groups = ( { name = \"G\"; group = [ \"VI_1\" ]; } );",
                "virtual_router_id = 0 is out of range");
}

// ----------------------------------------------------------------------------------

TEST(Vrrp, PreemptionRules) {
    auto c = valid(instance("state = \"BACKUP\"; nopreempt = true; preempt_delay = 2.5;"));
    EXPECT_TRUE(c->vrrp_instances[0].nopreempt);
    EXPECT_EQ(c->vrrp_instances[0].preempt_delay, 2500ms);
    one_problem(instance("state = \"MASTER\"; nopreempt = true;"), "nopreempt needs state = \"BACKUP\"");
    one_problem(instance("priority = 255; nopreempt = true;"), "the address owner always preempts");
    one_problem(instance("state = \"master\";"), "did you mean 'MASTER'?");
}

TEST(Vrrp, FailoverPriority) {
    EXPECT_EQ(valid(instance(""))->vrrp_instances[0].failover_priority, 1);
    EXPECT_EQ(valid(instance("priority = 150; failover_priority = 20;"))->vrrp_instances[0].failover_priority, 20);
    one_problem(instance("priority = 150; failover_priority = 150;"), "failover_priority = 150 must be below priority = 150");
    one_problem(instance("priority = 255; failover_priority = 1;"), "the address owner cannot be failed over or held");
    one_problem(instance("failover_priority = 0;"), "failover_priority");
    one_problem(instance("failover_priority = 255;"), "failover_priority");
}

TEST(Vrrp, Authentication) {
    EXPECT_EQ(valid(instance("authentication = { auth_type = \"PASS\"; auth_pass = \"12345678\"; };"))->vrrp_instances[0].auth_pass, "12345678");
    one_problem(instance("authentication = { auth_type = \"PASS\"; auth_pass = \"123456789\"; };"), "auth_pass has 9 characters; VRRPv2 carries 1 to 8");
    one_problem(instance("version = 3; authentication = { auth_type = \"PASS\"; auth_pass = \"secret\"; };"), "VRRPv3 has no authentication");
    auto ah = valid(instance("authentication = { auth_type = \"AH\"; auth_pass = \"secret\"; };"));
    EXPECT_TRUE(ah->vrrp_instances[0].auth_ah);
    EXPECT_EQ(ah->vrrp_instances[0].auth_pass, "secret") << "the HMAC key";
    EXPECT_FALSE(valid(instance("authentication = { auth_type = \"PASS\"; auth_pass = \"secret\"; };"))->vrrp_instances[0].auth_ah);
    one_problem(instance("authentication = { auth_type = \"AH\"; auth_pass = \"123456789\"; };"), "auth_pass has 9 characters");
    one_problem(instance("version = 3; authentication = { auth_type = \"AH\"; auth_pass = \"secret\"; };"), "VRRPv3 has no authentication");
    one_problem(instance("version = 2; unicast_src_ip = \"2001:db8::1\"; unicast_peer = [ \"2001:db8::2\" ]; "
                         "authentication = { auth_type = \"AH\"; auth_pass = \"secret\"; };", ""),
                "auth_type = \"AH\" is for VRRPv2 over IPv4 only");
    one_problem(instance("authentication = { auth_type = \"MD5\"; auth_pass = \"secret\"; };"), "auth_type = \"MD5\" is not \"PASS\" or \"AH\"");
}

TEST(Vrrp, TrackingAndGarp) {
    auto c = valid(instance("track_interface = ( \"eth1\", { interface = \"eth2\"; weight = -20; } ); "
                            "track_arp_target = { targets = [ \"192.0.2.1\" ]; interval = 0.5; fall = 4; }; "
                            "garp_master_delay = 0; garp_master_repeat = 3; garp_interval = 0.01; garp_master_refresh = 60;"));
    const VrrpInstance& vi = c->vrrp_instances[0];
    ASSERT_EQ(vi.track_interface.size(), 2u);
    EXPECT_EQ(vi.track_interface[0].weight, 0);
    EXPECT_EQ(vi.track_interface[1].name, "eth2");
    EXPECT_EQ(vi.track_interface[1].weight, -20);
    ASSERT_TRUE(vi.track_arp_target);
    EXPECT_EQ(vi.track_arp_target->interval, 500ms);
    EXPECT_EQ(vi.track_arp_target->fall, 4u);
    EXPECT_EQ(vi.garp_master_delay, 0ms);
    EXPECT_EQ(vi.garp_master_repeat, 3u);
    EXPECT_EQ(vi.garp_interval, 10ms);
    EXPECT_EQ(vi.garp_master_refresh, 60s);
    one_problem(instance("track_interface = [ \"eth1\", \"eth1\" ];"), "track_interface \"eth1\" is listed twice");
    one_problem(instance("track_interface = [ \"eth:1\" ];"), "track_interface \"eth:1\" is not a valid interface name");
    one_problem(instance("track_arp_target = { targets = [ ]; };"), "targets is empty");
    auto d = valid(instance(""));
    EXPECT_EQ(d->vrrp_instances[0].garp_master_delay, 5s);  // keepalived's defaults
    EXPECT_EQ(d->vrrp_instances[0].garp_master_repeat, 5u);
}

// ----------------------------------------------------------------------------------

TEST(Checks, DefaultsComeFromTheRealServerAndTheService) {
    auto c = valid(service("delay_loop = 7; inhibit_on_failure = true;", "port = 8080; TCP_CHECK = { };"));
    const RealServer& rs = c->virtual_servers[0].real_servers[0];
    EXPECT_TRUE(rs.inhibit_on_failure);
    EXPECT_EQ(rs.lb_kind, Forwarding::DirectRouting);
    ASSERT_EQ(rs.checks.size(), 1u);
    EXPECT_EQ(rs.checks.at(0).connect_ip, rs.address);
    EXPECT_EQ(rs.checks.at(0).connect_port, 8080);
    EXPECT_EQ(rs.checks.at(0).delay_loop, 7s);
    EXPECT_EQ(rs.checks.at(0).connect_timeout, 5s);
    EXPECT_EQ(rs.checks.at(0).delay_before_retry, 1s);
    EXPECT_EQ(rs.checks.at(0).rise, 1u);
    EXPECT_EQ(rs.checks.at(0).fall, 2u);  // keepalived's default retry = 1
    EXPECT_TRUE(rs.checks.at(0).initially_up);
    EXPECT_FALSE(valid(service("alpha = true;", "TCP_CHECK = { };"))->virtual_servers[0].real_servers[0].checks.at(0).initially_up);

    auto o = valid(service("inhibit_on_failure = true;",
                           "inhibit_on_failure = false; TCP_CHECK = { connect_ip = \"192.0.2.121\"; connect_port = 81; "
                           "bindto = \"192.0.2.1\"; delay_loop = 2; fall = 5; rise = 3; };"));
    const RealServer& r2 = o->virtual_servers[0].real_servers[0];
    EXPECT_FALSE(r2.inhibit_on_failure);
    EXPECT_EQ(r2.checks.at(0).connect_ip, *parse_address("192.0.2.121"));
    EXPECT_EQ(r2.checks.at(0).connect_port, 81);
    EXPECT_EQ(r2.checks.at(0).bindto, *parse_address("192.0.2.1"));
    EXPECT_EQ(r2.checks.at(0).delay_loop, 2s);
    EXPECT_EQ(r2.checks.at(0).fall, 5u);
    EXPECT_EQ(r2.checks.at(0).rise, 3u);
    EXPECT_EQ(valid(service("", "TCP_CHECK = { retry = 0; };"))->virtual_servers[0].real_servers[0].checks.at(0).fall, 1u);
    one_problem(service("", "TCP_CHECK = { retry = 2; fall = 3; };"), "give either retry");
}

TEST(Checks, SeveralChecksPerRealServer) {
    // Different kinds side by side, and a list for several of one kind.
    auto c = valid(service("", R"(TCP_CHECK = { connect_port = 81; };
        HTTP_GET = ( { path = "/a"; }, { path = "/b"; status_code = 204; } );)"));
    const auto& checks = c->virtual_servers[0].real_servers[0].checks;
    ASSERT_EQ(checks.size(), 3u);
    EXPECT_EQ(check_name(checks[0]), "TCP_CHECK");
    EXPECT_EQ(checks[0].connect_port, 81);
    EXPECT_EQ(std::get<HttpProbe>(checks[1].probe).path, "/a");
    EXPECT_EQ(std::get<HttpProbe>(checks[2].probe).path, "/b");
    EXPECT_EQ(std::get<HttpProbe>(checks[2].probe).status_code, (StatusCodes{{204, 204}}));
    // A single group stays one check; no check: none.
    EXPECT_EQ(valid(service("", "TCP_CHECK = { };"))->virtual_servers[0].real_servers[0].checks.size(), 1u);
    EXPECT_TRUE(valid(service("", ""))->virtual_servers[0].real_servers[0].checks.empty());
    // Each element is read like a single group: errors name the element's line.
    one_problem(service("", "HTTP_GET = ( { path = \"/a\"; }, { path = \"b\"; } );"), "must start with '/'");
    one_problem(service("", "TCP_CHECK = ( );"), "TCP_CHECK is an empty list");
    one_problem(service("", "TCP_CHECK = ( 1 );"), "TCP_CHECK[0] must be a group");
    one_problem(service("", "TCP_CHECK = 1;"), "TCP_CHECK must be a group { ... } or a list of groups");
}

TEST(Checks, TcpCheckIsHalfOpenUnlessTurnedOff) {
    auto probe = [](std::string_view check) {
        return std::get<TcpProbe>(valid(service("", check))->virtual_servers[0].real_servers[0].checks.at(0).probe);
    };
    EXPECT_TRUE(probe("TCP_CHECK = { };").half_open);
    EXPECT_FALSE(probe("TCP_CHECK = { half_open = false; };").half_open);
    one_problem(service("", "TCP_CHECK = { half_open = \"no\"; };"), "half_open");
    one_problem(service("", "HTTP_GET = { half_open = false; };"), "half_open");
}

TEST(Checks, HttpGet) {
    auto c = valid(service("", "HTTP_GET = { path = \"/healthz?full=1\"; virtualhost = \"www.example.org\"; "
                               "status_code = \"200,301-302\"; body_contains = \"OK\"; };"));
    const auto& h = std::get<HttpProbe>(c->virtual_servers[0].real_servers[0].checks.at(0).probe);
    EXPECT_EQ(h.path, "/healthz?full=1");
    EXPECT_EQ(h.virtualhost, "www.example.org");
    EXPECT_EQ(h.status_code, (StatusCodes{{200, 200}, {301, 302}}));
    EXPECT_EQ(h.body_contains, "OK");
    auto d = valid(service("", "HTTP_GET = { };"));
    const auto& dh = std::get<HttpProbe>(d->virtual_servers[0].real_servers[0].checks.at(0).probe);
    EXPECT_EQ(dh.path, "/");
    EXPECT_EQ(dh.status_code, (StatusCodes{{200, 299}}));
    EXPECT_EQ(std::get<HttpProbe>(valid(service("", "HTTP_GET = { status_code = 204; };"))->virtual_servers[0].real_servers[0].checks.at(0).probe).status_code,
              (StatusCodes{{204, 204}}));
    EXPECT_EQ(std::get<HttpProbe>(valid(service("", "HTTP_GET = { status_code = ( 200, \"300-399\" ); };"))->virtual_servers[0].real_servers[0].checks.at(0).probe).status_code,
              (StatusCodes{{200, 200}, {300, 399}}));
    one_problem(service("", "HTTP_GET = { path = \"healthz\"; };"), "path = \"healthz\" must start with '/'");
    one_problem(service("", "HTTP_GET = { status_code = 600; };"), "status_code 600 is not a status code 100..599");
    one_problem(service("", "HTTP_GET = { status_code = \"299-200\"; };"), "status_code \"299-200\" is not a status code");
    one_problem(service("", "HTTP_GET = { url = \"/\"; };"), "url must be a group { path = ...; } or a non-empty list of them");
}

TEST(Checks, ProxyCheck) {
    auto c = valid(service("", "PROXY_CHECK = { url = \"http://origin.example:8000/health\"; status_code = 200; };"));
    const auto& p = std::get<ProxyProbe>(c->virtual_servers[0].real_servers[0].checks.at(0).probe);
    EXPECT_EQ(p.url, "http://origin.example:8000/health");
    EXPECT_EQ(p.host, "origin.example:8000");
    EXPECT_EQ(check_name(c->virtual_servers[0].real_servers[0].checks.at(0)), "PROXY_CHECK");
    EXPECT_EQ(std::get<ProxyProbe>(valid(service("", "PROXY_CHECK = { url = \"http://[2001:db8::80]\"; };"))
                                       ->virtual_servers[0].real_servers[0].checks.at(0).probe).host,
              "[2001:db8::80]");
    one_problem(service("", "PROXY_CHECK = { url = \"https://origin.example/\"; };"), "https:// would need CONNECT and TLS");
    one_problem(service("", "PROXY_CHECK = { url = \"origin.example/health\"; };"), "must start with http://");
    one_problem(service("", "PROXY_CHECK = { url = \"http://origin.example:0/\"; };"), "has a port outside 1..65535");
    one_problem(service("", "PROXY_CHECK = { url = \"http://user@origin.example/\"; };"), "user credentials");
    one_problem(service("", "PROXY_CHECK = { url = \"http:///x\"; };"), "has no host");
}

// ----------------------------------------------------------------------------------

TEST(Global, Settings) {
    auto c = valid("global_defs = { router_id = \"lb9\"; log_level = \"debug\"; control_socket = \"/run/x.sock\"; "
                   "reconcile_interval = 30; metrics_listen = \"[::1]:9100\"; };");
    EXPECT_EQ(c->global.router_id, "lb9");
    EXPECT_EQ(c->global.log_level, LogLevel::Debug);
    EXPECT_EQ(c->global.control_socket, "/run/x.sock");
    EXPECT_EQ(c->global.reconcile_interval, 30s);
    ASSERT_TRUE(c->global.metrics_listen);
    EXPECT_EQ(c->global.metrics_listen->address, *parse_address("::1"));
    EXPECT_EQ(c->global.metrics_listen->port, 9100);
    EXPECT_EQ(valid("global_defs = { metrics_listen = \"127.0.0.1:9100\"; };")->global.metrics_listen->port, 9100);
    one_problem("global_defs = { metrics_listen = \"::1:9100\"; };", "is not ADDRESS:PORT");
    one_problem("global_defs = { metrics_listen = \"127.0.0.1\"; };", "is not ADDRESS:PORT");
    one_problem("global_defs = { control_socket = \"lvsd.sock\"; };", "must be an absolute path");
    one_problem("global_defs = { router_id = \"lb 1\"; };", "without blanks");
    EXPECT_EQ(valid("global_defs = { log_level = \"warning\"; };")->global.log_level, LogLevel::Warn);
    one_problem("global_defs = { log_level = \"debg\"; };", "did you mean 'debug'?");
}

TEST(Global, LvsSyncDaemonFollowsAnInstance) {
    auto c = valid(instance("") + "global_defs = { lvs_sync_daemon = { interface = \"eth1\"; instance = \"VI_1\"; }; };");
    ASSERT_TRUE(c->global.lvs_sync_daemon);
    EXPECT_EQ(c->global.lvs_sync_daemon->syncid, 51);  // keepalived: the instance's VRID
    EXPECT_EQ(valid(instance("") + "global_defs = { lvs_sync_daemon = { interface = \"eth1\"; instance = \"VI_1\"; syncid = 7; }; };")
                  ->global.lvs_sync_daemon->syncid, 7);
    one_problem(instance("") + "global_defs = { lvs_sync_daemon = { interface = \"eth1\"; instance = \"VI_2\"; }; };",
                "instance \"VI_2\" is not a vrrp instance");
    one_problem(instance("") + "global_defs = { lvs_sync_daemon = { interface = \"eth1\"; instance = \"VI_1\"; syncid = 256; }; };",
                "syncid = 256 is out of range 0..255");
}

// ----------------------------------------------------------------------------------

TEST(Plan, ReferenceConfigReadsLikeAnOperatorExpects) {
    auto r = load_file(kSource + "/etc/lvsd.conf");
    ASSERT_TRUE(r.ok());
    const std::string plan = format_plan(*r.config());
    for (const char* line : {
             "  VI_1 on eth0: VRID 51, IPv4, VRRPv2, priority 150, state hint MASTER, preempts\n",
             "    adverts every 1 s by multicast 224.0.0.18\n",
             "    master down after 3.414 s (3 x 1 s + skew 0.414 s)\n",  // RFC 3768 §6.1
             "    VIP 192.168.100.10/24 dev eth0\n",
             "TCP  192.168.100.10:8080 wlc\n",
             "  -> 192.168.100.21:8080          Route   1\n",
             "  -> 192.168.100.22:8080          Route   1\n",
             "       TCP_CHECK half-open (SYN) :8080 every 5 s, timeout 3 s; down after 3 failures (1 s apart), up after 1 success;",
         })
        EXPECT_THAT(plan, HasSubstr(line));
    EXPECT_EQ(plan, format_plan(*r.config()));  // pure
}

TEST(Plan, Vrrpv3UnicastFwmarkAndFlags) {
    auto c = valid(instance("version = 3; priority = 100; advert_int = 0.5; unicast_src_ip = \"192.0.2.1\"; "
                            "unicast_peer = [ \"192.0.2.2\" ]; nopreempt = true;") +
                   "virtual_servers = ( { fwmark = 7; lb_algo = \"mh\"; mh-port = true; persistence_timeout = 300; "
                   "persistence_granularity = 24; lb_kind = \"NAT\"; alpha = true; sorry_server = { address = \"192.0.2.99\"; port = 80; }; "
                   "real_servers = ( { address = \"192.0.2.21\"; port = 80; weight = 3; HTTP_GET = { path = \"/ok\"; }; } ); } );");
    const std::string plan = format_plan(*c);
    EXPECT_THAT(plan, HasSubstr("VRRPv3, priority 100, state hint BACKUP, nopreempt"));
    EXPECT_THAT(plan, HasSubstr("adverts every 0.5 s by unicast to 192.0.2.2 from 192.0.2.1"));
    // RFC 5798 §6.1: skew = (256 - 100) x 0.5 / 256 = 0.3047 s.
    EXPECT_THAT(plan, HasSubstr("master down after 1.805 s (3 x 0.5 s + skew 0.305 s)"));
    EXPECT_THAT(plan, HasSubstr("FWM  7 mh persistent 300 mask /24 (mh-port)\n"));
    EXPECT_THAT(plan, HasSubstr("  -> 192.0.2.21:80                Masq    3*\n"));
    EXPECT_THAT(plan, HasSubstr("HTTP_GET :80/ok -> 200-299 every 60 s"));
    EXPECT_THAT(plan, HasSubstr("sorry server 192.0.2.99:80 replaces the real servers while the quorum is down"));
    auto t = format_plan(*valid(service("", "uthreshold = 1000;")));
    EXPECT_THAT(t, HasSubstr("new connections stop above 1000 connections, resume below 750\n"));  // IPVS: 3/4 by default
    auto g = format_plan(*valid(instance("garp_master_refresh = 60; track_arp_target = { targets = [ \"192.0.2.1\" ]; };")));
    EXPECT_THAT(g, HasSubstr("on takeover: 5 gratuitous ARPs, 5 s later 5 more; then 1 again every 60 s while master\n"));
    EXPECT_THAT(g, HasSubstr("tracks 192.0.2.1 every 1 s: FAULT after 3 unanswered rounds\n"));
}

TEST(Plan, EmptyConfig) {
    const std::string plan = format_plan(*valid(""));
    EXPECT_THAT(plan, HasSubstr("VRRP: no instances"));
    EXPECT_THAT(plan, HasSubstr("IPVS: no virtual services"));
}

}  // namespace

namespace {

// Mutations of the reference file: whatever is removed or cut, the loader answers with
// a valid Config or with diagnostics that point into the file, never with a crash, an
// exception or an empty rejection.
std::vector<std::string> reference_lines() {
    std::ifstream in(kSource + "/etc/lvsd.conf");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

void expect_sound(const std::string& text, const std::string& what) {
    auto r = load_string(text, "m.conf");
    if (r.ok()) return;
    ASSERT_FALSE(r.diagnostics().empty()) << what;
    for (auto& d : r.diagnostics()) {
        EXPECT_EQ(d.file, "m.conf") << what;
        EXPECT_GE(d.line, 1) << what << ": " << to_string(d);
        EXPECT_FALSE(d.message.empty()) << what;
    }
}

TEST(Robustness, EveryLineRemovedFromTheReference) {
    const auto lines = reference_lines();
    ASSERT_GT(lines.size(), 50u);
    std::size_t rejected = 0;
    for (std::size_t skip = 0; skip < lines.size(); ++skip) {
        std::string text;
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (i != skip) text += lines[i] + "\n";
        expect_sound(text, fmt::format("without line {}", skip + 1));
        rejected += !load_string(text, "m.conf").ok();
    }
    // Removing a required key or a bracket must be noticed: some removals are rejected.
    EXPECT_GT(rejected, 10u);
}

TEST(Robustness, ReferenceCutAfterEveryLine) {
    const auto lines = reference_lines();
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        text += lines[i] + "\n";
        expect_sound(text, fmt::format("cut after line {}", i + 1));
    }
    EXPECT_TRUE(load_string(text, "m.conf").ok());
}

TEST(Robustness, EveryValueReplacedByHostileOnes) {
    const auto lines = reference_lines();
    for (std::size_t at = 0; at < lines.size(); ++at) {
        const auto eq = lines[at].find(" = ");
        if (eq == std::string::npos || lines[at].find_first_not_of(' ') == lines[at].find('#')) continue;
        for (const char* hostile : {"-1", "99999999999", "\"\"", "\"\\u0000\"", "( )", "{ }", "[ 1, 2 ]", "1e308", "true"}) {
            auto lines2 = lines;
            const auto end = lines2[at].find(';', eq);
            lines2[at] = lines2[at].substr(0, eq + 3) + hostile + (end == std::string::npos ? "" : lines2[at].substr(end));
            std::string text;
            for (auto& l : lines2) text += l + "\n";
            expect_sound(text, fmt::format("line {} = {}", at + 1, hostile));
        }
    }
}

}  // namespace

TEST(GlobalVrrpDefaults, ApplyWhereAnInstanceOrScriptDoesNotSetTheKey) {
    auto r = lvsd::config::load_string(R"(global_defs = { vrrp_version = 3; vrrp_garp_interval = 0.1;
    vrrp_gna_interval = 0.2; vrrp_garp_master_delay = 1; vrrp_garp_master_repeat = 2;
    vrrp_garp_master_refresh = 30; vrrp_garp_master_refresh_repeat = 4; script_user = "nobody";
    enable_script_security = true; };
vrrp_scripts = ( { name = "a"; script = "/bin/true"; }, { name = "b"; script = "/bin/true"; user = "root"; } );
vrrp_instances = (
  { name = "V4"; interface = "eth0"; virtual_router_id = 1; advert_int = 0.5; virtual_ipaddress = [ "192.0.2.10/24" ]; },
  { name = "V6"; interface = "eth0"; virtual_router_id = 2; virtual_ipaddress = [ "2001:db8::10/64" ]; },
  { name = "Own"; interface = "eth0"; virtual_router_id = 3; version = 2; garp_interval = 1; garp_master_repeat = 9;
    virtual_ipaddress = [ "192.0.2.11/24" ]; } );
)", "t.conf");
    ASSERT_TRUE(r.ok()) << lvsd::config::to_string(r.diagnostics().front());
    const auto& v = r.config()->vrrp_instances;
    using std::chrono::milliseconds;
    EXPECT_EQ(v[0].version, 3);
    EXPECT_EQ(v[0].garp_interval, milliseconds(100));
    EXPECT_EQ(v[0].garp_master_delay, milliseconds(1000));
    EXPECT_EQ(v[0].garp_master_repeat, 2u);
    EXPECT_EQ(v[0].garp_master_refresh, milliseconds(30000));
    EXPECT_EQ(v[0].garp_master_refresh_repeat, 4u);
    EXPECT_EQ(v[1].garp_interval, milliseconds(200));  // IPv6: vrrp_gna_interval
    EXPECT_EQ(v[2].version, 2);                        // its own settings win
    EXPECT_EQ(v[2].garp_interval, milliseconds(1000));
    EXPECT_EQ(v[2].garp_master_repeat, 9u);
    EXPECT_EQ(r.config()->vrrp_scripts[0].user, "nobody");
    EXPECT_EQ(r.config()->vrrp_scripts[1].user, "root");

    auto off = lvsd::config::load_string("global_defs = { enable_script_security = false; };\n", "t.conf");
    ASSERT_FALSE(off.ok());
    EXPECT_NE(lvsd::config::to_string(off.diagnostics().front()).find("t.conf:1: "), std::string::npos);
}

// ----------------------------------------------------------------------------------

class MiscCheck : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / ("lvsd-config-misc-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        ::chmod(dir_.c_str(), 0755);
        script_ = (dir_ / "check.sh").string();
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
        ::chmod(script_.c_str(), 0755);
        // The files are the test's own: as root they are root's, otherwise the check must
        // run as the test's user for lvsd to accept them.
        me_ = ::getpwuid(::getuid())->pw_name;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string misc(std::string_view keys) {
        return service("", fmt::format("MISC_CHECK = {{ {} user = \"{}\"; }};", keys, me_));
    }
    std::filesystem::path dir_;
    std::string script_;
    std::string me_;
};

TEST_F(MiscCheck, CommandTimeoutDynamicAndUser) {
    auto c = valid(misc(fmt::format("misc_path = \"{} 192.0.2.21 'a b'\"; misc_timeout = 3; misc_dynamic = true;", script_)));
    const auto& rs = c->virtual_servers[0].real_servers[0];
    ASSERT_EQ(rs.checks.size(), 1u);
    EXPECT_EQ(check_name(rs.checks[0]), "MISC_CHECK");
    const auto& m = std::get<MiscProbe>(rs.checks[0].probe);
    EXPECT_EQ(m.argv, (std::vector<std::string>{script_, "192.0.2.21", "a b"}));
    EXPECT_TRUE(m.dynamic);
    ASSERT_TRUE(m.user);
    EXPECT_EQ(m.user->uid, ::getuid());
    EXPECT_EQ(rs.checks[0].connect_timeout, 3s);
    // misc_timeout defaults to the check's delay_loop (keepalived); misc_dynamic to false.
    auto d = valid(misc(fmt::format("misc_path = \"{}\"; delay_loop = 7;", script_)));
    EXPECT_EQ(d->virtual_servers[0].real_servers[0].checks[0].connect_timeout, 7s);
    EXPECT_FALSE(std::get<MiscProbe>(d->virtual_servers[0].real_servers[0].checks[0].probe).dynamic);
}

TEST_F(MiscCheck, AShellOnlyWhenTheTextNeedsOne) {
    auto argv = [&](const std::string& text) {
        return std::get<MiscProbe>(valid(misc(fmt::format("misc_path = \"{}\";", text)))
                                       ->virtual_servers[0].real_servers[0].checks[0].probe).argv;
    };
    EXPECT_EQ(argv(script_ + " x"), (std::vector<std::string>{script_, "x"}));
    const std::string piped = script_ + " x | grep -q y";
    EXPECT_EQ(argv(piped), (std::vector<std::string>{"/bin/sh", "-c", piped}));
}

TEST_F(MiscCheck, EveryBadValueIsRefusedAtItsLine) {
    one_problem(misc(""), "missing required key 'misc_path'");
    one_problem(misc("misc_path = \"check.sh\";"), "misc_path: 'check.sh' is not an absolute path");
    one_problem(misc("misc_path = \"\";"), "misc_path is empty");
    one_problem(misc(fmt::format("misc_path = \"{} 'x\";", script_)), "unterminated quote");
    one_problem(misc(fmt::format("misc_path = \"{}/none\";", dir_.string())), "No such file or directory");
    one_problem(misc(fmt::format("misc_path = \"{}\"; misc_timeout = 0;", script_)), "misc_timeout");
    one_problem(misc(fmt::format("misc_path = \"{}\"; misc_dynamic = 1;", script_)), "misc_dynamic");
    one_problem(misc(fmt::format("misc_path = \"{}\"; connect_port = 81;", script_)), "unknown key 'connect_port'");
    one_problem(service("", fmt::format("MISC_CHECK = {{ misc_path = \"{}\"; user = \"no-such-user-lvsd\"; }};", script_)),
                "user \"no-such-user-lvsd\" is not known on this host");
    one_problem(service("", fmt::format("MISC_CHECK = {{ misc_path = \"{}\"; user = \"{} no-such-group-lvsd\"; }};", script_, me_)),
                "group \"no-such-group-lvsd\" is not known on this host");
    // The message carries FILE:LINE of misc_path.
    auto p = problems(fmt::format("virtual_servers = ( {{ address = \"192.0.2.10\"; port = 8080;\n"
                                  "  real_servers = ( {{ address = \"192.0.2.21\";\n"
                                  "    MISC_CHECK = {{\n      misc_path = \"relative\"; }}; }} ); }} );\n"));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_THAT(p[0], ::testing::StartsWith("t.conf:4: "));
}

TEST_F(MiscCheck, AScriptSomeoneElseCouldRewriteIsRefused) {
    ASSERT_EQ(::chmod(script_.c_str(), 0775), 0);
    one_problem(misc(fmt::format("misc_path = \"{}\";", script_)),
                fmt::format("misc_path: '{}' is writable by group or others (mode 0775)", script_));
    ASSERT_EQ(::chmod(script_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
    one_problem(misc(fmt::format("misc_path = \"{}\";", script_)),
                fmt::format("'{}' is in '{}', which a user other than root can write to (mode 0777", script_, dir_.string()));
    ASSERT_EQ(::chmod(dir_.c_str(), 01777), 0);  // sticky, as /tmp: only the owner may replace the file
    valid(misc(fmt::format("misc_path = \"{}\";", script_)));
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
    // Owned by a user other than root and the one it runs as: that user could rewrite it.
    if (::getuid() == 0) {
        ASSERT_EQ(::chown(script_.c_str(), 65534, 65534), 0);
        one_problem(service("", fmt::format("MISC_CHECK = {{ misc_path = \"{}\"; }};", script_)),
                    fmt::format("misc_path: '{}' is owned by uid 65534, who could rewrite what lvsd runs as root", script_));
        ASSERT_EQ(::chown(script_.c_str(), 0, 0), 0);
    } else {
        // Not root: the test's own file is such a script when it would run as root.
        one_problem(service("", fmt::format("MISC_CHECK = {{ misc_path = \"{}\"; }};", script_)),
                    fmt::format("is owned by uid {}, who could rewrite what lvsd runs as root", ::getuid()));
    }
}

// One checker for every command lvsd runs (config/detail/script_security.hpp): a script
// handed to an interpreter is checked as a vrrp_script's is.
TEST_F(MiscCheck, AScriptGivenToAnInterpreterIsCheckedToo) {
    ASSERT_EQ(::chmod(script_.c_str(), 0646), 0);
    one_problem(misc(fmt::format("misc_path = \"/bin/sh {}\";", script_)),
                fmt::format("misc_path: '{}' is writable by group or others (mode 0646)", script_));
    ASSERT_EQ(::chmod(script_.c_str(), 0644), 0);  // read by sh, not executed
    valid(misc(fmt::format("misc_path = \"/bin/sh {}\";", script_)));
}

TEST_F(MiscCheck, SeveralKindsTogether) {
    auto c = valid(service("", fmt::format("TCP_CHECK = {{ }}; MISC_CHECK = ( {{ misc_path = \"{0} a\"; user = \"{1}\"; }}, "
                                           "{{ misc_path = \"{0} b\"; user = \"{1}\"; misc_dynamic = true; }} );",
                                           script_, me_)));
    const auto& checks = c->virtual_servers[0].real_servers[0].checks;
    ASSERT_EQ(checks.size(), 3u);
    EXPECT_EQ(check_name(checks[0]), "TCP_CHECK");
    EXPECT_EQ(std::get<MiscProbe>(checks[1].probe).argv.back(), "a");
    EXPECT_EQ(std::get<MiscProbe>(checks[2].probe).argv.back(), "b");
    EXPECT_THAT(format_plan(*c), HasSubstr("up while all 3 checks are up"));
    EXPECT_THAT(format_plan(*c), HasSubstr(fmt::format("MISC_CHECK {} b as {} (misc_dynamic", script_, me_)));
}

TEST(Checks, HttpGetDigestAndSeveralUrls) {
    auto c = valid(service("", "HTTP_GET = { path = \"/x\"; digest = \"9E107D9D372BB6826BD81D3542A419D6\"; };"));
    EXPECT_EQ(std::get<HttpProbe>(c->virtual_servers[0].real_servers[0].checks.at(0).probe).digest,
              "9e107d9d372bb6826bd81d3542a419d6");  // lowercased
    one_problem(service("", "HTTP_GET = { digest = \"abc\"; };"), "digest = \"abc\" must be an MD5 in 32 hex digits");
    one_problem(service("", "HTTP_GET = { digest = \"zz107d9d372bb6826bd81d3542a419d6\"; };"), "must be an MD5");

    // keepalived's url blocks: one check each, the other keys shared.
    auto u = valid(service("", R"(HTTP_GET = { virtualhost = "www.example"; connect_timeout = 2;
        url = ( { path = "/a"; digest = "9e107d9d372bb6826bd81d3542a419d6"; },
                { path = "/b"; status_code = 204; } ); };)"));
    const auto& checks = u->virtual_servers[0].real_servers[0].checks;
    ASSERT_EQ(checks.size(), 2u);
    const auto& a = std::get<HttpProbe>(checks[0].probe);
    const auto& b = std::get<HttpProbe>(checks[1].probe);
    EXPECT_EQ(a.path, "/a");
    EXPECT_EQ(a.digest, "9e107d9d372bb6826bd81d3542a419d6");
    EXPECT_EQ(a.status_code, (StatusCodes{{200, 299}}));
    EXPECT_EQ(b.path, "/b");
    EXPECT_EQ(b.digest, "");
    EXPECT_EQ(b.status_code, (StatusCodes{{204, 204}}));
    EXPECT_EQ(a.virtualhost, "www.example");
    EXPECT_EQ(b.virtualhost, "www.example");
    EXPECT_EQ(checks[1].connect_timeout, 2s);
    EXPECT_THAT(format_plan(*u), HasSubstr("HTTP_GET :8080/a -> 200-299 with body MD5 9e107d9d372bb6826bd81d3542a419d6"));
    EXPECT_THAT(format_plan(*u), HasSubstr("up while all 2 checks are up"));
    // A single url group is one check.
    EXPECT_EQ(valid(service("", "HTTP_GET = { url = { path = \"/a\"; }; };"))->virtual_servers[0].real_servers[0].checks.size(), 1u);
    one_problem(service("", "HTTP_GET = { path = \"/\"; url = ( { path = \"/a\"; } ); };"),
                "path is given both here and in url entries");
    one_problem(service("", "HTTP_GET = { url = ( { status_code = 200; } ); };"), "missing required key 'path'");
    one_problem(service("", "HTTP_GET = { url = ( { path = \"a\"; } ); };"), "url 1 of HTTP_GET");
    one_problem(service("", "HTTP_GET = { url = ( { path = \"/a\"; body_contains = \"x\"; } ); };"), "unknown key 'body_contains'");
    one_problem(service("", "HTTP_GET = { url = ( ); };"), "non-empty list");
}

TEST(Checks, SslGet) {
    auto c = valid(service("", R"(SSL_GET = { virtualhost = "www.example"; digest = "9e107d9d372bb6826bd81d3542a419d6"; };)"));
    const auto& hc = c->virtual_servers[0].real_servers[0].checks.at(0);
    EXPECT_EQ(check_name(hc), "SSL_GET");
    const auto& p = std::get<HttpProbe>(hc.probe);
    EXPECT_TRUE(p.tls);
    EXPECT_FALSE(p.ssl_verify);  // keepalived does not verify
    EXPECT_EQ(p.virtualhost, "www.example");
    EXPECT_THAT(format_plan(*c), HasSubstr("SSL_GET :8080/ -> 200-299 with body MD5 9e107d9d372bb6826bd81d3542a419d6 (Host: www.example, SNI), certificate not verified"));
    auto v = valid(service("", R"(SSL_GET = { ssl_verify = true; ssl_ca = "/etc/hostname"; url = ( { path = "/a"; }, { path = "/b"; } ); };)"));
    ASSERT_EQ(v->virtual_servers[0].real_servers[0].checks.size(), 2u);
    EXPECT_EQ(std::get<HttpProbe>(v->virtual_servers[0].real_servers[0].checks[1].probe).ssl_ca, "/etc/hostname");
    EXPECT_TRUE(std::get<HttpProbe>(v->virtual_servers[0].real_servers[0].checks[1].probe).tls);
    one_problem(service("", R"(SSL_GET = { ssl_ca = "/etc/hostname"; };)"), "ssl_ca is used only with ssl_verify = true");
    one_problem(service("", R"(SSL_GET = { ssl_verify = true; ssl_ca = "/nonexistent-lvsd.pem"; };)"), "ssl_ca '/nonexistent-lvsd.pem': No such file");
    one_problem(service("", R"(SSL_GET = { ssl_verify = true; ssl_ca = "ca.pem"; };)"), "must be an absolute path");
    one_problem(service("", R"(SSL_GET = { ssl_verify = "yes"; };)"), "ssl_verify");
    one_problem(service("", R"(HTTP_GET = { ssl_verify = true; };)"), "unknown key 'ssl_verify'");
}

TEST(Checks, UdpAndDnsChecks) {
    auto u = valid(service("", R"(UDP_CHECK = { payload = "de ad:be01"; require_reply = true; connect_timeout = 0.5; };)"));
    const auto& uc = u->virtual_servers[0].real_servers[0].checks.at(0);
    EXPECT_EQ(check_name(uc), "UDP_CHECK");
    EXPECT_EQ(std::get<UdpProbe>(uc.probe).payload, std::string("\xde\xad\xbe\x01", 4));
    EXPECT_TRUE(std::get<UdpProbe>(uc.probe).require_reply);
    EXPECT_EQ(std::get<UdpProbe>(valid(service("", "UDP_CHECK = { };"))->virtual_servers[0].real_servers[0].checks.at(0).probe).payload, "");
    one_problem(service("", R"(UDP_CHECK = { payload = "abc"; };)"), "payload = \"abc\" must be hex digits");
    one_problem(service("", R"(UDP_CHECK = { payload = "zz"; };)"), "must be hex digits");
    one_problem(service("", "UDP_CHECK = { require_reply = 1; };"), "require_reply");
    EXPECT_THAT(format_plan(*u), HasSubstr("UDP_CHECK :8080 with a 4-byte datagram, a reply required"));

    auto d = valid(service("", R"(DNS_CHECK = { type = "AAAA"; name = "www.example.test"; connect_port = 53; };)"));
    const auto& dc = d->virtual_servers[0].real_servers[0].checks.at(0);
    EXPECT_EQ(check_name(dc), "DNS_CHECK");
    EXPECT_EQ(std::get<DnsProbe>(dc.probe).type, "AAAA");
    EXPECT_EQ(std::get<DnsProbe>(dc.probe).name, "www.example.test");
    const auto defaults = valid(service("", "DNS_CHECK = { };"));
    const auto& def = std::get<DnsProbe>(defaults->virtual_servers[0].real_servers[0].checks.at(0).probe);
    EXPECT_EQ(def.type, "SOA");  // keepalived's defaults
    EXPECT_EQ(def.name, ".");
    EXPECT_THAT(format_plan(*d), HasSubstr("DNS_CHECK :53 query AAAA www.example.test"));
    one_problem(service("", R"(DNS_CHECK = { type = "AXFR"; };)"), "type");
    one_problem(service("", R"(DNS_CHECK = { name = "a..b"; };)"), "name = \"a..b\" is not a domain name");
    one_problem(service("", R"(DNS_CHECK = { name = "has blank"; };)"), "is not a domain name");
    one_problem(service("", "DNS_CHECK = { name = \"" + std::string(64, 'x') + ".test\"; };"), "is not a domain name");
    one_problem(service("", R"(DNS_CHECK = { payload = "00"; };)"), "unknown key 'payload'");
}

// keepalived allows a VRRP instance without addresses (cloud setups: the notify scripts move
// the provider's floating address); the unicast addresses then decide its family.
TEST(VrrpInstance, WithoutAddressesLoadsAsVrrpv2Only) {
    auto v4 = load_string("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; } );", "t");
    ASSERT_TRUE(v4.ok()) << (v4.diagnostics().empty() ? "" : to_string(v4.diagnostics()[0]));
    EXPECT_TRUE(v4.config()->vrrp_instances[0].virtual_ipaddress.empty());
    EXPECT_EQ(v4.config()->vrrp_instances[0].family, Family::V4);
    // IPv6 is VRRPv3, whose adverts carry at least one address (RFC 5798 §5.2.5).
    auto v6 = load_string("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; "
                          "unicast_src_ip = \"2001:db8::1\"; unicast_peer = [ \"2001:db8::2\" ]; } );",
                          "t");
    ASSERT_FALSE(v6.ok());
    EXPECT_NE(to_string(v6.diagnostics()[0]).find("only a version = 2 instance may have none"), std::string::npos)
        << to_string(v6.diagnostics()[0]);
    auto v3 = load_string("vrrp_instances = ( { name = \"VI_1\"; interface = \"eth0\"; virtual_router_id = 51; version = 3; } );", "t");
    EXPECT_FALSE(v3.ok());
}

TEST(VrrpInstance, DontTrackPrimaryIsABooleanShownInThePlan) {
    auto off = valid(instance(""));
    ASSERT_TRUE(off);
    EXPECT_FALSE(off->vrrp_instances[0].dont_track_primary);
    EXPECT_THAT(format_plan(*off), HasSubstr("    eth0 down, missing or without a source address: FAULT\n"));
    auto on = valid(instance("dont_track_primary = true;"));
    ASSERT_TRUE(on);
    EXPECT_TRUE(on->vrrp_instances[0].dont_track_primary);
    EXPECT_THAT(format_plan(*on),
                HasSubstr("    eth0 down: not a FAULT (dont_track_primary); missing or without a source address: FAULT\n"));
    one_problem(instance("dont_track_primary = 1;"), "dont_track_primary");
}

TEST(Checks, SmtpCheck) {
    auto c = valid(service("", R"(SMTP_CHECK = { helo_name = "lb1.example.test"; connect_port = 25; connect_timeout = 3; retry = 2; };)"));
    const auto& hc = c->virtual_servers[0].real_servers[0].checks.at(0);
    EXPECT_EQ(check_name(hc), "SMTP_CHECK");
    EXPECT_EQ(std::get<SmtpProbe>(hc.probe).helo_name, "lb1.example.test");
    EXPECT_EQ(hc.connect_port, 25);
    EXPECT_EQ(hc.connect_timeout, std::chrono::seconds(3));
    EXPECT_EQ(hc.fall, 3u);
    EXPECT_THAT(format_plan(*c), HasSubstr("SMTP_CHECK :25 HELO lb1.example.test: 220 greeting, 250 to HELO, 221 to QUIT"));

    // keepalived's defaults: its HELO name, the real server's port.
    const auto d = valid(service("", "SMTP_CHECK = { };"));
    const auto& dc = d->virtual_servers[0].real_servers[0].checks.at(0);
    EXPECT_EQ(std::get<SmtpProbe>(dc.probe).helo_name, "smtpchecker.keepalived.org");
    EXPECT_EQ(dc.connect_port, 8080);
    // A real server without a port (fwmark service): port 25, where other checks need connect_port.
    auto f = valid("virtual_servers = ( { fwmark = 7; real_servers = ( { address = \"192.0.2.21\"; SMTP_CHECK = { }; } ); } );");
    EXPECT_EQ(f->virtual_servers[0].real_servers[0].checks.at(0).connect_port, 25);

    // Several hosts: a list of SMTP_CHECK groups (keepalived's host { } blocks are refused).
    auto two = valid(service("", R"(SMTP_CHECK = ( { connect_ip = "192.0.2.31"; }, { connect_ip = "192.0.2.32"; } );)"));
    EXPECT_EQ(two->virtual_servers[0].real_servers[0].checks.size(), 2u);
    one_problem(service("", R"(SMTP_CHECK = { host = { connect_ip = "192.0.2.31"; }; };)"),
                "unknown key 'host' (keepalived's deprecated SMTP_CHECK host { } blocks are not supported; give a list of "
                "SMTP_CHECK groups instead");
    // 'host' elsewhere gets no SMTP hint.
    auto elsewhere = problems(service("", "TCP_CHECK = { host = 1; };"));
    ASSERT_EQ(elsewhere.size(), 1u);
    EXPECT_THAT(elsewhere[0], Not(HasSubstr("SMTP")));

    one_problem(service("", R"(SMTP_CHECK = { helo_name = "two words"; };)"),
                "t.conf:1: SMTP_CHECK of real server 192.0.2.21:8080 of virtual server TCP 192.0.2.10:8080: helo_name = \"two words\" must be");
    one_problem(service("", R"(SMTP_CHECK = { helo_name = ""; };)"), "1-255 visible ASCII characters");
    one_problem(service("", "SMTP_CHECK = { helo_name = \"" + std::string(256, 'a') + "\"; };"), "1-255 visible ASCII");
    one_problem(service("", "SMTP_CHECK = { helo_name = \"a\\nMAIL\"; };"), "no blanks");
    one_problem(service("", "SMTP_CHECK = { helo_name = 7; };"), "helo_name");
    one_problem(service("", R"(SMTP_CHECK = { path = "/"; };)"), "unknown key 'path'");
    one_problem(service("", R"(TCP_CHECK = { helo_name = "x"; };)"), "unknown key 'helo_name'");
}

// An IPv4 and an IPv6 instance may share a VRID, but `use_vmac = true` names both macvlans
// vrrp.<VRID>: refused here rather than at start ("exists and is not this virtual MAC").
TEST(VrrpInstance, TwoInstancesCannotShareOneVmacName) {
    auto r = load_string(R"(vrrp_instances = (
    { name = "V4"; interface = "eth0"; virtual_router_id = 51; use_vmac = true; virtual_ipaddress = [ "192.0.2.10" ]; },
    { name = "V6"; interface = "eth0"; virtual_router_id = 51; use_vmac = true; virtual_ipaddress = [ "2001:db8::10" ]; }
);
)",
                         "vmac.conf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(to_string(r.diagnostics()[0]),
              "vmac.conf:3: vrrp instance \"V6\": use_vmac interface \"vrrp.51\" is also the one of instance \"V4\" (line 2); "
              "give one of them its own name (use_vmac = \"vrrp6.51\")");
    auto ok = load_string(R"(vrrp_instances = (
    { name = "V4"; interface = "eth0"; virtual_router_id = 51; use_vmac = true; virtual_ipaddress = [ "192.0.2.10" ]; },
    { name = "V6"; interface = "eth0"; virtual_router_id = 51; use_vmac = "vrrp6.51"; virtual_ipaddress = [ "2001:db8::10" ]; }
);
)",
                          "vmac.conf");
    EXPECT_TRUE(ok.ok()) << (ok.diagnostics().empty() ? "" : to_string(ok.diagnostics()[0]));
}


TEST(Global, VrrpSchedulingDefaultsToRealTimeWithKeepalivedsBudget) {
    auto d = valid("");
    EXPECT_EQ(d->global.vrrp_scheduling.rt_priority, 10);
    EXPECT_EQ(d->global.vrrp_scheduling.rlimit_rttime, std::chrono::microseconds(10000));
    EXPECT_FALSE(d->global.vrrp_scheduling.no_swap);
    auto c = valid("global_defs = { vrrp_rt_priority = 0; vrrp_rlimit_rttime = 1000; vrrp_no_swap = true; };");
    EXPECT_EQ(c->global.vrrp_scheduling.rt_priority, 0);
    EXPECT_EQ(c->global.vrrp_scheduling.rlimit_rttime, std::chrono::microseconds(1000));
    EXPECT_TRUE(c->global.vrrp_scheduling.no_swap);
    EXPECT_EQ(valid("global_defs = { vrrp_rt_priority = 99; vrrp_rlimit_rttime = 10000000; };")
                  ->global.vrrp_scheduling.rt_priority,
              99);
}

TEST(Global, VrrpSchedulingOutOfRangeIsRefusedAtItsLine) {
    one_problem("global_defs = {\n  vrrp_rt_priority = 100;\n};", "t.conf:2: global_defs: vrrp_rt_priority = 100 is out of range 0..99");
    one_problem("global_defs = { vrrp_rt_priority = -1; };", "vrrp_rt_priority = -1 is out of range 0..99");
    one_problem("global_defs = { vrrp_rlimit_rttime = 999; };", "vrrp_rlimit_rttime = 999 is out of range 1000..10000000");
    one_problem("global_defs = { vrrp_rlimit_rttime = 10000001; };", "is out of range 1000..10000000");
    one_problem("global_defs = { vrrp_no_swap = 1; };", "vrrp_no_swap");
}

