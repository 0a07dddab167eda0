// Encode/decode round trips of every IPVS attribute set, and the wire details the
// kernel depends on (byte order, address size, the two netmask conventions). No kernel.
#include <arpa/inet.h>
#include <linux/ip_vs.h>

#include <cstring>

#include <gtest/gtest.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "helpers.hpp"
#include "ipvs/detail/netlink.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::detail;
using namespace lvsd::ipvs::test;

namespace {

constexpr int kFamily = 0x1d;  // any id: nothing is sent

Op round_trip(const Op& op) {
    auto m = encode(op, kFamily);
    EXPECT_TRUE(m.ok());
    EXPECT_EQ(nlmsg_hdr(m->get())->nlmsg_type, kFamily);
    auto back = decode_op(nlmsg_hdr(m->get()));
    EXPECT_TRUE(back.ok()) << (back ? "" : back.error().message);
    return back ? *back : Op{};
}

// The raw attributes of the nested service (or destination) of a message.
struct Raw {
    MsgPtr msg;
    nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
    nlattr* svc[IPVS_SVC_ATTR_MAX + 1] = {};
    nlattr* dest[IPVS_DEST_ATTR_MAX + 1] = {};

    explicit Raw(MsgPtr m) : msg(std::move(m)) {
        EXPECT_EQ(genlmsg_parse(nlmsg_hdr(msg.get()), 0, top, IPVS_CMD_ATTR_MAX, nullptr), 0);
        if (top[IPVS_CMD_ATTR_SERVICE])
            nla_parse_nested(svc, IPVS_SVC_ATTR_MAX, top[IPVS_CMD_ATTR_SERVICE], nullptr);
        if (top[IPVS_CMD_ATTR_DEST])
            nla_parse_nested(dest, IPVS_DEST_ATTR_MAX, top[IPVS_CMD_ATTR_DEST], nullptr);
    }
};

Raw raw(const Op& op) { return Raw(encode(op, kFamily).value()); }

}  // namespace

TEST(Encode, ServiceRoundTripsV4WithEverySetting) {
    Service s = tcp_service("192.0.2.10", 8080, "mh");
    s.flags = flag::kMhFallback | flag::kMhPort | flag::kOnePacket;
    s.persistence_timeout = 300;
    s.persistence_prefix = 24;
    for (auto op : {add_service(s), edit_service(s)}) {
        Op back = round_trip(op);
        EXPECT_EQ(back.kind, op.kind);
        EXPECT_EQ(back.service, s);
    }
}

TEST(Encode, ServiceRoundTripsV6UdpSctpAndFwmark) {
    Service v6 = tcp_service("2001:db8::10", 443, "sh");
    v6.flags = flag::kShPort;
    v6.persistence_prefix = 64;
    v6.persistence_timeout = 60;
    EXPECT_EQ(round_trip(add_service(v6)).service, v6);

    Service udp;
    udp.key = ServiceKey::endpoint(Protocol::Udp, ip("192.0.2.53"), 53);
    udp.scheduler = "rr";
    EXPECT_EQ(round_trip(add_service(udp)).service, udp);

    Service sctp;
    sctp.key = ServiceKey::endpoint(Protocol::Sctp, ip("2001:db8::5"), 3868);
    EXPECT_EQ(round_trip(add_service(sctp)).service, sctp);

    for (auto family : {Family::V4, Family::V6}) {
        Service fw = fwmark_service(7, family, "wrr");
        fw.persistence_engine = "sip";
        fw.persistence_timeout = 10;
        EXPECT_EQ(round_trip(add_service(fw)).service, fw);
    }
}

TEST(Encode, WireLayoutMatchesTheKernel) {
    Service s = tcp_service("192.0.2.10", 8080);
    s.persistence_prefix = 24;
    s.persistence_timeout = 300;
    Raw r = raw(add_service(s));
    EXPECT_EQ(genlmsg_hdr(nlmsg_hdr(r.msg.get()))->cmd, IPVS_CMD_NEW_SERVICE);
    EXPECT_EQ(genlmsg_hdr(nlmsg_hdr(r.msg.get()))->version, IPVS_GENL_VERSION);
    ASSERT_TRUE(r.svc[IPVS_SVC_ATTR_ADDR]);
    EXPECT_EQ(nla_len(r.svc[IPVS_SVC_ATTR_ADDR]), 16);  // union nf_inet_addr
    const auto* a = static_cast<const unsigned char*>(nla_data(r.svc[IPVS_SVC_ATTR_ADDR]));
    EXPECT_EQ(a[0], 192);
    EXPECT_EQ(a[3], 10);
    EXPECT_EQ(a[4], 0);
    EXPECT_EQ(nla_get_u16(r.svc[IPVS_SVC_ATTR_AF]), AF_INET);
    EXPECT_EQ(nla_get_u16(r.svc[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
    EXPECT_EQ(nla_get_u16(r.svc[IPVS_SVC_ATTR_PORT]), htons(8080));
    EXPECT_EQ(nla_get_u32(r.svc[IPVS_SVC_ATTR_NETMASK]), htonl(0xffffff00u));
    EXPECT_EQ(nla_get_u32(r.svc[IPVS_SVC_ATTR_TIMEOUT]), 300u);
    EXPECT_STREQ(nla_get_string(r.svc[IPVS_SVC_ATTR_SCHED_NAME]), "wlc");
    ip_vs_flags f{};
    std::memcpy(&f, nla_data(r.svc[IPVS_SVC_ATTR_FLAGS]), sizeof f);
    EXPECT_EQ(f.flags, static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT));
    EXPECT_EQ(f.mask, ~0u);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_FWMARK]);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_PE_NAME]);

    // v6: the netmask is a plain prefix length, and "per client" is 128.
    Raw r6 = raw(add_service(tcp_service("2001:db8::1", 80)));
    EXPECT_EQ(nla_get_u32(r6.svc[IPVS_SVC_ATTR_NETMASK]), 128u);
    EXPECT_EQ(nla_get_u16(r6.svc[IPVS_SVC_ATTR_AF]), AF_INET6);
    // v4 default: the all-ones mask.
    Raw r4 = raw(add_service(tcp_service("192.0.2.1", 80)));
    EXPECT_EQ(nla_get_u32(r4.svc[IPVS_SVC_ATTR_NETMASK]), 0xffffffffu);
}

TEST(Encode, FwmarkServiceCarriesOnlyTheMark) {
    Raw r = raw(add_service(fwmark_service(7)));
    ASSERT_TRUE(r.svc[IPVS_SVC_ATTR_FWMARK]);
    EXPECT_EQ(nla_get_u32(r.svc[IPVS_SVC_ATTR_FWMARK]), 7u);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_ADDR]);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_PORT]);
}

TEST(Encode, DeleteCarriesKeysOnly) {
    Service s = tcp_service("192.0.2.10", 8080, "rr");
    Raw r = raw(delete_service(s.key));
    EXPECT_EQ(genlmsg_hdr(nlmsg_hdr(r.msg.get()))->cmd, IPVS_CMD_DEL_SERVICE);
    EXPECT_TRUE(r.svc[IPVS_SVC_ATTR_ADDR]);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_SCHED_NAME]);
    EXPECT_FALSE(r.svc[IPVS_SVC_ATTR_FLAGS]);

    Raw d = raw(delete_destination(s.key, {ip("198.51.100.1"), 8080}));
    EXPECT_EQ(genlmsg_hdr(nlmsg_hdr(d.msg.get()))->cmd, IPVS_CMD_DEL_DEST);
    EXPECT_FALSE(d.svc[IPVS_SVC_ATTR_SCHED_NAME]);
    EXPECT_TRUE(d.dest[IPVS_DEST_ATTR_ADDR]);
    EXPECT_FALSE(d.dest[IPVS_DEST_ATTR_WEIGHT]);
    EXPECT_FALSE(d.dest[IPVS_DEST_ATTR_FWD_METHOD]);
    Op back = round_trip(delete_destination(s.key, {ip("198.51.100.1"), 8080}));
    EXPECT_EQ(back.kind, OpKind::DeleteDestination);
    EXPECT_EQ(back.service.key, s.key);
    EXPECT_EQ(back.destination.key, (DestinationKey{ip("198.51.100.1"), 8080}));
}

TEST(Encode, DestinationRoundTripsEveryForwardingMethod) {
    const auto key = tcp_service("192.0.2.10", 8080).key;
    for (auto fwd : {Forwarding::DirectRoute, Forwarding::Nat, Forwarding::Tunnel, Forwarding::Local}) {
        Destination d = dest("198.51.100.7", 8080, 42, fwd);
        d.upper_threshold = 1000;
        d.lower_threshold = 800;
        for (auto op : {add_destination(key, d), edit_destination(key, d)}) {
            Op back = round_trip(op);
            EXPECT_EQ(back.kind, op.kind);
            EXPECT_EQ(back.service.key, key);
            EXPECT_EQ(back.destination, d) << to_string(fwd);
        }
    }
    Raw r = raw(add_destination(key, dest("198.51.100.7", 8080, 42)));
    EXPECT_EQ(nla_get_u32(r.dest[IPVS_DEST_ATTR_FWD_METHOD]), static_cast<uint32_t>(IP_VS_CONN_F_DROUTE));
    EXPECT_EQ(nla_get_u16(r.dest[IPVS_DEST_ATTR_PORT]), htons(8080));
    EXPECT_EQ(nla_get_u16(r.dest[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
    EXPECT_FALSE(r.dest[IPVS_DEST_ATTR_TUN_TYPE]);  // not a tunnel: like ipvsadm, not sent
}

TEST(Encode, TunnelDestinationsKeepTypePortAndFlagsAcrossFamilies) {
    const auto key = tcp_service("192.0.2.10", 80).key;
    Destination d = dest("2001:db8::7", 80, 3, Forwarding::Tunnel);
    d.tunnel_type = TunnelType::Gue;
    d.tunnel_port = 6080;
    d.tunnel_flags = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
    Op back = round_trip(add_destination(key, d));
    EXPECT_EQ(back.destination, d);
    Raw r = raw(add_destination(key, d));
    EXPECT_EQ(nla_get_u16(r.dest[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET6);
    EXPECT_EQ(nla_get_u16(r.dest[IPVS_DEST_ATTR_TUN_PORT]), htons(6080));
    EXPECT_EQ(nla_get_u8(r.dest[IPVS_DEST_ATTR_TUN_TYPE]), IP_VS_CONN_F_TUNNEL_TYPE_GUE);
}

TEST(Decode, DumpRepliesCarryStatsAndConnectionCounts) {
    ServiceStatus s;
    s.service = tcp_service("192.0.2.10", 8080, "rr");
    s.stats = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0x1'0000'0000ull};
    auto m = new_request(kFamily, IPVS_CMD_NEW_SERVICE, NLM_F_MULTI);
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(put_service_status(m->get(), s), 0);
    auto msg = decode(nlmsg_hdr(m->get()), "test");
    ASSERT_TRUE(msg.ok()) << msg.error().message;
    ASSERT_TRUE(msg->service);
    EXPECT_EQ(msg->service->service, s.service);
    EXPECT_EQ(msg->service->stats, s.stats);
    EXPECT_TRUE(msg->service_has_settings);

    DestinationStatus d;
    d.destination = dest("2001:db8::9", 8080, 7, Forwarding::Nat);
    d.family = Family::V6;
    d.active_connections = 11;
    d.inactive_connections = 12;
    d.persistent_connections = 13;
    d.stats.connections = 99;
    d.stats.bytes_in = 1ull << 40;
    auto dm = new_request(kFamily, IPVS_CMD_NEW_DEST, NLM_F_MULTI);
    ASSERT_EQ(put_destination_status(dm->get(), d), 0);
    auto dmsg = decode(nlmsg_hdr(dm->get()), "test");
    ASSERT_TRUE(dmsg.ok()) << dmsg.error().message;
    ASSERT_TRUE(dmsg->destination);
    EXPECT_EQ(dmsg->destination->destination, d.destination);
    EXPECT_EQ(dmsg->destination->family, Family::V6);
    EXPECT_EQ(dmsg->destination->active_connections, 11u);
    EXPECT_EQ(dmsg->destination->inactive_connections, 12u);
    EXPECT_EQ(dmsg->destination->persistent_connections, 13u);
    EXPECT_EQ(dmsg->destination->stats, d.stats);
}

TEST(Decode, KernelFlagsAreNormalised) {
    // The kernel reports the internal hashed flag and the persistent flag; Service
    // keeps neither (persistence follows the timeout).
    Service s = tcp_service("192.0.2.10", 80, "sh");
    s.flags = flag::kShFallback;
    s.persistence_timeout = 120;
    EXPECT_EQ(wire_flags(s), static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1));
    auto m = new_request(kFamily, IPVS_CMD_NEW_SERVICE);
    nlattr* nest = nla_nest_start(m->get(), IPVS_CMD_ATTR_SERVICE);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_AF, AF_INET);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
    const unsigned char addr[16] = {192, 0, 2, 10};
    nla_put(m->get(), IPVS_SVC_ATTR_ADDR, 16, addr);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_PORT, htons(80));
    nla_put_string(m->get(), IPVS_SVC_ATTR_SCHED_NAME, "sh");
    const ip_vs_flags f{IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1, ~0u};
    nla_put(m->get(), IPVS_SVC_ATTR_FLAGS, sizeof f, &f);
    nla_put_u32(m->get(), IPVS_SVC_ATTR_TIMEOUT, 120);
    nla_put_u32(m->get(), IPVS_SVC_ATTR_NETMASK, 0xffffffffu);
    nla_nest_end(m->get(), nest);
    auto msg = decode(nlmsg_hdr(m->get()), "test");
    ASSERT_TRUE(msg.ok()) << msg.error().message;
    EXPECT_EQ(msg->service->service, s);
}

TEST(Decode, MalformedRepliesAreErrorsThatSayWhat) {
    auto m = new_request(kFamily, IPVS_CMD_NEW_SERVICE);
    nlattr* nest = nla_nest_start(m->get(), IPVS_CMD_ATTR_SERVICE);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_AF, AF_INET);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_PROTOCOL, 50);  // ESP: IPVS has it, lvsd does not
    const unsigned char addr[16] = {192, 0, 2, 10};
    nla_put(m->get(), IPVS_SVC_ATTR_ADDR, 16, addr);
    nla_put_u16(m->get(), IPVS_SVC_ATTR_PORT, 0);
    nla_nest_end(m->get(), nest);
    auto msg = decode(nlmsg_hdr(m->get()), "dump IPVS services");
    ASSERT_FALSE(msg.ok());
    EXPECT_EQ(msg.error().message,
              "dump IPVS services: service with IP protocol 50 (lvsd knows tcp, udp, sctp)");
    EXPECT_EQ(msg.error().code, EPROTONOSUPPORT);  // the Client skips such services

    auto m2 = new_request(kFamily, IPVS_CMD_NEW_SERVICE);
    nlattr* n2 = nla_nest_start(m2->get(), IPVS_CMD_ATTR_SERVICE);
    nla_put_u16(m2->get(), IPVS_SVC_ATTR_AF, AF_INET);
    nla_put(m2->get(), IPVS_SVC_ATTR_ADDR, 2, addr);  // too short for any address
    nla_nest_end(m2->get(), n2);
    auto msg2 = decode(nlmsg_hdr(m2->get()), "dump IPVS services");
    ASSERT_FALSE(msg2.ok());
    EXPECT_NE(msg2.error().message.find("dump IPVS services: malformed service attributes"),
              std::string::npos)
        << msg2.error().message;

    auto m3 = new_request(kFamily, IPVS_CMD_NEW_SERVICE);
    auto msg3 = decode_op(nlmsg_hdr(m3->get()));
    ASSERT_FALSE(msg3.ok());
    EXPECT_EQ(msg3.error().message, "operation: no service attribute");
}

TEST(Encode, TimeoutsAndSyncDaemonRoundTrip) {
    auto m = new_request(kFamily, IPVS_CMD_SET_CONFIG);
    ASSERT_EQ(put_timeouts(m->get(), {900, 120, 300}), 0);
    auto msg = decode(nlmsg_hdr(m->get()), "test");
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(msg->timeouts, (Timeouts{900, 120, 300}));

    // Zero means "unchanged": such attributes are not sent at all.
    auto z = new_request(kFamily, IPVS_CMD_SET_CONFIG);
    ASSERT_EQ(put_timeouts(z->get(), {0, 60, 0}), 0);
    auto zmsg = decode(nlmsg_hdr(z->get()), "test");
    EXPECT_EQ(zmsg->timeouts, (Timeouts{0, 60, 0}));

    SyncDaemon d{SyncRole::Backup, "eth1", 9, 1400, ip("239.1.2.3"), 8849, 2};
    auto dm = new_request(kFamily, IPVS_CMD_NEW_DAEMON);
    ASSERT_EQ(put_sync_daemon(dm->get(), d), 0);
    auto dmsg = decode(nlmsg_hdr(dm->get()), "test");
    ASSERT_TRUE(dmsg.ok()) << dmsg.error().message;
    EXPECT_EQ(dmsg->daemon, d);

    SyncDaemon d6{SyncRole::Master, "eth0", 1, 0, ip("ff02::81"), 0, 0};
    auto dm6 = new_request(kFamily, IPVS_CMD_NEW_DAEMON);
    ASSERT_EQ(put_sync_daemon(dm6->get(), d6), 0);
    EXPECT_EQ(decode(nlmsg_hdr(dm6->get()), "test")->daemon, d6);

    auto stop = new_request(kFamily, IPVS_CMD_DEL_DAEMON);
    ASSERT_EQ(put_sync_role(stop->get(), SyncRole::Backup), 0);
    auto smsg = decode(nlmsg_hdr(stop->get()), "test");
    EXPECT_FALSE(smsg->daemon);
    EXPECT_EQ(smsg->daemon_role, SyncRole::Backup);
}
