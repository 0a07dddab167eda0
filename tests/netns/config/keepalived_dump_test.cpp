// The pure half of the keepalived reading tool (keepalived_reading.hpp) on excerpts of
// real keepalived 2.2.7 logs: the dump readers, the log facts and the comparison. No root
// needed; it sits beside the netns test that runs keepalived because it links the same
// support library.
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "support/keepalived_dump.hpp"
#include "support/keepalived_reading.hpp"

namespace ka = lvsd::testing::keepalived;
namespace json = boost::json;

namespace {

// From keepalived -P on 04-eltex-unicast-init-fail.conf (shortened), with the -l prefix.
const char* kVrrpLog =
    "Mon Nov 30 09:14:26 2026: Starting VRRP child process, pid=239\n"
    "Mon Nov 30 09:14:26 2026: (/c/04.conf: Line 36) Unknown keyword 'nb_get_retry'\n"
    "Mon Nov 30 09:14:26 2026: (Line 11) Unknown keyword 'garp_master_delay'\n"
    "Mon Nov 30 09:14:26 2026: (/c/04.conf: Line 36) Unknown keyword 'nb_get_retry'\n"
    "Mon Nov 30 09:14:26 2026: (/c/inc/x.conf: Line 2) Unknown keyword 'foo'\n"
    "Mon Nov 30 09:14:26 2026: Script /etc/keepalived/check.sh cannot be accessed - No such file or directory\n"
    "Mon Nov 30 09:14:26 2026: Script user 'keepalived_script' does not exist\n"
    "Mon Nov 30 09:14:26 2026: Script user 'ziggy' does not exist\n"
    "Mon Nov 30 09:14:26 2026: (/c/04.conf: Line 25) WARNING - interface ens7f0 for vrrp_instance pub_a doesn't exist\n"
    "Mon Nov 30 09:14:26 2026: ------< VRRP Topology >------\n"
    "Mon Nov 30 09:14:26 2026:  VRRP Instance = VI_SWLC\n"
    "Mon Nov 30 09:14:26 2026:    VRRP Version = 2\n"
    "Mon Nov 30 09:14:26 2026:    Wantstate = BACKUP\n"
    "Mon Nov 30 09:14:26 2026:    Interface = pub_a, vmac on ens7f0\n"
    "Mon Nov 30 09:14:26 2026:    Using src_ip = 192.0.2.1 (from configuration)\n"
    "Mon Nov 30 09:14:26 2026:    Gratuitous ARP delay = 5\n"
    "Mon Nov 30 09:14:26 2026:    Gratuitous ARP repeat = 5\n"
    "Mon Nov 30 09:14:26 2026:    Gratuitous ARP refresh = 0\n"
    "Mon Nov 30 09:14:26 2026:    Virtual Router ID = 1\n"
    "Mon Nov 30 09:14:26 2026:    Priority = 150\n"
    "Mon Nov 30 09:14:26 2026:    Advert interval = 1 sec\n"
    "Mon Nov 30 09:14:26 2026:    Preempt = disabled\n"
    "Mon Nov 30 09:14:26 2026:    Preempt delay = 5 secs\n"
    "Mon Nov 30 09:14:26 2026:    Authentication type = SIMPLE_PASSWORD\n"
    "Mon Nov 30 09:14:26 2026:    Password = secret1\n"
    "Mon Nov 30 09:14:26 2026:    Virtual IP (2):\n"
    "Mon Nov 30 09:14:26 2026:      192.0.2.100 dev pub_a@ens7f0 scope global label eth0:1\n"
    "Mon Nov 30 09:14:26 2026:      2001:db8::1/64 dev eth0 scope global preferred_lft forever\n"
    "Mon Nov 30 09:14:26 2026: Stopping\n"
    "Mon Nov 30 09:14:26 2026:    Unicast Peer :\n"
    "Mon Nov 30 09:14:26 2026:      192.0.2.11 min_ttl 0 max_ttl 255\n"
    "Mon Nov 30 09:14:26 2026:    Tracked scripts :\n"
    "Mon Nov 30 09:14:26 2026:      check_network weight -50\n"
    "Mon Nov 30 09:14:26 2026: ------< VRRP Scripts >------\n"
    "Mon Nov 30 09:14:26 2026:  VRRP Script = check_network\n"
    "Mon Nov 30 09:14:26 2026:    Command = '/etc/keepalived/check_ping.sh' 'a b' 'c'\n"
    "Mon Nov 30 09:14:26 2026:    Interval = 5 sec\n"
    "Mon Nov 30 09:14:26 2026:    Timeout = 0 sec\n"
    "Mon Nov 30 09:14:26 2026:    Weight = 50\n"
    "Mon Nov 30 09:14:26 2026:    Rise = 3\n"
    "Mon Nov 30 09:14:26 2026:    Fall = 3\n"
    "Mon Nov 30 09:14:26 2026:    Init state = INIT\n"
    "Mon Nov 30 09:14:26 2026:    Script uid:gid = 0:0\n"
    "Mon Nov 30 09:14:26 2026: ------< Interfaces >------\n";

TEST(KeepalivedDump, VrrpInstanceAndScriptAsKeepalivedPrintsThem) {
    const auto lines = ka::log_lines(kVrrpLog);
    const auto r = ka::vrrp_reading(lines);
    ASSERT_EQ(r.at("vrrp_instances").as_array().size(), 1u);
    const auto& i = r.at("vrrp_instances").as_array()[0].as_object();
    EXPECT_EQ(i.at("name"), "VI_SWLC");
    EXPECT_EQ(i.at("state"), "BACKUP");
    EXPECT_EQ(i.at("interface"), "ens7f0");
    EXPECT_EQ(i.at("use_vmac"), "pub_a");
    EXPECT_EQ(i.at("priority"), 150);
    EXPECT_EQ(i.at("nopreempt"), true);
    EXPECT_EQ(i.at("preempt_delay").as_double(), 5);
    EXPECT_EQ(i.at("auth_type"), "PASS");
    EXPECT_EQ(i.at("unicast_src_ip"), "192.0.2.1");
    EXPECT_EQ(i.at("unicast_peers"), (json::array{"192.0.2.11"}));
    // The interleaved "Stopping" (column 0) is not part of the dump and ends no list.
    EXPECT_EQ(i.at("vips"), (json::array{"192.0.2.100/32 dev pub_a label eth0:1", "2001:db8::1/64 dev eth0"}));
    EXPECT_EQ(i.at("track_scripts"), (json::array{json::object{{"name", "check_network"}, {"weight", -50}}}));
    const auto& s = r.at("vrrp_scripts").as_array()[0].as_object();
    EXPECT_EQ(s.at("script"), "/etc/keepalived/check_ping.sh a b c");
    EXPECT_EQ(s.at("interval").as_double(), 5);
}

TEST(KeepalivedDump, LogFacts) {
    const auto lines = ka::log_lines(kVrrpLog);
    const auto m = ka::missing(lines);
    EXPECT_EQ(m.interfaces, std::vector<std::string>{"ens7f0"});
    EXPECT_EQ(m.scripts, std::vector<std::string>{"/etc/keepalived/check.sh"});
    EXPECT_EQ(m.users, std::vector<std::string>{"ziggy"});  // not the default keepalived_script
    EXPECT_EQ(ka::children(lines), std::vector<std::string>{"vrrp"});
    // keepalived_script only where keepalived cannot do without it.
    auto needy = lines;
    needy.push_back("(/c/04.conf: Line 3) Unable to set default user for vrrp script chk - removing");
    EXPECT_EQ(ka::missing(needy).users, (std::vector<std::string>{"ziggy", "keepalived_script"}));
    // Deduplicated, the top file's without "file", the included one's with it, by line.
    const auto msgs = ka::messages({lines, lines}, "/c/04.conf", "/c");
    EXPECT_EQ(json::serialize(msgs),
              R"([{"line":11,"text":"Unknown keyword 'garp_master_delay'"},)"
              R"({"line":25,"text":"WARNING - interface ens7f0 for vrrp_instance pub_a doesn't exist"},)"
              R"({"line":36,"text":"Unknown keyword 'nb_get_retry'"},)"
              R"({"line":2,"text":"Unknown keyword 'foo'","file":"inc/x.conf"}])");
    EXPECT_EQ(ka::rejection(lines), "");
    EXPECT_EQ(ka::rejection(ka::log_lines("Non-existent interface specified in configuration\n"
                                          "Stopped - used 0.03 user time\n"
                                          "pid 257 exited with permanent error CONFIG. Terminating\n")),
              "Non-existent interface specified in configuration");
}

TEST(KeepalivedDump, CheckerDumpWithGroupFwmarkAndChecks) {
    const char* log =
        "------< LVS Topology >------\n"
        " ------< Virtual server group >------\n"
        " Virtual Server Group = g6, IPv4 = no, IPv6 = yes\n"
        "   VIP Range = 2001:db8::2-2001:db8::9, VPORT = 80\n"
        "     Alive: 0 tcp, 0 udp, 0 sctp\n"
        " ------< Virtual server >------\n"
        " VS FWMARK = 1\n"
        "   delay_loop = 6.000000\n"
        "   lvs_sched = rr\n"
        "   persistence timeout = 900\n"
        "   protocol = none\n"
        "   quorum = 1, hysteresis = 0\n"
        "   default forwarding method = NAT\n"
        "   sorry server = [2001:db8::99]:tcp:80\n"
        "     forwarding method = DR\n"
        "   ------< Real server >------\n"
        "   RIP = 192.0.2.100, RPORT = 0, WEIGHT = 3 EFF WEIGHT = 3\n"
        "   forwarding method = NAT\n"
        "   Inhibit on failure is ON\n"
        "------< Health checkers >------\n"
        " FWM 1 -> [192.0.2.100]:none:0\n"
        "   Delay loop = 6000000 us\n"
        "   Retries = 3\n"
        "   Default delay before retry = 1000000 us\n"
        "   Connection\n"
        "     Dest = [192.0.2.100]:80\n"
        "     Timeout = 3.000000\n"
        "   Keepalive method = HTTP_GET, http protocol 1.0\n"
        "   Checked url = /status\n"
        "     digest = d36f8f9425c4a8000ad9c4a97185aca5\n"
        "     HTTP Status Code(s)\n"
        "       200-299\n";
    const auto r = ka::checker_reading(ka::log_lines(log));
    EXPECT_EQ(json::serialize(r.at("virtual_server_groups")),
              R"([{"name":"g6","members":["2001:db8::2-2001:db8::9 80"]}])");
    const auto& vs = r.at("virtual_servers").as_array().at(0).as_object();
    EXPECT_EQ(vs.at("service"), "FWM 1");
    EXPECT_EQ(vs.at("sorry_server"), "[2001:db8::99]:80");
    EXPECT_EQ(vs.at("persistence_timeout").as_double(), 900);
    const auto& rs = vs.at("real_servers").as_array().at(0).as_object();
    EXPECT_EQ(rs.at("inhibit_on_failure"), true);
    const auto& c = rs.at("checks").as_array().at(0).as_object();
    EXPECT_EQ(c.at("type"), "HTTP_GET");
    EXPECT_EQ(c.at("connect_port"), 80);
    EXPECT_EQ(c.at("delay_before_retry").as_double(), 1);
    EXPECT_EQ(json::serialize(c.at("urls")),
              R"([{"path":"/status","status_code":["200-299"],"digest":"d36f8f9425c4a8000ad9c4a97185aca5"}])");
}

TEST(KeepalivedDump, MalformedDumpsAreErrorsThatSayWhat) {
    const auto bad = ka::log_lines(
        "------< VRRP Topology >------\n VRRP Instance = VI_1\n   Wantstate = MASTER\n   Interface = eth0\n"
        "   Virtual Router ID = fifty\n");
    try {
        ka::vrrp_reading(bad);
        FAIL() << "no error";
    } catch (const ka::dump::DumpError& e) {
        EXPECT_NE(std::string(e.what()).find("vrrp_instance VI_1"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("fifty"), std::string::npos) << e.what();
    }
    const auto orphan = ka::log_lines("------< LVS Topology >------\n------< Health checkers >------\n"
                                      " [192.0.2.1]:tcp:80 -> [192.0.2.2]:tcp:80\n   Retries = 1\n");
    EXPECT_THROW(ka::checker_reading(orphan), ka::dump::DumpError);
}

TEST(KeepalivedDump, DifferencesNameTheField) {
    const auto want = json::parse(R"({"file":"51.conf","vrrp_instances":[{"name":"VI_1","priority":100,"advert_int":1}],
                                      "virtual_servers":[]})");
    const auto got = json::parse(R"({"file":"51.conf","vrrp_instances":[{"name":"VI_1","priority":101,"advert_int":1.0}],
                                     "virtual_servers":[{"service":"TCP 192.0.2.1:80"}]})");
    EXPECT_EQ(ka::differences(want, got, {"file", "vrrp_instances"}),
              std::vector<std::string>{"vrrp_instances[0:VI_1].priority: checked in 100, keepalived now 101"});
    const auto all = ka::differences(want, got);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1], R"(virtual_servers[0:TCP 192.0.2.1:80]: not checked in, keepalived now shows {"service": "TCP 192.0.2.1:80"})");
    EXPECT_TRUE(ka::differences(want, want).empty());
}

}  // namespace
