// The metrics renderer, with plain values: the text format's structure (HELP and TYPE
// before every family, each family's samples together, escaping) and the series an
// operator graphs and alerts on. What the HTTP server answers: metrics_server_test.cpp.
#include "daemon/metrics.hpp"

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

using namespace lvsd;
using namespace lvsd::daemon;

namespace {

// Checks the exposition format's structure and returns the samples as "name{labels}" ->
// value text. Fails the test on a sample outside its family, a family written twice, a
// family without HELP or TYPE, a malformed line or a duplicate series.
std::map<std::string, std::string> parse(const std::string& text) {
    static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
    static const std::regex kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
    static const std::regex kSample(
        R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf))re");
    std::map<std::string, std::string> samples;
    std::set<std::string> families;
    std::string help_of, type_of, current;
    std::istringstream in(text);
    std::string line;
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "the last line must end in a newline";
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, kHelp)) {
            EXPECT_TRUE(families.insert(m[1]).second) << "family written twice: " << m[1];
            help_of = m[1];
            current.clear();
        } else if (std::regex_match(line, m, kType)) {
            EXPECT_EQ(m[1], help_of) << "TYPE without HELP: " << line;
            if (std::string(m[2]) == "counter") {
                EXPECT_TRUE(std::string(m[1]).ends_with("_total")) << "counter without _total: " << m[1];
            }
            current = m[1];
        } else if (std::regex_match(line, m, kSample)) {
            EXPECT_EQ(m[1], current) << "sample outside its family: " << line;
            std::string key = std::string(m[1]) + std::string(m[2]);
            EXPECT_TRUE(samples.emplace(key, m[7]).second) << "duplicate series: " << key;
        } else {
            ADD_FAILURE() << "not a line of the text format: \"" << line << "\"";
        }
    }
    return samples;
}

MetricsSnapshot vrrp_only() {
    MetricsSnapshot s;
    s.process.version = "0.1.0";
    s.process.start_time_seconds = 1700000000.5;
    s.process.config_generation = 3;
    s.process.reloads_succeeded = 2;
    s.process.reloads_failed = 1;
    s.process.last_reload_succeeded = false;
    VrrpInstanceMetrics vi;
    vi.name = "VI_1";
    vi.interface = "eth0";
    vi.virtual_router_id = 51;
    vi.version = 3;
    vi.state = vrrp::State::Master;
    vi.priority = 150;
    vi.effective_priority = 150;
    vi.state_seconds = 12.25;
    vi.counters.adverts_sent = 1234;
    vi.counters.adverts_received = 7;
    vi.counters.transitions = 2;
    vi.counters.garps_sent = 10;
    vi.counters.send_errors = 1;
    vi.counters.dropped[static_cast<std::size_t>(vrrp::DropReason::BadTtl)] = 4;
    s.vrrp.push_back(vi);
    return s;
}

MetricsSnapshot with_services() {
    MetricsSnapshot s = vrrp_only();
    ServicePlaneMetrics p;
    p.reconciles = 12;
    p.reconcile_failures = 1;
    p.ops_sent = 5;
    p.ops_failed = 2;
    p.stats_read = true;
    p.probes.probes_ok = 100;
    p.probes.probes_failed = 9;
    p.probes.probes_inconclusive = 1;
    p.probes.in_flight = 2;
    ServiceMetrics vs;
    vs.name = "TCP 192.0.2.10:8080";
    vs.in_kernel = true;
    vs.kernel = ipvs::Stats{.connections = 42, .packets_in = 1000, .packets_out = 0, .bytes_in = 64000, .bytes_out = 0};
    RealServerMetrics up;
    up.name = "192.0.2.21:8080";
    up.checked = true;
    up.up = true;
    up.weight = 3;
    up.probes = 60;
    up.last_probe = healthcheck::ProbeResult{true, "connected", std::chrono::microseconds(1500)};
    ipvs::DestinationStatus k;
    k.active_connections = 5;
    k.inactive_connections = 2;
    k.persistent_connections = 1;
    k.stats.connections = 40;
    k.stats.bytes_in = 60000;
    up.kernel = k;
    RealServerMetrics down;
    down.name = "192.0.2.22:8080";
    down.checked = true;
    down.up = false;
    down.probes = 49;
    down.last_probe = healthcheck::ProbeResult{false, "connect refused", std::chrono::microseconds(250)};
    RealServerMetrics unchecked;
    unchecked.name = "192.0.2.23:8080";
    unchecked.weight = 1;
    ipvs::DestinationStatus k3;
    k3.active_connections = 1;
    k3.inactive_connections = 3;
    unchecked.kernel = k3;
    vs.real_servers = {up, down, unchecked};
    p.services.push_back(vs);
    ServiceMetrics absent;
    absent.name = "FWM 7";
    p.services.push_back(absent);
    s.ipvs = p;
    s.http.responses = {{200, 9}, {404, 1}};
    s.http.rejected[static_cast<std::size_t>(HttpReject::ReadTimeout)] = 3;
    s.http.open_connections = 1;
    return s;
}

const std::string kRs1 = R"(service="TCP 192.0.2.10:8080",real_server="192.0.2.21:8080")";
const std::string kRs2 = R"(service="TCP 192.0.2.10:8080",real_server="192.0.2.22:8080")";
const std::string kRs3 = R"(service="TCP 192.0.2.10:8080",real_server="192.0.2.23:8080")";
const std::string kVs = R"(service="TCP 192.0.2.10:8080")";

}  // namespace

TEST(MetricsRender, ProcessSeries) {
    auto m = parse(render_metrics(vrrp_only()));
    EXPECT_EQ(m.at(R"(lvsd_build_info{version="0.1.0"})"), "1");
    EXPECT_EQ(m.at("lvsd_start_time_seconds"), "1700000000.5");
    EXPECT_EQ(m.at("lvsd_config_generation"), "3");
    EXPECT_EQ(m.at(R"(lvsd_config_reloads_total{result="success"})"), "2");
    EXPECT_EQ(m.at(R"(lvsd_config_reloads_total{result="failure"})"), "1");
    EXPECT_EQ(m.at("lvsd_config_last_reload_successful"), "0");
}

TEST(MetricsRender, VrrpStateIsOneHotAndCountersArePerInstance) {
    auto m = parse(render_metrics(vrrp_only()));
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="MASTER"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="BACKUP"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="FAULT"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_1",state="INIT"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_instance_info{vrrp_instance="VI_1",interface="eth0",vrid="51",version="3"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_priority{vrrp_instance="VI_1"})"), "150");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_effective_priority{vrrp_instance="VI_1"})"), "150");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state_duration_seconds{vrrp_instance="VI_1"})"), "12.25");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_adverts_sent_total{vrrp_instance="VI_1"})"), "1234");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_adverts_received_total{vrrp_instance="VI_1"})"), "7");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_transitions_total{vrrp_instance="VI_1"})"), "2");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_garps_sent_total{vrrp_instance="VI_1"})"), "10");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_advert_send_errors_total{vrrp_instance="VI_1"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_packets_dropped_total{vrrp_instance="VI_1",reason="bad_ttl"})"), "4");
    // Every reason is there from the start, so rate() and alerts work on the first drop.
    EXPECT_EQ(m.at(R"(lvsd_vrrp_packets_dropped_total{vrrp_instance="VI_1",reason="bad_checksum"})"), "0");
    std::size_t reasons = 0;
    for (const auto& [k, v] : m) reasons += k.starts_with("lvsd_vrrp_packets_dropped_total{");
    EXPECT_EQ(reasons, static_cast<std::size_t>(vrrp::DropReason::kCount));
}

TEST(MetricsRender, NoServicePlaneMeansNoIpvsSeries) {
    auto text = render_metrics(vrrp_only());
    EXPECT_EQ(text.find("lvsd_ipvs_"), std::string::npos);
    EXPECT_EQ(text.find("lvsd_real_server_"), std::string::npos);
    // And no VRRP families without instances.
    MetricsSnapshot empty;
    EXPECT_EQ(render_metrics(empty).find("lvsd_vrrp_"), std::string::npos);
    parse(render_metrics(empty));
}

TEST(MetricsRender, RealServersHealthWeightAndProbes) {
    auto m = parse(render_metrics(with_services()));
    EXPECT_EQ(m.at("lvsd_real_server_up{" + kRs1 + "}"), "1");
    EXPECT_EQ(m.at("lvsd_real_server_up{" + kRs2 + "}"), "0");
    EXPECT_EQ(m.at("lvsd_real_server_up{" + kRs3 + "}"), "1");
    EXPECT_EQ(m.at("lvsd_real_server_weight{" + kRs1 + "}"), "3");
    EXPECT_EQ(m.at("lvsd_real_server_in_kernel{" + kRs1 + "}"), "1");
    // Down and out of the table: weight 0 and in_kernel 0, not a missing series.
    EXPECT_EQ(m.at("lvsd_real_server_weight{" + kRs2 + "}"), "0");
    EXPECT_EQ(m.at("lvsd_real_server_in_kernel{" + kRs2 + "}"), "0");
    EXPECT_EQ(m.at("lvsd_real_server_probe_latency_seconds{" + kRs1 + "}"), "0.0015");
    EXPECT_EQ(m.at("lvsd_real_server_probe_latency_seconds{" + kRs2 + "}"), "0.00025");
    EXPECT_EQ(m.at("lvsd_real_server_last_probe_success{" + kRs1 + "}"), "1");
    EXPECT_EQ(m.at("lvsd_real_server_last_probe_success{" + kRs2 + "}"), "0");
    EXPECT_EQ(m.at("lvsd_real_server_probes_total{" + kRs2 + "}"), "49");
    // No check: no probe series.
    EXPECT_FALSE(m.contains("lvsd_real_server_probes_total{" + kRs3 + "}"));
    EXPECT_FALSE(m.contains("lvsd_real_server_probe_latency_seconds{" + kRs3 + "}"));
    EXPECT_EQ(m.at(R"(lvsd_healthcheck_probes_total{result="success"})"), "100");
    EXPECT_EQ(m.at(R"(lvsd_healthcheck_probes_total{result="failure"})"), "9");
    EXPECT_EQ(m.at(R"(lvsd_healthcheck_probes_total{result="inconclusive"})"), "1");
    EXPECT_EQ(m.at("lvsd_healthcheck_probes_in_flight"), "2");
}

TEST(MetricsRender, OperatorOverridesOnePerKind) {
    auto s = with_services();
    auto& reals = s.ipvs->services[0].real_servers;
    reals[0].override_state = OverrideStatus{"draining", 30, true, false, 7};
    reals[1].override_state = OverrideStatus{std::nullopt, std::nullopt, false, true, std::nullopt};
    s.balancer_drained = true;
    auto m = parse(render_metrics(s));
    EXPECT_EQ(m.at("lvsd_real_server_override{" + kRs1 + R"(,override="draining"})"), "1");
    EXPECT_EQ(m.at("lvsd_real_server_override{" + kRs1 + R"(,override="weight"})"), "1");
    EXPECT_EQ(m.at("lvsd_real_server_override{" + kRs2 + R"(,override="disabled"})"), "1");
    size_t series = 0;
    for (const auto& [k, v] : m) series += k.starts_with("lvsd_real_server_override{");
    EXPECT_EQ(series, 3u);  // none for the real server without one
    EXPECT_EQ(m.at("lvsd_balancer_drained"), "1");
    EXPECT_EQ(parse(render_metrics(with_services())).at("lvsd_balancer_drained"), "0");
    // A VRRP-only balancer (no virtual services) drains too: its instances fail over.
    MetricsSnapshot vrrp_only;
    vrrp_only.balancer_drained = true;
    EXPECT_EQ(parse(render_metrics(vrrp_only)).at("lvsd_balancer_drained"), "1");
}

TEST(MetricsRender, IpvsCountersPerServiceAndRealServer) {
    auto m = parse(render_metrics(with_services()));
    EXPECT_EQ(m.at("lvsd_ipvs_reconciles_total"), "12");
    EXPECT_EQ(m.at("lvsd_ipvs_reconcile_failures_total"), "1");
    EXPECT_EQ(m.at("lvsd_ipvs_operations_total"), "5");
    EXPECT_EQ(m.at("lvsd_ipvs_operation_errors_total"), "2");
    EXPECT_EQ(m.at("lvsd_ipvs_stats_success"), "1");
    EXPECT_EQ(m.at("lvsd_ipvs_service_in_kernel{" + kVs + "}"), "1");
    EXPECT_EQ(m.at(R"(lvsd_ipvs_service_in_kernel{service="FWM 7"})"), "0");
    EXPECT_EQ(m.at("lvsd_ipvs_service_connections_total{" + kVs + "}"), "42");
    EXPECT_EQ(m.at("lvsd_ipvs_service_incoming_packets_total{" + kVs + "}"), "1000");
    EXPECT_EQ(m.at("lvsd_ipvs_service_incoming_bytes_total{" + kVs + "}"), "64000");
    EXPECT_EQ(m.at("lvsd_ipvs_service_outgoing_bytes_total{" + kVs + "}"), "0");
    // The service's connections are its real servers' summed.
    EXPECT_EQ(m.at("lvsd_ipvs_service_active_connections{" + kVs + "}"), "6");
    EXPECT_EQ(m.at("lvsd_ipvs_service_inactive_connections{" + kVs + "}"), "5");
    EXPECT_EQ(m.at("lvsd_ipvs_real_server_active_connections{" + kRs1 + "}"), "5");
    EXPECT_EQ(m.at("lvsd_ipvs_real_server_inactive_connections{" + kRs1 + "}"), "2");
    EXPECT_EQ(m.at("lvsd_ipvs_real_server_persistent_connections{" + kRs1 + "}"), "1");
    EXPECT_EQ(m.at("lvsd_ipvs_real_server_connections_total{" + kRs1 + "}"), "40");
    EXPECT_EQ(m.at("lvsd_ipvs_real_server_incoming_bytes_total{" + kRs1 + "}"), "60000");
    // Not in the kernel: no kernel counters (there are none to report).
    EXPECT_FALSE(m.contains("lvsd_ipvs_real_server_connections_total{" + kRs2 + "}"));
    EXPECT_FALSE(m.contains(R"(lvsd_ipvs_service_connections_total{service="FWM 7"})"));
}

TEST(MetricsRender, HttpCountersListEveryRejectReason) {
    auto m = parse(render_metrics(with_services()));
    EXPECT_EQ(m.at(R"(lvsd_metrics_http_responses_total{code="200"})"), "9");
    EXPECT_EQ(m.at(R"(lvsd_metrics_http_responses_total{code="404"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_metrics_http_rejected_total{reason="read_timeout"})"), "3");
    for (auto reason : {"malformed", "header_too_large", "write_timeout", "connection_limit"})
        EXPECT_EQ(m.at(std::string(R"(lvsd_metrics_http_rejected_total{reason=")") + reason + "\"}"), "0");
    EXPECT_EQ(m.at("lvsd_metrics_http_open_connections"), "1");
}

TEST(MetricsRender, LabelValuesAreEscaped) {
    EXPECT_EQ(escape_label_value(R"(a"b\c)"), R"(a\"b\\c)");
    EXPECT_EQ(escape_label_value("a\nb"), R"(a\nb)");
    EXPECT_EQ(escape_label_value("plain name"), "plain name");
    MetricsSnapshot s = vrrp_only();
    s.vrrp[0].name = "we\"ird\\name\n";
    auto m = parse(render_metrics(s));
    EXPECT_EQ(m.at(R"(lvsd_vrrp_priority{vrrp_instance="we\"ird\\name\n"})"), "150");
}

TEST(MetricsRender, TwoInstancesKeepEachFamilyTogether) {
    MetricsSnapshot s = vrrp_only();
    s.vrrp.push_back(s.vrrp[0]);
    s.vrrp[1].name = "VI_2";
    s.vrrp[1].state = vrrp::State::Backup;
    auto m = parse(render_metrics(s));  // parse() fails on a family split in two
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_2",state="BACKUP"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_state{vrrp_instance="VI_2",state="MASTER"})"), "0");
}

TEST(MetricsRender, VrrpOverrideIsOneHotAndTimed) {
    auto s = vrrp_only();
    auto m = parse(render_metrics(s));
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override{vrrp_instance="VI_1",override="failover"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override{vrrp_instance="VI_1",override="hold"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override_duration_seconds{vrrp_instance="VI_1"})"), "0");
    s.vrrp.front().override_ = vrrp::Override::Hold;
    s.vrrp.front().override_seconds = 42.5;
    m = parse(render_metrics(s));
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override{vrrp_instance="VI_1",override="failover"})"), "0");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override{vrrp_instance="VI_1",override="hold"})"), "1");
    EXPECT_EQ(m.at(R"(lvsd_vrrp_override_duration_seconds{vrrp_instance="VI_1"})"), "42.5");
}

TEST(MetricsRender, AnnouncedVipsRouteWantedAndRepairs) {
    auto s = vrrp_only();
    auto none = parse(render_metrics(s));
    EXPECT_EQ(none.count("lvsd_announce_repairs_total"), 0u);  // nothing announced: no series
    AnnounceStatus a;
    a.table = 100;
    a.protocol = 250;
    a.interface = "lo";
    a.repairs = 2;
    a.vips = {{"192.0.2.10", "announced", "every service has its quorum", true, true},
              {"2001:db8::10", "withdrawn", "quorum lost: TCP [2001:db8::10]:80", false, true}};
    s.announce = a;
    auto m = parse(render_metrics(s));
    EXPECT_EQ(m["lvsd_announce_route{vip=\"192.0.2.10\"}"], "1");
    EXPECT_EQ(m["lvsd_announce_route{vip=\"2001:db8::10\"}"], "0");
    EXPECT_EQ(m["lvsd_announce_wanted{vip=\"192.0.2.10\"}"], "1");
    EXPECT_EQ(m["lvsd_announce_wanted{vip=\"2001:db8::10\"}"], "0");
    EXPECT_EQ(m["lvsd_announce_repairs_total"], "2");
}
