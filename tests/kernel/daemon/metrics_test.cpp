// The metrics endpoint's IPVS and real-server series against the real kernel (in the
// VM): lvsd runs a DR service with one healthy proxy and one dead one, a client makes
// connections through the VIP, and the scrape must agree with the kernel (ipvsadm
// --stats), with the health checker and with the reconciler's own count of operations
// (lvsctl status --json), also after a reload that changes one weight.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "support/netns_lab.hpp"

using namespace lvsd::testing;

namespace {

const std::string kLvsd = std::string(LVSD_BINARY_DIR) + "/lvsd";
const std::string kLvsctl = std::string(LVSD_BINARY_DIR) + "/lvsctl";

const std::string kVs = R"(service="TCP 192.0.2.10:8080")";
const std::string kRs1 = R"(service="TCP 192.0.2.10:8080",real_server="192.0.2.3:8080")";
const std::string kRs2 = R"(service="TCP 192.0.2.10:8080",real_server="192.0.2.4:8080")";

// rs1 (192.0.2.3) serves on 8080 and holds the VIP on lo (DR); 192.0.2.4 never answers.
std::string config(const std::string& socket, int rs1_weight) {
    return R"(global_defs = { control_socket = ")" + socket + R"("; metrics_listen = "127.0.0.1:9100"; };
virtual_servers = ( {
    address = "192.0.2.10"; port = 8080; protocol = "TCP"; lb_algo = "wlc"; lb_kind = "DR";
    delay_loop = 0.2;
    real_servers = (
        { address = "192.0.2.3"; weight = )" +
           std::to_string(rs1_weight) + R"(; TCP_CHECK = { connect_timeout = 0.3; retry = 0; rise = 1; }; },
        { address = "192.0.2.4"; weight = 1; TCP_CHECK = { connect_timeout = 0.3; retry = 0; rise = 1; }; }
    );
} );
)";
}

// The value of one series ("name{labels}" exactly as rendered), or "".
std::string value(const std::string& scrape, const std::string& series) {
    std::istringstream in(scrape);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(series + " ")) return line.substr(series.size() + 1);
    return "";
}

// A column of `ipvsadm -Ln --stats` for the line whose second field is `endpoint`
// (`TCP  192.0.2.10:8080 ...` or `  -> 192.0.2.3:8080 ...`): 2 Conns, 3 InPkts, 4 OutPkts, 5 InBytes.
std::string ipvsadm_column(const std::string& stats, const std::string& endpoint, int column) {
    std::istringstream in(stats);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        if (w.size() > static_cast<std::size_t>(column) && w[1] == endpoint) return w[column];
    }
    return "?";
}

class MetricsInKernel : public ::testing::Test {
protected:
    void SetUp() override {
        lab_.netns("sw");
        lab_.bridge("sw", "br0");
        for (const char* ns : {"lb", "cl", "rs"}) {
            lab_.netns(ns);
            lab_.veth(ns, "eth0", "sw", std::string(ns) + "0");
            lab_.enslave("sw", std::string(ns) + "0", "br0");
        }
        lab_.address("lb", "eth0", "192.0.2.2/24");
        lab_.address("lb", "eth0", "192.0.2.10/32");  // the VIP (VRRP would put it here)
        lab_.address("cl", "eth0", "192.0.2.1/24");
        // The real server's side of DR: the VIP on lo, and no ARP answers for it.
        lab_.sysctl("rs", "net.ipv4.conf.all.arp_ignore", "1");
        lab_.sysctl("rs", "net.ipv4.conf.all.arp_announce", "2");
        lab_.address("rs", "eth0", "192.0.2.3/24");
        lab_.address("rs", "lo", "192.0.2.10/32");
        dir_ = "/tmp/" + lab_.prefix() + "metrics";
        ::mkdir(dir_.c_str(), 0700);
        ::mkdir((dir_ + "/www").c_str(), 0700);
        std::ofstream(dir_ + "/www/index.html") << "hello\n";
        conf_ = dir_ + "/lvsd.conf";
        socket_ = dir_ + "/ctl.sock";
        std::ofstream(conf_) << config(socket_, 1);
    }
    void TearDown() override { run({"rm", "-rf", dir_}); }

    std::string scrape() {
        return lab_.exec("lb", {"curl", "-sS", "--max-time", "5", "http://127.0.0.1:9100/metrics"}).output;
    }
    std::string ops_sent() {
        auto json = lab_.exec("lb", {kLvsctl, "-s", socket_, "status", "--json"}).output;
        std::smatch m;
        return std::regex_search(json, m, std::regex(R"("ops_sent":([0-9]+))")) ? std::string(m[1]) : "?";
    }

    Lab lab_;
    std::string dir_, conf_, socket_;
};

}  // namespace

TEST_F(MetricsInKernel, IpvsAndRealServerSeriesMatchTheKernel) {
    auto proxy = lab_.spawn("rs", {"busybox", "httpd", "-f", "-p", "8080", "-h", dir_ + "/www"});
    auto lvsd = lab_.spawn("lb", {kLvsd, "-f", conf_});

    // Settled: rs1 up and in the table, rs2 down and out.
    std::string m;
    ASSERT_TRUE(wait_until([&] {
        m = scrape();
        return value(m, "lvsd_real_server_up{" + kRs1 + "}") == "1" &&
               value(m, "lvsd_real_server_up{" + kRs2 + "}") == "0" &&
               value(m, "lvsd_real_server_in_kernel{" + kRs2 + "}") == "0";
    }, 30s)) << m << lvsd.output();

    // Three requests through the VIP, answered by the proxy directly (DR).
    for (int i = 0; i < 3; ++i) {
        auto r = lab_.exec("cl", {"curl", "-sS", "--max-time", "5", "http://192.0.2.10:8080/index.html"});
        ASSERT_EQ(r.output, "hello\n") << r.output;
    }
    // The last ACKs may still be on their way: read both until they agree and stay put.
    std::string stats;
    ASSERT_TRUE(wait_until([&] {
        stats = lab_.exec("lb", {"ipvsadm", "-Ln", "--stats"}).output;
        m = scrape();
        return value(m, "lvsd_ipvs_service_connections_total{" + kVs + "}") == "3" &&
               value(m, "lvsd_ipvs_service_incoming_packets_total{" + kVs + "}") ==
                   ipvsadm_column(stats, "192.0.2.10:8080", 3) &&
               stats == lab_.exec("lb", {"ipvsadm", "-Ln", "--stats"}).output;
    }, 10s, 200ms)) << m << stats;

    // Per service, as the kernel counts.
    EXPECT_EQ(value(m, "lvsd_ipvs_stats_success"), "1");
    EXPECT_EQ(value(m, "lvsd_ipvs_service_in_kernel{" + kVs + "}"), "1");
    EXPECT_EQ(value(m, "lvsd_ipvs_service_connections_total{" + kVs + "}"), ipvsadm_column(stats, "192.0.2.10:8080", 2))
        << stats;
    EXPECT_EQ(value(m, "lvsd_ipvs_service_incoming_packets_total{" + kVs + "}"),
              ipvsadm_column(stats, "192.0.2.10:8080", 3))
        << stats;
    EXPECT_NE(value(m, "lvsd_ipvs_service_incoming_bytes_total{" + kVs + "}"), "0");
    // DR: the replies went straight from the proxy to the client.
    EXPECT_EQ(value(m, "lvsd_ipvs_service_outgoing_packets_total{" + kVs + "}"), "0");
    // Per real server.
    EXPECT_EQ(value(m, "lvsd_ipvs_real_server_connections_total{" + kRs1 + "}"), "3") << m;
    EXPECT_EQ(value(m, "lvsd_ipvs_real_server_connections_total{" + kRs1 + "}"),
              ipvsadm_column(stats, "192.0.2.3:8080", 2));
    EXPECT_NE(value(m, "lvsd_ipvs_real_server_inactive_connections{" + kRs1 + "}"), "")
        << "finished connections linger in TIME_WAIT/FIN_WAIT as inactive";
    EXPECT_EQ(value(m, "lvsd_ipvs_real_server_connections_total{" + kRs2 + "}"), "") << "not in the kernel";
    EXPECT_EQ(value(m, "lvsd_real_server_weight{" + kRs1 + "}"), "1");
    EXPECT_EQ(value(m, "lvsd_real_server_in_kernel{" + kRs1 + "}"), "1");
    EXPECT_EQ(value(m, "lvsd_real_server_weight{" + kRs2 + "}"), "0");
    EXPECT_EQ(value(m, "lvsd_real_server_last_probe_success{" + kRs1 + "}"), "1");
    EXPECT_EQ(value(m, "lvsd_real_server_last_probe_success{" + kRs2 + "}"), "0");
    EXPECT_NE(value(m, "lvsd_real_server_probe_latency_seconds{" + kRs1 + "}"), "");
    EXPECT_NE(value(m, "lvsd_real_server_probes_total{" + kRs1 + "}"), "0");

    // The reconciler, as lvsctl status counts it.
    const std::string before = value(m, "lvsd_ipvs_operations_total");
    EXPECT_EQ(before, ops_sent());
    EXPECT_NE(before, "0");
    EXPECT_EQ(value(m, "lvsd_ipvs_operation_errors_total"), "0");
    EXPECT_EQ(value(m, "lvsd_ipvs_reconcile_failures_total"), "0");
    EXPECT_NE(value(m, "lvsd_ipvs_reconciles_total"), "0");

    // A reload that changes one weight: exactly one more operation, the new weight, and
    // the real server's counters kept (an edit in place, not delete and re-add).
    std::ofstream(conf_) << config(socket_, 5);
    auto reload = lab_.exec("lb", {kLvsctl, "-s", socket_, "reload"});
    ASSERT_EQ(reload.status, 0) << reload.output;
    m = scrape();
    EXPECT_EQ(value(m, "lvsd_ipvs_operations_total"), std::to_string(std::stoull(before) + 1)) << m;
    EXPECT_EQ(value(m, "lvsd_real_server_weight{" + kRs1 + "}"), "5");
    EXPECT_EQ(value(m, "lvsd_ipvs_real_server_connections_total{" + kRs1 + "}"), "3");
    EXPECT_EQ(value(m, "lvsd_config_generation"), "2");

    ASSERT_EQ(::kill(lvsd.pid(), SIGTERM), 0);
    ASSERT_TRUE(wait_until([&] { return !lvsd.running(); }, 5s));
    EXPECT_EQ(lvsd.status(), 0) << lvsd.output();
}
