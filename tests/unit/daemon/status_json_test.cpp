// `lvsctl status --json` with plain values: the README's example is exactly what lvsd
// writes for its values (every field, in its order), unset values are null, and names
// that need escaping (or are not UTF-8) still make valid JSON.
#include "daemon/status.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace lvsd::daemon;

namespace {

// The README's example object (lvsctl, "`lvsctl status --json` prints one object"), its
// lines joined without their indentation: the one line lvsd writes.
std::string readme_example() {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/README.md");
    std::string line, out;
    bool section = false, block = false;
    while (std::getline(in, line)) {
        if (line.starts_with("`lvsctl status --json` prints one object")) section = true;
        else if (section && !block && line == "```json") block = true;
        else if (block && line == "```") return out;
        else if (block) out += line.substr(line.find_first_not_of(' '));
    }
    return "";
}

DaemonStatus example() {
    DaemonStatus s;
    s.version = "0.1.0";
    s.config = "/etc/lvsd/lvsd.conf";
    s.generation = 3;
    s.uptime_s = 812;
    VrrpInstanceStatus vi;
    vi.name = "VI_1";
    vi.state = "MASTER";
    vi.interface = "eth0";
    vi.virtual_router_id = 51;
    vi.priority = 150;
    vi.adverts_sent = 811;
    vi.adverts_received = 0;
    vi.transitions = 2;
    vi.effective_priority = 150;
    vi.vip_repairs = 0;
    vi.source = "192.168.100.2";
    vi.trackers.push_back({"script chk_proxy", 0, false, TrackerStatus::Script{812, 0, "exited with status 0"}});
    vi.state_since_s = 806;
    s.vrrp.push_back(vi);
    ServicePlaneStatus p{85, 4, 0, {}};
    VirtualServiceStatus vs;
    vs.service = "TCP 192.168.100.10:8080";
    vs.scheduler = "wlc";
    vs.in_kernel = true;
    vs.quorum = true;
    RealServerStatus rs;
    rs.address = "192.168.100.21";
    rs.port = 8080;
    rs.healthy = true;
    rs.checked = true;
    rs.weight = 1;
    rs.last_probe = ProbeStatus{true, "port open (SYN-ACK)", 412};
    rs.active_connections = 12;
    rs.inactive_connections = 40;
    rs.override_state = OverrideStatus{"draining", 412, false, false, std::nullopt};
    rs.probes = 812;
    vs.real_servers.push_back(rs);
    p.virtual_services.push_back(vs);
    s.ipvs = p;
    s.sync = SyncStatus{"master", "eth0", 51, "VI_1"};
    s.vrrp_thread.policy = "SCHED_RR";
    s.vrrp_thread.priority = 10;
    s.vrrp_thread.wanted_priority = 10;
    s.vrrp_thread.rlimit_rttime_us = 10000;
    return s;
}

}  // namespace

TEST(StatusJson, TheReadmeExampleIsWhatLvsdWrites) {
    const std::string readme = readme_example();
    ASSERT_FALSE(readme.empty()) << "README.md has no ```json example after \"`lvsctl status --json` prints one object\"";
    EXPECT_EQ(render_status_json(example()), readme + "\n");
}

TEST(StatusJson, UnsetValuesAreNull) {
    DaemonStatus s = example();
    s.ipvs.reset();
    s.sync.reset();
    s.vrrp[0].source.reset();
    s.vrrp[0].trackers = {{"interface eth1", -20, false, std::nullopt}};
    s.vrrp[0].dropped = {{"bad_ttl", 4}, {"bad_checksum", 1}};
    s.balancer_drained = true;  // a VRRP-only balancer drained: said without "ipvs"
    auto j = render_status_json(s);
    EXPECT_NE(j.find(R"("balancer_drained":true,"vrrp":[)"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("ipvs":null,"sync":null,"vrrp_thread":{)"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("problem":null},"announce":null})"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("source":null,)"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("trackers":[{"tracker":"interface eth1","delta":-20,"fault":false}])"), std::string::npos) << j;
    // In the order the reasons come (the counters' order), not sorted.
    EXPECT_NE(j.find(R"("dropped":{"bad_ttl":4,"bad_checksum":1})"), std::string::npos) << j;

    s = example();
    auto& rs = s.ipvs->virtual_services[0].real_servers[0];
    rs.weight.reset();
    rs.last_probe.reset();
    rs.active_connections.reset();
    rs.inactive_connections.reset();
    rs.probes.reset();
    rs.override_state.reset();
    rs.checked = false;
    s.ipvs->virtual_services[0].group = "web";
    s.sync->role.reset();
    j = render_status_json(s);
    EXPECT_NE(j.find(R"("group":"web")"), std::string::npos) << j;
    EXPECT_NE(j.find(R"("checked":false,"weight":null,"last_probe":null,"active_connections":null,)"
                     R"("inactive_connections":null,"probes":null,"override":null})"),
              std::string::npos)
        << j;
    EXPECT_NE(j.find(R"("sync":{"role":null,)"), std::string::npos) << j;
}

TEST(StatusJson, AnyNameMakesValidJson) {
    DaemonStatus s = example();
    s.config = "/etc/lvsd/we\"ird\\name\n\x01.conf";
    s.vrrp[0].name = "VI_\xff";  // not UTF-8
    s.vrrp[0].fault = "interface \"eth0\" is down";
    const auto text = render_status_json(s);
    ASSERT_TRUE(text.ends_with("}\n"));
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line";
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["config"], "/etc/lvsd/we\"ird\\name\n\x01.conf");
    EXPECT_EQ(j["vrrp"][0]["name"], "VI_\xef\xbf\xbd");  // U+FFFD
    EXPECT_EQ(j["vrrp"][0]["fault"], "interface \"eth0\" is down");
}

TEST(StatusJson, AnOverrideSaysWhichSinceWhenAndOnWhat) {
    DaemonStatus s = example();
    s.vrrp[0].override_ = VrrpInstanceStatus::Override{"hold", 190, std::nullopt};
    auto j = render_status_json(s);
    EXPECT_NE(j.find(R"("state_since_s":806,"override":{"kind":"hold","since_s":190,"group":null}})"),
              std::string::npos)
        << j;
    s.vrrp[0].override_ = VrrpInstanceStatus::Override{"failover", 3, "G1"};
    j = render_status_json(s);
    EXPECT_NE(j.find(R"("override":{"kind":"failover","since_s":3,"group":"G1"})"), std::string::npos) << j;
}

TEST(StatusJson, AnnouncedVips) {
    DaemonStatus s = example();
    EXPECT_NE(render_status_json(s).find(R"("announce":null})"), std::string::npos);
    AnnounceStatus a;
    a.table = 100;
    a.protocol = 250;
    a.interface = "lo";
    a.drained = true;
    a.vips = {{"192.0.2.10", "withdrawn", "balancer drained", false, true}};
    s.announce = a;
    EXPECT_NE(render_status_json(s).find(
                  R"("announce":{"table":100,"protocol":250,"interface":"lo","drained":true,"problem":null,"repairs":0,)"
                  R"("vips":[{"vip":"192.0.2.10","state":"withdrawn","why":"balancer drained","route":false,"address":true}]}})"),
              std::string::npos)
        << render_status_json(s);
}
