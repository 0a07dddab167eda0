// The genetlink Client against the real kernel, cross-checked with ipvsadm.
#include <fmt/ranges.h>

#include "fixture.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

namespace {

// A table with a bit of everything: v4, v6, fwmark (both families), tcp/udp/sctp, DR,
// NAT and tunnel (ipip and gue, and a v6 destination in a v4 service), several
// schedulers with their flags, persistence with netmasks, one-packet, thresholds.
Table everything() {
    Table t;
    Service ref = tcp_service("192.0.2.10", 8080, "wlc");
    put(t, ref, {dest("198.51.100.1", 8080, 1), dest("198.51.100.2", 8080, 2)});

    Service mh = tcp_service("192.0.2.11", 80, "mh");
    mh.flags = flag::kMhFallback | flag::kMhPort;
    mh.persistence_timeout = 300;
    mh.persistence_prefix = 24;
    Destination thr = dest("198.51.100.3", 8080, 5, Forwarding::Nat);
    thr.upper_threshold = 1000;
    thr.lower_threshold = 500;
    Destination gue = dest("2001:db8::77", 80, 1, Forwarding::Tunnel);
    gue.tunnel_type = TunnelType::Gue;
    gue.tunnel_port = 6080;
    put(t, mh, {thr, gue});

    Service sh = tcp_service("2001:db8::10", 443, "sh");
    sh.flags = flag::kShPort;
    put(t, sh, {dest("2001:db8::1", 443, 1), dest("2001:db8::2", 443, 3, Forwarding::Tunnel)});

    Service udp;
    udp.key = ServiceKey::endpoint(Protocol::Udp, ip("192.0.2.53"), 53);
    udp.scheduler = "rr";
    udp.flags = flag::kOnePacket;
    put(t, udp, {dest("198.51.100.53", 53, 1, Forwarding::Nat)});

    Service sctp;
    sctp.key = ServiceKey::endpoint(Protocol::Sctp, ip("192.0.2.12"), 3868);
    sctp.scheduler = "lc";
    put(t, sctp, {dest("198.51.100.12", 3868)});

    put(t, fwmark_service(7, Family::V4, "wrr"), {dest("198.51.100.7", 0, 4), dest("198.51.100.8", 0, 0)});
    Service fw6 = fwmark_service(8, Family::V6, "wlc");
    fw6.persistence_timeout = 60;
    fw6.persistence_prefix = 64;
    put(t, fw6, {dest("2001:db8::8", 0)});
    return t;
}

void program(Client& c, const Table& t) {
    for (const auto& [key, vs] : t) {
        auto r = c.add_service(vs.service);
        ASSERT_TRUE(r.ok()) << r.error().message;
        for (const auto& [_, d] : vs.destinations) {
            auto rd = c.add_destination(key, d);
            ASSERT_TRUE(rd.ok()) << rd.error().message;
        }
    }
}

}  // namespace

TEST_F(IpvsKernel, ProgramsEverythingAndBothReadersAgree) {
    const Table want = everything();
    program(*client_, want);
    EXPECT_TRUE(same_table(want, client_table()));
    EXPECT_TRUE(same_table(without_tunnel_details(want), ipvsadm_table()));

    // What -Ln does not show: the tunnel settings.
    const std::string saved = ipvsadm({"-Sn"});
    EXPECT_NE(saved.find("-a -t 192.0.2.11:80 -r [2001:db8::77]:80 -i -w 1 --tun-type gue --tun-port 6080"),
              std::string::npos)
        << saved;
    EXPECT_NE(saved.find("-r [2001:db8::2]:443 -i -w 3 --tun-type ipip"), std::string::npos) << saved;

    // Per-destination status from the client's own dump.
    auto ds = client_->destinations(tcp_service("192.0.2.11", 80).key);
    ASSERT_TRUE(ds.ok()) << ds.error().message;
    ASSERT_EQ(ds->size(), 2u);
    for (const auto& d : *ds)
        EXPECT_EQ(d.family, d.destination.key.address.is_v4() ? Family::V4 : Family::V6);
}

TEST_F(IpvsKernel, EditsAndDeletesShowInIpvsadm) {
    Table t = everything();
    program(*client_, t);

    Service& ref = t.at(tcp_service("192.0.2.10", 8080).key).service;
    ref.scheduler = "rr";
    ref.persistence_timeout = 30;
    ASSERT_TRUE(client_->edit_service(ref).ok());
    Destination d = dest("198.51.100.1", 8080, 9, Forwarding::Nat);
    d.upper_threshold = 7;
    ASSERT_TRUE(client_->edit_destination(ref.key, d).ok());
    t.at(ref.key).destinations[d.key] = d;
    ASSERT_TRUE(client_->delete_destination(ref.key, {ip("198.51.100.2"), 8080}).ok());
    t.at(ref.key).destinations.erase({ip("198.51.100.2"), 8080});
    ASSERT_TRUE(client_->delete_service(ServiceKey::mark(7)).ok());
    t.erase(ServiceKey::mark(7));

    EXPECT_TRUE(same_table(without_tunnel_details(t), ipvsadm_table()));
    EXPECT_TRUE(same_table(t, client_table()));

    ASSERT_TRUE(client_->flush().ok());
    EXPECT_TRUE(client_table().empty());
    EXPECT_TRUE(ipvsadm_table().empty());
}

TEST_F(IpvsKernel, ErrorsNameOpObjectAndReasonAndChangeNothing) {
    Service ref = tcp_service("192.0.2.10", 8080);
    ASSERT_TRUE(client_->add_service(ref).ok());
    ASSERT_TRUE(client_->add_destination(ref.key, dest("198.51.100.1", 8080)).ok());
    const Table before = client_table();
    const std::string saved = ipvsadm({"-Sn"});

    Service xyz = tcp_service("192.0.2.10", 8081, "xyz");
    auto r = client_->add_service(xyz);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "add service 192.0.2.10:8081/tcp: scheduler \"xyz\" not available (ENOENT)");
    EXPECT_EQ(r.error().code, ENOENT);

    Service edit_bad = ref;
    edit_bad.scheduler = "xyz";
    r = client_->edit_service(edit_bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "edit service 192.0.2.10:8080/tcp: scheduler \"xyz\" not available (ENOENT)");

    r = client_->add_service(ref);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "add service 192.0.2.10:8080/tcp: service already exists (EEXIST)");
    EXPECT_EQ(r.error().code, EEXIST);

    r = client_->add_destination(tcp_service("192.0.2.99", 80).key, dest("198.51.100.1", 80));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "add destination 198.51.100.1:80 to 192.0.2.99:80/tcp: no such service (ESRCH)");
    EXPECT_EQ(r.error().code, ESRCH);

    r = client_->add_destination(ref.key, dest("2001:db8::1", 8080));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "add destination [2001:db8::1]:8080 to 192.0.2.10:8080/tcp: an IPv6 destination in an "
              "IPv4 service needs tunnel forwarding, not dr");
    EXPECT_EQ(r.error().code, EINVAL);

    r = client_->add_destination(ref.key, dest("198.51.100.1", 8080));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "add destination 198.51.100.1:8080 to 192.0.2.10:8080/tcp: destination already exists (EEXIST)");

    r = client_->edit_destination(ref.key, dest("198.51.100.2", 8080, 3));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "edit destination 198.51.100.2:8080 of 192.0.2.10:8080/tcp: no such destination (ENOENT)");

    r = client_->delete_service(tcp_service("192.0.2.99", 80).key);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "delete service 192.0.2.99:80/tcp: no such service (ESRCH)");

    // Every failure left the table exactly as it was.
    EXPECT_EQ(client_table(), before);
    EXPECT_EQ(ipvsadm({"-Sn"}), saved);
}

TEST_F(IpvsKernel, BatchWithFailuresInTheMiddleReportsEachOp) {
    // One sendmsg carrying good and bad ops: each gets its own answer, in order.
    const auto key = tcp_service("192.0.2.10", 8080).key;
    std::vector<Op> ops{
        add_service(tcp_service("192.0.2.10", 8080)),
        add_service(tcp_service("192.0.2.10", 8080)),  // EEXIST
        add_destination(key, dest("198.51.100.1", 8080)),
        add_service(tcp_service("192.0.2.13", 80, "nope")),  // ENOENT
        add_destination(key, dest("198.51.100.2", 8080)),
    };
    const uint64_t sent_before = client_->requests_sent();
    auto results = client_->apply(ops);
    ASSERT_EQ(results.size(), ops.size());
    EXPECT_TRUE(results[0].ok());
    ASSERT_FALSE(results[1].ok());
    EXPECT_EQ(results[1].error().code, EEXIST);
    EXPECT_TRUE(results[2].ok());
    ASSERT_FALSE(results[3].ok());
    EXPECT_EQ(results[3].error().code, ENOENT);
    EXPECT_TRUE(results[4].ok());
    EXPECT_EQ(client_->requests_sent() - sent_before, ops.size());
    Table want;
    put(want, tcp_service("192.0.2.10", 8080), {dest("198.51.100.1", 8080), dest("198.51.100.2", 8080)});
    EXPECT_TRUE(same_table(without_tunnel_details(want), ipvsadm_table()));
}

TEST_F(IpvsKernel, TimeoutsGetAndSet) {
    auto t = client_->timeouts();
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(*t, (Timeouts{900, 120, 300}));  // the kernel's defaults in a new namespace
    ASSERT_TRUE(client_->set_timeouts({1000, 100, 200}).ok());
    EXPECT_EQ(*client_->timeouts(), (Timeouts{1000, 100, 200}));
    EXPECT_NE(ipvsadm({"-Ln", "--timeout"}).find("Timeout (tcp tcpfin udp): 1000 100 200"), std::string::npos);
    ASSERT_TRUE(client_->set_timeouts({0, 0, 30}).ok());  // 0: unchanged
    EXPECT_EQ(*client_->timeouts(), (Timeouts{1000, 100, 30}));
}

TEST_F(IpvsKernel, SyncDaemonStartQueryStop) {
    // The sync daemon needs a multicast-capable interface: a veth pair in the namespace.
    lab_.netns("peer");
    lab_.veth("lb", "sync0", "peer", "sync1");
    lab_.address("lb", "sync0", "192.0.2.1/24");
    lab_.address("peer", "sync1", "192.0.2.2/24");

    auto none = client_->sync_daemons();
    ASSERT_TRUE(none.ok()) << none.error().message;
    EXPECT_TRUE(none->empty());

    SyncDaemon master{SyncRole::Master, "sync0", 5, 0, {}, 0, 0};
    auto r = client_->start_sync_daemon(master);
    ASSERT_TRUE(r.ok()) << r.error().message;
    SyncDaemon backup{SyncRole::Backup, "sync0", 5, 0, {}, 0, 0};
    r = client_->start_sync_daemon(backup);
    ASSERT_TRUE(r.ok()) << r.error().message;

    auto running = client_->sync_daemons();
    ASSERT_TRUE(running.ok()) << running.error().message;
    ASSERT_EQ(running->size(), 2u);
    for (const auto& d : *running) {
        EXPECT_EQ(d.interface, "sync0");
        EXPECT_EQ(d.sync_id, 5);
    }
    const std::string listing = ipvsadm({"-Ln", "--daemon"});
    EXPECT_NE(listing.find("master sync daemon (mcast=sync0, syncid=5,"), std::string::npos) << listing;
    EXPECT_NE(listing.find("backup sync daemon (mcast=sync0, syncid=5,"), std::string::npos) << listing;

    r = client_->start_sync_daemon(master);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "start IPVS master sync daemon on sync0 (syncid 5): a master sync daemon is already running (EEXIST)");

    ASSERT_TRUE(client_->stop_sync_daemon(SyncRole::Master).ok());
    r = client_->start_sync_daemon({SyncRole::Master, "nosuch0", 1, 0, {}, 0, 0});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "start IPVS master sync daemon on nosuch0 (syncid 1): no interface \"nosuch0\" (ENODEV)");
    r = client_->stop_sync_daemon(SyncRole::Master);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "stop IPVS sync daemon master: no master sync daemon is running (ESRCH)");

    ASSERT_TRUE(client_->stop_sync_daemon(SyncRole::Backup).ok());
    EXPECT_TRUE(client_->sync_daemons()->empty());
}
