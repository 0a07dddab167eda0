// BIRD's CLI replies, captured from bird 2.0.12 (testdata/bird/, see the netns test for the
// lab they came from), and hand-made edge cases.
#include "announce/bird_reply.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace lvsd::announce {
namespace {

std::string captured(const std::string& name) {
    std::ifstream in(std::string(LVSD_SOURCE_DIR) + "/tests/unit/announce/testdata/bird/" + name,
                     std::ios::binary);
    EXPECT_TRUE(in) << name;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

BirdReply reply(const std::string& text) {
    auto end = find_reply_end(text);
    EXPECT_TRUE(end.ok()) << (end.ok() ? "" : end.error().message);
    EXPECT_TRUE(end.ok() && *end && **end == text.size()) << text;
    auto r = parse_reply(text);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : BirdReply{};
}

TEST(BirdReply, GreetingGivesTheVersion) {
    auto v = parse_greeting(reply(captured("hello")));
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(*v, "2.0.12");
    auto bad = parse_greeting(reply("0001 Knot ready.\n"));
    EXPECT_FALSE(bad.ok());
}

TEST(BirdReply, StatusEndsWithItsOwnCode) {
    auto r = reply(captured("show_status"));
    EXPECT_EQ(r.final_code, 13);
    EXPECT_FALSE(r.failed());
    ASSERT_GE(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0].code, 1000);
    EXPECT_EQ(r.lines[0].text, "BIRD 2.0.12");
    EXPECT_EQ(r.lines[2].code, 1011);  // continuation keeps the code
    EXPECT_EQ(r.lines[2].text, "Hostname is vm");
}

TEST(BirdReply, ProtocolsOfABalancer) {
    auto p = parse_protocols(reply(captured("show_protocols_lb_up")));
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_EQ(p->size(), 6u);
    EXPECT_EQ((*p)[0].name, "device1");
    EXPECT_EQ((*p)[0].proto, "Device");
    EXPECT_EQ((*p)[0].info, "");
    EXPECT_EQ((*p)[1].name, "lvsd4");
    EXPECT_EQ((*p)[1].table, "master4");
    EXPECT_EQ((*p)[4].name, "router4");
    EXPECT_EQ((*p)[4].proto, "BGP");
    EXPECT_EQ((*p)[4].table, "---");
    EXPECT_EQ((*p)[4].state, "up");
    EXPECT_EQ((*p)[4].since, "19:27:02.008");
    EXPECT_EQ((*p)[4].info, "Established");
    EXPECT_TRUE((*p)[4].established());
    EXPECT_FALSE((*p)[1].established());
}

TEST(BirdReply, ProtocolsWhileTheRouterIsDown) {
    auto p = parse_protocols(reply(captured("show_protocols_lb_router_down")));
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_EQ(p->size(), 6u);
    EXPECT_EQ((*p)[4].state, "start");
    EXPECT_EQ((*p)[4].info, "Active        Socket: Connection closed");
    EXPECT_FALSE((*p)[4].established());
    auto r = parse_protocols(reply(captured("show_protocols_router")));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 10u);
    EXPECT_EQ((*r)[5].info, "Active        Socket: No route to host");
    EXPECT_EQ((*r)[8].info, "Connect");
}

TEST(BirdReply, ProtocolsWithALongTimeFormat) {
    // `timeformat protocol iso long`: Since holds a space.
    auto p = parse_protocols(reply("2002-Name       Proto      Table      State  Since         Info\n"
                                   "1002-bgp1       BGP        ---        up     2026-11-30 19:27:02  Established\n"
                                   "0000 \n"));
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->size(), 1u);
    EXPECT_EQ((*p)[0].since, "2026-11-30 19:27:02");
    EXPECT_EQ((*p)[0].info, "Established");
}

TEST(BirdReply, ExportedRoutes) {
    auto v4 = parse_routes(reply(captured("show_route_export_v4")));
    ASSERT_TRUE(v4.ok()) << v4.error().message;
    ASSERT_EQ(v4->size(), 1u);
    EXPECT_EQ((*v4)[0].network, *parse_prefix("192.0.2.10/32"));
    EXPECT_EQ((*v4)[0].table, "master4");
    EXPECT_EQ((*v4)[0].protocol, "lvsd4");
    EXPECT_TRUE((*v4)[0].primary);
    EXPECT_EQ((*v4)[0].next_hops, std::vector<std::string>{"dev lo"});
    auto v6 = parse_routes(reply(captured("show_route_export_v6")));
    ASSERT_TRUE(v6.ok());
    ASSERT_EQ(v6->size(), 1u);
    EXPECT_EQ((*v6)[0].network, *parse_prefix("2001:db8:10::10/128"));
    auto none = parse_routes(reply(captured("show_route_export_empty")));
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST(BirdReply, RoutesOfTheRouterInTwoTablesAndWithAttributes) {
    for (const char* name : {"show_route_router", "show_route_all_router"}) {
        auto r = parse_routes(reply(captured(name)));
        ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
        ASSERT_EQ(r->size(), 2u) << name;
        EXPECT_EQ((*r)[0].protocol, "lb1_4");
        EXPECT_EQ((*r)[0].next_hops, std::vector<std::string>{"via 198.51.100.1 on eth0"});
        EXPECT_EQ((*r)[1].table, "master6");
        EXPECT_EQ((*r)[1].network, *parse_prefix("2001:db8:10::10/128"));
    }
}

TEST(BirdReply, SeveralRoutesOfOneNetworkAndMultipath) {
    // Hand-made in BIRD's layout: a second route of the same network leaves the network
    // column blank; a merged (ECMP) route lists one next hop per line.
    auto r = parse_routes(reply("1007-Table master4:\n"
                                " 192.0.2.10/32        unicast [lb1_4 19:27:02.268] * (100) [AS65001i]\n"
                                " \tvia 198.51.100.1 on eth0\n"
                                "                      unicast [lb2_4 19:27:03.001] (100) [AS65001i]\n"
                                " \tvia 198.51.100.2 on eth0\n"
                                " 192.0.2.11/32        unicast [kernel1 19:27:04.000] * (10)\n"
                                " \tvia 198.51.100.1 on eth0 weight 1\n"
                                " \tvia 198.51.100.2 on eth0 weight 1\n"
                                "0000 \n"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[1].network, *parse_prefix("192.0.2.10/32"));
    EXPECT_EQ((*r)[1].protocol, "lb2_4");
    EXPECT_FALSE((*r)[1].primary);
    EXPECT_EQ((*r)[2].next_hops.size(), 2u);
}

TEST(BirdReply, ErrorsEndTheReply) {
    auto syntax = reply(captured("error_syntax"));
    EXPECT_TRUE(syntax.failed());
    EXPECT_EQ(syntax.final_code, 9001);
    EXPECT_EQ(syntax.error_text(), "9001 syntax error, unexpected CF_SYM_UNDEFINED");
    EXPECT_FALSE(parse_protocols(syntax).ok());
    auto tables = reply(captured("error_no_valid_tables"));
    EXPECT_TRUE(tables.failed());
    EXPECT_FALSE(parse_routes(tables).ok());
    EXPECT_TRUE(reply(captured("error_unknown_symbol")).failed());
    // "Network not found" answers `show route for`: no route, not a failure.
    auto nf = parse_routes(reply(captured("error_network_not_found")));
    ASSERT_TRUE(nf.ok());
    EXPECT_TRUE(nf->empty());
}

TEST(BirdReply, BfdSessions) {
    auto up = parse_bfd_sessions(reply(captured("show_bfd_sessions_up")));
    ASSERT_TRUE(up.ok()) << up.error().message;
    ASSERT_EQ(up->size(), 2u);
    EXPECT_EQ((*up)[0].protocol, "bfd1");
    EXPECT_EQ((*up)[0].address, *parse_address("198.51.100.254"));
    EXPECT_EQ((*up)[0].interface, "eth0");
    EXPECT_TRUE((*up)[0].up());
    EXPECT_EQ((*up)[0].interval, "0.100");
    EXPECT_EQ((*up)[0].timeout, "0.300");
    EXPECT_EQ((*up)[1].address, *parse_address("2001:db8:100::fe"));
    auto down = parse_bfd_sessions(reply(captured("show_bfd_sessions_down")));
    ASSERT_TRUE(down.ok());
    ASSERT_EQ(down->size(), 2u);
    EXPECT_EQ((*down)[0].state, "Down");
    EXPECT_FALSE((*down)[0].up());
}

TEST(BirdReply, FramingAcrossReadsAndBackToBackReplies) {
    std::string two = captured("show_route_export_v4") + captured("show_route_export_empty");
    auto first = find_reply_end(two);
    ASSERT_TRUE(first.ok() && *first);
    EXPECT_EQ(**first, captured("show_route_export_v4").size());
    // Every cut inside the first reply is incomplete, never an error.
    for (std::size_t n = 0; n < **first; ++n) {
        auto part = find_reply_end(std::string_view(two).substr(0, n));
        ASSERT_TRUE(part.ok()) << n;
        EXPECT_FALSE(*part) << n;
    }
    // An asynchronous '+' message is skipped.
    auto r = reply("+Reconfigured\n0000 \n");
    EXPECT_EQ(r.lines.size(), 1u);
}

TEST(BirdReply, RejectsWhatIsNotBird) {
    EXPECT_FALSE(find_reply_end("HTTP/1.1 200 OK\r\n").ok());
    EXPECT_FALSE(find_reply_end(" continuation first\n0000 \n").ok());
    EXPECT_FALSE(find_reply_end(std::string(kBirdMaxLine + 1, 'x')).ok());
    EXPECT_FALSE(parse_reply("1002-a\n").ok());             // no final line
    EXPECT_FALSE(parse_reply("0000 \n0000 \n").ok());        // text after the end
    EXPECT_FALSE(parse_routes(*parse_reply("1007-Table master4:\n nonsense [x] *\n0000 \n")).ok());
    EXPECT_FALSE(parse_routes(*parse_reply("1007- \tdev lo\n0000 \n")).ok());
    EXPECT_FALSE(parse_bfd_sessions(*parse_reply("1020-bfd1:\n 198.51.100.254 eth0\n0000 \n")).ok());
    auto msg = parse_routes(*parse_reply("1007-Table master4:\n 300.1.1.1/32 unicast [x] *\n0000 \n"));
    ASSERT_FALSE(msg.ok());
    EXPECT_NE(msg.error().message.find("line 2: not a network"), std::string::npos) << msg.error().message;
}

}  // namespace
}  // namespace lvsd::announce
