#include <map>

#include <gtest/gtest.h>

#include "helpers.hpp"
#include "ipvs/ipvs.hpp"
#include "ipvs/reconcile.hpp"

using namespace lvsd;
using namespace lvsd::ipvs;
using namespace lvsd::ipvs::test;

TEST(Format, ServicesReadLikeIpvsadm) {
    EXPECT_EQ(fmt::format("{}", tcp_service("192.0.2.10", 8080).key), "192.0.2.10:8080/tcp");
    EXPECT_EQ(fmt::format("{}", tcp_service("2001:db8::1", 80)), "[2001:db8::1]:80/tcp");
    EXPECT_EQ(fmt::format("{}", ServiceKey::endpoint(Protocol::Udp, ip("192.0.2.1"), 53)),
              "192.0.2.1:53/udp");
    EXPECT_EQ(fmt::format("{}", ServiceKey::endpoint(Protocol::Sctp, ip("192.0.2.1"), 9)),
              "192.0.2.1:9/sctp");
    EXPECT_EQ(fmt::format("{}", ServiceKey::mark(7)), "fwmark 7");
    EXPECT_EQ(fmt::format("{}", ServiceKey::mark(7, Family::V6)), "fwmark 7/ipv6");
    EXPECT_EQ(fmt::format("{}", dest("198.51.100.1", 8080)), "198.51.100.1:8080");
    EXPECT_EQ(fmt::format("{}", Forwarding::DirectRoute), "dr");
    EXPECT_EQ(fmt::format("{}", Protocol::Sctp), "sctp");
    EXPECT_EQ(fmt::format("{}", SyncDaemon{SyncRole::Backup, "eth1", 5, 0, {}, 0, 0}),
              "backup sync daemon on eth1 (syncid 5)");
    EXPECT_EQ(fmt::format("{}", Timeouts{900, 120, 300}), "tcp 900 tcpfin 120 udp 300");
}

TEST(Format, OperationsNameVerbAndObjects) {
    const auto key = tcp_service("192.0.2.10", 8080).key;
    EXPECT_EQ(fmt::format("{}", add_service(tcp_service("192.0.2.10", 8080))),
              "add service 192.0.2.10:8080/tcp");
    EXPECT_EQ(fmt::format("{}", edit_destination(key, dest("198.51.100.1", 8080))),
              "edit destination 198.51.100.1:8080 of 192.0.2.10:8080/tcp");
    EXPECT_EQ(fmt::format("{}", delete_destination(key, {ip("2001:db8::2"), 80})),
              "delete destination [2001:db8::2]:80 from 192.0.2.10:8080/tcp");
}

TEST(ServiceKey, FwmarkKeysIgnoreAddressAndProtocol) {
    EXPECT_EQ(ServiceKey::mark(7), ServiceKey::mark(7));
    EXPECT_NE(ServiceKey::mark(7), ServiceKey::mark(7, Family::V6));
    EXPECT_NE(ServiceKey::mark(7), ServiceKey::mark(8));
    EXPECT_TRUE(ServiceKey::mark(7).is_fwmark());
    EXPECT_FALSE(tcp_service("192.0.2.1", 80).key.is_fwmark());
    EXPECT_EQ(ServiceKey::mark(7, Family::V6).address, ip("::"));
}

TEST(ServiceKey, OrdersForMapsAndTellsProtocolsApart) {
    std::map<ServiceKey, int> m;
    m[ServiceKey::endpoint(Protocol::Tcp, ip("192.0.2.1"), 80)] = 1;
    m[ServiceKey::endpoint(Protocol::Udp, ip("192.0.2.1"), 80)] = 2;
    m[ServiceKey::endpoint(Protocol::Tcp, ip("192.0.2.1"), 81)] = 3;
    m[ServiceKey::endpoint(Protocol::Tcp, ip("2001:db8::1"), 80)] = 4;
    m[ServiceKey::mark(1)] = 5;
    m[ServiceKey::endpoint(Protocol::Tcp, ip("192.0.2.1"), 80)] = 6;
    EXPECT_EQ(m.size(), 5u);
    EXPECT_EQ(m.at(ServiceKey::endpoint(Protocol::Tcp, ip("192.0.2.1"), 80)), 6);
    EXPECT_EQ(ServiceKey::endpoint(Protocol::Tcp, ip("2001:db8::1"), 80).family, Family::V6);
}

TEST(Equivalent, ReadsDefaultsTheWayTheKernelDoes) {
    Service a = tcp_service("2001:db8::1", 80);
    Service b = a;
    b.persistence_prefix = 128;  // the kernel's "per client" for v6
    EXPECT_TRUE(equivalent(a, b));
    b.persistence_prefix = 64;
    EXPECT_FALSE(equivalent(a, b));

    Service v4 = tcp_service("192.0.2.1", 80);
    Service v4b = v4;
    v4b.persistence_prefix = 32;
    EXPECT_TRUE(equivalent(v4, v4b));
    v4b.scheduler = "rr";
    EXPECT_FALSE(equivalent(v4, v4b));
    v4b = v4;
    v4b.flags = flag::kShPort;
    EXPECT_FALSE(equivalent(v4, v4b));
    v4b = v4;
    v4b.persistence_timeout = 300;
    EXPECT_FALSE(equivalent(v4, v4b));
}

TEST(Equivalent, TunnelSettingsCountOnlyForTunnels) {
    Destination a = dest("198.51.100.1", 80, 1, Forwarding::Tunnel);
    Destination b = a;
    b.tunnel_type = TunnelType::Gue;
    b.tunnel_port = 6080;
    EXPECT_FALSE(equivalent(a, b));
    Destination c = dest("198.51.100.1", 80, 5);
    Destination d = c;
    EXPECT_TRUE(equivalent(c, d));
    d.upper_threshold = 100;
    EXPECT_FALSE(equivalent(c, d));
    d = c;
    d.forwarding = Forwarding::Nat;
    EXPECT_FALSE(equivalent(c, d));
}

TEST(Validate, AcceptsTheReferenceService) {
    Service s = tcp_service("192.0.2.10", 8080, "mh");
    s.flags = flag::kMhFallback | flag::kMhPort;
    s.persistence_timeout = 300;
    s.persistence_prefix = 24;
    EXPECT_TRUE(validate(s).ok());
    EXPECT_TRUE(validate(s.key, dest("198.51.100.1", 8080)).ok());
}

TEST(Validate, NamesTheBadSetting) {
    Service s = tcp_service("192.0.2.10", 8080, "");
    EXPECT_EQ(validate(s).error().message, "no scheduler");
    s.scheduler = "a-very-long-scheduler";
    EXPECT_EQ(validate(s).error().message,
              "scheduler name \"a-very-long-scheduler\" is longer than 15 characters");
    s.scheduler = "wlc";
    s.persistence_prefix = 33;
    EXPECT_EQ(validate(s).error().message, "persistence netmask /33 is out of range for IPv4");
    Service v6 = tcp_service("2001:db8::1", 80);
    v6.persistence_prefix = 0;
    EXPECT_EQ(validate(v6).error().message, "persistence netmask /0 is out of range for IPv6");
    s.persistence_prefix.reset();
    s.flags = 0x1;
    EXPECT_EQ(validate(s).error().message, "unknown flags 0x1");
}

TEST(Validate, DestinationFamilyMismatchNeedsATunnel) {
    const auto key = tcp_service("192.0.2.10", 80).key;
    auto r = validate(key, dest("2001:db8::1", 80));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message,
              "an IPv6 destination in an IPv4 service needs tunnel forwarding, not dr");
    EXPECT_TRUE(validate(key, dest("2001:db8::1", 80, 1, Forwarding::Tunnel)).ok());
}

TEST(Validate, DestinationThresholdsAndTunnelSettings) {
    const auto key = tcp_service("192.0.2.10", 80).key;
    Destination d = dest("198.51.100.1", 80);
    d.lower_threshold = 10;
    d.upper_threshold = 5;
    EXPECT_EQ(validate(key, d).error().message, "lower threshold 10 is above the upper threshold 5");
    d = dest("198.51.100.1", 80, 1, Forwarding::Tunnel);
    d.tunnel_type = TunnelType::Gue;
    EXPECT_EQ(validate(key, d).error().message, "a GUE tunnel needs a port");
    d = dest("198.51.100.1", 80);
    d.tunnel_port = 6080;
    EXPECT_EQ(validate(key, d).error().message, "tunnel settings need tunnel forwarding, not dr");
    d = dest("198.51.100.1", 80, 0x80000000u);
    EXPECT_EQ(validate(key, d).error().message, "weight 2147483648 is above 2147483647");
}

TEST(Protocol, ParsesAndPrints) {
    EXPECT_EQ(parse_protocol("sctp"), Protocol::Sctp);
    EXPECT_FALSE(parse_protocol("TCP"));
    EXPECT_EQ(to_string(Protocol::Udp), "udp");
}

TEST(ServiceKey, ParsesWhatItsFormatterWrites) {
    for (const auto& k : {ServiceKey::endpoint(Protocol::Tcp, *parse_address("192.0.2.10"), 8080),
                          ServiceKey::endpoint(Protocol::Udp, *parse_address("2001:db8::1"), 53),
                          ServiceKey::endpoint(Protocol::Sctp, *parse_address("198.51.100.1"), 0),
                          ServiceKey::mark(7), ServiceKey::mark(4294967295u, Family::V6)}) {
        auto text = fmt::format("{}", k);
        auto back = parse_service_key(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(*back, k) << text;
    }
    for (const char* bad : {"", "fwmark 0", "fwmark x", "fwmark 4294967296", "192.0.2.10/tcp",
                            "192.0.2.10:8080", "192.0.2.10:8080/icmp", "192.0.2.10:65536/tcp",
                            "example.org:80/tcp", "[2001:db8::1:80/tcp", "192.0.2.10:-1/tcp"})
        EXPECT_FALSE(parse_service_key(bad)) << bad;
}
