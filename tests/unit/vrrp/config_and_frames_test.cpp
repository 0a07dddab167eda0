// The pure parts of the adapter: config validation (errors name the instance and the
// key) and the gratuitous ARP / unsolicited NA frames.
#include <algorithm>

#include <gtest/gtest.h>

#include "vrrp/arp_track.hpp"
#include "vrrp/detail/garp.hpp"
#include "vrrp/instance.hpp"

using namespace lvsd;
using namespace lvsd::vrrp;
using namespace std::chrono_literals;

namespace {

InstanceConfig valid() {
    InstanceConfig c;
    c.name = "VI_1";
    c.interface = "eth0";
    c.virtual_router_id = 51;
    c.priority = 150;
    c.advert_int = 1000ms;
    c.virtual_ipaddress = {{*parse_prefix("192.0.2.100/24"), "", ""}};
    return c;
}

void expect_error(const InstanceConfig& c, const std::string& needle) {
    auto r = validate(c);
    ASSERT_FALSE(r) << "accepted, expected an error about " << needle;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.name.empty() ? "vrrp_instance" : c.name), std::string::npos)
        << r.error().message;
}

}  // namespace

TEST(InstanceConfig, ValidConfigPasses) {
    EXPECT_TRUE(validate(valid()));
    auto c = valid();
    c.advert_int = 30ms;  // v3: centiseconds
    EXPECT_TRUE(validate(c));
    c.virtual_ipaddress = {{*parse_prefix("2001:db8::100/64"), "", ""}};
    EXPECT_TRUE(validate(c));
}

TEST(InstanceConfig, EachBadValueIsNamed) {
    auto c = valid();
    c.virtual_router_id = 0;
    expect_error(c, "virtual_router_id");
    c = valid();
    c.priority = 0;
    expect_error(c, "priority");
    c = valid();
    c.version = 4;
    expect_error(c, "version 4");
    c = valid();
    c.advert_int = 15ms;
    expect_error(c, "advert_int 15 ms");
    c = valid();
    c.version = 2;
    c.advert_int = 500ms;
    expect_error(c, "whole seconds");
    c = valid();
    c.virtual_ipaddress.clear();
    EXPECT_TRUE(validate(c)) << "an instance without addresses is valid, as in keepalived";
    c = valid();
    c.virtual_ipaddress.push_back({*parse_prefix("2001:db8::1/64"), "", ""});
    expect_error(c, "mixes IPv4 and IPv6");
    c = valid();
    c.version = 2;
    c.virtual_ipaddress = {{*parse_prefix("2001:db8::1/64"), "", ""}};
    expect_error(c, "IPv4 only");
    c = valid();
    c.auth_pass = "secret";
    expect_error(c, "auth_pass is VRRPv2 only");
    c = valid();
    c.version = 2;
    c.auth_pass = "ninechars";
    expect_error(c, "longer than 8");
    c = valid();
    c.auth_ah = true;
    c.auth_pass = "secret";
    {
        auto all = problems(c);  // v3: the auth_pass problem comes first, the AH one too
        EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const std::string& m) {
            return m.find("AH is for VRRPv2 over IPv4 only") != std::string::npos;
        }));
    }
    c.version = 2;
    c.advert_int = 1s;
    EXPECT_TRUE(validate(c)) << validate(c).error().message;
    EXPECT_EQ(advert_of(c, 100).auth_type, AuthType::IpAh);
    EXPECT_EQ(advert_of(c, 100).auth_pass, "") << "the AH key never goes on the wire";
    c.auth_pass.clear();
    expect_error(c, "AH needs an auth_pass");
    c = valid();
    c.unicast_peer = {*parse_address("2001:db8::2")};
    expect_error(c, "unicast_peer 2001:db8::2");
    c = valid();
    c.virtual_ipaddress[0].label = "eth0:a-very-long-label";
    expect_error(c, "label");
    c = valid();
    c.notify_master = {"notify.sh"};
    expect_error(c, "absolute path");
    c = valid();
    c.interface = "";
    expect_error(c, "interface");
    c = valid();
    c.preempt_delay = 2000s;
    expect_error(c, "preempt_delay");
    c = valid();
    c.track_arp_target = {*parse_address("2001:db8::1")};
    expect_error(c, "track_arp_target 2001:db8::1");
    c = valid();
    c.virtual_ipaddress = {{*parse_prefix("2001:db8::100/64"), "", ""}};
    c.track_arp_target = {*parse_address("192.0.2.254")};
    expect_error(c, "track_arp_target");
}

TEST(InstanceConfig, ParamsFollowTheKeys) {
    auto c = valid();
    c.nopreempt = true;
    c.preempt_delay = 5s;
    auto p = params_of(c, *parse_address("192.0.2.1"));
    EXPECT_FALSE(p.preempt);
    EXPECT_EQ(p.preempt_delay, 5s);
    EXPECT_EQ(p.advert_int, Centiseconds(100));
    EXPECT_EQ(p.priority, 150);
    EXPECT_EQ(p.version, 3);
}

TEST(Frames, GratuitousArpIsARequestForTheVipFromItself) {
    detail::Mac mac{0x02, 0, 0, 0, 0, 0x0a};
    auto f = detail::gratuitous_arp(mac, *parse_address("192.0.2.100"));
    const std::array<uint8_t, 28> want{0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, 0x02, 0,
                                       0,    0,    0,    0x0a, 192,  0,    2,    100,  0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 192,  0,    2,    100};
    EXPECT_EQ(f, want);
}

TEST(Frames, ArpRequestAsksForTheTargetFromOurAddress) {
    detail::Mac mac{0x02, 0, 0, 0, 0, 0x0a};
    auto f = detail::arp_request(mac, *parse_address("192.0.2.1"), *parse_address("192.0.2.254"));
    EXPECT_EQ(f[7], 1);  // request
    EXPECT_EQ(f[14], 192);
    EXPECT_EQ(f[17], 1);  // sender 192.0.2.1
    EXPECT_EQ(f[18], 0);  // target hardware address unknown
    EXPECT_EQ(f[27], 254);
}

TEST(Frames, UnsolicitedNaOverridesWithTargetLinkLayerAddress) {
    detail::Mac mac{0x02, 0, 0, 0, 0, 0x0b};
    auto f = detail::unsolicited_na(mac, *parse_address("2001:db8::100"));
    EXPECT_EQ(f[0], 136);   // neighbour advertisement
    EXPECT_EQ(f[4], 0x20);  // O set, R and S clear (RFC 4861 §7.2.6)
    EXPECT_EQ(f[8], 0x20);  // target 2001:db8::100
    EXPECT_EQ(f[9], 0x01);
    EXPECT_EQ(f[23], 0x00);
    EXPECT_EQ(f[22], 0x01);
    EXPECT_EQ(f[24], 2);  // target link-layer address option
    EXPECT_EQ(f[25], 1);
    EXPECT_EQ(f[31], 0x0b);
}


TEST(ArpTrack, FaultsAfterFallSilentIntervalsAndRecoversOnOneReply) {
    ArpTrack t(3);
    EXPECT_TRUE(t.ok());
    t.reply();
    EXPECT_FALSE(t.close_interval());
    EXPECT_FALSE(t.close_interval());  // 1 silent
    EXPECT_FALSE(t.close_interval());  // 2 silent
    EXPECT_TRUE(t.close_interval());   // 3 silent: fault
    EXPECT_FALSE(t.ok());
    EXPECT_FALSE(t.close_interval());  // still silent, no new change
    t.reply();
    EXPECT_TRUE(t.close_interval());
    EXPECT_TRUE(t.ok());
}

TEST(ArpTrack, AReplyResetsTheSilentCount) {
    ArpTrack t(2);
    EXPECT_FALSE(t.close_interval());
    t.reply();
    EXPECT_FALSE(t.close_interval());
    EXPECT_FALSE(t.close_interval());
    EXPECT_TRUE(t.close_interval());
    EXPECT_FALSE(t.ok());
}

TEST(NotifyCommands, KeepalivedArgumentsForInstancesAndGroups) {
    lvsd::vrrp::InstanceConfig c;
    c.name = "VI_1";
    c.priority = 150;
    c.notify_master = {"/bin/x", "m"};
    c.notify = {"/bin/all"};
    auto m = lvsd::vrrp::notify_commands(c, lvsd::vrrp::State::Master);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0], (std::vector<std::string>{"/bin/x", "m", "INSTANCE", "VI_1", "MASTER", "150"}));
    EXPECT_EQ(m[1], (std::vector<std::string>{"/bin/all", "INSTANCE", "VI_1", "MASTER", "150"}));
    EXPECT_EQ(lvsd::vrrp::notify_commands(c, lvsd::vrrp::State::Initialize).size(), 1u);  // no notify_stop
    lvsd::vrrp::GroupNotify g;
    g.fault = {"/bin/f"};
    auto f = lvsd::vrrp::group_notify_commands(g, "G", lvsd::vrrp::State::Fault);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0], (std::vector<std::string>{"/bin/f", "GROUP", "G", "FAULT"}));
}

TEST(ArpTrackRules, ANewFallAppliesToTheSilenceSoFar) {
    lvsd::vrrp::ArpTrack t(5);
    EXPECT_FALSE(t.close_interval());
    EXPECT_FALSE(t.close_interval());  // 2 silent intervals: within 5
    t.set_fall(3);
    EXPECT_TRUE(t.close_interval());  // the third: the new fall is reached
    EXPECT_FALSE(t.ok());
}
