// The control socket's request grammar (ctl/request.hpp): every verb parses to its typed
// request and prints back to the same line; every mistake is an error that says what.
#include <gtest/gtest.h>

#include "ctl/request.hpp"

using namespace lvsd;
using namespace lvsd::ctl;

namespace {

Request ok(std::string_view line) {
    auto r = parse_request(line);
    EXPECT_TRUE(r.ok()) << line << ": " << (r ? "" : r.error().message);
    return r ? *r : Request{};
}

std::string error_of(std::string_view line) {
    auto r = parse_request(line);
    EXPECT_FALSE(r.ok()) << "accepted: " << line;
    return r ? "" : r.error().message;
}

ipvs::DestinationKey real(const char* a, uint16_t port) { return {*parse_address(a), port}; }

}  // namespace

TEST(ControlRequest, StatusAndReloadAsBefore) {
    EXPECT_EQ(ok("status"), Request{StatusRequest{false}});
    EXPECT_EQ(ok("status json"), Request{StatusRequest{true}});
    EXPECT_EQ(ok("reload"), Request{ReloadRequest{}});
    EXPECT_EQ(error_of("status yaml"), "status: unexpected \"yaml\"");
    EXPECT_EQ(error_of("reload now"), "reload: unexpected \"now\"");
}

TEST(ControlRequest, DrainARealServerInOneServiceOrEverywhere) {
    auto d = std::get<DrainRequest>(ok("drain 192.0.2.10:80/tcp 198.51.100.5:8080 --timeout 300"));
    const auto& ref = std::get<RealServerRef>(d.target);
    ASSERT_TRUE(ref.service);
    EXPECT_EQ(*ref.service, ipvs::ServiceKey::endpoint(ipvs::Protocol::Tcp, *parse_address("192.0.2.10"), 80));
    EXPECT_EQ(ref.real, real("198.51.100.5", 8080));
    EXPECT_EQ(d.timeout_s, 300u);
    auto everywhere = std::get<DrainRequest>(ok("drain 198.51.100.5:8080"));
    EXPECT_FALSE(std::get<RealServerRef>(everywhere.target).service);
    EXPECT_FALSE(everywhere.timeout_s);
    auto fwmark = std::get<DrainRequest>(ok("drain --timeout 5 fwmark:7/ipv6 [2001:db8::5]:80"));
    EXPECT_EQ(*std::get<RealServerRef>(fwmark.target).service, ipvs::ServiceKey::mark(7, Family::V6));
    EXPECT_TRUE(std::holds_alternative<Balancer>(std::get<DrainRequest>(ok("drain --balancer")).target));
    EXPECT_TRUE(std::holds_alternative<Balancer>(std::get<UndrainRequest>(ok("undrain --balancer")).target));
    EXPECT_TRUE(std::holds_alternative<Balancer>(std::get<ProgressRequest>(ok("progress --balancer")).target));
}

TEST(ControlRequest, DisableEnableWeight) {
    EXPECT_TRUE(std::get<DisableRequest>(ok("disable 198.51.100.5:8080")).disable);
    EXPECT_FALSE(std::get<DisableRequest>(ok("enable 192.0.2.10:80/udp 198.51.100.5:8080")).disable);
    auto w = std::get<WeightRequest>(ok("weight 192.0.2.10:80/sctp 198.51.100.5:8080 0"));
    EXPECT_EQ(w.weight, 0u);
    EXPECT_EQ(std::get<WeightRequest>(ok("weight 198.51.100.5:8080 65535")).weight, 65535u);
    EXPECT_FALSE(std::get<WeightRequest>(ok("weight --clear 198.51.100.5:8080")).weight);
}

TEST(ControlRequest, VrrpVerbsForTheVrrpPlane) {
    auto f = std::get<VrrpRequest>(ok("failover VI_1"));
    EXPECT_EQ(f.verb, VrrpRequest::Verb::Failover);
    EXPECT_EQ(f.instance, "VI_1");
    EXPECT_FALSE(f.clear);
    auto h = std::get<VrrpRequest>(ok("hold --clear --group G1"));
    EXPECT_EQ(h.verb, VrrpRequest::Verb::Hold);
    EXPECT_EQ(h.group, "G1");
    EXPECT_TRUE(h.clear);
    EXPECT_EQ(error_of("failover"), "failover: name a vrrp_instance or --group GROUP");
    EXPECT_EQ(error_of("hold VI_1 --group G"), "hold: name an instance or --group GROUP, not both (\"VI_1\")");
    EXPECT_EQ(error_of("failover --balancer"), "failover: --balancer does not apply here");
}

TEST(ControlRequest, EveryRequestPrintsBackToItself) {
    for (const char* line :
         {"status", "status json", "reload", "drain 192.0.2.10:80/tcp 198.51.100.5:8080 --timeout 300",
          "drain 198.51.100.5:8080", "drain --balancer --timeout 60", "undrain --balancer",
          "undrain [2001:db8::10]:443/tcp [2001:db8::5]:8443", "disable fwmark:7 198.51.100.5:0",
          "enable 198.51.100.5:8080", "weight 198.51.100.5:8080 3", "weight --clear fwmark:9/ipv6 [2001:db8::5]:80",
          "progress 198.51.100.5:8080", "failover VI_1", "failover --clear --group G", "hold --clear VI_2"}) {
        auto r = ok(line);
        EXPECT_EQ(format_request(r), line);
        EXPECT_EQ(ok(format_request(r)), r);
    }
}

TEST(ControlRequest, MistakesSayWhatAndWhere) {
    EXPECT_EQ(error_of(""), "empty request");
    EXPECT_EQ(error_of("drian 198.51.100.5:8080"), "unknown command \"drian\" (did you mean \"drain\"?)");
    EXPECT_EQ(error_of("statsu"), "unknown command \"statsu\" (did you mean \"status\"?)");
    EXPECT_EQ(error_of("frobnicate"), "unknown command \"frobnicate\"");
    EXPECT_EQ(error_of("drain"), "drain: name a real server as ADDRESS:PORT (lvsctl status shows them)");
    EXPECT_EQ(error_of("drain 198.51.100.5"), "drain: \"198.51.100.5\" is not a real server (ADDRESS:PORT, [IPV6]:PORT)");
    EXPECT_EQ(error_of("drain 2001:db8::5:80"),
              "drain: \"2001:db8::5:80\" is not a real server (ADDRESS:PORT, [IPV6]:PORT)");
    EXPECT_EQ(error_of("drain 192.0.2.10:80 198.51.100.5:8080"),
              "drain: \"192.0.2.10:80\" is not a virtual service (VIP:PORT/tcp|udp|sctp or fwmark:N)");
    EXPECT_EQ(error_of("drain fwmark:0 198.51.100.5:8080"),
              "drain: \"fwmark:0\" is not a virtual service (VIP:PORT/tcp|udp|sctp or fwmark:N)");
    EXPECT_EQ(error_of("drain a b c"), "drain: unexpected \"c\"");
    EXPECT_EQ(error_of("drain --balancer 198.51.100.5:8080"),
              "drain: --balancer names every real server: unexpected \"198.51.100.5:8080\"");
    EXPECT_EQ(error_of("drain 198.51.100.5:8080 --timeout"), "drain: --timeout needs a value");
    EXPECT_EQ(error_of("drain 198.51.100.5:8080 --timeout 0"),
              "drain: --timeout \"0\" is not a number of seconds from 1 to 604800");
    EXPECT_EQ(error_of("drain 198.51.100.5:8080 --timeout 604801"),
              "drain: --timeout \"604801\" is not a number of seconds from 1 to 604800");
    EXPECT_EQ(error_of("drain 198.51.100.5:8080 --timeout 5 --timeout 6"), "drain: --timeout is given twice");
    EXPECT_EQ(error_of("drain 198.51.100.5:8080 --wait"), "drain: unknown option \"--wait\"");
    EXPECT_EQ(error_of("undrain 198.51.100.5:8080 --timeout 5"), "undrain: --timeout does not apply here");
    EXPECT_EQ(error_of("disable --balancer"), "disable: --balancer does not apply here");
    EXPECT_EQ(error_of("drain --clear 198.51.100.5:8080"), "drain: --clear does not apply here");
    EXPECT_EQ(error_of("weight 198.51.100.5:8080"), "weight: name a real server and a weight (0 to 65535)");
    EXPECT_EQ(error_of("weight 198.51.100.5:8080 65536"), "weight: \"65536\" is not a weight from 0 to 65535");
    EXPECT_EQ(error_of("weight 198.51.100.5:8080 -1"), "weight: \"-1\" is not a weight from 0 to 65535");
    EXPECT_EQ(error_of("disable 198.51.100.5:70000"),
              "disable: \"198.51.100.5:70000\" is not a real server (ADDRESS:PORT, [IPV6]:PORT)");
}

TEST(ControlRequest, RefusesOversizedAndBinaryLines) {
    EXPECT_EQ(error_of(std::string(kMaxRequestLine + 1, 'a')), "request of 513 bytes refused (at most 512)");
    EXPECT_EQ(error_of(std::string("status\tjson")), "control character 0x09 in \"status\"");
    EXPECT_EQ(error_of(std::string("\x01status")), "control character 0x01 at byte 1 of the request");
    EXPECT_EQ(error_of(std::string_view("status\0", 7)), "control character 0x00 in \"status\"");
    // Extra spaces are only separators.
    EXPECT_EQ(ok("  status   json "), Request{StatusRequest{true}});
}

TEST(ControlRequest, WordsFromTheCommandLine) {
    auto r = parse_request(std::vector<std::string>{"drain", "198.51.100.5:8080", "--timeout", "30"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(format_request(*r), "drain 198.51.100.5:8080 --timeout 30");
    auto spaced = parse_request(std::vector<std::string>{"failover", "VI 1"});
    ASSERT_FALSE(spaced.ok());
    EXPECT_EQ(spaced.error().message, "\"VI 1\" is not one word");
}

TEST(ControlRequest, ProgressLineRoundTrips) {
    EXPECT_EQ(format_progress({2, 15}), "draining 2 real servers, 15 active connections left");
    EXPECT_EQ(format_progress({1, 1}), "draining 1 real server, 1 active connection left");
    EXPECT_EQ(parse_progress(format_progress({0, 0})), (DrainProgress{0, 0}));
    EXPECT_EQ(parse_progress(format_progress({3, 12345})), (DrainProgress{3, 12345}));
    EXPECT_FALSE(parse_progress("drained"));
    // A balancer drain with announced VIPs: the routes still exported, written when any.
    EXPECT_EQ(format_progress({0, 0, 2}), "draining 0 real servers, 0 active connections left, 2 announced routes still exported");
    EXPECT_EQ(parse_progress(format_progress({0, 0, 1})), (DrainProgress{0, 0, 1}));
    EXPECT_EQ(parse_progress(format_progress({4, 7, 3})), (DrainProgress{4, 7, 3}));
    EXPECT_FALSE(parse_progress("draining 0 real servers, 0 active connections left, x announced routes"));
    EXPECT_FALSE(parse_progress("draining x real servers, 1 left"));
}

TEST(ControlRequest, ServiceAndRealSpellings) {
    EXPECT_EQ(format_service(*parse_service("[2001:db8::10]:443/tcp")), "[2001:db8::10]:443/tcp");
    EXPECT_EQ(format_service(ipvs::ServiceKey::mark(7)), "fwmark:7");
    EXPECT_FALSE(parse_service("192.0.2.10:80/icmp"));
    EXPECT_FALSE(parse_service("fwmark 7"));
    EXPECT_FALSE(parse_real("[192.0.2.1]:80"));
    EXPECT_EQ(format_real(*parse_real("[2001:db8::5]:80")), "[2001:db8::5]:80");
}
