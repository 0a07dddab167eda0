// The pure half of BirdWatch: what lvsctl status, its JSON and the metrics show of a view.
#include "daemon/bird_watch.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lvsd::daemon {
namespace {

using announce::BirdBfdSession;
using announce::BirdProtocol;

BirdWatchState at(std::string socket) {
    BirdWatchState s;
    s.socket = std::move(socket);
    return s;
}

BirdWatchState balancer() {
    BirdWatchState s;
    s.socket = "/run/bird/bird.ctl";
    s.reads = 1;
    announce::BirdView v;
    v.version = "2.0.12";
    v.protocols = {
        BirdProtocol{"lvsd4", "Kernel", "master4", "up", "19:26:57.909", ""},
        BirdProtocol{"router4", "BGP", "---", "up", "19:27:02.008", "Established"},
        BirdProtocol{"router6", "BGP", "---", "start", "19:27:26.389", "Active        Socket: Connection closed"},
    };
    v.exported["router4"] = {*parse_prefix("192.0.2.10/32"), *parse_prefix("192.0.2.11/32")};
    v.bfd = {BirdBfdSession{"bfd1", *parse_address("198.51.100.254"), "eth0", "Up", "19:26:58.677", "0.100", "0.300"}};
    s.view = v;
    return s;
}

TEST(BirdWatch, StatusLines) {
    auto lines = bird_status_lines(balancer());
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "BIRD 2.0.12 at /run/bird/bird.ctl: up");
    EXPECT_EQ(lines[1], "  router4 BGP up Established, exports 192.0.2.10/32 192.0.2.11/32");
    EXPECT_EQ(lines[2], "  router6 BGP start Active        Socket: Connection closed");
    EXPECT_EQ(lines[3], "  bfd 198.51.100.254 on eth0 Up (detection 0.300 s)");

    auto s = balancer();
    s.error = "BIRD control socket /run/bird/bird.ctl: connection refused";
    lines = bird_status_lines(s);
    EXPECT_EQ(lines[0], "BIRD at /run/bird/bird.ctl: unreachable: BIRD control socket /run/bird/bird.ctl: connection refused");
    EXPECT_EQ(lines[1], "  last seen:");
    EXPECT_EQ(bird_status_lines(at("/x"))[0], "BIRD at /x: not read yet");
}

TEST(BirdWatch, Json) {
    auto j = nlohmann::json::parse(bird_status_json(balancer()));
    EXPECT_EQ(j["up"], true);
    EXPECT_EQ(j["version"], "2.0.12");
    EXPECT_TRUE(j["error"].is_null());
    ASSERT_EQ(j["protocols"].size(), 3u);
    EXPECT_FALSE(j["protocols"][0].contains("exported"));  // kernel: not a BGP protocol
    EXPECT_EQ(j["protocols"][1]["exported"], nlohmann::json({"192.0.2.10/32", "192.0.2.11/32"}));
    EXPECT_EQ(j["protocols"][2]["exported"], nlohmann::json::array());
    EXPECT_EQ(j["bfd"][0]["address"], "198.51.100.254");
    BirdWatchState down = at("/x");
    down.reads = 1;
    down.error = "no such socket";
    auto d = nlohmann::json::parse(bird_status_json(down));
    EXPECT_EQ(d["up"], false);
    EXPECT_EQ(d["error"], "no such socket");
    EXPECT_TRUE(d["version"].is_null());
}

TEST(BirdWatch, Metrics) {
    auto m = bird_metrics(balancer());
    EXPECT_NE(m.find("# TYPE lvsd_bird_up gauge\nlvsd_bird_up 1\n"), std::string::npos) << m;
    EXPECT_NE(m.find("lvsd_bird_protocol_up{name=\"router4\",proto=\"BGP\"} 1\n"), std::string::npos);
    EXPECT_NE(m.find("lvsd_bird_protocol_up{name=\"router6\",proto=\"BGP\"} 0\n"), std::string::npos);
    EXPECT_NE(m.find("lvsd_bird_protocol_up{name=\"lvsd4\",proto=\"Kernel\"} 1\n"), std::string::npos);
    EXPECT_NE(m.find("lvsd_bird_exported_route{protocol=\"router4\",prefix=\"192.0.2.11/32\"} 1\n"),
              std::string::npos);
    EXPECT_NE(m.find("lvsd_bird_bfd_session_up{address=\"198.51.100.254\",interface=\"eth0\"} 1\n"),
              std::string::npos);
    auto down = bird_metrics(at("/x"));
    EXPECT_NE(down.find("lvsd_bird_up 0\n"), std::string::npos);
    EXPECT_EQ(down.find("lvsd_bird_protocol_up{"), std::string::npos);
}

TEST(BirdWatch, StillExported) {
    auto s = balancer();
    auto a = *parse_prefix("192.0.2.10/32");
    auto b = *parse_prefix("192.0.2.99/32");
    EXPECT_EQ(still_exported(*s.view, {a, b}), std::vector<Prefix>{a});
    s.view->exported["router4"].clear();
    EXPECT_TRUE(still_exported(*s.view, {a, b}).empty());
}

}  // namespace
}  // namespace lvsd::daemon
